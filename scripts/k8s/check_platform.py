#!/usr/bin/env python3
"""What the cluster's own controllers would do with the rendered overlays,
checked against the facts in k8s/schemas/upstream.yaml (each with its
source), where no schema can tell:

1. scrapes: every PodMonitoring's pods admit, through the NetworkPolicies
   that select them, the namespace GKE's managed collectors run in, on the
   scraped port;
2. Pod Security: a namespace holding a SpinApp enforces no level stricter
   than the one spin-operator's pods (no securityContext) meet;
3. the shim: a SpinAppExecutor's RuntimeClass uses the handler and node
   label runtime-class-manager's Shim installs;
4. documented paths: each `kubectl apply -k DIR` in the deploy documents
   renders no image at the all-zero placeholder digest;
5. Gateways: a GKE Gateway asks for at most as many addresses as GKE
   documents (one), and every HTTPRoute attached to one Gateway's listener
   is attached to the same listener of every other Gateway of the overlay
   (the IPv4 and IPv6 front ends serve the same routes);
6. the shim on the nodes: k8s/spin-shim's Shim installs a
   containerd-shim-spin release whose Spin provides every import of
   wit/world.wit (a pre-release package such as wasi:config's draft only at
   its exact version), built for the architecture of the terraform node
   pool's machine type, from that release's asset with the digest recorded
   in upstream.yaml; it registers the handler and node label the
   RuntimeClass uses; and the documents install runtime-class-manager from
   its chart at a pinned version that writes containerd 2's config;
7. DNS: a NetworkPolicy that lets its pods query DNS lets them reach the
   resolver of their cluster's DNS provider, on UDP and TCP 53: kube-dns on
   kind/minikube (local), and on the GKE clusters the provider terraform/
   sets (Cloud DNS: the node's metadata server, 169.254.169.254).

    check_platform.py [REPO_DIR]      one line per problem, exit 1 if any
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rendered  # noqa: E402

OVERLAYS = ["k8s/overlays/local", "k8s/overlays/gke", "k8s/overlays/spinkube"]
SHIM_DIR = "k8s/spin-shim"
WIT_IMPORT = re.compile(r"^\s*import\s+([\w-]+:[\w-]+)/[\w-]+@([\w.+-]+);", re.M)
RCM_INSTALL = re.compile(r"helm\s+(?:upgrade\s+--install|install)\b[^\n]*?(?:\\\n[^\n]*?)*charts/runtime-class-manager[^\n]*")
DOCUMENTS = ["docs/deploy.md", "k8s/README.md"]
PLACEHOLDER = re.compile(r"@sha256:0{64}\b")
LEVELS = ["privileged", "baseline", "restricted"]
APPLY_K = re.compile(r"kubectl\s+apply\s+-k\s+([\w./-]*\w)")


def labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def pod_labels(obj: dict) -> dict:
    if obj["kind"] == "Deployment":
        return obj["spec"]["template"]["metadata"].get("labels", {})
    if obj["kind"] == "SpinApp":
        return obj["spec"].get("podLabels", {})
    return {}


def port_number(obj: dict, port) -> int | None:
    if isinstance(port, int):
        return port
    if obj["kind"] != "Deployment":
        return None
    for c in obj["spec"]["template"]["spec"]["containers"]:
        for p in c.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
    return None


def admits(policy: dict, namespace: str, port: int) -> bool:
    for rule in policy["spec"].get("ingress", []):
        ports = [p.get("port") for p in rule.get("ports", [])]
        if ports and port not in ports:
            continue
        for peer in rule.get("from", []):
            ns = peer.get("namespaceSelector")
            if ns is not None and "podSelector" not in peer and \
                    (ns.get("matchLabels") or {}).get("kubernetes.io/metadata.name") == namespace:
                return True
    return False


def check_overlay(overlay: str, objects: list[dict], upstream: dict) -> list[str]:
    problems = []
    where = overlay
    collector_ns = upstream["managed_prometheus"]["collector_namespace"]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    workloads = [o for o in objects if o["kind"] in ("Deployment", "SpinApp")]
    for pm in (o for o in objects if o["kind"] == "PodMonitoring"):
        for w in workloads:
            if not labels_match(pm["spec"]["selector"], pod_labels(w)):
                continue
            selecting = [p for p in policies if labels_match(p["spec"]["podSelector"], pod_labels(w))
                         and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
            for ep in pm["spec"]["endpoints"]:
                port = port_number(w, ep["port"])
                if selecting and not any(admits(p, collector_ns, port) for p in selecting):
                    problems.append(f"{where}: PodMonitoring/{pm['metadata']['name']} scrapes {w['metadata']['name']}:{ep['port']}, "
                                    f"but no NetworkPolicy admits {collector_ns} (GKE's managed collectors) there")

    namespaces = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Namespace"}
    allowed = upstream["spin_operator"]["highest_admitting_pod_security_level"]
    for app in (o for o in objects if o["kind"] == "SpinApp"):
        ns = namespaces.get(app["metadata"].get("namespace", "default"))
        level = (ns or {}).get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce", "privileged")
        if LEVELS.index(level) > LEVELS.index(allowed):
            problems.append(f"{where}: SpinApp/{app['metadata']['name']} lands in namespace {ns['metadata']['name']}, which "
                            f"enforces {level!r}; spin-operator's pods carry no securityContext and meet only {allowed!r}")

    shim = upstream["runtime_class_manager"]["shim"]
    classes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "RuntimeClass"}
    for ex in (o for o in objects if o["kind"] == "SpinAppExecutor"):
        name = ex["spec"].get("deploymentConfig", {}).get("runtimeClassName")
        if name is None:
            continue
        rc = classes.get(name)
        if rc is None:
            problems.append(f"{where}: SpinAppExecutor/{ex['metadata']['name']} uses RuntimeClass {name}, not defined here")
            continue
        if rc.get("handler") != shim["handler"]:
            problems.append(f"{where}: RuntimeClass/{name} handler {rc.get('handler')!r}; runtime-class-manager installs "
                            f"the shim as containerd runtime {shim['handler']!r}")
        if (rc.get("scheduling") or {}).get("nodeSelector") != shim["node_selector"]:
            problems.append(f"{where}: RuntimeClass/{name} does not schedule onto {shim['node_selector']}, "
                            "the nodes runtime-class-manager installs the shim on")
    return problems


def check_gateways(overlay: str, objects: list[dict], upstream: dict) -> list[str]:
    facts = upstream["gke_gateway"]
    gateways = [o for o in objects if o["kind"] == "Gateway" and o["spec"].get("gatewayClassName") in facts["classes"]]
    problems = []
    for g in gateways:
        n = len(g["spec"].get("addresses") or [])
        if n > facts["max_addresses_per_gateway"]:
            problems.append(f"{overlay}: Gateway/{g['metadata']['name']} asks for {n} addresses; GKE documents "
                            f"{facts['max_addresses_per_gateway']} per Gateway of {g['spec']['gatewayClassName']}, and one it "
                            "cannot program keeps the Gateway from being Programmed: one Gateway per address")
    names = {g["metadata"]["name"] for g in gateways}
    for route in (o for o in objects if o["kind"] == "HTTPRoute"):
        attached = {(r["name"], r.get("sectionName")) for r in route["spec"].get("parentRefs", [])}
        for section in {s for n, s in attached if n in names}:
            missing = sorted(n for n in names if (n, section) not in attached)
            if missing:
                problems.append(f"{overlay}: HTTPRoute/{route['metadata']['name']} is attached to {section} of some "
                                f"Gateways but not of {missing}: clients of that address get 404")
    return problems


def version_key(v: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def provides(release: dict, package: str, version: str) -> bool:
    """Whether a shim release's Spin links an import of package@version:
    exactly for a pre-release version, by the 0.x semver track otherwise."""
    offered = release.get("provides", [])
    if "-" in version:
        return f"{package}@{version}" in offered
    major, minor = version.split(".")[:2]
    track = f"{major}.{minor}" if major == "0" else major
    namespace = package.split(":")[0]
    return f"{package}@{track}" in offered or f"{namespace}@{track}" in offered


def node_architecture(repo: str, upstream: dict) -> str:
    with open(os.path.join(repo, "terraform/envs/prod/main.tf")) as f:
        m = re.search(r'^\s*machine_type\s*=\s*"([a-z0-9]+)-', f.read(), re.M)
    family = m.group(1) if m else ""
    return "aarch64" if family in upstream["gce_machine_architecture"]["arm64_families"] else "x86_64"


def check_shim(repo: str, upstream: dict) -> list[str]:
    problems = []
    facts = upstream["containerd_shim_spin"]
    rcm = upstream["runtime_class_manager"]
    shims = [o for o in rendered.render(os.path.join(repo, SHIM_DIR)) if o["kind"] == "Shim"]
    if len(shims) != 1:
        return [f"{SHIM_DIR}: {len(shims)} Shims; the project ships exactly one (runtime-class-manager's samples "
                "install an aarch64 or too old shim)"]
    shim = shims[0]
    where = f"{SHIM_DIR}: Shim/{shim['metadata']['name']}"
    spec = shim["spec"]
    if spec.get("runtimeClass", {}).get("handler") != rcm["shim"]["handler"] or \
            spec.get("runtimeClass", {}).get("name") != rcm["shim"]["runtime_class"]:
        problems.append(f"{where}: runtimeClass {spec.get('runtimeClass')}; the spinkube overlay's RuntimeClass is "
                        f"{rcm['shim']['runtime_class']} with handler {rcm['shim']['handler']}")
    if spec.get("nodeSelector") != rcm["shim"]["node_selector"]:
        problems.append(f"{where}: nodeSelector {spec.get('nodeSelector')}; the node pool labels {rcm['shim']['node_selector']}")
    fetch = spec.get("fetchStrategy", {})
    arch = node_architecture(repo, upstream)
    aliases = {"amd64": "x86_64", "arm64": "aarch64"}
    # (architecture, location, sha256) of everything the Shim may install;
    # anonHttp's architecture is its asset's.
    sources = [(aliases.get(p.get("arch"), p.get("arch")), p.get("location", ""), p.get("sha256"))
               for p in fetch.get("platforms", []) if p.get("os") == "linux"]
    if "anonHttp" in fetch:
        location = fetch["anonHttp"].get("location", "")
        m = re.search(r"linux-(x86_64|aarch64)", location)
        problems.append(f"{where}: fetchStrategy.anonHttp installs {location} on every node whatever its "
                        "architecture; list platforms instead")
        if not fetch.get("platforms"):
            sources.append((m.group(1) if m else "unknown", location, None))
    if not any(a == arch for a, _, _ in sources):
        problems.append(f"{where}: nothing for linux/{arch}, the node pool's architecture "
                        f"({sorted({a for a, _, _ in sources})} listed): no node would get a working shim")
    with open(os.path.join(repo, "wit/world.wit")) as f:
        imports = WIT_IMPORT.findall(f.read())
    for source_arch, location, sha256 in sources:
        m = re.fullmatch(facts["download"] + r"/(v[\d.]+)/([\w.-]+)", location)
        if not m:
            problems.append(f"{where}: {location} is not a containerd-shim-spin release asset")
            continue
        version, asset = m.group(2), m.group(3)
        release = facts["releases"].get(version)
        if release is None:
            problems.append(f"{where}: containerd-shim-spin {version} is not in upstream.yaml's releases; read its "
                            "Cargo.toml (Spin version) and release assets, then add it")
            continue
        missing = [f"{pkg}@{ver}" for pkg, ver in imports if not provides(release, pkg, ver)]
        if missing:
            problems.append(f"{where}: containerd-shim-spin {version} runs Spin {release['spin']}, which does not provide "
                            f"{', '.join(missing)} (imported by wit/world.wit): doc_proxy.wasm cannot be instantiated")
        if source_arch != arch:
            continue
        known = (release.get("assets") or {}).get(arch)
        if known is None:
            problems.append(f"{where}: upstream.yaml records no {arch} asset of containerd-shim-spin {version}")
            continue
        if asset != known["name"]:
            problems.append(f"{where}: asset {asset}; the {arch} asset of {version} is {known['name']}")
        if sha256 != known["sha256"]:
            problems.append(f"{where}: sha256 {sha256}; upstream.yaml records {known['sha256']} for "
                            f"{known['name']} of {version}")
    problems += check_rcm_install(repo, rcm)
    return problems


def check_rcm_install(repo: str, rcm: dict) -> list[str]:
    """runtime-class-manager is installed from its chart at a pinned version
    whose node installer writes containerd 2's (version 3) configuration."""
    problems, installs = [], []
    for doc in DOCUMENTS:
        with open(os.path.join(repo, doc)) as f:
            text = f.read()
        installs += [(doc, m.group(0)) for m in RCM_INSTALL.finditer(text)]
    if not installs:
        return [f"{' or '.join(DOCUMENTS)}: no `helm install` of {rcm['chart']} at a pinned version: the version "
                f"decides whether the node installer writes containerd 2's config (from {rcm['containerd_config_v3_since']})"]
    for doc, command in installs:
        m = re.search(r"--version[ =]v?([\d.]+)", command)
        if not m or not command.rstrip().endswith(rcm["chart"]):
            problems.append(f"{doc}: `{' '.join(command.split())}` does not pin a version of {rcm['chart']}")
            continue
        if version_key(m.group(1)) < version_key(rcm["containerd_config_v3_since"]):
            problems.append(f"{doc}: runtime-class-manager {m.group(1)} writes only containerd 1.x configuration; GKE "
                            f"nodes on containerd 2 need {rcm['containerd_config_v3_since']} or newer")
        elif version_key(m.group(1)) != version_key(rcm["source"]["version"]):
            problems.append(f"{doc}: installs runtime-class-manager {m.group(1)}, but upstream.yaml's facts are "
                            f"{rcm['source']['version']}'s")
    return problems


def terraform_dns_providers(repo: str) -> set[str]:
    """The DNS providers terraform/modules/gke sets on its clusters; a
    cluster without dns_config gets GKE's default, Cloud DNS on Autopilot."""
    with open(os.path.join(repo, "terraform/modules/gke/main.tf")) as f:
        text = f.read()
    clusters = len(re.findall(r'^resource\s+"google_container_cluster"', text, re.M))
    found = re.findall(r'^\s*cluster_dns\s*=\s*"(\w+)"', text, re.M)
    return set(found) | ({"CLOUD_DNS"} if len(found) < clusters else set())


def peer_reaches(peer: dict, provider: dict) -> bool:
    if "ip" in provider:
        block = peer.get("ipBlock")
        if not block:
            return False
        ip = ipaddress.ip_address(provider["ip"])
        return ip in ipaddress.ip_network(block["cidr"]) and \
            not any(ip in ipaddress.ip_network(e) for e in block.get("except", []))
    ns = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
    pods = (peer.get("podSelector") or {}).get("matchLabels") or {}
    return "namespaceSelector" in peer and ns.get("kubernetes.io/metadata.name") == provider["namespace"] \
        and all(provider["pod_labels"].get(k) == v for k, v in pods.items())


def egress_allows(policy: dict, provider: dict, protocol: str) -> bool:
    for rule in policy["spec"].get("egress") or []:
        ports = rule.get("ports") or []
        if ports and not any(p.get("port") == provider["port"] and p.get("protocol", "TCP") == protocol for p in ports):
            continue
        peers = rule.get("to") or []
        if not peers or any(peer_reaches(peer, provider) for peer in peers):
            return True
    return False


def check_dns(overlay: str, objects: list[dict], upstream: dict, repo: str) -> list[str]:
    dns = upstream["dns"]
    mode = dns["overlays"].get(overlay)
    if mode is None:
        return []
    names = terraform_dns_providers(repo) if mode == "terraform" else {mode}
    problems = []
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        if "Egress" not in policy["spec"].get("policyTypes", []):
            continue
        rules = policy["spec"].get("egress") or []
        uses_dns = any(p.get("port") == 53 for r in rules for p in r.get("ports") or [])
        if not uses_dns:
            continue
        for name in sorted(names):
            provider = dns["providers"][name]
            for protocol in ("UDP", "TCP"):
                if not egress_allows(policy, provider, protocol):
                    target = provider.get("ip") or f"{provider['namespace']}/{provider['pod_labels']}"
                    problems.append(f"{overlay}: NetworkPolicy/{policy['metadata']['name']} allows DNS but not to "
                                    f"{target} {protocol} {provider['port']}, where the cluster's DNS provider "
                                    f"({name}) answers: every name lookup of its pods times out")
    return problems


def check_documents(repo: str) -> list[str]:
    problems = []
    for doc in DOCUMENTS:
        with open(os.path.join(repo, doc)) as f:
            text = f.read()
        for m in APPLY_K.finditer(text):
            target = os.path.join(repo, m.group(1).rstrip("`"))
            if not os.path.isdir(target):
                problems.append(f"{doc}: kubectl apply -k {m.group(1)}: no such directory")
                continue
            objects = rendered.render(target)
            bad = sorted({i for i in re.findall(r"image:\s*(\S+)", yaml.safe_dump_all(objects)) if PLACEHOLDER.search(i)})
            if bad:
                problems.append(f"{doc}: `kubectl apply -k {m.group(1)}` deploys {bad[0]}, the placeholder digest, "
                                "which no registry has; pin a release (scripts/deploy/render.sh)")
    return problems


def check(repo: str) -> list[str]:
    with open(os.path.join(repo, "k8s/schemas/upstream.yaml")) as f:
        upstream = yaml.safe_load(f)
    problems = []
    for overlay in OVERLAYS:
        objects = rendered.render(os.path.join(repo, overlay))
        problems += check_overlay(overlay, objects, upstream)
        problems += check_gateways(overlay, objects, upstream)
        problems += check_dns(overlay, objects, upstream, repo)
    return problems + check_shim(repo, upstream) + check_documents(repo)


def main() -> None:
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    problems = check(repo)
    for p in problems:
        print(f"check_platform: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("  scrapes admitted from gke-gmp-system, SpinApp namespaces admit its pods, the shim's handler and label, "
          "documented apply paths pinned, one address per Gateway, DNS egress to each cluster's resolver, "
          "the shim runs the component's imports on the nodes' architecture, runtime-class-manager pinned: ok")


if __name__ == "__main__":
    main()

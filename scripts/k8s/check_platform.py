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
6. DNS: a NetworkPolicy that lets its pods query DNS lets them reach the
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
    return problems + check_documents(repo)


def main() -> None:
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    problems = check(repo)
    for p in problems:
        print(f"check_platform: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("  scrapes admitted from gke-gmp-system, SpinApp namespaces admit its pods, the shim's handler and label, "
          "documented apply paths pinned, one address per Gateway, DNS egress to each cluster's resolver: ok")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What GKE, Binary Authorization and Cloud Monitoring would refuse or get
wrong in terraform/ on a first apply, checked offline against the facts in
k8s/schemas/upstream.yaml (each with its source):

1. clusters: no two google_container_cluster resources share a Pod or
   Service secondary range (GKE refuses a Pod range another cluster uses),
   and each states its DNS provider (dns_config.cluster_dns), whose
   resolver the NetworkPolicies must admit;
2. node pools: a pool in a region (location = var.region) that sets
   node_count also sets node_locations, since node_count is per zone;
3. Binary Authorization: the allow-list admits every image the SpinKube path
   runs (spin-operator, runtime-class-manager, the shim installers,
   cert-manager) and the release image, with the API's pattern rules (`*`
   stops at `/`, a trailing `**` does not);
4. the SpinKube node pool labels its nodes with what runtime-class-manager's
   Shim selects, and the spinkube overlay's RuntimeClass uses the Shim's
   handler and schedules onto the same label;
5. alerts: envs/prod calls modules/alerting with the rule file make
   rules-check tests, the channel's address is a root variable, and (with a
   terraform binary) the module's alert map, evaluated by `terraform
   console`, has exactly the file's alerting rules; every PromQL condition
   sets disable_metric_validation (a first apply has no metrics yet) and
   every provider constraint of the module admits only providers that know
   the field;
6. the image repository: no cleanup policy can delete a deployed release:
   a DELETE policy runs only in dry run (the live digest may be any
   release's, even the oldest), and none matches untagged versions (each
   release's platform image and SBOM/provenance attestations are untagged
   manifests under its tagged OCI index).

    check_platform.py [REPO_DIR]      one line per problem, exit 1 if any
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from check_terraform import parse_files  # noqa: E402


def read_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def pattern_matches(pattern, image):
    """Binary Authorization's name_pattern: literal, or a trailing `*` that
    does not cross `/`, or a trailing `**` that does."""
    if pattern.endswith("**"):
        return image.startswith(pattern[:-2])
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return image.startswith(prefix) and "/" not in image[len(prefix):]
    return image == pattern


def resources(bodies, rtype):
    for path, body in bodies.items():
        for name, blocks in body.get("resource", {}).get(rtype, {}).items():
            yield path, name, blocks[0]


def first(block, key):
    value = block.get(key)
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else (value or {})


def check(repo):
    problems = []
    upstream = read_yaml(os.path.join(repo, "k8s/schemas/upstream.yaml"))
    files = sorted(glob.glob(os.path.join(repo, "terraform/**/*.tf"), recursive=True))
    parsed = parse_files(files)
    bodies = {os.path.relpath(p, repo): v["body"] for p, v in parsed.items() if "body" in v}

    # 1. secondary ranges
    seen = {}
    for path, name, block in resources(bodies, "google_container_cluster"):
        ip = first(block, "ip_allocation_policy")
        for key in ("cluster_secondary_range_name", "services_secondary_range_name"):
            expr = ip.get(key)
            if expr is None:
                continue
            other = seen.get((key, expr))
            if other:
                problems.append(f"{path}: google_container_cluster.{name} uses {key} = {expr}, as {other} does; "
                                "a second cluster needs secondary ranges of its own")
            seen[(key, expr)] = f"google_container_cluster.{name}"

    # 1b. the DNS provider is stated (the NetworkPolicies admit its resolver:
    # scripts/k8s/check_platform.py)
    for path, name, block in resources(bodies, "google_container_cluster"):
        if not first(block, "dns_config").get("cluster_dns"):
            problems.append(f"{path}: google_container_cluster.{name} does not set dns_config.cluster_dns: the "
                            "NetworkPolicies' DNS egress depends on the provider, so state it")

    # 2. node_count per zone
    for path, name, block in resources(bodies, "google_container_node_pool"):
        regional = "region" in str(block.get("location", ""))
        if regional and "node_count" in block and "node_locations" not in block:
            problems.append(f"{path}: google_container_node_pool.{name} is regional and sets node_count without "
                            "node_locations: node_count is per zone, so the pool gets that many nodes in every zone")

    # 3. Binary Authorization allow-list
    prod = bodies.get("terraform/envs/prod/main.tf", {})
    local_vals = {}
    for block in prod.get("locals", []):
        local_vals.update(block)
    spin_patterns = local_vals.get("spinkube_images", [])
    release_pattern = local_vals.get("release_images", "")
    spin_images = [i for part in ("spin_operator", "runtime_class_manager", "containerd_shim_spin", "cert_manager")
                   for i in upstream[part]["images"]]
    for image in spin_images:
        if not any(pattern_matches(p, image) for p in spin_patterns):
            problems.append(f"terraform/envs/prod/main.tf: Binary Authorization admits none of {spin_patterns} for "
                            f"{image} (the SpinKube path runs it; `*` does not match `/`)")
    release_env = read_yaml(os.path.join(repo, ".github/workflows/release.yml"))["env"]["IMAGE"]
    release_repo = release_env.rsplit("/", 1)[0]
    pattern = release_pattern.replace("${module.registry.repository_url}", release_repo)
    if not pattern_matches(pattern, release_env + "@sha256:" + "0" * 64):
        problems.append(f"terraform/envs/prod/main.tf: release_images {release_pattern} does not admit {release_env}@sha256:…")

    # 4. runtime-class-manager's Shim, the node pool and the RuntimeClass
    shim = upstream["runtime_class_manager"]["shim"]
    for path, name, block in resources(bodies, "google_container_node_pool"):
        if "spin" not in name:
            continue
        labels = first(block, "node_config").get("labels") or {}
        for k, v in shim["node_selector"].items():
            if labels.get(k) != v:
                problems.append(f"{path}: google_container_node_pool.{name} does not label its nodes {k}={v}, "
                                "which runtime-class-manager's Shim selects to install the shim on")
    rc = read_yaml(os.path.join(repo, "k8s/overlays/spinkube/runtimeclass.yaml"))
    if rc.get("handler") != shim["handler"]:
        problems.append(f"k8s/overlays/spinkube/runtimeclass.yaml: handler {rc.get('handler')!r}; runtime-class-manager "
                        f"registers the shim with containerd as {shim['handler']!r}")
    node_selector = (rc.get("scheduling") or {}).get("nodeSelector") or {}
    if node_selector != shim["node_selector"]:
        problems.append(f"k8s/overlays/spinkube/runtimeclass.yaml: scheduling.nodeSelector {node_selector}; the shim is "
                        f"only on nodes with {shim['node_selector']}")

    # 5. alerts reach a channel named by one variable
    rules_file = os.path.join(repo, "observability/prometheus/rules/doc-proxy.rules.yml")
    rule_alerts = sorted(r["alert"] for g in read_yaml(rules_file)["groups"] for r in g["rules"] if "alert" in r)
    calls = [(n, b[0]) for n, b in prod.get("module", {}).items() if b[0].get("source") == "../../modules/alerting"]
    if not calls:
        problems.append("terraform/envs/prod/main.tf: no module call of ../../modules/alerting: no alert reaches anyone")
    for name, call in calls:
        target = str(call.get("rules_file", "")).replace("${path.root}", os.path.join(repo, "terraform/envs/prod"))
        if not os.path.exists(target) or os.path.realpath(target) != os.path.realpath(rules_file):
            problems.append(f"terraform/envs/prod/main.tf: module.{name}.rules_file is {call.get('rules_file')!r}, "
                            "not observability/prometheus/rules/doc-proxy.rules.yml")
        if not re.fullmatch(r"\$\{var\.[a-z_]+\}", str(call.get("notification_email", ""))):
            problems.append(f"terraform/envs/prod/main.tf: module.{name}.notification_email is not one root variable")
    alerting = bodies.get("terraform/modules/alerting/main.tf", {})
    policies = alerting.get("resource", {}).get("google_monitoring_alert_policy", {})
    if not any("local.alerts" in str(b[0].get("for_each")) and b[0].get("notification_channels") for b in policies.values()):
        problems.append("terraform/modules/alerting/main.tf: no alert policy per alerting rule with a notification channel")
    problems += check_metric_validation(bodies, upstream)
    problems += check_cleanup(bodies)
    if shutil.which("terraform") and alerting:
        got = evaluate_alerts(repo, rules_file)
        if got is None:
            problems.append("terraform/modules/alerting: terraform console could not evaluate local.alerts")
        elif sorted(got) != rule_alerts:
            problems.append(f"terraform/modules/alerting: local.alerts has {sorted(got)}, the rule file {rule_alerts}")
        else:
            print(f"  terraform console: modules/alerting makes {len(got)} policies, one per alerting rule, "
                  f"durations {sorted(set(got.values()))}")
    return problems


def version_tuple(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def lowest_admitted(constraint):
    """The lowest version a provider constraint admits, as a tuple: its `=`,
    `>=`, `~>` or bare version, or (0, 0, 0) when it has no lower bound."""
    lows = []
    for part in constraint.split(","):
        m = re.fullmatch(r"\s*(>=|<=|~>|!=|=|>|<)?\s*v?(\d+(?:\.\d+)*)\s*", part)
        if m and (m.group(1) or "=") in ("=", ">=", "~>", ">"):
            lows.append(version_tuple(m.group(2)))
    return max(lows) if lows else (0, 0, 0)


def check_metric_validation(bodies, upstream):
    """Cloud Monitoring refuses a PromQL policy whose metrics have no data
    yet unless the condition disables metric validation; the field exists
    from the provider release named in upstream.yaml."""
    problems = []
    since = str(upstream["cloud_monitoring"]["disable_metric_validation_since_provider"])
    for path, body in bodies.items():
        for name, blocks in body.get("resource", {}).get("google_monitoring_alert_policy", {}).items():
            for cond in blocks[0].get("conditions", []):
                for promql in cond.get("condition_prometheus_query_language", []):
                    if promql.get("disable_metric_validation") is not True:
                        problems.append(f"{path}: google_monitoring_alert_policy.{name}: a PromQL condition without "
                                        "disable_metric_validation = true; on a first apply none of its metrics has "
                                        "data yet and Cloud Monitoring refuses the policy")
            directory = os.path.dirname(path)
            for other, other_body in bodies.items():
                if os.path.dirname(other) != directory:
                    continue
                for block in other_body.get("terraform", []):
                    for req in block.get("required_providers", []):
                        constraint = str((req.get("google") or {}).get("version", ""))
                        if lowest_admitted(constraint) < version_tuple(since):
                            problems.append(f"{other}: hashicorp/google {constraint!r} admits providers older than "
                                            f"{since}, which have no disable_metric_validation")
    return sorted(set(problems))


def check_cleanup(bodies):
    problems = []
    for path, name, block in resources(bodies, "google_artifact_registry_repository"):
        where = f"{path}: google_artifact_registry_repository.{name}"
        deletes = [p for p in block.get("cleanup_policies", []) if p.get("action") == "DELETE"]
        if deletes and block.get("cleanup_policy_dry_run") is not True:
            problems.append(f"{where}: DELETE cleanup policies {[p.get('id') for p in deletes]} run for real "
                            "(cleanup_policy_dry_run is not true): the digest the cluster runs may be any release's, "
                            "which no age or count condition can tell, so a deployed image can be deleted")
        for policy in deletes:
            state = first(policy, "condition").get("tag_state", "ANY")
            if state in ("UNTAGGED", "ANY"):
                problems.append(f"{where}: cleanup policy {policy.get('id')!r} deletes {state} versions: each "
                                "release's platform image and its SBOM and provenance attestations are untagged "
                                "manifests under the tagged index, and would go with it")
    return problems


def evaluate_alerts(repo, rules_file):
    """local.alerts and local.durations of modules/alerting, evaluated by
    terraform console in a scratch directory holding only its locals (no
    provider needed)."""
    with open(os.path.join(repo, "terraform/modules/alerting/main.tf")) as f:
        src = f.read()
    m = re.search(r"^locals \{.*?^\}", src, re.M | re.S)
    if not m:
        return None
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "main.tf"), "w") as f:
            f.write(f'variable "rules_file" {{\n  default = {json.dumps(rules_file)}\n}}\n\n{m.group(0)}\n')
        env = dict(os.environ, TF_CLI_CONFIG_FILE=os.devnull, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
        out = subprocess.run(["terraform", "console"], cwd=d, input="jsonencode(local.durations)\n",
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return None
        return json.loads(json.loads(out.stdout.strip()))


def main():
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".."))
    problems = check(repo)
    for p in problems:
        print(f"check_platform: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("  secondary ranges, node counts, Binary Authorization patterns, the Spin shim's label and handler, alert policies, "
          "registry cleanup in dry run: ok")


if __name__ == "__main__":
    main()

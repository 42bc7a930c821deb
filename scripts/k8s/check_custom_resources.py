#!/usr/bin/env python3
"""Checks the custom resources of rendered overlays, which kubernetes-validate
has no schema for: each against the written subset of its published CRD
(k8s/schemas/custom-resources.yaml), then the references between objects
that no schema can see (a route's Gateway listener and backend Service port,
a policy's Service, a scrape port, the SpinApp against spin.toml).

usage: check_custom_resources.py OVERLAY...
"""

from __future__ import annotations

import os
import sys
import tomllib

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(__file__))
import rendered  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPIN_HEALTH_PATH = "/.well-known/spin/health"


def load_schemas() -> dict[str, dict]:
    with open(os.path.join(REPO, "k8s", "schemas", "custom-resources.yaml")) as f:
        doc = yaml.safe_load(f)
    return {key: {"$defs": doc["$defs"], **schema} for key, schema in doc["kinds"].items()}


def pods_of(objects: list[dict], selector: dict[str, str]) -> list[dict]:
    """Pod templates (Deployments, and SpinApps' podLabels) that match."""
    found = []
    for obj in objects:
        if obj["kind"] == "Deployment":
            labels = obj["spec"]["template"]["metadata"].get("labels", {})
        elif obj["kind"] == "SpinApp":
            labels = obj["spec"].get("podLabels", {})
        else:
            continue
        if all(labels.get(k) == v for k, v in selector.items()):
            found.append(obj)
    return found


def check_references(objects: list[dict]) -> list[str]:
    errors = []
    by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    for obj in objects:
        kind, name, spec = obj["kind"], obj["metadata"]["name"], obj.get("spec", {})
        where = f"{kind}/{name}"
        if kind == "HTTPRoute":
            for ref in spec.get("parentRefs", []):
                gateway = by.get(("Gateway", ref["name"]))
                if gateway is None:
                    errors.append(f"{where}: no Gateway {ref['name']}")
                elif "sectionName" in ref and ref["sectionName"] not in {
                    listener["name"] for listener in gateway["spec"]["listeners"]
                }:
                    errors.append(f"{where}: Gateway {ref['name']} has no listener {ref['sectionName']}")
            for rule in spec.get("rules", []):
                for backend in rule.get("backendRefs", []):
                    svc = by.get(("Service", backend["name"]))
                    if svc is None or backend.get("port") not in {p["port"] for p in svc["spec"]["ports"]}:
                        errors.append(f"{where}: no Service {backend['name']} with port {backend.get('port')}")
        if kind in ("HealthCheckPolicy", "GCPBackendPolicy"):
            target = spec["targetRef"]
            svc = by.get(("Service", target["name"]))
            if svc is None:
                errors.append(f"{where}: no Service {target['name']}")
            elif kind == "HealthCheckPolicy":
                check = spec["default"]["config"]["httpHealthCheck"]
                for dep in pods_of(objects, svc["spec"]["selector"]):
                    c = rendered.container(objects, dep["metadata"]["name"])
                    readiness = [p for p in c.probes if p.kind == "readinessProbe"]
                    if [(p.path, p.port) for p in readiness] != [(check["requestPath"], check["port"])]:
                        errors.append(f"{where}: checks {check['requestPath']}:{check['port']}, "
                                      f"but {dep['metadata']['name']}'s readiness probe is {readiness}")
        if kind in ("PodMonitoring", "ServiceMonitor"):
            selector = spec["selector"]["matchLabels"]
            if kind == "ServiceMonitor":
                services = [o for o in objects if o["kind"] == "Service"
                            and all(o["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]
                if not services:
                    errors.append(f"{where}: selects no Service")
                ports = {p.get("name") for s in services for p in s["spec"]["ports"]}
            else:
                pods = pods_of(objects, selector)
                if not pods:
                    errors.append(f"{where}: selects no pods")
                ports = set.intersection(*(set(rendered.container(objects, d["metadata"]["name"]).ports)
                                           for d in pods)) if pods else set()
            for endpoint in spec["endpoints"]:
                if endpoint["port"] not in ports:
                    errors.append(f"{where}: port {endpoint['port']} is not on every target ({sorted(ports)})")
        if kind == "SpinApp":
            errors += check_spinapp(obj, objects)
    return errors


def check_spinapp(app: dict, objects: list[dict]) -> list[str]:
    """The SpinApp runs what the top-level spin.toml describes, with the
    variables the wrapping container's ConfigMap sets (SPIN_VARIABLE_*),
    against a Service here."""
    where = f"SpinApp/{app['metadata']['name']}"
    errors = []
    with open(os.path.join(REPO, "spin.toml"), "rb") as f:
        manifest = tomllib.load(f)
    if manifest["application"]["name"] != app["metadata"]["name"]:
        errors.append(f"{where}: spin.toml's application is {manifest['application']['name']}")
    routes = {t["component"]: t["route"] for t in manifest["trigger"]["http"]}
    wanted = app["spec"].get("components", list(routes))
    if set(wanted) - set(routes) or routes.get("doc-proxy") != "/...":
        errors.append(f"{where}: components {wanted} vs spin.toml routes {routes}")
    executor = app["spec"]["executor"]
    if not any(o["kind"] == "SpinAppExecutor" and o["metadata"]["name"] == executor for o in objects):
        errors.append(f"{where}: no SpinAppExecutor {executor}")
    for probe in ("readiness", "liveness"):
        path = app["spec"].get("checks", {}).get(probe, {}).get("httpGet", {}).get("path")
        if path != SPIN_HEALTH_PATH:
            errors.append(f"{where}: {probe} check on {path}, Spin answers {SPIN_HEALTH_PATH}")
    declared = manifest.get("variables", {})
    variables = {}
    for v in app["spec"].get("variables", []):
        if v["name"] not in declared:
            errors.append(f"{where}: variable {v['name']} is not in spin.toml's [variables]")
        variables[v["name"]] = v.get("value")
    upstream = variables.get("upstream_url")
    services = rendered.service_urls(objects)
    if upstream not in services:
        errors.append(f"{where}: upstream_url {upstream} is no Service here ({sorted(services)})")
    # The same values as the wrapping container's (k8s/base).
    base = rendered.find(rendered.render(os.path.join(REPO, "k8s", "base")), "ConfigMap", "doc-proxy")["data"]
    in_base = {k.removeprefix("SPIN_VARIABLE_").lower(): v for k, v in base.items() if k.startswith("SPIN_VARIABLE_")}
    if variables != in_base:
        errors.append(f"{where}: variables {variables}, the base ConfigMap's SPIN_VARIABLE_* {in_base}")
    return errors


def main(overlays: list[str]) -> int:
    schemas = load_schemas()
    failed = 0
    for overlay in overlays:
        objects = rendered.render(overlay)
        errors, checked = [], []
        for obj in objects:
            if obj["apiVersion"] in rendered.BUILT_IN_GROUPS:
                continue
            key = f"{obj['apiVersion']}/{obj['kind']}"
            if key not in schemas:
                errors.append(f"{key} {obj['metadata']['name']}: no schema in k8s/schemas")
                continue
            validator = jsonschema.Draft202012Validator(schemas[key])
            errors += [f"{key} {obj['metadata']['name']}: {'.'.join(map(str, e.path))}: {e.message}"
                       for e in validator.iter_errors(obj)]
            checked.append(obj["kind"])
        errors += check_references(objects)
        print(f"custom resources: {overlay}: {len(checked)} checked ({', '.join(sorted(set(checked))) or 'none'}), "
              f"{len(errors)} error(s)")
        for e in errors:
            print(f"  {e}")
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

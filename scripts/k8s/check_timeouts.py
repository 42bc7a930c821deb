#!/usr/bin/env python3
"""doc-proxy's time limits are ordered, for each overlay's rendered config:

    deadline_ms  <  the host's --request-timeout  <  the load balancer's backend timeout

deadline_ms is the component's whole budget per request: when it runs out the
component answers with its own 504 problem. The host cuts a request off at
--request-timeout with a bare 504, and GKE's load balancer at its
GCPBackendPolicy's timeoutSec with a generic 502 page. Each limit must leave
the one inside it time to answer, or clients get the coarser error.

Where the values come from, as the pods would see them: deadline_ms is the
Deployment's SPIN_VARIABLE_DEADLINE_MS, else the default in the manifest its
--manifest names (the image's /app/spin.toml is this repository's spin.toml);
the request timeout is its --request-timeout argument, else REQUEST_TIMEOUT
in its environment, which must then be set (the host's built-in default is
not read here); the backend timeout is the GCPBackendPolicy's that targets the
Service in front of the Deployment, when the overlay has one.

usage: check_timeouts.py OVERLAY...
"""

from __future__ import annotations

import os
import sys
import tomllib

sys.path.insert(0, os.path.dirname(__file__))
import rendered  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOYMENT = "doc-proxy"
IMAGE_APP = "/app/"


def flag(args: list[str], name: str) -> str | None:
    """The value of `--name=value` or `--name value` in args (the last wins)."""
    value = None
    for i, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        elif arg == f"--{name}" and i + 1 < len(args):
            value = args[i + 1]
    return value


def deadline_ms(c: rendered.Container) -> tuple[int, str]:
    if "SPIN_VARIABLE_DEADLINE_MS" in c.env:
        return int(c.env["SPIN_VARIABLE_DEADLINE_MS"]), "SPIN_VARIABLE_DEADLINE_MS"
    manifest = flag(c.args, "manifest") or c.env.get("MANIFEST")
    if manifest is None or not manifest.startswith(IMAGE_APP):
        raise ValueError(f"{c.deployment}: runs no manifest from the image ({manifest}); cannot read deadline_ms")
    path = os.path.join(REPO, manifest.removeprefix(IMAGE_APP))
    with open(path, "rb") as f:
        default = tomllib.load(f)["variables"]["deadline_ms"]["default"]
    return int(default), f"{os.path.relpath(path, REPO)}'s default"


def request_timeout(c: rendered.Container) -> tuple[float, str]:
    if (value := flag(c.args, "request-timeout")) is not None:
        return rendered.seconds(value), "--request-timeout"
    if "REQUEST_TIMEOUT" in c.env:
        return rendered.seconds(c.env["REQUEST_TIMEOUT"]), "REQUEST_TIMEOUT"
    raise ValueError(f"{c.deployment}: sets no request timeout (--request-timeout or REQUEST_TIMEOUT)")


def backend_timeouts(objects: list[dict]) -> list[tuple[int, str]]:
    """timeoutSec of every GCPBackendPolicy on a Service in front of doc-proxy."""
    labels = rendered.find(objects, "Deployment", DEPLOYMENT)["spec"]["template"]["metadata"]["labels"]
    services = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"
                and o["spec"].get("selector")
                and all(labels.get(k) == v for k, v in o["spec"]["selector"].items())}
    found = []
    for o in objects:
        target = o.get("spec", {}).get("targetRef", {})
        if o["kind"] == "GCPBackendPolicy" and target.get("kind") == "Service" and target.get("name") in services:
            found.append((int(o["spec"]["default"]["timeoutSec"]), f"GCPBackendPolicy/{o['metadata']['name']}"))
    return found


def check(overlay: str) -> list[str]:
    objects = rendered.render(overlay)
    if not any(o["kind"] == "Deployment" and o["metadata"]["name"] == DEPLOYMENT for o in objects):
        print(f"timeouts: {overlay}: no {DEPLOYMENT} Deployment (the runtime is not doc-proxy-host); skipped")
        return []
    c = rendered.container(objects, DEPLOYMENT)
    deadline, deadline_from = deadline_ms(c)
    timeout, timeout_from = request_timeout(c)
    errors = []
    chain = f"deadline_ms {deadline} ({deadline_from}) < request timeout {timeout:g}s ({timeout_from})"
    if not deadline / 1000 < timeout:
        errors.append(f"{overlay}: deadline_ms {deadline} ({deadline_from}) is not below the host's request "
                      f"timeout {timeout:g}s ({timeout_from})")
    for backend, where in backend_timeouts(objects):
        chain += f" < backend timeout {backend}s ({where})"
        if not timeout < backend:
            errors.append(f"{overlay}: the host's request timeout {timeout:g}s ({timeout_from}) is not below "
                          f"the load balancer's backend timeout {backend}s ({where})")
    print(f"timeouts: {overlay}: {chain}: {'ok' if not errors else 'WRONG'}")
    return errors


def main(overlays: list[str]) -> int:
    errors = [e for overlay in overlays for e in check(overlay)]
    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

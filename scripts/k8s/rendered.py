"""Reads `kubectl kustomize` output: the objects, and what the kubelet would run
for a Deployment's first container (its args, its environment with ConfigMap
references resolved, its ports and its probes)."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import yaml


# API groups kubernetes-validate has schemas for; everything else is a custom
# resource, checked against k8s/schemas by check_custom_resources.py.
BUILT_IN_GROUPS = {"v1", "apps/v1", "policy/v1", "networking.k8s.io/v1", "node.k8s.io/v1", "autoscaling/v2"}


def render(overlay: str) -> list[dict]:
    """The objects `kubectl kustomize OVERLAY` renders."""
    out = subprocess.run(["kubectl", "kustomize", overlay], check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(objects: list[dict], kind: str, name: str) -> dict:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise LookupError(f"no {kind}/{name} in the rendered manifests")


@dataclasses.dataclass
class Probe:
    kind: str  # startupProbe, livenessProbe, readinessProbe
    path: str
    port: int


@dataclasses.dataclass
class Container:
    """The first container of a Deployment, as the kubelet would start it."""

    deployment: str
    image: str
    args: list[str]
    env: dict[str, str]
    ports: dict[str, int]  # port name -> containerPort
    probes: list[Probe]
    run_as: str | None  # "uid:gid"
    read_only_root: bool
    drop_all_capabilities: bool
    no_new_privileges: bool
    termination_grace_seconds: int
    memory_limit: int | None  # resources.limits.memory, in bytes


def container(objects: list[dict], deployment: str) -> Container:
    dep = find(objects, "Deployment", deployment)
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    if "command" in c:
        raise ValueError(f"{deployment}: a command would replace the image's entrypoint; use args")
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        if set(source) != {"configMapRef"}:
            raise ValueError(f"{deployment}: only configMapRef is supported in envFrom, got {source}")
        env.update(find(objects, "ConfigMap", source["configMapRef"]["name"]).get("data", {}))
    for item in c.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "configMapKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = find(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            raise ValueError(f"{deployment}: unsupported env source {item}")
    ports = {p.get("name", str(p["containerPort"])): p["containerPort"] for p in c.get("ports", [])}
    probes = []
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        if kind in c:
            get = c[kind]["httpGet"]
            port = get["port"]
            probes.append(Probe(kind, get["path"], ports[port] if isinstance(port, str) else int(port)))
    pod_sc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
    limits = c.get("resources", {}).get("limits", {})
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    gid = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    return Container(
        deployment=deployment,
        image=c["image"],
        args=[str(a) for a in c.get("args", [])],
        env=env,
        ports=ports,
        probes=probes,
        run_as=f"{uid}:{gid}" if uid is not None else None,
        read_only_root=bool(sc.get("readOnlyRootFilesystem")),
        drop_all_capabilities="ALL" in sc.get("capabilities", {}).get("drop", []),
        no_new_privileges=sc.get("allowPrivilegeEscalation") is False,
        termination_grace_seconds=int(pod.get("terminationGracePeriodSeconds", 30)),
        memory_limit=size_bytes(limits["memory"]) if "memory" in limits else None,
    )


def service_urls(objects: list[dict]) -> dict[str, tuple[str, int]]:
    """`http://SERVICE:PORT` -> (the Deployment behind it, its container port),
    for every Service whose selector picks out one Deployment."""
    urls = {}
    for svc in (o for o in objects if o["kind"] == "Service"):
        selector = svc["spec"].get("selector", {})
        for dep in (o for o in objects if o["kind"] == "Deployment"):
            labels = dep["spec"]["template"]["metadata"].get("labels", {})
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                continue
            c = container(objects, dep["metadata"]["name"])
            for port in svc["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                target = c.ports[target] if isinstance(target, str) else int(target)
                urls[f"http://{svc['metadata']['name']}:{port['port']}"] = (dep["metadata"]["name"], target)
    return urls


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)$")


def seconds(duration: str) -> float:
    """A humantime duration as the host takes it (`5s`, `500ms`, `1m`)."""
    m = _DURATION.match(duration.strip())
    if not m:
        raise ValueError(f"unsupported duration {duration!r}")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


_SIZE = re.compile(r"^(\d+)\s*(Ki|Mi|Gi|KiB|MiB|GiB|k|M|G)?$")
_UNITS = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
          "k": 10**3, "M": 10**6, "G": 10**9}


def size_bytes(size: str | int) -> int:
    """A Kubernetes memory quantity (`512Mi`) or a host size flag (`32MiB`,
    `268435456`) in bytes."""
    m = _SIZE.match(str(size).strip())
    if not m:
        raise ValueError(f"unsupported size {size!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]

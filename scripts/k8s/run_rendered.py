#!/usr/bin/env python3
"""Runs doc-proxy and its upstream emulator exactly as an overlay's rendered
Deployments say (args, environment from the ConfigMap, user, read-only root,
capabilities), then checks what Kubernetes and a client would see:

- every probe path on its declared port answers 200;
- N documents through doc-proxy are the project's fixtures byte for byte, with
  the right Content-Type;
- /metrics counts them;
- SIGTERM: readiness fails at once, documents are still served during
  SHUTDOWN_DELAY, and the process exits 0 before terminationGracePeriodSeconds
  (which must cover SHUTDOWN_DELAY + DRAIN_TIMEOUT).

Two launchers: `process` runs the static host binary from `make dist` (the
`make k8s-check` consistency test); `podman` runs the image (`make image-test`).

Changed from the manifest, and only this: every declared container port is
remapped to a free one and bound on 127.0.0.1 (all containers share the host
network here); `http://SERVICE:PORT` in the environment becomes
`http://localhost:PORT` of the Deployment behind it (so the static binary's
DNS resolution is exercised); `process` maps the image's /app to `make dist`'s
directory.

It starts hosts itself, not through scripts/lib/hosts.sh or the Rust tests'
harness (crates/test-harness): those add test flags (ephemeral ports, no
shutdown delay), and this runs the rendered arguments and nothing else.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import rendered  # noqa: E402

SERVICE = "doc-proxy"
UPSTREAM = "dummy-pdf-or-png"
# What the validator holds besides the body and the response (README, "Memory").
VALIDATOR_WORKING_SET = 16 << 20
CONTENT_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png"}


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """An ephemeral port not handed out before in this run.

    Every port is chosen before any process starts, and the kernel may give
    the same free port to two probes in a row (CI once saw doc-proxy's control
    port equal the upstream's), so the ports handed out are remembered."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class Launched:
    """One Deployment's container, started on remapped ports."""

    def __init__(self, c: rendered.Container, ports: dict[int, int], args: list[str], env: dict[str, str]):
        self.c, self.ports, self.args, self.env = c, ports, args, env
        self.started = time.monotonic()

    def port(self, name: str) -> int:
        return self.ports[self.c.ports[name]]


class ProcessLauncher:
    def __init__(self, dist: str, workdir: str):
        self.dist, self.workdir, self.procs = os.path.abspath(dist), workdir, {}

    def start(self, launched: Launched) -> None:
        fix = lambda s: s.replace("/app/", self.dist + "/")  # noqa: E731
        entrypoint = os.path.join(self.dist, "bin", "doc-proxy-host")
        env = {"PATH": "/usr/bin:/bin"} | {k: fix(v) for k, v in launched.env.items()}
        if launched.c.memory_limit:
            # The host's start-up check reads the container's limit from the
            # cgroup; give it one with the manifest's limits.memory.
            cgroup = os.path.join(self.workdir, f"cgroup-{launched.c.deployment}")
            os.makedirs(cgroup, exist_ok=True)
            with open(os.path.join(cgroup, "memory.max"), "w") as f:
                f.write(f"{launched.c.memory_limit}\n")
            env["CGROUP_ROOT"] = cgroup
        log = open(os.path.join(self.workdir, launched.c.deployment + ".log"), "wb")
        launched.started = time.monotonic()
        self.procs[launched.c.deployment] = subprocess.Popen(
            [entrypoint, *map(fix, launched.args)], env=env, stdout=log, stderr=log
        )

    def signal(self, launched: Launched, sig: str) -> None:
        self.procs[launched.c.deployment].send_signal(getattr(signal, "SIG" + sig))

    def wait(self, launched: Launched, timeout: float) -> int | None:
        try:
            return self.procs[launched.c.deployment].wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self, launched: Launched) -> str:
        with open(os.path.join(self.workdir, launched.c.deployment + ".log"), errors="replace") as f:
            return f.read()

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


class PodmanLauncher:
    """`podman run` with the container's security context; runc, host network
    and explicit ulimits, as this machine needs."""

    def __init__(self, image: str):
        self.image, self.names, self.every_name = image, {}, []

    def start(self, launched: Launched) -> None:
        c = launched.c
        name = f"doc-proxy-test-{c.deployment}-{uuid.uuid4().hex[:8]}"
        # --no-healthcheck: Kubernetes ignores HEALTHCHECK (its probes are checked
        # here), and podman needs systemd to schedule it.
        cmd = ["podman", "run", "-d", "--name", name, "--runtime", "runc", "--network", "host", "--no-healthcheck",
               "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
        if c.run_as:
            cmd += ["--user", c.run_as]
        if c.read_only_root:
            cmd += ["--read-only"]
        if c.drop_all_capabilities:
            cmd += ["--cap-drop", "ALL"]
        if c.no_new_privileges:
            cmd += ["--security-opt", "no-new-privileges"]
        if c.memory_limit:
            # A real cgroup limit: the host reads it at start, and the kernel
            # would kill the container past it.
            cmd += ["--memory", str(c.memory_limit)]
        for k, v in launched.env.items():
            cmd += ["--env", f"{k}={v}"]
        launched.started = time.monotonic()
        subprocess.run(cmd + [self.image, *launched.args], check=True, stdout=subprocess.DEVNULL)
        self.names[c.deployment] = name
        self.every_name.append(name)

    def signal(self, launched: Launched, sig: str) -> None:
        subprocess.run(["podman", "kill", "--signal", sig, self.names[launched.c.deployment]],
                       check=True, stdout=subprocess.DEVNULL)

    def wait(self, launched: Launched, timeout: float) -> int | None:
        try:
            out = subprocess.run(["podman", "wait", self.names[launched.c.deployment]],
                                 capture_output=True, text=True, timeout=timeout, check=True).stdout
            return int(out.strip())
        except subprocess.TimeoutExpired:
            return None

    def log(self, launched: Launched) -> str:
        return subprocess.run(["podman", "logs", self.names[launched.c.deployment]],
                              capture_output=True, text=True).stderr

    def stop_all(self) -> None:
        for name in self.every_name:
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)


def prepare(objects: list[dict], deployment: str, urls: dict[str, str]) -> Launched:
    c = rendered.container(objects, deployment)
    ports = {p: free_port() for p in c.ports.values()}

    def remap(value: str) -> str:
        for url, local in urls.items():
            value = value.replace(url, local)
        value = value.replace("0.0.0.0:", "127.0.0.1:")
        for declared, local in ports.items():
            value = re.sub(rf"(?<=:){declared}\b", str(local), value)
        return value

    return Launched(c, ports, [remap(a) for a in c.args], {k: remap(v) for k, v in c.env.items()})


def memory_plan(log: str, limit: int | None) -> str:
    """The host's logged memory plan, checked against the container's limit."""
    for line in log.splitlines():
        if '"memory plan"' in line:
            plan = json.loads(line)
            assert plan["container_limit"] != "none" or limit is None, f"the host did not see the limit: {plan}"
            return (f"memory plan: {plan['concurrency']} instances x {plan['instance_memory']} + "
                    f"{plan['host_overhead']} + {plan['body_buffer']} bodies + {plan['pool_resident']} kept by idle "
                    f"pool slots = {plan['worst_case']} "
                    f"within limits.memory {plan['container_limit']}")
    raise AssertionError("the host logged no memory plan")


def is_refused_document(status: int, body: bytes) -> bool:
    """The component's 502 after every attempt brought a corrupt document: the
    upstream's doing, and the fail-safe answer, not a deployment fault."""
    return status == 502 and b"problem:bad-upstream-document" in body


def wait_until(what: str, check, timeout: float = 30.0, every: float = 0.005) -> float:
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise SystemExit(f"FAIL: {what} within {timeout}s")
        time.sleep(every)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("overlay")
    ap.add_argument("--fixtures", required=True, help="directory with dummy.pdf and dummy.png")
    ap.add_argument("--documents", type=int, default=200)
    launcher = ap.add_mutually_exclusive_group(required=True)
    launcher.add_argument("--dist", help="run the static host from this `make dist` directory")
    launcher.add_argument("--image", help="run this image with podman")
    ap.add_argument("--workdir", default="/tmp")
    opts = ap.parse_args()

    objects = rendered.render(opts.overlay)
    good = {}
    for name in ("dummy.pdf", "dummy.png"):
        with open(os.path.join(opts.fixtures, name), "rb") as f:
            good[hashlib.sha256(f.read()).hexdigest()] = name
    run = ProcessLauncher(opts.dist, opts.workdir) if opts.dist else PodmanLauncher(opts.image)
    where = f"process {opts.dist}/bin/doc-proxy-host" if opts.dist else f"podman image {opts.image}"
    print(f"run-rendered: {opts.overlay} as {where}")

    targets = rendered.service_urls(objects)
    upstream = prepare(objects, UPSTREAM, {})
    local_urls = {url: f"http://localhost:{upstream.ports[port]}"
                  for url, (dep, port) in targets.items() if dep == UPSTREAM}
    service = prepare(objects, SERVICE, local_urls)
    upstream_url = "SPIN_VARIABLE_UPSTREAM_URL"
    assert service.env.get(upstream_url, "").startswith("http://localhost:"), \
        f"{upstream_url} does not name the upstream's Service: {service.c.env.get(upstream_url)}"
    try:
        for launched in (upstream, service):
            run.start(launched)
            took = wait_until(f"{launched.c.deployment} ready",
                              lambda: get(launched.port("admin"), "/readyz", 1)[0] == 200)
            for probe in launched.c.probes:
                status = get(launched.ports[probe.port], probe.path)[0]
                assert status == 200, f"{launched.c.deployment} {probe.kind} {probe.path}: {status}"
            print(f"  {launched.c.deployment}: ready {took * 1000:.0f} ms after start; probes "
                  + ", ".join(f"{p.kind} {p.path}:{p.port} 200" for p in launched.c.probes))
            print(f"  {launched.c.deployment}: {memory_plan(run.log(launched), launched.c.memory_limit)}")

        # The component's share of an instance (README, "Memory"): the body,
        # the response and the validator's working set.
        for knob in ("SPIN_VARIABLE_MAX_DOCUMENT_BYTES", "MAX_INSTANCE_MEMORY_BYTES", "GUEST_MEMORY_BUDGET"):
            assert knob in service.env, f"{SERVICE} sets no {knob}: the manifest must size memory explicitly"
        document = rendered.size_bytes(service.env["SPIN_VARIABLE_MAX_DOCUMENT_BYTES"])
        instance = rendered.size_bytes(service.env["MAX_INSTANCE_MEMORY_BYTES"])
        assert instance >= 2 * document + VALIDATOR_WORKING_SET, \
            f"MAX_INSTANCE_MEMORY_BYTES {instance} < 2 x MAX_DOCUMENT_BYTES {document} + 16 MiB"
        print(f"  {SERVICE}: MAX_INSTANCE_MEMORY_BYTES {instance >> 20} MiB >= 2 x MAX_DOCUMENT_BYTES "
              f"{document >> 20} MiB + 16 MiB")

        # Start -> first 200, with a fresh service (the first start above also
        # paid for the image's first use).
        run.signal(service, "KILL")
        run.wait(service, 10)
        fresh = prepare(objects, SERVICE, local_urls)
        run.start(fresh)
        wait_until("first document", lambda: get(fresh.port("http"), "/42", 1)[0] == 200)
        print(f"  start -> first 200: {(time.monotonic() - fresh.started) * 1000:.0f} ms "
              f"(from the {'exec' if opts.dist else 'podman run'} of a fresh {SERVICE})")
        service = fresh

        kinds: dict[str, int] = {}
        refused = 0
        for i in range(1, opts.documents + 1):
            status, headers, body = get(service.port("http"), f"/{i}")
            if is_refused_document(status, body):
                refused += 1  # three corrupt documents in a row: expected 1 time in 1,000
                continue
            assert status == 200, f"/{i}: {status} {body[:200]!r}"
            digest = hashlib.sha256(body).hexdigest()
            assert digest in good, f"/{i}: served a body that is not a good fixture ({len(body)} bytes)"
            magic = next(ct for m, ct in CONTENT_TYPES.items() if body.startswith(m))
            assert headers["content-type"] == magic, f"/{i}: {headers['content-type']} for {good[digest]}"
            kinds[good[digest]] = kinds.get(good[digest], 0) + 1
        assert refused <= max(1, opts.documents // 100), f"{refused} of {opts.documents} refused as bad documents"
        print(f"  {opts.documents} requests: {opts.documents - refused} documents, all byte-identical to the "
              f"fixtures with the right type {kinds}; {refused} answered 502 bad-upstream-document")

        _, _, metrics = get(service.port("admin"), "/metrics")
        served = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.decode().splitlines()
                     if line.startswith("http_requests_total{") and 'status="200"' in line)
        assert served >= opts.documents - refused, f"/metrics counts {served} 200s"
        print(f"  /metrics: http_requests_total 200s = {served:.0f}")

        delay = rendered.seconds(service.env.get("SHUTDOWN_DELAY", "5s"))
        drain = rendered.seconds(service.env.get("DRAIN_TIMEOUT", "10s"))
        grace = service.c.termination_grace_seconds
        assert grace >= delay + drain + 5, \
            f"terminationGracePeriodSeconds {grace} < SHUTDOWN_DELAY {delay} + DRAIN_TIMEOUT {drain} + 5"
        run.signal(service, "TERM")
        sigterm = time.monotonic()
        wait_until("readiness off after SIGTERM", lambda: get(service.port("admin"), "/readyz", 1)[0] == 503, 2)
        during = 0
        while time.monotonic() - sigterm < delay - 0.5:
            status, _, body = get(service.port("http"), f"/{during + 1}")
            assert status == 200 or is_refused_document(status, body), f"during the shutdown delay: {status}"
            during += 1
            time.sleep(0.01)
        code = run.wait(service, grace)
        took = time.monotonic() - sigterm
        assert code == 0, f"exit status {code} after SIGTERM; log:\n{run.log(service)[-3000:]}"
        print(f"  SIGTERM: readiness off at once, {during} documents served during the {delay:.0f}s delay, "
              f"exit 0 after {took:.1f}s (grace {grace}s)")
    except (AssertionError, SystemExit) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        for launched in (upstream, service):
            print(f"--- {launched.c.deployment} log (tail)\n{run.log(launched)[-2000:]}", file=sys.stderr)
        return 1
    finally:
        run.stop_all()
    print("run-rendered: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

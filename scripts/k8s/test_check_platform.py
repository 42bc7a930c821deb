"""check_platform.py must pass on the repository as it is and fail on each
seeded defect (what main had before issue 25), in a copy of the parts it
reads."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import seeded  # noqa: E402
import check_platform  # noqa: E402

SPIN = "k8s/overlays/spinkube/kustomization.yaml"
SHIM = "k8s/spin-shim/shim.yaml"
# (file, old text, new text, words the problem must contain)
DEFECTS = [
    ("k8s/base/doc-proxy/networkpolicy.yaml", "metadata.name: gke-gmp-system", "metadata.name: gmp-system",
     "PodMonitoring/doc-proxy"),
    ("k8s/base/upstream/networkpolicy.yaml", "metadata.name: gke-gmp-system", "metadata.name: gmp-system",
     "PodMonitoring/dummy-pdf-or-png"),
    (SPIN, "        value: baseline\n", "        value: restricted\n", "no securityContext"),
    ("k8s/overlays/spinkube/runtimeclass.yaml", "handler: spin-v2", "handler: spin", "'spin-v2'"),
    ("k8s/overlays/spinkube/runtimeclass.yaml", 'scheduling:\n  nodeSelector:\n    spin: "true"\n', "",
     "does not schedule"),
    ("k8s/README.md", "OVERLAY=spinkube scripts/deploy/render.sh", "kubectl apply -k k8s/overlays/spinkube #",
     "placeholder digest"),
    # issue 37: the shim runtime-class-manager's sample installed (v0.15.1, Spin 2.6, aarch64), and the
    # unpinned runtime-class-manager (main named a commit from before containerd 2 support).
    (SHIM, "arch: x86_64", "arch: aarch64", "nothing for linux/x86_64"),
    (SHIM, "download/v0.23.0/", "download/v0.15.1/", "Spin v2.6.0, which does not provide wasi:config@0.2.0-draft-2024-09-27"),
    (SHIM, "sha256: eec8df96", "sha256: 0ec8df96", "upstream.yaml records eec8df96"),
    (SHIM, "  fetchStrategy:\n", "  fetchStrategy:\n    anonHttp: {location: https://example.com/shim.tar.gz}\n", "anonHttp"),
    ("terraform/envs/prod/main.tf", 'machine_type = "e2-standard-2"', 'machine_type = "t2a-standard-2"',
     "nothing for linux/aarch64"),
    ("wit/world.wit", "import wasi:config/store@0.2.0-draft-2024-09-27;", "import wasi:config/store@0.2.0-rc.1;",
     "does not provide wasi:config@0.2.0-rc.1"),
    ("k8s/README.md", "--version 0.2.0 oci://", "--version 0.0.4 oci://", "writes only containerd 1.x"),
    ("k8s/README.md", "--version 0.2.0 oci://", "oci://", "does not pin a version"),
    # issue 37: two NamedAddresses on one Gateway, as main had; a route on one Gateway only.
    ("k8s/components/ingress/gateway.yaml", "      value: doc-proxy-ipv4\n",
     "      value: doc-proxy-ipv4\n    - type: NamedAddress\n      value: doc-proxy-ipv6\n",
     "Gateway/doc-proxy asks for 2 addresses"),
    ("k8s/components/ingress/httproute.yaml", "    - name: doc-proxy-ipv6\n      sectionName: https\n", "",
     "HTTPRoute/doc-proxy is attached to https of some Gateways but not of ['doc-proxy-ipv6']"),
    # issue 37: kube-dns and NodeLocal DNSCache only, while the GKE clusters use Cloud DNS.
    ("k8s/base/doc-proxy/networkpolicy.yaml", "        - ipBlock: {cidr: 169.254.169.254/32}\n", "",
     "k8s/overlays/gke: NetworkPolicy/doc-proxy allows DNS but not to 169.254.169.254 UDP"),
    ("k8s/overlays/spinkube/networkpolicy.yaml", "        - ipBlock: {cidr: 169.254.169.254/32}\n", "",
     "NetworkPolicy/doc-proxy-spin allows DNS but not to 169.254.169.254"),
    ("k8s/base/doc-proxy/networkpolicy.yaml", "        - {port: 53, protocol: TCP}\n", "",
     "169.254.169.254 TCP 53"),
    ("k8s/base/doc-proxy/networkpolicy.yaml", "        - namespaceSelector:\n            matchLabels:\n"
     "              kubernetes.io/metadata.name: kube-system\n", "        - namespaceSelector:\n"
     "            matchLabels:\n              kubernetes.io/metadata.name: kube-dns\n",
     "k8s/overlays/local: NetworkPolicy/doc-proxy allows DNS but not to kube-system"),
]


class K8sPlatformCheck(seeded.SeededTest):
    def test_semver_and_pre_release_linking(self):
        release = {"provides": ["wasi@0.2", "wasi:config@0.2.0-draft-2024-09-27"]}
        self.assertTrue(check_platform.provides(release, "wasi:http", "0.2.6"))
        self.assertFalse(check_platform.provides(release, "wasi:http", "0.3.0"))
        self.assertTrue(check_platform.provides(release, "wasi:config", "0.2.0-draft-2024-09-27"))
        self.assertFalse(check_platform.provides(release, "wasi:config", "0.2.0-rc.1"))
        self.assertFalse(check_platform.provides({"provides": ["wasi@0.2"]}, "wasi:config", "0.2.0-draft-2024-09-27"))

    PARTS = ("k8s", "docs", "terraform", "wit")
    DEFECTS = DEFECTS

    def check(self, repo):
        return check_platform.check(repo)


if __name__ == "__main__":
    unittest.main()

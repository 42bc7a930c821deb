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
]


class K8sPlatformCheck(seeded.SeededTest):
    PARTS = ("k8s", "docs")
    DEFECTS = DEFECTS

    def check(self, repo):
        return check_platform.check(repo)


if __name__ == "__main__":
    unittest.main()

"""check_platform.py must pass on the repository as it is and fail on each
seeded defect (most of them what main had before issue 25), in a copy of
the parts it reads."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import seeded  # noqa: E402
import check_platform  # noqa: E402

GKE = "terraform/modules/gke/main.tf"
PROD = "terraform/envs/prod/main.tf"
# (file, old text, new text, words the problem must contain)
DEFECTS = [
    (GKE, "cluster_secondary_range_name  = var.spinkube.pods_range_name",
     "cluster_secondary_range_name  = var.pods_range_name", "secondary ranges of its own"),
    (GKE, "  node_locations = var.spinkube.zones\n", "", "per zone"),
    (PROD, '"ghcr.io/spinkube/**"', '"ghcr.io/spinkube/*"', "containerd-shim-spin/node-installer"),
    (PROD, '"quay.io/jetstack/**"', '"quay.io/jetstack/cert-manager/*"', "cert-manager-controller"),
    (PROD, 'release_images = "${module.registry.repository_url}/*"',
     'release_images = "${module.registry.repository_url}/doc-proxy"', "release_images"),
    (GKE, '      spin = "true"\n', '      wasm = "true"\n', "spin=true"),
    ("k8s/overlays/spinkube/runtimeclass.yaml", "handler: spin-v2", "handler: spin", "'spin-v2'"),
    ("k8s/overlays/spinkube/runtimeclass.yaml", '    spin: "true"', '    kwasm: "true"', "nodeSelector"),
    (PROD, 'source = "../../modules/alerting"', 'source = "../../modules/alerts"', "no alert reaches anyone"),
    (PROD, "rules/doc-proxy.rules.yml", "rules/other.rules.yml", "rules_file"),
    (PROD, "notification_email = var.alert_email", 'notification_email = "someone@example.com"', "one root variable"),
    ("terraform/modules/alerting/main.tf", "if try(r.alert, null) != null", "if try(r.record, null) == null && false",
     "local.alerts has"),
    # issue 37: what main had: no disable_metric_validation, a first apply fails.
    ("terraform/modules/alerting/main.tf", "      disable_metric_validation = true\n", "", "disable_metric_validation"),
    (GKE, '    cluster_dns       = "CLOUD_DNS"\n', "", "dns_config.cluster_dns"),
    ("terraform/modules/registry/main.tf", "cleanup_policy_dry_run = true", "cleanup_policy_dry_run = false",
     "run for real"),
    ("terraform/modules/registry/main.tf", 'tag_state  = "TAGGED"', 'tag_state  = "UNTAGGED"', "deletes UNTAGGED"),
    ("terraform/modules/alerting/versions.tf", '">= 7.0.0, < 8.0.0"', '">= 6.0.0, < 8.0.0"', "older than 6.13.0"),
]


class PlatformCheck(seeded.SeededTest):
    PARTS = ("terraform", "k8s", "observability", ".github")
    DEFECTS = DEFECTS

    def check(self, repo):
        return check_platform.check(repo)

    def test_lowest_admitted_version(self):
        low = check_platform.lowest_admitted
        self.assertEqual(low(">= 7.0.0, < 8.0.0"), (7, 0, 0))
        self.assertEqual(low("7.46.0"), (7, 46, 0))
        self.assertEqual(low("~> 6.12"), (6, 12))
        self.assertEqual(low("< 8.0.0"), (0, 0, 0))

    def test_patterns_as_the_api_documents_them(self):
        m = check_platform.pattern_matches
        self.assertTrue(m("gcr.io/nginx*", "gcr.io/nginx@latest"))
        self.assertFalse(m("gcr.io/nginx*", "gcr.io/nginx/image"))
        self.assertTrue(m("gcr.io/nginx**", "gcr.io/nginx/image"))
        self.assertFalse(m("ghcr.io/spinkube/*", "ghcr.io/spinkube/containerd-shim-spin/node-installer:v0.15.1"))
        self.assertTrue(m("ghcr.io/spinkube/**", "ghcr.io/spinkube/containerd-shim-spin/node-installer:v0.15.1"))


if __name__ == "__main__":
    unittest.main()

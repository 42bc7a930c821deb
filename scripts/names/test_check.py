"""check.py must pass on the repository as it is and fail on each kind of
rename, in a copy of the parts it reads."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import check  # noqa: E402

# (file, old text, new text, a word the report must contain)
RENAMES = [
    ("terraform/envs/prod/terraform.tfvars.example", '"europe-west1"', '"us-central1"', "GCP_REGION"),
    ("terraform/envs/prod/variables.tf", 'default     = "doc-proxy"', 'default     = "docproxy"', "GKE_CLUSTER"),
    ("terraform/modules/ci-identity/variables.tf", 'default     = "github"', 'default     = "gh-actions"', "WIF_PROVIDER"),
    ("terraform/modules/ci-identity/variables.tf", 'default     = "doc-proxy-deploy"', 'default     = "deployer"', "DEPLOY_SA"),
    (".github/workflows/deploy.yml", "K8S_NAMESPACE: doc-proxy", "K8S_NAMESPACE: docs", "K8S_NAMESPACE"),
    (".github/workflows/terraform.yml", "name: production-infra", "name: infra", "environment"),
    ("k8s/overlays/gke/kustomization.yaml", "doc-proxy-prod/doc-proxy/doc-proxy", "doc-proxy-prod/images/doc-proxy", "image"),
    ("k8s/components/ingress/gateway.yaml", "networking.gke.io/certmap: doc-proxy", "networking.gke.io/certmap: docs", "certmap"),
    ("k8s/components/ingress/gateway.yaml", "value: doc-proxy-ipv6", "value: doc-proxy-v6", "addresses"),
    ("docs/deploy.md", "terraform output -raw project_number", "terraform output -raw project_num", "project_num"),
    ("docs/deploy.md", "gh variable set PUBLIC_URL", "gh variable set SERVICE_URL", "PUBLIC_URL"),
    ("docs/deploy.md", "`make tf-docs`", "`make tfdocs`", "tfdocs"),
    (".github/workflows/deploy.yml", "      digest:\n        description: Image digest (sha256:…) of", "      image:\n        description: Image digest (sha256:…) of", "workflow_dispatch input"),
    # What main had: a roll-back command without the revision, and the
    # application-default login before the project is set.
    ("docs/deploy.md", " -f revision=COMMIT", "", "required input revision"),
    ("docs/deploy.md", "gcloud config set project doc-proxy-prod\ngcloud auth application-default login",
     "gcloud auth application-default login\ngcloud config set project doc-proxy-prod", "quota project"),
    ("docs/deploy.md", "gcloud auth application-default set-quota-project doc-proxy-prod\n", "", "set-quota-project"),
]


class NamesCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.copy = tempfile.mkdtemp()
        for part in ("terraform", ".github", "k8s", "docs", "scripts", "Makefile"):
            src = os.path.join(REPO, part)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(cls.copy, part), ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
            else:
                shutil.copy(src, os.path.join(cls.copy, part))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.copy)

    def test_repository_agrees(self):
        self.assertEqual(check.check(REPO), [])

    def test_each_rename_is_caught(self):
        for path, old, new, word in RENAMES:
            with self.subTest(path=path, new=new):
                target = os.path.join(self.copy, path)
                with open(target, encoding="utf-8") as f:
                    original = f.read()
                self.assertIn(old, original, "the rename's text must exist, or this test tests nothing")
                try:
                    with open(target, "w", encoding="utf-8") as f:
                        f.write(original.replace(old, new, 1))
                    problems = check.check(self.copy)
                finally:
                    with open(target, "w", encoding="utf-8") as f:
                        f.write(original)
                self.assertTrue(any(word in p for p in problems), f"{word!r} not in {problems}")

    def test_cli_exit_status(self):
        ok = subprocess.run([sys.executable, os.path.join(HERE, "check.py"), REPO], capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)


if __name__ == "__main__":
    unittest.main()

"""check_workflows.py must pass on the repository as it is and fail on each
seeded defect, in a copy of the parts it reads (.github, terraform)."""

import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import check_workflows  # noqa: E402

RELEASE = ".github/workflows/release.yml"
DEPLOY = ".github/workflows/deploy.yml"

# (file, old text, new text, words the finding must contain)
DEFECTS = [
    # Forms GitHub refuses before any job starts.
    (RELEASE, "uses: $/.github/workflows/ci.yml", "uses: $/.github/workflows/ci.yml@main", "GitHub accepts"),
    (RELEASE, "uses: $/.github/workflows/deploy.yml", "uses: .github/workflows/deploy.yml", "GitHub accepts"),
    (RELEASE, "uses: $/.github/workflows/deploy.yml", "uses: ${{ github.repository }}/.github/workflows/deploy.yml", "GitHub accepts"),
    (RELEASE, "uses: $/.github/workflows/ci.yml", "uses: $/.github/workflows/cii.yml", "no such workflow"),
    (RELEASE, "uses: $/.github/workflows/ci.yml", "uses: ./.github/workflows/ci.yaml", "no such workflow"),
    (RELEASE, "uses: $/.github/workflows/ci.yml", "uses: octo/repo/.github/workflows/ci.yml", "GitHub accepts"),
    (".github/workflows/ci.yml", "  workflow_call:\n", "", "no on.workflow_call"),
    (RELEASE, "      revision: ${{ github.sha }}", "      commit: ${{ github.sha }}", "does not declare"),
    (RELEASE, "      revision: ${{ github.sha }}\n", "", "required input 'revision'"),
    (RELEASE, "uses: actions/checkout@", "uses: actions/checkout#", "GitHub accepts"),
    # Re-running a release pushes the same immutable tag again.
    (RELEASE, "        if: steps.existing.outputs.digest == ''\n        uses: docker/build-push-action", "        uses: docker/build-push-action", "immutable tags"),
    (RELEASE, "imagetools inspect", "imagetools lookup", "immutable tags"),
    # A hand-run roll-back that records main's HEAD as the revision.
    (DEPLOY, 'run: scripts/deploy/rollout.sh "$IMAGE" "$DIGEST" "$REVISION"', 'run: scripts/deploy/rollout.sh "$IMAGE" "$DIGEST" "$GITHUB_SHA"', "github.sha"),
]


class WorkflowsCheck(unittest.TestCase):
    def setUp(self):
        self.copy = tempfile.mkdtemp()
        for part in (".github", "terraform"):
            shutil.copytree(os.path.join(REPO, part), os.path.join(self.copy, part))

    def tearDown(self):
        shutil.rmtree(self.copy)

    def test_repository_passes(self):
        self.assertEqual(check_workflows.check(REPO), [])

    def test_each_defect_is_found(self):
        for path, old, new, word in DEFECTS:
            with self.subTest(path=path, new=new[:60]):
                full = os.path.join(self.copy, path)
                with open(full) as f:
                    text = f.read()
                self.assertIn(old, text, "the seed no longer matches the file")
                with open(full, "w") as f:
                    f.write(text.replace(old, new, 1))
                try:
                    findings = check_workflows.check(self.copy)
                    self.assertTrue(any(word in x for x in findings), findings)
                finally:
                    with open(full, "w") as f:
                        f.write(text)

    def test_push_without_immutable_tags_needs_no_guard(self):
        main = os.path.join(self.copy, "terraform/modules/registry/main.tf")
        with open(main) as f:
            text = f.read()
        with open(main, "w") as f:
            f.write(text.replace("immutable_tags = true", "immutable_tags = false"))
        release = os.path.join(self.copy, RELEASE)
        with open(release) as f:
            wf = f.read()
        with open(release, "w") as f:
            f.write(wf.replace("        if: steps.existing.outputs.digest == ''\n        uses: docker/build-push-action",
                               "        uses: docker/build-push-action"))
        self.assertEqual(check_workflows.check(self.copy), [])


if __name__ == "__main__":
    unittest.main()

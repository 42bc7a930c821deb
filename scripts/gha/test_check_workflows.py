"""check_workflows.py must pass on the repository as it is and fail on each
seeded defect, in a copy of the parts it reads (.github, terraform)."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import seeded  # noqa: E402
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


class WorkflowsCheck(seeded.SeededTest):
    PARTS = (".github", "terraform")
    DEFECTS = DEFECTS

    def check(self, repo):
        return check_workflows.check(repo)

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

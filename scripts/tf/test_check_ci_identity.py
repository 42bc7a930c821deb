"""check_ci_identity.py must pass on the repository as it is and fail on
each seeded defect, in a copy of terraform/: what main had before issue 37
(trust keyed on the name-only sub), and each claim the condition needs."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import seeded  # noqa: E402
import check_ci_identity  # noqa: E402

MAIN = "terraform/modules/ci-identity/main.tf"
# (file, old text, new text, words the problem must contain)
DEFECTS = [
    # Main before issue 37: the owner ID and the name-only sub.
    (MAIN, "  attribute_condition = local.attribute_condition",
     "  attribute_condition = \"assertion.repository_owner_id == '${var.github_repository_owner_id}' && "
     "assertion.sub == 'repo:${var.github_repository}:ref:refs/heads/main'\"",
     "image job (push to main), immutable-ID sub: reaches nothing"),
    (MAIN, "\"assertion.repository_id == '${var.github_repository_id}'\",", "\"true\",",
     "re-created repository of the same name and owner, name-only sub: reaches deploy"),
    (MAIN, "assertion.environment == '${var.deploy_environment}' && assertion.ref == '${local.release_ref}' && ",
     "assertion.environment == '${var.deploy_environment}' && ", "production job on another branch"),
    (MAIN, "assertion.event_name == 'pull_request' && !has(assertion.environment)",
     "assertion.event_name.startsWith('pull_request')", "pull_request_target job"),
    (MAIN, "/attribute.ci_job/${each.value.job}", "/subject/${each.value.job}", "bound to no account"),
    (MAIN, "\"google.subject\" = \"'repository_id:' + assertion.repository_id",
     "\"google.subject\" = \"assertion.sub + assertion.sub + assertion.sub + '' + assertion.repository_id",
     "at most 127"),
]


class CiIdentityCheck(seeded.SeededTest):
    PARTS = ("terraform",)
    DEFECTS = DEFECTS

    def check(self, repo):
        return check_ci_identity.check(repo)

    def test_both_sub_formats(self):
        claims = {"event_name": "push", "ref": "refs/heads/main", "environment": "production"}
        self.assertEqual(check_ci_identity.token(claims, False)["sub"],
                         "repo:example-org/doc-proxy:environment:production")
        self.assertEqual(check_ci_identity.token(claims, True)["sub"],
                         "repo:example-org-123456789/doc-proxy-987654321:environment:production")
        pr = check_ci_identity.token({"event_name": "pull_request", "ref": "refs/pull/7/merge"}, False)
        self.assertEqual(pr["sub"], "repo:example-org/doc-proxy:pull_request")


if __name__ == "__main__":
    unittest.main()

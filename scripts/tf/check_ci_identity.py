#!/usr/bin/env python3
"""Which GitHub Actions jobs terraform/modules/ci-identity lets impersonate
which service account, found by evaluating the Workload Identity provider
as Google would, offline:

1. `terraform console` evaluates the provider's attribute_condition and
   attribute_mapping and the impersonation bindings' members with example
   inputs (the module's locals and variables only; resource names are
   stubbed, so no provider is needed);
2. a CEL interpreter (cel-python) runs them on the claims of example OIDC
   tokens, as GitHub's OpenID Connect reference lists them, once with the
   name-only `sub` and once with the `sub` GitHub issues since 2026-06-18 to
   new, renamed and transferred repositories (owner and repository IDs
   appended to the names: GitHub changelog 2026-04-23, "Immutable subject
   claims");
3. each token must reach exactly the account its job needs (release and
   deploy: the deploy account; apply: terraform; plan: plan) and every other
   token (another repository or owner ID, another branch, environment or
   event) none; google.subject must fit Google's 127 bytes.

    check_ci_identity.py [REPO_DIR]     one line per problem, exit 1 if any
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from check_terraform import parse_files  # noqa: E402

MODULE = "terraform/modules/ci-identity"
# Example inputs; the IDs are arbitrary, the names terraform.tfvars.example's.
INPUTS = {
    "project_id": "doc-proxy-prod",
    "github_repository": "example-org/doc-proxy",
    "github_repository_id": "987654321",
    "github_repository_owner_id": "123456789",
    "state_bucket": "doc-proxy-prod-tfstate",
}
OWNER, NAME = INPUTS["github_repository"].split("/")
SUBJECT_MAX_BYTES = 127  # google.subject, Workload Identity Federation's attribute mapping limit
RESOURCE_REF = re.compile(r"(?<![\w.\"])google_[a-z0-9_]+\.[a-z0-9_]+(?:\[[^\]]*\])?(?:\.[a-z0-9_]+)*")

# (what the job is, its claims, the account it must reach or None)
MAIN = "refs/heads/main"
CASES = [
    ("release.yml's image job (push to main)", {"event_name": "push", "ref": MAIN}, "deploy"),
    ("deploy.yml called by release.yml (environment production)",
     {"event_name": "push", "ref": MAIN, "environment": "production"}, "deploy"),
    ("deploy.yml run by hand (environment production)",
     {"event_name": "workflow_dispatch", "ref": MAIN, "environment": "production"}, "deploy"),
    ("terraform.yml's apply (environment production-infra)",
     {"event_name": "push", "ref": MAIN, "environment": "production-infra"}, "terraform"),
    ("terraform.yml's plan (pull_request)", {"event_name": "pull_request", "ref": "refs/pull/7/merge"}, "plan"),
    ("a push job of a re-created repository of the same name and owner",
     {"event_name": "push", "ref": MAIN, "repository_id": "111"}, None),
    ("a push job of a re-registered owner name", {"event_name": "push", "ref": MAIN, "repository_owner_id": "222"}, None),
    ("a push to another branch", {"event_name": "push", "ref": "refs/heads/feature"}, None),
    ("a production job on another branch",
     {"event_name": "push", "ref": "refs/heads/feature", "environment": "production"}, None),
    ("a production-infra job on a pull request",
     {"event_name": "pull_request", "ref": "refs/pull/7/merge", "environment": "production-infra"}, None),
    ("a hand-run job on main without an environment", {"event_name": "workflow_dispatch", "ref": MAIN}, None),
    ("a job in another environment", {"event_name": "push", "ref": MAIN, "environment": "staging"}, None),
    ("a scheduled job on main", {"event_name": "schedule", "ref": MAIN}, None),
    ("a pull_request_target job", {"event_name": "pull_request_target", "ref": MAIN}, None),
]


def token(claims, immutable):
    """An OIDC token's claims (GitHub's OpenID Connect reference), with the
    sub of the old or of the immutable format."""
    t = {
        "iss": "https://token.actions.githubusercontent.com",
        "repository": INPUTS["github_repository"],
        "repository_id": INPUTS["github_repository_id"],
        "repository_owner": OWNER,
        "repository_owner_id": INPUTS["github_repository_owner_id"],
        "run_id": "16113226501",
        "run_attempt": "1",
        "ref_type": "branch",
    }
    t.update(claims)
    if "environment" in t:
        context = f"environment:{t['environment']}"
    elif t["event_name"] == "pull_request":
        context = "pull_request"
    else:
        context = f"ref:{t['ref']}"
    repo = (f"{OWNER}-{t['repository_owner_id']}/{NAME}-{t['repository_id']}" if immutable
            else f"{OWNER}/{NAME}")
    t["sub"] = f"repo:{repo}:{context}"
    return t


def evaluate(repo):
    """The provider's condition and mapping and each binding's (member,
    account), with INPUTS, evaluated by terraform console; or a problem."""
    module = os.path.join(repo, MODULE)
    files = sorted(os.path.join(module, f) for f in os.listdir(module) if f.endswith(".tf"))
    bodies = {p: v["body"] for p, v in parse_files(files).items() if "body" in v}
    local_vals, provider, binding = {}, None, None
    for body in bodies.values():
        for block in body.get("locals", []):
            local_vals.update(block)
        resources = body.get("resource", {})
        for blocks in resources.get("google_iam_workload_identity_pool_provider", {}).values():
            provider = blocks[0]
        for blocks in resources.get("google_service_account_iam_member", {}).values():
            if "workloadIdentityUser" in str(blocks[0].get("role")):
                binding = blocks[0]
    if provider is None or binding is None:
        return None, f"{MODULE}: no workload identity pool provider or no workloadIdentityUser binding"
    member = str(binding["member"]).replace("each.value", "v").replace("each.key", "k")
    account = str(binding["service_account_id"])
    m = re.search(r"\[(each\.value\.\w+)\]", account)
    if not m:
        return None, f"{MODULE}: cannot tell which account a binding is on ({account})"
    locals_ = {k: stub(v) for k, v in local_vals.items()}
    locals_["pool_stub"] = "POOL"
    for_each = str(binding["for_each"]).strip("${}")
    locals_["probe"] = {
        "condition": stub(provider["attribute_condition"]),
        "mapping": stub(provider["attribute_mapping"]),
        "members": "${ {for k, v in %s : k => {member = %s, account = %s}} }" % (
            for_each, json.dumps(stub(member)), m.group(1).replace("each.value", "v")),
    }
    variables = os.path.join(module, "variables.tf")
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(variables, os.path.join(d, "variables.tf"))
        with open(os.path.join(d, "main.tf.json"), "w") as f:
            json.dump({"locals": locals_}, f)
        env = dict(os.environ, TF_CLI_CONFIG_FILE=os.devnull, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1",
                   **{f"TF_VAR_{k}": v for k, v in INPUTS.items()})
        out = subprocess.run(["terraform", "console"], cwd=d, input="jsonencode(local.probe)\n",
                             capture_output=True, text=True, env=env)
    if out.returncode != 0 or "Error" in out.stderr:
        return None, f"{MODULE}: terraform console could not evaluate the provider: {out.stderr.strip()[-600:]}"
    return json.loads(json.loads(out.stdout.strip())), None


def stub(value):
    """A parsed HCL value with every resource attribute replaced by a local
    holding a stand-in name, so the locals evaluate without a provider."""
    if isinstance(value, str):
        return RESOURCE_REF.sub("local.pool_stub", value)
    if isinstance(value, dict):
        return {k: stub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stub(v) for v in value]
    return value


def run_cel(expr, activation):
    import celpy  # cel-python, pinned in scripts/tools-requirements.txt

    env = celpy.Environment()
    program = env.program(env.compile(expr))
    result = program.evaluate({k: celpy.json_to_cel(v) for k, v in activation.items()})
    if isinstance(result, Exception):
        raise result
    return result


def exchange(probe, claims):
    """What Google's STS would do with this token: the accounts it may then
    impersonate, or a reason it gets none."""
    mapped = {}
    try:
        for target, expr in probe["mapping"].items():
            mapped[target] = str(run_cel(expr, {"assertion": claims}))
    except Exception as e:  # noqa: BLE001 - a mapping that fails refuses the token
        return set(), f"attribute mapping failed ({e})"
    subject = mapped.get("google.subject", "")
    if not subject or len(subject.encode()) > SUBJECT_MAX_BYTES:
        return set(), f"google.subject of {len(subject.encode())} bytes (at most {SUBJECT_MAX_BYTES}, not empty)"
    attributes = {k.removeprefix("attribute."): v for k, v in mapped.items() if k.startswith("attribute.")}
    try:
        allowed = run_cel(probe["condition"], {"assertion": claims, "attribute": attributes,
                                               "google": {"subject": subject}})
    except Exception:  # noqa: BLE001 - a condition that errors refuses the token
        allowed = False
    if not allowed:
        return set(), "refused by the attribute condition"
    accounts = set()
    for b in probe["members"].values():
        kind, _, rest = b["member"].partition("://")
        path = rest.split("/")
        if kind == "principal" and "subject" in path and "/".join(path[path.index("subject") + 1:]) == subject:
            accounts.add(b["account"])
        elif kind == "principalSet":
            attr = [p for p in path if p.startswith("attribute.")]
            if attr and attributes.get(attr[0].removeprefix("attribute.")) == "/".join(path[path.index(attr[0]) + 1:]):
                accounts.add(b["account"])
            elif path[-1] == "*":
                accounts.add(b["account"])
    return accounts, "" if accounts else "accepted but bound to no account"


def check(repo):
    if not shutil.which("terraform"):
        print(f"  {MODULE}: no terraform binary: the provider's condition was NOT evaluated")
        return []
    probe, problem = evaluate(repo)
    if problem:
        return [problem]
    problems = []
    for what, claims, expected in CASES:
        for immutable in (False, True):
            fmt = "immutable-ID sub" if immutable else "name-only sub"
            accounts, why = exchange(probe, token(claims, immutable))
            want = {expected} if expected else set()
            if accounts != want:
                got = ", ".join(sorted(accounts)) or f"nothing ({why})"
                problems.append(f"{MODULE}: {what}, {fmt}: reaches {got}; should reach "
                                f"{expected or 'nothing'}")
    return problems


def main():
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".."))
    problems = check(repo)
    for p in problems:
        print(f"check_ci_identity: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"  {len(CASES)} kinds of job x 2 sub formats: each job reaches exactly its account, every other token none")


if __name__ == "__main__":
    main()

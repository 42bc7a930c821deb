#!/usr/bin/env bash
# make gha-check: the GitHub Actions workflows and the shell they run, offline.
#  1. actionlint: workflow syntax, expressions, job and step references, and
#     every `run:` script through shellcheck;
#  2. zizmor --offline, pedantic persona: the security audits (permissions,
#     injection, credential persistence, pinning, triggers, dependabot);
#  3. scripts/gha/check_workflows.py (with its self-test): what actionlint
#     lets through: every `uses:` is a form GitHub resolves, local reusable
#     workflows exist, have workflow_call and take the inputs and secrets
#     passed; a push to the immutable-tag repository skips a tag already
#     there; a hand-run deploy names its revision instead of main's HEAD;
#  4. kubectl credentials that outlive the job: a job that writes its
#     kubeconfig with google-github-actions/get-gke-credentials holds an
#     access token that expires an hour after it is minted
#     (get-gke-credentials#237; its use_auth_provider writes the `gcp`
#     auth-provider, gone from kubectl since 1.26), so such a job must end
#     within TOKEN_MINUTES; a job that runs `gcloud container clusters
#     get-credentials` (exec gke-gcloud-auth-plugin, renewed on demand) may
#     run longer. Checked on the workflows, and seen failing on a copy with
#     deploy.yml's credentials step as it was before issue 37;
#  5. shellcheck on every script the workflows and make targets call.
# 0 findings pass; an ignore needs a written reason next to it.
# Needs `make tools` (actionlint, zizmor) on PATH and shellcheck (apt).
set -euo pipefail
cd "$(dirname "$0")/.."

# actionlint skips the shell checks without a word when shellcheck is missing.
shellcheck=$(command -v shellcheck) || { echo "gha-check: shellcheck is not installed (apt install shellcheck)" >&2; exit 1; }

echo "gha-check: actionlint (with $shellcheck)"
actionlint -no-color -shellcheck "$shellcheck"
echo "gha-check: zizmor --offline --persona pedantic"
zizmor --offline --persona pedantic --quiet .github
echo "gha-check: uses:, reusable-workflow calls, re-run pushes, deploy revision"
python -m unittest discover -q -s scripts/gha -p 'test_*.py'
python scripts/gha/check_workflows.py
echo "gha-check: cluster credentials outlive the jobs that use them"
# check_credentials DIR: one line per job whose kubectl token can expire
# before the job's timeout; exit 1 if any.
check_credentials() {
  python - "$1" <<'PY'
import os, sys, yaml
TOKEN_MINUTES = 55  # the token lives 60 minutes from the step that mints it
wfdir = os.path.join(sys.argv[1], ".github", "workflows")
found = []
for name in sorted(os.listdir(wfdir)):
    if not name.endswith((".yml", ".yaml")):
        continue
    with open(os.path.join(wfdir, name)) as f:
        doc = yaml.safe_load(f)
    for job_id, job in (doc.get("jobs") or {}).items():
        steps = job.get("steps") or []
        fixed = [s for s in steps if str(s.get("uses", "")).startswith("google-github-actions/get-gke-credentials@")]
        timeout = job.get("timeout-minutes", 360)
        if fixed and not (isinstance(timeout, int) and timeout <= TOKEN_MINUTES):
            found.append(f".github/workflows/{name}: jobs.{job_id}: kubeconfig from get-gke-credentials holds a token "
                         f"that expires after an hour, and the job may run {timeout} minutes: use `gcloud container "
                         f"clusters get-credentials` (gke-gcloud-auth-plugin renews it) or timeout-minutes <= {TOKEN_MINUTES}")
for line in found:
    print(f"gha-check: {line}", file=sys.stderr)
sys.exit(1 if found else 0)
PY
}
check_credentials .
seeded=$(mktemp -d)
trap 'rm -rf "$seeded"' EXIT
mkdir -p "$seeded/.github"
cp -r .github/workflows "$seeded/.github/"
python - "$seeded/.github/workflows/deploy.yml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
step = re.search(r"      - name: Cluster credentials that kubectl renews\n(?:        .*\n)+", text)
assert step, "deploy.yml's credentials step moved: update this seed"
old = ("      - uses: google-github-actions/get-gke-credentials@3da1e46a907576cefaa90c484278bb5b259dd395 # v3.0.0\n"
       "        with:\n          cluster_name: ${{ env.GKE_CLUSTER }}\n          use_dns_based_endpoint: true\n")
open(path, "w").write(text[:step.start()] + old + text[step.end():])
PY
if check_credentials "$seeded" 2>"$seeded/out"; then
  echo "gha-check: the credentials check passed deploy.yml with get-gke-credentials' one-hour token" >&2; exit 1
fi
echo "  seeded get-gke-credentials in deploy.yml: refused ($(wc -l <"$seeded/out") finding)"

echo "gha-check: shellcheck scripts"
mapfile -t scripts < <(git ls-files -co --exclude-standard -- .ci/run 'scripts/*.sh' 'scripts/**/*.sh')
"$shellcheck" "${scripts[@]}"
echo "gha-check: passed (${#scripts[@]} scripts)"

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
#  4. shellcheck on every script the workflows and make targets call.
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
echo "gha-check: shellcheck scripts"
mapfile -t scripts < <(git ls-files -co --exclude-standard -- .ci/run 'scripts/*.sh' 'scripts/**/*.sh')
"$shellcheck" "${scripts[@]}"
echo "gha-check: passed (${#scripts[@]} scripts)"

#!/usr/bin/env bash
# make gha-check: the GitHub Actions workflows and the shell they run, offline.
#  1. actionlint: workflow syntax, expressions, job and step references, and
#     every `run:` script through shellcheck;
#  2. zizmor --offline, pedantic persona: the security audits (permissions,
#     injection, credential persistence, pinning, triggers, dependabot);
#  3. shellcheck on every script the workflows and make targets call.
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
echo "gha-check: shellcheck scripts"
mapfile -t scripts < <(git ls-files -co --exclude-standard -- .ci/run 'scripts/*.sh' 'scripts/**/*.sh')
"$shellcheck" "${scripts[@]}"
echo "gha-check: passed (${#scripts[@]} scripts)"

#!/usr/bin/env bash
# make tf-check: terraform/ checked offline, without a terraform binary.
#  1. scripts/tf/check_terraform.py: every .tf parses with HashiCorp's HCL
#     parser and is formatted as `terraform fmt` would (hclwrite); variables
#     have types and descriptions; module calls, references and tfvars
#     examples agree with what they point at; modules have their files and
#     README; every checkov skip has a reason;
#  2. scripts/tf/check_platform.py (with its self-test): what GKE, Binary
#     Authorization and Cloud Monitoring would refuse or get wrong on a first
#     apply, against the upstream facts in k8s/schemas/upstream.yaml:
#     secondary ranges per cluster, node_count per zone, the allow-list
#     against the SpinKube images, the shim's node label and handler, one
#     alert policy per alerting rule sent to one variable's address and
#     creatable before its metrics exist (disable_metric_validation), image
#     cleanup that cannot delete a deployed release (dry run, no untagged);
#  3. scripts/tf/check_ci_identity.py (with its self-test): the Workload
#     Identity provider's CEL condition and mapping, evaluated (terraform
#     console, cel-python) on GitHub OIDC tokens of both `sub` formats: each
#     CI job reaches exactly its service account, any other token none;
#  4. `terraform fmt -check` where a terraform binary is installed;
#     `terraform validate` is not run: it needs the google provider, which
#     cannot be downloaded here (said below, not skipped silently);
#  5. checkov --skip-download on the whole tree: 0 failed checks.
# Needs `make tools` (checkov) on PATH and scripts/tf/node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "tf-check: HCL parse, format, variables, modules, references"
python scripts/tf/check_terraform.py terraform

echo "tf-check: GKE ranges and node pools, Binary Authorization, the Spin shim, alerts"
python -m unittest discover -q -s scripts/tf -p "test_*.py"
python scripts/tf/check_platform.py

echo "tf-check: CI identities: which GitHub job gets which service account (both OIDC sub formats)"
python scripts/tf/check_ci_identity.py

if command -v terraform >/dev/null; then
  echo "tf-check: terraform fmt -check ($(TF_CLI_CONFIG_FILE=/dev/null terraform version | head -n 1))"
  TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff terraform
else
  echo "tf-check: no terraform binary: fmt -check not run (hclwrite above checks the same formatting)"
fi
echo "tf-check: terraform validate NOT run: it needs the hashicorp/google provider, which cannot be downloaded here"

echo "tf-check: checkov"
checkov --skip-download --quiet --compact --framework terraform -d terraform
echo "tf-check: passed"

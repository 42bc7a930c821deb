#!/usr/bin/env bash
# make tf-check: terraform/ checked offline, without a terraform binary.
#  1. scripts/tf/check_terraform.py: every .tf parses with HashiCorp's HCL
#     parser and is formatted as `terraform fmt` would (hclwrite); variables
#     have types and descriptions; module calls, references and tfvars
#     examples agree with what they point at; modules have their files and
#     README; every checkov skip has a reason;
#  2. checkov --skip-download on the whole tree: 0 failed checks.
# Needs `make tools` (checkov) on PATH and scripts/tf/node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "tf-check: HCL parse, format, variables, modules, references"
python scripts/tf/check_terraform.py terraform

echo "tf-check: checkov"
checkov --skip-download --quiet --compact --framework terraform -d terraform
echo "tf-check: passed"

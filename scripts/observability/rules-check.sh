#!/usr/bin/env bash
# make rules-check: the Prometheus configuration and rules offline. promtool
# checks the local config and the rules, and runs the rule unit tests (each
# alert fires on a series built for it and stays quiet on one that comes
# close); the Kubernetes copies of the rules must equal the source and fit
# their CRD schemas; every alert must have its runbook section.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v promtool >/dev/null || { echo "rules-check: promtool missing (apt install prometheus)" >&2; exit 1; }

promtool check config observability/prometheus/prometheus.yml
promtool test rules observability/prometheus/tests/*.test.yml
python scripts/observability/k8s_rules.py
python scripts/observability/check_runbook.py

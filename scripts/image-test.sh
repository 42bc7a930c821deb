#!/usr/bin/env bash
# make image-test: run $IMAGE with podman exactly as the local overlay's
# Deployments run it (args, env, user 65532, read-only root, no capabilities,
# no new privileges; runc, host network, explicit ulimits as this machine
# needs), the upstream emulator in a second container of the same image; then
# readiness, 200 documents checked byte for byte, /metrics, and SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${IMAGE:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo run -q --release -p doc-fixtures --example write_fixtures -- "$work/fixtures"
podman image inspect --format 'image {{.Id}}: {{.Size}} bytes, user {{.Config.User}}' "$IMAGE"
python scripts/k8s/run_rendered.py k8s/overlays/local --image "$IMAGE" --fixtures "$work/fixtures" --workdir "$work"

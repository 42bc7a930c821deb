#!/usr/bin/env bash
# make deploy-check: what deploy.yml runs, exercised here.
#  1. render.sh pins every container of the gke overlay to IMAGE@DIGEST and
#     records the revision; it refuses a malformed digest;
#  2. smoke-test.sh passes against the service on loopback (emulator + doc-proxy);
#  3. smoke-test.sh fails when the service cannot serve documents (an upstream
#     answering only 500s), so a broken release would be rolled back.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${HOST_BIN:?}" "${COMPONENT:?}" "${UPSTREAM_WASM:?}"
# shellcheck source=scripts/lib/hosts.sh
source scripts/lib/hosts.sh
upstream="" service="" broken_upstream="" broken=""  # set by start_host

image=europe-west1-docker.pkg.dev/doc-proxy-prod/doc-proxy/doc-proxy
digest="sha256:$(printf '%064d' 42)"
revision=0123456789abcdef0123456789abcdef01234567

echo "deploy-check: render.sh"
scripts/deploy/render.sh "$image" "$digest" "$revision" >"$workdir/release.yaml"
images=$(grep -E '^\s+image:' "$workdir/release.yaml" | sort -u | awk '{print $2}')
if [ "$images" != "$image@$digest" ]; then
  echo "deploy-check: rendered images are not all $image@$digest:" >&2; echo "$images" >&2; exit 1
fi
grep -q "doc-proxy.dev/revision: $revision" "$workdir/release.yaml" || { echo "deploy-check: no revision annotation" >&2; exit 1; }
if scripts/deploy/render.sh "$image" "sha256:abc" "$revision" >/dev/null 2>&1; then
  echo "deploy-check: render.sh accepted a malformed digest" >&2; exit 1
fi
echo "  every container runs $image@$digest; revision recorded; bad digest refused"

echo "deploy-check: smoke-test.sh against a healthy service"
start_host upstream "$workdir/upstream.log" --component "$UPSTREAM_WASM"
start_host service "$workdir/service.log" --component "$COMPONENT" --upstream-url "http://$upstream"
scripts/deploy/smoke-test.sh "http://$service"

echo "deploy-check: smoke-test.sh against a service whose upstream only fails"
ERROR_PERCENT=100 start_host broken_upstream "$workdir/broken-upstream.log" --component "$UPSTREAM_WASM" --env ERROR_PERCENT
MAX_ATTEMPTS=2 DEADLINE_MS=2000 start_host broken "$workdir/broken.log" --component "$COMPONENT" \
  --upstream-url "http://$broken_upstream" --env MAX_ATTEMPTS --env DEADLINE_MS
if SMOKE_TRIES=2 scripts/deploy/smoke-test.sh "http://$broken" >"$workdir/broken-smoke.log" 2>&1; then
  cat "$workdir/broken-smoke.log" >&2
  echo "deploy-check: the smoke test passed a service that serves no documents" >&2; exit 1
fi
sed 's/^/  /' "$workdir/broken-smoke.log"
echo "deploy-check: passed"

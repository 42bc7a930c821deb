#!/usr/bin/env bash
# Runs the upstream emulator and the service together for local development.
# Ctrl-C (SIGINT) reaches both hosts; each drains and exits. Extra arguments go
# to the service's host (e.g. --env MAX_ATTEMPTS).
set -euo pipefail
: "${HOST_BIN:?}" "${COMPONENT:?}" "${UPSTREAM_WASM:?}"
upstream_addr="${UPSTREAM_URL#http://}"

"$HOST_BIN" --component "$UPSTREAM_WASM" --listen-addr "$upstream_addr" --admin-addr 127.0.0.1:3001 --shutdown-delay 0s --watch-interval 1s \
  --env CORRUPT_PERCENT --env ERROR_PERCENT --env DELAY_MS --env LOG_REQUESTS="${LOG_REQUESTS:-1}" &
upstream_pid=$!
trap 'kill -TERM "$upstream_pid" 2>/dev/null || true; wait "$upstream_pid" 2>/dev/null || true' EXIT

echo "doc-proxy: try  curl -i http://${LISTEN_ADDR}/42   (metrics: http://${ADMIN_ADDR}/metrics)" >&2
"$HOST_BIN" --component "$COMPONENT" --upstream-url "$UPSTREAM_URL" --shutdown-delay 0s --watch-interval 1s \
  --listen-addr "$LISTEN_ADDR" --admin-addr "$ADMIN_ADDR" "$@"

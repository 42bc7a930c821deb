#!/usr/bin/env bash
# Smoke test of a running doc-proxy at BASE_URL (through the load balancer in
# deploy.yml; on loopback in make deploy-check):
#  - a document request answers 200 before DEADLINE seconds have passed (each
#    try is its own id, SMOKE_INTERVAL seconds apart; the service itself
#    retries corrupt upstream answers), with a Content-Type of application/pdf
#    or image/png that the body's first bytes agree with, and a Content-Length
#    equal to the body's size;
#  - an invalid id answers 400 with application/problem+json.
# Exit 0 when both hold, 1 otherwise, saying what was seen.
#
# The deadline is long on purpose: a new Gateway's load balancer takes
# minutes to program, and its managed certificate longer, during which the
# URL refuses connections, fails TLS or answers 404/502. Every such answer is
# one more try, not a verdict, until the deadline.
#
#   smoke-test.sh BASE_URL [DEADLINE]     (DEADLINE: seconds, default SMOKE_DEADLINE or 600)
set -euo pipefail
base="${1:?BASE_URL}"; base="${base%/}"
deadline_s="${2:-${SMOKE_DEADLINE:-600}}"
interval="${SMOKE_INTERVAL:-10}"
[[ "$deadline_s" =~ ^[0-9]+$ && "$interval" =~ ^[0-9]+$ ]] || { echo "smoke: DEADLINE and SMOKE_INTERVAL are whole seconds" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# No curl --retry: it would also repeat 5xx answers and hide them; the loop
# below decides what another try means.
curl_opts=(--silent --show-error --max-time 40 --connect-timeout 10)

document_ok() {
  local id="$1" status type length size magic
  read -r status type length < <(curl "${curl_opts[@]}" -o "$out/body" \
    -w '%{http_code} %{content_type} %header{content-length}\n' "$base/$id") || return 1
  size=$(wc -c <"$out/body")
  magic=$(head -c 5 "$out/body" | od -An -tx1 | tr -d ' \n')
  echo "smoke: GET /$id → $status ${type:-?} length ${length:-?} body $size bytes"
  [[ "$status" == 200 && "$length" == "$size" ]] || return 1
  case "$type" in
    application/pdf) [[ "$magic" == 255044462d ]] ;;  # %PDF-
    image/png) [[ "$magic" == 89504e470d ]] ;;        # \x89PNG\r
    *) return 1 ;;
  esac
}

served=false
start=$SECONDS
id=100 tries=0
while :; do
  id=$((id + 1)) tries=$((tries + 1))
  if document_ok "$id"; then served=true; break; fi
  (( SECONDS - start + interval <= deadline_s )) || break
  sleep "$interval"
done
if ! $served; then
  echo "smoke: FAIL: no valid, correctly labelled document in ${deadline_s}s ($tries tries)" >&2
  exit 1
fi

read -r status type < <(curl "${curl_opts[@]}" -o "$out/problem" -w '%{http_code} %{content_type}\n' "$base/not-an-id") || true
echo "smoke: GET /not-an-id → ${status:-none} ${type:-?}"
if [[ "$status" != 400 || "$type" != application/problem+json* ]]; then
  echo "smoke: FAIL: an invalid id must answer 400 application/problem+json" >&2
  exit 1
fi
echo "smoke: passed"

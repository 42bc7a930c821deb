#!/usr/bin/env bash
# Smoke test of a running doc-proxy at BASE_URL (through the load balancer in
# deploy.yml; on loopback in make deploy-check):
#  - a document request answers 200 within a few tries (each try is its own
#    id; the service itself retries corrupt upstream answers), with a
#    Content-Type of application/pdf or image/png that the body's first bytes
#    agree with, and a Content-Length equal to the body's size;
#  - an invalid id answers 400 with application/problem+json.
# Exit 0 when both hold, 1 otherwise, saying what was seen.
#
#   smoke-test.sh BASE_URL [TRIES]
set -euo pipefail
base="${1:?BASE_URL}"; base="${base%/}"
tries="${2:-${SMOKE_TRIES:-5}}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# No curl --retry: it would also repeat 5xx answers and hide them; the loop
# below decides what another try means.
curl_opts=(--silent --show-error --max-time 40)

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
for id in $(seq 101 $((100 + tries))); do
  if document_ok "$id"; then served=true; break; fi
  sleep 1
done
if ! $served; then
  echo "smoke: FAIL: no valid, correctly labelled document in $tries tries" >&2
  exit 1
fi

read -r status type < <(curl "${curl_opts[@]}" -o "$out/problem" -w '%{http_code} %{content_type}\n' "$base/not-an-id") || true
echo "smoke: GET /not-an-id → ${status:-none} ${type:-?}"
if [[ "$status" != 400 || "$type" != application/problem+json* ]]; then
  echo "smoke: FAIL: an invalid id must answer 400 application/problem+json" >&2
  exit 1
fi
echo "smoke: passed"

#!/usr/bin/env bash
# Takes a PNG of the local Prometheus' graph page (make observe) with headless
# Chromium: requests per second by status and upstream attempts by outcome over the
# last SHOT_RANGE (default 5m), so a reader can see what the stack shows without running it.
# usage: screenshot.sh OUT.png   (OBSERVE_ADDR: where make observe listens)
set -euo pipefail
out="${1:?usage: screenshot.sh OUT.png}"
addr="${OBSERVE_ADDR:-127.0.0.1:9099}"
chromium_bin="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$chromium_bin" ] || { echo "screenshot: chromium missing (apt install chromium)" >&2; exit 1; }
curl -fsS "http://$addr/-/ready" >/dev/null || { echo "screenshot: no Prometheus on $addr (make observe)" >&2; exit 1; }

# PromQL for the two graphs, URL-encoded by Python (no shell escaping games).
url="$(python3 - "$addr" "${SHOT_RANGE:-5m}" <<'PY'
import sys
from urllib.parse import urlencode
graphs = [
    'sum by (status) (rate(http_requests_total{job="doc-proxy",route="/..."}[1m]))',
    'sum by (desc) (rate(server_timing_entries_total{job="doc-proxy",entry="upstream"}[1m]))',
]
params = {}
for i, expr in enumerate(graphs):
    params.update({f"g{i}.expr": expr, f"g{i}.tab": "0", f"g{i}.stacked": "1", f"g{i}.range_input": sys.argv[2]})
print(f"http://{sys.argv[1]}/graph?{urlencode(params)}")
PY
)"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$chromium_bin" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1400,1640 --virtual-time-budget=15000 --screenshot="$out" "$url" 2>/dev/null
echo "screenshot: $out ($url)"

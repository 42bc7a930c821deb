#!/usr/bin/env bash
# Side-by-side load test on this machine: (a) the upstream emulator directly,
# then (b) doc-proxy in front of it, with the same load generator, concurrency
# and duration, repeated BENCH_ROUNDS times interleaved. Prints req/s, p50, p99
# and the ratio b/a. Everything runs on 127.0.0.1 and stops when this script ends.
#
# Knobs: BENCH_DURATION (default 10s), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_ROUNDS (1).
set -euo pipefail
: "${HOST_BIN:?}" "${COMPONENT:?}" "${UPSTREAM_WASM:?}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-2}"
rounds="${BENCH_ROUNDS:-1}"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "bench: installing wrk from apt" >&2
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
  else
    echo "bench: wrk is required (apt-get install wrk)" >&2
    exit 1
  fi
fi

workdir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT

# Starts a host on ephemeral ports and stores its public address in the variable
# named by $1 (no subshell, so the PID is recorded and no pipe is held open).
start_host() {
  local var="$1" log="$2"; shift 2
  "$HOST_BIN" --listen-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --log-level warn,doc_proxy_host=info "$@" \
    >/dev/null 2>"$log" &
  pids+=("$!")
  for _ in $(seq 1 600); do
    if grep -q '"listening"' "$log"; then
      printf -v "$var" '%s' "$(grep '"listening"' "$log" | sed -E 's/.*"public":"([^"]+)".*/\1/')"
      return
    fi
    sleep 0.1
  done
  echo "bench: host did not start:" >&2; cat "$log" >&2; exit 1
}

upstream="" service=""
start_host upstream "$workdir/upstream.log" --component "$UPSTREAM_WASM"
start_host service "$workdir/service.log" --component "$COMPONENT" --upstream-url "http://$upstream"

# wrk prints latencies as 850.00us, 1.23ms or 1.01s: convert to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}

load() {
  local name="$1" url="$2" out="$workdir/wrk.txt"
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url" >"$out"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  printf "%-26s %10s req/s   p50 %8s ms   p99 %8s ms   non-2xx %s\n" "$name" "$rps" "$p50" "$p99" "${errors:-0}" >&2
  echo "$rps"
}

echo "bench: wrk -t$threads -c$connections -d$duration, $rounds round(s), $(nproc) cores shared by everything" >&2
for round in $(seq 1 "$rounds"); do
  echo "round $round" >&2
  a=$(load "(a) upstream direct" "http://$upstream/1")
  b=$(load "(b) doc-proxy service" "http://$service/1")
  awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio b/a (throughput)     %.3f\n", b / a }' >&2
done

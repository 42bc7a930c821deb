#!/usr/bin/env bash
# Side-by-side load test on this machine: (a) the upstream emulator directly,
# then (b) doc-proxy in front of it, with the same load generator, concurrency
# and duration, repeated BENCH_ROUNDS times interleaved. Prints req/s, p50, p99
# and the ratio b/a, the service host's CPU time per request (from /proc), and
# the share of it spent validating documents (from the component's
# `validate_us` log field). When STATIC_HOST_BIN and STATIC_COMPONENT are set
# (`make bench` sets them), (c) is the container image's static musl binary with
# its precompiled component, loaded the same way right after (b): the ratio c/b
# says what the image's build costs against the regular release build.
# (d) is (b) with the verdict cache off (`--verdict-cache-entries 0`), so every
# document is validated: the validation share with and without the cache.
# Everything runs on 127.0.0.1 and stops when this script ends.
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

# shellcheck source=scripts/lib/hosts.sh
source "$(dirname "$0")/lib/hosts.sh"
load_rps="" load_cpu_us=""

upstream="" service=""
start_host upstream "$workdir/upstream.log" --component "$UPSTREAM_WASM"
start_host service "$workdir/service.log" --component "$COMPONENT" --upstream-url "http://$upstream"
nocache=""
start_host nocache "$workdir/nocache.log" --component "$COMPONENT" --upstream-url "http://$upstream" \
  --verdict-cache-entries 0
static=""
if [ -n "${STATIC_HOST_BIN:-}" ]; then
  HOST_BIN="$STATIC_HOST_BIN" start_host static "$workdir/static.log" \
    --component "${STATIC_COMPONENT:?}" --upstream-url "http://$upstream"
fi

# wrk prints latencies as 850.00us, 1.23ms or 1.01s: convert to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}

# User + system CPU time of a process, in clock ticks.
cpu_ticks() {
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# Loads url; $3 is the PID whose CPU time per request is reported. Sets
# load_rps and load_cpu_us (no subshell, so the caller sees them).
load() {
  local name="$1" url="$2" pid="$3" out="$workdir/wrk.txt"
  local before after
  before=$(cpu_ticks "$pid")
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url" >"$out"
  after=$(cpu_ticks "$pid")
  local rps p50 p99 errors requests
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  requests=$(awk '/requests in/ {print $1}' "$out")
  load_cpu_us=$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  printf "%-24s %9s req/s   p50 %7s ms   p99 %7s ms   server CPU %5s us/req   non-2xx %s\n" \
    "$name" "$rps" "$p50" "$p99" "$load_cpu_us" "${errors:-0}" >&2
  load_rps=$rps
}

echo "bench: native validation cost per document (cargo run --release -p doc-core --example validate_cost)" >&2
cargo run -q --release -p doc-core --example validate_cost >&2
echo "bench: wrk -t$threads -c$connections -d$duration, $rounds round(s), $(nproc) cores shared by everything" >&2
# Mean validation time of the 200s logged in $1 after line $2, against the
# CPU per request $3 measured over the same load.
validation_share() {
  tail -n +"$(($2 + 1))" "$1" | grep '"message":"request"' | grep -o '"validate_us":[0-9.]*' |
    awk -F: -v cpu="$3" -v name="$4" '{ s += $2; n++ } END {
      if (n) printf "validation %-13s %.1f us/req mean over %d responses = %.1f%% of service CPU per request\n", name, s / n, n, 100 * s / n / cpu }' >&2
}

upstream_pid=${pids[0]}
service_pid=${pids[1]}
nocache_pid=${pids[2]}
for round in $(seq 1 "$rounds"); do
  echo "round $round" >&2
  load "(a) upstream direct" "http://$upstream/1" "$upstream_pid"
  a=$load_rps
  lines_before=$(wc -l <"$workdir/service.log")
  load "(b) doc-proxy service" "http://$service/1" "$service_pid"
  b=$load_rps
  service_cpu_us=$load_cpu_us
  awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio b/a (throughput)   %.3f\n", b / a }' >&2
  validation_share "$workdir/service.log" "$lines_before" "$service_cpu_us" "(b)"
  if [ -n "$static" ]; then
    load "(c) image's static host" "http://$static/1" "${pids[3]}"
    awk -v b="$b" -v c="$load_rps" -v bc="$service_cpu_us" -v cc="$load_cpu_us" \
      'BEGIN { printf "ratio c/b (throughput)   %.3f   (CPU per request %.3f)\n", c / b, cc / bc }' >&2
  fi
  lines_before=$(wc -l <"$workdir/nocache.log")
  load "(d) (b), cache off" "http://$nocache/1" "$nocache_pid"
  awk -v b="$b" -v d="$load_rps" -v bc="$service_cpu_us" -v dc="$load_cpu_us" \
    'BEGIN { printf "ratio d/b (throughput)   %.3f   (CPU per request %.3f)\n", d / b, dc / bc }' >&2
  validation_share "$workdir/nocache.log" "$lines_before" "$load_cpu_us" "(d)"
done

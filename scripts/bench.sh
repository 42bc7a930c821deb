#!/usr/bin/env bash
# Side-by-side load test on this machine: (a) the upstream directly,
# then (b) doc-proxy in front of it, with the same load generator, concurrency
# and duration, repeated BENCH_ROUNDS times interleaved. Prints req/s, p50, p99
# and the ratio b/a, the service host's CPU time per request (from /proc), and
# the share of it spent validating documents (from the component's
# `validate_us` log field). When STATIC_HOST_BIN and STATIC_COMPONENT are set
# (`make bench` sets them), (c) is the container image's static musl binary with
# its precompiled component, loaded the same way right after (b): the ratio c/b
# says what the image's build costs against the regular release build.
# (d) is (b) with the verdict cache off (`--verdict-cache-entries 0`), so every
# document is validated in the guest: the miss path, what a store of distinct
# documents costs (the real upstream repeats three files, so (b) mostly hits
# the cache). Both (b), the shipped path, and (d) are quoted against (n) each
# round and in the summary.
# BENCH_FILES_DIR (`make bench` sets it to ../shared/upstream when present):
# native-upstream serves the real upstream's three files instead of the
# project's fixtures (the real PNG inflates to 8.7 MB; the miss path's cost
# depends on it).
# With NATIVE_UPSTREAM_BIN set (`make bench` sets it), the upstream for every
# path is bench/native-proxy's native-upstream: the emulator's answers from a
# plain hyper server, so that the proxies, not the emulator component, are
# measured (BENCH_UPSTREAM=emulator uses the emulator on our host instead).
# When NATIVE_PROXY_BIN is set (`make bench` sets it), (n) is bench/native-proxy:
# the same job as a plain native Rust proxy (same doc-core validation and attempt
# policy), the yardstick for the component path: ratios b/n.
# With FLOOR_COMPONENT set (`make bench` sets it to components/spin-probe),
# the floor under (b) on the same host and engine, loaded right after (b):
# (e) an empty WASI HTTP answer (`?probe=empty`: what any Wasm request
# costs) and (r) a naive relay of the same upstream document through the
# guest (spin-probe's default: what moving the bytes through a guest adds);
# (b) less (r) is what doc-proxy itself adds (validation, its attempt policy,
# its headers). Printed as shares of (b)'s CPU per request and against (n).
# Then (E) and (R), the same two on a host that reuses instances
# (`--instance-reuse BENCH_FLOOR_REUSE`, default 1000; app/reuse.rs), against
# (e) and (r): what a fresh instance per request costs.
# BENCH_VARIANT_ARGS="--flag value ...", BENCH_VARIANT_ENV="NAME=value ..." and
# BENCH_VARIANT_COMPONENT=path.wasm add (v): (b) with those extra host flags,
# that environment or that build of the component, loaded right after (b), so
# a lever is measured side by side (ratio v/b).
# Every load's figures are also written, tab-separated, to BENCH_RESULTS
# (default target/bench/results.tsv) for `make bench-chart`.
# With LOADGEN_BIN set (`make bench` sets it), after the rounds: the upstream
# and the service under an open-loop load at half the native proxy's median
# req/s and at half the service's own median req/s on each path, (b) and (d)
# (BENCH_OPEN_RATE sets one rate for all) for BENCH_OPEN_DURATION (10s), and
# the p99 each adds over the upstream at the same rate; then each path's peak RSS
# (VmHWM) over the wrk rounds and again after the open loop; then start to first 200
# of the image's static host with its .cwasm and of the release host with the
# .wasm (compile cache warm), the median of 5 starts each. BENCH_IMAGE_DIR
# (`make bench` sets it to target/dist): what the image holds, for its size.
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
results="${BENCH_RESULTS:-target/bench/results.tsv}"
mkdir -p "$(dirname "$results")"
printf 'round\tpath\trps\tp50_ms\tp99_ms\tcpu_us_per_request\n' >"$results"
round=0

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
if [ -n "${NATIVE_UPSTREAM_BIN:-}" ] && [ "${BENCH_UPSTREAM:-native}" = native ]; then
  if [ -n "${BENCH_FILES_DIR:-}" ]; then
    start_native upstream "$workdir/upstream.log" "$NATIVE_UPSTREAM_BIN" UPSTREAM_FILES_DIR="$BENCH_FILES_DIR"
    echo "bench: the upstream serves the files in $BENCH_FILES_DIR (50% PNG, 40% PDF, 10% corrupt PDF)" >&2
  else
    start_native upstream "$workdir/upstream.log" "$NATIVE_UPSTREAM_BIN"
    echo "bench: the upstream serves doc-fixtures' files (50% PNG, 40% PDF, 10% corrupt PDF)" >&2
  fi
  upstream_name="(a) native upstream"
else
  start_host upstream "$workdir/upstream.log" --component "$UPSTREAM_WASM" --instance-reuse 1
  upstream_name="(a) upstream emulator"
fi
# doc-proxy as shipped reuses instances: spin.toml's instance_reuse, given to
# (b), (d), (c) and (v) through the environment, so a variant's
# --instance-reuse (1: a fresh instance per request) overrides it.
INSTANCE_REUSE=$(awk -F= '/^instance_reuse *=/ { gsub(/ /, "", $2); print $2 }' spin.toml)
export INSTANCE_REUSE="${INSTANCE_REUSE:-1}"
start_host service "$workdir/service.log" --component "$COMPONENT" --upstream-url "http://$upstream"
nocache=""
start_host nocache "$workdir/nocache.log" --component "$COMPONENT" --upstream-url "http://$upstream" \
  --verdict-cache-entries 0
static="" static_pid=""
if [ -n "${STATIC_HOST_BIN:-}" ]; then
  HOST_BIN="$STATIC_HOST_BIN" start_host static "$workdir/static.log" \
    --component "${STATIC_COMPONENT:?}" --upstream-url "http://$upstream"
  static_pid=${pids[-1]}
fi

variant="" variant_pid="" variant_name=""
if [ -n "${BENCH_VARIANT_ARGS:-}${BENCH_VARIANT_ENV:-}${BENCH_VARIANT_COMPONENT:-}" ]; then
  variant_name="(v) (b) ${BENCH_VARIANT_ENV:-}${BENCH_VARIANT_COMPONENT:+ $(basename "$BENCH_VARIANT_COMPONENT")} ${BENCH_VARIANT_ARGS:-}"
  # The variant's environment is set for its start only.
  for kv in ${BENCH_VARIANT_ENV:-}; do export "${kv?}"; done
  # shellcheck disable=SC2086 # the flags are meant to split
  start_host variant "$workdir/variant.log" --component "${BENCH_VARIANT_COMPONENT:-$COMPONENT}" \
    --upstream-url "http://$upstream" ${BENCH_VARIANT_ARGS:-}
  for kv in ${BENCH_VARIANT_ENV:-}; do unset "${kv%%=*}"; done
  variant_pid=${pids[-1]}
fi
floor="" floor_pid="" floor_reused="" floor_reused_pid=""
if [ -n "${FLOOR_COMPONENT:-}" ]; then
  # 16 MiB instances (spin-probe needs a few): 128 of them, more than wrk's
  # connections, so the floor is not 503s answered at the concurrency limit.
  start_host floor "$workdir/floor.log" --component "$FLOOR_COMPONENT" --upstream-url "http://$upstream" \
    --max-instance-memory-bytes 16MiB --instance-reuse 1
  floor_pid=${pids[-1]}
  start_host floor_reused "$workdir/floor_reused.log" --component "$FLOOR_COMPONENT" --upstream-url "http://$upstream" \
    --max-instance-memory-bytes 16MiB --instance-reuse "${BENCH_FLOOR_REUSE:-1000}"
  floor_reused_pid=${pids[-1]}
fi
native="" native_pid=""
if [ -n "${NATIVE_PROXY_BIN:-}" ]; then
  start_native native "$workdir/native.log" "$NATIVE_PROXY_BIN" UPSTREAM_URL="http://$upstream"
  native_pid=${pids[-1]}
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
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$load_cpu_us" >>"$results"
  load_rps=$rps
}

if [ -n "${VALIDATE_COST_BIN:-}" ]; then
  # Validation alone, natively and inside the guest on the host's engine,
  # without HTTP around it: the guest/native ratio per document.
  echo "bench: validation per document, native and in the guest (make validate-cost)" >&2
  DOC_PROXY_SHARED_UPSTREAM="${BENCH_FILES_DIR:-/nonexistent}" \
    "$VALIDATE_COST_BIN" --beside-guest "${VALIDATE_COST_WASM:?}" --rounds 3 300 >&2
fi
echo "bench: wrk -t$threads -c$connections -d$duration, $rounds round(s), $(nproc) cores shared by everything" >&2
# Mean validation time of the 200s logged in $1 after line $2, against the
# CPU per request $3 measured over the same load.
# Then, per document kind, the median time one validation took in the guest
# (first-attempt responses validated, not answered from the verdict cache):
# a median is not moved by the preemptions a shared machine adds to a few
# requests, so it compares builds of the component better than req/s does.
validation_share() {
  tail -n +"$(($2 + 1))" "$1" | grep '"message":"request"' | grep -o '"validate_us":[0-9.]*' |
    awk -F: -v cpu="$3" -v name="$4" '{ s += $2; n++ } END {
      if (n) printf "validation %-13s %.1f us/req mean over %d responses = %.1f%% of service CPU per request\n", name, s / n, n, 100 * s / n / cpu }' >&2
  tail -n +"$(($2 + 1))" "$1" | grep '"message":"request"' | python3 -c '
import json, statistics, sys
by_kind = {}
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    f = e.get("fields", e)
    if f.get("attempts") == 1 and f.get("kind") and f.get("validate_us") and not f.get("verdict_cached"):
        by_kind.setdefault(f["kind"], []).append(float(f["validate_us"]))
if by_kind:
    print("validation %-13s in the guest, median per document: %s" % (sys.argv[1], ", ".join(
        "%s %.0f us (%d)" % (k, statistics.median(v), len(v)) for k, v in sorted(by_kind.items()))))' "$4" >&2
}

upstream_pid=${pids[0]}
service_pid=${pids[1]}
nocache_pid=${pids[2]}
for round in $(seq 1 "$rounds"); do
  echo "round $round" >&2
  load "$upstream_name" "http://$upstream/1" "$upstream_pid"
  a=$load_rps
  if [ -n "$native" ]; then
    load "(n) native proxy" "http://$native/1" "$native_pid"
    n=$load_rps
    native_cpu_us=$load_cpu_us
  fi
  lines_before=$(wc -l <"$workdir/service.log")
  load "(b) doc-proxy service" "http://$service/1" "$service_pid"
  b=$load_rps
  service_cpu_us=$load_cpu_us
  awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio b/a (throughput)   %.3f\n", b / a }' >&2
  if [ -n "$native" ]; then
    awk -v n="$n" -v b="$b" -v nc="$native_cpu_us" -v bc="$service_cpu_us" \
      'BEGIN { printf "ratio b/n (throughput)   %.3f   (CPU per request %.2fx the native proxy)\n", b / n, bc / nc }' >&2
  fi
  validation_share "$workdir/service.log" "$lines_before" "$service_cpu_us" "(b)"
  if [ -n "$floor" ]; then
    load "(e) empty component" "http://$floor/?probe=empty" "$floor_pid"
    e=$load_rps empty_cpu_us=$load_cpu_us
    load "(r) relay component" "http://$floor/1" "$floor_pid"
    awk -v e="$e" -v r="$load_rps" -v b="$b" -v ec="$empty_cpu_us" -v rc="$load_cpu_us" -v bc="$service_cpu_us" \
      -v n="${n:-0}" -v nc="${native_cpu_us:-0}" 'BEGIN {
        printf "floor: of (b)%ss %d us CPU per request, any Wasm request (e) %d us (%.0f%%), the bytes through the guest (r-e) %d us (%.0f%%), doc-proxy%ss own (b-r) %d us (%.0f%%)\n",
          "\047", bc, ec, 100 * ec / bc, rc - ec, 100 * (rc - ec) / bc, "\047", bc - rc, 100 * (bc - rc) / bc
        printf "ratio e/b, r/b (throughput)   %.3f, %.3f\n", e / b, r / b
        if (n > 0) printf "ratio e/n, r/n (throughput)   %.3f, %.3f   (CPU per request %.2fx, %.2fx the native proxy)\n", e / n, r / n, ec / nc, rc / nc
      }' >&2
    r=$load_rps relay_cpu_us=$load_cpu_us
    load "(E) (e), instances reused" "http://$floor_reused/?probe=empty" "$floor_reused_pid"
    E=$load_rps reused_empty_cpu_us=$load_cpu_us
    load "(R) (r), instances reused" "http://$floor_reused/1" "$floor_reused_pid"
    awk -v e="$e" -v r="$r" -v E="$E" -v R="$load_rps" -v ec="$empty_cpu_us" -v rc="$relay_cpu_us" \
      -v Ec="$reused_empty_cpu_us" -v Rc="$load_cpu_us" -v n="${n:-0}" -v nc="${native_cpu_us:-0}" 'BEGIN {
        printf "ratio E/e, R/r (throughput)   %.3f, %.3f   (CPU per request %.3f, %.3f)\n", E / e, R / r, Ec / ec, Rc / rc
        if (n > 0) printf "ratio E/n, R/n (throughput)   %.3f, %.3f   (CPU per request %.2fx, %.2fx the native proxy)\n", E / n, R / n, Ec / nc, Rc / nc
      }' >&2
  fi
  if [ -n "$variant" ]; then
    variant_lines=$(wc -l <"$workdir/variant.log")
    load "$variant_name" "http://$variant/1" "$variant_pid"
    validation_share "$workdir/variant.log" "$variant_lines" "$load_cpu_us" "(v)"
    awk -v b="$b" -v v="$load_rps" -v bc="$service_cpu_us" -v vc="$load_cpu_us" \
      'BEGIN { printf "ratio v/b (throughput)   %.3f   (CPU per request %.3f)\n", v / b, vc / bc }' >&2
    variant_rps=$load_rps variant_cpu_us=$load_cpu_us
  fi
  if [ -n "$static" ]; then
    load "(c) image's static host" "http://$static/1" "$static_pid"
    awk -v b="$b" -v c="$load_rps" -v bc="$service_cpu_us" -v cc="$load_cpu_us" \
      'BEGIN { printf "ratio c/b (throughput)   %.3f   (CPU per request %.3f)\n", c / b, cc / bc }' >&2
  fi
  lines_before=$(wc -l <"$workdir/nocache.log")
  load "(d) (b), cache off" "http://$nocache/1" "$nocache_pid"
  awk -v b="$b" -v d="$load_rps" -v bc="$service_cpu_us" -v dc="$load_cpu_us" \
    'BEGIN { printf "ratio d/b (throughput)   %.3f   (CPU per request %.3f)\n", d / b, dc / bc }' >&2
  if [ -n "$native" ]; then
    awk -v n="$n" -v d="$load_rps" -v nc="$native_cpu_us" -v dc="$load_cpu_us" \
      'BEGIN { printf "ratio d/n (throughput)   %.3f   (CPU per request %.2fx the native proxy)\n", d / n, dc / nc }' >&2
  fi
  if [ -n "$variant" ]; then
    # A lever for the miss path is a variant with --verdict-cache-entries 0: v/d.
    awk -v d="$load_rps" -v v="$variant_rps" -v dc="$load_cpu_us" -v vc="$variant_cpu_us" \
      'BEGIN { printf "ratio v/d (throughput)   %.3f   (CPU per request %.3f)\n", v / d, vc / dc }' >&2
  fi
  validation_share "$workdir/nocache.log" "$lines_before" "$load_cpu_us" "(d)"
done

# Peak resident memory (VmHWM) of each process so far.
report_peaks() {
  echo "peak RSS, $1:" >&2
  local name pid
  while IFS='|' read -r name pid; do
    if [ -n "$pid" ]; then
      awk -v name="$name" '/^VmHWM:/ { printf "  %-32s %6.1f MiB\n", name, $2 / 1024 }' "/proc/$pid/status" >&2
    fi
  done <<EOF
$upstream_name|$upstream_pid
(n) native proxy|$native_pid
(b) doc-proxy service|$service_pid
(e) (r) floor components' host|$floor_pid
(E) (R) the same, instances reused|${floor_reused_pid:-}
$variant_name|$variant_pid
(c) image's static host|$static_pid
(d) (b), cache off|$nocache_pid
EOF
}
report_peaks "over the wrk rounds (wrk -c$connections)"

# Open-loop load: the p99 each path adds over the upstream at a fixed rate
# (wrk's closed loop cannot hold a rate: it waits for answers). The issue's
# target is at half the service's own capacity, per path; half the native
# proxy's rate is kept for comparison with earlier runs.
open_tsv="$workdir/open.tsv"
: >"$open_tsv"
median_rps() {
  awk -F'\t' -v p="$1" '$2 == p { print $3 }' "$results" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f", m / 2 } }'
}
if [ -n "${LOADGEN_BIN:-}" ]; then
  open_duration=${BENCH_OPEN_DURATION:-10s}
  open_p99() {
    local name="$1" url="$2" rate="$3" json
    json=$("$LOADGEN_BIN" run --json --rate "$rate" --duration "$open_duration" --timeout 5s "$url")
    python3 -c 'import json, sys
s = json.loads(sys.argv[2])
print("  %-24s answered %7.0f req/s  p50 %6.2f ms  p99 %7.2f ms  outcomes %s  not sent %d  generator lag p99 %.2f ms" % (
    sys.argv[1], s["achieved_rate"], s["p50_ms"], s["p99_ms"], s["outcomes"], s["not_sent"], s["lag_p99_ms"]), file=sys.stderr)
print(s["p99_ms"])' "$name" "$json"
  }
  # $1 label, $2 rate, then (name, url) of the service paths to load at it.
  open_round() {
    local label="$1" rate="$2"; shift 2
    [ -n "$rate" ] || return 0
    echo "open loop, $label: $rate req/s for $open_duration (loadgen run)" >&2
    local up p99 name url
    up=$(open_p99 "$upstream_name" "http://$upstream/{n}" "$rate")
    while [ $# -gt 0 ]; do
      name="$1" url="$2"; shift 2
      p99=$(open_p99 "$name" "$url" "$rate")
      awk -v a="$up" -v b="$p99" -v n="$name" 'BEGIN { printf "  p99 added by %s over the upstream: %.2f ms\n", n, b - a }' >&2
      printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$rate" "$name" "$up" "$p99" >>"$open_tsv"
    done
  }
  if [ -n "${BENCH_OPEN_RATE:-}" ]; then
    open_round "fixed rate" "$BENCH_OPEN_RATE" "(b) doc-proxy service" "http://$service/{n}" \
      "(d) (b), cache off" "http://$nocache/{n}"
  else
    open_round "half (b)'s capacity" "$(median_rps "(b) doc-proxy service")" "(b) doc-proxy service" "http://$service/{n}"
    open_round "half (d)'s capacity" "$(median_rps "(d) (b), cache off")" "(d) (b), cache off" "http://$nocache/{n}"
    if [ -n "$native" ]; then
      open_round "half the native proxy's capacity" "$(median_rps "(n) native proxy")" \
        "(b) doc-proxy service" "http://$service/{n}"
    fi
  fi
  if [ -n "$variant" ]; then
    open_round "the variant at half (b)'s capacity" "${BENCH_OPEN_RATE:-$(median_rps "(b) doc-proxy service")}" \
      "$variant_name" "http://$variant/{n}"
  fi
fi

report_peaks "over the open loop too"

# Start to first 200, the upstream already up.
first_200_tsv="$workdir/first_200.tsv"
: >"$first_200_tsv"
if [ -n "${LOADGEN_BIN:-}" ]; then
  first_200() {
    local name="$1"; shift
    printf '%-40s ' "$name" >&2
    "$LOADGEN_BIN" first-200 --url 'http://127.0.0.1:{port}/1' -- "$@" \
      --listen-addr '127.0.0.1:{port}' --admin-addr 127.0.0.1:0 --upstream-url "http://$upstream" |
      sed "s|^|$name\t|" | tee -a "$first_200_tsv" | cut -f2- >&2
  }
  if [ -n "${STATIC_HOST_BIN:-}" ]; then
    first_200 "(c) image's static host + .cwasm" "$STATIC_HOST_BIN" --component "$STATIC_COMPONENT"
  fi
  first_200 "(b) release host + .wasm (cache warm)" "$HOST_BIN" --component "$COMPONENT"
fi

# The summary: each path's median over the rounds, the per-round ratios of
# both service paths to the native proxy, and the issue's targets
# (docs/performance.md).
python3 - "$results" "$open_tsv" "$first_200_tsv" "${BENCH_IMAGE_DIR:-}" <<'PY' >&2
import csv, os, re, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
paths, rounds = {}, {}
for row in rows:
    paths.setdefault(row["path"], []).append(row)
    rounds.setdefault(row["round"], {})[row["path"]] = row
median = {p: {k: statistics.median(float(r[k]) for r in rs) for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request")}
          for p, rs in paths.items()}
print(f"summary: median of {len(next(iter(paths.values())))} round(s)")
for p, m in median.items():
    print(f"  {p:<32} {m['rps']:>9.0f} req/s  p50 {m['p50_ms']:>7.2f} ms  p99 {m['p99_ms']:>7.2f} ms  CPU {m['cpu_us_per_request']:>5.0f} us/req")
N, B, D = "(n) native proxy", "(b) doc-proxy service", "(d) (b), cache off"
def per_round(a, b):
    """Throughput and CPU-per-request ratios a/b in each round where both ran."""
    out = []
    for r in sorted(rounds, key=int):
        if a in rounds[r] and b in rounds[r]:
            x, y = rounds[r][a], rounds[r][b]
            out.append((float(x["rps"]) / float(y["rps"]),
                        float(x["cpu_us_per_request"]) / float(y["cpu_us_per_request"])))
    return out
verdicts = []
def ratio(a, b, label, target=None):
    rs = per_round(a, b)
    if not rs:
        return
    t = statistics.median(x for x, _ in rs)
    c = statistics.median(y for _, y in rs)
    print(f"  {label:<32} throughput {t:.3f}   CPU per request {c:.2f}x   (median of per-round ratios)")
    print(f"  {'':<32} per round: " + " / ".join(f"{x:.3f}" for x, _ in rs) + "   CPU " +
          " / ".join(f"{y:.2f}x" for _, y in rs))
    if target:
        tmin, cmax = target
        verdicts.append(f"{label}: throughput {t:.2f}x (target >= {tmin}x) {'met' if t >= tmin else 'NOT met'}; "
                        f"CPU per request {c:.2f}x (target <= {cmax}x) {'met' if c <= cmax else 'NOT met'}")
ratio(B, N, "shipped path (b) / native", (1.0, 1.5))
ratio(D, N, "miss path (d) / native", (0.5, 2.5))
ratio("(c) image's static host", N, "image's host (c) / native")
for p in paths:
    if p.startswith("(v)"):
        ratio(p, B, "variant / (b)")
        ratio(p, D, "variant / (d)")
try:
    opens = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
except OSError:
    opens = []
for label, rate, name, up, p99 in opens:
    added = float(p99) - float(up)
    line = f"p99 added by {name} at {rate} req/s ({label}): {added:.2f} ms"
    print("  " + line)
    if label.startswith("half (b)") or label.startswith("half (d)"):
        verdicts.append(f"{line} (target <= 2 ms) {'met' if added <= 2 else 'NOT met'}")
for line in open(sys.argv[3]):
    name, said = line.rstrip("\n").split("\t", 1)
    found = re.search(r"median ([0-9.]+) ms", said)
    if name.startswith("(c)") and found:
        ms = float(found.group(1))
        verdicts.append(f"start to first 200, {name}: {ms:.1f} ms (target <= 10 ms) {'met' if ms <= 10 else 'NOT met'}")
if sys.argv[4]:
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[4]) for f in fs)
    verdicts.append(f"image contents ({sys.argv[4]}, what make image copies): {size / 1e6:.1f} MB "
                    f"(target <= 25 MB) {'met' if size <= 25e6 else 'NOT met'}")
if verdicts:
    print("targets (issue 27):")
    for v in verdicts:
        print("  " + v)
PY

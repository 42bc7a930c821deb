#!/usr/bin/env bash
# Where the service host's CPU goes under load: `perf record -g` on the host
# while wrk drives doc-proxy through it against the upstream emulator, then the
# split by binary (kernel, host code, guest code, libc) and the top symbols.
# The component is the served one (`wasm` profile) built again with its
# function names kept, and the host writes a perf map (--perfmap), so guest
# frames have names. Everything runs on 127.0.0.1.
#
# With NATIVE_UPSTREAM_BIN set (`make profile` sets it), the upstream is
# bench/native-proxy's native-upstream, serving PROFILE_FILES_DIR's real files
# when set (`make profile` sets ../shared/upstream when present), as in
# `make bench`; otherwise the emulator component.
#
# Knobs: PROFILE_SECONDS (default 8), PROFILE_CONNECTIONS (32),
# PROFILE_HOST_ARGS (extra host flags, e.g. a lever to compare;
# `--verdict-cache-entries 0` profiles the miss path), PROFILE_COMPONENT (a
# .wasm to profile instead of the one built here, built with names kept),
# PROFILE_SYMBOLS (how many top symbols, default 40).
set -euo pipefail
: "${HOST_BIN:?}" "${UPSTREAM_WASM:?}"
seconds="${PROFILE_SECONDS:-8}"
connections="${PROFILE_CONNECTIONS:-32}"
command -v perf >/dev/null || { echo "profile: perf is required (apt-get install linux-perf)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "profile: wrk is required (apt-get install wrk)" >&2; exit 1; }

component="${PROFILE_COMPONENT:-}"
if [ -z "$component" ]; then
  CARGO_PROFILE_WASM_STRIP=false cargo build -q --target wasm32-wasip2 --profile wasm -p doc-proxy \
    --target-dir target/profile
  component=target/profile/wasm32-wasip2/wasm/doc_proxy.wasm
fi

# shellcheck source=scripts/lib/hosts.sh
source "$(dirname "$0")/lib/hosts.sh"
upstream="" service=""
upstream_desc="the emulator component"
if [ -n "${NATIVE_UPSTREAM_BIN:-}" ]; then
  upstream_desc="native-upstream serving ${PROFILE_FILES_DIR:-the doc-fixtures files}"
  start_native upstream "$workdir/upstream.log" "$NATIVE_UPSTREAM_BIN" \
    ${PROFILE_FILES_DIR:+"UPSTREAM_FILES_DIR=$PROFILE_FILES_DIR"}
else
  start_host upstream "$workdir/upstream.log" --component "$UPSTREAM_WASM"
fi
# shellcheck disable=SC2086 # the flags are meant to split
start_host service "$workdir/service.log" --component "$component" --upstream-url "http://$upstream" \
  --perfmap --no-cache ${PROFILE_HOST_ARGS:-}
service_pid=${pids[1]}

wrk -t2 -c"$connections" -d"$((seconds + 2))s" "http://$service/1" >"$workdir/wrk.txt" &
wrk_pid=$!
sleep 1
perf record -q -F 499 -g -p "$service_pid" -o "$workdir/perf.data" -- sleep "$seconds" 2>/dev/null
wait "$wrk_pid"
echo "profile: wrk -t2 -c$connections, $(awk '/^Requests\/sec:/ {print $2}' "$workdir/wrk.txt") req/s while sampled" \
  "for ${seconds}s at 499 Hz; host flags: ${PROFILE_HOST_ARGS:-(defaults)}; upstream: $upstream_desc"
echo
echo "By binary (self time):"
perf report -i "$workdir/perf.data" --no-children --sort dso --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | sed -E "s#\[JIT\] tid [0-9]+ *#guest (JIT)#" | head -12
echo
# Self time summed by the Rust crate a symbol belongs to (the first `crate::`
# in its name; guest names are still mangled: `_ZN<len><crate>`), so the
# host's long tail reads as wasmtime, tokio, hyper, mimalloc (C: `mi_`), ...
echo "By crate (self time, ≥ 0.5%):"
perf report -i "$workdir/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null |
  python3 -c '
import re, sys
by = {}
for line in sys.stdin:
    m = re.match(r"\s+([0-9.]+)%\s+(\S+(?: tid \d+)?)\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    share, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    mangled = re.match(r"_ZN(\d+)", sym)
    path = re.search(r"([A-Za-z_][A-Za-z0-9_]*)::", sym)
    crate = (sym[mangled.end():mangled.end() + int(mangled.group(1))] if mangled
             else path.group(1) if path else None)
    if dso.startswith("[JIT]"):
        where = "guest " + (crate or "(unnamed: trampolines, adapters)")
    elif dso.startswith("[kernel"):
        where = "kernel"
    elif dso.startswith("lib") and ".so" in dso:
        where = dso
    elif crate:
        where = crate
    elif sym.startswith(("mi_", "_mi_")):
        where = "mimalloc"
    else:
        where = dso + " (other)"
    by[where] = by.get(where, 0.0) + share
for where, share in sorted(by.items(), key=lambda kv: -kv[1]):
    if share >= 0.5:
        print(f"    {share:6.2f}%  {where}")
'
echo
echo "Top symbols (self time, ≥ 0.8%):"
perf report -i "$workdir/perf.data" --no-children --sort dso,sym --stdio --percent-limit 0.8 2>/dev/null |
  grep -E '^ +[0-9]' | sed -E "s#\[JIT\] tid [0-9]+ *#guest (JIT)#" | cut -c1-150 | head -"${PROFILE_SYMBOLS:-40}"

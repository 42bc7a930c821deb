# shellcheck shell=bash
# Shared by the scripts that start doc-proxy hosts on loopback: a work directory,
# the PIDs of what was started, and a trap that stops them all and cleans up.
# Source it after HOST_BIN is set. start_host passes the flags the Rust tests'
# harness passes (crates/test-harness, whose module doc lists every place that
# starts hosts and why scripts/k8s/run_rendered.py starts its own).

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
# $2 is its log file; the rest are host arguments.
start_host() {
  local var="$1" log="$2"; shift 2
  # The log exists before the wait below reads it (the redirection happens
  # in the background job, after this shell may already look).
  : >"$log"
  "$HOST_BIN" --listen-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --shutdown-delay 0s --log-level warn,doc_proxy_host=info "$@" \
    >/dev/null 2>"$log" &
  pids+=("$!")
  for _ in $(seq 1 600); do
    if grep -q '"listening"' "$log"; then
      printf -v "$var" '%s' "$(grep '"listening"' "$log" | sed -E 's/.*"public":"([^"]+)".*/\1/')"
      return
    fi
    sleep 0.1
  done
  echo "$0: host did not start:" >&2; cat "$log" >&2; exit 1
}

# Starts a bench/native-proxy binary ($3) on an ephemeral port with the
# environment in the remaining arguments, and stores its address in the
# variable named by $1 ($2 is its log).
start_native() {
  local var="$1" log="$2" bin="$3"; shift 3
  env LISTEN_ADDR=127.0.0.1:0 "$@" "$bin" >/dev/null 2>"$log" &
  pids+=("$!")
  local addr=""
  for _ in $(seq 1 100); do
    addr=$(sed -n 's/^native-[a-z]* listening on //p' "$log")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "$0: $bin did not start:" >&2; cat "$log" >&2; exit 1; }
  printf -v "$var" '%s' "$addr"
}

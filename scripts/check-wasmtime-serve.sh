#!/usr/bin/env bash
# Checks that the unchanged doc_proxy.wasm works under `wasmtime serve -Scli`:
# N requests through it against the upstream emulator (on our host) must all be
# the project's fixtures byte for byte, with their own Content-Type, or
# problem+json errors, and corrupt documents must be caught. A magic-byte check
# would pass the corrupt PDF, which is why bodies are compared whole.
# Installs wasmtime-cli 48.0.8 from crates.io into WASMTIME_ROOT when missing
# (about 10 minutes on 2 cores), so it is not part of `make ci`.
set -euo pipefail
: "${HOST_BIN:?}" "${COMPONENT:?}" "${UPSTREAM_WASM:?}"
# doc-proxy reads its settings through wasi:config/store@0.2.0-draft-2024-09-27
# (Spin 3's and SpinKube's version). wasmtime serve 48 offers wasi:config only
# at 0.2.0-rc.1 (-Sconfig, wasmtime-wasi-config), a pre-release version that
# links to no other, so it cannot instantiate the component: say so rather
# than spend ten minutes installing it to fail.
config_store="wasi:config/store@0.2.0-draft-2024-09-27"
if grep -q "$config_store" "$COMPONENT"; then
  echo "check-wasmtime-serve: $COMPONENT imports $config_store, which wasmtime serve 48 does not provide" \
    "(it has 0.2.0-rc.1): doc-proxy no longer runs there (README, \"Running elsewhere\")" >&2
  exit 1
fi
requests="${CHECK_REQUESTS:-200}"
root="${WASMTIME_ROOT:-$PWD/target/wasmtime-cli}"
wasmtime="$root/bin/wasmtime"
if [ ! -x "$wasmtime" ]; then
  echo "check: installing wasmtime-cli 48.0.8 into $root" >&2
  cargo install wasmtime-cli --version =48.0.8 --locked --root "$root"
fi

# shellcheck source=scripts/lib/hosts.sh
source "$(dirname "$0")/lib/hosts.sh"
# The documents the emulator serves when it does not corrupt them.
cargo run -q --release -p doc-fixtures --example write_fixtures -- "$workdir/fixtures"
upstream=""
start_host upstream "$workdir/upstream.log" --component "$UPSTREAM_WASM"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$wasmtime" serve -Scli --addr "127.0.0.1:$port" --env "UPSTREAM_URL=http://$upstream" "$COMPONENT" \
  >"$workdir/serve.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

ok=0 failed=0
for id in $(seq 1 "$requests"); do
  code=$(curl -s -o "$workdir/body" -w '%{http_code} %{content_type}' "http://127.0.0.1:$port/$id")
  case "$code" in
    "200 application/pdf") fixture=dummy.pdf ;;
    "200 image/png") fixture=dummy.png ;;
    "502 application/problem+json") continue ;;
    *) echo "check: request $id: unexpected $code" >&2; failed=$((failed + 1)); continue ;;
  esac
  if cmp -s "$workdir/body" "$workdir/fixtures/$fixture"; then
    ok=$((ok + 1))
  else
    echo "check: request $id: $code, but the body is not $fixture" >&2
    failed=$((failed + 1))
  fi
done
rejected=$(grep -c 'upstream document rejected' "$workdir/serve.log" || true)
bad_id=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/abc")
echo "wasmtime serve: $ok of $requests answered 200 with a fixture byte for byte, $rejected corrupt documents rejected and retried, /abc -> $bad_id" >&2
[ "$failed" -eq 0 ] && [ "$bad_id" = 400 ] && [ "$rejected" -gt 0 ] && [ $((ok * 100)) -ge $((requests * 99)) ]

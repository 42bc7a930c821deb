#!/usr/bin/env bash
# Builds the Spin apps of spin-apps/ (made as Spin's templates and SDK
# examples make them) into target/spin-apps/<app>/, each with its own
# toolchain at pinned versions:
#
# - JavaScript/TypeScript: `npm ci` of the app's package-lock.json (componentize-js
#   through @spinframework/build-tools), in .cache/spin-apps/<app>/;
# - Python: componentize-py and spin-sdk from the app's requirements.txt, in a
#   venv per app, .cache/spin-apps/venv-<app>/;
# - Rust: cargo with the app's own Cargo.lock (--locked), for wasm32-wasip1 or
#   wasm32-wasip2 (added with rustup when missing), in target/spin-apps-build/.
#
# Each app's spin.toml is copied beside its artefacts, at the paths its
# `source` (and `files`) name, so `target/spin-apps/<app>/spin.toml` is what
# `spin up` would run in the app's folder after `spin build`. An app whose
# artefacts are newer than its sources (and this script) is skipped.
#
#   scripts/spin-apps/build.sh [--force] [APP...]     (default: every app)
#
# Prints each app's build time and artefact sizes, also written to
# target/spin-apps/build-report.tsv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APPS_DIR="$ROOT/spin-apps"
OUT_DIR="$ROOT/target/spin-apps"
CACHE_DIR="$ROOT/.cache/spin-apps"
RUST_TARGET_DIR="$ROOT/target/spin-apps-build"
SELF="$ROOT/scripts/spin-apps/build.sh"

# Every app, in build order, and its kind.
ALL_APPS=(
  http-js http-ts kv-ts
  http-py-p2 http-py
  http-rust-wasip1 http-rust rust-key-value rust-outbound-redis rust-outbound-mqtt rust-outbound-pg rust-self-request
  static-fileserver static-response
)

kind_of() {
  case "$1" in
    http-js | http-ts | kv-ts) echo js ;;
    http-py-p2 | http-py) echo python ;;
    http-rust-wasip1 | rust-self-request | static-fileserver) echo rust-wasip1 ;;
    http-rust | rust-key-value | rust-outbound-redis | rust-outbound-mqtt | rust-outbound-pg) echo rust-wasip2 ;;
    static-response) echo manifest ;;
    *) return 1 ;;
  esac
}

# The artefacts of an app, relative to its output folder (where its
# spin.toml's `source` paths point).
artefacts_of() {
  case "$1" in
    http-js | http-ts | kv-ts) echo "dist/$1.wasm" ;;
    http-py-p2 | http-py) echo "app.wasm" ;;
    http-rust-wasip1) echo "target/wasm32-wasip1/release/http_rust_wasip1.wasm" ;;
    http-rust) echo "target/wasm32-wasip2/release/http_rust.wasm" ;;
    rust-key-value) echo "target/wasm32-wasip2/release/rust_key_value.wasm" ;;
    rust-outbound-redis) echo "target/wasm32-wasip2/release/rust_outbound_redis.wasm" ;;
    rust-outbound-mqtt) echo "target/wasm32-wasip2/release/rust_outbound_mqtt.wasm" ;;
    rust-outbound-pg) echo "target/wasm32-wasip2/release/rust_outbound_pg.wasm" ;;
    rust-self-request)
      echo "target/wasm32-wasip1/release/http_hello.wasm"
      echo "target/wasm32-wasip1/release/outbound_http_to_same_app.wasm"
      ;;
    static-fileserver) echo "target/wasm32-wasip1/release/static_fileserver.wasm" ;;
    static-response) ;;
  esac
}

die() {
  echo "spin-apps: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is needed to build $2 ($3)"
}

# Whether app $1's output is complete and newer than its sources and this script.
up_to_date() {
  local app="$1" out="$OUT_DIR/$1" stamp="$OUT_DIR/$1/.built" artefact
  [ -f "$stamp" ] || return 1
  while read -r artefact; do
    [ -z "$artefact" ] || [ -f "$out/$artefact" ] || return 1
  done < <(artefacts_of "$app")
  [ "$SELF" -nt "$stamp" ] && return 1
  [ -z "$(find "$APPS_DIR/$app" \( -name node_modules -o -name target -o -name __pycache__ \) -prune \
    -o -type f -newer "$stamp" -print -quit)" ]
}

# Copies the app's folder's files (without build output) to $2, replacing
# what was there except node_modules (kept: npm ci decides).
stage() {
  local from="$APPS_DIR/$1" to="$2" entry
  mkdir -p "$to"
  find "$to" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name .npm-ci-lock -exec rm -rf {} +
  for entry in "$from"/* "$from"/.[!.]*; do
    [ -e "$entry" ] || continue
    case "$(basename "$entry")" in
      node_modules | target | dist | build | __pycache__ | app.wasm | .spin) ;;
      *) cp -R "$entry" "$to/" ;;
    esac
  done
}

build_js() {
  local app="$1" work="$CACHE_DIR/$1" out="$OUT_DIR/$1"
  need node "$app" "Node.js 18 or later: apt install nodejs"
  need npm "$app" "apt install npm"
  stage "$app" "$work"
  # npm ci only when the lock file changed since the last install.
  if ! cmp -s "$work/package-lock.json" "$work/.npm-ci-lock" || [ ! -d "$work/node_modules" ]; then
    (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$work/package-lock.json" "$work/.npm-ci-lock"
  fi
  if grep -q '"typecheck"' "$work/package.json"; then
    (cd "$work" && npm run --silent typecheck)
  fi
  rm -f "$work/dist/$app.wasm"
  (cd "$work" && npm run --silent build)
  # j2w reports a failed componentization on stderr but exits 0.
  [ -s "$work/dist/$app.wasm" ] || die "$app: npm run build wrote no dist/$app.wasm"
  mkdir -p "$out/dist"
  cp "$work/dist/$app.wasm" "$out/dist/"
}

build_python() {
  local app="$1" work="$CACHE_DIR/$1" venv="$CACHE_DIR/venv-$1" out="$OUT_DIR/$1" world
  need python3 "$app" "Python 3.10 or later with venv: apt install python3-venv"
  if ! cmp -s "$APPS_DIR/$app/requirements.txt" "$venv/requirements.txt"; then
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (apt install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$APPS_DIR/$app/requirements.txt"
    cp "$APPS_DIR/$app/requirements.txt" "$venv/requirements.txt"
  fi
  stage "$app" "$work"
  # The world the manifest's build command names (`-w WORLD`).
  world="$(sed -n 's/^command = "componentize-py -w \([^ ]*\) .*/\1/p' "$work/spin.toml")"
  [ -n "$world" ] || die "$app: no 'componentize-py -w WORLD' build command in spin.toml"
  mkdir -p "$out"
  # componentize-py runs the `python3` it finds on PATH to find spin_sdk's WIT.
  (cd "$work" && PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv" PYTHONDONTWRITEBYTECODE=1 \
    componentize-py -w "$world" componentize app -o "$out/app.wasm.tmp")
  mv "$out/app.wasm.tmp" "$out/app.wasm"
}

build_rust() {
  local app="$1" target="$2" out="$OUT_DIR/$1" artefact
  need cargo "$app" "the Rust toolchain"
  if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
  fi
  # CARGO_ENCODED_RUSTFLAGS empty: the app builds as it would in its own
  # folder, without this repository's rustflags for doc-proxy's components
  # (.cargo/config.toml) or the caller's RUSTFLAGS.
  (cd "$APPS_DIR/$app" && CARGO_ENCODED_RUSTFLAGS='' \
    cargo build --locked --quiet --target "$target" --release --target-dir "$RUST_TARGET_DIR")
  while read -r artefact; do
    mkdir -p "$out/$(dirname "$artefact")"
    cp "$RUST_TARGET_DIR/$target/release/$(basename "$artefact")" "$out/$artefact"
  done < <(artefacts_of "$app")
}

size_of() {
  local total=0 artefact bytes
  while read -r artefact; do
    [ -n "$artefact" ] || continue
    bytes="$(stat -c %s "$OUT_DIR/$1/$artefact")"
    total=$((total + bytes))
  done < <(artefacts_of "$1")
  echo "$total"
}

force=0
apps=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) die "unknown option $arg" ;;
    *)
      kind_of "$arg" >/dev/null || die "unknown app $arg (apps: ${ALL_APPS[*]})"
      apps+=("$arg")
      ;;
  esac
done
[ "${#apps[@]}" -gt 0 ] || apps=("${ALL_APPS[@]}")

mkdir -p "$OUT_DIR" "$CACHE_DIR"
report="$OUT_DIR/build-report.tsv"
[ -f "$report" ] || printf 'app\tkind\tseconds\tbytes\tbuilt_at\n' >"$report"

printf '%-18s %-12s %8s %12s\n' app kind seconds bytes
for app in "${apps[@]}"; do
  kind="$(kind_of "$app")"
  if [ "$force" = 0 ] && up_to_date "$app"; then
    printf '%-18s %-12s %8s %12s\n' "$app" "$kind" "-" "$(size_of "$app")"
    continue
  fi
  echo "spin-apps: building $app ($kind)" >&2
  started_ms="$(date +%s%3N)"
  rm -f "$OUT_DIR/$app/.built"
  case "$kind" in
    js) build_js "$app" ;;
    python) build_python "$app" ;;
    rust-wasip1) build_rust "$app" wasm32-wasip1 ;;
    rust-wasip2) build_rust "$app" wasm32-wasip2 ;;
    manifest) mkdir -p "$OUT_DIR/$app" ;;
  esac
  # The manifest beside the artefacts, and the files it mounts.
  cp "$APPS_DIR/$app/spin.toml" "$OUT_DIR/$app/spin.toml"
  if [ -d "$APPS_DIR/$app/assets" ]; then
    rm -rf "$OUT_DIR/$app/assets"
    cp -R "$APPS_DIR/$app/assets" "$OUT_DIR/$app/assets"
  fi
  touch "$OUT_DIR/$app/.built"
  elapsed_ms=$(($(date +%s%3N) - started_ms))
  seconds="$((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100))"
  bytes="$(size_of "$app")"
  printf '%-18s %-12s %8s %12s\n' "$app" "$kind" "$seconds" "$bytes"
  printf '%s\t%s\t%s\t%s\t%s\n' "$app" "$kind" "$seconds" "$bytes" "$(date -u +%FT%TZ)" >>"$report"
done

#!/usr/bin/env bash
# Runs each cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default 60): the
# document validators on bodies seeded from the corpus and the fixtures, the
# id/route parser and the component configuration on the seeds in fuzz/seeds.
# A crash, a hang over FUZZ_TIMEOUT seconds (default 10) on one input, or more
# than FUZZ_RSS_MB (default 1024) of memory fails the run; the input is kept
# under target/fuzz/artifacts/TARGET/ to become a regression test.
# Needs the nightly toolchain (libFuzzer's sanitizer flags); installs cargo-fuzz
# from crates.io when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-1024}"
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(document id config)

rustup toolchain list | grep -q '^nightly' || { echo "fuzz: needs the nightly toolchain (rustup toolchain install nightly)" >&2; exit 1; }
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.2

work="$PWD/target/fuzz"
mkdir -p "$work/seeds/document"
# Seeds for the validators: every corpus file, valid and damaged, and the
# fixtures the emulator serves (its corrupt PDF included).
cp crates/doc-core/tests/corpus/valid/* crates/doc-core/tests/corpus/damaged/* "$work/seeds/document/"
cargo run -q --release -p doc-fixtures --example write_fixtures -- "$work/seeds/document"

status=0
for target in "${targets[@]}"; do
  seeds="$work/seeds/$target"
  [ -d "$seeds" ] || seeds="$PWD/fuzz/seeds/$target"
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $target for ${seconds}s (seeds: $seeds)" >&2
  if ! cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$corpus" "$seeds" -- \
      -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
      -artifact_prefix="$artifacts/" -print_final_stats=1 2>"$work/$target.log"; then
    echo "fuzz: $target FAILED; input kept in $artifacts (turn it into a test); log: $work/$target.log" >&2
    tail -30 "$work/$target.log" >&2
    status=1
  else
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target.log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $target passed: $runs inputs in ${seconds}s, corpus $(find "$corpus" -type f | wc -l) files" >&2
  fi
done
exit "$status"

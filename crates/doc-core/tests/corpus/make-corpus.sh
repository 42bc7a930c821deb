#!/usr/bin/env bash
# Regenerates this corpus from the project's own fixtures (doc-fixtures) with
# real tools: qpdf (apt install qpdf) rewrites the fixture PDF the ways real
# producers write PDFs; damage.py breaks copies of them the ways transfers and
# bad producers do. The outputs are checked in (qpdf's encryption salts and
# IDs are random, so a rerun differs byte for byte but not in kind);
# tests/corpus.rs requires every file in valid/ to be accepted and every file
# in damaged/ to be refused.
#
#   crates/doc-core/tests/corpus/make-corpus.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
command -v qpdf >/dev/null || { echo "make-corpus.sh: needs qpdf (apt install qpdf)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo run -q --release --manifest-path "$repo/Cargo.toml" -p doc-fixtures --example write_fixtures -- "$work"
src="$work/dummy.pdf"

rm -rf "$here/valid" "$here/damaged"
mkdir -p "$here/valid" "$here/damaged"
v="$here/valid"
cp "$src" "$v/fixture.pdf"
qpdf --object-streams=generate "$src" "$v/object-streams.pdf"
qpdf --linearize "$src" "$v/linearized.pdf"
qpdf --object-streams=generate --linearize "$src" "$v/object-streams-linearized.pdf"
qpdf --qdf --object-streams=disable "$src" "$v/qdf.pdf"
qpdf --stream-data=uncompress "$src" "$v/uncompressed.pdf"
qpdf --object-streams=generate --recompress-flate --compression-level=9 "$src" "$v/recompressed.pdf"
qpdf --encrypt "" owner 256 -- "$src" "$v/encrypted-aes256.pdf"
qpdf --encrypt "" owner 128 --use-aes=y -- "$src" "$v/encrypted-aes128.pdf"
qpdf --allow-weak-crypto --encrypt "" owner 128 --use-aes=n -- "$src" "$v/encrypted-rc4.pdf"
qpdf --encrypt "" owner 256 -- --object-streams=generate "$src" "$v/encrypted-aes256-object-streams.pdf"
# An incremental update: the original bytes, then a new version of the
# catalog and an xref section chained to the old one with /Prev.
python3 "$here/damage.py" incremental "$src" "$v/incremental-update.pdf"

d="$here/damaged"
python3 "$here/damage.py" flip-stream "$src" "$d/flipped-flate-byte.pdf"
python3 "$here/damage.py" shift "$src" "$d/offsets-shifted.pdf"
python3 "$here/damage.py" renumber "$src" "$d/renumbered-object.pdf"
python3 "$here/damage.py" cut-middle "$src" "$d/middle-cut-out.pdf"
python3 "$here/damage.py" truncate "$src" "$d/truncated.pdf"
python3 "$here/damage.py" flip-stream "$v/object-streams.pdf" "$d/object-streams-flipped-xref-stream.pdf" --last
python3 "$here/damage.py" shift "$v/object-streams.pdf" "$d/object-streams-offsets-shifted.pdf"
python3 "$here/damage.py" truncate "$v/encrypted-aes256.pdf" "$d/encrypted-truncated.pdf"
python3 "$here/damage.py" cut-stream-byte "$v/encrypted-aes256.pdf" "$d/encrypted-stream-short.pdf"
ls -l "$v" "$d"

#!/usr/bin/env bash
# Regenerates this corpus from the project's own fixtures (doc-fixtures) with
# real tools: qpdf and Ghostscript rewrite the fixture PDF the ways real
# producers write PDFs; ImageMagick, optipng and pngcrush re-encode the fixture
# PNG (palette, 16-bit, grey of 1, 2, 8 and 16 bits, alpha, interlaced, split
# image data); more producers write their own documents (producers.py:
# Pillow, reportlab, pikepdf; MuPDF's mutool, poppler's pdfunite and
# pdftocairo); damage.py breaks copies of them the ways transfers and bad
# producers do (apt install qpdf ghostscript imagemagick optipng pngcrush
# mupdf-tools poppler-utils; the Python producers are pinned below). The
# outputs are checked in (qpdf's encryption salts and IDs, and the producers'
# dates, change, so a rerun differs byte for byte but not in kind);
# tests/corpus.rs requires every file in valid/ to be accepted and every file
# in damaged/ to be refused.
#
#   crates/doc-core/tests/corpus/make-corpus.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
for tool in qpdf gs /usr/bin/convert optipng pngcrush mutool pdfunite pdftocairo; do
  command -v "$tool" >/dev/null || { echo "make-corpus.sh: needs $tool (apt install qpdf ghostscript imagemagick optipng pngcrush mupdf-tools poppler-utils)" >&2; exit 1; }
done
# The Python producers, pinned, in a virtualenv of their own (.cache is not
# checked in).
tools=${CORPUS_TOOLS:-$repo/.cache/corpus-tools}
pins="reportlab==4.4.4 pillow==11.3.0 pikepdf==9.11.0"
"$tools/bin/python" -c "import reportlab, PIL, pikepdf" 2>/dev/null || {
  echo "make-corpus.sh: needs $pins in $tools (python3 -m venv $tools && $tools/bin/pip install $pins)" >&2; exit 1; }
for pin in $pins; do
  [ "$("$tools/bin/pip" show "${pin%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${pin##*==}" ] || {
    echo "make-corpus.sh: $tools must hold $pin ($tools/bin/pip install $pin)" >&2; exit 1; }
done
produce() { "$tools/bin/python" "$here/producers.py" "$@"; }

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
# Another producer: Ghostscript's pdfwrite writes the whole file anew (its own
# object order, indirect /Length).
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -o "$v/ghostscript.pdf" "$src"
# AES with /EncryptMetadata false: the XMP stream Ghostscript wrote stays
# plaintext, its length no IV plus whole blocks.
qpdf --encrypt "" owner 256 --cleartext-metadata -- "$v/ghostscript.pdf" "$v/encrypted-aes256-cleartext-metadata.pdf"
produce pikepdf-aes256-cleartext-metadata "$v/ghostscript.pdf" "$v/pikepdf-aes256-cleartext-metadata.pdf"
produce pikepdf-aes128-cleartext-metadata "$v/ghostscript.pdf" "$v/pikepdf-aes128-cleartext-metadata.pdf"
# An incremental update: the original bytes, then a new version of the
# catalog and an xref section chained to the old one with /Prev.
python3 "$here/damage.py" incremental "$src" "$v/incremental-update.pdf"
# More producers. Pillow and `mutool clean` write the free-list head as
# generation 65536.
produce pillow-pdf "$work/dummy.png" "$v/pillow.pdf"
produce pillow-pdf-palette "$work/dummy.png" "$v/pillow-palette.pdf"
mutool clean "$src" "$v/mutool-clean.pdf"
mutool clean -gggg -z "$src" "$v/mutool-clean-compressed.pdf"
pdftocairo -pdf "$src" "$v/pdftocairo.pdf"
# pdfunite writes /Size short of its table (a producer's slip, accepted).
pdfunite "$src" "$src" "$v/pdfunite.pdf"
# reportlab writes page content and images as [/ASCII85Decode /FlateDecode].
produce reportlab "$work/dummy.png" "$v/reportlab.pdf"

d="$here/damaged"
python3 "$here/damage.py" flip-stream "$src" "$d/flipped-flate-byte.pdf"
python3 "$here/damage.py" shift "$src" "$d/offsets-shifted.pdf"
python3 "$here/damage.py" renumber "$src" "$d/renumbered-object.pdf"
python3 "$here/damage.py" cut-middle "$src" "$d/middle-cut-out.pdf"
python3 "$here/damage.py" truncate "$src" "$d/truncated.pdf"
python3 "$here/damage.py" flip-stream "$v/object-streams.pdf" "$d/object-streams-flipped-xref-stream.pdf" --last
python3 "$here/damage.py" shift "$v/object-streams.pdf" "$d/object-streams-offsets-shifted.pdf"
python3 "$here/damage.py" flip-stream "$v/ghostscript.pdf" "$d/ghostscript-flipped-flate-byte.pdf"
python3 "$here/damage.py" truncate "$v/encrypted-aes256.pdf" "$d/encrypted-truncated.pdf"
python3 "$here/damage.py" cut-stream-byte "$v/encrypted-aes256.pdf" "$d/encrypted-stream-short.pdf"
python3 "$here/damage.py" ascii85-char "$v/reportlab.pdf" "$d/reportlab-ascii85-char-changed.pdf"
python3 "$here/damage.py" prev-loop "$v/incremental-update.pdf" "$d/prev-loop.pdf"
python3 "$here/damage.py" objstm-duplicate-slot "$v/object-streams.pdf" "$d/object-streams-duplicate-slot.pdf"

# PNG: the fixture re-encoded by other producers, and damaged copies whose
# chunk CRCs are all right.
png="$work/dummy.png"
convert() { /usr/bin/convert "$@"; }
cp "$png" "$v/fixture.png"
convert "$png" -colors 200 PNG8:"$v/palette.png"
convert "$png" -depth 16 PNG48:"$v/rgb-16-bit.png"
convert "$png" -colorspace Gray -depth 8 "$v/grey-8-bit.png"
convert "$png" -monochrome "$v/grey-1-bit.png"
convert "$png" -colorspace Gray -depth 2 -interlace PNG "$v/grey-2-bit-interlaced.png"
convert "$png" -colorspace Gray -depth 16 "$v/grey-16-bit.png"
convert "$png" -alpha set -channel A -evaluate set 60% PNG32:"$v/rgba.png"
optipng -quiet -o2 -i1 -out "$v/interlaced-optipng.png" "$png"
convert "$png" -interlace PNG -depth 16 PNG48:"$v/interlaced-16-bit.png"
pngcrush -q -m 1 -max 4096 "$png" "$v/split-idat-pngcrush.png"
pngcrush -q -brute "$png" "$v/pngcrush-brute.png"
produce pillow-png "$png" "$v/pillow.png"
# APNG: every frame is checked, not only the default image.
produce pillow-apng "$png" "$v/pillow-apng.png"
python3 "$here/damage.py" apng-flip-fdat "$v/pillow-apng.png" "$d/apng-fdat-byte-flipped.png"
python3 "$here/damage.py" apng-sequence "$v/pillow-apng.png" "$d/apng-fdat-out-of-sequence.png"
python3 "$here/damage.py" png-drop-idat "$v/split-idat-pngcrush.png" "$d/png-idat-missing.png"
python3 "$here/damage.py" png-flip-idat "$png" "$d/png-idat-byte-flipped.png"
python3 "$here/damage.py" png-taller "$png" "$d/png-ihdr-taller.png"
python3 "$here/damage.py" png-taller "$v/interlaced-optipng.png" "$d/png-interlaced-ihdr-taller.png"
python3 "$here/damage.py" truncate "$v/palette.png" "$d/png-truncated.png"
python3 "$here/damage.py" png-filter-type "$png" "$d/png-filter-type-5.png"
# One rule after the end marker: zero padding is accepted after IEND and
# after %%EOF alike, anything else is refused.
python3 "$here/damage.py" pad-nul "$png" "$v/nul-padded.png"
python3 "$here/damage.py" pad-nul "$src" "$v/nul-padded.pdf"
python3 "$here/damage.py" append-junk "$png" "$d/png-junk-after-nul-padding.png"
python3 "$here/damage.py" append-junk "$src" "$d/pdf-junk-after-nul-padding.pdf"
python3 "$here/damage.py" png-filter-type "$v/pillow.png" "$d/pillow-png-filter-type-5.png"
ls -l "$v" "$d"

#!/usr/bin/env python3
"""Makes one variant of a PDF or PNG for the corpus (see make-corpus.sh):

    damage.py KIND IN OUT [--last]

flip-stream      flip a byte in the middle of the first (--last: last) stream's data
shift            insert one byte after the header: every offset is one off
renumber         rename object 1 to object 9 in its header
cut-middle       remove 100 bytes from the middle
truncate         keep the first two thirds
cut-stream-byte  /Length one less for the first stream, its last byte now a space:
                 every offset stays right, the data is one byte short
pad-nul          append 512 zero bytes (padding to a block)
append-junk      append zero bytes, then one that is not
incremental      append an incremental update (new catalog version, xref with /Prev)
ascii85-char    change one character in the middle of the first ASCII85 stream
                 to another ASCII85 digit: it still decodes, to other bytes
prev-loop        the newest xref section's /Prev names that section itself
objstm-duplicate-slot
                 in an xref stream, the lowest-numbered object in an object
                 stream is moved to the slot of the highest-numbered one there

PNG (every chunk CRC recomputed, so only the image-data check can tell):
png-drop-idat    remove the second IDAT chunk
png-flip-idat    flip a byte in the middle of the first IDAT's data
png-taller       add one row to IHDR's height: the image data is a row short
apng-flip-fdat   flip a byte in the middle of the first fdAT's zlib data (an
                 animation frame the default image does not show)
apng-sequence    give the first fdAT the next chunk's sequence number
png-filter-type  give the middle row filter type 5 (image data re-deflated, so
                 zlib and every CRC are right; only the row check can tell)
"""

import re
import struct
import sys
import zlib


def streams(data):
    return [(m.end(), data.index(b"endstream", m.end())) for m in re.finditer(rb"stream\r?\n", data) if not data[max(0, m.start() - 3):m.start()].endswith(b"end")]


def png_chunks(data):
    """[(type, payload)] of a PNG."""
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        chunks.append((bytes(data[at + 4:at + 8]), bytearray(data[at + 8:at + 8 + length])))
        at += 12 + length
    return chunks


def png_bytes(chunks):
    out = bytearray(b"\x89PNG\r\n\x1a\n")
    for kind, payload in chunks:
        out += struct.pack(">I", len(payload)) + kind + payload
        out += struct.pack(">I", zlib.crc32(kind + payload))
    return out


def xref_stream_rows(data):
    """(dict span, stream span, /W, rows) of the xref stream startxref names."""
    at = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", bytes(data)).group(1))
    head_end = data.index(b"stream", at)
    head = bytes(data[at:head_end])
    length = int(re.search(rb"/Length (\d+)", head).group(1))
    start = head_end + len(b"stream") + (2 if data[head_end + 6:head_end + 8] == b"\r\n" else 1)
    widths = [int(w) for w in re.search(rb"/W\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s*\]", head).groups()]
    columns = re.search(rb"/Columns (\d+)", head)
    raw = zlib.decompress(bytes(data[start:start + length]))
    row = sum(widths)
    rows = []
    if columns:  # PNG predictor: a filter byte per row (Up or None, as qpdf writes)
        assert int(columns.group(1)) == row
        prev = bytes(row)
        for i in range(0, len(raw), row + 1):
            kind, line = raw[i], raw[i + 1:i + 1 + row]
            assert kind in (0, 2), kind
            line = bytes((b + p) & 0xFF for b, p in zip(line, prev)) if kind == 2 else line
            rows.append(bytearray(line))
            prev = line
    else:
        rows = [bytearray(raw[i:i + row]) for i in range(0, len(raw), row)]
    return (at, head_end), (start, start + length), widths, rows, bool(columns)


def field(row, widths, k, value=None):
    lo = sum(widths[:k])
    if value is None:
        return int.from_bytes(row[lo:lo + widths[k]], "big")
    row[lo:lo + widths[k]] = value.to_bytes(widths[k], "big")


def main():
    kind, src, out = sys.argv[1:4]
    data = bytearray(open(src, "rb").read())
    if kind == "flip-stream":
        start, end = streams(data)[-1 if "--last" in sys.argv else 0]
        data[(start + end) // 2] ^= 0x55
    elif kind == "shift":
        nl = data.index(b"\n") + 1
        data[nl:nl] = b"%"
        data[nl + 1:nl + 1] = b"\n"
    elif kind == "renumber":
        m = re.search(rb"(?m)^1 0 obj", data)
        data[m.start():m.start() + 1] = b"9"
    elif kind == "cut-middle":
        mid = len(data) // 2
        del data[mid:mid + 100]
    elif kind == "truncate":
        del data[len(data) * 2 // 3:]
    elif kind == "cut-stream-byte":
        start, end = streams(data)[0]
        # The dictionary before `stream` holds /Length N; N shrinks by one.
        dict_start = data.rindex(b"obj", 0, start)
        head = bytes(data[dict_start:start])
        m = re.search(rb"/Length (\d+)", head)
        n = int(m.group(1))
        data[start + n - 1] = ord(" ")
        new_head = head.replace(m.group(0), b"/Length %d" % (n - 1) + b" " * (len(m.group(1)) - len(str(n - 1))), 1)
        data[dict_start:start] = new_head
    elif kind == "incremental":
        text = bytes(data)
        prev = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", text).group(1))
        trailer = re.search(rb"trailer\s*<<(.*?)>>\s*startxref", text, re.S)
        size = int(re.search(rb"/Size (\d+)", trailer.group(1)).group(1))
        root = re.search(rb"/Root (\d+) (\d+) R", trailer.group(1))
        num, gen = int(root.group(1)), int(root.group(2))
        catalog = re.search(rb"(?s)(?<![0-9])%d %d obj(.*?)endobj" % (num, gen), text).group(1)
        if not data.endswith(b"\n"):
            data += b"\n"
        at = len(data)
        data += b"%d %d obj" % (num, gen) + catalog + b"endobj\n"
        xref = len(data)
        data += b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d %05d n \n" % (num, at, gen)
        data += b"trailer\n<< /Size %d /Root %d %d R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, num, gen, prev, xref)
    elif kind == "pad-nul":
        data += bytes(512)
    elif kind == "append-junk":
        data += b"\0\0x\0"
    elif kind == "ascii85-char":
        for start, end in streams(data):
            if b"/ASCII85Decode" in data[data.rindex(b"obj", 0, start):start]:
                break
        else:
            sys.exit(f"{src} has no ASCII85 stream")
        at = (start + end) // 2
        while not ord("!") <= data[at] <= ord("u"):
            at += 1
        data[at] = ord("!") + (data[at] - ord("!") + 1) % 85
    elif kind == "prev-loop":
        xref = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", bytes(data)).group(1)
        m = list(re.finditer(rb"/Prev \d+", data))[-1]
        data[m.start():m.end()] = b"/Prev " + xref
    elif kind == "objstm-duplicate-slot":
        (dict_start, head_end), (start, end), widths, rows, predictor = xref_stream_rows(data)
        # Object number = row index when /Index is absent, as qpdf writes it.
        assert b"/Index" not in bytes(data[dict_start:head_end])
        members = [n for n, r in enumerate(rows) if field(r, widths, 0) == 2]
        stream = field(rows[members[0]], widths, 1)
        members = [n for n in members if field(rows[n], widths, 1) == stream]
        low, high = members[0], members[-1]
        field(rows[low], widths, 2, field(rows[high], widths, 2))
        packed = zlib.compress(b"".join((b"\0" if predictor else b"") + bytes(r) for r in rows))
        head = bytes(data[dict_start:head_end])
        head = re.sub(rb"/Length \d+", b"/Length %d" % len(packed), head)
        data[start:end] = packed
        data[dict_start:head_end] = head
    elif kind.startswith(("png-", "apng-")):
        chunks = png_chunks(data)
        idats = [i for i, (k, _) in enumerate(chunks) if k == b"IDAT"]
        if kind == "png-drop-idat":
            del chunks[idats[1]]
        elif kind == "png-flip-idat":
            payload = chunks[idats[0]][1]
            payload[len(payload) // 2] ^= 0x55
        elif kind in ("apng-flip-fdat", "apng-sequence"):
            fdat = [i for i, (k, _) in enumerate(chunks) if k == b"fdAT"][0]
            payload = chunks[fdat][1]
            if kind == "apng-flip-fdat":
                payload[4 + (len(payload) - 4) // 2] ^= 0x55
            else:
                (sequence,) = struct.unpack(">I", payload[0:4])
                payload[0:4] = struct.pack(">I", sequence + 1)
        elif kind == "png-filter-type":
            ihdr = chunks[0][1]
            width, height = struct.unpack(">II", ihdr[0:8])
            depth, color, interlace = ihdr[8], ihdr[9], ihdr[12]
            assert interlace == 0
            channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
            stride = 1 + (width * channels * depth + 7) // 8
            raw = bytearray(zlib.decompress(b"".join(bytes(chunks[i][1]) for i in idats)))
            raw[(height // 2) * stride] = 5
            first = idats[0]
            chunks = [c for i, c in enumerate(chunks) if i not in idats[1:]]
            chunks[first] = (b"IDAT", bytearray(zlib.compress(bytes(raw))))
        elif kind == "png-taller":
            ihdr = chunks[0][1]
            ihdr[4:8] = struct.pack(">I", struct.unpack(">I", ihdr[4:8])[0] + 1)
        else:
            sys.exit(f"unknown kind {kind}")
        data = png_bytes(chunks)
    else:
        sys.exit(f"unknown kind {kind}")
    open(out, "wb").write(bytes(data))


if __name__ == "__main__":
    main()

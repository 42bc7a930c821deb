#!/usr/bin/env python3
"""Writes one document the way a Python producer writes it (see make-corpus.sh,
which runs this with the pinned reportlab, Pillow and pikepdf):

    producers.py KIND IN OUT

pillow-pdf          Pillow's PDF writer, IN a PNG (its free-list head has generation 65536)
pillow-pdf-palette  the same from a palette image: its image data is ASCIIHex without `>`
pillow-png          Pillow's PNG writer, IN a PNG
pillow-apng         Pillow's animated PNG writer, three frames from IN (a PNG)
reportlab           reportlab: a page of text and IN (a PNG) as an image; content
                    and image data are [/ASCII85Decode /FlateDecode]
pikepdf-aes256-cleartext-metadata   pikepdf (qpdf) AES-256, /EncryptMetadata false, IN a PDF
pikepdf-aes128-cleartext-metadata   the same with AES-128
"""

import sys


def small_image(path):
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.thumbnail((160, 160))
    return image


def main():
    kind, src, out = sys.argv[1:4]
    if kind == "pillow-pdf":
        small_image(src).save(out, "PDF")
    elif kind == "pillow-pdf-palette":
        small_image(src).convert("P").save(out, "PDF")
    elif kind == "pillow-png":
        small_image(src).save(out, "PNG", optimize=True)
    elif kind == "pillow-apng":
        from PIL import ImageOps

        first = small_image(src)
        frames = [ImageOps.invert(first), first.rotate(90)]
        first.save(out, "PNG", save_all=True, append_images=frames, duration=200, loop=0)
    elif kind == "reportlab":
        from reportlab.pdfgen import canvas

        page = canvas.Canvas(out, invariant=1)
        page.drawString(72, 760, "doc-proxy corpus: written by reportlab")
        page.drawImage(src, 72, 500, width=160, height=160)
        page.showPage()
        page.save()
    elif kind.startswith("pikepdf-"):
        import pikepdf

        aes256 = "aes256" in kind
        with pikepdf.open(src) as pdf:
            if "/Metadata" not in pdf.Root:
                sys.exit(f"{src} has no XMP metadata to leave in clear")
            pdf.save(
                out,
                encryption=pikepdf.Encryption(owner="owner", user="", R=6 if aes256 else 4, aes=True, metadata=False),
            )
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()

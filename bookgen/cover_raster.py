"""A generated cover's page as a JPEG: pdfium draws it, Pillow writes it. Imports nothing of bookgen, so that it
also runs as a script in a small process of its own (bookgen/cover.py), which never holds WeasyPrint and the
cover's 1600 x 2560 image (about 30 MB) at once:

    python -I bookgen/cover_raster.py WIDTH HEIGHT < page.pdf > cover.jpg
"""
from __future__ import annotations

import io
import sys


def jpeg(pdf: bytes, size: tuple[int, int]) -> bytes:
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    try:
        page = doc[0]
        image = page.render(scale=size[0] / page.get_width()).to_pil()
        page.close()
    finally:
        doc.close()
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.size != size:
        image = image.resize(size)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()


if __name__ == "__main__":
    sys.stdout.buffer.write(jpeg(sys.stdin.buffer.read(), (int(sys.argv[1]), int(sys.argv[2]))))

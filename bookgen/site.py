"""The download page (dist/index.html): one self-contained HTML file in the book's language listing each edition
with its format, size, page count and SHA-256. No JavaScript; the cover is inlined; links are relative, so the
folder works from a disk or any static host."""
from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

from .render import environment, render

THUMB_WIDTH = 480  # pixels: sharp at 12rem on a 2x screen, small enough to inline

# What each file is, in reading order of the page. The words for the link come from Babel's language names
# where it has none of its own; these are the editions' names, which the i18n words of issue 12 may replace.
EDITIONS = (("pdf", "PDF", "application/pdf", "PDF"), ("epub", "EPUB", "application/epub+zip", "EPUB 3"),
            ("print", "PDF/X", "application/pdf", "PDF/X-4"), ("cover", "PDF", "application/pdf", "PDF"))
LABELS = {"en": {"pdf": "PDF, to read on screen and print", "epub": "EPUB, for e-readers",
                 "print": "Print interior for a print shop", "cover": "Print cover (back, spine and front)",
                 "downloads": "Download", "pages": "pages"},
          "fr": {"pdf": "PDF, à lire à l’écran et à imprimer", "epub": "EPUB, pour liseuses",
                 "print": "Intérieur pour l’imprimeur", "cover": "Couverture pour l’imprimeur (dos, tranche, face)",
                 "downloads": "Télécharger", "pages": "pages"}}


def human_size(n: int, language: str) -> str:
    from babel.numbers import format_decimal
    locale = language.replace("-", "_")
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            try:
                return f"{format_decimal(round(n / size, 1), locale=locale)} {unit}"
            except Exception:
                return f"{n / size:.1f} {unit}"
    return f"{n} B"


def page_count(path: Path) -> int | None:
    if path.suffix != ".pdf":
        return None
    from pypdf import PdfReader
    return len(PdfReader(path).pages)


def thumbnail(book) -> tuple[bytes, int, int]:
    from PIL import Image

    from .cover import cover_image
    data, _, _ = cover_image(book)
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 4))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), image.width, image.height


def site_files(book, outputs: dict) -> dict:
    """{file name: bytes} for the out folder: index.html and the cover image Open Graph names."""
    meta = book.meta
    lang = meta.language.split("-")[0].lower()
    words = LABELS.get(lang, LABELS["en"])
    editions = []
    for fmt, format_name, media_type, _ in EDITIONS:
        path = outputs.get(fmt)
        if path is None or not Path(path).is_file():
            continue
        path = Path(path)
        data = path.read_bytes()
        editions.append({"href": path.name, "label": words[fmt], "format": format_name, "media_type": media_type,
                         "size": human_size(len(data), meta.language),
                         "pages": page_count(path) if fmt != "cover" else None,
                         "sha256": hashlib.sha256(data).hexdigest()})
    thumb, width, height = thumbnail(book)
    cover_file = f"{book.slug}.jpg"
    site = {"language": meta.language, "title": meta.title, "subtitle": meta.subtitle, "author": meta.author_names,
            "description": meta.description, "isbn": meta.isbn, "editions": editions, "words": words,
            "cover_file": cover_file, "cover_alt": meta.cover_alt or f"{meta.title}: cover",
            "cover_data": "data:image/jpeg;base64," + base64.b64encode(thumb).decode("ascii"),
            "cover_width": width, "cover_height": height, "og_locale": meta.language.replace("-", "_")}
    html = render(environment(book.root), "site/index.html.j2", site=site)
    return {"index.html": html.encode("utf-8"), cover_file: thumb}

"""The EPUB cover: the book's own image, or one generated from templates/epub/cover-art.html.j2."""
from __future__ import annotations

import io

from .render import context, environment, render

COVER_SIZE = (1600, 2560)


def cover_image(book) -> tuple[bytes, str, str]:
    """(image bytes, media type, file extension)."""
    if book.meta.cover is not None:
        data = book.meta.cover.read_bytes()
        if book.meta.cover.suffix.lower() == ".png":
            return data, "image/png", "png"
        return data, "image/jpeg", "jpg"
    return generated_cover(book), "image/jpeg", "jpg"


def generated_cover(book) -> bytes:
    import pypdfium2
    from weasyprint import HTML

    from .write_pdf import fetcher_for

    html = render(environment(book.root), "epub/cover-art.html.j2", **context(book, "epub"))
    pdf = HTML(string=html, base_url=str(book.root), url_fetcher=fetcher_for(book)).write_pdf()
    doc = pypdfium2.PdfDocument(pdf)
    page = doc[0]
    scale = COVER_SIZE[0] / page.get_width()
    image = page.render(scale=scale).to_pil().convert("RGB")
    if image.size != COVER_SIZE:
        image = image.resize(COVER_SIZE)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()

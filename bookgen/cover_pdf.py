"""The print cover: back cover, spine and front cover on one sheet with bleed, sized for the interior just built."""
from __future__ import annotations

import base64
import io

from .render import environment, render

INCH = 72.0
# Thickness of one page (one leaf is two pages), as Amazon KDP publishes it for its paper stocks (inches).
PAGE_THICKNESS_IN = {"white": 0.002252, "cream": 0.0025}
SPINE_TEXT_MIN_IN = 0.25  # narrower spines carry no text (KDP asks for more than 79 pages; we ask 1/4 in)
BARCODE_IN = (2.0, 1.2)  # the clear area the service prints the ISBN barcode in


def spine_width_pt(pages: int, paper: str) -> float:
    return pages * PAGE_THICKNESS_IN[paper] * INCH


def cover_sizes(book, pages: int, bleed: str | None) -> dict:
    from .print_edition import DEFAULT_BLEED
    from .write_pdf import length_pt
    trim_w, trim_h = length_pt(book.meta.page_size.width), length_pt(book.meta.page_size.height)
    b = length_pt(bleed or DEFAULT_BLEED)
    spine = spine_width_pt(pages, book.meta.paper)
    return {"trim_width": trim_w, "trim_height": trim_h, "bleed": b, "spine": spine,
            "width": 2 * trim_w + spine + 2 * b, "height": trim_h + 2 * b}


def cover_pdf(book, pages: int, bleed: str | None = None) -> bytes:
    """One page: MediaBox = BleedBox (the whole sheet), TrimBox inside it by the bleed."""
    import pikepdf
    from weasyprint import HTML

    from .cover import cover_image
    from .write_pdf import fetcher_for
    sizes = cover_sizes(book, pages, bleed)
    image, media_type, _ = cover_image(book)
    meta = book.meta
    data = {**sizes, "language": meta.language, "title": meta.title, "author": meta.author_names,
            "description": meta.description, "isbn": f"ISBN {meta.isbn}" if meta.isbn else "",
            "alt": meta.cover_alt or meta.title,
            "image": f"data:{media_type};base64," + base64.b64encode(image).decode("ascii"),
            "spine_text": sizes["spine"] >= SPINE_TEXT_MIN_IN * INCH,
            "spine_font": round(min(10.0, sizes["spine"] * 0.5), 1)}
    html = render(environment(book.root), "print/cover.html.j2", cover=data)
    from .print_edition import PRINT_VARIANT, for_press
    raw = HTML(string=html, base_url=str(book.root), url_fetcher=fetcher_for(book)).write_pdf(
        pdf_variant=PRINT_VARIANT)
    with pikepdf.open(io.BytesIO(for_press(raw))) as pdf:  # PDF/X-4 like the interior: a print shop takes both
        page = pdf.pages[0]
        w, h, b = sizes["width"], sizes["height"], sizes["bleed"]
        page.obj.MediaBox = pikepdf.Array([0, 0, w, h])
        page.obj.BleedBox = pikepdf.Array([0, 0, w, h])
        page.obj.TrimBox = pikepdf.Array([b, b, w - b, h - b])
        if "/Annots" in page.obj:
            del page.obj["/Annots"]
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()

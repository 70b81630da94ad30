"""What a printed book needs beyond the layout: an even number of pages (a sheet has two sides)."""
from __future__ import annotations

import io


def even_pages(data: bytes) -> tuple[bytes, int]:
    """The PDF with a blank page added at the end when its page count is odd, and the new count. The blank page
    has the last page's boxes (MediaBox, TrimBox, BleedBox), so a print shop sees one size throughout."""
    import pikepdf
    with pikepdf.open(io.BytesIO(data)) as pdf:
        count = len(pdf.pages)
        if count % 2 == 0:
            return data, count
        last = pdf.pages[-1].obj
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, Resources=pikepdf.Dictionary())
        for box in ("/MediaBox", "/CropBox", "/TrimBox", "/BleedBox", "/ArtBox"):
            if box in last:
                page[box] = pikepdf.Array(list(last[box]))
        pdf.pages.append(pikepdf.Page(page))
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue(), count + 1

"""What a printed book needs beyond the layout: an even number of pages (a sheet has two sides)."""
from __future__ import annotations

import io
from pathlib import Path


def with_blank_last_page(pages: list) -> list:
    """The page map (bookgen/pagemap.py) with the blank page even_pages adds: its folio follows the last one, and
    the EPUB puts its page break at the end of the last chapter (as for any blank page)."""
    from dataclasses import replace

    from .folios import roman
    last = pages[-1]
    label = str(int(last.label) + 1) if last.label.isdigit() else roman(len(pages) + 1)
    return list(pages) + [replace(last, index=last.index + 1, label=label, chapter=None, block=None, words=0,
                                  text="", chars=0)]


def even_pages(data: bytes, count: int | None = None) -> tuple[bytes, int]:
    """The PDF with a blank page added at the end when its page count (`count`, when the layout knows it) is odd,
    and the new count. The blank page has the last page's boxes (MediaBox, TrimBox, BleedBox), so a print shop
    sees one size throughout."""
    if count is not None and count % 2 == 0:
        return data, count  # not read again
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


# The interior a print-on-demand service takes: PDF/X-4 (PDF 1.6, so the book's OpenType fonts are embedded as
# they are; PDF/X-1a and X-3 are PDF 1.4 and cannot hold them), with bleed, CMYK/grey colour, no annotations.
PRINT_VARIANT = "pdf/x-4"
OUTPUT_PROFILE = Path(__file__).parent / "profiles" / "FOGRA39L.icc"  # CMYK, coated paper (see its README)
DEFAULT_BLEED = "3mm"  # what KDP (0.125 in), IngramSpark and Lulu ask for, to the nearest millimetre


def print_interior(book, bleed: str | None, crop_marks: bool) -> tuple[bytes, int]:
    """The print interior as one document (PDF/X-4), and its page count (even)."""
    from . import write_pdf as W
    options = W.PrintOptions(bleed or DEFAULT_BLEED, crop_marks)
    rendered = W.render_print(book, options)
    body_start = rendered.body_start
    data = rendered.document.write_pdf(
        pdf_variant=PRINT_VARIANT, pdf_identifier=book.meta.identifier.encode("utf-8"), custom_metadata=False,
        finisher=W.finisher(body_start, W.length_pt(options.bleed), book.meta))
    return even_pages(for_press(data))


def for_press(data: bytes) -> bytes:
    """No links or other annotations (a print shop rejects them), colours as CMYK or grey (PDF/X has no
    device RGB), and the output intent PDF/X requires: the registered FOGRA39 coated-paper condition, with its
    CMYK profile embedded (PDF/X-4 requires the profile itself; bookgen/profiles/README.md says how it was made)."""
    import pikepdf
    with pikepdf.open(io.BytesIO(data)) as pdf:
        shared: dict = {}
        for page in pdf.pages:
            if "/Annots" in page.obj:
                del page.obj["/Annots"]
            _press_colours(pdf, page, shared)
        for key in ("/AcroForm", "/OpenAction"):
            if key in pdf.Root:
                del pdf.Root[key]
        pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX,
            OutputConditionIdentifier=pikepdf.String("FOGRA39"), RegistryName=pikepdf.String("http://www.color.org"),
            OutputCondition=pikepdf.String("Offset printing, coated paper (ISO 12647-2:2004)"),
            Info=pikepdf.String("Coated FOGRA39 (ISO 12647-2:2004)"),
            DestOutputProfile=pdf.make_stream(OUTPUT_PROFILE.read_bytes(), N=4))])
        pdf.docinfo["/Trapped"] = pikepdf.Name("/False")  # (pikepdf.Name.False_ would write /False_)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()


def _managed_rgb(pdf, image, shared: dict) -> None:
    """An RGB picture as sRGB (ICCBased), which a PDF/X-4 colour-manages to the output intent; device RGB, which
    it forbids beside a CMYK intent, would leave the printer to guess the colours."""
    import pikepdf
    if image.get("/Subtype") != "/Image" or image.get("/ColorSpace") != pikepdf.Name.DeviceRGB:
        return
    if "srgb" not in shared:  # one profile for every picture
        from PIL import ImageCms
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        shared["srgb"] = pikepdf.Array([pikepdf.Name.ICCBased, pdf.make_stream(icc, N=3)])
    image.ColorSpace = shared["srgb"]


def _cmyk(r: float, g: float, b: float) -> list:
    """Grey stays black ink only (K): text never prints in four inks (rich black blurs fine type)."""
    if r == g == b:
        return [0, 0, 0, round(1 - r, 4)]
    k = 1 - max(r, g, b)
    if k >= 1:
        return [0, 0, 0, 1]
    return [round((1 - x - k) / (1 - k), 4) for x in (r, g, b)] + [round(k, 4)]


def _press_colours(pdf, page, shared: dict):
    import pikepdf
    streams = [page]
    resources = page.obj.get("/Resources", {})
    for xobject in dict(resources.get("/XObject", {})).values():
        if xobject.get("/Subtype") == "/Form":
            streams.append(xobject)
            inner = xobject.get("/Resources", {})
            for image in dict(inner.get("/XObject", {})).values():
                _managed_rgb(pdf, image, shared)
        _managed_rgb(pdf, xobject, shared)
    for target in streams:
        ops = pikepdf.parse_content_stream(target)
        changed = []
        for operands, op in ops:
            name = str(op)
            if name in ("rg", "RG"):
                cmyk = _cmyk(*(float(v) for v in operands))
                changed.append((cmyk, pikepdf.Operator("k" if name == "rg" else "K")))
            else:
                changed.append((operands, op))
        data = pikepdf.unparse_content_stream(changed)
        if isinstance(target, pikepdf.Page):
            target.obj.Contents = pdf.make_stream(data)
        else:
            target.write(data)

"""A chapter group's margins (folios, running heads) laid over its pages. The group is drawn without its margin
boxes, and they are drawn in a document of their own once the group's place in the book is known
(bookgen/weasy.py, `margins_document`): a page shift then redraws a few margin boxes, not the group. Here the
second document's pages are laid over the first's, as if WeasyPrint had drawn them together: the same content
stream after the page's own, its resources renamed apart (bookgen/join_fonts.py then merges the two subsets of a
font), its marked content an artifact (folios and running heads are pagination, not text of the book)."""
from __future__ import annotations

import io

import pikepdf
from pikepdf import Dictionary, Name, Operator

_KINDS = ("/Font", "/ExtGState", "/XObject", "/Pattern", "/Shading", "/ColorSpace", "/Properties")
_SUFFIX = "m"  # a margin resource's name: its name in the margins document, and this


def lay_over(body: bytes, margins: bytes | None, pages: list[int], drop_first: bool = False) -> bytes:
    """`body` with `margins`' pages laid over its pages of the same index, those in `pages` (counted without its
    first page when `drop_first`: the blank page before a chapter opening that the book does not need there)."""
    if not pages and not drop_first:
        return body
    with pikepdf.open(io.BytesIO(body)) as dst:
        if drop_first:
            del dst.pages[0]
        if pages:
            with pikepdf.open(io.BytesIO(margins)) as src:
                if len(src.pages) != len(dst.pages):
                    raise ValueError(f"{len(src.pages)} margin pages for {len(dst.pages)} pages")
                for index in pages:
                    _lay_page_over(dst, dst.pages[index].obj, src.pages[index].obj)
                return _saved(dst)  # (while the margins' document, which its streams come from, is open)
        return _saved(dst)


def _saved(pdf) -> bytes:
    from .join_pdf import save
    out = io.BytesIO()
    save(pdf, out)
    return out.getvalue()


def _lay_page_over(dst, page, over) -> None:
    resources = over.get("/Resources")
    renamed = {}
    if isinstance(resources, Dictionary):
        # everything it refers to, copied once (a direct dictionary cannot be copied alone)
        resources = dst.copy_foreign(resources if resources.is_indirect else over.owner.make_indirect(resources))
        own = page.get("/Resources")
        if not isinstance(own, Dictionary):
            page.Resources = own = Dictionary()
        for kind in _KINDS:
            entries = resources.get(kind)
            if not isinstance(entries, Dictionary):
                continue
            if not isinstance(own.get(kind), Dictionary):
                own[kind] = Dictionary()
            for key in entries.keys():
                new = Name(key + _SUFFIX)
                renamed[key] = new
                own[kind][new] = entries[key]
    instructions = pikepdf.parse_content_stream(over)
    # Both documents begin their page with the same flip of the y axis, outside any q/Q: the page's own stream
    # leaves it in force, so the margins' stream goes on without its own. (Its first line only: parsing the
    # whole page would take longer than the rest of the overlay.)
    contents = page.get("/Contents")
    own = (contents[0] if isinstance(contents, pikepdf.Array) else contents).read_bytes()
    first = own[:own.find(b"\n")].split()
    flip = instructions[0] if instructions else None
    if flip is None or str(flip.operator) != "cm" or first[-1:] != [b"cm"] or \
            [float(x) for x in flip.operands] != [float(x) for x in first[:-1]]:
        raise ValueError("the margins' page does not begin as the page does")
    instructions = instructions[1:]
    out = []
    for operands, operator in instructions:
        op = str(operator)
        if op == "BDC":  # marked content (WeasyPrint tags a margin box's text as a Span): an artifact
            out.append(([Name("/Artifact")], Operator("BMC")))
            continue
        out.append(([renamed.get(str(o), o) if isinstance(o, Name) else o for o in operands], operator))
    stream = dst.make_stream(pikepdf.unparse_content_stream(out))
    streams = pikepdf.Array(list(contents) if isinstance(contents, pikepdf.Array) else [contents])
    streams.append(stream)
    page.Contents = streams


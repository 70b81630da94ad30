"""Parts: a section of type `part` (often a page holding only its title) groups the chapters after it, up to the
next part or the back matter, one level above them in every table of contents and in the PDF outline."""
from __future__ import annotations


def part_of(chapters) -> dict:
    """chapter id -> the id of the part it belongs to (chapters outside any part are not in the map)."""
    out, part = {}, None
    for c in chapters:
        if getattr(c, "parent", ""):
            continue  # a section of another chapter: it is where that chapter is
        if c.type == "part":
            part = c.id
        elif c.matter != "body":
            part = None
        elif part is not None:
            out[c.id] = part
    return out


def nest_parts(chapters, nodes) -> list:
    """Contents nodes (one per chapter, in order, each with `children`) with each part's chapters under it, and
    each nested entry (mdBook's SUMMARY.md) under the chapter it is a section of."""
    inside = part_of(chapters)
    by_id = {c.id: n for c, n in zip(chapters, nodes)}
    out = []
    for c, node in zip(chapters, nodes):
        if getattr(c, "parent", "") in by_id:
            by_id[c.parent]["children"].append(node)
        elif c.id in inside:
            by_id[inside[c.id]]["children"].append(node)
        else:
            out.append(node)
    return out


def nest_outline(pdf_bytes: bytes, chapters) -> bytes:
    """A PDF laid out in groups of chapters (bookgen/split_layout.py) has each group's outline at the top level:
    a group that begins inside a part has its chapters there. Move each part's chapters under it, matching the
    top-level entries to the chapters' titles in reading order."""
    import io

    import pikepdf

    inside = part_of(chapters)
    if not inside:
        return pdf_bytes
    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    changed = False
    with pdf.open_outline() as outline:
        queue = [c for c in chapters]
        part_item, top = None, []
        for item in list(outline.root):
            k = next((i for i, c in enumerate(queue) if c.title == item.title), None)
            chapter = None
            if k is not None:  # the chapters before it are inside an earlier entry
                chapter = queue[k]
                del queue[:k + 1]
            if chapter is not None and chapter.type == "part":
                part_item = item
            elif chapter is not None and chapter.id in inside and part_item is not None:
                part_item.children.append(item)
                changed = True
                continue
            elif chapter is not None:
                part_item = None
            top.append(item)
        if changed:
            outline.root[:] = top
    if not changed:
        return pdf_bytes
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()

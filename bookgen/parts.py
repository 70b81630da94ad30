"""Parts: a section of type `part` (often a page holding only its title) groups the chapters after it, up to the
next part or the back matter, one level above them in every table of contents and in the PDF outline."""
from __future__ import annotations


def part_of(chapters) -> dict:
    """chapter id -> the id of the part it belongs to (chapters outside any part are not in the map)."""
    out, part = {}, None
    for c in chapters:
        if c.type == "part":
            part = c.id
        elif c.matter != "body":
            part = None
        elif part is not None:
            out[c.id] = part
    return out


def nest_parts(chapters, nodes) -> list:
    """Contents nodes (one per chapter, in order, each with `children`) with each part's chapters under it."""
    inside = part_of(chapters)
    by_id = {c.id: n for c, n in zip(chapters, nodes)}
    out = []
    for c, node in zip(chapters, nodes):
        if c.id in inside:
            by_id[inside[c.id]]["children"].append(node)
        else:
            out.append(node)
    return out

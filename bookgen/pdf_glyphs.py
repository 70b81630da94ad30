"""Which glyphs each page of a PDF written by WeasyPrint shows, and what they stand for: the join
(bookgen/join_pdf.py) checks that every joined page shows the glyphs its group laid out (same face, glyph id,
width and text), so that a font merged wrongly is an error naming the page instead of a silently wrong book.

The join copies each page's content stream unchanged; only the fonts behind it change. So a page is read once
(which glyph ids it shows in which font resource), and each font pair (the part's, the joined PDF's) is
compared on the glyphs shown through it. WeasyPrint writes text as hex strings with 2-byte glyph ids
(Identity-H), each run after its `Tf`: regular expressions read a page in C, not glyph by glyph in Python.
"""
from __future__ import annotations

import re
import sys
from array import array

import pikepdf
from pikepdf import Array, Dictionary, Name

_TF = re.compile(rb"/([^\s/\[\]<>()%{}]+)\s+[-+\d.]+\s+Tf")
_HEX = re.compile(rb"<([0-9a-fA-F\s]*)>")
_DO = re.compile(rb"/([^\s/\[\]<>()%{}]+)\s+Do\b")
_LITERAL = re.compile(rb"\)\s*\]?\s*(?:Tj|TJ|'|\")")  # text as a literal string: not WeasyPrint's way


class Unreadable(Exception):
    """A content stream written another way than WeasyPrint writes text."""


def contents(obj) -> bytes:
    """A page's (or form XObject's) content stream, decoded."""
    if isinstance(obj, pikepdf.Stream):
        return obj.read_bytes()
    stream = obj.get("/Contents")
    if stream is None:
        return b""
    if isinstance(stream, Array):
        return b"\n".join(c.read_bytes() for c in stream)
    return stream.read_bytes()


def raw_contents(obj) -> list:
    """The content streams as stored (compressed), to see that a copy is unchanged without decoding it."""
    stream = obj.get("/Contents")
    if stream is None:
        return []
    return [s.read_raw_bytes() for s in (stream if isinstance(stream, Array) else [stream])]


def shown(obj, depth: int = 0) -> dict:
    """{(form names..., font resource name): set of glyph ids} that a page or form XObject shows."""
    data = contents(obj)
    if _LITERAL.search(data):
        raise Unreadable()
    out: dict = {}
    marks = list(_TF.finditer(data))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(data)
        hexes = b"".join(_HEX.findall(data, m.end(), end))
        if hexes:
            out.setdefault((m.group(1).decode("latin-1"),), set()).update(_glyph_ids(hexes))
    if marks and _HEX.search(data, 0, marks[0].start()) or not marks and _HEX.search(data):
        raise Unreadable()  # text shown before any font is chosen
    resources = obj.get("/Resources")
    xobjects = resources.get("/XObject") if isinstance(resources, Dictionary) else None
    if isinstance(xobjects, Dictionary) and depth < 8:
        for name in {m.group(1).decode("latin-1") for m in _DO.finditer(data)}:
            form = xobjects.get("/" + name)
            if isinstance(form, pikepdf.Stream) and form.get("/Subtype") == Name.Form:
                for key, ids in shown(form, depth + 1).items():
                    out.setdefault((name,) + key, set()).update(ids)
    return out


def _glyph_ids(hexes: bytes) -> array:
    ids = array("H", bytes.fromhex(hexes.decode("ascii")))
    if sys.byteorder == "little":
        ids.byteswap()
    return ids


def font_at(obj, key: tuple):
    """The font dictionary that `key` (from `shown`) names, through the forms it passes."""
    for name in key[:-1]:
        obj = obj.Resources.XObject["/" + name]
    resources = obj.get("/Resources")
    fonts = resources.get("/Font") if isinstance(resources, Dictionary) else None
    font = fonts.get("/" + key[-1]) if isinstance(fonts, Dictionary) else None
    return font if isinstance(font, Dictionary) else None


def font_table(font) -> tuple:
    """(/BaseFont, {glyph id: text}, {glyph id: width}) of a Type0 font."""
    from .join_fonts import cmap_entries, widths_of
    if font is None:
        return "", {}, {}
    texts = {}
    for cid, hexed in cmap_entries(font.get("/ToUnicode")).items():
        try:
            texts[cid] = bytes.fromhex(hexed).decode("utf-16-be")
        except ValueError:
            texts[cid] = "\ufffd"
    descendants = font.get("/DescendantFonts")
    widths = widths_of(descendants[0].get("/W", [])) if isinstance(descendants, Array) and len(descendants) else {}
    return str(font.get("/BaseFont", "")), texts, widths


def face(base: str) -> str:
    """A font's name without its subset tag (`/ABCDEF+Name` -> `Name`)."""
    base = base.lstrip("/")
    return base[7:] if len(base) > 7 and base[6] == "+" else base

"""What each page of a PDF written by WeasyPrint shows, glyph by glyph: (text, width) through the page's own
fonts (their /ToUnicode and /W). The join (bookgen/join_pdf.py) compares every joined page with the page its
group laid out, so that a font merged wrongly (another character, a missing glyph, another width) is an error
naming the page instead of a silently wrong book.

WeasyPrint writes text as hex strings in `TJ` arrays with 2-byte glyph ids (Identity-H): a regular expression
reads them about ten times faster than a full content-stream parse, which is used for anything else.
"""
from __future__ import annotations

import re

import pikepdf
from pikepdf import Array, Dictionary, Name

_TOKENS = re.compile(rb"/([^\s/\[\]<>()%{}]+)\s+[-+\d.]+\s+Tf"  # a font chosen
                     rb"|\[([^\]]*)\]\s*TJ"                       # shown text with kerning
                     rb"|<([0-9a-fA-F\s]*)>\s*Tj"                 # shown text
                     rb"|/([^\s/\[\]<>()%{}]+)\s+Do\b"            # a form drawn
                     rb"|(\)\s*(?:Tj|'|\"))")                         # a literal string shown: not WeasyPrint's way
_HEX = re.compile(rb"<([0-9a-fA-F\s]*)>")


class Unreadable(Exception):
    """A content stream written another way than WeasyPrint writes text."""


class Fonts:
    """Each font's glyph id -> (text, width), read once per font object. `on_new(base_font, texts)` is called
    when a font is met for the first time."""

    def __init__(self, on_new=None):
        self._maps: dict = {}
        self._on_new = on_new

    def glyph(self, font, cid: int) -> tuple:
        """(the font's /BaseFont, glyph id, text, width)."""
        key = font.objgen if font.is_indirect else id(font)
        table = self._maps.get(key)
        if table is None:
            table = self._maps[key] = (str(font.get("/BaseFont", "")),) + _font_table(font)
            if self._on_new is not None:
                self._on_new(table[0], table[1])
        base, texts, widths = table
        return base, cid, texts.get(cid, "\ufffd"), widths.get(cid)


def page_glyphs(page: Dictionary, fonts: Fonts, *, resources=None, depth: int = 0) -> list:
    """The glyphs `page` (or a form XObject) shows, in content order: [(base font, glyph id, text, width)...]."""
    resources = page.get("/Resources") if resources is None else resources
    data = _contents(page)
    try:
        return _read(data, resources, fonts, depth)
    except Unreadable:
        return _parsed(page, resources, fonts, depth)


def _contents(obj) -> bytes:
    if isinstance(obj, pikepdf.Stream):  # a form XObject
        return obj.read_bytes()
    contents = obj.get("/Contents")
    if contents is None:
        return b""
    if isinstance(contents, Array):
        return b"\n".join(c.read_bytes() for c in contents)
    return contents.read_bytes()


def _font_of(resources, name: str):
    table = resources.get("/Font") if isinstance(resources, Dictionary) else None
    font = table.get("/" + name) if isinstance(table, Dictionary) else None
    return font if isinstance(font, Dictionary) else None


def _read(data: bytes, resources, fonts: Fonts, depth: int) -> list:
    out, font = [], None
    for m in _TOKENS.finditer(data):
        chosen, array, single, form, literal = m.groups()
        if literal is not None:
            raise Unreadable()
        if chosen is not None:
            font = _font_of(resources, chosen.decode("latin-1"))
        elif form is not None:
            out += _form(resources, form.decode("latin-1"), fonts, depth)
        else:
            hexes = _HEX.findall(array) if array is not None else [single]
            if array is not None and b"(" in array:
                raise Unreadable()
            for h in hexes:
                out += _show(font, bytes.fromhex(h.decode("ascii")), fonts)
    return out


def _parsed(page, resources, fonts: Fonts, depth: int) -> list:
    out, font = [], None
    for operands, op in pikepdf.parse_content_stream(page):
        op = str(op)
        if op == "Tf":
            font = _font_of(resources, str(operands[0])[1:])
        elif op == "Do":
            out += _form(resources, str(operands[0])[1:], fonts, depth)
        elif op in ("Tj", "'", '"'):
            out += _show(font, bytes(operands[-1]), fonts)
        elif op == "TJ":
            for item in operands[0]:
                if isinstance(item, pikepdf.String):
                    out += _show(font, bytes(item), fonts)
    return out


def _form(resources, name: str, fonts: Fonts, depth: int) -> list:
    table = resources.get("/XObject") if isinstance(resources, Dictionary) else None
    form = table.get("/" + name) if isinstance(table, Dictionary) else None
    if not isinstance(form, pikepdf.Stream) or form.get("/Subtype") != Name.Form or depth > 8:
        return []
    own = form.get("/Resources")
    return page_glyphs(form, fonts, resources=own if own is not None else resources, depth=depth + 1)


def _show(font, data: bytes, fonts: Fonts) -> list:
    if font is None:
        return [("", None, "\ufffd", None)] * (len(data) // 2)
    return [fonts.glyph(font, int.from_bytes(data[i:i + 2], "big")) for i in range(0, len(data) - 1, 2)]


def _font_table(font) -> tuple:
    from .join_pdf import _cmap_entries, _widths
    texts = {}
    for cid, hexed in _cmap_entries(font.get("/ToUnicode")).items():
        try:
            texts[cid] = bytes.fromhex(hexed).decode("utf-16-be")
        except ValueError:
            texts[cid] = "\ufffd"
    descendants = font.get("/DescendantFonts")
    widths = _widths(descendants[0].get("/W", [])) if isinstance(descendants, Array) and len(descendants) else {}
    return texts, widths


def face(base: str) -> str:
    """A font's name without its subset tag (`ABCDEF+Name` -> `Name`)."""
    base = base.lstrip("/")
    return base[7:] if len(base) > 7 and base[6] == "+" else base


def first_difference(expected: list, got: list) -> str:
    """A short description of where two pages' glyphs part: [(face, glyph id, text, width)...] each."""
    for i, (a, b) in enumerate(zip(expected, got)):
        if a != b:
            before = "".join(g[2] for g in expected[max(0, i - 12):i])
            return (f"after {before!r}: {a[2]!r} (glyph {a[1]} of {a[0]}, width {a[3]}) became {b[2]!r} "
                    f"(glyph {b[1]} of {b[0]}, width {b[3]})")
    return f"{len(expected)} glyphs became {len(got)}"

"""Notes too long for the foot of a page. WeasyPrint 70 does not continue a footnote on the next page: a note
taller than the page is cut off, and one nearly as tall leaves pages almost empty before it. Such a note is set
as an endnote of its chapter instead (its call stays, linked to it), with a warning: no word is lost.

Which notes: those whose estimated height passes most of the page (before the layout, from the page size and
the note's text), and any note the layout still finds too long (`lay_out_keeping_notes` lays out again)."""
from __future__ import annotations

import dataclasses
import math
import re

from lxml import html as lxml_html

from .cjk import is_cjk
from .errors import BookError, Problem

# A note estimated taller than this share of the room for notes is an endnote (the estimate runs about a fifth
# over a Latin text's real height: a note that fills three quarters of a page stays at its foot).
SHARE = 0.95
TEXT_SIZE = {"A4": 12, "Letter": 12, "Trade": 11}  # as templates/print/page.css.j2
NOTE_SIZE, NOTE_LEADING = 0.78, 1.3  # as styles/print.css .footnote
NOTE_AREA_GAP_PT = 17 + 14  # the area's margin and padding, and one line of text above it
_TOO_LONG = re.compile(r"^footnote (\d+) \(called on [^)]*\) is (longer than a page can hold|not printed anywhere)")


def _pt(length: str) -> float:
    from .units import pt
    return pt(length)


def note_room(size) -> tuple[float, float, float]:
    """(height available to notes, line width, note font size), in points, for a page size."""
    w, h = _pt(size.width), _pt(size.height)
    top, outer, bottom, inner = (_pt(m) for m in size.margins)
    font = TEXT_SIZE.get(size.name, 10.5) * NOTE_SIZE
    return h - top - bottom - NOTE_AREA_GAP_PT, w - outer - inner, font


def note_height(html: str, width: float, font: float) -> float:
    """An upper estimate of a note's height: each paragraph's characters at half an em (a CJK one at an em)."""
    root = lxml_html.fragment_fromstring(str(html) or "<p></p>", create_parent="div")
    paragraphs = [el.text_content() for el in root if isinstance(el.tag, str)] or [root.text_content()]
    lines = 0
    for text in paragraphs:
        for line in text.split("\n") if "\n" in text and root.find(".//pre") is not None else [text]:
            ems = sum(1.0 if is_cjk(ch) else 0.5 for ch in line)
            lines += max(1, math.ceil(ems * font / width))
    return lines * font * NOTE_LEADING


def as_endnotes(chapters, ids, why) -> tuple:
    """The chapters with the notes in `ids` set as endnotes, and a warning for each."""
    out, warnings = [], []
    for c in chapters:
        if not any(n.id in ids and not n.endnote for n in c.notes):
            out.append(c)
            continue
        moved = {n.id: dataclasses.replace(n, endnote=True) if n.id in ids else n for n in c.notes}
        pieces = tuple(moved[p.id] if hasattr(p, "endnote") else p for p in c.pieces)
        out.append(dataclasses.replace(c, notes=tuple(moved[n.id] for n in c.notes), pieces=pieces))
        for n in c.notes:
            if n.id in ids and not n.endnote:
                warnings.append(Problem(c.source, f"footnote {n.number} is {why}: it is printed at the end of the "
                                        "chapter, its call linked to it", None,
                                        "shorten the note, or split it, to have it at the foot of its page",
                                        warning=True))
    return tuple(out), warnings


def defer_long_notes(chapters, size, problems):
    """Before the layout: notes estimated taller than most of a page become endnotes (warned in `problems`)."""
    room, width, font = note_room(size)
    ids = {n.id for c in chapters for n in c.notes if note_height(n.html, width, font) > SHARE * room}
    if not ids:
        return tuple(chapters)
    chapters, warnings = as_endnotes(chapters, ids, "too long for the foot of a page")
    for w in warnings:
        problems.warn(w.path, w.message, w.line, w.hint)
    return chapters


def too_long(book, error: BookError) -> set | None:
    """The ids of the notes a layout refused as too long for a page, when that is all it refused."""
    by_source = {}
    for c in book.chapters:
        by_source.setdefault(str(c.source), c)
    ids = set()
    for p in error.problems:
        m = _TOO_LONG.match(p.message)
        chapter = by_source.get(str(p.path))
        if not m or chapter is None:
            return None
        ids |= {n.id for n in chapter.notes if n.number == int(m.group(1))}
    return ids or None


def lay_out_keeping_notes(lay_out, book, *args, **kwargs):
    """`lay_out(book, ...)`; when the layout finds a note too long for a page (the estimate missed it), that
    note becomes an endnote and the book is laid out again: the build never fails, and loses no word, for it."""
    extra = []
    for _ in range(3):
        try:
            rendered = lay_out(book, *args, **kwargs)
        except BookError as e:
            ids = too_long(book, e)
            if not ids:
                raise
            chapters, warnings = as_endnotes(book.chapters, ids, "too long for one page")
            book = dataclasses.replace(book, chapters=chapters)
            extra += warnings
            continue
        rendered.moved_notes = list(extra) + list(rendered.moved_notes)
        return rendered
    raise BookError("internal error: notes too long for a page are still refused after setting them as endnotes")

"""Folios and page labels: front matter in lower-case roman (i, ii...), the body from 1. One rule for the page
map, the EPUB's page list and the PDF's /PageLabels, in both layouts."""
from __future__ import annotations

ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
         (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]


def roman(n: int) -> str:
    out = ""
    for value, letters in ROMAN:
        while n >= value:
            out, n = out + letters, n - value
    return out


def label(index: int, body_start: int) -> str:
    """The folio of the page at `index` (0-based) when the body opens at page index `body_start`."""
    return roman(index + 1) if index < body_start else str(index - body_start + 1)


def labels(count: int, body_start: int, first: int = 0) -> list[str]:
    """The folios of `count` pages from page index `first`."""
    return [label(first + i, body_start) for i in range(count)]


def label_ranges(page_count: int, body_start: int) -> list[tuple[int, str]]:
    """/PageLabels as (first page index, PDF numbering style): "r" lower-case roman, "D" decimal; each from 1."""
    ranges = [(0, "r")] if body_start > 0 else []
    if body_start < page_count or body_start == 0:
        ranges.append((body_start, "D"))
    return ranges

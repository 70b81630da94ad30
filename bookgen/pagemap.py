"""Where each printed page begins, in terms both editions share: (chapter id, block number, letters before).

Both editions render chapters from the same partial, so the n-th block element of a chapter (paragraph,
heading, list item, cell...) is the same in the print HTML and in the EPUB file. WeasyPrint's laid-out
pages tell which text box begins each page; counting the letters (characters other than spaces) of that
block laid out on earlier pages gives the place in the EPUB where the page break goes. Letters, not words:
a line broken after a spaced dash or inside a hyphenated word would make a word count drift. Text that
CSS generates (list numbers, `::before`) and a table head repeated on a new page are not counted.
"""
from __future__ import annotations

from dataclasses import dataclass

BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "pre", "figcaption", "dt", "dd",
              "caption", "blockquote", "figure", "table", "hr"}
SOFT_HYPHEN_BREAK = "\u2010"  # what WeasyPrint adds at a hyphenated line end
OBJECT = "\ufffc"  # an image in the text, counted as one letter by both editions


def first_pages(pages, anchors=lambda page: page.anchors, wanted=None) -> dict:
    """id -> index of the first page that holds it (`wanted`: only those ids). `anchors(page)` names a page's
    ids: `Page.anchors` of a laid-out document, or weasy.box_anchors of a page box at the barrier."""
    where: dict = {}
    for i, page in enumerate(pages):
        for name in anchors(page):
            if (wanted is None or name in wanted) and name not in where:
                where[name] = i
    return where


@dataclass(frozen=True)
class PageStart:
    index: int  # 0-based page index in the PDF
    label: str  # the folio as printed ("1", "2"...), or the roman numeral of front matter
    chapter: str | None  # id of the chapter the page's first text belongs to (None: front matter)
    block: int | None  # number of the block element in that chapter (document order, notes excluded)
    words: int  # words of that block on earlier pages
    text: str  # the first words on the page (for checks)
    chars: int = 0  # letters (characters other than spaces) of that block on earlier pages: exact where
    #                 counting words is not (a line broken after a spaced dash, a word hyphenated across pages)


def chapter_blocks(section, is_note) -> list:
    """Block elements of a chapter section in document order, leaving out the notes."""
    out = []

    def walk(el):
        for child in el:
            if not isinstance(child.tag, str) or is_note(child):
                continue
            if _local(child.tag) in BLOCK_TAGS:
                out.append(child)
            walk(child)
    walk(section)
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def page_starts(document, html_root, chapter_ids, labels) -> list[PageStart]:
    """For every page of a rendered WeasyPrint document, where it begins."""
    from .weasy import text_lines

    parent = {child: p for p in html_root.iter() for child in p}
    block_key = {}  # element -> (chapter id, block index)
    for el in html_root.iter():
        if el.get("id") in chapter_ids and el.tag == "section":
            # notes are not the text's blocks; a nested entry's section (inside its chapter in print) is its own
            blocks = chapter_blocks(el, lambda e: "footnote" in (e.get("class") or "").split()
                                    or (e.tag == "section" and e.get("id") in chapter_ids))
            for n, b in enumerate(blocks):
                block_key[b] = (el.get("id"), n)

    # A table header repeated at the top of a continuation page is a copy: the page begins after it.
    repeated = {e for el in html_root.iter() if el.tag in ("thead", "tfoot") for e in el.iter()}

    def key_of(element):
        while element is not None and element not in block_key:
            element = parent.get(element)
        return block_key.get(element) if element is not None else None

    seen_text: dict = {}  # block key -> text laid out so far
    starts = []
    for i, page in enumerate(document.pages):
        first = None
        for line in text_lines(page, OBJECT):
            for box, text in line:
                key = key_of(box.element)
                if key is None or (box.element in repeated and key in seen_text):
                    continue
                if "::" in (getattr(box, "element_tag", "") or ""):
                    # generated text (a list number, hr::after): it is not in the EPUB, but it does show
                    # that the page begins with its block
                    if first is None:
                        acc = seen_text.get(key, "")
                        first = (key, len(acc.split()), [], _letters(acc))
                    continue
                if first is None:
                    acc = seen_text.get(key, "")
                    first = (key, len(acc.split()), [], _letters(acc))
                seen_text[key] = seen_text.get(key, "") + text
                if first[0] == key and len(" ".join(first[2]).split()) < 8:
                    first[2].append(text)
            # a new line: words do not run on, unless the line ended in a hyphenation break
            for key in {key_of(b.element) for b, _ in line} - {None}:
                if key not in seen_text:
                    continue
                acc = seen_text[key]
                if acc.endswith(SOFT_HYPHEN_BREAK):
                    seen_text[key] = acc[:-1]
                elif not acc.endswith(("-", "\u2013", "\u2014", "/")):
                    seen_text[key] = acc + " "
        if first is None:
            starts.append(PageStart(i, labels[i], None, None, 0, ""))
        else:
            (chapter, block), words, texts, chars = first
            starts.append(PageStart(i, labels[i], chapter, block, words, "".join(texts).strip(), chars))
    return starts


def _letters(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())



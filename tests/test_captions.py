"""Issue 10: a table's caption stays with its table at a page end. Forty captioned tables between paragraphs of
varying length, so that many captions fall near the foot of a page: each caption is on the page of its table's
first row, and some tables had to move whole to the next page (the case the rule is for)."""
from __future__ import annotations

import random

from conftest import build_into, pdftotext_pages
from goodbook import copy_book

WORDS = ("harbour lantern river stone bridge morning evening valley journey market coast field town village "
         "window letter ledger tide north south").split()


def chapter_with_tables(n: int = 40) -> str:
    rnd = random.Random(7)
    parts = ["---\ntitle: Many Tables\n---\n"]
    for i in range(1, n + 1):
        words = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 90)))
        parts.append(f"{words.capitalize()}.\n")
        parts.append(f"<table>\n<caption>Table {i}. Caption of table {i}</caption>\n"
                     f"<thead><tr><th>Stage</th><th>Value</th></tr></thead>\n<tbody>\n"
                     f"<tr><td>first{i}</td><td>{i}</td></tr>\n<tr><td>second{i}</td><td>{i * 2}</td></tr>\n"
                     f"</tbody>\n</table>\n")
    parts.append("## A Section\n\nThe chapter's other file links here.\n")  # the good book's link target
    return "\n".join(parts)


def test_every_caption_is_on_the_page_of_its_tables_first_row(tmp_path):
    book = copy_book(tmp_path)
    (book / "chapters" / "two.md").write_text(chapter_with_tables(), encoding="utf-8")
    result = build_into(book, tmp_path / "out", formats=("pdf",))
    pages = [" ".join(text.split()) for text in pdftotext_pages(result.outputs["pdf"])]  # captions wrap
    moved = 0
    for i in range(1, 41):
        caption = f"Table {i}. Caption of table {i}"
        page = next(p for p, text in enumerate(pages) if caption in text)
        assert f"first{i}" in pages[page].split(caption, 1)[1], (i, page)
        if caption in pages[page][:120]:  # the table begins the page (after the running head)
            moved += 1
    assert moved >= 1

"""Shapes found in a public Markdown book built as its author keeps it (You Don't Know JS Yet: each chapter file
starts with the book's title as `#`, then its own `#` title; figures close with spacing `<br><br>`)."""
from __future__ import annotations

import zipfile

from conftest import epubcheck
from goodbook import SLUG, build_cli, copy_book, edit


def test_the_books_title_atop_each_chapter_then_its_own(tmp_path):
    book = copy_book(tmp_path)
    for name, title in (("one.md", "The First Chapter"), ("two.md", "The Second Chapter")):
        edit(book / "chapters" / name, f"title: {title}\n---\n", f"---\n# A Guide: 2nd Edition\n# {title}\n")
        path = book / "chapters" / name
        path.write_text(path.read_text(encoding="utf-8").split("---\n---\n", 1)[1], encoding="utf-8")
    edit(book / "chapters" / "two.md", "# The Second Chapter\n", "# The Second Chapter\n\n# An Extra Part\n\nText.\n")
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    assert ("book/chapters/one.md: warning: the book's title heads 2 chapter(s) above the chapter's own `#` title: "
            "it is not printed again") in r.stderr
    assert "book/chapters/two.md:4: warning: a second level-1 heading 'An Extra Part' in one chapter is set as a " \
           "section" in r.stderr
    with zipfile.ZipFile(tmp_path / "dist" / f"{SLUG}.epub") as z:
        nav = z.read("EPUB/nav.xhtml").decode("utf-8")
        two = z.read("EPUB/two.xhtml").decode("utf-8")
    assert "The First Chapter" in nav and "The Second Chapter" in nav and "2nd Edition" not in nav
    assert "<h2" in two and "An Extra Part" in two
    assert build_cli(tmp_path, "--strict").returncode == 1


def test_spacing_breaks_in_a_figure_are_dropped(tmp_path):
    book = copy_book(tmp_path)
    with (book / "chapters" / "one.md").open("a", encoding="utf-8") as f:
        f.write('\n<figure>\n    <img src="../images/square.png" alt="A square">\n'
                '    <figcaption><em>Fig. 1: A square</em></figcaption>\n    <br><br>\n</figure>\n')
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    report = epubcheck(tmp_path / "dist" / f"{SLUG}.epub")
    assert report["errors"] == [] and report["warnings"] == []

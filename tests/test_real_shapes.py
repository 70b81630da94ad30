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


def test_file_names_in_any_script_and_the_same_name_in_two_folders(tmp_path):
    """A Chinese author names files in Chinese; a book in parts has part1/intro.md and part2/intro.md. Both were
    refused ("not a valid id", "used by another chapter"); the ids are now made valid and unique."""
    book = copy_book(tmp_path)
    for rel, title in (("第一章.md", "第一章"), ("part1/intro.md", "Part One Opens"), ("part2/intro.md", "Part Two Opens")):
        path = book / "chapters" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: {title}\n---\n\nThe text of {title}.\n", encoding="utf-8")
    toml = book / "book.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('chapters = ["chapters/one.md", "chapters/two.md"]',
                                 'chapters = ["chapters/one.md", "chapters/第一章.md", "chapters/part1/intro.md", '
                                 '"chapters/part2/intro.md", "chapters/two.md"]'), encoding="utf-8")
    assert toml.read_text(encoding="utf-8") != text
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(tmp_path / "dist" / f"{SLUG}.epub") as z:
        names = [n for n in z.namelist() if n.endswith(".xhtml")]
        nav = z.read("EPUB/nav.xhtml").decode("utf-8")
    assert {"EPUB/chapter-2.xhtml", "EPUB/intro.xhtml", "EPUB/intro-2.xhtml"} <= set(names), names
    assert nav.index("第一章") < nav.index("Part One Opens") < nav.index("Part Two Opens")
    assert epubcheck(tmp_path / "dist" / f"{SLUG}.epub")["errors"] == []

"""Issue 13: Pandoc books build as their authors keep them. Two fixture books written as Pandoc books are:
tests/fixtures/pandoc-yaml/book.md (one German file: a YAML block with fields of Pandoc's LaTeX output, chapters at
`#` with `{#id epub:type=...}`, notes defined at the end of the file, multi-paragraph notes, an inline note, a
bracketed span, nested fenced divs, a pipe and a grid table, an image with `{width=60%}`, a code block) and
tests/fixtures/pandoc-percent/ (two files, a `%` title block, a simple table, a link between the files, a listing
with a caption). Expected values are literals read off those files."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, NS, ROOT, Epub, build_into, normalize, run_cli
from test_corpus import DEBIAN_EPUBCHECK, run_epubcheck

YAML_BOOK = FIXTURES / "pandoc-yaml" / "book.md"
PERCENT = [FIXTURES / "pandoc-percent" / "01-opening.md", FIXTURES / "pandoc-percent" / "02-letters.md"]


@pytest.fixture(scope="module")
def yaml_book(tmp_path_factory):
    return build_into(YAML_BOOK.parent, tmp_path_factory.mktemp("pandoc-yaml"), files=(YAML_BOOK,))


@pytest.fixture(scope="module")
def percent_book(tmp_path_factory):
    return build_into(PERCENT[0].parent, tmp_path_factory.mktemp("pandoc-percent"), files=tuple(PERCENT))


def nav_titles(epub: Epub) -> list[str]:
    nav = epub.xml("nav.xhtml").find(".//x:nav[@epub:type='toc']", NS)
    return ["".join(a.itertext()) for a in nav.iterfind("x:ol/x:li/x:a", NS)]


def pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return text.split("\f")


def test_yaml_metadata_becomes_the_books(yaml_book):
    epub = Epub(yaml_book.outputs["epub"])
    assert epub.meta("title")[0] == "Die Brücke über die Drina: Notizen"
    assert epub.meta("creator") == ["Marta Kovač", "Jonas Weber"]
    assert epub.meta("language") == ["de-DE"]
    assert epub.meta("publisher") == ["Fixture Press"] and epub.meta("rights") == ["© 2024 Marta Kovač, Jonas Weber"]
    assert epub.meta("subject") == ["Literatur", "Balkan", "Brücken"]
    assert " ".join(epub.meta("description")[0].split()) == ("Notes on a novel and its bridge, written for readers "
                                                            "of the German edition.")
    assert epub.meta("date")[0].startswith("2024-03-15")
    unused = [str(w) for w in yaml_book.warnings if "not used by this build" in str(w)]
    assert len(unused) == 1 and "documentclass, toc, geometry" in unused[0] and "book.md" in unused[0]


def test_chapters_are_cut_at_level_one_headings_with_their_ids_and_types(yaml_book):
    epub = Epub(yaml_book.outputs["epub"])
    # the text before the first `#` opens the book, titled as the book
    assert nav_titles(epub) == ["Die Brücke über die Drina: Notizen", "Vorwort", "Die Brücke", "Die Zeit", "Anhang"]
    spine = epub.spine_hrefs
    assert {"vorwort.xhtml", "bruecke.xhtml", "zeit.xhtml"} <= set(spine)  # `{#vorwort}`, `{#bruecke}`, `{#zeit}`
    assert 'epub:type="frontmatter"' in epub.zip.read(epub.base + "vorwort.xhtml").decode()  # epub:type=preface
    anhang = next(h for h in spine if "anhang" in h)
    assert 'epub:type="backmatter"' in epub.zip.read(epub.base + anhang).decode()  # epub:type=appendix
    bruecke = epub.xml("bruecke.xhtml")
    assert [a.get("href") for a in bruecke.iterfind(".//x:a", NS) if "Zeit" in "".join(a.itertext())] \
        == ["zeit.xhtml"]  # [Kapitel über die Zeit](#zeit): the id of another chapter
    assert not [w for w in yaml_book.warnings if "not listed" in str(w)]


def test_notes_print_on_their_calls_pages_whatever_their_place_in_the_file(yaml_book):
    pages = [normalize(p) for p in pdf_pages(yaml_book.outputs["pdf"])]
    # defined at the end of the file, called in "Die Brücke"
    call = normalize("Die Brücke hat elf Bögen")
    note = normalize("Genau genommen elf Bögen, von denen der mittlere der höchste ist")
    assert [i for i, p in enumerate(pages) if call in p] == [i for i, p in enumerate(pages) if note in p]
    # a note's second paragraph (indented after a blank line) is the note's, not code in the text
    second = normalize("Der zweite Absatz dieser Anmerkung ist eingerückt")
    vorwort = next(p for p in pages if normalize("Ivo Andrić schrieb den Roman") in p)
    assert second in vorwort
    epub = Epub(yaml_book.outputs["epub"])
    assert not list(epub.xml("vorwort.xhtml").iterfind(".//x:pre", NS))
    notes = "".join(epub.xml("vorwort.xhtml").find(".//x:aside", NS).itertext())
    assert "Der zweite Absatz" in notes
    assert normalize("Eine Inline-Anmerkung, wie Pandoc sie kennt") in normalize(epub.all_text())


def test_implicit_header_references_link_and_a_dead_link_is_its_text(yaml_book):
    """`[Anhang]` (Pandoc: a link to the heading of that text) and `[verlorener Verweis](#gibt-es-nicht)` (Pandoc
    builds it dead; EPUBCheck would refuse it): a link to the appendix, and a warning with the text kept."""
    epub = Epub(yaml_book.outputs["epub"])
    zeit = epub.xml("zeit.xhtml")
    links = {"".join(a.itertext()): a.get("href") for a in zeit.iterfind(".//x:a", NS)}
    assert links.get("Anhang", "").startswith("anhang.xhtml") and "verlorener Verweis" not in links
    assert "verlorener Verweis" in "".join(zeit.itertext())
    dead = [str(w) for w in yaml_book.warnings if "#gibt-es-nicht" in str(w)]
    source = YAML_BOOK.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(source, 1) if "(#gibt-es-nicht)" in text)
    assert len(dead) == 1 and f"book.md:{line}: warning:" in dead[0]


def test_spans_divs_tables_and_image_attributes_are_read(yaml_book):
    epub = Epub(yaml_book.outputs["epub"])
    bruecke = epub.xml("bruecke.xhtml")
    spans = ["".join(s.itertext()) for s in bruecke.iterfind(".//x:span[@class='smallcaps']", NS)]
    assert [" ".join(s.split()) for s in spans] == ["Mehmed-paša Sokolović"]
    note = bruecke.find(".//x:div[@class='note']", NS)
    assert note is not None and note.find("x:div[@class='warning']", NS) is not None  # nested as in Pandoc
    assert "Und wieder die äußere Bemerkung." in "".join(note.itertext())
    rows = [["".join(c.itertext()).strip() for c in tr] for tr in bruecke.iterfind(".//x:tr", NS)]
    assert rows == [["Jahr", "Ereignis"], ["1571", "Die Brücke wird fertig."], ["1914", "Der Krieg erreicht die Stadt."]]
    anhang = epub.xml(next(h for h in epub.spine_hrefs if "anhang" in h))
    terms = [("".join(dt.itertext()), "".join(dd.itertext())) for dt, dd in
             zip(anhang.iterfind(".//x:dl/x:dt", NS), anhang.iterfind(".//x:dl/x:dd", NS))]
    assert [t for t, _ in terms] == ["Ćuprija", "Kapija"] and terms[1][1].startswith("Die breite Stelle")
    zeit = [["".join(c.itertext()).strip() for c in tr] for tr in epub.xml("zeit.xhtml").iterfind(".//x:tr", NS)]
    assert zeit == [["a", "b"], ["1", "2"]]  # the grid table
    text = epub.all_text() + "".join(pdf_pages(yaml_book.outputs["pdf"]))
    assert "{width" not in text and "{.smallcaps}" not in text and ":::" not in text and "+======" not in text
    assert not [w for w in yaml_book.warnings if "Pandoc" in str(w)]


def test_every_code_block_is_highlighted_and_its_language_named(yaml_book, percent_book):
    for result in (yaml_book, percent_book):
        epub = Epub(result.outputs["epub"])
        blocks = [pre for h in epub.spine_hrefs for pre in epub.xml(h).iterfind(".//x:pre", NS)]
        assert blocks
        for pre in blocks:
            assert pre.find(".//x:span[@class]", NS) is not None, "".join(pre.itertext())
            named = pre.get("aria-label") or "".join(pre.getparent().find("x:figcaption", NS).itertext())
            assert "Python" in named


def test_percent_block_and_several_files(percent_book):
    epub = Epub(percent_book.outputs["epub"])
    assert epub.meta("title") == ["Letters from the Salt Marsh"]
    assert epub.meta("creator") == ["Ruth Abernethy", "Tomás Ortega"]
    assert epub.meta("date")[0].startswith("2023")
    assert nav_titles(epub) == ["The Marsh at Low Water", "A Note on Spelling", "The Letters", "Afterword"]
    assert any("no lang" in str(w) and "01-opening.md" in str(w) for w in percent_book.warnings)
    opening = epub.xml("low-water.xhtml")
    links = [a.get("href") for a in opening.iterfind(".//x:a", NS) if "second part" in "".join(a.itertext())]
    assert [l.split("#")[0] for l in links] == ["the-letters.xhtml"]  # 02-letters.md#the-letters: the next file
    rows = [["".join(c.itertext()).strip() for c in tr] for tr in opening.iterfind(".//x:tr", NS)]
    assert rows == [["Year", "Letters", "Writer"], ["1952", "14", "Ruth"], ["1961", "3", "Tomás"]]
    letters = epub.xml("the-letters.xhtml")
    caption = letters.find(".//x:figure[@class='listing short']/x:figcaption", NS)
    assert "".join(caption.itertext()) == "The list of birds, as a program would keep it (Python)"
    code = "".join(letters.find(".//x:figure/x:pre", NS).itertext())
    assert code.splitlines()[0] == 'birds = ["redshank", "curlew", "little egret", "brent goose"]'
    pdf = normalize("".join(pdf_pages(percent_book.outputs["pdf"])))
    assert normalize("The list of birds, as a program would keep it") in pdf


@pytest.mark.parametrize("which", ["yaml", "percent"])
def test_epubcheck_5_and_4_report_nothing(which, yaml_book, percent_book):
    from bookgen.check import epubcheck_jar
    epub = (yaml_book if which == "yaml" else percent_book).outputs["epub"]
    assert DEBIAN_EPUBCHECK.is_file()
    for jar in (Path(epubcheck_jar()), DEBIAN_EPUBCHECK):
        assert run_epubcheck(jar, epub) == [], jar


def test_a_problem_names_the_file_and_its_real_line(tmp_path):
    book = tmp_path / "book.md"
    shutil.copy(YAML_BOOK, book)
    shutil.copytree(YAML_BOOK.parent / "images", tmp_path / "images")
    lines = book.read_text(encoding="utf-8").splitlines()
    n = lines.index("Die Zeit vergeht auf der Brücke anders.[^zeit] Ein Kapitel ohne Bild. Die") + 1
    lines[n - 1] += " Siehe [dort](javascript:alert(1))."
    book.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run_cli("--book", book, "--out", tmp_path / "dist", cwd=tmp_path)
    assert r.returncode == 1
    assert f"book.md:{n}: link 'javascript:alert(1)' uses a javascript: URL" in r.stderr, r.stderr
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.pdf"))


def test_the_command_line_takes_files_in_order(tmp_path):
    r = run_cli("--book", *PERCENT, "--out", tmp_path / "dist", "--format", "epub", "--quiet", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    epub = Epub(next((tmp_path / "dist").glob("*.epub")))
    assert nav_titles(epub)[0] == "The Marsh at Low Water"
    r = run_cli("--book", PERCENT[1], PERCENT[0], "--out", tmp_path / "again", "--format", "epub", "--quiet")
    assert r.returncode == 0, r.stderr
    assert nav_titles(Epub(next((tmp_path / "again").glob("*.epub"))))[:3] == \
        ["The Letters", "Afterword", "The Marsh at Low Water"]
    # the afterword (epub:type=afterword) now stands before chapters: set as a chapter, not refused
    assert "'Afterword' (afterword) stands among the chapters" in r.stderr
    bad = run_cli("--book", "book", PERCENT[0], "--out", tmp_path / "x")
    assert bad.returncode == 2 and "give one book folder, or Markdown files" in bad.stderr


def test_a_metadata_file_stands_beside_the_chapters(tmp_path):
    """`--book metadata.yml ch1.md ch2.md`, as `pandoc --metadata-file` books keep it (the YAML between `---`
    lines, a trailing blank line): its fields are the book's, its unused ones one warning naming it."""
    meta = tmp_path / "metadata.yml"
    meta.write_text("---\nlang: en-GB\nkeywords: [marsh, letters]\nmainfont: DejaVu Sans\n---\n\n", encoding="utf-8")
    for path in PERCENT:
        shutil.copy(path, tmp_path / path.name)
    result = build_into(tmp_path, tmp_path / "dist", files=(meta, *(tmp_path / p.name for p in PERCENT)),
                        formats=("epub",))
    epub = Epub(result.outputs["epub"])
    assert epub.meta("language") == ["en-GB"] and epub.meta("subject") == ["marsh", "letters"]
    assert epub.meta("title") == ["Letters from the Salt Marsh"]  # the % block still gives the title
    warnings = [str(w) for w in result.warnings]
    assert not [w for w in warnings if "no lang" in w]
    assert [w for w in warnings if "mainfont" in w and w.startswith(str(meta))]


def test_a_single_file_with_a_percent_block(tmp_path):
    """01-opening.md alone: its `%` block makes the book; its link to 02-letters.md (not in this book now) is a
    warning and prints as its text; EPUBCheck 5.3 and 4.2.6 report nothing."""
    from bookgen.check import epubcheck_jar
    result = build_into(PERCENT[0].parent, tmp_path / "dist", files=(PERCENT[0],))
    epub = Epub(result.outputs["epub"])
    assert epub.meta("title") == ["Letters from the Salt Marsh"]
    assert nav_titles(epub) == ["The Marsh at Low Water", "A Note on Spelling"]
    assert any("02-letters.md#the-letters" in str(w) and "not a chapter" in str(w) for w in result.warnings)
    assert "the second part" in epub.text("low-water.xhtml")
    for jar in (Path(epubcheck_jar()), DEBIAN_EPUBCHECK):
        assert run_epubcheck(jar, result.outputs["epub"]) == [], jar


def test_a_file_without_headings_is_one_chapter_and_a_missing_file_is_named(tmp_path):
    """A valid Pandoc document with no `#` heading is a book of one chapter, never refused; a file given that
    does not exist is one error naming it, before anything is read."""
    plain = tmp_path / "plain.md"
    plain.write_text("---\ntitle: Just Text\nlang: en\nauthor: R. Writer\n---\n\nA book with no headings at all, "
                     "only\nparagraphs of text.\n\nA second paragraph.\n", encoding="utf-8")
    result = build_into(tmp_path, tmp_path / "dist", files=(plain,))
    epub = Epub(result.outputs["epub"])
    assert nav_titles(epub) == ["Just Text"]
    assert "A second paragraph." in epub.all_text()
    r = run_cli("--book", tmp_path / "missing.md", plain, "--out", tmp_path / "out")
    assert r.returncode == 1 and "missing.md: file not found" in r.stderr and "'chapters' is empty" not in r.stderr


def test_a_later_files_text_before_its_heading_goes_on_from_the_chapter_before(tmp_path):
    """Pandoc reads the files as one text: b.md's first paragraph, before its `#`, is the end of a.md's chapter."""
    (tmp_path / "a.md").write_text("---\ntitle: Two Files\nlang: en\nauthor: R. Writer\n---\n\n# One\n\nThe first "
                                   "chapter begins here.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("And it ends here, in the second file.\n\n# Two\n\nThe second chapter.\n",
                                   encoding="utf-8")
    result = build_into(tmp_path, tmp_path / "dist", files=(tmp_path / "a.md", tmp_path / "b.md"), formats=("epub",))
    epub = Epub(result.outputs["epub"])
    assert nav_titles(epub) == ["One", "Two"]
    assert "And it ends here, in the second file." in epub.text("one.xhtml").replace("\xa0", " ")


def test_ids_as_pandoc_gives_them_in_one_document(tmp_path):
    """As in Pandoc's own manual: a heading title used in two chapters (`#options` is the first, `#options-1` the
    second), and `### Title ### {#a--b}` (closing #s, and an id with two hyphens the typographer must not touch)."""
    (tmp_path / "doc.md").write_text(
        "---\ntitle: Ids\nlang: en\nauthor: R. Writer\n---\n\n# First\n\n## Options\n\nSee [the second](#options-1), "
        "[the first](#options) and [the tag](#extension--tagging).\n\n# Second\n\n## Options\n\nMore.\n\n"
        "### Extension: `tagging` ### {#extension--tagging}\n\nTagged.\n", encoding="utf-8")
    result = build_into(tmp_path, tmp_path / "dist", files=(tmp_path / "doc.md",), formats=("epub",))
    assert not [str(w) for w in result.warnings if "link" in str(w)]
    epub = Epub(result.outputs["epub"])
    links = {"".join(a.itertext()): a.get("href") for a in epub.xml("first.xhtml").iterfind(".//x:a", NS)}
    second = epub.xml("second.xhtml")
    ids = [h.get("id") for h in second.iter() if h.tag.endswith(("h2", "h3"))]
    assert links["the first"] == "#options" and links["the second"] == f"second.xhtml#{ids[0]}"
    assert links["the tag"] == f"second.xhtml#{ids[1]}"
    assert [" ".join("".join(h.itertext()).split()) for h in second.iter() if h.tag.endswith("h3")] == \
        ["Extension: tagging"]

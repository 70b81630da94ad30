"""Issue 2: one command turns book/ into a PDF and an EPUB, read back with real readers."""
from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from conftest import (DEFAULT_BOOK, NS, ROOT, SEED, Epub, epubcheck, normalize, pdf_pages_text,
                      run_cli)

TITLE = "Understanding the 1941 Pact of Neutrality"
CHAPTERS = ["Introduction", "The Background of the 1941 Pact", "The Key Provisions of the Pact",
            "The Implications of the Pact", "Military Strategies Following the Pact", "The Pact’s Aftermath",
            "Fun Fact", "Additional Resources", "Timeline of Key Dates"]


def seed_paragraphs():
    lines = [l.strip() for l in SEED.read_text(encoding="utf-8").splitlines() if l.strip()]
    return [l for l in lines if len(l.split()) > 12]  # paragraphs; the short lines are titles


def test_seed_is_beside_the_project():
    assert SEED.is_file(), f"the default book's seed should be at {SEED}"
    assert len(seed_paragraphs()) == 8


def test_cli_builds_default_book_and_reports(tmp_path):
    r = run_cli("--out", tmp_path)
    assert r.returncode == 0, r.stderr
    pdf = tmp_path / "understanding-the-1941-pact-of-neutrality.pdf"
    epub = tmp_path / "understanding-the-1941-pact-of-neutrality.epub"
    assert pdf.stat().st_size > 10_000 and epub.stat().st_size > 10_000
    assert f"wrote {pdf}" in r.stdout and f"wrote {epub}" in r.stdout
    assert re.search(r"\d+ KiB", r.stdout) and re.search(r"done in \d+\.\d+s", r.stdout)
    assert "WeasyPrint" not in r.stderr


def test_cli_help_and_bad_format(tmp_path):
    r = run_cli("--help")
    assert r.returncode == 0
    for option in ("--book", "--out", "--format", "--page-size"):
        assert option in r.stdout
    r = run_cli("--format", "docx", "--out", tmp_path)
    assert r.returncode == 2 and r.stderr == "error: --format docx: formats are pdf, epub, print, cover and site\n"
    assert not list(tmp_path.iterdir())


def test_format_epub_only(tmp_path):
    r = run_cli("--format", "epub", "--out", tmp_path, "--book", DEFAULT_BOOK)
    assert r.returncode == 0, r.stderr
    assert [p.suffix for p in tmp_path.iterdir() if not p.name.startswith(".")] == [".epub"]  # .bookgen-cache.json


def test_pdf_metadata(default_build):
    reader = PdfReader(default_build.outputs["pdf"])
    assert reader.metadata.title == TITLE
    assert reader.metadata.author == "Anonymous"
    assert reader.trailer["/Root"]["/Lang"] == "en-US"


def test_epub_metadata(default_build):
    book = Epub(default_build.outputs["epub"])
    assert book.meta("title")[0] == TITLE
    assert book.meta("creator") == ["Anonymous"]
    assert book.meta("language") == ["en-US"]
    assert book.zip.namelist()[0] == "mimetype"


@pytest.mark.parametrize("fmt", ["pdf", "epub"])
def test_every_seed_paragraph_in_both_editions(default_build, fmt):
    path = default_build.outputs[fmt]
    text = "".join(pdf_pages_text(path)) if fmt == "pdf" else Epub(path).all_text()
    flat = normalize(text)
    for para in seed_paragraphs():
        # sentence by sentence: a note call (a number) may follow a sentence
        for sentence in re.split(r"(?<=[.!?])\s+", para):
            assert normalize(sentence) in flat, sentence


def test_chapter_order_in_both_editions(default_build):
    pages = pdf_pages_text(default_build.outputs["pdf"])
    body = normalize("".join(pages[6:]))  # after the front matter
    positions = [body.find(normalize(t)) for t in CHAPTERS]
    assert -1 not in positions and positions == sorted(positions)
    book = Epub(default_build.outputs["epub"])
    titles = []
    for href in book.spine_hrefs:
        h1 = book.xml(href).find(".//x:section[@role]/x:header/x:h1", NS)
        if h1 is not None:
            titles.append("".join(h1.itertext()))
    assert titles == CHAPTERS


def test_editor_footnote_in_both_editions(default_build):
    pdf_text = normalize("".join(pdf_pages_text(default_build.outputs["pdf"])))
    assert normalize("Editor’s note: The order of events is the other way round") in pdf_text
    assert normalize("22 June 1941") in pdf_text
    book = Epub(default_build.outputs["epub"])
    chapter = book.xml("background.xhtml")
    aside = chapter.find(".//x:aside[@epub:type='footnote']", NS)
    assert aside is not None and "Editor’s note" in "".join(aside.itertext())
    assert "22 June 1941" in "".join(aside.itertext())


def test_editor_timeline_is_back_matter_and_marked(default_build):
    book = Epub(default_build.outputs["epub"])
    timeline = book.xml("timeline.xhtml")
    section = timeline.find(".//x:section[@id='timeline']", NS)
    assert section.get("{http://www.idpf.org/2007/ops}type") == "appendix"
    text = "".join(section.itertext())
    assert "editor’s addition" in text
    rows = section.findall(".//x:tbody/x:tr", NS)
    assert len(rows) == 8


def test_default_epub_passes_epubcheck(default_build):
    report = epubcheck(default_build.outputs["epub"])
    assert report["errors"] == [] and report["warnings"] == [], report["messages"]


def test_larger_epub_passes_epubcheck(larger_build):
    report = epubcheck(larger_build.outputs["epub"])
    assert report["errors"] == [] and report["warnings"] == [], report["messages"]


def test_larger_book_content_in_both(larger_build):
    pdf = normalize("".join(pdf_pages_text(larger_build.outputs["pdf"])))
    book = Epub(larger_build.outputs["epub"])
    epub = normalize(book.all_text())
    for phrase in ("Ångermanälven", "Œuvre", "χάρτης", "Zoë Ångström-Łukasiewicz", "def haversine",
                   "Mississippi", "Braces such as {{ this }} and {% this %} and {# this #} are printed"):
        assert normalize(phrase) in pdf, phrase
        assert normalize(phrase) in epub, phrase
    # template syntax in the text comes out literally
    roads = "".join(book.xml("roads.xhtml").itertext())
    assert "{{ this }}" in roads and "{% this %}" in roads and "{# this #}" in roads
    # the image, the table and the code block are in the EPUB
    maps = book.xml("maps.xhtml")
    img = maps.find(".//x:img", NS)
    assert img.get("alt") == "A bar chart of five invented river lengths"
    assert any(i.get("href") == img.get("src") for i in book.manifest.values())
    assert book.xml("rivers.xhtml").find(".//x:table", NS) is not None
    assert book.xml("code.xhtml").find(".//x:pre/x:code", NS) is not None


def test_title_with_markup_characters_is_escaped(larger_build):
    book = Epub(larger_build.outputs["epub"])
    assert book.meta("title")[0] == "Rivers & Roads: A Traveller’s <Notebook>"
    title = book.xml("titlepage.xhtml").find(".//x:h1", NS)
    assert "".join(title.itertext()) == "Rivers & Roads: A Traveller’s <Notebook>"
    assert PdfReader(larger_build.outputs["pdf"]).metadata.title.startswith("Rivers & Roads: A Traveller’s <Notebook>")


def test_links_between_chapters_work_in_both(larger_build):
    book = Epub(larger_build.outputs["epub"])
    hrefs = [a.get("href") for a in book.xml("maps.xhtml").iterfind(".//x:a", NS)]
    assert "rivers.xhtml" in hrefs and "rivers.xhtml#deltas" in hrefs
    reader = PdfReader(larger_build.outputs["pdf"])
    # the PDF links are internal (GoTo to a named destination or page), never to a file
    links = [a.get_object() for p in reader.pages for a in p.get("/Annots", []) or []]
    internal = [l for l in links if l.get("/Dest") is not None or (l.get("/A") or {}).get("/S") == "/GoTo"]
    assert len(internal) >= 10
    assert not [l for l in links if (l.get("/A") or {}).get("/S") == "/URI"
                and ".md" in str(l["/A"].get("/URI"))]


def test_build_py_is_thin():
    text = (ROOT / "build.py").read_text()
    assert len([l for l in text.splitlines() if l.strip() and not l.startswith("#")]) < 12

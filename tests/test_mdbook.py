"""Issue 13 (first part): an mdBook project builds as its author keeps it (tests/fixtures/mdbook-project: a
`[book]` table, src/SUMMARY.md with a prefix and a suffix chapter, parts, a nested entry and a draft, listings
included whole, by anchor and by line range, links to `.html` pages). Expected values come from the fixture's
files, written here as literals."""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import pytest
from lxml import etree

from conftest import FIXTURES, NS, build_into, epubcheck, run_cli

PROJECT = FIXTURES / "mdbook-project"
# SUMMARY.md's reading order: its `# ` part titles, and the chapters' `# ` titles
TOP = ["Foreword", "Getting Started", "Growing the Tool", "Glossary"]
PARTS = {"Getting Started": ["Installing the Toolchain", "A First Tool"],
         "Growing the Tool": ["Reading Arguments"], "Glossary": ["Crate", "Clap", "Include"]}  # (the glossary's ## sections)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_into(PROJECT, tmp_path_factory.mktemp("mdbook"))


def epub_files(result) -> dict:
    with zipfile.ZipFile(result.outputs["epub"]) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith((".xhtml", ".opf"))}


def pdf_text(result) -> str:
    return subprocess.run(["pdftotext", "-layout", str(result.outputs["pdf"]), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_summary_gives_the_reading_order_and_the_draft_is_a_warning(built):
    nav = etree.fromstring(epub_files(built)["EPUB/nav.xhtml"].encode("utf-8"))
    toc = nav.find(".//x:nav[@epub:type='toc']", NS)
    assert ["".join(a.itertext()) for a in toc.iterfind("x:ol/x:li/x:a", NS)] == TOP
    for li in toc.iterfind("x:ol/x:li", NS):
        title = "".join(li.find("x:a", NS).itertext())
        assert ["".join(a.itertext()) for a in li.iterfind("x:ol/x:li/x:a", NS)] == PARTS.get(title, []), title
    # `    - [On Linux](install-linux.md)`, nested under Installing the Toolchain
    install = next(li for li in toc.iter(f"{{{NS['x']}}}li") if "".join(li.find("x:a", NS).itertext())
                   == "Installing the Toolchain")
    assert "On Linux" in ["".join(a.itertext()) for a in install.iterfind("x:ol/x:li/x:a", NS)]
    warnings = [str(w) for w in built.warnings]
    assert any("SUMMARY.md:16: warning: draft chapter 'Error Handling' has no file yet" in w for w in warnings)
    files = epub_files(built)
    assert 'epub:type="frontmatter"' in files["EPUB/foreword.xhtml"]  # a prefix chapter
    assert 'epub:type="backmatter"' in files["EPUB/glossary.xhtml"]  # a suffix chapter


def test_metadata_comes_from_the_book_table_and_our_options_from_output_bookgen(built):
    opf = epub_files(built)["EPUB/content.opf"]
    assert "<dc:title" in opf and ">Small Tools in Rust</dc:title>" in opf
    assert ">Ines Okonkwo-Lindqvist</dc:creator>" in opf and ">Tomás Ferreira</dc:creator>" in opf
    assert "A short guide to writing small command-line tools" in opf
    from pypdf import PdfReader
    box = PdfReader(built.outputs["pdf"]).pages[0].mediabox
    assert abs(float(box.width) - 419.53) < 0.5  # [output.bookgen] page-size = "A5"


def test_includes_are_resolved_and_nothing_of_mdbook_syntax_is_printed(built):
    text = pdf_text(built)
    epub = "".join("".join(etree.fromstring(t.encode("utf-8")).itertext()) for t in epub_files(built).values())
    for edition in (text, epub):
        # the one `{{#` printed is the glossary's, written `\{{#include ...}}` to be printed as it is
        flat = "".join(edition.split())  # the PDF breaks the line inside the code span
        assert edition.count("{{#") == 1 and "{{#includepath/to/file.rs}}" in flat and "\\{{#" not in edition
        assert "ANCHOR" not in edition
        assert "rustc 1.83.0 (90b35a623 2024-11-26)" in edition  # {{#include listings/check.txt}}
        assert "cargo 1.83.0 (5ffbef321 2024-10-29)" in edition  # its last line
        assert "use super::*" not in edition  # a line mdBook hides in Rust code
        assert "#[test]" in edition and "#[cfg(test)]" in edition  # attributes are code
    first = epub_files(built)["EPUB/first-tool.xhtml"]
    blocks = ["".join(pre.itertext()) for pre in etree.fromstring(first.encode("utf-8")).iter(f"{{{NS['x']}}}pre")]
    assert blocks[1].startswith("fn main() {") and blocks[1].rstrip().endswith("}")  # the anchor `main` only
    assert blocks[2].strip() == "use std::env;\nuse std::process;"  # lines 1 to 2
    assert blocks[3].lstrip().startswith("#[cfg(test)]")  # from line 13 on
    arguments = "".join(etree.fromstring(epub_files(built)["EPUB/arguments.xhtml"].encode("utf-8")).itertext())
    assert "use std::env;" in arguments and "use std::process;" in arguments  # ::3


def test_links_to_html_pages_are_links_between_chapters(built):
    foreword = epub_files(built)["EPUB/foreword.xhtml"]
    for href in ('href="first-tool.xhtml"', 'href="install.xhtml"', 'href="glossary.xhtml#crate"'):
        assert href in foreword, href
    assert ".html" not in foreword.replace(".xhtml", "")
    assert 'href="glossary.xhtml#clap"' in epub_files(built)["EPUB/arguments.xhtml"]
    assert 'href="foreword.xhtml"' in epub_files(built)["EPUB/glossary.xhtml"]  # a reference definition


def test_the_epub_passes_epubcheck_5_and_4(built):
    report = epubcheck(built.outputs["epub"])
    assert report["errors"] == [] and report["warnings"] == []
    from test_corpus import DEBIAN_EPUBCHECK, run_epubcheck
    assert DEBIAN_EPUBCHECK.is_file() and run_epubcheck(DEBIAN_EPUBCHECK, built.outputs["epub"]) == []


def test_an_include_outside_the_book_is_an_error_with_its_line(tmp_path):
    book = tmp_path / "project"
    shutil.copytree(PROJECT, book)
    (book / "src" / "install.md").write_text("# Installing\n\nText.\n\n{{#include ../../../etc/hostname}}\n",
                                             encoding="utf-8")
    r = run_cli("--book", book, "--out", tmp_path / "out")
    assert r.returncode == 1
    assert "src/install.md:5: {{#include ../../../etc/hostname}} leads outside the book folder" in r.stderr


def test_every_code_block_is_highlighted_with_classes_only(built):
    """Each fenced block of the fixture names its language (console, rust, `rust,ignore`): each is coloured with
    Pygments' classes, and no element carries an inline style (EPUB readers and EPUBCheck want none)."""
    blocks = 0
    for name, text in epub_files(built).items():
        if not name.endswith(".xhtml"):
            continue
        root = etree.fromstring(text.encode("utf-8"))
        assert not [e for e in root.iter() if e.get("style") is not None], name
        for pre in root.iter(f"{{{NS['x']}}}pre"):
            classes = {c for span in pre.iter(f"{{{NS['x']}}}span") for c in (span.get("class") or "").split()}
            assert any(c.startswith("hl-") for c in classes), (name, "".join(pre.itertext())[:60])
            # the language named for screen readers: on the listing, or in its figure's caption
            named = pre.get("aria-label") or "".join(pre.getparent().find("x:figcaption", NS).itertext())
            assert re.search(r"Rust|Bash Session", named), named
            blocks += 1
    assert blocks == 7  # the fences in the fixture's chapters (1 + 4 + 2)
    with zipfile.ZipFile(built.outputs["epub"]) as z:
        css = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".css"))
    assert "pre .hl-k" in css and "pre .hl-c1" in css


def test_a_nested_entry_is_a_section_of_its_chapter_in_print(built):
    """SUMMARY.md nests On Linux under Installing the Toolchain: in print it runs on after that chapter's text,
    on the same page (chapter-open = "any" would otherwise open it on a new page), one level below it in the
    PDF outline; the EPUB keeps it as its own file."""
    from pypdf import PdfReader
    pages = subprocess.run(["pdftotext", "-layout", str(built.outputs["pdf"]), "-"], capture_output=True,
                           text=True, check=True).stdout.split("\f")
    parent = [i for i, p in enumerate(pages) if "The next section gives the details for Linux." in p]
    child = [i for i, p in enumerate(pages) if "On most distributions the installer needs nothing" in p]
    assert parent == child and len(parent) == 1
    outline = PdfReader(built.outputs["pdf"]).outline

    def titles(items, depth=0):
        for item in items:
            if isinstance(item, list):
                yield from titles(item, depth + 1)
            else:
                yield item.title, depth
    found = dict(titles(outline))
    assert found["On Linux"] == found["Installing the Toolchain"] + 1
    assert "EPUB/install-linux.xhtml" in epub_files(built)


def test_nested_entries_lay_out_in_chapter_groups_as_in_one_document(tmp_path, monkeypatch):
    """Each chapter its own group (two processes): a nested entry travels inside its chapter's group, and the
    contents still gives its folio; the text is the one-document layout's, page for page."""
    import bookgen.split_layout as split
    monkeypatch.setattr(split, "GROUP_CHARS", 1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    book = tmp_path / "book"
    shutil.copytree(PROJECT, book)
    toml = book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('chapter-open = "any"', 'chapter-open = "recto"'),
                    encoding="utf-8")
    parts = build_into(book, tmp_path / "split", jobs=2)
    assert parts.layout.get("groups", 0) >= 5, parts.layout
    whole = build_into(book, tmp_path / "whole", jobs=0)
    read = [subprocess.run(["pdftotext", "-layout", str(r.outputs["pdf"]), "-"], capture_output=True, text=True,
                           check=True).stdout for r in (parts, whole)]
    assert read[0] == read[1] and "On Linux" in read[0]


def test_listing_tags_caption_their_listing_and_unknown_tags_keep_their_text(built):
    """arguments.md: a `<Listing number="3-1" file-name="src/main.rs" caption="...">` around a fence, and two
    `<Sidebar>` elements (a tag no one told this build about)."""
    page = etree.fromstring(epub_files(built)["EPUB/arguments.xhtml"].encode("utf-8"))
    caption = page.find(".//x:figure/x:figcaption", NS)
    assert "".join(caption.itertext()) == "src/main.rsListing 3-1: Printing every argument (Rust)"
    code = "".join(page.find(".//x:figure/x:pre", NS).itertext())
    assert code.splitlines()[:3] == ["use std::env;", "", "fn main() {"]
    text = "".join(page.itertext())
    assert "nothing silently disappears" in text and "A second sidebar" in text and "Listing>" not in text
    sidebar = [str(w) for w in built.warnings if "<sidebar>" in str(w).lower()]
    assert len(sidebar) == 1 and "2 times" in sidebar[0] and "arguments.md:" in sidebar[0]
    printed = " ".join(pdf_text(built).split())
    assert "src/main.rs Listing 3-1: Printing every argument (Rust)" in printed or \
        "src/main.rsListing 3-1: Printing every argument (Rust)" in printed


def test_a_link_out_of_the_book_is_its_text_and_a_warning(built):
    """glossary.md links to ../../CHANGELOG.md, a page of the repository around the book (mdBook's web edition
    links to it): in print and in the EPUB there is nothing to link to, so the words stay and a warning says so."""
    warnings = [str(w) for w in built.warnings if "../../CHANGELOG.md" in str(w)]
    assert len(warnings) == 1 and "glossary.md:" in warnings[0] and "warning:" in warnings[0]
    # one warning for all such links (a site links to many pages): here api/index.html is the other
    assert "and 1 more (in 1 file) go to pages that are not chapters of the book" in warnings[0]
    page = etree.fromstring(epub_files(built)["EPUB/glossary.xhtml"].encode("utf-8"))
    assert "the changelog" in "".join(page.itertext())
    assert not [a for a in page.iter(f"{{{NS['x']}}}a") if "CHANGELOG" in (a.get("href") or "")]


def test_with_the_site_address_a_page_that_is_not_a_chapter_is_an_external_link(tmp_path):
    """[output.html] site-url as a full URL says where the web edition lives: glossary.md's link to api/index.html
    (a page served with the site, not a chapter) becomes that page's address; links between chapters stay."""
    book = tmp_path / "book"
    shutil.copytree(PROJECT, book)
    toml = book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "[output.html]\n", '[output.html]\nsite-url = "https://example.org/small-tools/"\n'), encoding="utf-8")
    result = build_into(book, tmp_path / "out", formats=("epub",))
    page = etree.fromstring(zipfile.ZipFile(result.outputs["epub"]).read("EPUB/glossary.xhtml"))
    links = {"".join(a.itertext()): a.get("href") for a in page.iter(f"{{{NS['x']}}}a")}
    assert links["served with the web edition"] == "https://example.org/small-tools/api/index.html"
    arguments = etree.fromstring(zipfile.ZipFile(result.outputs["epub"]).read("EPUB/arguments.xhtml"))
    assert "glossary.xhtml#clap" in [a.get("href") for a in arguments.iter(f"{{{NS['x']}}}a")]
    assert not [w for w in result.warnings if "api/index" in str(w)]


def test_shapes_of_the_rust_book(tmp_path):
    """As rust-lang/book writes them: a sub-chapter that opens with an old heading's anchor, then `## Title`; a
    `<Listing>` whose caption holds `Option<i32>` and code spans; a `<Listing>` inside a block quote."""
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "book.toml").write_text('[book]\ntitle = "Shapes"\nauthors = ["A. Rustacean"]\nlanguage = "en"\n',
                                        encoding="utf-8")
    (src / "SUMMARY.md").write_text("# Summary\n\n- [Enums](ch06-00-enums.md)\n  - [Match](ch06-02-match.md)\n",
                                    encoding="utf-8")
    (src / "ch06-00-enums.md").write_text("# Enums\n\nEnums and pattern matching.\n", encoding="utf-8")
    (src / "ch06-02-match.md").write_text(
        '<!-- Old headings. Do not remove or links may break. -->\n\n<a id="the-match-control-flow-operator"></a>\n\n'
        "## The `match` Control Flow Construct\n\nLook at Listing 6-5.\n\n"
        '<Listing number="6-5" caption="A function that uses a `match` expression on an `Option<i32>`">\n\n'
        "```rust\nfn plus_one(x: Option<i32>) -> Option<i32> {\n    x.map(|i| i + 1)\n}\n```\n\n</Listing>\n\n"
        "> Note: quoted.\n>\n> <Listing file-name=\"src/main.rs\">\n>\n> ```rust,ignore\n> struct User { name: &str }\n"
        "> ```\n>\n> </Listing>\n\n### After the listings\n\nThe text goes on.\n", encoding="utf-8")
    (src / "scratch.md").write_text("# Notes to self\n", encoding="utf-8")  # in src/, not in SUMMARY.md
    result = build_into(tmp_path, tmp_path / "out", formats=("epub",))
    assert not [str(w) for w in result.warnings if "raw HTML" in str(w) or "no title" in str(w)]
    assert [str(w) for w in result.warnings if "scratch.md" in str(w)][0].endswith(
        "warning: Markdown file is not listed in SUMMARY.md, so it is not in the book (hint: add it to SUMMARY.md, "
        "or move it out of the folder)")
    page = etree.fromstring(zipfile.ZipFile(result.outputs["epub"]).read("EPUB/ch06-02-match.xhtml"))
    assert "".join(page.find(".//x:h1", NS).itertext()) == "The match Control Flow Construct"
    captions = ["".join(c.itertext()) for c in page.iter(f"{{{NS['x']}}}figcaption")]
    assert captions == ["Listing 6-5: A function that uses a match expression on an Option<i32> (Rust)",
                        "src/main.rs (Rust)"]
    first = page.find(".//x:figcaption", NS)
    assert ["".join(c.itertext()) for c in first.iter(f"{{{NS['x']}}}code")] == ["match", "Option<i32>"]
    assert page.find(".//x:blockquote//x:figure", NS) is not None  # the quoted listing stays in its quote
    assert "After the listings" in ["".join(h.itertext()) for h in page.iter(f"{{{NS['x']}}}h3")] or \
        "After the listings" in ["".join(h.itertext()) for h in page.iter(f"{{{NS['x']}}}h2")]

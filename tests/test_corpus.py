"""Issue 10: fixture books shaped like real ones (tests/fixtures/corpus/) build with the default options, pass
EPUBCheck 5.3 and 4.2.6 with no errors and no warnings, and print every word of every note in both editions.
The expected words are read from the Markdown here, by the test's own simple reading."""
from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from conftest import FIXTURES, NS, Epub, build_into, normalize

CORPUS = FIXTURES / "corpus"
BOOKS = ["novel", "reise", "workshop", "pipes"]
DEBIAN_EPUBCHECK = Path("/usr/share/java/epubcheck.jar")  # EPUBCheck 4.2.6, Debian's package `epubcheck`
TYPE = "{http://www.idpf.org/2007/ops}type"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Each corpus book built once, with the default options (the split layout, both editions)."""
    return {name: build_into(CORPUS / name, tmp_path_factory.mktemp(name)) for name in BOOKS}


def run_epubcheck(jar: Path, epub: Path) -> list[dict]:
    report = epub.with_name(f"{epub.stem}.{jar.parent.name}.json")
    subprocess.run(["java", "-Xss4m", "-jar", str(jar), str(epub), "--json", str(report)], capture_output=True,
                   timeout=300)
    return [m for m in json.loads(report.read_text())["messages"]
            if m["severity"] in ("FATAL", "ERROR", "WARNING")]


def test_corpus_passes_epubcheck_5_and_4(corpus):
    from bookgen.check import epubcheck_jar
    jars = [Path(epubcheck_jar()), DEBIAN_EPUBCHECK]
    assert DEBIAN_EPUBCHECK.is_file(), "Debian's epubcheck package (4.2.6) is not installed (see .ci/run)"
    runs = [(jar, name) for name in BOOKS for jar in jars]
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(lambda r: run_epubcheck(r[0], corpus[r[1]].outputs["epub"]), runs))
    bad = {f"{name} ({jar})": [(m["ID"], m["message"]) for m in messages]
           for (jar, name), messages in zip(runs, found) if messages}
    assert not bad


# ---------------------------------------------------------------- every note's words, in both editions

def _inline_notes(text: str) -> list[str]:
    """The `^[...]` notes of a Markdown text (brackets may nest; the note may span lines)."""
    out, i = [], 0
    while (i := text.find("^[", i)) >= 0:
        depth, j = 0, i + 1
        while j < len(text):
            depth += {"[": 1, "]": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        out.append(text[i + 2:j])
        i = j
    return out


def _defined_notes(text: str) -> list[str]:
    """The `[^label]: ...` notes, with their indented continuation lines."""
    out = []
    for m in re.finditer(r"^\[\^[^\]]+\]:(.*(?:\n(?:    .*|\s*$))*)", text, re.M):
        out.append(m.group(1))
    return out


def note_words(markdown: str) -> list[list[str]]:
    body = markdown.split("\n---\n", 1)[-1]
    notes = _inline_notes(body) + _defined_notes(body)
    words = []
    for note in notes:
        note = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", note)  # a link: its text
        words.append([normalize(w) for w in re.findall(r"\w+", note)])
    return [w for w in words if w]


def in_order(words: list[str], text_words: list[str]) -> bool:
    it = iter(text_words)
    return all(any(w == t for t in it) for w in words)


def titles(book: Path) -> set[str]:
    """The book's and the chapters' titles, as the sources give them (what running heads print)."""
    found = re.findall(r'^title\s*[:=]\s*"?(.*?)"?\s*$', (book / "book.toml").read_text(encoding="utf-8"), re.M)
    for md in book.rglob("*.md"):
        found += re.findall(r'^title:\s*"?(.*?)"?\s*$', md.read_text(encoding="utf-8"), re.M)
    return {normalize(t) for t in found}


def pdf_words(path: Path, heads: set[str]) -> list[str]:
    """The words of the PDF's text in order, without running heads and folios, and with words hyphenated at a
    line or page end joined again."""
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in text.split("\f"):
        lines = [l for l in page.splitlines() if l.strip()]
        if lines and normalize(lines[0]) in heads:
            lines = lines[1:]
        if lines and re.fullmatch(r"\s*([0-9]+|[ivxlcdm]+)\s*", lines[-1]):
            lines = lines[:-1]
        pages.append("\n".join(lines))
    text = re.sub("\u2010\\s*\n\\s*", "", "\n".join(pages))  # words hyphenated at line ends
    return [normalize(w) for w in re.findall(r"\w+", text)]


@pytest.mark.parametrize("name", ["novel", "reise", "pipes"])
def test_every_note_word_is_in_both_editions(corpus, name):
    result = corpus[name]
    epub = Epub(result.outputs["epub"])
    epub_words = [normalize(w) for w in re.findall(r"\w+", epub.all_text())]
    pdf = pdf_words(result.outputs["pdf"], titles(CORPUS / name))
    checked = 0
    for md in sorted((CORPUS / name).rglob("*.md")):
        for words in note_words(md.read_text(encoding="utf-8")):
            assert in_order(words, epub_words), (md.name, " ".join(words[:12]))
            assert in_order(words, pdf), (md.name, " ".join(words[:12]))
            checked += 1
    assert checked >= {"novel": 16, "reise": 12, "pipes": 1}[name]


# ---------------------------------------------------------------- the novel: foreign front matter

def test_foreign_front_matter_is_one_warning_per_key(corpus):
    warnings = [str(w) for w in corpus["novel"].warnings]
    keys = {}
    for w in warnings:
        m = re.search(r"unknown front matter key '(\w+)' in (\d+) files", w)
        if m:
            keys[m.group(1)] = int(m.group(2))
    files = sorted((CORPUS / "novel" / "chapters").glob("*.md"))
    expected = {}
    for f in files:
        for key in re.findall(r"^(\w+):", f.read_text(encoding="utf-8").split("\n---\n")[0], re.M):
            if key not in ("title", "subhead"):
                expected[key] = expected.get(key, 0) + 1
    assert keys == expected  # layout, order, permalink, lang, description in 32 files, image in some
    assert len(files) >= 30
    assert not any("subhead" in w for w in warnings)


def test_subhead_is_the_chapter_subtitle(corpus):
    epub = Epub(corpus["novel"].outputs["epub"])
    source = (CORPUS / "novel" / "chapters" / "chapter-01.md").read_text(encoding="utf-8")
    subhead = re.search(r'^subhead: "(.*)"', source, re.M).group(1)
    sub = epub.xml("chapter-01.xhtml").find(".//x:p[@class='subtitle']", NS)
    assert sub is not None and "".join(sub.itertext()) == subhead


# ---------------------------------------------------------------- the German book: parts, long notes

def test_parts_are_a_level_above_their_chapters(corpus):
    result = corpus["reise"]
    epub = Epub(result.outputs["epub"])
    nav = epub.xml("nav.xhtml").find(".//x:nav[@id='toc']/x:ol", NS)
    top = [("".join(li.find("x:a", NS).itertext()), [("".join(a.itertext())) for a in li.findall("x:ol/x:li/x:a", NS)])
           for li in nav.findall("x:li", NS)]
    assert [t for t, _ in top] == ["Erster Teil: Durch das Hügelland", "Zweiter Teil: Im oberen Tal",
                                   "Verzeichnis der Orte"]
    assert top[0][1] == ["Von Hohenfelde nach Lindau", "Die Mühle am Bach", "Ein Gewitter über Oberweiler"]
    ncx = etree.fromstring(epub.zip.read(epub.base + "toc.ncx"))
    n = "{http://www.daisy.org/z3986/2005/ncx/}"
    points = ncx.findall(f"{n}navMap/{n}navPoint")
    assert [p.find(f"{n}navLabel/{n}text").text for p in points][:2] == [t for t, _ in top][:2]
    assert [c.find(f"{n}navLabel/{n}text").text for c in points[1].findall(f"{n}navPoint")] == \
        ["Kaltenbrunn und seine Urkunden", "Der Weg nach Steinach", "Rückkehr durch das Wiesental"]
    outline = PdfReader(result.outputs["pdf"]).outline
    titles = [o.title for o in outline if not isinstance(o, list)]
    assert titles[:2] == ["Erster Teil: Durch das Hügelland", "Zweiter Teil: Im oberen Tal"]
    first_part = outline[outline.index(next(o for o in outline if not isinstance(o, list)
                                            and o.title.startswith("Erster"))) + 1]
    assert [o.title for o in first_part if not isinstance(o, list)] == top[0][1]
    # the print contents: the part, then its chapters in a list inside it
    pdf_text = subprocess.run(["pdftotext", "-layout", str(result.outputs["pdf"]), "-"], capture_output=True,
                              text=True).stdout
    contents = next(p for p in pdf_text.split("\f") if "Inhalt" in p and "Erster Teil" in p)
    lines = [l for l in contents.splitlines() if l.strip()]
    part = next(l for l in lines if "Erster Teil" in l)
    chapter = next(l for l in lines if "Von Hohenfelde" in l)
    assert len(chapter) - len(chapter.lstrip()) > len(part) - len(part.lstrip())  # indented under its part


def test_notes_too_long_for_a_page_are_endnotes_with_a_warning(corpus):
    result = corpus["reise"]
    warnings = [str(w) for w in result.warnings if "footnote" in str(w)]
    assert len(warnings) == 2 and all("printed at the end of the chapter" in w for w in warnings), warnings
    assert {re.search(r"kapitel-\d", w).group(0) for w in warnings} == {"kapitel-2", "kapitel-5"}
    reader = PdfReader(result.outputs["pdf"])
    pages = [p.extract_text() for p in reader.pages]
    names = {k: reader.get_destination_page_number(v) for k, v in reader.named_destinations.items()}
    for cid in ("kapitel-2", "kapitel-5"):
        note, call = names[f"{cid}-fn2"], names[f"{cid}-fnref2"]
        assert note >= call and "Eine lange Anmerkung beginnt hier" in pages[note]
        assert "2. → Anmerkungen" in normalize_space(pages[call])  # at the foot of the call's page, a pointer to the note
        assert "Hier endet die lange Anmerkung" in normalize_space(" ".join(pages[note:note + 6]))
    # no run of nearly empty pages: every page with text but the last of a chapter has more than a few lines
    # (from the first chapter on: the half-title, title and copyright pages are short by design)
    lines = [len([l for l in p.splitlines() if l.strip()]) for p in pages]
    short = [i for i, n in enumerate(lines) if 0 < n <= 4 and i >= names["kapitel-1"]]
    assert not [i for i in short if i + 1 in short], lines


@pytest.mark.parametrize("name, chapter, reading", [("reise", "kapitel/kapitel-1.md", "inline"),
                                                     ("novel", "chapters/chapter-02.md", "defined")])
def test_hard_wrapped_notes_print_as_justified_paragraphs(corpus, name, chapter, reading):
    """The line ends of a hard-wrapped note (`^[...]` and `[^1]:` with continuation lines): every line but the
    last runs the full measure (the source's breaks would leave lines of every length)."""
    result = corpus[name]
    source = (CORPUS / name / chapter).read_text(encoding="utf-8")
    note = (_inline_notes(source) if reading == "inline" else _defined_notes(source))[0]
    assert "\n" in note.strip() and len(note) > 250  # hard-wrapped in the source, several printed lines
    start = " ".join(note.split()[:4])
    out = subprocess.run(["pdftotext", "-bbox-layout", str(result.outputs["pdf"]), "-"], capture_output=True,
                         text=True, check=True).stdout
    root = etree.fromstring(out.encode("utf-8"), etree.XMLParser(recover=True))
    x = "{http://www.w3.org/1999/xhtml}"
    for block in root.iter(f"{x}block"):
        lines = [[w.text for w in line.iter(f"{x}word")] for line in block.iter(f"{x}line")]
        if start in " ".join(" ".join(l) for l in lines):
            widths = [float(line.get("xMax")) - float(line.get("xMin")) for line in block.iter(f"{x}line")]
            break
    else:
        raise AssertionError("the note is not in the PDF")
    assert len(widths) >= 3
    full = max(widths)
    assert all(w > 0.97 * full for w in widths[:-1]), widths


# ---------------------------------------------------------------- the articles: raw HTML, remote images

def test_repeated_headings_get_github_style_ids(corpus):
    epub = Epub(corpus["workshop"].outputs["epub"])
    doc = epub.xml("s-2023-01-04-sharpening.xhtml") if "s-2023-01-04-sharpening.xhtml" in epub.spine_hrefs \
        else epub.xml(next(h for h in epub.spine_hrefs if "sharpening" in h))
    ids = [h.get("id") for h in doc.iterfind(".//x:h2", NS) if "".join(h.itertext()) == "Example"]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert ids[1] == ids[0] + "-1" and ids[2] == ids[0] + "-2"


def test_remote_images_print_their_alt_text_and_link_in_the_epub(corpus):
    result = corpus["workshop"]
    epub = Epub(result.outputs["epub"])
    alt = "A plane iron held against the light, showing a bright bevel"
    links = [a for h in epub.spine_hrefs for a in epub.xml(h).iterfind(".//x:a", NS)
             if "".join(a.itertext()) == alt]
    assert [a.get("href") for a in links] == ["https://example.com/blog/assets/bevel.jpg"]
    assert alt in normalize_space(subprocess.run(["pdftotext", str(result.outputs["pdf"]), "-"],
                                                 capture_output=True, text=True).stdout)
    warnings = [str(w) for w in result.warnings]
    assert sum("is remote: its description is printed in its place" in w for w in warnings) == 2
    assert not [n for n in epub.zip.namelist() if "bevel" in n or "rag.png" in n]


def normalize_space(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2010\n", ""))


def test_raw_html_not_kept_is_one_warning_per_element_with_a_count(corpus):
    result = corpus["workshop"]
    warnings = [str(w) for w in result.warnings]
    sc = [w for w in warnings if "raw HTML <sc>" in w]
    assert len(sc) == 1 and "3 times" in sc[0] and "2023-01-04-sharpening.md:28:" in sc[0]
    assert len([w for w in warnings if "raw HTML <input>" in w]) == 1
    assert len([w for w in warnings if "raw HTML <listing>" in w]) == 1
    assert not [w for w in warnings if "Pandoc grid table" in w]  # its grid table is read (pandoc_syntax.py)
    epub = Epub(result.outputs["epub"])
    cells = [["".join(c.itertext()).strip() for c in row] for h in epub.spine_hrefs
             for row in epub.xml(h).iterfind(".//x:table//x:tr", NS)]
    assert ["Leg vice", "Low"] in cells and ["Tail vice", "High"] in cells and ["Vice", "Cost"] in cells
    text = epub.all_text()
    assert "Rauhbank" in text and "coarse stone" in text  # the content of <sc> and <Listing> is kept


def test_links_to_raw_anchors_and_github_slugs_resolve_in_both_editions(corpus):
    result = corpus["workshop"]
    epub = Epub(result.outputs["epub"])
    ids = {h: {e.get("id") for e in epub.xml(h).iter() if e.get("id")} for h in epub.spine_hrefs}
    hrefs = [(h, a.get("href")) for h in epub.spine_hrefs for a in epub.xml(h).iterfind(".//x:a", NS)
             if "example.com" not in (a.get("href") or "")]
    internal = [(here, h) for here, h in hrefs if h and not h.startswith(("http", "mailto"))]
    for here, href in internal:
        file, _, frag = href.partition("#")
        file = file or here
        assert file in ids, href
        assert not frag or frag in ids[file], href
    # the links written by GitHub slug (über-den-hobel) and to raw anchors reached their targets
    internal = [h for _, h in internal]
    assert any(h.endswith("#spread") for h in internal) and any(h.endswith("#vice-notes") for h in internal)
    assert any(h.endswith("#squeeze-out-note") for h in internal)
    assert any(re.search(r"sharpening\.xhtml#.*hobel", h) for h in internal)
    assert "#example-1" in internal and "#example-2" in internal
    # in the PDF every internal link goes to a named destination that exists
    reader = PdfReader(result.outputs["pdf"])
    names = set(reader.named_destinations)
    dests = [a.get_object()["/Dest"] for p in reader.pages for a in p.get("/Annots", []) or []
             if "/Dest" in a.get_object()]
    assert len(dests) >= 8 and all(d in names for d in dests), [d for d in dests if d not in names]
    for frag in ("spread", "vice-notes", "squeeze-out-note", "example-1", "example-2"):
        assert frag in dests


def test_page_list_is_in_reading_order_with_pull_quotes_and_asides(corpus):
    result = corpus["workshop"]
    epub = Epub(result.outputs["epub"])
    markers = [m.get("aria-label") for h in epub.spine_hrefs for m in epub.xml(h).iter()
               if m.get(TYPE) == "pagebreak"]
    page_list = [a.text for a in epub.xml("nav.xhtml").iterfind(".//x:nav[@id='page-list']//x:a", NS)]
    assert markers == page_list
    labels = list(PdfReader(result.outputs["pdf"]).page_labels)
    assert markers == [l for l in labels if l in markers]


def test_image_media_type_comes_from_its_content(corpus):
    epub = Epub(corpus["workshop"].outputs["epub"])
    items = {i.get("href"): i.get("media-type") for i in epub.manifest.values()}
    bench = [h for h in items if h.startswith("images/bench")]
    assert len(bench) == 1 and items[bench[0]] == "image/png" and bench[0].endswith(".png")
    assert epub.opf.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


# ---------------------------------------------------------------- the technical book: tables, code, SVG

def test_table_captions_stay_with_their_tables(corpus):
    result = corpus["pipes"]
    pages = [normalize_space(p.extract_text()) for p in PdfReader(result.outputs["pdf"]).pages]
    for caption, first_row in (("Table 1. Seconds per stage", "read"), ("Table 2. Errors found", "read")):
        page = next(i for i, p in enumerate(pages) if caption in p)
        after = pages[page].split(caption, 1)[1]
        assert first_row in after, (caption, page)
    epub = Epub(result.outputs["epub"])
    assert any(i.get("media-type") == "image/svg+xml" for i in epub.manifest.values())


def test_pagebreaks_begin_their_pages_with_pull_quotes_and_asides(corpus):
    """An author's <aside> and <blockquote> pull-quotes are text of the page map in both editions: the text after
    each pagebreak marker begins that page of the PDF (after its running head)."""
    result = corpus["workshop"]
    epub = Epub(result.outputs["epub"])
    labels = list(PdfReader(result.outputs["pdf"]).page_labels)
    pages = subprocess.run(["pdftotext", str(result.outputs["pdf"]), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    heads = titles(CORPUS / "workshop")
    inside = 0
    for href in epub.spine_hrefs:
        body = epub.xml(href).find("x:body", NS)
        stream = []  # the chapter's text and its markers in document order, the build's notes left out

        def walk(el):
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                if child.get(TYPE) == "pagebreak":
                    stream.append(child)
                elif "footnote" not in (child.get("class") or "").split() and child.get(TYPE) != "footnote":
                    stream.append(child.text or "")
                    walk(child)
                stream.append(child.tail or "")
        walk(body)
        for i, item in enumerate(stream):
            if isinstance(item, str):
                continue
            after = normalize("".join(s for s in stream[i + 1:] if isinstance(s, str)))[:24]
            lines = [l for l in pages[labels.index(item.get("aria-label"))].splitlines() if l.strip()]
            if lines and normalize(lines[0]) in heads and not after.startswith(normalize(lines[0])):
                lines = lines[1:]
            page = normalize("".join(lines))
            assert page.startswith(after), (href, item.get("aria-label"), after, page[:40])
            inside += any(a.tag.endswith(("aside", "blockquote")) for a in item.iterancestors())
    assert inside >= 1  # a page begins inside a pull-quote


@pytest.mark.parametrize("name", BOOKS)
def test_split_and_one_document_layouts_print_the_same_text_outline_and_pixels(name, tmp_path, monkeypatch):
    """Parts, endnotes, raw HTML, tables, code and SVG laid out in chapter groups (one chapter a group, two
    processes) and as one document (--jobs 0): the same text, outline and pixels on every page."""
    import bookgen.split_layout as split
    monkeypatch.setattr(split, "GROUP_CHARS", 1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    parts = build_into(CORPUS / name, tmp_path / "split", jobs=2, formats=("pdf",))
    assert parts.layout.get("groups", 0) >= 3, parts.layout
    whole = build_into(CORPUS / name, tmp_path / "whole", jobs=0, formats=("pdf",))

    def read(pdf):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout

        def titles_of(outline, depth=0):
            for o in outline:
                yield from titles_of(o, depth + 1) if isinstance(o, list) else [(depth, o.title)]
        return text, list(titles_of(PdfReader(pdf).outline))

    def pixels(pdf, folder):
        folder.mkdir()
        subprocess.run(["pdftoppm", "-r", "36", "-gray", str(pdf), str(folder / "p")], check=True)
        return [p.read_bytes() for p in sorted(folder.iterdir())]
    assert read(parts.outputs["pdf"]) == read(whole.outputs["pdf"])
    a, b = pixels(parts.outputs["pdf"], tmp_path / "pa"), pixels(whole.outputs["pdf"], tmp_path / "pb")
    assert len(a) == len(b) and [i + 1 for i, (x, y) in enumerate(zip(a, b)) if x != y] == []

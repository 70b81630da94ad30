"""Issue 4: the EPUB passes every checker and reads well on every e-reader.

Real builds (WeasyPrint, ebooklib) of the default book and the fixture books, read back with zipfile, lxml,
pypdf and poppler; EPUBCheck (Java) only where nothing else can tell, and as few times as possible.
"""
from __future__ import annotations

import io
import re
import zipfile

import pytest
import tinycss2
from lxml import etree
from pypdf import PdfReader

from sources import read_book

from conftest import (DEFAULT_BOOK, FIXTURES, LARGER_BOOK, NS, Epub, build_into, normalize, pdf_pages_text,
                      pdftotext_pages, run_cli)

COVERED_BOOK = FIXTURES / "covered"
EPUB_NS = "http://www.idpf.org/2007/ops"
TYPE = f"{{{EPUB_NS}}}type"
NCX = {"n": "http://www.daisy.org/z3986/2005/ncx/"}
# epub:type of a chapter section -> its ARIA role (DPUB-ARIA)
ROLES = {"chapter": "doc-chapter", "introduction": "doc-introduction", "preface": "doc-preface",
         "foreword": "doc-foreword", "appendix": "doc-appendix", "glossary": "doc-glossary",
         "bibliography": "doc-bibliography", "afterword": "doc-afterword", "conclusion": "doc-conclusion"}


@pytest.fixture(scope="session")
def covered_build(tmp_path_factory):
    return build_into(COVERED_BOOK, tmp_path_factory.mktemp("covered"))


@pytest.fixture(params=["default", "larger", "covered"])
def built(request):
    """Each book once: (its folder, its build result)."""
    folder = {"default": DEFAULT_BOOK, "larger": LARGER_BOOK, "covered": COVERED_BOOK}[request.param]
    return folder, request.getfixturevalue(f"{request.param}_build")


def load_meta(folder):
    """The book as its files say, read by the tests' own reading (tests/sources.py), not by bookgen's loader."""
    return read_book(folder)


def chapter_hrefs(book: Epub) -> list[str]:
    return [h for h in book.spine_hrefs if h not in ("cover.xhtml", "titlepage.xhtml", "copyright.xhtml",
                                                        "nav.xhtml")]


# ---------------------------------------------------------------- structure and semantics

def test_files_spine_and_semantics(built):
    folder, result = built
    model = load_meta(folder)
    book = Epub(result.outputs["epub"])
    assert book.spine_hrefs == (["cover.xhtml", "titlepage.xhtml", "copyright.xhtml", "nav.xhtml"]
                                + [f"{c.id}.xhtml" for c in model.chapters])
    lang = model.get("language")
    for href in book.spine_hrefs:
        root = book.xml(href)
        assert root.get("lang") == lang and root.get("{http://www.w3.org/XML/1998/namespace}lang") == lang, href
        assert root.find("x:head/x:title", NS).text.strip(), href
        # headings in order: the first is h1, none skips a level going down
        levels = [int(h.tag[-1]) for h in root.iter() if re.fullmatch(r"\{.*\}h[1-6]", str(h.tag))]
        if levels:
            assert levels[0] == 1, href
            assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), (href, levels)
    for chapter in model.chapters:
        root = book.xml(f"{chapter.id}.xhtml")
        assert root.find("x:body", NS).get(TYPE) == f"{chapter.matter}matter"
        section = root.find(f"x:body/x:section[@id='{chapter.id}']", NS)
        assert section.get(TYPE) == chapter.type and section.get("role") == ROLES[chapter.type]
        assert section.get("aria-labelledby") == f"{chapter.id}-title"
    titlepage = book.xml("titlepage.xhtml").find(".//x:section", NS)
    assert titlepage.get(TYPE) == "titlepage" and titlepage.get("aria-label")
    copyright_ = book.xml("copyright.xhtml").find(".//x:section", NS)
    assert copyright_.get(TYPE) == "copyright-page" and copyright_.get("aria-label")
    # the EPUB names no typeface (the reader chooses it), but it names the book and its identifier
    text = "".join(copyright_.itertext())
    assert "Libertine" not in text
    identifier = model.get("identifier")
    assert identifier and ("urn:uuid" in identifier) != (identifier.removeprefix("urn:isbn:") in text)  # an ISBN is printed, a uuid not
    cover = book.xml("cover.xhtml").find(".//x:section", NS)
    assert cover.get(TYPE) == "cover" and cover.find("x:img", NS).get("role") == "doc-cover"
    # no inline styles anywhere, every image described
    for href in book.spine_hrefs:
        root = book.xml(href)
        assert not [e for e in root.iter() if e.get("style") is not None], href
        assert not [e for e in root.iter(f"{{{NS['x']}}}style")], href
        for img in root.iter(f"{{{NS['x']}}}img"):
            assert img.get("alt", "").strip(), (href, img.get("src"))


def test_nav_toc_nested_landmarks(built):
    folder, result = built
    model = load_meta(folder)
    book = Epub(result.outputs["epub"])
    nav = book.xml("nav.xhtml")
    toc = nav.find(".//x:nav[@epub:type='toc']", NS)
    assert toc.get("role") == "doc-toc"
    top = toc.findall("x:ol/x:li", NS)
    assert [li.find("x:a", NS).get("href") for li in top] == [f"{c.id}.xhtml" for c in model.chapters]
    assert [normalize("".join(li.find("x:a", NS).itertext())) for li in top] == \
        [normalize(c.title) for c in model.chapters]
    for li, chapter in zip(top, model.chapters):
        # sections (##) under their chapter, subsections (###) under their section
        h2 = [h for h in chapter.headings if h.level == 2]
        got = [a.get("href") for a in li.findall("x:ol/x:li/x:a", NS)]
        assert got == [f"{chapter.id}.xhtml#{h.id}" for h in h2]
        for h in chapter.headings:
            if h.level == 3:
                a = li.find(f"x:ol/x:li/x:ol/x:li/x:a[@href='{chapter.id}.xhtml#{h.id}']", NS)
                assert a is not None, h
    for a in toc.iter(f"{{{NS['x']}}}a"):
        file, _, frag = a.get("href").partition("#")
        assert book.xml(file).find(f".//*[@id='{frag}']") is not None if frag else True
    landmarks = nav.find(".//x:nav[@epub:type='landmarks']", NS)
    marks = {a.get(TYPE): a.get("href") for a in landmarks.iter(f"{{{NS['x']}}}a")}
    body = [c for c in model.chapters if c.matter == "body"]
    back = [c for c in model.chapters if c.matter == "back"]
    assert marks["cover"] == "cover.xhtml" and marks["titlepage"] == "titlepage.xhtml"
    assert marks["toc"] == "nav.xhtml" and marks["bodymatter"] == f"{body[0].id}.xhtml"
    assert marks.get("backmatter") == (f"{back[0].id}.xhtml" if back else None)
    # the NCX for EPUB 2 readers: the same nested contents, the same pages, playOrder in reading order
    ncx = book.xml("toc.ncx")
    points = ncx.findall(".//n:navMap/n:navPoint", NCX)
    assert [p.find("n:content", NCX).get("src") for p in points] == [f"{c.id}.xhtml" for c in model.chapters]
    assert len(ncx.findall(".//n:navPoint", NCX)) == len(toc.findall(".//x:a", NS))
    nav_pages = [a.get("href") for a in nav.iterfind(".//x:nav[@epub:type='page-list']//x:a", NS)]
    assert [t.find("n:content", NCX).get("src") for t in ncx.iterfind(".//n:pageTarget", NCX)] == nav_pages
    for path in (".//n:navPoint", ".//n:pageTarget"):
        order = [int(p.get("playOrder")) for p in ncx.iterfind(path, NCX)]
        assert order == sorted(order) and len(set(order)) == len(order), path
    assert ncx.find(".//n:meta[@name='dtb:uid']", NCX).get("content") == model.get("identifier")


# ---------------------------------------------------------------- print page numbers

def pagebreaks(book: Epub):
    """Every pagebreak marker in reading order, with the text around it in its file (notes left out)."""
    out = []
    for href in book.spine_hrefs:
        pieces = []  # ("T", text) or ("M", element)

        def walk(el):
            number = int(el.get("start", "1")) if etree.QName(el).localname == "ol" else None
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                if child.get(TYPE) == "pagebreak":
                    pieces.append(("M", child))
                elif etree.QName(child).localname != "aside" and "footnotes" not in (child.get("class") or ""):
                    if etree.QName(child).localname == "table":
                        pieces.append(("B", ""))  # a table: the PDF's text reads its cells in layout order
                    if number is not None and etree.QName(child).localname == "li":
                        pieces.append(("N", f" {number}. "))  # the number the list prints
                        number += 1
                    pieces.append(("T", child.text or ""))
                    walk(child)
                pieces.append(("T", child.tail or ""))
        walk(book.xml(href).find("x:body", NS))
        for i, (kind, el) in enumerate(pieces):
            if kind == "M":
                before = "".join(t for k, t in pieces[:i] if k not in "MB")
                rest = [k for k, _ in pieces[i + 1:]] + ["M"]
                page = pieces[i + 1:i + 1 + rest.index("M")]  # up to the next page
                after = " ".join(t for k, t in page if k != "B")
                upto = " ".join(t for k, t in page[:([k for k, _ in page] + ["B"]).index("B")])
                out.append((href, el, before, after, upto))
    return out


def pdf_labels(result) -> list[str]:
    return list(PdfReader(result.outputs["pdf"]).page_labels)


def test_page_list_one_entry_per_numbered_page(built):
    folder, result = built
    book = Epub(result.outputs["epub"])
    labels = pdf_labels(result)
    arabic = [l for l in labels if l.isdigit()]
    assert arabic == [str(n) for n in range(1, len(arabic) + 1)] and arabic
    nav = book.xml("nav.xhtml").find(".//x:nav[@epub:type='page-list']", NS)
    assert nav.get("role") == "doc-pagelist"
    entries = [("".join(a.itertext()), a.get("href")) for a in nav.iterfind(".//x:a", NS)]
    assert [l for l, _ in entries if l.isdigit()] == arabic  # every numbered page once, in order
    got = [l for l, _ in entries]
    assert got == [l for l in labels if l in got]  # roman pages too, in the PDF's order
    # each entry points at its marker
    for label, href in entries:
        file, _, frag = href.partition("#")
        marker = book.xml(file).find(f".//*[@id='{frag}']")
        assert marker.get(TYPE) == "pagebreak" and marker.get("role") == "doc-pagebreak"
        assert marker.get("aria-label") == label and len(marker) == 0 and not (marker.text or "")
    markers = pagebreaks(book)
    assert [m.get("aria-label") for _, m, *_ in markers] == got  # markers in reading order, one per page
    opf_source = book.opf.findall(".//dc:source", NS)  # dc:source, refined as the pagination's source
    assert len(opf_source) == 1 and load_meta(folder).get("identifier") in opf_source[0].text
    assert book.opf.find(f".//opf:meta[@refines='#{opf_source[0].get('id')}'][@property='source-of']", NS).text \
        == "pagination"


def check_pagebreaks_against_pdf(result, folder):
    """For each pagebreak, the text that follows it must begin that PDF page (after its running head)."""
    book = Epub(result.outputs["epub"])
    model = load_meta(folder)
    labels = pdf_labels(result)
    pages = pdftotext_pages(result.outputs["pdf"])
    heads = sorted({normalize(model.title)} | {normalize(c.title) for c in model.chapters}, key=len,
                   reverse=True)
    checked = hyphenated = 0
    failures = []
    for href, marker, before, after, upto in pagebreaks(book):
        page = normalize(pages[labels.index(marker.get("aria-label"))])
        full = normalize(after)
        follow = (normalize(upto) or full)[:30]  # the text up to a table, whose cells read in layout order
        if not follow:  # a blank page, at the end of a chapter
            assert page == "", (href, marker.get("aria-label"), page[:60])
            continue
        body = page
        for head in heads:
            if body.startswith(head) and not full.startswith(head):
                body = body[len(head):]
                break
            # a chapter that runs on at a page's top, under its own title as running head: the title twice
            if body.startswith(head + head) and full.startswith(head) and not full.startswith(head + head) \
                    and body[len(head):].startswith(follow):
                body = body[len(head):]
                break
        parent = marker.getparent()
        if etree.QName(parent).localname == "li" and not (parent.text or "").strip() and parent[0] is marker:
            body = re.sub(r"^\d+", "", body)  # the list's own number, printed but not in the text
        checked += 1
        if body.startswith(follow):
            continue
        # a word hyphenated across the two pages: the marker follows it, the page begins with its end
        last_word = normalize((before.split() or [""])[-1])
        k = body.find(follow)
        if 0 < k < len(last_word) and last_word.endswith(body[:k]):
            hyphenated += 1
            continue
        # in a table, text extraction reads the cells in layout order, after the head the page repeats: the
        # first word must begin the page's rows
        table = next((a for a in marker.iterancestors() if etree.QName(a).localname == "table"), None)
        after_marker = marker.getnext()
        if table is None and after_marker is not None and etree.QName(after_marker).localname == "table":
            table = after_marker  # the page begins with a table
        if table is not None:
            thead = table.find("x:thead", NS)
            head = normalize("".join(thead.itertext())) if thead is not None else ""
            rows = body[len(head):] if head and body.startswith(head) and not full.startswith(head) else body
            words = [normalize(w) for w in re.split(r"[\s\-\u2010\u2013\u2014/]+", after) if normalize(w)][:5]
            if rows.startswith(words[0]) and all(w in rows[:300] for w in words):
                continue
        failures.append((href, marker.get("aria-label"), follow, body[:60]))
    assert not failures, failures
    return checked, hyphenated


def test_each_pagebreak_is_where_its_pdf_page_begins(built):
    folder, result = built
    checked, _ = check_pagebreaks_against_pdf(result, folder)
    assert checked >= 4  # the default book's sections run on: a dozen pages


@pytest.mark.parametrize("book, size", [(LARGER_BOOK, "90mm 130mm"), (FIXTURES / "structures", None)])
def test_pagebreaks_on_small_pages(tmp_path, book, size):
    """Many pages, beginning in every kind of block: lists (nested, loose), quotes, tables with their head
    repeated, code, scene breaks; some inside a word hyphenated across the pages."""
    result = build_into(book, tmp_path, page_size=size)
    checked, hyphenated = check_pagebreaks_against_pdf(result, book)
    assert checked >= 50 and hyphenated >= 1
    epub = Epub(result.outputs["epub"])
    where = {(etree.QName(m.getparent()).localname, etree.QName(m.getnext()).localname
              if m.getnext() is not None and not (m.tail or "").strip() else "text")
             for h in chapter_hrefs(epub) for m in epub.xml(h).iterfind(".//*[@epub:type='pagebreak']", NS)}
    # a page that begins with a block has its marker in front of it (not inside a heading, a cell or a list)
    assert ("section", "header") in where and not {w for w in where if w[0] in ("h1", "h2", "th", "thead", "ol")}


def test_pagebreaks_after_line_breaks_at_dashes(tmp_path):
    """Lines that end with a spaced dash: counting words would put the markers a word off; letters do not."""
    book = FIXTURES / "dashes"
    result = build_into(book, tmp_path)
    checked, _ = check_pagebreaks_against_pdf(result, book)
    assert checked >= 10


def test_pagebreak_before_an_image_that_begins_a_page(tmp_path):
    book = FIXTURES / "inline-images"
    result = build_into(book, tmp_path)
    check_pagebreaks_against_pdf(result, book)  # the text after each marker begins its page
    epub = Epub(result.outputs["epub"])
    markers = epub.xml("one.xhtml").findall(".//x:span[@epub:type='pagebreak']", NS)
    before_img = [m for m in markers if m.getnext() is not None and etree.QName(m.getnext()).localname == "img"
                  and not (m.tail or "").strip()]
    assert before_img  # the page begins with the image, so the image is on that page, after the marker
    for m in before_img:
        labels = pdf_labels(result)
        page = PdfReader(result.outputs["pdf"]).pages[labels.index(m.get("aria-label"))]
        assert page["/Resources"].get("/XObject"), m.get("aria-label")  # an image is drawn on it


def test_covered_book_has_a_page_starting_inside_a_hyphenated_list_item(covered_build):
    # the fixture's page size is chosen so that page 3 begins with the end of "mul-tiplier" inside item 1
    book = Epub(covered_build.outputs["epub"])
    marker = book.xml("machine.xhtml").find(".//*[@id='page_3']")
    assert etree.QName(marker.getparent()).localname == "li"
    assert (marker.getprevious() is None and "multiplier" in (marker.getparent().text or "").split()[-1:])
    assert marker.tail.split()[0] == "ou"
    check_pagebreaks_against_pdf(covered_build, COVERED_BOOK)


# ---------------------------------------------------------------- notes

def test_noterefs_and_asides_are_paired(built):
    folder, result = built
    model = load_meta(folder)
    book = Epub(result.outputs["epub"])
    pdf = normalize("".join(pdf_pages_text(result.outputs["pdf"])))
    total = 0
    for chapter in model.chapters:
        root = book.xml(f"{chapter.id}.xhtml")
        refs = root.findall(".//x:a[@epub:type='noteref']", NS)
        asides = root.findall(".//x:aside[@epub:type='footnote']", NS)
        assert len(refs) == len(asides) == len(chapter.notes)
        for n, (ref, aside) in enumerate(zip(refs, asides), 1):
            assert ref.get("role") == "doc-noteref" and aside.get("role") == "doc-footnote"
            assert len(ref) == 0 and ref.text == str(n)  # nothing nested inside the link (Kindle)
            assert ref.get("href") == f"#{aside.get('id')}"
            first = aside[0]  # the back link comes first in the aside
            back = first if etree.QName(first).localname == "a" else first.find("x:a", NS)
            assert back.get("role") == "doc-backlink" and back.get("href") == f"#{ref.get('id')}"
            assert (back.get("aria-label") or "").startswith(f"{n}.")  # label in name (and present)
            assert (first.text or "").strip() == "" and "".join(first.itertext()).strip() == f"{n}."
            # the same note the PDF prints at the foot of the page
            body = "".join("".join(p.itertext()) for p in aside[1:])
            assert normalize(body) and normalize(body) in pdf, body
            assert not [a for a in aside.iterancestors() if etree.QName(a).localname == "p"]
            total += 1
    assert total >= 1  # every book here has notes: the loop checked something


# ---------------------------------------------------------------- metadata, accessibility, cover

def test_metadata(built):
    """Every key of book.toml that describes the book reaches the OPF, as book.toml writes it."""
    folder, result = built
    source = load_meta(folder)
    book = Epub(result.outputs["epub"])
    opf = book.opf
    assert book.meta("identifier") == [source.get("identifier")]
    assert opf.get("unique-identifier") == opf.find(".//dc:identifier", NS).get("id")
    titles = opf.findall(".//dc:title", NS)
    assert titles[0].text == source.title
    refines = {(m.get("refines"), m.get("property")): m for m in opf.iterfind(".//opf:meta[@refines]", NS)}
    assert refines[(f"#{titles[0].get('id')}", "title-type")].text == "main"
    if source.get("subtitle"):
        assert titles[1].text == source.get("subtitle")
        assert refines[(f"#{titles[1].get('id')}", "title-type")].text == "subtitle"
    creators = opf.findall(".//dc:creator", NS)
    assert [c.text for c in creators] == source.author_names
    for c, a in zip(creators, source.authors):
        file_as = refines[(f"#{c.get('id')}", "file-as")]
        assert file_as.text == a.get("file-as", file_as.text) and file_as.text and file_as.get("scheme") is None
        role = refines[(f"#{c.get('id')}", "role")]
        assert role.text == "aut" and role.get("scheme") == "marc:relators"
    assert book.meta("language") == [source.get("language")]
    for key in ("publisher", "date", "rights", "description"):
        value = str(source.get(key) or "")
        assert book.meta(key) == ([value] if value else []), key
    assert book.meta("subject") == list(source.get("subjects", []))
    modified = book.props("dcterms:modified")
    assert len(modified) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified[0])
    assert modified[0][:10] >= str(source.get("date"))[:10]
    # EPUB Accessibility 1.1
    features = set(book.props("schema:accessibilityFeature"))
    assert {"structuralNavigation", "tableOfContents", "readingOrder", "pageBreakMarkers",
            "pageNavigation"} <= features
    assert ("alternativeText" in features) == any(c.images for c in load_meta(folder).chapters)
    assert ("annotations" in features) == any(c.notes for c in load_meta(folder).chapters)
    assert "textual" in book.props("schema:accessMode")
    assert book.props("schema:accessModeSufficient") == ["textual"]
    assert book.props("schema:accessibilityHazard") == ["none"]
    assert len(book.props("schema:accessibilitySummary")[0]) > 40
    assert book.props("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]


def test_generated_cover(default_build):
    from PIL import Image
    book = Epub(default_build.outputs["epub"])
    items = [i for i in book.manifest.values() if "cover-image" in (i.get("properties") or "").split()]
    assert len(items) == 1 and items[0].get("media-type") == "image/jpeg"
    image = Image.open(io.BytesIO(book.zip.read(book.base + items[0].get("href"))))
    assert image.size[0] >= 1600 and image.size[1] >= 2560
    img = book.xml("cover.xhtml").find(".//x:img", NS)
    assert img.get("src") == items[0].get("href") and "Understanding the 1941 Pact" in img.get("alt")


def test_the_books_own_cover(covered_build):
    book = Epub(covered_build.outputs["epub"])
    items = [i for i in book.manifest.values() if "cover-image" in (i.get("properties") or "").split()]
    assert len(items) == 1
    assert book.zip.read(book.base + items[0].get("href")) == (COVERED_BOOK / "images/cover.jpg").read_bytes()
    img = book.xml("cover.xhtml").find(".//x:img", NS)
    assert img.get("src") == items[0].get("href")
    assert img.get("alt") == "Un cadre doré autour d’un disque doré sur fond bleu nuit."
    # a French book: the words the templates print are French
    nav = book.xml("nav.xhtml")
    assert nav.find(".//x:nav[@epub:type='landmarks']", NS).get("aria-label") == "Repères"
    assert "".join(nav.find(".//x:h1", NS).itertext()) == "Table des matières"


def test_css_leaves_the_reader_in_charge(default_build):
    book = Epub(default_build.outputs["epub"])
    sheets = [i.get("href") for i in book.manifest.values() if i.get("media-type") == "text/css"]
    assert sheets
    img_scales = False
    for href in sheets:
        rules = tinycss2.parse_stylesheet(book.zip.read(book.base + href).decode(), skip_comments=True,
                                          skip_whitespace=True)
        for rule in rules:
            if rule.type != "qualified-rule":
                continue
            selector = tinycss2.serialize(rule.prelude).strip()
            for decl in tinycss2.parse_declaration_list(rule.content, skip_comments=True, skip_whitespace=True):
                if decl.type != "declaration":
                    continue
                value = tinycss2.serialize(decl.value).strip()
                units = {t.unit.lower() for t in decl.value if t.type == "dimension"}
                where = f"{href}: {selector} {{ {decl.name}: {value} }}"
                if decl.name == "font-size":
                    assert not units & {"px", "pt", "pc", "mm", "cm", "in"}, where
                    assert not re.search(r"\b(html|body)\b", selector) or value in ("1em", "100%"), where
                if decl.name == "line-height":
                    assert not units & {"px", "pt"}, where
                if decl.name == "font-family":
                    assert "monospace" in value, where  # only code sets a family: the reader's font wins
                if decl.name.startswith(("margin", "padding")) and re.fullmatch(r"(html|body)", selector):
                    raise AssertionError(f"overrides the reader's margins: {where}")
                if decl.name == "max-width" and selector == "img" and value == "100%":
                    img_scales = True
    assert img_scales


# ---------------------------------------------------------------- reproducible

def test_two_builds_are_byte_identical(default_build, tmp_path):
    again = build_into(DEFAULT_BOOK, tmp_path, formats=("epub",))
    first = default_build.outputs["epub"].read_bytes()
    assert again.outputs["epub"].read_bytes() == first
    z = zipfile.ZipFile(io.BytesIO(first))
    infos = z.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert z.read("mimetype") == b"application/epub+zip" and not infos[0].extra
    assert len({i.date_time for i in infos}) == 1


def test_source_date_epoch_sets_modified(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    result = build_into(COVERED_BOOK, tmp_path, formats=("epub",))
    book = Epub(result.outputs["epub"])
    assert book.props("dcterms:modified") == ["2023-11-14T22:13:20Z"]
    assert {i.date_time for i in book.zip.infolist()} == {(2023, 11, 14, 22, 13, 20)}


# ---------------------------------------------------------------- build.py --check

def test_check_passes_and_says_so(tmp_path):
    """One EPUBCheck run: the book with its own cover, in French, checked by the build itself."""
    r = run_cli("--book", COVERED_BOOK, "--out", tmp_path, "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"check PDF: ok: \d+ fonts?, all embedded; tagged; outline of \d+ entr", r.stdout)
    assert re.search(r"check EPUB: ok: EPUBCheck [\d.]+: 0 errors, 0 warnings", r.stdout)
    assert r.stdout.rstrip().endswith("check: all passed")


def test_check_fails_without_java(tmp_path):
    # no Java on the PATH: EPUBCheck cannot run, so the check fails (and the PDF check still runs)
    r = run_cli("--book", COVERED_BOOK, "--out", tmp_path, "--check", "--quiet", env={"PATH": str(tmp_path)})
    assert r.returncode == 1
    assert "check EPUB: FAILED: EPUBCheck needs Java" in r.stderr and "check PDF: ok" in r.stderr
    assert "check: 1 of 2 failed (EPUB)" in r.stderr
    assert (tmp_path / "le-livre-et-sa-couverture.epub").is_file()  # the files are written all the same


def test_check_finds_what_is_wrong(covered_build, tmp_path):
    from bookgen.check import check_epub, check_pdf, verdict
    from weasyprint import HTML
    # an EPUB whose note link points nowhere
    src = zipfile.ZipFile(covered_build.outputs["epub"])
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(broken, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("machine.xhtml"):
                data = data.replace(b'href="#machine-fn1"', b'href="#nowhere"')
            out.writestr(info, data)
    epub = check_epub(broken)
    assert not epub.ok and re.search(r"[1-9]\d* errors?", epub.summary)
    assert any("RSC-012" in d and "machine.xhtml" in d for d in epub.details), epub.details
    # a PDF without tags or outline
    plain = tmp_path / "plain.pdf"
    HTML(string="<p>No headings, no tags.</p>").write_pdf(plain)
    pdf = check_pdf(plain)
    assert not pdf.ok and "not tagged" in pdf.summary and "outline of 0 entries" in pdf.summary
    text = verdict([pdf, epub])
    assert "check PDF: FAILED" in text and "check: 2 of 2 failed (PDF, EPUB)" in text

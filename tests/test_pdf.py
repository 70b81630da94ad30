"""Issue 3: the PDF reads like a printed book. Every check reads the built PDF back (pypdf, poppler); the few
checks of the layout itself (widows, stranded headings) read WeasyPrint's laid-out pages."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from conftest import DEFAULT_BOOK, FIXTURES, LARGER_BOOK, build_into, normalize, run_cli
from sources import read_book

TYPESET_BOOK = FIXTURES / "typeset"
LONGNOTE_BOOK = FIXTURES / "longnote"
MM = 72 / 25.4
SIZES = {"A5": (148 * MM, 210 * MM), "A4": (210 * MM, 297 * MM), "Letter": (612, 792), "Trade": (432, 648)}


# ---------------------------------------------------------------- builds (each once per test session)

@pytest.fixture(scope="session")
def typeset(tmp_path_factory):
    """The typeset fixture laid out once: its PDF, and WeasyPrint's pages for the checks of the layout itself."""
    from bookgen.load_book import load_book
    from bookgen.write_pdf import pdf_bytes, render_print
    book = load_book(TYPESET_BOOK)
    rendered = render_print(book)
    assert not rendered.warnings, f"WeasyPrint logged warnings: {rendered.warnings}"
    path = tmp_path_factory.mktemp("typeset") / f"{book.slug}.pdf"
    path.write_bytes(pdf_bytes(book, rendered))
    return read_book(TYPESET_BOOK), path, rendered


@pytest.fixture(scope="session")
def print_shop_build(tmp_path_factory):
    return build_into(DEFAULT_BOOK, tmp_path_factory.mktemp("print-shop"), formats=("pdf",), bleed="3mm",
                      crop_marks=True)


@pytest.fixture(scope="session")
def books(default_build, larger_build, typeset):
    """(the book as its sources say (tests/sources.py), PDF path) of each book built with its own settings."""
    return {"default": (read_book(DEFAULT_BOOK), default_build.outputs["pdf"]),
            "larger": (read_book(LARGER_BOOK), larger_build.outputs["pdf"]),
            "typeset": typeset[:2]}


ALL_BOOKS = ["default", "larger", "typeset"]


def opens_continuously(name) -> bool:
    """book.toml's chapter-open, read here with tomllib: "continuous" runs chapters on after each other."""
    import tomllib
    folder = {"default": DEFAULT_BOOK, "larger": LARGER_BOOK, "typeset": TYPESET_BOOK}[name]
    return tomllib.loads((folder / "book.toml").read_text(encoding="utf-8")).get("chapter-open") == "continuous"


def shows_chapter_opening(path, index, title, continuous) -> bool:
    """The chapter's title begins the page's text block, or, for chapters that run on, is a line of that page."""
    if not continuous:
        return page_starts_with(path, index, title)
    return normalize(title) in [normalize(line) for line in layout_text(path)[index].splitlines()]


# ---------------------------------------------------------------- reading a PDF back

@lru_cache(maxsize=None)
def words(path: Path) -> list[list[tuple]]:
    """Each page's words as (xMin, yMin, xMax, yMax, text), y from the top, from poppler's pdftotext -bbox."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True).stdout
    root = etree.fromstring(out, etree.XMLParser(recover=True))
    pages = []
    for page in root.iter("{*}page"):
        pages.append([(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")), float(w.get("yMax")),
                       w.text or "") for w in page.iter("{*}word")])
    return pages


@lru_cache(maxsize=None)
def layout_text(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                         check=True).stdout
    return out.split("\f")[:-1]


@lru_cache(maxsize=None)
def reader(path: Path) -> PdfReader:
    return PdfReader(str(path))


def margins_pt(book):
    """top, outer, bottom, inner margins of the book's page size, in points."""
    def pt(length):
        m = re.fullmatch(r"([\d.]+)(mm|in)", length)
        return float(m.group(1)) * (MM if m.group(2) == "mm" else 72)
    return tuple(pt(m) for m in book.margins)


def head_and_foot(path, book, index):
    """Text printed above and below the text block of a page, with the x of its middle."""
    page_words = words(path)[index]
    top, _, bottom, _ = margins_pt(book)
    height = float(reader(path).pages[index].mediabox.height)
    head = [w for w in page_words if w[3] <= top + 1]
    foot = [w for w in page_words if w[1] >= height - bottom - 1]
    return head, foot


def joined(ws) -> str:
    return " ".join(w[4] for w in sorted(ws, key=lambda w: (round(w[1]), w[0])))


def chapter_pages(path, book) -> dict:
    """Chapter id -> page index, from the PDF outline (checked against the printed text elsewhere)."""
    r = reader(path)
    titles = {}
    for item in r.outline:
        if not isinstance(item, list):
            titles[normalize(item.title)] = r.get_destination_page_number(item)
    return {c.id: titles[normalize(c.title)] for c in book.chapters}


def page_starts_with(path, index, text) -> bool:
    """The text is the first thing printed in the page's text block (the running head aside)."""
    body = normalize(layout_text(path)[index])
    return normalize(text) in body[: len(normalize(text)) + 200]


def contents_entries(path) -> list[tuple[str, str]]:
    """(title, printed page number) of each line of the contents page."""
    pages = layout_text(path)
    index = next(i for i, t in enumerate(pages) if t.strip().startswith("Contents"))
    entries, pending = [], ""
    for line in pages[index].splitlines()[1:]:
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"(.*?)[\s.]*\s([0-9]+|[ivxlcdm]+)", line)
        if m and (m.group(1) or pending):
            entries.append(((pending + " " + m.group(1)).strip(), m.group(2)))
            pending = ""
        elif not re.fullmatch(r"[ivxlcdm]+", line):  # the contents page's own folio
            pending = (pending + " " + line).strip()
    return entries


# ---------------------------------------------------------------- structure

@pytest.mark.parametrize("name", ALL_BOOKS)
def test_contents_numbers_are_the_pages_where_chapters_are_printed(books, name):
    book, path = books[name]
    entries = contents_entries(path)
    assert [normalize(t) for t, _ in entries] == [normalize(c.title) for c in book.chapters]
    labels = reader(path).page_labels
    for (title, folio), chapter in zip(entries, book.chapters):
        index = labels.index(folio)
        assert shows_chapter_opening(path, index, chapter.title, opens_continuously(name)), \
            f"{title}: contents say {folio}"
    # each entry is a live link to its chapter's page
    contents = next(i for i, t in enumerate(layout_text(path)) if t.strip().startswith("Contents"))
    targets = sorted(set(link_targets(path, contents).values()))
    assert targets == sorted(set(chapter_pages(path, book).values()))  # chapters that run on may share a page


def link_targets(path, index) -> dict:
    """Link annotations of a page: rectangle -> index of the page they go to."""
    r = reader(path)
    names = {k: r.get_destination_page_number(v) for k, v in r.named_destinations.items()}
    out = {}
    for annot in r.pages[index].get("/Annots", []) or []:
        a = annot.get_object()
        dest = a.get("/Dest")
        if dest is None and a.get("/A") is not None and a["/A"].get("/S") == "/GoTo":
            dest = a["/A"]["/D"]
        if dest is None:
            continue
        if isinstance(dest, str):
            target = names[str(dest)]
        else:
            page = dest[0]
            target = r.get_page_number(page.get_object() if isinstance(page, IndirectObject) else page)
        out[tuple(round(float(v), 1) for v in a["/Rect"])] = target
    return out


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_every_chapter_opens_on_a_right_hand_page(books, name):
    book, path = books[name]
    if opens_continuously(name):  # only the body's first chapter opens a right-hand page; the rest run on
        first = next(c for c in book.chapters if c.matter == "body")
        index = chapter_pages(path, book)[first.id]
        assert index % 2 == 0 and page_starts_with(path, index, first.title)
        return
    for chapter in book.chapters:
        index = chapter_pages(path, book)[chapter.id]
        assert index % 2 == 0, f"{chapter.title} opens on page {index + 1}, a left-hand page"
        assert page_starts_with(path, index, chapter.title)


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_body_starts_at_folio_one_and_labels_match_printed_folios(books, name):
    book, path = books[name]
    labels = reader(path).page_labels
    first_body = next(c for c in book.chapters if c.matter == "body")
    start = chapter_pages(path, book)[first_body.id]
    assert labels[:start] == [to_roman(i + 1) for i in range(start)]
    assert labels[start:] == [str(i + 1) for i in range(len(labels) - start)]
    printed = 0
    for i, label in enumerate(labels):
        _, foot = head_and_foot(path, book, i)
        if foot:
            assert joined(foot) == label, f"page {i + 1} prints folio {joined(foot)!r}, its label is {label}"
            printed += 1
    contents = next(i for i, t in enumerate(layout_text(path)) if t.strip().startswith("Contents"))
    assert printed == len([i for i in range(contents, len(labels)) if words(path)[i]])


def to_roman(n: int) -> str:
    """Lower-case roman numerals, enough for any front matter."""
    return ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv"][n - 1]


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_running_heads_and_folios_where_they_belong(books, name):
    book, path = books[name]
    pages = chapter_pages(path, book)
    # pages a chapter opens (a chapter that runs on after another begins mid-page: that page has its head)
    if opens_continuously(name):  # front matter and the body's first chapter open pages; the rest run on
        first_body = next(c for c in book.chapters if c.matter == "body")
        openings = {pages[c.id] for c in book.chapters if c.matter == "front"} | {pages[first_body.id]}
    else:
        openings = set(pages.values())
    n = len(reader(path).pages)
    width = float(reader(path).pages[0].mediabox.width)
    contents = next(i for i, t in enumerate(layout_text(path)) if t.strip().startswith("Contents"))
    chapter_at = {}  # the running head, as CSS string(..., first): the first title set on the page, else the last before
    current = None
    for i in range(n):
        starting = [c for c in book.chapters if pages[c.id] == i]
        chapter_at[i] = starting[0] if starting else current
        current = starting[-1] if starting else current
    seen = {"left head": 0, "right head": 0}
    for i in range(n):
        head, foot = head_and_foot(path, book, i)
        text = words(path)[i]
        left = i % 2 == 1
        if i < contents or not text:
            # half-title, title, copyright page, and blank pages: no head, no folio
            assert not head and not foot, f"page {i + 1} should carry no head or folio"
            continue
        assert foot, f"page {i + 1} has no folio"
        middle = (min(w[0] for w in foot) + max(w[2] for w in foot)) / 2
        assert (middle < width / 2) if left else (middle > width / 2), f"page {i + 1}: folio not outside"
        if i in openings or i == contents:
            assert not head, f"page {i + 1} opens a chapter and should have no running head"
        elif chapter_at[i] is not None:
            expected = book.title if left else chapter_at[i].title
            assert normalize(joined(head)) == normalize(expected), f"page {i + 1}"
            seen["left head" if left else "right head"] += 1
    least = 1 if name == "default" else 3  # the default book: a short essay whose sections run on
    assert seen["left head"] >= least and seen["right head"] >= least, seen


def test_blank_pages_are_blank(books):
    book, path = books["default"]
    blank = [i for i, t in enumerate(words(path)) if not t]
    assert blank, "the default book has blank left pages before its chapters"
    for i in blank:
        assert i % 2 == 1  # only left-hand pages are left blank
        assert not reader(path).pages[i].extract_text().strip()


def test_front_matter_pages(books):
    book, path = books["default"]
    text = [normalize(t) for t in layout_text(path)]
    assert text[0] == normalize(book.title)  # half-title: the title, whole, not hyphenated
    assert "\u2010" not in layout_text(path)[0] and "-\n" not in layout_text(path)[0]
    assert text[1] == ""
    assert normalize(book.title) in text[2] and normalize(book.get("publisher")) in text[2]
    assert book.get("publisher") and book.get("rights")  # the default book has both: the checks mean something
    copyright_words = words(path)[3]
    assert normalize(book.get("rights")) in text[3]
    assert "urn:uuid" not in layout_text(path)[3]  # a urn:uuid identifier is not printed (an ISBN is)
    # the copyright text sits at the foot of page iv
    _, _, bottom, _ = margins_pt(book)
    height = float(reader(path).pages[3].mediabox.height)
    assert max(w[3] for w in copyright_words) > height - bottom - 12
    assert min(w[1] for w in copyright_words) > height / 2


# ---------------------------------------------------------------- footnotes

@pytest.mark.parametrize("name", ALL_BOOKS)
def test_each_footnote_is_on_the_page_of_its_call_with_the_same_number(books, name):
    book, path = books[name]
    r = reader(path)
    names = {k: r.get_destination_page_number(v) for k, v in r.named_destinations.items()}
    count = 0
    for chapter in book.chapters:
        for note in chapter.notes:
            call_page = names[chapter.ref_id(note)]
            note_page = names[chapter.note_id(note)]
            assert call_page == note_page, f"{chapter.id} note {note.number}"
            # the call printed in the text is the note's number, a link to the note
            calls = [rect for rect, target in link_targets(path, call_page).items() if target == note_page]
            printed = {joined([w for w in words(path)[call_page] if inside(w, rect, r.pages[call_page])])
                       for rect in calls}
            assert str(note.number) in printed, f"{chapter.id} note {note.number}: calls {printed}"
            # the note at the foot starts with the same number, then its text
            first = note.first_words()
            flat = normalize(layout_text(path)[note_page])
            assert normalize(f"{note.number}. {first}") in flat, f"{chapter.id} note {note.number}"
            count += 1
    least = {"default": 1, "larger": 6, "typeset": 14}[name]  # notes the fixtures' sources define, at least
    assert count >= least, count


def inside(word, rect, page) -> bool:
    """A pdftotext word (y from the top) inside a PDF rectangle (y from the bottom)."""
    height = float(page.mediabox.top)
    x0, y0, x1, y1 = rect
    cx, cy = (word[0] + word[2]) / 2, height - (word[1] + word[3]) / 2
    return x0 - 1 <= cx <= x1 + 1 and y0 - 1 <= cy <= y1 + 1


def test_notes_are_numbered_from_one_in_each_chapter(books):
    book, _ = books["typeset"]
    numbered = [c for c in book.chapters if c.notes]
    assert [n.number for n in numbered[0].notes] == list(range(1, 15))
    book, _ = books["larger"]
    assert all(c.notes[0].number == 1 for c in book.chapters if c.notes)


def test_a_note_weasyprint_would_move_stays_with_its_call(tmp_path):
    import shutil
    book = tmp_path / "book"
    shutil.copytree(LONGNOTE_BOOK, book)
    toml = book / "book.toml"
    toml.write_text(re.sub(r"chapters = \[.*\]", 'chapters = ["chapters/two.md"]', toml.read_text()))
    build_into(book, tmp_path / "out", formats=("pdf",))
    r = reader(next((tmp_path / "out").glob("*.pdf")))
    names = {k: r.get_destination_page_number(v) for k, v in r.named_destinations.items()}
    assert names["two-fnref1"] == names["two-fn1"]
    assert "The end of the note" in r.pages[names["two-fn1"]].extract_text().replace("\u00a0", " ")


# ---------------------------------------------------------------- type

def pdf_fonts(path) -> list[dict]:
    r = reader(path)
    seen = {}
    for page in r.pages:
        fonts = page.get("/Resources", {}).get("/Font", {}) or {}
        for f in fonts.values():
            f = f.get_object()
            descendant = f["/DescendantFonts"][0].get_object() if "/DescendantFonts" in f else f
            descriptor = descendant["/FontDescriptor"].get_object()
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            seen[str(f["/BaseFont"])] = {"name": str(f["/BaseFont"]).lstrip("/"), "embedded": embedded}
    return list(seen.values())


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_fonts_are_embedded_subset_and_never_a_fallback(books, name):
    _, path = books[name]
    fonts = pdf_fonts(path)
    assert fonts
    for f in fonts:
        assert f["embedded"], f
        assert re.fullmatch(r"[A-Z]{6}\+.+", f["name"]), f"{f['name']} is not subset"
        # Noto faces are chosen by the stylesheet (bookgen/fonts.py), named ones; DejaVu or Droid would be
        # fontconfig's own fallback
        assert "DejaVu" not in f["name"] and "Droid" not in f["name"], f
        assert "Noto" not in f["name"] or re.search(r"\+Noto-(Serif|Naskh)", f["name"]), f
    pdffonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = pdffonts.splitlines()[2:]
    assert rows and all(re.search(r"\byes yes yes\b", row) for row in rows), pdffonts


def test_every_style_of_the_book_face_embeds(books):
    _, path = books["typeset"]
    names = {re.sub(r"^[A-Z]{6}\+", "", f["name"]) for f in pdf_fonts(path)}
    for style in ("Linux-Libertine-O", "Linux-Libertine-O-Italic", "Linux-Libertine-O-Bold",
                  "Linux-Libertine-O-Bold-Italic"):
        assert style in names, names


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_latin_text_is_set_in_the_book_face(books, name):
    _, path = books[name]
    runs = []
    for page in reader(path).pages:
        page.extract_text(visitor_text=lambda text, cm, tm, font, size: runs.append((text, font)))
    latin = [(t, f) for t, f in runs if f is not None and re.search(r"[A-Za-zÀ-ɏ]", t)]
    assert len(latin) > 50
    wrong = {str(f["/BaseFont"]) for t, f in latin if "Libertine" not in str(f["/BaseFont"])}
    assert not wrong, wrong


def test_cjk_text_is_set_in_the_chosen_serif(books):
    _, path = books["larger"]
    runs = []
    for page in reader(path).pages:
        page.extract_text(visitor_text=lambda text, cm, tm, font, size: runs.append((text, font)))
    cjk = [str(f["/BaseFont"]) for t, f in runs if f is not None and re.search(r"[\u4e00-\u9fff]", t)]
    assert cjk and all("Noto-Serif-CJK-SC" in f for f in cjk), cjk


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_copyright_page_names_the_fonts_really_used(books, name):
    _, path = books[name]
    text = " ".join(layout_text(path)[3].split())
    m = re.search(r"Set in (.+?)\.(?: |$)", text)
    assert m, text
    named = [n.strip() for n in m.group(1).split(",")]
    embedded = {re.sub(r"^[A-Z]{6}\+", "", f["name"]) for f in pdf_fonts(path)}
    assert named[0] == "Linux Libertine O"
    for family in named:  # every family named is embedded ...
        assert any(e.startswith(family.replace(" ", "-")) for e in embedded), (family, embedded)
    for e in embedded:  # ... and every embedded font is of a family named (the longest name that fits)
        assert any(e.startswith(f.replace(" ", "-")) for f in named), (e, named)
    if name == "larger":
        assert set(named) == {"Linux Libertine O", "Linux Libertine Mono O", "Noto Serif CJK SC"}


def test_text_is_hyphenated_in_the_book_language_but_titles_are_not(books):
    book, path = books["typeset"]
    assert book.get("language") == "en-GB"
    pages = layout_text(path)
    body_lines = [line.rstrip() for page in pages[6:] for line in page.splitlines()]
    hyphenated = [line for line in body_lines if line.endswith("\u2010")]
    assert len(hyphenated) >= 10
    # never in a running head, a heading or the contents
    titles = {normalize(c.title) for c in book.chapters} | {normalize(h.text) for c in book.chapters
                                                             for h in c.headings}
    for i, page_words in enumerate(words(path)):
        head, _ = head_and_foot(path, book, i)
        assert "\u2010" not in joined(head)
    contents = next(i for i, t in enumerate(pages) if t.strip().startswith("Contents"))
    assert "\u2010" not in pages[contents]
    for line in body_lines:
        if line.endswith("\u2010"):
            assert not any(normalize(line).startswith(t[:12]) for t in titles if len(t) > 12), line


# ---------------------------------------------------------------- layout (read from WeasyPrint's pages)

def blocks_by_page(rendered):
    """For each page, the in-flow block boxes in order (not the margin boxes or the footnote area)."""
    from weasyprint.formatting_structure import boxes as B
    pages = []
    for page in rendered.document.pages:
        found = []

        def walk(box):
            if isinstance(box, (B.MarginBox, B.FootnoteAreaBox)):
                return
            if isinstance(box, B.BlockBox) and box.element is not None and box.element_tag in (
                    "p", "h1", "h2", "h3", "h4", "table", "pre", "figure", "blockquote", "li"):
                found.append(box)
                if box.element_tag in ("p", "h1", "h2", "h3", "h4", "pre", "li"):
                    return
            for child in getattr(box, "children", ()):
                walk(child)
        walk(page._page_box)
        pages.append(found)
    return pages


def test_no_heading_stranded_at_the_foot_of_a_page(typeset):
    pages = blocks_by_page(typeset[2])
    headings = 0
    for i, found in enumerate(pages):
        headings += sum(b.element_tag in ("h2", "h3") for b in found)
        if found:
            assert found[-1].element_tag not in ("h2", "h3", "h4"), f"page {i + 1} ends with a heading"
    assert headings >= 4


def test_no_widows_or_orphans(typeset):
    from weasyprint.formatting_structure import boxes as B
    lines = {}  # paragraph element -> lines on each page it is on
    for i, found in enumerate(blocks_by_page(typeset[2])):
        for box in found:
            if box.element_tag == "p":
                n = sum(isinstance(c, B.LineBox) for c in box.children)
                lines.setdefault(box.element, []).append(n)
    split = [n for n in lines.values() if len(n) > 1]
    assert split, "some paragraphs run over a page"
    for parts in split:
        assert min(parts) >= 2, parts


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_nothing_overflows_the_text_block(books, name):
    book, path = books[name]
    top, outer, bottom, inner = margins_pt(book)
    r = reader(path)
    width = float(r.pages[0].mediabox.width)
    for i, page_words in enumerate(words(path)):
        left = i % 2 == 1
        x0 = outer if left else inner
        x1 = width - (inner if left else outer)
        for w in page_words:
            assert w[0] >= x0 - 1 and w[2] <= x1 + 1, f"page {i + 1}: {w[4]!r} is outside the text block"
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    for row in images:
        cols = row.split()
        printed_width = int(cols[3]) / int(cols[12]) * 72
        assert printed_width <= width - outer - inner + 1, row
    if name != "default":
        assert images


# ---------------------------------------------------------------- the file

@pytest.mark.parametrize("size", ["A4", "Letter", "Trade"])
def test_page_size_option(tmp_path_factory, size):
    out = tmp_path_factory.mktemp(f"size-{size}")
    build_into(DEFAULT_BOOK, out, formats=("pdf",), page_size=size)
    path = next(out.glob("*.pdf"))
    check_page_size(path, size)
    # the same book, the same chapters on right-hand pages, the contents still true
    book = read_book(DEFAULT_BOOK)
    labels = reader(path).page_labels
    for (title, folio), chapter in zip(contents_entries(path), book.chapters):
        assert shows_chapter_opening(path, labels.index(folio), chapter.title, opens_continuously("default"))


def check_page_size(path, size):
    w, h = SIZES[size]
    for page in reader(path).pages:
        assert abs(float(page.mediabox.width) - w) < 0.5 and abs(float(page.mediabox.height) - h) < 0.5


def test_page_size_from_book_toml(books):
    check_page_size(books["default"][1], "A5")
    check_page_size(books["typeset"][1], "Trade")


def test_bleed_and_crop_marks_set_the_boxes(print_shop_build, default_build):
    bleed = 3 * MM
    w, h = SIZES["A5"]
    for page in PdfReader(print_shop_build.outputs["pdf"]).pages:
        trim = [float(v) for v in page.trimbox]
        assert trim == pytest.approx([0, 0, w, h], abs=0.01)
        assert [float(v) for v in page.bleedbox] == pytest.approx([-bleed, -bleed, w + bleed, h + bleed], abs=0.01)
        media = [float(v) for v in page.mediabox]
        # the crop marks are drawn outside the bleed, so the sheet is larger than the BleedBox
        assert media[0] < -bleed - 5 and media[2] > w + bleed + 5
    for page in reader(default_build.outputs["pdf"]).pages:
        assert [float(v) for v in page.trimbox] == [float(v) for v in page.mediabox]
        assert [float(v) for v in page.bleedbox] == [float(v) for v in page.mediabox]


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_outline_has_each_chapter_and_its_sections(books, name):
    book, path = books[name]
    r = reader(path)
    outline = r.outline
    top = [item for item in outline if not isinstance(item, list)]
    assert [normalize(item.title) for item in top] == [normalize(c.title) for c in book.chapters]
    assert not [item.title for item in top if re.search(r"[\"']|--", item.title)]  # typographic quotes, dashes
    # sections come below their chapter, in order, pointing at their pages
    for k, item in enumerate(outline):
        if isinstance(item, list):
            parent = outline[k - 1]
            chapter = next(c for c in book.chapters if normalize(c.title) == normalize(parent.title))
            level2 = [normalize(i.title) for i in item if not isinstance(i, list)]
            assert level2 == [normalize(h.text) for h in chapter.headings if h.level == 2]
    expected = sum(1 for c in book.chapters for h in c.headings if h.level == 2)
    got = sum(len([i for i in item if not isinstance(i, list)]) for item in outline if isinstance(item, list))
    assert got == expected
    if name == "typeset":
        assert expected >= 5
        # level 3 below level 2
        faces = outline[[i for i, x in enumerate(outline) if not isinstance(x, list)
                         and x.title == "The Faces of the Book"][0] + 1]
        assert isinstance(faces[1], list) and faces[1][0].title.startswith("A Subsection of")


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_metadata(books, name):
    """Every key of book.toml that describes the book reaches the PDF's Info dictionary and its XMP."""
    book, path = books[name]
    r = reader(path)
    meta = r.metadata
    assert meta.title.startswith(book.title)
    assert all(author in meta.author for author in book.author_names) and book.author_names
    if len(book.author_names) == 1:
        assert meta.author == book.author_names[0]
    assert meta.subject == book.get("description")
    assert meta.get("/Keywords") == ", ".join(book.get("subjects", []))
    assert r.trailer["/Root"]["/Lang"] == book.get("language")
    assert meta.get("/CreationDate").startswith("D:" + str(book.get("date")).replace("-", ""))
    modified = dt.datetime.strptime(meta.get("/ModDate"), "D:%Y%m%d%H%M%SZ")
    assert modified.strftime("%Y%m%d") >= str(book.get("date")).replace("-", "")
    xmp = r.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfuaid:part="1"' in xmp
    etree.fromstring(xmp.encode("utf-8"))  # well-formed, with what the build added
    for key in ("title", "description", "publisher", "rights", "identifier", "language"):
        if book.get(key):
            assert etree_escape(str(book.get(key))) in xmp, key
    for value in (*book.author_names, *book.get("subjects", []), modified.strftime("%Y-%m-%dT%H:%M:%S")):
        assert etree_escape(value) in xmp, value
    assert r.pdf_header == "%PDF-1.7"


def etree_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def figures_alt(path) -> list:
    """The /Alt of every /Figure in the PDF's structure tree, in document order."""
    found = []

    def walk(node):
        node = node.get_object() if isinstance(node, IndirectObject) else node
        if isinstance(node, list):
            for kid in node:
                walk(kid)
        elif hasattr(node, "get"):
            if node.get("/S") == "/Figure":
                found.append(str(node.get("/Alt")))
            if node.get("/K") is not None:
                walk(node["/K"])
    walk(reader(path).trailer["/Root"]["/StructTreeRoot"])
    return found


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_each_figure_reads_its_alt_text(books, name):
    """A screen reader says what the author wrote in `![...]`, for each picture, in order."""
    book, path = books[name]
    alts = [alt for c in book.chapters for alt in c.alts]
    assert figures_alt(path) == alts
    assert name == "default" or alts  # the larger and typeset books have pictures: the check means something


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_tagged_for_screen_readers(books, name):
    _, path = books[name]
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    root = reader(path).trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root


def test_rebuild_is_byte_identical_and_honours_source_date_epoch(tmp_path, monkeypatch):
    epoch = 1_700_000_000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    build_into(DEFAULT_BOOK, tmp_path / "a", formats=("pdf",))
    # a second build, in another process
    r = run_cli("--book", DEFAULT_BOOK, "--out", tmp_path / "b", "--format", "pdf",
                env={"SOURCE_DATE_EPOCH": str(epoch)})
    assert r.returncode == 0, r.stderr
    a, b = next((tmp_path / "a").glob("*.pdf")), next((tmp_path / "b").glob("*.pdf"))
    assert a.read_bytes() == b.read_bytes()
    meta = PdfReader(a).metadata
    assert meta.get("/ModDate") == "D:" + dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime(
        "%Y%m%d%H%M%S") + "Z"
    assert meta.get("/CreationDate").startswith("D:20261125")
    # no build time anywhere in the file
    now = dt.datetime.now(dt.timezone.utc)
    for stamp in {now.strftime("%Y%m%d%H"), now.strftime("%Y-%m-%dT%H")}:
        assert stamp.encode() not in a.read_bytes()


def test_default_book_rebuilds_byte_identical(default_build, tmp_path):
    build_into(DEFAULT_BOOK, tmp_path, formats=("pdf",))
    assert next(tmp_path.glob("*.pdf")).read_bytes() == default_build.outputs["pdf"].read_bytes()

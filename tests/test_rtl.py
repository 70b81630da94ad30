"""Issue 12: a right-to-left book is right-to-left in both editions; its printed book is bound on the right."""
from __future__ import annotations

import re
import subprocess
import zipfile

import pytest
from lxml import etree

from conftest import FIXTURES, build_into

BOOK_TITLE = "رسائل من الصحراء"
CHAPTER_TITLE = "البداية"


@pytest.fixture(scope="module")
def arabic(tmp_path_factory):
    return build_into(FIXTURES / "lang-ar", tmp_path_factory.mktemp("rtl"), jobs=0).outputs


def words_by_page(pdf) -> list[list[tuple]]:
    """(text, xMin, xMax, yMin) of every word, page by page, and the page width (pdftotext -bbox)."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True).stdout
    root = etree.fromstring(xml, etree.XMLParser(recover=True))
    pages = []
    for page in root.iter("{*}page"):
        width = float(page.get("width"))
        pages.append((width, [(w.text or "", float(w.get("xMin")), float(w.get("xMax")), float(w.get("yMin")))
                              for w in page.iter("{*}word")]))
    return pages


def logical(word: str) -> str:
    return word[::-1]  # pdftotext gives Arabic words in visual order


def test_epub_spine_and_every_document_are_rtl(arabic):
    with zipfile.ZipFile(arabic["epub"]) as z:
        opf = z.read("EPUB/content.opf").decode()
        assert re.search(r'<spine[^>]*page-progression-direction="rtl"', opf)
        docs = [n for n in z.namelist() if n.endswith(".xhtml")]
        assert len(docs) >= 5
        for name in docs:
            root = etree.fromstring(z.read(name))
            assert root.get("dir") == "rtl", name


def test_printed_book_is_mirrored(arabic):
    pages = words_by_page(arabic["pdf"])
    folios = {}
    for index, (width, words) in enumerate(pages):
        for text, x0, x1, y in words:
            if y > 0.9 * 595 and text.isdigit():
                folios[int(text)] = (index, width, x0, x1)
    # Body page 1 opens the first chapter on a recto, which in a right-to-left book is the LEFT-hand page:
    # its folio sits in the outer (left) corner; page 2, a verso, is a right-hand page with its folio at the right.
    for n in (1, 3):
        _, width, x0, x1 = folios[n]
        assert x1 < width / 4, (n, x0, x1)
    _, width, x0, x1 = folios[2]
    assert x0 > width * 3 / 4, (x0, x1)
    # Running heads: the book title on the verso (right-hand page, at the right), the chapter title on the recto
    # (left-hand page, at the left).
    index2, width, _, _ = folios[2]
    head2 = [(t, x0, x1) for t, x0, x1, y in pages[index2][1] if y < 0.06 * 595]
    assert " ".join(logical(t) for t, _, _ in sorted(head2, key=lambda w: -w[1])) == BOOK_TITLE
    assert min(x0 for _, x0, _ in head2) > width / 2
    index3, width, _, _ = folios[3]
    head3 = [(t, x0, x1) for t, x0, x1, y in pages[index3][1] if y < 0.06 * 595]
    assert [logical(t) for t, _, _ in head3] == [CHAPTER_TITLE]
    assert max(x1 for _, _, x1 in head3) < width / 2


def test_contents_numbers_sit_at_the_left(arabic):
    pages = words_by_page(arabic["pdf"])
    width, words = next(p for p in pages if any(logical(t) == "المحتويات" for t, *_ in p[1]))
    numbers = [(t, x0) for t, x0, x1, y in words if t.isdigit()]
    assert numbers and all(x0 < width / 3 for _, x0 in numbers), numbers


@pytest.mark.parametrize("language,direction", [("ar", "rtl"), ("he", "rtl"), ("fa-IR", "rtl"), ("yi", "rtl"),
                                                ("az-Arab", "rtl"), ("en", "ltr"), ("zh-CN", "ltr")])
def test_direction_follows_the_language(language, direction):
    from bookgen.direction import language_direction
    assert language_direction(language) == direction


def test_direction_in_book_toml(tmp_path):
    import shutil

    from bookgen.errors import BookError
    from bookgen.load_book import load_book
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "lang-fr", book)
    toml = book / "book.toml"
    original = toml.read_text(encoding="utf-8")
    toml.write_text('direction = "rtl"\n' + original, encoding="utf-8")
    assert load_book(book).meta.direction == "rtl"
    toml.write_text('direction = "backwards"\n' + original, encoding="utf-8")
    with pytest.raises(BookError) as e:
        load_book(book)
    assert "book.toml:1:" in str(e.value) and "direction" in str(e.value)


def test_latin_runs_and_urls_are_isolated_in_right_to_left_text(tmp_path):
    result = build_into(FIXTURES / "lang-he", tmp_path, jobs=0, formats=("epub",))
    with zipfile.ZipFile(result.outputs["epub"]) as z:
        text = z.read("EPUB/rishon.xhtml").decode()
    assert "\u2066https://example.org/galil\u2069" in text  # the source has the URL bare in Hebrew text
    assert "\u2066The Galilee Maps\u2069 (" in text
    assert "\u2066Shalom\u2069" in text


def test_left_to_right_books_are_not_touched(tmp_path):
    from bookgen.markdown import make_parser
    assert "\u2066" not in make_parser("fr").render("Voir https://example.org et The Maps.")


def _lines(words) -> list:
    """Words grouped into lines (Arabic and Latin faces put yMin a few points apart), each left to right."""
    lines: list = []
    for text, x0, _x1, y in sorted(words, key=lambda w: w[3]):
        if lines and y - lines[-1][0] < 5:
            lines[-1][1].append((text, x0))
        else:
            lines.append((y, [(text, x0)]))
    return [sorted(ws, key=lambda w: w[1]) for _, ws in lines]


def test_latin_in_arabic_titles_reads_left_to_right_everywhere(tmp_path):
    """`C++` and `Python 3.12` in an Arabic book's title and a chapter's title: on the title page, in the contents,
    the chapter opening and both running heads, C++ is never printed ++C and Python stays left of 3.12."""
    import shutil
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "lang-ar", book)
    toml = book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        f'title = "{BOOK_TITLE}"', 'title = "رسائل C++ و Python 3.12"'), encoding="utf-8")
    chapter = book / "chapters" / "02-arqam.md"
    text = chapter.read_text(encoding="utf-8").replace(
        "title: الأرقام والأسماء", "title: مقدمة إلى C++ و Python 3.12")
    paragraph = ("نعود في هذا الفصل إلى الطريق الطويل، ونكتب عن الأماكن والأسماء التي\n"
                 "عرفناها في السفر، وعن الرفاق الذين ساروا معنا حتى النهاية.\n\n")
    chapter.write_text(text + "\n" + paragraph * 60, encoding="utf-8")
    pdf = build_into(book, tmp_path / "out", jobs=0, formats=("pdf",)).outputs["pdf"]
    seen = 0
    for width, words in words_by_page(pdf):
        for line in _lines(words):
            texts = [t for t, _ in line]
            assert "++C" not in texts and "#C" not in texts, texts
            if "C++" in texts:
                seen += 1
                assert "Python" in texts and "3.12" in texts, texts
                assert texts.index("Python") + 1 == texts.index("3.12"), texts
    # title page, half-title, contents, the chapter opening, and running heads on both sides of a spread
    assert seen >= 6, seen


def test_arabic_in_an_english_title_keeps_its_comma_and_number_after_it(tmp_path):
    """An English book quoting an Arabic name: "Notes on القاهرة, 1941 edition" prints the name, then ", 1941",
    in the chapter heading, the contents and the text (the bidi algorithm alone would move "1941 ," before it)."""
    import shutil
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "tiny", book)
    (book / "chapters" / "two.md").write_text(
        "---\ntitle: Notes on القاهرة, 1941 edition\n---\n\nThe name القاهرة, 1941 edition, is printed as\n"
        "the author wrote it.\n", encoding="utf-8")
    toml = book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'chapters = ["chapters/one.md"]', 'chapters = ["chapters/one.md", "chapters/two.md"]'), encoding="utf-8")
    pdf = build_into(book, tmp_path / "out", jobs=0, formats=("pdf",)).outputs["pdf"]
    seen = 0
    for _width, words in words_by_page(pdf):
        for line in _lines(words):
            texts = [t.rstrip(",") for t, _ in line]
            if "1941" in texts:
                arabic = next(i for i, t in enumerate(texts) if logical(t) == "القاهرة")
                assert "edition" in texts and arabic < texts.index("1941") < texts.index("edition"), texts
                seen += 1
    assert seen >= 3, seen  # the contents, the chapter's heading, the text


def test_a_latin_run_that_ends_a_paragraph_stays_whole(tmp_path):
    """The last two words of a paragraph are joined by a no-break space (runts.py): "Python 3.12." at the end of
    an Arabic paragraph stayed one left-to-right run only once the isolation took that space as a space. Before,
    it printed as "3.12 Python"."""
    book = tmp_path / "kitab.md"
    book.write_text("---\ntitle: رسائل\nlang: ar\nauthor: سلمى\n---\n\n# المقدمة\n\n"
                    "وفيها كلمات قليلة بالإنجليزية مثل Python 3.12.\n", encoding="utf-8")
    result = build_into(tmp_path, tmp_path / "out", jobs=0, files=(book,))
    found = 0
    for width, words in words_by_page(result.outputs["pdf"]):
        for line in _lines(words):
            texts = [t.strip(".") for t, _ in line]  # (the full stop is drawn at the run's left, pdftotext
            if "Python" in texts:                     # gives it with the word there)
                found += 1
                assert texts[texts.index("Python") + 1:][:1] == ["3.12"], texts
    assert found == 1

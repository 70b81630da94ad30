"""Issue 10: the split layout (chapter groups joined into one PDF) prints every glyph exactly as the book laid out
as one document does, for every kind of font: CFF and TrueType, CJK, Arabic, a variable font, a book's own
@font-face. And the join reads every page back before anything is written: a font merged wrongly is an
internal error naming the page, never a silently wrong book."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES, LARGER_BOOK, ROOT, build_into, pdftotext_pages

INTER = "/usr/share/fonts/truetype/inter-vf/Inter.var.ttf"  # Debian's fonts-inter-variable
DEJAVU_MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def pixels(pdf, folder):
    folder.mkdir()
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(folder / "p")], check=True)
    return [p.read_bytes() for p in sorted(folder.iterdir())]


def fonts_of(pdf) -> str:
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout


def own_font_face(tmp_path):
    """The larger fixture book with its own font file, declared with @font-face, for the body text."""
    book = tmp_path / "own"
    shutil.copytree(LARGER_BOOK, book)
    (book / "fonts").mkdir()
    shutil.copy(DEJAVU_MONO, book / "fonts" / "Manuscript.ttf")
    (book / "styles").mkdir(exist_ok=True)
    (book / "styles" / "own.css").write_text(
        '@font-face { font-family: "Manuscript"; src: url("../fonts/Manuscript.ttf"); }\n'
        'body, p { font-family: "Manuscript", serif; }\n', encoding="utf-8")
    return book


def variable_font(tmp_path):
    """The larger fixture book set in a variable TrueType font, at several weights."""
    book = tmp_path / "variable"
    shutil.copytree(LARGER_BOOK, book)
    (book / "styles").mkdir(exist_ok=True)
    (book / "styles" / "inter.css").write_text(
        'body, p, h1, h2 { font-family: "Inter", sans-serif; }\n'
        'p { font-variation-settings: "wght" 350; }\nh1 { font-variation-settings: "wght" 750; }\n'
        'h2 { font-weight: 600; }\n', encoding="utf-8")
    return book


def missing_character(tmp_path):
    """The larger fixture book with a character no installed font has, in its third chapter."""
    book = tmp_path / "missing"
    shutil.copytree(LARGER_BOOK, book)
    chapter = book / "chapters" / "maps.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nA rare character: \U0002E9A1 here.\n",
                       encoding="utf-8")
    return book


BOOKS = {
    # name: (how to get the book, a face the PDF must embed, text the book's sources hold)
    "Chinese, TrueType Latin in small capitals": (lambda tmp: FIXTURES / "glyphs-zh", "DejaVu-Serif-Small-Caps",
                                                  "第 5 页、第 6 页、第 8 页、第 9 页"),
    "Arabic in TrueType faces": (lambda tmp: FIXTURES / "glyphs-ar", "Noto-Naskh-Arabic", "Ptolemy"),
    "a book's own @font-face": (own_font_face, "Manuscript", None),
    "a variable font": (variable_font, "Inter", None),
    "a character no font has (drawn as the font's box)": (missing_character, "Linux-Libertine-O", "rare character"),
}


@pytest.mark.parametrize("name", list(BOOKS))
def test_split_layout_prints_the_same_glyphs_as_one_document(tmp_path, monkeypatch, name):
    import bookgen.split_layout as split
    monkeypatch.setattr(split, "GROUP_CHARS", 1)  # each chapter its own group
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    make, face, phrase = BOOKS[name]
    book = make(tmp_path)
    whole = build_into(book, tmp_path / "whole", jobs=0)
    parts = build_into(book, tmp_path / "split", jobs=2)
    if name == "a variable font":  # laid out as one document (WeasyPrint instantiates it once per document)
        assert parts.layout["one document"] == "Inter is a variable font"
    else:
        assert parts.layout["groups"] >= 4 and parts.layout["processes"] == 2
    if "no font has" not in name:
        assert not [w for w in parts.warnings if "no font" in str(w) or "glyph" in str(w)]
    a, b = whole.outputs["pdf"], parts.outputs["pdf"]
    assert face in fonts_of(b) and face in fonts_of(a)
    text_a, text_b = pdftotext_pages(a), pdftotext_pages(b)
    assert text_b == text_a and len(text_a) >= 8
    if phrase:
        assert any(phrase.replace(" ", "") in "".join(page.split()) for page in text_b)
    pa, pb = pixels(a, tmp_path / "pa"), pixels(b, tmp_path / "pb")
    assert len(pa) == len(pb)
    assert [i + 1 for i, (x, y) in enumerate(zip(pa, pb)) if x != y] == []


def test_contents_folios_are_the_digits_the_chapters_open_on(tmp_path, monkeypatch):
    """The Chinese book's contents lists each chapter with the folio its opening page prints (read back from
    the page itself), in the face the book asked for: no box, no other digit."""
    import bookgen.split_layout as split
    monkeypatch.setattr(split, "GROUP_CHARS", 1)
    result = build_into(FIXTURES / "glyphs-zh", tmp_path / "out", jobs=2)
    pages = pdftotext_pages(result.outputs["pdf"])
    titles = ["第一章 一张纸的来历", "第二章 雕版与活字", "第三章 书的样子", "第四章 书的旅程"]  # the front matter
    contents = next(p for p in pages if all(t in p for t in titles))
    for title in titles:
        line = next(l for l in contents.splitlines() if title in l)
        folio = line.rstrip().split()[-1]
        assert folio.isdigit(), line
        opening = [i for i, p in enumerate(pages) if p.lstrip().startswith(title) or f"\n{title}\n" in p]
        assert opening, title
        # the opening page's own folio (last line of the page) is the number the contents gives
        assert pages[opening[-1]].strip().splitlines()[-1].strip() == folio


# -- the join's own check ---------------------------------------------------------------------------------------

CSS = "@page { size: 120mm 160mm; margin: 15mm } body { font-family: 'Linux Libertine O' }"


@pytest.fixture(scope="module")
def libertine_parts():
    """Two parts set in a CFF face (Linux Libertine O), whose subsets the join merges into one."""
    import weasyprint
    out = []
    for text in ("Chapter 1 opens on page 5, then 6.", "Chapter 2: pages 8 and 9; quartz, jumbo, vex."):
        html = f"<html lang='en'><head><title>T</title><style>{CSS}</style></head><body><p>{text}</p></body></html>"
        out.append(weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1"))
    return out


def test_the_join_merges_the_cff_face_and_reads_back_every_page(libertine_parts, tmp_path):
    from bookgen.join_pdf import join_pdfs
    out = tmp_path / "joined.pdf"
    join_pdfs(libertine_parts, out, body_start=0)
    libertine = [line for line in fonts_of(out).splitlines() if "Libertine" in line]
    assert len(libertine) == 1  # one merged subset
    text = pdftotext_pages(out)
    assert "page 5, then 6." in text[0] and "pages 8 and 9; quartz, jumbo, vex." in text[1]


@pytest.mark.parametrize("corruption", ["another character", "another width", "a glyph dropped"])
def test_a_wrongly_merged_font_is_an_error_naming_the_page(libertine_parts, tmp_path, monkeypatch, corruption):
    import bookgen.join_fonts as F
    import bookgen.join_pdf as J
    if corruption == "another character":
        real = F.to_unicode_cmap

        def wrong(entries):  # the glyph that stands for "9" now says "8"
            return real({cid: ("0038" if text == "0039" else text) for cid, text in entries.items()})
        monkeypatch.setattr(F, "to_unicode_cmap", wrong)
    elif corruption == "another width":
        real = F.widths_array
        monkeypatch.setattr(F, "widths_array", lambda widths: real({c: w + 50 for c, w in widths.items()}))
    else:
        real = F.widths_array
        monkeypatch.setattr(F, "widths_array", lambda widths: real(dict(list(sorted(widths.items()))[:-3])))
    out = tmp_path / "joined.pdf"
    with pytest.raises(J.JoinMismatch) as caught:
        J.join_pdfs(libertine_parts, out, body_start=0)
    assert "page 2 of the joined PDF" in str(caught.value) or "page 1 of the joined PDF" in str(caught.value)
    assert not out.exists()


def test_a_mismatch_stops_the_build_and_keeps_the_old_files(tmp_path):
    """A copy of the project whose join writes a wrong /ToUnicode: the build stops with an internal error naming
    a page, and the PDF and EPUB of the last good build are untouched."""
    project = tmp_path / "project"
    for name in ("bookgen", "templates", "styles"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "build.py", project / "build.py")
    split = project / "bookgen" / "split_layout.py"
    split.write_text(split.read_text(encoding="utf-8").replace("GROUP_CHARS = 12_000", "GROUP_CHARS = 1"),
                     encoding="utf-8")
    out = tmp_path / "dist"

    def run(build_py):
        return subprocess.run([sys.executable, str(build_py), "--book", str(LARGER_BOOK), "--out", str(out),
                               "--jobs", "2", "--force", "-v"], capture_output=True, text=True, timeout=600)
    good = run(project / "build.py")
    assert good.returncode == 0, good.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert any(n.endswith(".pdf") for n in before) and any(n.endswith(".epub") for n in before)

    join = project / "bookgen" / "join_fonts.py"
    source = join.read_text(encoding="utf-8")
    line = 'lines += [f"<{cid:04x}> <{text}>" for cid, text in chunk]'
    assert line in source
    join.write_text(source.replace(line, 'lines += [f"<{cid:04x}> <{text[:-1]}a>" for cid, text in chunk]'),
                    encoding="utf-8")
    bad = run(project / "build.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "internal error: page" in bad.stderr and "of the joined PDF" in bad.stderr
    assert "--jobs 0" in bad.stderr and "Traceback" not in bad.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before


def test_a_book_stylesheet_with_target_counter_is_laid_out_whole(tmp_path, monkeypatch):
    """`see page N` written by the book's own CSS: a chapter group would count its own pages, so the book is laid
    out as one document and prints the book's page numbers."""
    import bookgen.split_layout as split
    monkeypatch.setattr(split, "GROUP_CHARS", 1)
    book = tmp_path / "xref"
    shutil.copytree(LARGER_BOOK, book)
    chapter = book / "chapters" / "maps.md"  # a link within one chapter (one group): no undefined anchor
    chapter.write_text(chapter.read_text(encoding="utf-8")
                       + '\n\nAs said before (<a class="see" href="#the-projection-problem">see</a>).\n',
                       encoding="utf-8")
    (book / "styles").mkdir(exist_ok=True)
    (book / "styles" / "see.css").write_text('a.see::after { content: " page " target-counter(attr(href url), page); }\n',
                                             encoding="utf-8")
    parts = build_into(book, tmp_path / "split", jobs=2)
    assert parts.layout["one document"] == "see.css uses target-counter: page numbers in the text need the whole book"
    whole = build_into(book, tmp_path / "whole", jobs=0)
    assert pdftotext_pages(parts.outputs["pdf"]) == pdftotext_pages(whole.outputs["pdf"])


@pytest.mark.parametrize("name", ["glyphs-zh", "glyphs-ar"])
def test_the_truetype_books_pass_epubcheck_5_and_4(tmp_path, name):
    """The Chinese and Arabic books of this file, as distributors check them: EPUBCheck 5.3 and Debian's 4.2.6."""
    from pathlib import Path
    from bookgen.check import epubcheck_jar
    from test_corpus import DEBIAN_EPUBCHECK, run_epubcheck
    result = build_into(FIXTURES / name, tmp_path / "out", formats=("epub",), jobs=0)
    assert DEBIAN_EPUBCHECK.is_file()
    for jar in (Path(epubcheck_jar()), DEBIAN_EPUBCHECK):
        assert run_epubcheck(jar, result.outputs["epub"]) == [], jar


def test_what_each_part_shows_is_kept_and_pages_are_still_checked(libertine_parts, tmp_path, monkeypatch):
    """What a part's pages show is read once and kept under the part's digest (an edit changes one part: the
    others are not read again); the joined pages are still compared with it: a wrong merge is still found."""
    import bookgen.join_fonts as F
    import bookgen.join_pdf as J
    import bookgen.pdf_glyphs as G
    from bookgen.group_cache import GroupCache
    folder = tmp_path / "kept"
    first = F.JoinKept(folder)
    J.join_pdfs(libertine_parts, tmp_path / "a.pdf", body_start=0, kept=first)
    assert sorted(k.split("-")[0] for k in first.new) == ["font", "shown", "shown"]
    cache = GroupCache(folder)
    for key, data in first.new.items():  # as the build keeps them once it has written its outputs
        cache.put(key, {"pdf": data})
    cache.flush()
    read = []
    real = G.shown
    monkeypatch.setattr(G, "shown", lambda *a, **k: read.append(1) or real(*a, **k))
    second = F.JoinKept(folder)
    J.join_pdfs(libertine_parts, tmp_path / "b.pdf", body_start=0, kept=second)
    assert read == [] and second.new == {} and sorted(k.split("-")[0] for k in second.used) == ["font", "shown", "shown"]
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    to_unicode = F.to_unicode_cmap  # the glyph that stands for "9" now says "8"
    monkeypatch.setattr(F, "to_unicode_cmap", lambda entries: to_unicode(
        {cid: ("0038" if text == "0039" else text) for cid, text in entries.items()}))
    with pytest.raises(J.JoinMismatch):
        J.join_pdfs(libertine_parts, tmp_path / "c.pdf", body_start=0, kept=F.JoinKept(folder))
    assert read == []

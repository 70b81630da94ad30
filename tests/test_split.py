"""The print edition laid out in chapter groups (bookgen/split_layout.py), in one or two processes, joined into
one PDF (bookgen/join_pdf.py): the same pages as the book laid out as one document, and a cache that lays out
again only the groups an edit changed."""
from __future__ import annotations

import json
import shutil
import subprocess
import zipfile

import pytest
from pypdf import PdfReader

from conftest import FIXTURES, LARGER_BOOK, ROOT, build_into, pdftotext_pages, run_cli

TINY = FIXTURES / "tiny"


@pytest.fixture
def one_chapter_a_group(monkeypatch):
    """Each chapter its own group, so that small fixture books are split into several."""
    import bookgen.split_layout as split
    monkeypatch.setattr(split, "GROUP_CHARS", 1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def pixels(pdf, folder):
    """Each page rendered by poppler, in grey, at a resolution where a moved line or a changed digit shows."""
    folder.mkdir()
    subprocess.run(["pdftoppm", "-r", "36", "-gray", str(pdf), str(folder / "p")], check=True)
    return [p.read_bytes() for p in sorted(folder.iterdir())]


def outline(reader):
    out = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, item.title, reader.get_destination_page_number(item)))
    walk(reader.outline, 0)
    return out


def links(reader):
    """Every link annotation: (page, target page for internal links or the URI)."""
    names = reader.named_destinations
    out = []
    for i, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            if "/Dest" in annot:
                dest = annot["/Dest"]
                target = reader.get_destination_page_number(names[str(dest)]) if isinstance(dest, str) else None
                out.append((i, target))
            else:
                out.append((i, str(annot["/A"].get("/URI"))))
    return out


def page_list(epub_path):
    with zipfile.ZipFile(epub_path) as z:
        nav = next(n for n in z.namelist() if n.endswith("nav.xhtml"))
        text = z.read(nav).decode("utf-8")
    return text[text.index('epub:type="page-list"'):]


@pytest.fixture(scope="module")
def three_builds(tmp_path_factory):
    """The larger fixture book as one document, and split (one chapter a group) in one and in two processes."""
    mp = pytest.MonkeyPatch()
    import bookgen.split_layout as split
    mp.setattr(split, "GROUP_CHARS", 1)
    try:
        out = {jobs: build_into(LARGER_BOOK, tmp_path_factory.mktemp(f"jobs{jobs}"), jobs=jobs) for jobs in (0, 1, 2)}
    finally:
        mp.undo()
    return out


def test_split_builds_are_split(three_builds):
    assert three_builds[0].layout == {"one document": "--jobs 0"}
    for jobs in (1, 2):
        layout = three_builds[jobs].layout
        assert layout["groups"] == 6 and layout["laid_out"] == 6  # the front matter and 5 chapters
        assert layout["processes"] == jobs


@pytest.mark.parametrize("jobs", [1, 2])
def test_split_pages_look_exactly_like_one_document(three_builds, jobs, tmp_path):
    whole, split = three_builds[0].outputs["pdf"], three_builds[jobs].outputs["pdf"]
    assert pdftotext_pages(split) == pdftotext_pages(whole)
    a, b = pixels(whole, tmp_path / "whole"), pixels(split, tmp_path / "split")
    assert len(a) == len(b) > 10
    assert [i for i, (x, y) in enumerate(zip(a, b)) if x != y] == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_split_pdf_keeps_labels_outline_links_and_tags(three_builds, jobs):
    whole, split = PdfReader(three_builds[0].outputs["pdf"]), PdfReader(three_builds[jobs].outputs["pdf"])
    assert split.page_labels == whole.page_labels
    assert split.page_labels[0] == "i" and "1" in split.page_labels
    assert outline(split) == outline(whole) and len(outline(split)) >= 6
    # the contents links to every chapter, and note calls to their notes, land on the same pages
    assert links(split) == links(whole) and len(links(split)) > 10
    root = split.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root
    assert root["/Lang"] == whole.trailer["/Root"]["/Lang"]
    assert split.metadata.title == whole.metadata.title and split.metadata.author == whole.metadata.author
    info = subprocess.run(["pdfinfo", str(three_builds[jobs].outputs["pdf"])], capture_output=True, text=True).stdout
    assert "Tagged:          yes" in info


@pytest.mark.parametrize("jobs", [1, 2])
def test_split_epub_has_the_same_page_numbers(three_builds, jobs):
    assert page_list(three_builds[jobs].outputs["epub"]) == page_list(three_builds[0].outputs["epub"])
    assert three_builds[jobs].pages == three_builds[0].pages


def test_a_book_whose_chapters_do_not_open_on_right_pages_is_laid_out_whole(tmp_path, one_chapter_a_group):
    book = tmp_path / "book"
    shutil.copytree(LARGER_BOOK, book)
    (book / "styles").mkdir()
    (book / "styles" / "any-page.css").write_text("section[role] { break-before: page; }\n")
    result = build_into(book, tmp_path / "out", jobs=2)
    assert "right-hand page" in result.layout["one document"]
    whole = build_into(book, tmp_path / "whole", jobs=0)
    assert pdftotext_pages(result.outputs["pdf"]) == pdftotext_pages(whole.outputs["pdf"])


def test_a_stylesheet_counting_all_pages_is_laid_out_whole(tmp_path, one_chapter_a_group):
    book = tmp_path / "book"
    shutil.copytree(TINY, book)
    (book / "styles").mkdir()
    (book / "styles" / "of.css").write_text(
        "@page :right { @bottom-right { content: counter(page) ' of ' counter(pages); } }\n")
    result = build_into(book, tmp_path / "out", jobs=2)
    assert "counter(pages)" in result.layout["one document"]


def count_groups(result):
    return result.layout["laid_out"]


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edit_lays_out_only_what_it_changed_and_matches_a_fresh_build(tmp_path, one_chapter_a_group):
    book = tmp_path / "book"
    shutil.copytree(LARGER_BOOK, book)
    out = tmp_path / "dist"
    first = build_into(book, out, jobs=1)
    assert count_groups(first) == 6
    # one word in the last chapter: that chapter's group only (no folio after it moves)
    chapter = book / "chapters" / "glossary.md"
    text = chapter.read_text(encoding="utf-8")
    word = next(w for w in text[len(text) // 2:].split() if w.isalpha() and len(w) > 6)  # not in the title
    edit(chapter, word, word.upper())
    second = build_into(book, out, jobs=1)
    assert not second.cached and count_groups(second) == 1
    # the join merged each face's subsets into one program, kept for the next join (bookgen/join_fonts.py); the
    # generated cover is kept too (the EPUB made with it is compared with a fresh build's below)
    assert len(list((out / ".bookgen-cache").glob("font-*.pdf"))) >= 2
    # and what each of the 6 parts' pages show, for the next join's check (5 of them read from there this time)
    assert len(list((out / ".bookgen-cache").glob("shown-*.pdf"))) == 6
    assert len(list((out / ".bookgen-cache").glob("cover-*.jpg"))) == 1
    fresh = build_into(book, tmp_path / "fresh", jobs=1, force=True)
    assert count_groups(fresh) == 6
    for fmt in ("pdf", "epub"):
        assert second.outputs[fmt].read_bytes() == fresh.outputs[fmt].read_bytes(), fmt
    labels_before = PdfReader(second.outputs["pdf"]).page_labels
    # three more pages in the first body chapter: the chapters after it move (their folios change, and the
    # contents), and the result is still what a fresh build makes
    edit(book / "chapters" / "maps.md", "\n\n", "\n\n" + "A paragraph the editor added. " * 400 + "\n\n")
    third = build_into(book, out, jobs=1)
    # laid out again: that chapter's group and the front matter (the contents' folios); the chapters after it
    # only have their folios drawn again (bookgen/overlay.py)
    assert third.pages > second.pages and count_groups(third) == 2
    assert third.layout["refinished"] == 4
    fresh = build_into(book, tmp_path / "fresh", jobs=1, force=True)
    for fmt in ("pdf", "epub"):
        assert third.outputs[fmt].read_bytes() == fresh.outputs[fmt].read_bytes(), fmt
    # the folios moved with the pages, and each page prints its own (drawn apart, laid over the page)
    labels = PdfReader(third.outputs["pdf"]).page_labels
    assert labels[-1] == str(int(labels_before[-1]) + third.pages - second.pages)
    texts = pdftotext_pages(third.outputs["pdf"])
    printed = [i for i, t in enumerate(texts) if labels[i].isdigit() and t.strip()]
    assert len(printed) > 20
    for i in printed:
        assert labels[i] in texts[i].split(), (i, labels[i], texts[i][-80:])
    # a change to an image, a stylesheet or the book's settings is seen by every group
    for change in (lambda: (book / "images" / "chart.png").write_bytes((book / "images" / "chart.png").read_bytes()
                                                                       + b"\0"),
                   lambda: ((book / "styles").mkdir(), (book / "styles" / "x.css").write_text("p { orphans: 3 }")),
                   lambda: edit(book / "book.toml", 'publisher = "Fixture Press"', 'publisher = "Other Press"')):
        change()
        again = build_into(book, out, jobs=1)
        assert count_groups(again) == 6
        fresh = build_into(book, tmp_path / "fresh", jobs=1, force=True)
        assert again.outputs["pdf"].read_bytes() == fresh.outputs["pdf"].read_bytes()
    # nothing changed: nothing laid out, not even opened
    assert build_into(book, out, jobs=1).cached


def test_an_edit_without_a_fixed_date_does_not_lay_the_front_matter_out_again(tmp_path, one_chapter_a_group,
                                                                              monkeypatch):
    """Without SOURCE_DATE_EPOCH the book's date is its newest file's (it changes with every edit), and the PDF
    says it (/ModDate, XMP ModifyDate); the front matter was laid out again for it after every edit. Now only the
    edited chapter's group is, and the date is still the new one."""
    import os
    import re

    import pikepdf
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    book = tmp_path / "book"
    shutil.copytree(LARGER_BOOK, book)
    for path in book.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))  # 2023-11-14 22:13:20 UTC
    out = tmp_path / "dist"

    def dated(result, date):
        with pikepdf.open(result.outputs["pdf"]) as pdf:
            assert str(pdf.trailer.Info.ModDate) == "D:" + re.sub(r"[-T:]", "", date)
            assert f"<xmp:ModifyDate>{date}</xmp:ModifyDate>".encode() in pdf.Root.Metadata.read_bytes()
    first = build_into(book, out, jobs=1)
    dated(first, "2023-11-14T22:13:20Z")
    chapter = book / "chapters" / "glossary.md"
    text = chapter.read_text(encoding="utf-8")
    word = next(w for w in text[len(text) // 2:].split() if w.isalpha() and len(w) > 6)  # not in the title
    edit(chapter, word, word.upper())
    os.utime(chapter, (1_767_225_600, 1_767_225_600))  # 2026-01-01 00:00:00 UTC
    second = build_into(book, out, jobs=1)
    assert count_groups(first) == 6 and count_groups(second) == 1 and second.layout["front_layouts"] == 0
    dated(second, "2026-01-01T00:00:00Z")
    fresh = build_into(book, tmp_path / "fresh", jobs=1, force=True)
    assert second.outputs["pdf"].read_bytes() == fresh.outputs["pdf"].read_bytes()


def test_force_lays_everything_out_again(tmp_path, one_chapter_a_group):
    book = tmp_path / "book"
    shutil.copytree(LARGER_BOOK, book)
    out = tmp_path / "dist"
    first = build_into(book, out, jobs=1)
    forced = build_into(book, out, jobs=1, force=True)
    assert count_groups(forced) == 6
    assert forced.outputs["pdf"].read_bytes() == first.outputs["pdf"].read_bytes()


def test_jobs_must_be_zero_or_more(tmp_path):
    r = run_cli("--book", TINY, "--out", tmp_path, "--jobs", "-2")
    assert r.returncode == 2 and "--jobs -2" in r.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("jobs", [1, 2])
def test_split_pdf_embeds_one_subset_of_each_font(three_builds, jobs):
    """Each group embeds its own subsets; the join merges them into one program per face, so the book is
    about as large as when laid out as one document."""
    from bookgen.check import pdf_fonts
    whole_pdf, split_pdf = three_builds[0].outputs["pdf"], three_builds[jobs].outputs["pdf"]
    whole, split = pdf_fonts(PdfReader(whole_pdf)), pdf_fonts(PdfReader(split_pdf))
    faces = lambda names: sorted(n.split("+", 1)[1] for n in names)  # noqa: E731
    assert faces(split) == faces(whole) and len(split) >= 2 and all(split.values())
    assert split_pdf.stat().st_size < 1.25 * whole_pdf.stat().st_size
    # every character still maps to text (the merged ToUnicode): the text is the same, word for word
    assert pdftotext_pages(split_pdf) == pdftotext_pages(whole_pdf)


def test_group_layouts_are_keyed_on_everything_but_the_markdown(tmp_path):
    """A group's cached layout is keyed on its HTML (which carries its chapter's Markdown) and on this digest:
    the book's other files, the project's templates, styles and code. Changed in copies (the real project is
    shared by the test workers)."""
    from bookgen import cache
    project, book = tmp_path / "project", tmp_path / "book"
    for name in ("templates", "styles", "bookgen"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(LARGER_BOOK, book)
    out = tmp_path / "out"

    def digest():
        return cache.inputs_digest(book, out, project, skip_suffixes=(".md", ".markdown"))["inputs"]
    base = digest()
    edit(book / "chapters" / "maps.md", "\n\n", "\n\nA new paragraph.\n\n")
    assert digest() == base  # a chapter reaches a group's key through its HTML only
    seen = {base}
    for change in (lambda: edit(project / "templates" / "partials" / "chapter.html.j2", "<header>", "<header >"),
                   lambda: edit(project / "styles" / "print.css", "p {", "p { widows: 2;"),
                   lambda: edit(project / "bookgen" / "split_layout.py", "GROUP_CHARS = ", "GROUP_CHARS = 1 + "),
                   lambda: edit(book / "book.toml", 'publisher = "Fixture Press"', 'publisher = "P"'),
                   lambda: (book / "images" / "chart.png").write_bytes(b"\0" + (book / "images" / "chart.png")
                                                                       .read_bytes())):
        change()
        assert digest() not in seen
        seen.add(digest())


def test_a_book_template_change_lays_out_the_groups_again(tmp_path, one_chapter_a_group):
    book = tmp_path / "book"
    shutil.copytree(LARGER_BOOK, book)
    out = tmp_path / "dist"
    build_into(book, out, jobs=1)
    own = book / "templates" / "partials" / "chapter.html.j2"
    own.parent.mkdir(parents=True)
    own.write_text((ROOT / "templates" / "partials" / "chapter.html.j2").read_text(encoding="utf-8")
                   .replace("</header>", "<p class=\"from-template\">From the book's template</p>\n</header>"),
                   encoding="utf-8")
    again = build_into(book, out, jobs=1)
    assert count_groups(again) == 6
    assert sum("From the book’s template" in page or "From the book's template" in page
               for page in pdftotext_pages(again.outputs["pdf"])) == 6  # every chapter's opening
    fresh = build_into(book, tmp_path / "fresh", jobs=1, force=True)
    assert again.outputs["pdf"].read_bytes() == fresh.outputs["pdf"].read_bytes()


def test_damaged_or_swapped_group_entries_are_laid_out_again(tmp_path, one_chapter_a_group):
    """The chapter groups' cache (dist/.bookgen-cache/) damaged every way a disk, a sync tool or a hand can: two
    entries swapped, one truncated, one of the wrong shape, one a folder. The build never fails for it, never
    prints another group's pages, and gives what a fresh build gives."""
    book = tmp_path / "book"
    shutil.copytree(LARGER_BOOK, book)
    out = tmp_path / "dist"
    build_into(book, out, jobs=1)
    entries = sorted((out / ".bookgen-cache").glob("*.json"))
    assert len(entries) >= 6
    a, b = entries[0], entries[1]
    a_text, b_text = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_text)  # swapped
    b.write_bytes(a_text)
    entries[2].write_bytes(entries[2].read_bytes()[:40])  # truncated
    entries[3].write_text("[1, 2]", encoding="utf-8")  # valid JSON, wrong shape
    entry = json.loads(entries[4].read_text(encoding="utf-8"))
    entry["data"] = {k: "x" for k in entry["data"]}  # every field of the wrong type
    entries[4].write_text(json.dumps(entry), encoding="utf-8")
    entries[5].unlink()
    entries[5].mkdir()  # a folder where an entry was
    chapter = book / "chapters" / "glossary.md"
    edit(chapter, "\n\n", "\n\nA sentence added after the cache was damaged.\n\n")  # a rebuild that reads the cache
    again = build_into(book, out, jobs=1)
    fresh = build_into(book, tmp_path / "fresh", jobs=1, force=True)
    assert again.outputs["pdf"].read_bytes() == fresh.outputs["pdf"].read_bytes()
    assert again.outputs["epub"].read_bytes() == fresh.outputs["epub"].read_bytes()


@pytest.mark.parametrize("record", ["[1, 2]", "null", '"text"', '{"version": 1, "formats": [1]}',
                                    '{"version": 1, "formats": {"pdf": 7, "epub": [1]}}',
                                    '{"version": 1, "formats": {"pdf": {"file": 5, "key": [1], "sha256": null}}}'])
def test_a_damaged_no_change_record_is_ignored(tmp_path, record):
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "tiny", book)
    out = tmp_path / "dist"
    out.mkdir()
    (out / ".bookgen-cache.json").write_text(record, encoding="utf-8")
    result = build_into(book, out)
    assert not result.cached and result.outputs["pdf"].stat().st_size > 1000
    assert build_into(book, out).cached  # and the record is whole again


def test_a_record_that_cannot_be_written_is_a_warning_not_a_failure(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "tiny", book)
    out = tmp_path / "dist"
    (out / ".bookgen-cache.json").mkdir(parents=True)  # in the way
    result = build_into(book, out)
    assert result.outputs["pdf"].is_file() and result.outputs["epub"].is_file()
    assert any("the no-change record cannot be written" in str(w) for w in result.warnings), result.warnings


def test_notes_weasyprint_alone_moves_on_stay_with_their_calls_in_one_layout(tmp_path):
    """Two chapters of the benchmark's 100k-word book (bench/genbook.py, seeded) in which WeasyPrint alone prints
    a note a page after its call, to keep a paragraph's orphan lines together (bookgen/weasy.py,
    keep_notes_with_calls): every note prints on its call's page, and no group is laid out a second time for it
    (before that fix, the build sent a paragraph on and laid each of these two groups out again)."""
    from bench.genbook import generate
    generate(tmp_path / "generated", 100_000)
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    chapters = ["chapter006.md", "chapter007.md"]
    for name in chapters:
        shutil.copy(tmp_path / "generated" / "chapters" / name, book / "chapters" / name)
    (book / "book.toml").write_text('title = "Kept Notes"\nauthors = ["Bench Mark"]\nlanguage = "en-GB"\n'
                                    'page-size = "A5"\nchapters = [%s]\n'
                                    % ", ".join(f'"chapters/{n}"' for n in chapters), encoding="utf-8")
    result = build_into(book, tmp_path / "out", formats=("pdf",), jobs=1)
    assert result.layout["laid_out"] == 3 and result.layout["relayouts"] == 0
    assert not [w for w in result.warnings if "is printed on page" in str(w)]
    reader = PdfReader(result.outputs["pdf"])
    pages = {name: reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()}
    calls = [name for name in pages if "-fnref" in name]
    defined = sum(line.startswith("[^") for name in chapters
                  for line in (book / "chapters" / name).read_text(encoding="utf-8").splitlines())
    assert len(calls) == defined > 0  # every note the sources define
    for call in calls:
        assert pages[call] == pages[call.replace("-fnref", "-fn")], call

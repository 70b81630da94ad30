"""Issue 11: a book folder is untrusted data. Links out of it are refused, special files never block the build,
the cover is checked as an image, names never clash with the generator's own EPUB files, a BOM is not text, a
long title gives a file name the system accepts, and the bleed is bounded."""
from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import epubcheck, run_cli
from goodbook import SLUG, append, build_cli, copy_book, edit, old_outputs, state


def test_a_styles_folder_linking_outside_the_book_is_refused(tmp_path):
    book = copy_book(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "evil.css").write_text("body { color: red }\n", encoding="utf-8")
    (book / "styles").symlink_to(elsewhere, target_is_directory=True)
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "book/styles: is a link to a folder outside the book folder (hint: copy the folder into the book: the "
        "build reads only files inside the book)",
        "build failed: 1 error; nothing was written"]
    assert state(tmp_path / "dist") == before


def test_a_file_linking_to_dev_zero_is_refused_and_never_read(tmp_path):
    book = copy_book(tmp_path)
    (book / "images" / "zero.png").symlink_to("/dev/zero")
    r = run_cli("--book", book, "--out", tmp_path / "dist", cwd=tmp_path)  # a real process: it must not hang
    assert r.returncode == 0, r.stderr  # not named by the book: never read (not even hashed for the cache)
    append(book / "chapters" / "one.md", "\n![Zeros](../images/zero.png)\n")
    r = run_cli("--book", book, "--out", tmp_path / "dist", cwd=tmp_path)
    assert r.returncode == 1
    assert ("image '../images/zero.png' is a symlink to a file outside the book folder (hint: copy the file into "
            "the book folder instead of linking to it)") in r.stderr


def test_a_fifo_in_the_book_never_blocks_the_build(tmp_path):
    book = copy_book(tmp_path)
    os.mkfifo(book / "chapters" / "notes-to-self.md")
    r = run_cli("--book", book, "--out", tmp_path / "dist", cwd=tmp_path)  # timeout in run_cli: 600 s
    assert r.returncode == 0, r.stderr
    assert ("book/chapters/notes-to-self.md: warning: is not a regular file (a FIFO, socket or device): skipped "
            "(hint: remove it from the book folder)") in r.stderr


@pytest.mark.parametrize("kind, message", [
    ("text", "is not an image (its content is not JPEG or PNG) (hint: export the cover as a JPEG or PNG image)"),
    ("empty", "is an empty file (hint: export the cover image again)"),
    ("huge", "is 8000 x 6000 pixels, more than the 40 million pixels allowed (hint: scale it down to about "
             "1600 x 2560 pixels, what the stores ask for)"),
])
def test_a_cover_that_is_not_a_sane_image_is_refused(tmp_path, kind, message):
    book = copy_book(tmp_path)
    cover = book / "images" / "cover.jpg"
    if kind == "text":
        cover.write_text("this is not a picture\n", encoding="utf-8")
    elif kind == "empty":
        cover.write_bytes(b"")
    else:
        Image.new("L", (8000, 6000)).save(cover, quality=5)
    append(book / "book.toml", 'cover = "images/cover.jpg"\n')
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == f"book/book.toml:7: cover 'images/cover.jpg' {message}"
    assert state(tmp_path / "dist") == before


def test_names_never_clash_with_the_generators_own_files(tmp_path):
    """A chapter whose id is `nav`, a book image called images/cover.jpg and a book stylesheet called base.css:
    each keeps its own file in the EPUB (EPUBCheck found duplicate ZIP entries, OPF-060)."""
    book = copy_book(tmp_path)
    edit(book / "chapters" / "one.md", "---\n", "---\nid: nav\n")
    Image.new("RGB", (40, 30), "navy").save(book / "images" / "cover.jpg")
    append(book / "chapters" / "two.md", "\n\n![A navy rectangle](../images/cover.jpg)\n")
    (book / "styles").mkdir()
    (book / "styles" / "base.css").write_text("p { letter-spacing: 0.01em; }\n", encoding="utf-8")
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    epub = tmp_path / "dist" / f"{SLUG}.epub"
    names = zipfile.ZipFile(epub).namelist()
    assert len(names) == len(set(names))
    assert "EPUB/css/base.css" in names and "EPUB/css/book/base.css" in names
    report = epubcheck(epub)
    assert report["errors"] == [] and report["warnings"] == []


def test_a_utf8_bom_at_the_start_of_a_chapter_and_of_book_toml_is_not_text(tmp_path):
    book = copy_book(tmp_path)
    for path in (book / "chapters" / "one.md", book / "book.toml"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    from bookgen.load_book import load_book
    loaded = load_book(book)
    assert loaded.meta.title == "A Small Good Book"
    first = (book / "chapters" / "one.md").read_text(encoding="utf-8-sig").split("title:", 1)[1].splitlines()[0]
    assert loaded.chapters[0].title == first.strip().strip('"')


def test_a_very_long_title_gives_a_file_name_the_system_accepts(tmp_path):
    book = copy_book(tmp_path)
    title = " ".join(["Considerations"] * 20) + " on the Long Title"  # 301 characters
    edit(book / "book.toml", 'title = "A Small Good Book"', f'title = "{title}"')
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    written = [p.name for p in (tmp_path / "dist").iterdir() if not p.name.startswith(".")]
    assert sorted(os.path.splitext(n)[1] for n in written) == [".epub", ".pdf"]
    assert all(len(n.encode("utf-8")) <= 110 for n in written) and all(n.startswith("considerations-") for n in written)


@pytest.mark.parametrize("bleed", ["1000mm", "26mm", "2in"])
def test_an_absurd_bleed_is_a_bad_option(tmp_path, bleed):
    r = run_cli("--book", tmp_path / "nowhere", "--bleed", bleed, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == f"error: --bleed {bleed}: at most 25mm (print shops ask for 3mm or 0.125in)\n"


def test_what_a_killed_build_left_is_cleaned_up_by_the_next(tmp_path):
    """A build killed between its two renames left a temporary file, and the PDF new beside the EPUB old (its
    `.old` copy of the previous PDF still there): the next write removes the one and puts the other back, so
    the pair is again from one build. A running build's files (its process alive) are left alone."""
    from bookgen.build import recover_interrupted
    out = tmp_path / "dist"
    out.mkdir()
    dead = 2 ** 22 + 12345  # above the kernel's default pid_max: no such process
    (out / f".{SLUG}.{dead}.k3j9.epub.part").write_bytes(b"half an EPUB")
    (out / f"{SLUG}.pdf").write_bytes(b"%PDF new")
    (out / f".{SLUG}.{dead}.pdf.old").write_bytes(b"%PDF previous")
    (out / f"{SLUG}.epub").write_bytes(b"PK previous")
    (out / f".{SLUG}.{os.getpid()}.a1b2.pdf.part").write_bytes(b"this build's own")
    done = recover_interrupted(out, SLUG)
    assert sorted(done) == [f"removed .{SLUG}.{dead}.k3j9.epub.part", f"restored {SLUG}.pdf"]
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{SLUG}.pdf", f"{SLUG}.epub",
                                                            f".{SLUG}.{os.getpid()}.a1b2.pdf.part"])
    assert (out / f"{SLUG}.pdf").read_bytes() == b"%PDF previous"
    # and a build does this by itself before it writes
    (out / f".{SLUG}.{os.getpid()}.a1b2.pdf.part").unlink()
    (out / f".{SLUG}.{dead}.k3j9.epub.part").write_bytes(b"half an EPUB")
    copy_book(tmp_path)
    assert build_cli(tmp_path).returncode == 0
    assert not [p.name for p in out.iterdir() if p.name.endswith((".part", ".old"))]


def test_a_write_that_fails_midway_leaves_the_old_files_and_no_temporary_one(tmp_path):
    """The EPUB cannot be put in place (a folder has its name): the PDF already moved in is put back, and neither
    new file is left under its temporary name (hidden files are compared too)."""
    copy_book(tmp_path)
    out = tmp_path / "dist"
    old_outputs(out)
    (out / f"{SLUG}.epub").unlink()
    (out / f"{SLUG}.epub").mkdir()
    before = state(out)
    r = build_cli(tmp_path)
    assert r.returncode != 0
    assert f"{SLUG}.epub" in r.stderr and "Traceback" not in r.stderr
    assert state(out) == before


def test_raw_html_200_deep_keeps_its_text_and_warns(tmp_path):
    """WeasyPrint crashed with a RecursionError on this; now the elements below 64 levels are unwrapped."""
    book = copy_book(tmp_path)
    append(book / "chapters" / "one.md", "\n\n" + "<div>" * 200 + "Deep words survive." + "</div>" * 200 + "\n")
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    assert "one.md:" in r.stderr and "raw HTML nested more than 64 elements deep is not kept (its text is)" in r.stderr
    pdf = subprocess.run(["pdftotext", str(tmp_path / "dist" / f"{SLUG}.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert "Deep words survive." in pdf
    with zipfile.ZipFile(tmp_path / "dist" / f"{SLUG}.epub") as z:
        assert "Deep words survive." in z.read("EPUB/one.xhtml").decode("utf-8")
    report = epubcheck(tmp_path / "dist" / f"{SLUG}.epub")
    assert report["errors"] == [], report["errors"]


def test_raw_html_deeper_than_the_parser_reads_is_an_error_with_its_line(tmp_path):
    book = copy_book(tmp_path)
    chapter = book / "chapters" / "one.md"
    lines = chapter.read_text(encoding="utf-8").count("\n")
    append(chapter, "\n\n" + "<div>" * 1000 + "Too deep." + "</div>" * 1000 + "\n")
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert (f"book/chapters/one.md:{lines + 3}: raw HTML nested 1000 elements deep: the build reads at most 250 "
            "levels") in r.stderr
    assert state(tmp_path / "dist") == before


def test_a_chapter_larger_than_the_limit_is_refused_with_how_to_lift_it(tmp_path, monkeypatch):
    book = copy_book(tmp_path)
    chapter = book / "chapters" / "two.md"
    paragraph = "A line of a very long chapter, repeated to make it large.\n\n"
    append(chapter, paragraph * (11_000_000 // len(paragraph)))  # 11 MB
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert "book/chapters/two.md: chapter is 11.0 MB, more than the 10 MB the build reads in one chapter (hint: " \
           "split it into several chapters, or set BOOKGEN_MAX_CHAPTER_MB to allow more)" in r.stderr
    assert state(tmp_path / "dist") == before
    monkeypatch.setenv("BOOKGEN_MAX_CHAPTER_MB", "0.5")
    r = build_cli(tmp_path)
    assert "more than the 0.5 MB the build reads" in r.stderr


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_laid_out(tmp_path, monkeypatch):
    book = copy_book(tmp_path)
    Image.new("L", (7000, 7000), 200).save(book / "images" / "huge.png")  # 49 million pixels
    append(book / "chapters" / "one.md", "\n![A very large grey picture](../images/huge.png)\n")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert "image '../images/huge.png' is 7000 x 7000 pixels, more than the 40,000,000 the build takes" in r.stderr
    assert "BOOKGEN_MAX_IMAGE_PIXELS" in r.stderr
    monkeypatch.setenv("BOOKGEN_MAX_IMAGE_PIXELS", "50000000")
    r = build_cli(tmp_path, "--format", "epub")
    assert r.returncode == 0, r.stderr


LARGER = Path(__file__).parent / "fixtures" / "larger"  # long enough to be laid out in chapter groups


def _larger(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(LARGER, book)
    return book


@pytest.mark.parametrize("css,where", [
    ('p { background: u\\72l("/etc/hostname"); }\n', "book/styles/a.css:1: stylesheet url '/etc/hostname' is an "
                                                      "absolute path"),
    ("/* a comment */\n@import \"sub/inner.css\";\n", "book/styles/sub/inner.css:2: stylesheet url "
                                                      "'../../../etc/x.css' leads outside the book folder"),
])
def test_a_stylesheet_reaching_outside_is_an_error_with_its_line(tmp_path, css, where):
    """What a CSS parser reads as a url() (an escaped `u\\72l(`) or an @import in a subfolder: refused before the
    layout, with the file and line, instead of a layout process's traceback."""
    book = _larger(tmp_path)
    (book / "styles" / "sub").mkdir(parents=True)
    (book / "styles" / "a.css").write_text(css, encoding="utf-8")
    (book / "styles" / "sub" / "inner.css").write_text('p { color: black }\n@import "../../../etc/x.css";\n',
                                                       encoding="utf-8")
    r = build_cli(tmp_path, subprocess=True)
    assert r.returncode == 1
    assert where in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_a_template_reaching_outside_in_a_layout_process_is_a_clear_error(tmp_path):
    """The fetcher refuses a book template's picture outside the book inside a layout process: one message, no
    worker traceback, no 'a layout process stopped'."""
    from conftest import ROOT
    book = _larger(tmp_path)
    (book / "templates" / "partials").mkdir(parents=True)
    chapter = (ROOT / "templates" / "partials" / "chapter.html.j2").read_text(encoding="utf-8")
    assert "</section>" in chapter
    (book / "templates" / "partials" / "chapter.html.j2").write_text(
        chapter.replace("</section>", '<img src="/etc/hostname" alt="x"></section>', 1), encoding="utf-8")
    r = build_cli(tmp_path, "--jobs", "2", subprocess=True)
    assert r.returncode == 1
    assert "refused to read /etc/hostname: outside the book folder" in r.stderr
    assert "Traceback" not in r.stderr and "FatalURLFetchingError" not in r.stderr
    assert "internal error" not in r.stderr and "hostname\n" not in r.stdout


def test_a_failure_after_the_editions_are_written_says_so(tmp_path):
    """The download page cannot be written (a folder has its name) after the PDF and EPUB are in place: the
    message says they were written and are whole, not "nothing was written", and no temporary file is left."""
    copy_book(tmp_path)
    out = tmp_path / "dist"
    (out / "index.html").mkdir(parents=True)
    r = build_cli(tmp_path, "--format", "pdf,epub,site")
    assert r.returncode == 1
    assert "dist/index.html: cannot write the download page: Is a directory" in r.stderr
    assert (f"build failed: 1 error; it had written dist/{SLUG}.pdf, dist/{SLUG}.epub (complete, from this build)"
            in r.stderr), r.stderr
    assert "nothing was written" not in r.stderr
    assert (out / f"{SLUG}.pdf").stat().st_size > 1000 and (out / f"{SLUG}.epub").stat().st_size > 1000
    assert not [p.name for p in out.iterdir() if p.name.endswith(".part")]


def test_an_img_tag_written_with_a_slash_is_checked_like_any_other(tmp_path):
    """`<img/src=...>` (a slash for a space: browsers and lxml read it as an image) in raw HTML is an error with
    its line, not a refusal deep in the layout without one."""
    book = copy_book(tmp_path)
    chapter = book / "chapters" / "one.md"
    lines = chapter.read_text(encoding="utf-8").count("\n")
    append(chapter, '\n<div>\n<img/src="../../../etc/hostname" alt="x">\n</div>\n')
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert (f"book/chapters/one.md:{lines + 3}: image '../../../etc/hostname' leads outside the book folder"
            in r.stderr), r.stderr

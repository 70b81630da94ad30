"""Issue 6: a rebuild with nothing changed keeps the outputs; any change to what the build reads rebuilds."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, build_into

TINY = FIXTURES / "tiny"


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A copy of the tiny book we may change; a fixed SOURCE_DATE_EPOCH, so only contents count."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    dest = tmp_path / "book"
    shutil.copytree(TINY, dest)
    return dest


def options(book, out, **kw):
    from bookgen.build import BuildOptions
    return BuildOptions(book=book, out=out, **kw)


def outputs_bytes(result):
    return {fmt: path.read_bytes() for fmt, path in result.outputs.items()}


def test_nothing_changed_keeps_outputs_identical_to_a_fresh_build(book, tmp_path):
    out = tmp_path / "dist"
    first = build_into(book, out)
    assert not first.cached and set(first.outputs) == {"pdf", "epub"}
    stamps = {fmt: p.stat().st_mtime_ns for fmt, p in first.outputs.items()}
    before = outputs_bytes(first)

    again = build_into(book, out)
    assert again.cached
    assert again.outputs == first.outputs and again.pages == first.pages > 0
    assert {fmt: p.stat().st_mtime_ns for fmt, p in again.outputs.items()} == stamps  # not rewritten
    # the kept outputs are what a fresh build of the same sources makes, byte for byte
    fresh = build_into(book, tmp_path / "fresh")
    assert not fresh.cached
    assert outputs_bytes(fresh) == before
    # --force rebuilds anyway, and gives the same bytes
    forced = build_into(book, out, force=True)
    assert not forced.cached and outputs_bytes(forced) == before
    record = json.loads((out / ".bookgen-cache.json").read_text())
    assert set(record["formats"]) == {"pdf", "epub"}


def change_chapter(book):
    p = book / "chapters" / "one.md"
    p.write_text(p.read_text(encoding="utf-8").replace("quick.", "quick, always."), encoding="utf-8")


def change_chapter_in_place(book):
    """A word for another of the same length, the file's time put back: only what the file says has changed
    (an editor that keeps times, a checkout, a copy with `cp -p`)."""
    p = book / "chapters" / "one.md"
    st = p.stat()
    text = p.read_text(encoding="utf-8")
    assert "short" in text
    p.write_text(text.replace("short", "brief", 1), encoding="utf-8")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


def change_toml(book):
    p = book / "book.toml"
    p.write_text(p.read_text(encoding="utf-8").replace("A Tiny Cached Book", "A Tiny Changed Book"),
                 encoding="utf-8")


def change_image(book):
    from PIL import Image
    Image.new("RGB", (40, 40), (20, 20, 20)).save(book / "images" / "square.png")


def change_template(book):
    # a book's own template overrides the project's (README: "Overriding the look for one book")
    src = ROOT / "templates" / "partials" / "titlepage.html.j2"
    dest = book / "templates" / "partials" / "titlepage.html.j2"
    dest.parent.mkdir(parents=True)
    dest.write_text(src.read_text(encoding="utf-8").replace(
        "</h1>", '</h1>\n<p class="book-publisher">From a changed template</p>', 1), encoding="utf-8")


def change_stylesheet(book):
    (book / "styles").mkdir()
    (book / "styles" / "own.css").write_text("p { letter-spacing: 0.01em; }\n", encoding="utf-8")


CHANGES = {"chapter": change_chapter, "same-size edit": change_chapter_in_place, "book.toml": change_toml, "image": change_image,
           "template": change_template, "stylesheet": change_stylesheet}


def test_each_kind_of_change_rebuilds_and_the_new_output_shows_it(book, tmp_path):
    """One real build, then for each change: the cache says stale, a build really rebuilds, and is then kept."""
    from bookgen import cache
    out = tmp_path / "dist"
    previous = outputs_bytes(build_into(book, out, formats=("pdf",)))
    for name, change in CHANGES.items():
        assert cache.up_to_date(options(book, out, formats=("pdf",))) is not None, name
        change(book)
        assert cache.up_to_date(options(book, out, formats=("pdf",))) is None, f"{name} change not seen"
        result = build_into(book, out, formats=("pdf",))
        assert not result.cached, name
        now = outputs_bytes(result)
        assert now["pdf"] != previous["pdf"], f"the PDF did not change after the {name} change"
        previous = now
        assert build_into(book, out, formats=("pdf",)).cached, name


def test_project_templates_styles_and_code_are_in_the_key(tmp_path):
    """The project's own files: changed in a copy of the project (the real one is shared by the test workers)."""
    from bookgen import cache
    project = tmp_path / "project"
    for name in ("templates", "styles"):
        shutil.copytree(ROOT / name, project / name)
    (project / "bookgen").mkdir()
    for py in (ROOT / "bookgen").glob("*.py"):
        shutil.copy(py, project / "bookgen" / py.name)
    out = tmp_path / "dist"
    base = cache.inputs_digest(TINY, out, project)["inputs"]
    assert cache.inputs_digest(TINY, out, project)["inputs"] == base  # stable
    seen = {base}
    for path in (project / "templates" / "print" / "book.html.j2", project / "styles" / "print.css",
                 project / "bookgen" / "markdown.py"):
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n")
        digest = cache.inputs_digest(TINY, out, project)["inputs"]
        assert digest not in seen, f"a change to {path.relative_to(project)} is not in the key"
        seen.add(digest)
    (project / "bookgen" / "new_module.py").write_text("X = 1\n")
    assert cache.inputs_digest(TINY, out, project)["inputs"] not in seen


def test_options_formats_and_damaged_outputs(book, tmp_path):
    from bookgen import cache
    out = tmp_path / "dist"
    result = build_into(book, out)
    assert cache.up_to_date(options(book, out)) is not None
    assert cache.up_to_date(options(book, out, formats=("epub",))) is not None  # one of the two: still kept
    assert cache.up_to_date(options(book, out, page_size="A4")) is None
    assert cache.up_to_date(options(book, out, crop_marks=True)) is None
    # an output changed or removed by hand is rebuilt
    pdf = result.outputs["pdf"]
    pdf.write_bytes(pdf.read_bytes() + b"\n")
    assert cache.up_to_date(options(book, out)) is None
    assert cache.up_to_date(options(book, out, formats=("epub",))) is not None
    result.outputs["epub"].unlink()
    assert cache.up_to_date(options(book, out, formats=("epub",))) is None


def test_modification_time_counts_without_source_date_epoch(book, tmp_path, monkeypatch):
    """Without SOURCE_DATE_EPOCH the outputs carry the newest source's date: touching a file changes them."""
    from bookgen import cache
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    out = tmp_path / "dist"
    build_into(book, out, formats=("epub",))
    assert cache.up_to_date(options(book, out, formats=("epub",))) is not None
    chapter = book / "chapters" / "one.md"
    st = chapter.stat()
    os.utime(chapter, (st.st_atime, st.st_mtime + 3600))
    assert cache.up_to_date(options(book, out, formats=("epub",))) is None


def test_cli_nothing_changed_does_not_load_weasyprint(book, tmp_path):
    out = tmp_path / "dist"
    build_into(book, out)
    probe = ("import sys; from bookgen.cli import main; rc = main(['--book', sys.argv[1], '--out', sys.argv[2]]); "
             "print('weasyprint loaded' if 'weasyprint' in sys.modules else 'weasyprint not loaded', rc)")
    r = subprocess.run([sys.executable, "-c", probe, str(book), str(out)], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout and "weasyprint not loaded 0" in r.stdout
    r = subprocess.run([sys.executable, str(ROOT / "build.py"), "--book", str(book), "--out", str(out), "--force"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "up to date" not in r.stdout and "wrote" in r.stdout, r.stderr


def test_import_and_help_load_no_heavy_library():
    probe = ("import sys, contextlib, io\nimport bookgen.cli\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try: bookgen.cli.main(['--help'])\n    except SystemExit: pass\n"
             "heavy = [m for m in ('weasyprint', 'lxml', 'markdown_it', 'ebooklib', 'pypdf', 'jinja2', 'yaml')"
             " if m in sys.modules]\nprint(heavy)")
    r = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


@pytest.mark.parametrize("name", [".intro.md", "node_modules/intro.md", "intro.md~"])
def test_a_chapter_the_folder_walk_skips_is_still_in_the_key(book, tmp_path, name):
    """A listed chapter with a hidden name, inside a skipped folder or named like an editor's backup: the build
    reads it, so an edit to it rebuilds (the record keeps what the build read, not only what the walk sees)."""
    chapter = book / "chapters" / name
    chapter.parent.mkdir(parents=True, exist_ok=True)
    chapter.write_text("---\ntitle: An Introduction\n---\n\nThe first version of the text.\n", encoding="utf-8")
    toml = book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'chapters = ["chapters/one.md"]', f'chapters = ["chapters/{name}", "chapters/one.md"]'), encoding="utf-8")
    out = tmp_path / "dist"
    build_into(book, out, formats=("epub",))
    assert build_into(book, out, formats=("epub",)).cached
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("first", "second"), encoding="utf-8")
    again = build_into(book, out, formats=("epub",))
    assert not again.cached
    import zipfile
    with zipfile.ZipFile(again.outputs["epub"]) as z:
        text = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xhtml"))
    assert "The second version of the text." in " ".join(text.split())


def test_a_font_added_to_the_users_folder_changes_the_key(book, tmp_path, monkeypatch):
    from bookgen import cache
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data" / "fonts").mkdir(parents=True)
    before = cache.keys_for(options(book, tmp_path / "dist"))
    shutil.copy(next(p for p in sorted(Path("/usr/share/fonts").rglob("*.ttf"))),
                tmp_path / "data" / "fonts" / "Added.ttf")
    assert cache.keys_for(options(book, tmp_path / "dist")) != before

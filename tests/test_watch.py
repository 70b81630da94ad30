"""Issue 5, fast feedback: `--watch` (driven for real: change a file, see the rebuild), progress lines,
`python build.py new DIR`, and a command line that starts fast."""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading

import pytest

from conftest import NS, ROOT, Epub, normalize, pdf_pages_text, run_cli
from goodbook import SLUG, append, build_cli, copy_book

ONE_LINE = re.compile(r"^\d\d:\d\d:\d\d built in \d+\.\d\ds: pdf \d+\.\d\ds \(\d+ pages, \d+ KiB\), "
                      r"epub \d+\.\d\ds \(\d+ KiB\)$")


class Watcher:
    """build.py --watch in a subprocess; its output lines are read by a thread."""

    def __init__(self, cwd, *args):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--watch", *args], cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, predicate, limit=60):
        """The lines up to and including the first one that matches (a generous limit, not a timing test)."""
        got = []
        while True:
            try:
                line = self.lines.get(timeout=limit)
            except queue.Empty:
                pytest.fail(f"no matching line; got {self.seen}")
            if line is None:
                pytest.fail(f"the watcher exited; got {self.seen}")
            got.append(line)
            self.seen.append(line)
            if predicate(line):
                return got

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def test_watch_rebuilds_on_change_survives_errors_and_stops_cleanly(tmp_path):
    book = copy_book(tmp_path)
    epub = tmp_path / "dist" / f"{SLUG}.epub"
    w = Watcher(tmp_path, "--book", "book", "--out", "dist")
    try:
        first = w.until(lambda l: "built in" in l)
        assert ONE_LINE.match(first[-1]), first
        watching = w.until(lambda l: l.startswith("watching"))[-1]
        for part in ("book", str(ROOT / "templates"), str(ROOT / "styles")):
            assert part in watching
        assert "A sentence added while watching" not in Epub(epub).text("two.xhtml")

        # a change in a chapter: one rebuild, with the new text in the EPUB
        append(book / "chapters" / "two.md", "\nA sentence added while watching.\n")
        got = w.until(lambda l: "built in" in l or "failed" in l)
        assert any(l.endswith("changed: book/chapters/two.md") for l in got), got
        assert ONE_LINE.match(got[-1]), got
        assert "A sentence added while watching." in Epub(epub).text("two.xhtml")
        # the edit-to-file latency: from the file's save (its modification time) to the new files
        latency = w.until(lambda l: "from the save to the new files" in l)[-1]
        m = re.fullmatch(r"\d\d:\d\d:\d\d (\d+\.\d\d)s from the save to the new files", latency)
        assert m and 0 < float(m.group(1)) < 60, latency
        good = epub.read_bytes()

        # a broken chapter: the error with file and line, the old outputs stay, and the watcher keeps running
        append(book / "chapters" / "two.md", "\nA call to a missing note.[^missing]\n")
        got = w.until(lambda l: "failed" in l or "built in" in l)
        assert re.match(r"^\d\d:\d\d:\d\d build failed: 1 error; nothing was written; watching for changes$",
                        got[-1]), got
        assert ("book/chapters/two.md:13: footnote [^missing] is referenced but not defined "
                "(hint: add a line `[^missing]: the note's text`)") in got
        assert epub.read_bytes() == good

        # fixed: built again; a new stylesheet in the book is watched too
        append(book / "chapters" / "two.md", "\n[^missing]: Now it is defined.\n")
        got = w.until(lambda l: "failed" in l or "built in" in l)
        assert ONE_LINE.match(got[-1]), got
        assert "Now it is defined." in "".join(Epub(epub).xml("two.xhtml").find(".//x:aside", NS).itertext())
        (book / "styles").mkdir()
        (book / "styles" / "book.css").write_text("h1 { letter-spacing: 0.01em }\n", encoding="utf-8")
        got = w.until(lambda l: "failed" in l or "built in" in l)
        assert any("changed: book/styles" in l for l in got), got
        assert any(n.endswith("css/book/book.css") for n in Epub(epub).zip.namelist())  # the book's own folder
    finally:
        w.stop()
    rest = []
    while (line := w.lines.get(timeout=60)) is not None:
        rest.append(line)
    assert w.proc.returncode == 0, rest
    assert rest[-1] == "stopped watching"
    assert "Traceback" not in "\n".join(w.seen + rest)
    assert sorted(p.name for p in (tmp_path / "dist").iterdir() if not p.name.startswith(".")) == [f"{SLUG}.epub", f"{SLUG}.pdf"]


def test_a_save_during_the_first_build_and_an_output_folder_inside_the_book(tmp_path):
    """A chapter saved while the first build runs (after the book was read) is built again; the output folder
    is inside the book, and only the book's own edits count (not the files the build writes there)."""
    book = copy_book(tmp_path)
    epub = book / "dist" / f"{SLUG}.epub"
    w = Watcher(tmp_path, "--book", "book", "--out", "book/dist", "--verbose")
    try:
        w.until(lambda l: l.lstrip().startswith("read"))  # the first build has read the book
        append(book / "chapters" / "two.md", "\nSaved while the first build ran.\n")
        w.until(lambda l: "built in" in l)
        got = w.until(lambda l: "built in" in l)  # a second build, for the save
        assert any(l.endswith("changed: book/chapters/two.md") for l in got), got
        assert not any("changed: book/dist" in l for l in got), got
        assert "Saved while the first build ran." in " ".join(Epub(epub).text("two.xhtml").split())
        append(book / "chapters" / "one.md", "\nAn edit with the output folder inside the book.\n")
        got = w.until(lambda l: "built in" in l)
        assert any(l.endswith("changed: book/chapters/one.md") for l in got), got
        assert "An edit with the output folder inside the book." in " ".join(Epub(epub).text("one.xhtml").split())
    finally:
        w.stop()


def test_watch_a_missing_book_is_an_error(tmp_path):
    r = run_cli("--watch", "--book", "nowhere", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["nowhere: book folder not found (hint: pass --book DIR with a folder holding "
                                     "book.toml)"]


# --- progress ----------------------------------------------------------------------------------------------------

STAGES = ["read", "layout", "page map", "pdf", "epub", "write"]


def test_progress_lines_per_stage(tmp_path):
    copy_book(tmp_path)
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    stages = [re.match(r"^  (\S+(?: map)?) +\d+\.\d\ds$", l) for l in lines[:6]]
    assert [m.group(1) for m in stages if m] == STAGES, lines
    assert lines[6:8] == [f"wrote dist/{SLUG}.pdf ({(tmp_path / 'dist' / f'{SLUG}.pdf').stat().st_size / 1024:.0f} "
                          f"KiB, 10 pages)",
                          f"wrote dist/{SLUG}.epub ({(tmp_path / 'dist' / f'{SLUG}.epub').stat().st_size / 1024:.0f} "
                          "KiB)"]
    assert re.match(r"^done in \d+\.\d\ds \(read \d+\.\d\ds, layout", lines[8])
    # fits a CI log: no carriage returns or colour codes when the output is not a terminal
    assert "\r" not in r.stdout and "\x1b" not in r.stdout


def test_quiet_and_verbose(tmp_path):
    copy_book(tmp_path)
    r = build_cli(tmp_path, "--quiet")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    r = build_cli(tmp_path, "--verbose", "--force")  # the same book again: not from the cache
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert re.match(r"^  read +\d+\.\d\ds  2 chapters, 1 note, 1 image$", lines[0]), lines
    assert re.match(r"^  layout +\d+\.\d\ds  9 pages, as one document \(a short book: one document, in this process\)$",
                    lines[1]), lines
    assert re.match(r"^  epub +\d+\.\d\ds  \d+ KiB$", lines[4]), lines


# --- python build.py new DIR -------------------------------------------------------------------------------------

def test_new_book_builds_out_of_the_box(tmp_path):
    r = run_cli("new", "my-first-book", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "created my-first-book: book.toml, chapters/introduction.md, chapters/first-steps.md",
        "build it with: python build.py --book my-first-book"]
    r = run_cli("--book", "my-first-book", "--out", "dist", "--strict", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # not even a warning
    pdf, epub = tmp_path / "dist" / "my-first-book.pdf", tmp_path / "dist" / "my-first-book.epub"
    text = normalize("".join(pdf_pages_text(pdf)))
    assert normalize("My First Book") in text
    assert normalize("A footnote. In the PDF it is printed at the foot of the page") in text
    book = Epub(epub)
    assert book.meta("title") == ["My First Book"] and book.meta("language") == ["en"]
    intro = book.xml("introduction.xhtml")
    assert intro.find(".//x:aside[@epub:type='footnote']", NS) is not None
    hrefs = [a.get("href") for a in intro.iterfind(".//x:a", NS)]
    assert "first-steps.xhtml" in hrefs and "first-steps.xhtml#notes-and-links" in hrefs
    # (EPUBCheck is not run here: it costs seconds, and this book has nothing the EPUBs EPUBCheck checks in
    # test_pipeline, test_safety and test_property lack)


def test_new_refuses_a_folder_with_files_and_checks_options(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    r = run_cli("new", "taken", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["error: taken already exists and is not empty (hint: choose a new folder name)"]
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
    r = run_cli("new", "fresh", "--language", "en_GB", cwd=tmp_path)
    assert r.returncode == 2 and "not a valid BCP 47 language tag" in r.stderr
    assert not (tmp_path / "fresh").exists()


def test_new_with_a_title_that_needs_quoting(tmp_path):
    title = 'The "Quoted" \\ Book & <Co>'
    r = run_cli("new", "b", "--title", title, "--author", "Zoë O'Brien", "--language", "fr", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    import tomllib
    conf = tomllib.loads((tmp_path / "b" / "book.toml").read_text(encoding="utf-8"))
    assert conf["title"] == title and conf["authors"] == ["Zoë O'Brien"] and conf["language"] == "fr"


# --- a fast command line -----------------------------------------------------------------------------------------

HEAVY = ("weasyprint", "lxml", "jinja2", "markdown_it", "ebooklib", "watchfiles", "yaml", "pypdf", "PIL",
         "langcodes")


def test_cli_import_and_help_load_nothing_heavy():
    code = ("import sys\nimport bookgen.cli as c\n"
            "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--watch" in r.stdout and "--verbose" in r.stdout and "build.py new DIR" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "[]"

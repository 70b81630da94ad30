"""Issue 5, safe builds: a book reads only its own files, makes no network request, runs no code (raw HTML is
cleaned, chapter text is never a template, metadata is escaped), and a failed or interrupted build leaves the
previous PDF and EPUB as they were, with no partial file."""
from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from conftest import DEFAULT_BOOK, NS, ROOT, Epub, build_into, epubcheck, normalize, pdf_pages_text
from goodbook import SLUG, append, build_cli, copy_book, edit, old_outputs, state

OUTSIDE_HINT = "(hint: copy the file into the book folder ('..' may not leave it))"


def one(book):
    return book / "chapters" / "one.md"


# --- paths and URLs refused by the reader, with file and line --------------------------------------------------

REFUSED = {
    "../../etc/passwd": (
        "![A secret](../../../../../../etc/passwd)",
        f"image '../../../../../../etc/passwd' leads outside the book folder {OUTSIDE_HINT}"),
    "absolute path": (
        "![A secret](/etc/passwd)",
        "image '/etc/passwd' is an absolute path (hint: use a path relative to the book folder)"),
    "file:// URL": (
        "![A secret](file:///etc/passwd)",
        "image 'file:///etc/passwd' is a file:// URL; the build reads only files inside the book folder "
        "(hint: copy the file into the book folder and use a path relative to it)"),
    "raw HTML image outside": (
        '<img src="../../../../../../etc/passwd" alt="A secret">',
        f"image '../../../../../../etc/passwd' leads outside the book folder {OUTSIDE_HINT}"),
    "javascript: link": (
        "[Click](javascript:alert(1))",
        "link 'javascript:alert(1)' uses a javascript: URL (hint: only http, https and mailto links can leave "
        "the book)"),
    "javascript: link in raw HTML": (
        '<a href="javascript:alert(1)">Click</a>',
        "link 'javascript:alert(1)' uses a javascript: URL (hint: only http, https and mailto links can leave "
        "the book)"),
    "link leading outside": (
        "[Secrets](../../../../../../etc/passwd)",
        "link '../../../../../../etc/passwd' leads outside the book folder "
        "(hint: links inside a book go to its chapters (.md files) or to #ids)"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_chapter_path_or_url_refused(tmp_path, name):
    markdown, message = REFUSED[name]
    book = copy_book(tmp_path)
    append(one(book), f"\n{markdown}\n")
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"book/chapters/one.md:16: {message}",
                                     "build failed: 1 error; nothing was written"]
    assert state(tmp_path / "dist") == before


def test_symlinks_leading_outside_are_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "picture.png").write_bytes((ROOT / "tests/fixtures/errors/good/images/square.png").read_bytes())
    (secret / "chapter.md").write_text("# Secret\n\nText from outside.\n", encoding="utf-8")
    (secret / "own.css").write_text("p { color: red }\n", encoding="utf-8")
    book = copy_book(tmp_path)
    (book / "images" / "link.png").symlink_to(secret / "picture.png")
    (book / "chapters" / "three.md").symlink_to(secret / "chapter.md")
    (book / "styles").mkdir()
    (book / "styles" / "own.css").symlink_to(secret / "own.css")
    edit(book / "book.toml", '"chapters/two.md"]', '"chapters/two.md",\n  "chapters/three.md"]')
    append(one(book), "\n![A linked picture](../images/link.png)\n")
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "book/book.toml:7: chapter 'chapters/three.md' is a symlink to a file outside the book folder "
        "(hint: copy the file into the book folder instead of linking to it)",
        "book/chapters/one.md:16: image '../images/link.png' is a symlink to a file outside the book folder "
        "(hint: copy the file into the book folder instead of linking to it)",
        "book/styles/own.css: is a symlink to a file outside the book folder "
        "(hint: copy the file into the book folder instead of linking to it)",
        "build failed: 3 errors; nothing was written"]
    assert state(tmp_path / "dist") == before


def test_stylesheet_urls_outside_or_remote_are_refused(tmp_path):
    book = copy_book(tmp_path)
    (book / "styles").mkdir()
    (book / "styles" / "own.css").write_text(
        '@import url("https://example.com/theme.css");\n'
        "/* url(https://example.com/in-a-comment.png) is fine */\n"
        "h1 { background: url(../../../../../../etc/passwd) }\n"
        "p { background: url('file:///etc/passwd') }\n"
        "em { background: url(../images/square.png) }\n", encoding="utf-8")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "book/styles/own.css:1: stylesheet url 'https://example.com/theme.css' is a remote URL; the build makes no "
        "network request (hint: download the file into the book folder and use a path relative to it)",
        "book/styles/own.css:3: stylesheet url '../../../../../../etc/passwd' leads outside the book folder "
        f"{OUTSIDE_HINT}",
        "book/styles/own.css:4: stylesheet url 'file:///etc/passwd' is a file:// URL; the build reads only files "
        "inside the book folder (hint: copy the file into the book folder and use a path relative to it)",
        "build failed: 3 errors; nothing was written"]


# --- the WeasyPrint URL fetcher: the last line of defence ------------------------------------------------------

class _Counting(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):  # noqa: N802
        _Counting.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"p { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    """A real HTTP server on localhost that counts the requests it gets."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Counting.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _Book:
    def __init__(self, root):
        self.root = root


def test_fetcher_refuses_network_and_outside_files(tmp_path, local_server):
    from weasyprint.urls import FatalURLFetchingError

    from bookgen.write_pdf import fetcher_for
    book = copy_book(tmp_path)
    outside = tmp_path / "outside.png"
    outside.write_bytes((book / "images" / "square.png").read_bytes())
    (book / "images" / "link.png").symlink_to(outside)
    fetch = fetcher_for(_Book(book))
    assert fetch((book / "images" / "square.png").as_uri()).read()[:4] == b"\x89PNG"
    assert fetch("data:text/plain,hello").read() == b"hello"
    for url in (f"{local_server}/x.png", "https://example.com/x.png", "ftp://example.com/x.png"):
        with pytest.raises(FatalURLFetchingError, match="a book builds without the network"):
            fetch(url)
    for path in ("/etc/passwd", str(outside), str(book / "images" / "link.png"),
                 str(book / "images" / ".." / ".." / "outside.png")):
        with pytest.raises(FatalURLFetchingError, match="outside the book folder"):
            fetch(Path(path).as_uri() if ".." not in path else "file://" + path)
    assert _Counting.requests == []


def test_weasyprint_with_the_fetcher_makes_no_request(tmp_path, local_server):
    """Through WeasyPrint itself: an image, a stylesheet link and a CSS @import to a live server are refused
    (the rendering stops) and the server sees no request."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import FatalURLFetchingError

    from bookgen.write_pdf import fetcher_for
    book = copy_book(tmp_path)
    fetcher = fetcher_for(_Book(book))
    for html in (f'<p><img src="{local_server}/a.png" alt="a"></p>',
                 f'<link rel="stylesheet" href="{local_server}/a.css"><p>x</p>',
                 '<p><img src="file:///etc/passwd" alt="a"></p>'):
        with pytest.raises(FatalURLFetchingError):
            HTML(string=html, base_url=str(book) + os.sep, url_fetcher=fetcher).render()
    with pytest.raises(FatalURLFetchingError):
        CSS(string=f'@import url("{local_server}/b.css");', url_fetcher=fetcher)
    assert _Counting.requests == []


def test_a_template_that_fetches_is_a_clean_error(tmp_path, local_server):
    """Templates are not scanned by the reader: the fetcher stops the build, with a message, not a traceback."""
    book = copy_book(tmp_path)
    (book / "templates" / "partials").mkdir(parents=True)
    (book / "templates" / "partials" / "titlepage.html.j2").write_text(
        f'<section id="titlepage"><img src="{local_server}/logo.png" alt="logo"/></section>\n', encoding="utf-8")
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        f"refused to fetch {local_server}/logo.png: a book builds without the network "
        "(hint: a book may use only files inside its folder; check the templates and stylesheets)",
        "build failed: 1 error; nothing was written"]
    assert _Counting.requests == []
    assert state(tmp_path / "dist") == before


def test_a_book_template_cannot_run_code(tmp_path):
    """A downloaded book may override templates; they run in Jinja's sandbox, so they cannot reach Python."""
    book = copy_book(tmp_path)
    marker = tmp_path / "PWNED"
    (book / "templates" / "partials").mkdir(parents=True)
    (book / "templates" / "partials" / "titlepage.html.j2").write_text(
        '<section id="titlepage">\n'
        f'<p>{{{{ cycler.__init__.__globals__.os.system("touch {marker}") }}}}</p>\n</section>\n', encoding="utf-8")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0].startswith("book/templates/partials/titlepage.html.j2:2: template error: "
                                               "access to attribute '__init__' of 'type' object is unsafe")
    assert not marker.exists()


# --- raw HTML, template syntax and metadata: data, never code --------------------------------------------------

RAW_HTML = """

<div class="box" onclick="steal()" style="position:fixed">A box with <b>bold <i>nested</b> text
<script>document.write("pwned")</script>
<iframe src="https://example.com/"></iframe>
<p onmouseover="x()">A paragraph & an ampersand<br>and a break</p>
<foo bar="1">An unknown element's text</foo>
<svg><image href="https://example.com/x.png"/></svg>
</div>

Inline <span onclick="x()">span</span> and <img src="../images/square.png" alt="A raw square" onerror="x()">
and <a href="one.md#details" onclick="x()">a raw link to a heading in another chapter</a>.

Template syntax is text: {{ 7 * 7 }} and {% for i in range(3) %}loop{% endfor %} and {# comment #}.
"""


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    """A book whose metadata is full of markup characters and whose chapter holds hostile raw HTML."""
    tmp = tmp_path_factory.mktemp("hostile")
    book = copy_book(tmp)
    edit(book / "book.toml", 'title = "A Small Good Book"',
         'title = "Tom & Jerry\'s \\"<Great>\\" Escape {{ 7 * 7 }}"\n'
         'subtitle = "</title><script>alert(1)</script>"\n'
         'description = "A & B < C > D \\" \' ]]> <!-- -->"\n'
         'subjects = ["<b>bold</b>", "quotes \\" and \'"]\n'
         'publisher = "O\'Reilly & Sons"')
    edit(book / "book.toml", '"Ada Example"', '"Ada <Example> & \\"Co\\""')
    edit(book / "chapters" / "two.md", "title: The Second Chapter", "title: 'Why 1 < 2 & {{ 7 * 7 }}'")
    append(book / "chapters" / "two.md", RAW_HTML)
    result = build_into(book, tmp / "out")
    return result


TITLE = "Tom & Jerry's \"<Great>\" Escape {{ 7 * 7 }}"


def test_raw_html_is_cleaned_and_warned_about(hostile_build):
    book = Epub(hostile_build.outputs["epub"])
    raw = book.zip.read(book.base + "two.xhtml").decode("utf-8")
    chapter = etree.fromstring(raw.encode("utf-8"))  # well-formed XML, or this raises
    text = "".join(chapter.itertext())
    assert "A paragraph & an ampersand" in text and "An unknown element's text" in text
    assert "pwned" not in text
    for bad in ("<script", "onclick", "onmouseover", "onerror", "iframe", "<foo", "<svg", "style=",
                "example.com", "javascript:"):
        assert bad not in raw, bad
    img = chapter.find(".//x:img[@alt='A raw square']", NS)
    assert img is not None and img.get("src") == "images/square.png"
    link = [a for a in chapter.iterfind(".//x:a", NS) if "raw link" in "".join(a.itertext())]
    assert [a.get("href") for a in link] == ["one.xhtml#details"]  # a link between files in the EPUB
    pdf = PdfReader(hostile_build.outputs["pdf"])
    annots = [a.get_object() for p in pdf.pages for a in p.get("/Annots", []) or []]
    assert not [a for a in annots if "one.md" in str((a.get("/A") or {}).get("/URI", ""))]
    warnings = [str(w) for w in hostile_build.warnings]
    assert any("two.md:13: warning: raw HTML <script> is removed from the book" in w for w in warnings), warnings  # its own line
    assert any("raw HTML the onclick attribute of <div> is removed" in w for w in warnings), warnings
    assert any("raw HTML <svg> is removed from the book (hint: inline SVG is not supported" in w for w in warnings)


def test_chapter_text_is_never_a_template(hostile_build):
    book = Epub(hostile_build.outputs["epub"])
    text = book.text("two.xhtml")
    text = text.replace("\u00a0", " ")  # the last two words of a paragraph are joined (bookgen/runts.py)
    assert "{{ 7 * 7 }}" in text and "{% for i in range(3) %}loop{% endfor %}" in text and "{# comment #}" in text
    assert "49" not in text and "looploop" not in text
    h1 = book.xml("two.xhtml").find(".//x:h1", NS)
    assert "".join(h1.itertext()) == "Why 1 < 2 & {{ 7 * 7 }}"


def test_metadata_is_escaped_everywhere(hostile_build):
    book = Epub(hostile_build.outputs["epub"])
    assert book.meta("title")[0] == TITLE
    assert book.meta("title")[1] == "</title><script>alert(1)</script>"
    assert book.meta("creator") == ['Ada <Example> & "Co"']
    assert book.meta("description") == ["A & B < C > D \" ' ]]> <!-- -->"]
    assert book.meta("subject") == ["<b>bold</b>", "quotes \" and '"]
    title = book.xml("titlepage.xhtml").find(".//x:h1", NS)
    assert "".join(title.itertext()) == TITLE
    for href in book.spine_hrefs:
        assert book.xml(href).find(".//x:script", NS) is None
    pdf = PdfReader(hostile_build.outputs["pdf"])
    assert pdf.metadata.title.startswith(TITLE)
    assert pdf.metadata.author == 'Ada <Example> & "Co"'
    assert normalize(TITLE) in normalize(pdf_pages_text(hostile_build.outputs["pdf"])[0]
                                         + pdf_pages_text(hostile_build.outputs["pdf"])[2])


def test_hostile_epub_passes_epubcheck(hostile_build):
    report = epubcheck(hostile_build.outputs["epub"])
    assert report["errors"] == [], report["messages"]


# --- atomic output: failures and interrupts leave the old files ------------------------------------------------

def _fake_old(out: Path, slug: str) -> dict:
    return old_outputs(out, slug)


@pytest.mark.parametrize("where", ["epub writer", "second rename", "first rename"])
def test_interrupted_build_leaves_old_outputs(tmp_path, monkeypatch, where):
    """Ctrl-C (KeyboardInterrupt) in a writer, or between the two renames: old PDF and EPUB stay, byte for byte,
    and no temporary file is left."""
    from bookgen import build as build_module
    from bookgen import write_epub
    book = copy_book(tmp_path)
    out = tmp_path / "dist"
    before = _fake_old(out, SLUG)
    if where == "epub writer":
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(write_epub, "write_epub", interrupted)
    else:
        real_replace = os.replace
        calls = []

        def replace(src, dst):
            calls.append(dst)
            if len(calls) == (2 if where == "second rename" else 1):
                raise KeyboardInterrupt
            return real_replace(src, dst)
        monkeypatch.setattr(build_module.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        build_module.build(build_module.BuildOptions(book=book, out=out))
    monkeypatch.undo()
    assert state(out) == before


def test_failed_write_leaves_old_outputs(tmp_path, monkeypatch):
    """The EPUB's target cannot be replaced (it is a folder): the new PDF is taken back out."""
    from bookgen import build as build_module
    out = tmp_path / "dist"
    before = _fake_old(out, SLUG)
    (out / f"{SLUG}.epub").unlink()
    (out / f"{SLUG}.epub").mkdir()
    (out / f"{SLUG}.epub" / "keep").write_text("x")
    pdf_before = (out / f"{SLUG}.pdf").read_bytes()
    with pytest.raises(OSError):
        build_module.write_atomically(out, SLUG, {"pdf": b"%PDF new", "epub": b"PK new"})
    assert (out / f"{SLUG}.pdf").read_bytes() == pdf_before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(before)


def test_sigint_to_a_running_build(tmp_path):
    """A real Ctrl-C: SIGINT to build.py while it lays out the default book."""
    out = tmp_path / "dist"
    slug = "understanding-the-1941-pact-of-neutrality"
    before = _fake_old(out, slug)
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--book", str(DEFAULT_BOOK), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first = proc.stdout.readline()  # printed when reading is done: the layout (seconds) runs now
    assert first.split()[0] == "read", first
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, stderr)
    assert stderr.strip().splitlines()[-1] == "build interrupted; nothing was written"
    assert "Traceback" not in stderr
    assert state(out) == before


def test_outputs_are_complete_when_written(tmp_path):
    """A good build replaces both files; nothing else is left in the folder."""
    book = copy_book(tmp_path)
    out = tmp_path / "dist"
    _fake_old(out, SLUG)
    build_into(book, out)
    # a short book is laid out in one document: no chapter groups to keep (.bookgen-cache/); the no-change
    # record and what the stylesheets' check found are kept for the next build
    assert sorted(p.name for p in out.iterdir()) == [".bookgen-cache.json", ".bookgen-css.json", f"{SLUG}.epub",
                                                      f"{SLUG}.pdf"]
    assert PdfReader(out / f"{SLUG}.pdf").pages
    assert zipfile.ZipFile(out / f"{SLUG}.epub").testzip() is None


@pytest.mark.parametrize("href", ["javascript:alert(1)", " JavaScript:alert(1)", "vbscript:x", "data:text/html,x",
                                  "file:///etc/passwd"])
def test_the_sanitizer_drops_active_links_even_if_the_loader_let_one_through(href):
    """The loader refuses these links with their line; the sanitizer drops them as well (defence in depth)."""
    from bookgen.markdown import clean_fragment
    out = clean_fragment(f'<p><a href="{href}">x</a> <a href="https://example.org/">y</a></p>')
    assert "example.org" in out and href.strip().split(":")[0].lower() + ":" not in out.lower()

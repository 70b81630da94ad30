"""Issue 14: WeasyPrint's internals are reached through one adapter (bookgen/weasy.py). Its self-test passes on
the pinned WeasyPrint; when it fails (a WeasyPrint that behaves otherwise), the book is laid out as one document
with a warning: never a crash, never wrong pages."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

from conftest import LARGER_BOOK, ROOT, pdftotext_pages

INTERNALS = re.compile(r"_page_box|page_maker|string_set|\bpydyf\b|\.to_unicode\b|formatting_structure|"
                       r"make_all_pages|make_margin_boxes|page_type")


def test_only_the_adapter_reaches_into_weasyprint():
    found = []
    for path in sorted((ROOT / "bookgen").glob("*.py")):
        if path.name == "weasy.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if INTERNALS.search(code) and "LIBRARIES" not in code:  # the cache's list of library names
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert found == []


def test_the_self_test_passes_on_the_pinned_weasyprint():
    from bookgen import weasy
    assert weasy.self_test() is None


def test_a_weasyprint_that_behaves_otherwise_lays_the_book_out_whole(tmp_path):
    """A copy of the project whose adapter no longer sets the folio at the stop (as if WeasyPrint had moved its
    page counters): the build warns, lays the book out as one document, and prints the right folios."""
    project = tmp_path / "project"
    for name in ("bookgen", "templates", "styles"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "build.py", project / "build.py")
    weasy = project / "bookgen" / "weasy.py"
    source = weasy.read_text(encoding="utf-8")
    line = '        values["page"][-1] = value'
    assert line in source
    weasy.write_text(source.replace(line, "        pass"), encoding="utf-8")

    def build(folder, *args):
        return subprocess.run([sys.executable, str(project / "build.py"), "--book", str(LARGER_BOOK), "--out",
                               str(tmp_path / folder), "-v", *args], capture_output=True, text=True, timeout=600,
                              cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1767225600"})
    split = build("split", "--jobs", "2")
    assert split.returncode == 0, split.stderr
    assert ("warning: this WeasyPrint differs from what the split layout expects: the margins drew"
            in split.stderr)
    assert "laid out as one document" in split.stderr
    whole = build("whole", "--jobs", "0")
    assert whole.returncode == 0 and "differs" not in whole.stderr
    a, b = (next((tmp_path / f).glob("*.pdf")) for f in ("split", "whole"))
    assert pdftotext_pages(a) == pdftotext_pages(b) and len(pdftotext_pages(a)) > 10


QUICK_IMPORT = """
import ctypes.util, json, sys
calls = []
real = ctypes.util.find_library
def counted(name):
    calls.append(name)
    return real(name)
ctypes.util.find_library = counted
import bookgen  # installs the quick import (bookgen/weasy.py)
import weasyprint.text.ffi as ffi
print(json.dumps({"calls": calls, "restored": ctypes.util.find_library is counted,
                  "opened": [lib is not None for lib in (ffi.gobject, ffi.pango, ffi.harfbuzz, ffi.fontconfig,
                                                         ffi.pangoft2)],
                  "works": len(weasyprint.HTML(string="<p>x</p>").write_pdf()) > 500}))
""".replace("weasyprint.HTML", "__import__('weasyprint').HTML")


def test_weasyprint_imports_without_looking_its_libraries_up():
    """WeasyPrint's import through bookgen asks ctypes.util.find_library nothing (each question ran ldconfig and
    gcc), opens the same libraries, and leaves find_library as it was."""
    import json
    out = subprocess.run([sys.executable, "-c", QUICK_IMPORT], capture_output=True, text=True, cwd=ROOT, check=True)
    result = json.loads(out.stdout)
    assert result == {"calls": [], "restored": True, "opened": [True] * 5, "works": True}


def test_a_library_found_only_by_lookup_is_still_found(tmp_path):
    """The loader's way back: a module that needs find_library to answer is run again with the real lookup."""
    import importlib.util

    from bookgen.weasy import _NoLookupLoader
    (tmp_path / "needs_lookup.py").write_text(
        "import ctypes.util\nif ctypes.util.find_library('c') is None:\n    raise OSError('no libc found')\n"
        "FOUND = ctypes.util.find_library('c')\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("needs_lookup", tmp_path / "needs_lookup.py")
    spec.loader = _NoLookupLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.FOUND.startswith("libc.so")


# A page of 11 lines: a paragraph calling a one-line note, 7 lines, a heading, then a paragraph whose second line
# does not fit. WeasyPrint 70 moves the note to the next page to keep that paragraph's two orphan lines.
ORPHANS_PAGE = """<html><head><style>@page { size: 300px 300px; margin: 20px }
body { font: 10px/20px serif; orphans: 2; widows: 2; margin: 0 } p { margin: 0 }
h2 { margin: 0; font-size: 10px; break-after: avoid } .n { float: footnote; footnote-policy: line }</style></head>
<body><p id="a">Call here<span class="n" id="note">The note.</span> and more.</p>
<p>%s</p><h2 id="h">Head</h2><p id="c">%s</p></body></html>""" % (
    "<br>".join(["word word word word word word"] * 7), "<br>".join(["word word word word word word"] * 4))

WHERE = """
def where(page):
    from weasyprint import HTML
    first = {}
    for i, laid_out in enumerate(HTML(string=page).render().pages):
        for name in laid_out.anchors:
            first.setdefault(name, i)
    return [first["a"], first["note"], first["h"], first["c"]]
"""


def test_weasyprint_alone_moves_a_note_off_its_calls_page_for_orphans():
    """Why keep_notes_with_calls exists: without it (a process without bookgen), the note prints a page after its
    call. If this fails, WeasyPrint no longer does that and the fix can go."""
    out = subprocess.run([sys.executable, "-c", WHERE + f"print(*where({ORPHANS_PAGE!r}))"], capture_output=True,
                         text=True, check=True, cwd="/")
    assert out.stdout.split() == ["0", "1", "0", "0"]


def test_a_note_stays_on_its_calls_page_and_the_paragraph_goes_on_with_its_heading():
    from bookgen import weasy
    assert weasy.keep_notes_with_calls() is True
    scope: dict = {}
    exec(WHERE, scope)
    # call and note on the first page; the heading and its paragraph both on the next
    assert scope["where"](ORPHANS_PAGE) == [0, 0, 1, 1]

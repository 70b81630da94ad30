"""Mutation check: does the suite catch small, meaningful bugs put into the product?

    python -m tests.mutate            # every mutation (about 10 minutes on 2 cores)
    python -m tests.mutate -k notes   # those whose name contains "notes"
    python -m tests.mutate --list

Each mutation replaces one exact piece of a product file (it must occur exactly once) in a temporary copy of the
project, runs the tests that should catch it, and prints one line: `caught` if they failed, `MISSED` if they
passed. The last line is `caught N/M`. The copy is tested unmutated first: if that fails, nothing is judged.
Not part of CI's test command (it runs the selected tests once per mutation).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: tuple  # pytest arguments: files, optionally with ::test or -k


MUTATIONS = [
    # -- the eight of the audit that opened issue 17
    Mutation("contents and folios off by one", "styles/print.css",
             "@page :nth(1 of first-chapter) { counter-reset: page 1; }",
             "@page :nth(1 of first-chapter) { counter-reset: page 2; }",
             ("tests/test_pdf.py", "-k", "contents_numbers or body_starts")),
    Mutation("xml:lang removed from EPUB pages", "templates/epub/page.xhtml.j2",
             'lang="{{ meta.language }}" xml:lang="{{ meta.language }}"', 'lang="{{ meta.language }}"',
             ("tests/test_epub.py", "-k", "files_spine")),
    Mutation("the join swaps two pages", "bookgen/join_pdf.py",
             "        for page in src.pages:  # append(): same copier as copy_foreign(src...)\n",
             "        for page in list(src.pages)[1:2] + list(src.pages)[:1] + list(src.pages)[2:]:\n",
             ("tests/test_join.py",)),
    Mutation("image alt text removed in both editions", "bookgen/markdown.py",
             '"img": {"src", "alt", "width", "height"}', '"img": {"src", "width", "height"}',
             ("tests/test_pdf.py", "-k", "alt_text", "tests/test_epub.py", "-k", "files_spine or alt_text")),
    Mutation("the second note of each chapter lost while reading", "bookgen/load_book.py",
             "        pieces = tuple(notes[x] if isinstance(x, int) else x for x in rendered.pieces)",
             "        pieces = tuple(notes[x] if isinstance(x, int) else x for x in rendered.pieces if x != 1)",
             ("tests/test_pdf.py", "-k", "footnote")),
    Mutation("the PDF's figure alt text replaced by 'image'", "bookgen/write_pdf.py",
             "    html = HTML(string=html_text, ",
             "    html = HTML(string=re.sub(r'alt=\"[^\"]*\"', 'alt=\"image\"', html_text), ",
             ("tests/test_pdf.py", "-k", "alt_text")),
    Mutation("an interrupted write leaves its .part files", "bookgen/build.py",
             "        for path in list(temps.values()) + list(backups.values()):\n            if path.exists():",
             "        for path in list(backups.values()):\n            if path.exists():",
             ("tests/test_book_is_data.py", "-k", "fails_midway")),
    Mutation("the loader drops publisher", "bookgen/book_toml.py",
             'publisher=keys.string("publisher")', 'publisher=""',
             ("tests/test_epub.py", "-k", "metadata", "tests/test_pdf.py", "-k", "metadata")),
    # -- more
    Mutation("notes numbered from 0", "bookgen/load_book.py",
             "notes = tuple(Note(n + 1, ", "notes = tuple(Note(n, ",
             ("tests/test_pdf.py", "-k", "footnote or numbered")),
    Mutation("the right-hand running head shows the book title", "styles/print.css",
             "@top-right { content: string(chapter-title);", "@top-right { content: string(book-title);",
             ("tests/test_pdf.py", "-k", "running_heads")),
    Mutation("chapters open on any page", "styles/print.css",
             "section[role] { page: chapter; break-before: right; }",
             "section[role] { page: chapter; break-before: page; }",
             ("tests/test_pdf.py", "-k", "right_hand_page")),
    Mutation("front matter folios in upper-case roman", "bookgen/folios.py",
             'ranges = [(0, "r")]', 'ranges = [(0, "R")]',
             ("tests/test_pdf.py", "-k", "body_starts")),
    Mutation("no right-to-left spine", "bookgen/write_epub.py",
             '        eb.set_direction("rtl")', "        pass",
             ("tests/test_rtl.py", "-k", "spine")),
    Mutation("Latin runs in Arabic not isolated", "bookgen/direction.py",
             "    return _LTR_RUN.sub(lambda m: LRI + m.group(0) + PDI, text)", "    return text",
             ("tests/test_rtl.py",)),
    Mutation("a line break between CJK letters prints a space", "bookgen/cjk.py",
             "        if is_cjk(before) and is_cjk(after):", "        if False:",
             ("tests/test_languages.py", "-k", "line_break")),
    Mutation("German gets English quotation marks", "bookgen/markdown.py",
             '"de": "„“‚‘"', '"de": "“”‘’"', ("tests/test_languages.py", "-k", "quotation")),
    Mutation("errors lose their line number", "bookgen/errors.py",
             'where += f":{self.line}"', "pass", ("tests/test_errors.py",)),
    Mutation("the cache ignores what a file says", "bookgen/cache.py",
             "            h.update(hashlib.sha256(f.read()).digest())", "            pass",
             ("tests/test_cache.py", "-k", "each_kind")),
    Mutation("an SVG keeps its scripts", "bookgen/svg.py",
             '_DROP = {"script", "foreignObject", "handler", "listener"}',
             '_DROP = {"foreignObject", "handler", "listener"}', ("tests/test_svg.py",)),
    Mutation("templates receive file paths as objects", "bookgen/template_data.py",
             "    if isinstance(value, PurePath):\n        return _path(value, root)",
             "    if isinstance(value, PurePath):\n        return value",
             ("tests/test_template_escapes.py",)),
    Mutation("javascript: links kept in raw HTML", "bookgen/markdown.py",
             '            elif lname == "href" and not safe_url(value):',
             '            elif lname == "href" and False:', ("tests/test_safety.py", "-k", "sanitizer")),
    Mutation("notes' calls lose their role", "templates/epub/notes.html.j2",
             'epub:type="noteref" role="doc-noteref"', 'epub:type="noteref"',
             ("tests/test_epub.py", "-k", "noterefs")),
    Mutation("the XMP loses the publisher", "bookgen/write_pdf.py",
             'bag("publisher", [meta.publisher]), ', "", ("tests/test_pdf.py", "-k", "metadata")),
    Mutation("file names lose vowel signs", "bookgen/markdown.py",
             '    if ch < "\\u0590" or', '    if True or', ("tests/test_languages.py", "-k", "file_names")),
    Mutation("Chinese and Japanese quotes left straight", "bookgen/markdown.py",
             '    if language.split("-")[0].lower() in ("zh", "ja"):', "    if False:",
             ("tests/test_languages.py", "-k", "quotation")),
    Mutation("the join's glyph check does nothing", "bookgen/join_pdf.py",
             "    from .pdf_glyphs import face, font_at, font_table, raw_contents\n",
             "    return\n", ("tests/test_glyphs.py", "-k", "wrongly_merged")),
    Mutation("--watch starts watching after the first build", "bookgen/watch.py",
             "        first = next(changes_seen)\n        build_once()\n",
             "        build_once()\n        first = next(changes_seen)\n",
             ("tests/test_watch.py", "-k", "first_build")),
    Mutation("a killed build's files are not put back", "bookgen/build.py",
             "    recover_interrupted(out_dir, slug)\n", "", ("tests/test_book_is_data.py", "-k", "killed")),
    # -- issue 13
    Mutation("a short listing may split across pages", "styles/print.css",
             "pre.short, figure.listing.short { break-inside: avoid; }", "pre.short, figure.listing.short { }",
             ("tests/test_listings.py", "-k", "short")),
    Mutation("a Pandoc note stays in the chapter that defines it", "bookgen/pandoc.py",
             "    chunks = _notes_with_their_calls(chunks)\n", "", ("tests/test_pandoc.py", "-k", "notes")),
    Mutation("a nested mdBook entry opens its own page", "styles/print.css",
             "section[role] section[role] { break-before: auto !important; page: auto !important; }",
             "section[role] section[role] { }", ("tests/test_mdbook.py", "-k", "nested_entry")),
    Mutation("long listing lines get no continuation mark", "bookgen/listings.py",
             "                out.append('<span class=\"cont\"></span>')\n", "",
             ("tests/test_listings.py", "-k", "wide")),
    # -- issue 15
    Mutation("a group's margins are not laid over its pages", "bookgen/overlay.py",
             "                    _lay_page_over(dst, dst.pages[index].obj, src.pages[index].obj)",
             "                    pass", ("tests/test_split.py", "-k", "look_exactly")),
    Mutation("a moved group keeps the folios of its old place", "bookgen/layout_group.py",
             "    counters = page_counters(body.counters, body.first + skip, finish.counter_before)",
             "    counters = page_counters(body.counters, body.first + skip, 0)",
             ("tests/test_split.py", "-k", "edit_lays_out")),
    Mutation("a merged font program is kept under the wrong glyphs", "bookgen/join_fonts.py",
             "    key = hashlib.sha256(data + json.dumps(sorted(widths)).encode()).hexdigest()",
             "    key = hashlib.sha256(data).hexdigest()", ("tests/test_split.py", "-k", "edit_lays_out")),
    # -- this stop's (issue 15): the date stand-in, the kept glyph records, the margins' shared styles, the import
    Mutation("the front matter's stand-in date is left in the PDF", "bookgen/join_pdf.py",
             "                with_modified(dst, modified)\n", "                pass\n",
             ("tests/test_split.py", "-k", "fixed_date")),
    Mutation("the join's glyph records are kept under one key for every part", "bookgen/join_pdf.py",
             "    key = hashlib.sha256(data).hexdigest()\n", "    key = \"part\"\n",
             ("tests/test_glyphs.py", "-k", "kept_and_pages", "tests/test_split.py", "-k", "edit_lays_out")),
    Mutation("pages of one side share their margin styles whatever :nth() says", "bookgen/weasy.py",
             "        key = None if selectors is None else tuple(_matches(context.style_for, s, page_type) for s in selectors)",
             "        key = (side, blank)", ("tests/test_split.py", "-k", "look_exactly")),
    Mutation("the quick import leaves find_library answering nothing", "bookgen/weasy.py",
             "            ctypes.util.find_library = real\n        self.loader.exec_module(module)",
             "            pass\n        self.loader.exec_module(module)",
             ("tests/test_weasy_adapter.py", "-k", "looking")),
    Mutation("the stylesheets are checked in the build's own process, which loads WeasyPrint", "bookgen/build.py",
             "        server = start_fork_server()", "        start_fork_server()",
             ("tests/test_processes.py", "-k", "never_loads")),
    Mutation("the cover's image is drawn in the process that made its page", "bookgen/cover.py",
             "    if apart:\n        return _jpeg_apart(pdf)\n", "",
             ("tests/test_processes.py", "-k", "drawn_apart")),
    Mutation("a Ctrl-C Python dropped is forgotten", "bookgen/processes.py",
             "        _INTERRUPTED.append(signum)\n        raise KeyboardInterrupt", "        raise KeyboardInterrupt",
             ("tests/test_processes.py", "-k", "python_drops")),
    Mutation("WeasyPrint still moves a page's notes on to keep a paragraph's orphans", "bookgen/weasy.py",
             'source.replace(_REPORT, "report = False")', "source",
             ("tests/test_weasy_adapter.py", "-k", "heading")),
]


def copy_project(dest: Path) -> None:
    """The project as it is in the working tree: tracked files and new ones not ignored by git."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def groups(args: tuple) -> list[list[str]]:
    """"file -k expr file -k expr" as one pytest run per file, so that each -k applies to its own file."""
    out, current = [], []
    for arg in args:
        if arg.endswith(".py") and current:
            out.append(current)
            current = []
        current.append(arg)
    return out + [current]


def merged(args: tuple) -> list[list[str]]:
    """The groups of many mutations, one run per file: its -k expressions joined by `or` (none: the whole file)."""
    by_file: dict = {}
    for group in groups(args):
        exprs = by_file.setdefault(group[0], set())
        if exprs is not None:
            by_file[group[0]] = exprs | {group[2]} if len(group) == 3 else None
    return [[f] + (["-k", " or ".join(f"({e})" for e in sorted(k))] if k else []) for f, k in by_file.items()]


def run_tests(copy: Path, args: tuple, runs: list | None = None) -> tuple[int, float]:
    """Run the tests in the copy, importing its bookgen (not the installed one)."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    for group in runs or groups(args):
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-n", "2", "-p", "no:cacheprovider",
                            *group], cwd=copy, env=env, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            return r.returncode, time.monotonic() - start
    return 0, time.monotonic() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only the mutations whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if args.k.lower() in m.name.lower()]
    if args.list:
        for m in chosen:
            print(f"{m.name}  [{m.file}]  tests: {' '.join(m.tests)}")
        return 0
    with tempfile.TemporaryDirectory(prefix="bookgen-mutate-") as tmp:
        copy = Path(tmp)
        copy_project(copy)
        for m in chosen:  # each mutation must apply to exactly one place
            count = (copy / m.file).read_text(encoding="utf-8").count(m.old)
            if count != 1:
                print(f"error: mutation {m.name!r}: {m.file} has its text {count} times, not once", file=sys.stderr)
                return 2
        every = tuple(arg for m in chosen for arg in m.tests)
        status, seconds = run_tests(copy, every, merged(every))
        if status != 0:
            print(f"error: the unmutated copy fails its tests (exit {status}): fix them first", file=sys.stderr)
            return 2
        print(f"unmutated: the selected tests pass ({seconds:.0f} s)", flush=True)
        caught = 0
        for m in chosen:
            path = copy / m.file
            original = path.read_text(encoding="utf-8")
            path.write_text(original.replace(m.old, m.new, 1), encoding="utf-8")
            try:
                status, seconds = run_tests(copy, m.tests)
            finally:
                path.write_text(original, encoding="utf-8")
            caught += status != 0
            print(f"{'caught' if status else 'MISSED'}  {m.name}  ({seconds:.0f} s)", flush=True)
        print(f"caught {caught}/{len(chosen)}")
        return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())

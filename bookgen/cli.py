"""Command line: parse arguments, run one build (or watch and rebuild), map a BookError to the exit status.

Kept light: `import bookgen.cli` and `--help` import nothing heavy (WeasyPrint is imported by the build)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import units
from .errors import BookError, command


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=command(), description="Build a book folder into a printable PDF and an EPUB 3.",
                                epilog=f"To start a new book: {command()} new DIR (a book.toml and two chapters "
                                       "that build as they are).")
    p.add_argument("--book", type=Path, nargs="+", default=[Path("book")], metavar="DIR",
                   help="the book folder (default: book/), an mdBook project, or a Pandoc book's Markdown files "
                        "in reading order (book.md, or ch1.md ch2.md ...)")
    p.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR", help="where to write (default: dist/)")
    p.add_argument("--format", default="pdf,epub", metavar="LIST", help="pdf, epub or pdf,epub (default: both)")
    p.add_argument("--page-size", metavar="SIZE", help="A5, A4, Letter, Trade (6x9in) or 'W H' like '140mm 216mm'")
    p.add_argument("--bleed", metavar="LENGTH", help="bleed for a print shop, like 3mm")
    p.add_argument("--crop-marks", action="store_true", help="draw crop marks (for a print shop)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--check", action="store_true",
                   help="check what was written: EPUBCheck on the EPUB; fonts, tags and outline of the PDF")
    p.add_argument("--watch", action="store_true",
                   help="rebuild whenever a file in the book, templates/ or styles/ changes (Ctrl-C stops)")
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed since the last build")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="processes that lay out chapters at once (default: one per core; 0: the book as one "
                        "document, in this process)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors and warnings")
    p.add_argument("--verbose", "-v", action="store_true", help="print more about each stage")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return p


def book_and_files(paths) -> tuple:
    """(the book folder, the Markdown files of a Pandoc book or ()) from --book; (None, ()) when it is neither."""
    import os

    from .pandoc import is_files
    if len(paths) == 1 and not is_files(paths):
        return paths[0], ()
    if not is_files(paths):
        return None, ()
    folder = Path(os.path.commonpath([str(Path(p).resolve().parent) for p in paths]))
    return folder, tuple(Path(p) for p in paths)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "new":
        from .scaffold import main as new_main
        return new_main(argv[1:])
    args = parser().parse_args(argv)
    formats = tuple(f.strip().lower() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in ("pdf", "epub", "print", "cover", "site")]
    if bad or not formats:
        print(f"error: --format {args.format}: formats are pdf, epub, print, cover and site", file=sys.stderr)
        return 2
    if args.bleed and not units.is_length(args.bleed):
        print(f"error: --bleed {args.bleed}: give a length like 3mm or 0.125in", file=sys.stderr)
        return 2
    if args.bleed and units.mm(args.bleed) > MAX_BLEED_MM:
        print(f"error: --bleed {args.bleed}: at most {MAX_BLEED_MM}mm (print shops ask for 3mm or 0.125in)",
              file=sys.stderr)
        return 2
    if args.page_size is not None:
        from .book_toml import parse_page_size
        if parse_page_size(args.page_size) is None:
            print(f"error: --page-size {args.page_size}: give A5, A4, Letter, Trade or a size like '140mm 216mm' "
                  "(the shorter side 60mm at least)", file=sys.stderr)
            return 2
    if args.jobs is not None and args.jobs < 0:
        print(f"error: --jobs {args.jobs}: give 0 or more processes", file=sys.stderr)
        return 2
    from .build import BuildOptions
    book, files = book_and_files(args.book)
    if book is None:
        print(f"error: --book {' '.join(map(str, args.book))}: give one book folder, or Markdown files "
              "(a Pandoc book)", file=sys.stderr)
        return 2

    options = BuildOptions(book=book, files=files, out=args.out, formats=formats, page_size=args.page_size,
                           bleed=args.bleed, crop_marks=args.crop_marks, strict=args.strict,
                           check=args.check, force=args.force, jobs=args.jobs)
    level = 0 if args.quiet else 2 if args.verbose else 1
    if args.watch:
        from .watch import watch
        return watch(options, lambda: build_once(options, args, level, watching=True), level)
    from .processes import raise_if_interrupted, remembered_interrupts
    try:
        with remembered_interrupts():
            status = build_once(options, args, level)
            raise_if_interrupted()  # one Python dropped after the last step: said, not lost
            return status
    except KeyboardInterrupt:
        from .build import WRITTEN
        if WRITTEN:  # the Ctrl-C came after the files were in place (while the cache record or processes ended)
            print(f"build interrupted after it wrote {_written()} (the new files are complete)", file=sys.stderr)
        else:
            print("build interrupted; nothing was written", file=sys.stderr)
        return 130


def run() -> None:
    """The command (build.py, `bookgen`, `python -m bookgen`): main(), then no Ctrl-C while the interpreter shuts
    down (the build is over and has said so; a late SIGINT would end it with status -2 after all was written)."""
    import signal
    # multiprocessing's resource tracker (a process of its own) unlinks the semaphores an interrupted build leaves,
    # and would say so in a Python warning after the build's own last line: it is taken care of, so not said.
    # Child interpreters take their -W options from sys.warnoptions.
    sys.warnoptions.append("ignore:resource_tracker:UserWarning")
    status = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit(status)


def _exit(status: int) -> None:
    """End the process once the exit handlers have run (multiprocessing's, the threads' joins), without tearing
    down every module WeasyPrint and pikepdf imported, one object at a time: 0.05-0.1 s of a short book's build.
    Everything is written and closed by now. Under a profiler or tracer (cProfile, coverage), the usual exit:
    they write their results while the interpreter ends."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(status)
    import atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def build_once(options, args, level: int, watching: bool = False) -> int:
    """One build with its report: 0 when written, 1 when the book has errors. Ctrl-C propagates."""
    from .build import build

    say = (lambda *a: None) if level == 0 else (lambda *a: print(*a, flush=True))
    # while watching, stage lines only with --verbose: each build is one line
    progress = Progress(level if not watching else (2 if level == 2 else 0))
    start = time.perf_counter()
    try:
        try:
            result = build(options, progress=progress.start, done=progress.done)
        finally:
            progress.clear()
            if not watching:
                from .layout_workers import stop_fork_server
                stop_fork_server()
    except BookError as e:
        if args.debug:
            raise
        for problem in e.problems:
            print(problem, file=sys.stderr)
        n = len([p for p in e.problems if not p.warning])
        summary = f"build failed: {n} error{'s' if n != 1 else ''}; {_what_was_written()}"
        if watching:
            print(f"{time.strftime('%H:%M:%S')} {summary}; watching for changes", flush=True)
        else:
            print(summary, file=sys.stderr)
        return 1
    except Exception as e:  # a bug, or something unforeseen in the input: a message, not a traceback
        if args.debug:
            raise
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        print(f"build failed: an unexpected error; {_what_was_written()} (run with --debug to see where)",
              file=sys.stderr)
        return 1
    for w in result.warnings:
        print(w, file=sys.stderr)
    total = time.perf_counter() - start
    if result.cached:
        names = ", ".join(str(p) for p in result.outputs.values())
        say(f"up to date: {names} (nothing changed since the last build; --force rebuilds)")
    elif watching:
        if level:
            print(f"{time.strftime('%H:%M:%S')} {one_line(result, total)}", flush=True)
        return 0
    else:
        for fmt, path in result.outputs.items():
            size = path.stat().st_size
            extra = f", {result.pages} pages" if fmt == "pdf" else ""
            say(f"wrote {path} ({size / 1024:.0f} KiB{extra})")
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
        say(f"done in {total:.2f}s ({stages})")
    if result.checks:
        from .check import verdict
        ok = all(c.ok for c in result.checks)
        if not (ok and args.quiet):
            print(verdict(result.checks), file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    return 0


def _what_was_written() -> str:
    """The truth about the outputs when a build fails: usually none was touched; after both were put in place (a
    full disk while the download page was written...), which ones are new, and whole."""
    from .build import WRITTEN
    return f"it had written {_written()} (complete, from this build)" if WRITTEN else "nothing was written"


def _written() -> str:
    """The outputs this build has put in place, as a list for a message."""
    from .build import WRITTEN
    return ", ".join(str(p) for p in WRITTEN.values())


def one_line(result, total: float) -> str:
    """`built in 1.36s: pdf 1.09s (9 pages, 75 KiB), epub 0.16s (47 KiB)`: each edition with its own stages."""
    t = result.timings
    parts = []
    for fmt, path in result.outputs.items():
        kib = f"{path.stat().st_size / 1024:.0f} KiB"
        if fmt == "pdf":
            parts.append(f"pdf {t.get('layout', 0) + t.get('pdf', 0):.2f}s ({result.pages} pages, {kib})")
        else:
            parts.append(f"epub {t.get('page map', 0) + t.get('epub', 0):.2f}s ({kib})")
    warned = f", {len(result.warnings)} warnings" if result.warnings else ""
    return f"built in {total:.2f}s: " + ", ".join(parts) + warned


class Progress:
    """Stage lines: on a terminal the running stage shows and is replaced by its time; in a log (not a
    terminal) one line per finished stage. Level 0: nothing, 1: stage and time, 2: with details."""

    def __init__(self, level: int, stream=None):
        self.level = level
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.pending = False

    def start(self, stage):
        if self.level and self.tty:
            print(f"  {stage}...", end="\r", file=self.stream, flush=True)
            self.pending = True

    def done(self, stage, seconds, detail=""):
        if self.level:
            line = f"  {stage:<9}{seconds:6.2f}s"
            if self.level >= 2 and detail:
                line += f"  {detail}"
            print(line, file=self.stream, flush=True)
            self.pending = False

    def clear(self):
        if self.pending:
            print(" " * 40, end="\r", file=self.stream, flush=True)


MAX_BLEED_MM = 25

"""Command line: parse arguments, run one build, map a BookError to the exit status."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import BookError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="build.py", description="Build a book folder into a printable PDF and an EPUB 3.")
    p.add_argument("--book", type=Path, default=Path("book"), metavar="DIR", help="the book folder (default: book/)")
    p.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR", help="where to write (default: dist/)")
    p.add_argument("--format", default="pdf,epub", metavar="LIST", help="pdf, epub or pdf,epub (default: both)")
    p.add_argument("--page-size", metavar="SIZE", help="A5, A4, Letter, Trade (6x9in) or 'W H' like '140mm 216mm'")
    p.add_argument("--bleed", metavar="LENGTH", help="bleed for a print shop, like 3mm")
    p.add_argument("--crop-marks", action="store_true", help="draw crop marks (for a print shop)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed since the last build")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    formats = tuple(f.strip().lower() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in ("pdf", "epub")]
    if bad or not formats:
        print(f"error: --format {args.format}: formats are pdf and epub", file=sys.stderr)
        return 2
    if args.bleed and not _is_length(args.bleed):
        print(f"error: --bleed {args.bleed}: give a length like 3mm or 0.125in", file=sys.stderr)
        return 2
    from .build import BuildOptions, build

    options = BuildOptions(book=args.book, out=args.out, formats=formats, page_size=args.page_size,
                           bleed=args.bleed, crop_marks=args.crop_marks, strict=args.strict)
    options.force = args.force
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    start = time.perf_counter()
    try:
        result = build(options, progress=lambda stage: say(f"  {stage}..."))
    except BookError as e:
        if args.debug:
            raise
        for problem in e.problems:
            print(problem, file=sys.stderr)
        n = len([p for p in e.problems if not p.warning])
        print(f"build failed: {n} error{'s' if n != 1 else ''}; nothing was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("build interrupted; nothing was written", file=sys.stderr)
        return 130
    for w in result.warnings:
        print(w, file=sys.stderr)
    if getattr(result, "cached", False):
        names = ", ".join(str(p) for p in result.outputs.values())
        say(f"up to date: {names} (nothing changed since the last build; --force rebuilds)")
        return 0
    total = time.perf_counter() - start
    for fmt, path in result.outputs.items():
        size = path.stat().st_size
        extra = f", {result.pages} pages" if fmt == "pdf" else ""
        say(f"wrote {path} ({size / 1024:.0f} KiB{extra})")
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    say(f"done in {total:.2f}s ({stages})")
    return 0


def _is_length(value: str) -> bool:
    import re
    return bool(re.fullmatch(r"\d+(\.\d+)?(mm|cm|in|pt|px)", value.strip()))

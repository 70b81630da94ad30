"""Both cores: what laying out the chapters in parallel processes would give, measured (not yet a build mode).

Every chapter opens on a right-hand page, so a book splits into groups of chapters that WeasyPrint can lay out
independently: the page breaks inside a group do not depend on the pages before it. This module splits a book
into N groups of about equal length, lays each group out (and writes its PDF) in its own process, and reports
the wall time and the peak memory of each process, against the same work in one process:

    python -m bookgen.parallel BOOK_DIR [N [GROUPS]]     # N processes, GROUPS groups; prints one JSON line

Measured (2 processes, 8 groups; bench/results.json and a rerun on a quiet machine): the 100k-word book in
7.6 s = 0.53x the floor (WeasyPrint alone, 14.3 s), 97 MB in the largest process (floor: 203 MB); the 500k-word
book in 0.54x the floor on a busy machine, 183 MB (floor: 727 MB). Memory follows the largest group, not the book.

What stands between this and a build mode (`--jobs 2`), in the order a design would meet them:
- Joining. WeasyPrint's `Document` (boxes holding Pango objects) cannot leave its process, so the groups can
  only be joined as PDF files; a join must then merge, besides the pages: the tag trees (StructTreeRoot kids,
  ParentTree with every page's /StructParents renumbered; the build writes PDF/UA-1), the outlines, the named
  destinations, and the page labels; fonts are embedded once per group (a bigger file).
- Links between groups: WeasyPrint drops a link whose target is in another group's document; they would have to
  be kept as named destinations and resolved in the join.
- Folios: a group's first folio is the page count of the groups before it, known only after they are laid out,
  and CSS draws it during the layout. Speculate with the previous build's page count per chapter (kept next to
  the cache record), give each group `counter-reset: page N` on its first page, check after the layout, and lay
  out again the groups whose start moved (after a one-chapter edit, only the groups after it, if the edited
  chapter's page count changed).
- Running heads seeded by the front matter (`string(book-title)` is set on the half-title page): each group
  needs the front matter's named strings without its pages.
- The contents page needs every chapter's folio (`target-counter`): lay out the front matter last.
"""
from __future__ import annotations

import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path


def split_chapters(chapters, n: int) -> list[list]:
    """Consecutive groups of about equal text length (a chapter is never split)."""
    sizes = [sum(len(str(p)) for p in c.pieces) + sum(len(str(x.html)) for x in c.notes) for c in chapters]
    total = sum(sizes)
    groups, current, acc = [], [], 0
    for chapter, size in zip(chapters, sizes):
        current.append(chapter)
        acc += size
        if len(groups) < n - 1 and acc >= total * (len(groups) + 1) / n:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _layout(args):
    """In a worker: lay out one group's HTML and write its PDF; return pages, seconds and peak memory."""
    html_text, base_url, sheets, page_css = args
    t = time.perf_counter()
    from weasyprint import CSS, HTML
    css = [CSS(filename=str(s)) for s in sheets] + [CSS(string=page_css)]
    doc = HTML(string=html_text, base_url=base_url).render(stylesheets=css, pdf_variant="pdf/ua-1")
    t_layout = time.perf_counter() - t
    from .speedups import fast_page_references
    with fast_page_references():
        pdf = doc.write_pdf(pdf_variant="pdf/ua-1")
    return {"pages": len(doc.pages), "layout_s": t_layout, "total_s": time.perf_counter() - t,
            "bytes": len(pdf), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def group_jobs(book, n: int):
    from .write_pdf import PrintOptions, print_html, stylesheets
    body = [c for c in book.chapters if c.matter == "body"]
    front = [c for c in book.chapters if c.matter == "front"]
    back = [c for c in book.chapters if c.matter == "back"]
    groups = split_chapters(body, n)
    groups[0] = front + groups[0]
    groups[-1] = groups[-1] + back
    jobs = []
    for g in groups:
        part = dataclasses.replace(book, chapters=tuple(g))
        html, page_css = print_html(part, PrintOptions(), fonts="")
        jobs.append((html, str(book.root) + os.sep, [str(s) for s in stylesheets(book)], page_css))
    return jobs


def measure(book_dir: Path, n: int, groups: int | None = None) -> dict:
    """Lay out `groups` groups of chapters (default: n) in `n` worker processes."""
    import multiprocessing

    from .load_book import load_book
    book = load_book(book_dir)
    jobs = group_jobs(book, groups or n)
    ctx = multiprocessing.get_context("spawn")
    t = time.perf_counter()
    with ctx.Pool(n) as pool:
        parts = pool.map(_layout, jobs, chunksize=1)
    wall = time.perf_counter() - t
    return {"processes": n, "groups": len(jobs), "wall_s": wall, "pages": sum(p["pages"] for p in parts), "parts": parts,
            "peak_mb_largest": max(p["peak_mb"] for p in parts)}


if __name__ == "__main__":
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    groups = int(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(measure(Path(sys.argv[1]), n, groups)))

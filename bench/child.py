"""What the benchmark runs in a fresh process, one job per process, printing one JSON line.

    python -m bench.child build BOOK OUT [--format pdf,epub] [--force] [--jobs N]
    python -m bench.child print-html BOOK DIR     (our print HTML and stylesheets, for the floor)
    python -m bench.child floor DIR OUT.pdf       (WeasyPrint alone on that HTML: the floor)
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def build(argv):
    from bookgen.build import BuildOptions, build as run
    book, out = Path(argv[0]), Path(argv[1])
    opts = {"format": "pdf,epub", "force": False}
    rest = argv[2:]
    while rest:
        flag = rest.pop(0)
        if flag == "--force":
            opts["force"] = True
        else:
            opts[flag[2:]] = rest.pop(0)
    options = BuildOptions(book=book, out=out, formats=tuple(opts["format"].split(",")))
    options.force = opts["force"]
    if "jobs" in opts:
        options.jobs = int(opts["jobs"])
    from bookgen.layout_workers import stop_fork_server
    try:
        result = run(options)
    finally:
        stop_fork_server()  # its layout processes then count in this process's peak memory and CPU time
    return {"pages": result.pages, "timings": result.timings, "cached": getattr(result, "cached", False),
            # notes WeasyPrint printed a page after their call (a warning; WeasyPrint #1564)
            "notes_on_wrong_page": sum("is printed on page" in str(w) for w in result.warnings),
            "outputs": {k: str(v) for k, v in result.outputs.items()}, "layout": result.layout}


def print_html(argv):
    from bookgen.load_book import load_book
    from bookgen.write_pdf import PrintOptions, print_html, stylesheets
    book = load_book(Path(argv[0]))
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    html, page_css = print_html(book, PrintOptions(), fonts="")
    (out / "book.html").write_text(html, encoding="utf-8")
    sheets = [str(p) for p in stylesheets(book)]
    (out / "page.css").write_text(page_css, encoding="utf-8")
    (out / "job.json").write_text(json.dumps({"base_url": str(book.root) + "/", "stylesheets": sheets + [
        str(out / "page.css")]}), encoding="utf-8")
    return {"html_bytes": len(html)}


def floor(argv):
    """WeasyPrint alone: parse our print HTML, lay it out, write the PDF (what a build cannot go below)."""
    job = json.loads((Path(argv[0]) / "job.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    from weasyprint import CSS, HTML
    t1 = time.perf_counter()
    html = HTML(string=(Path(argv[0]) / "book.html").read_text(encoding="utf-8"), base_url=job["base_url"])
    doc = html.render(stylesheets=[CSS(filename=s) for s in job["stylesheets"]], pdf_variant="pdf/ua-1")
    t2 = time.perf_counter()
    doc.write_pdf(argv[1], pdf_variant="pdf/ua-1")
    t3 = time.perf_counter()
    return {"pages": len(doc.pages), "timings": {"import": t1 - t0, "layout": t2 - t1, "pdf": t3 - t2}}


def main():
    mode, argv = sys.argv[1], sys.argv[2:]
    result = {"build": build, "print-html": print_html, "floor": floor}[mode](argv)
    print(json.dumps(result), flush=True)
    if mode == "build":  # ends as the command does (bookgen/cli.py's _exit: no teardown of every module)
        from bookgen.cli import _exit
        _exit(0)


if __name__ == "__main__":
    main()

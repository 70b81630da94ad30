"""The benchmark: build seeded books of about 10k, 100k and 500k words and measure, each job in a fresh process,
the full build against WeasyPrint alone on our print HTML (the floor), peak memory, pages per second, the share of
each stage, and the rebuilds (nothing changed, one chapter edited, `--format epub`).

    python -m bench                       # all three sizes; prints a table, writes bench/results.json
    python -m bench --sizes 10k --jobs 1   # the smallest book only, its full build in one process only
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .genbook import SIZES, generate

ROOT = Path(__file__).resolve().parent.parent


def measure(cmd: list, cwd=ROOT, env=None) -> dict:
    """Run `cmd`; wall time and the peak RSS of the largest process among it and its children (wait4)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # read the pipes while waiting, without letting Popen reap the child (wait4 needs to)
    import threading
    chunks = {"out": b"", "err": b""}

    def drain(name, stream):
        chunks[name] = stream.read()
    threads = [threading.Thread(target=drain, args=("out", p.stdout)),
               threading.Thread(target=drain, args=("err", p.stderr))]
    for th in threads:
        th.start()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    for th in threads:
        th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out = chunks["out"].decode(errors="replace")
    # CPU time (user + system, of the process and its children): steadier than wall time on a busy machine
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
              "rc": p.returncode, "load": os.getloadavg()[0]}
    if p.returncode != 0:
        result["stderr"] = chunks["err"].decode(errors="replace")[-2000:]
    last = out.strip().splitlines()[-1] if out.strip() else ""
    if last.startswith("{"):
        result.update(json.loads(last))
    return result


def child(*args) -> list:
    return [sys.executable, "-m", "bench.child", *map(str, args)]


def edit_chapter(book: Path, n: int) -> Path:
    """Add one sentence to a chapter in the middle of the book (as an author does between builds)."""
    chapters = sorted((book / "chapters").glob("chapter*.md"))
    path = chapters[len(chapters) // 2]
    text = path.read_text(encoding="utf-8")
    marker = "\n\n[^n1]:" if "\n\n[^n1]:" in text else None
    line = f"\n\nThe author changed this chapter between two builds (edit {n}).\n"
    text = text.replace(marker, line + marker, 1) if marker else text + line
    path.write_text(text, encoding="utf-8")
    return path


def shift_chapter(book: Path) -> Path:
    """Add about three pages to a chapter a quarter into the book: every chapter after it moves (new folios)."""
    chapters = sorted((book / "chapters").glob("chapter*.md"))
    path = chapters[len(chapters) // 4]
    text = path.read_text(encoding="utf-8")
    added = "\n\n" + "\n\n".join(["The author added this paragraph between two builds, and the pages after it "
                                     "moved: every chapter that follows now opens on another folio. " * 4] * 12)
    marker = "\n\n[^n1]:" if "\n\n[^n1]:" in text else None
    text = text.replace(marker, added + marker, 1) if marker else text + added + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def bench_size(size: str, work: Path, jobs: list, pandoc: bool, log) -> dict:
    words = SIZES[size]
    book, floor_dir, out = work / f"book-{size}", work / f"floor-{size}", work / f"out-{size}"
    for d in (book, floor_dir, out):
        shutil.rmtree(d, ignore_errors=True)
    row = {"size": size, "book": generate(book, words)}
    env = {"SOURCE_DATE_EPOCH": "1767225600"}

    log(f"[{size}] print HTML for the floor")
    prep = measure(child("print-html", book, floor_dir), env=env)
    if prep["rc"]:
        raise SystemExit(prep["stderr"])
    log(f"[{size}] floor: WeasyPrint alone")
    row["floor"] = measure(child("floor", floor_dir, floor_dir / "floor.pdf"), env=env)
    # full builds, each into an empty folder: --jobs 0 (one document), 1 (groups, one process), 2 (two)
    for n in jobs:
        target = work / f"out-{size}-jobs{n}"
        shutil.rmtree(target, ignore_errors=True)
        log(f"[{size}] full build, --jobs {n}")
        row[f"build_j{n}"] = measure(child("build", book, target, "--jobs", n), env=env)
    # the rebuilds, from the build of the last --jobs (default: one process per core)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(work / f"out-{size}-jobs{jobs[-1]}", out)
    log(f"[{size}] rebuild, nothing changed (the CLI)")
    before = _stamps(out)
    row["rebuild_nochange"] = measure([sys.executable, str(ROOT / "build.py"), "--book", str(book), "--out",
                                       str(out), "--quiet"], env=env)
    row["rebuild_nochange"]["cached"] = bool(before) and _stamps(out) == before
    log(f"[{size}] python -c pass (the interpreter's own start, for comparison)")
    row["python_start"] = measure([sys.executable, "-c", "pass"])
    edit_chapter(book, 1)
    log(f"[{size}] rebuild after editing one chapter")
    row["rebuild_edit"] = measure(child("build", book, out, "--jobs", jobs[-1]), env=env)
    before = _pages(out)
    shift_chapter(book)
    log(f"[{size}] rebuild after an edit that moves the pages after it")
    row["rebuild_shift"] = measure(child("build", book, out, "--jobs", jobs[-1]), env=env)
    row["rebuild_shift"]["pages_added"] = (row["rebuild_shift"].get("pages") or 0) - before
    edit_chapter(book, 2)
    log(f"[{size}] --format epub rebuild after editing one chapter")
    row["rebuild_epub"] = measure(child("build", book, out, "--format", "epub", "--jobs", jobs[-1]), env=env)
    if pandoc:
        row["pandoc"] = pandoc_runs(book, work / f"pandoc-{size}", log, size)
    typst = typst_run(book, work / f"typst-{size}", log, size)
    if typst:
        row["typst"] = typst
    return row


def default_book(work: Path, runs: int, log) -> dict:
    """The command on the project's own book (`python build.py`, PDF and EPUB) into an empty folder, `runs` times:
    the median, fastest and slowest wall time, and the peak memory."""
    log(f"[default book] python build.py into an empty folder, {runs} times")
    out, results = work / "out-default", []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        results.append(measure([sys.executable, str(ROOT / "build.py"), "--out", str(out), "--quiet"],
                               env={"SOURCE_DATE_EPOCH": "1767225600"}))
    walls = sorted(r["wall"] for r in results)
    return {"runs": runs, "median_s": walls[len(walls) // 2], "min_s": walls[0], "max_s": walls[-1],
            "cpu_s": sorted(r["cpu"] for r in results)[len(results) // 2], "peak_mb": max(r["peak_mb"] for r in results),
            "pages": _pages(out), "rc": max(r["rc"] for r in results)}


def pandoc_binary() -> str | None:
    """A pandoc that writes Typst (3.1.2 or later): the one on PATH, or the one PyPI's pypandoc_binary ships."""
    candidates = [shutil.which("pandoc")]
    try:
        import pypandoc
        candidates.append(pypandoc.get_pandoc_path())
    except (ImportError, OSError):
        pass
    for path in filter(None, candidates):
        try:
            version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.split()[1]
        except (OSError, IndexError):
            continue
        if tuple(int(x) for x in version.split(".")[:3] if x.isdigit()) >= (3, 1, 2):
            return path
    return None


def typst_run(book: Path, out: Path, log, size) -> dict | None:
    """Typst (PyPI `typst`) compiling Pandoc's `-t typst` conversion of the same Markdown, in a fresh process,
    for reference: what a speed-minded author would use instead. None when typst or such a pandoc is missing."""
    import importlib.util
    import tomllib
    pandoc = pandoc_binary()
    if pandoc is None or importlib.util.find_spec("typst") is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    conf = tomllib.loads((book / "book.toml").read_text(encoding="utf-8"))
    files = [str((book / c).relative_to(book / "chapters")) for c in conf["chapters"]]
    source = book / "chapters" / "bench-typst.typ"  # beside the chapters: image paths resolve from there
    log(f"[{size}] pandoc -t typst (not timed), then typst compile")
    convert = subprocess.run([pandoc, "-s", "-t", "typst", "-o", str(source), *files], cwd=book / "chapters",
                             capture_output=True, text=True)
    if convert.returncode != 0:
        return {"rc": convert.returncode, "stderr": convert.stderr[-2000:], "wall": None}
    code = (f"import typst; typst.compile({str(source)!r}, output={str(out / 'book.pdf')!r}, "
            f"root={str(book.resolve().anchor)!r})")
    result = measure([sys.executable, "-c", code], cwd=book / "chapters")
    source.unlink()
    if result["rc"] == 0:
        from pypdf import PdfReader
        result["pages"] = len(PdfReader(out / "book.pdf").pages)
    return result


def _pages(out: Path) -> int:
    from pypdf import PdfReader
    pdfs = sorted(out.glob("*.pdf"))
    return len(PdfReader(pdfs[0]).pages) if pdfs else 0


def _stamps(out: Path) -> dict:
    """Modification times of the outputs: a rebuild that kept them leaves these as they were."""
    return {p.name: p.stat().st_mtime_ns for p in sorted(out.glob("*")) if p.suffix in (".pdf", ".epub")}


def pandoc_runs(book: Path, out: Path, log, size) -> dict:
    """pandoc on the same Markdown (run in the chapters folder, so that image paths resolve), for reference."""
    import tomllib
    out.mkdir(parents=True, exist_ok=True)
    conf = tomllib.loads((book / "book.toml").read_text(encoding="utf-8"))
    files = [str((book / c).relative_to(book / "chapters")) for c in conf["chapters"]]
    res = {}
    log(f"[{size}] pandoc EPUB")
    res["epub"] = measure(["pandoc", "-o", str(out / "book.epub"), *files], cwd=book / "chapters")
    if shutil.which("weasyprint"):
        log(f"[{size}] pandoc --pdf-engine=weasyprint")
        res["pdf_weasyprint"] = measure(["pandoc", "--pdf-engine=weasyprint", "-o", str(out / "book.pdf"), *files],
                                        cwd=book / "chapters")
    return res


def summary(row: dict) -> dict:
    floor = row["floor"]
    s = {"size": row["size"], "words": row["book"]["words"], "chapters": row["book"]["chapters"],
         "pages": floor.get("pages"), "floor_s": floor["wall"], "floor_cpu_s": floor["cpu"],
         "floor_mb": floor["peak_mb"], "load": max(v.get("load", 0) for v in row.values() if isinstance(v, dict))}
    s["floor_ms_per_page"] = 1000 * floor["wall"] / floor["pages"] if floor.get("pages") else 0
    for key in [k for k in row if k.startswith("build_j")]:
        b, j = row[key], key[len("build_"):]
        if b["rc"]:
            s[f"{j}_error"] = b.get("stderr", "")[-300:]
            continue
        pages = b.get("pages") or 0
        s.update({f"{j}_s": b["wall"], f"{j}_ratio": b["wall"] / floor["wall"], f"{j}_cpu_s": b["cpu"],
                  f"{j}_mb": b["peak_mb"], f"{j}_mb_ratio": b["peak_mb"] / floor["peak_mb"],
                  f"{j}_ms_per_page": 1000 * b["wall"] / pages if pages else 0,
                  f"{j}_pages": pages, f"{j}_notes_on_wrong_page": b.get("notes_on_wrong_page"),
                  f"{j}_stage_s": {k: round(v, 3) for k, v in b.get("timings", {}).items()}})
        layout = b.get("layout") or {}
        if "seconds" in layout:
            # the layout stage's own parts, summed over the processes (CPU-like seconds)
            parts = {"read": b["timings"].get("read", 0), **layout["seconds"], "epub": b["timings"].get("epub", 0)}
            parts.pop("wait", None)
            total = sum(parts.values())
            s[f"{j}_shares"] = {k: round(v / total, 3) for k, v in parts.items()} if total else {}
            s[f"{j}_groups"] = layout.get("groups")
    for k in ("rebuild_nochange", "rebuild_edit", "rebuild_shift", "rebuild_epub"):
        s[f"{k}_s"] = row[k]["wall"]
        s[f"{k}_mb"] = row[k]["peak_mb"]
        s[f"{k}_laid_out"] = (row[k].get("layout") or {}).get("laid_out")
        s[f"{k}_refinished"] = (row[k].get("layout") or {}).get("refinished")
    s["rebuild_shift_pages_added"] = row["rebuild_shift"].get("pages_added")
    s["rebuild_nochange_cached"] = row["rebuild_nochange"].get("cached")
    s["python_start_s"] = row["python_start"]["wall"]
    if "pandoc" in row:
        for k, v in row["pandoc"].items():
            s[f"pandoc_{k}_s"] = v["wall"] if v["rc"] == 0 else None
    if "typst" in row:
        t = row["typst"]
        s["typst_s"] = t["wall"] if t.get("rc") == 0 else None
        s["typst_pages"] = t.get("pages")
        if s["typst_s"]:
            s["typst_ratio"] = s["typst_s"] / floor["wall"]
            s["rebuild_edit_vs_typst"] = row["rebuild_edit"]["wall"] / s["typst_s"]
            s["rebuild_shift_vs_typst"] = row["rebuild_shift"]["wall"] / s["typst_s"]
    return s


def table(rows: list) -> str:
    jobs = sorted({k[:-2] for r in rows for k in r if k.startswith("j") and k.endswith("_s") and k[1:-2].isdigit()})
    cols = [("size", "{}"), ("words", "{:,}"), ("pages", "{}"), ("floor_s", "{:.2f}"), ("floor_mb", "{:.0f}"),
            ("floor_ms_per_page", "{:.0f}")]
    if any(r.get("typst_s") for r in rows):  # the reference beside the floor
        cols += [("typst_s", "{:.2f}"), ("typst_pages", "{}")]
    for j in jobs:
        cols += [(f"{j}_s", "{:.2f}"), (f"{j}_ratio", "{:.2f}x"), (f"{j}_mb", "{:.0f}"), (f"{j}_mb_ratio", "{:.2f}x"),
                 (f"{j}_ms_per_page", "{:.0f}")]
    cols += [("rebuild_nochange_s", "{:.2f}"), ("rebuild_edit_s", "{:.2f}"), ("rebuild_edit_laid_out", "{}"),
             ("rebuild_shift_s", "{:.2f}"), ("rebuild_shift_pages_added", "{:+}"), ("rebuild_shift_laid_out", "{}"),
             ("rebuild_shift_refinished", "{}"), ("rebuild_epub_s", "{:.2f}")]
    if any(r.get("rebuild_edit_vs_typst") for r in rows):
        cols += [("rebuild_edit_vs_typst", "{:.2f}x"), ("rebuild_shift_vs_typst", "{:.2f}x")]
    head = [c for c, _ in cols]
    lines = [head] + [[(f.format(r[c]) if r.get(c) is not None else "-") for c, f in cols] for r in rows]
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    text = "\n".join("  ".join(v.rjust(w) for v, w in zip(l, widths)) for l in lines)
    text += ("\n(_s: wall seconds; _mb: peak RSS of the largest process; ratio: to the floor (WeasyPrint alone); "
             "j0: the book as one document, j1: chapter groups in one process, j2: in two; rebuild_edit_laid_out: "
             "groups laid out again, of all groups and the front matter; rebuild_shift: after adding about three pages "
             "a quarter into the book (_refinished: groups after it whose folios only were drawn again); typst: Typst compiling Pandoc's -t typst "
             "conversion of the same Markdown, where the typst package and pandoc 3.1.2+ are installed)")
    for r in rows:
        for j in jobs:
            if r.get(f"{j}_shares"):
                text += f"\n{r['size']} {j} time shares: " + ", ".join(
                    f"{k} {v:.0%}" for k, v in r[f"{j}_shares"].items())
            if r.get(f"{j}_error"):
                text += f"\n{r['size']} {j} build FAILED: {r[f'{j}_error']}"
        if any(k.startswith("pandoc_") for k in r):
            text += f"\n{r['size']} pandoc: " + ", ".join(
                f"{k[7:-2]} {v:.2f}s" for k, v in r.items() if k.startswith("pandoc_") and v is not None)
    load = max(r.get("load", 0) for r in rows)
    if load > (os.cpu_count() or 1):
        text += f"\nnote: the machine was busy (load average up to {load:.1f}): wall times are noisy"
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10k,100k,500k", help="comma-separated: 10k, 100k, 500k")
    p.add_argument("--jobs", default="0,1,2", metavar="LIST",
                   help="full builds to time, by --jobs: 0 the book as one document, 1 chapter groups in one "
                        "process, 2 in two (default: 0,1,2; the rebuilds use the last)")
    p.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "bookgen-bench",
                   help="where the books and outputs go")
    p.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json", help="where to write the results")
    p.add_argument("--no-pandoc", action="store_true", help="skip the pandoc reference even if pandoc is installed")
    p.add_argument("--default-runs", type=int, default=7, metavar="N",
                   help="builds of the project's own book (book/) to take the median of (default: 7)")
    p.add_argument("--quiet", "-q", action="store_true")
    args = p.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if not sizes or any(s not in SIZES for s in sizes):
        p.error(f"--sizes: choose from {', '.join(SIZES)}")
    pandoc = bool(shutil.which("pandoc")) and not args.no_pandoc
    try:
        jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    except ValueError:
        jobs = []
    if not jobs or any(j < 0 for j in jobs):
        p.error("--jobs: a comma-separated list of 0 or more, like 0,1,2")
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    args.work.mkdir(parents=True, exist_ok=True)
    rows, raw = [], []
    for size in sizes:
        row = bench_size(size, args.work, jobs, pandoc, log)
        raw.append(row)
        rows.append(summary(row))
    default = default_book(args.work, max(1, args.default_runs), log)
    text = table(rows) + (f"\ndefault book (book/, {default['pages']} pages): {default['median_s']:.2f} s median of "
                          f"{default['runs']} builds into an empty folder ({default['min_s']:.2f} to "
                          f"{default['max_s']:.2f} s), {default['cpu_s']:.2f} s CPU, {default['peak_mb']:.0f} MB")
    print(text)
    data = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "summary": rows, "runs": raw,
            "default_book": default}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    log(f"wrote {args.json}")
    return 0

"""One build: read and check the whole book, render each edition in memory, then write them atomically."""
from __future__ import annotations

import gc
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BookError, Problem

FORMATS = ("pdf", "epub")


@dataclass
class BuildOptions:
    book: Path = Path("book")
    out: Path = Path("dist")
    formats: tuple = FORMATS
    page_size: str | None = None
    bleed: str | None = None
    crop_marks: bool = False
    strict: bool = False
    force: bool = False  # rebuild even when nothing changed


@dataclass
class BuildResult:
    outputs: dict = field(default_factory=dict)  # format -> Path
    timings: dict = field(default_factory=dict)  # stage -> seconds
    warnings: list = field(default_factory=list)  # Problem
    pages: int = 0
    cached: bool = False  # nothing changed: the outputs of the last build were kept


def build(options: BuildOptions, progress=lambda stage: None) -> BuildResult:
    from . import cache

    result = BuildResult()
    t = time.perf_counter()
    keys = cache.keys_for(options)
    hit = None if options.force else cache.lookup(options.out, keys)
    result.timings["cache"] = time.perf_counter() - t
    if hit:
        result.cached = True
        result.outputs = {fmt: entry["path"] for fmt, entry in hit.items()}
        result.pages = max(entry.get("pages", 0) for entry in hit.values())
        seen = set()
        for entry in hit.values():
            for path, message, line, hint in entry.get("warnings", []):
                if (path, message, line) not in seen:
                    seen.add((path, message, line))
                    result.warnings.append(Problem(path, message, line, hint, warning=True))
        return result
    from .speedups import fewer_collections
    with fewer_collections():
        built = _build(options, progress, result)
    cache.store(options.out, keys, built.outputs, built.pages, built.warnings)
    return built


def _build(options: BuildOptions, progress, result: BuildResult) -> BuildResult:
    from .load_book import load_book
    from .write_pdf import PrintOptions, page_map, pdf_bytes, render_print

    def timed(stage, fn, *args):
        progress(stage)
        t = time.perf_counter()
        value = fn(*args)
        result.timings[stage] = time.perf_counter() - t
        return value

    book = timed("read", lambda: load_book(options.book, strict=options.strict, page_size=options.page_size))
    result.warnings.extend(book.warnings)
    # The EPUB carries the print page numbers, so both editions need the laid-out print edition.
    rendered = timed("layout", render_print, book, PrintOptions(options.bleed, options.crop_marks))
    result.pages = len(rendered.document.pages)
    layout_warnings = [Problem("styles", f"WeasyPrint: {m}", None, None, warning=not options.strict)
                       for m in rendered.warnings]
    result.warnings.extend(layout_warnings)
    if options.strict and (layout_warnings or book.warnings):
        raise BookError(book.warnings + tuple(layout_warnings))
    files = {}
    pages = timed("page map", page_map, book, rendered) if "epub" in options.formats else None
    if "pdf" in options.formats:
        files["pdf"] = timed("pdf", pdf_bytes, book, rendered)
    # The EPUB needs only the page map: let the laid-out document go before it (lower peak memory).
    del rendered
    gc.collect()
    if "epub" in options.formats:
        from .write_epub import write_epub
        files["epub"] = timed("epub", write_epub, book, pages)
    for fmt, data in files.items():
        check_output(fmt, data)
    result.outputs = timed("write", write_atomically, options.out, book.slug, files)
    return result


def check_output(fmt: str, data: bytes):
    """A file is renamed into place only when it reads back."""
    import io
    import zipfile
    try:
        if fmt == "pdf":
            from pypdf import PdfReader
            if not PdfReader(io.BytesIO(data)).pages:
                raise ValueError("no pages")
        else:
            z = zipfile.ZipFile(io.BytesIO(data))
            if z.namelist()[0] != "mimetype" or z.testzip() is not None:
                raise ValueError("bad zip")
    except Exception as e:
        raise BookError(f"internal error: the {fmt.upper()} did not read back ({e}); nothing was written") from None


def write_atomically(out_dir: Path, slug: str, files: dict) -> dict:
    """Write every file under a temporary name, then rename them all into place."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps = {}
    try:
        for fmt, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{slug}.", suffix=f".{fmt}.part", dir=out_dir)
            temps[fmt] = Path(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
        final = {}
        for fmt, tmp in temps.items():
            target = out_dir / f"{slug}.{fmt}"
            os.replace(tmp, target)
            final[fmt] = target
        return final
    finally:
        for tmp in temps.values():
            if tmp.exists():
                tmp.unlink()

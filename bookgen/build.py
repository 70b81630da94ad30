"""One build: read and check the whole book, render each edition in memory, then write them atomically."""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BookError, Problem, refused_fetch
from .processes import raise_if_interrupted, sigint_held

FORMATS = ("pdf", "epub")


@dataclass
class BuildOptions:
    book: Path = Path("book")  # the book folder (for a Pandoc book: the folder of its files)
    files: tuple = ()  # a Pandoc book's Markdown files, in reading order (bookgen/pandoc.py)
    out: Path = Path("dist")
    formats: tuple = FORMATS
    page_size: str | None = None
    bleed: str | None = None
    crop_marks: bool = False
    strict: bool = False
    check: bool = False  # --check: EPUBCheck on the EPUB, fonts/tags/outline of the PDF (bookgen/check.py)
    force: bool = False  # rebuild even when nothing changed
    jobs: int | None = None  # processes laying out chapter groups (None: one per core; 0: the book as one document)


@dataclass
class BuildResult:
    outputs: dict = field(default_factory=dict)  # format -> Path
    timings: dict = field(default_factory=dict)  # stage -> seconds
    warnings: list = field(default_factory=list)  # Problem
    pages: int = 0
    checks: list = field(default_factory=list)  # check.CheckResult, when options.check
    cached: bool = False  # nothing changed: the outputs of the last build were kept
    layout: dict = field(default_factory=dict)  # how the print edition was laid out (chapter groups or one document)
    reads: list = field(default_factory=list)  # the book's files the build read (for the no-change record)


def build(options: BuildOptions, progress=lambda stage: None, done=lambda stage, seconds, detail: None) -> BuildResult:
    """`progress(stage)` is called when a stage starts, `done(stage, seconds, detail)` when it ends.
    When nothing that goes into the outputs changed since the last build, they are kept (bookgen/cache.py)."""
    from . import cache

    t = time.perf_counter()
    WRITTEN.clear()
    keys = cache.keys_for(options)
    hit = None if options.force else cache.lookup(options.out, keys)
    if hit:
        result = BuildResult(cached=True)
        result.timings["cache"] = time.perf_counter() - t
        result.outputs = {fmt: entry["path"] for fmt, entry in hit.items()}
        result.pages = max(entry.get("pages", 0) for entry in hit.values())
        seen = set()
        for entry in hit.values():
            for path, message, line, hint in entry.get("warnings", []):
                if (path, message, line) not in seen:
                    seen.add((path, message, line))
                    result.warnings.append(Problem(path, message, line, hint, warning=True))
    else:
        from .weasy import fewer_collections
        try:
            with fewer_collections(), contextlib.ExitStack() as cleanup:
                result = _build(options, progress, done, cleanup)
        except BaseException as e:
            refused = refused_fetch(e)
            if refused is not None:
                raise BookError(refused) from None
            raise
        failed = cache.store(options.out, keys, result.outputs, result.pages, result.warnings, result.reads,
                             Path(options.book))
        if failed:
            result.warnings.append(Problem(None, failed, None, "remove what is in its way", warning=True))
    if options.check:
        from .check import check_outputs
        progress("check")
        t = time.perf_counter()
        result.checks = check_outputs(result.outputs)
        result.timings["check"] = time.perf_counter() - t
        done("check", result.timings["check"], "")
    return result


def _build(options: BuildOptions, progress, done, cleanup) -> BuildResult:
    from .load_book import load_book
    from .book_layout import lay_out_book
    from .write_pdf import PrintOptions, page_map, pdf_bytes

    result = BuildResult()
    out = Path(options.out)
    if out.exists() and not out.is_dir():
        raise BookError(Problem(out, "is a file, not a folder", None, "pass --out DIR with a folder to write to"))

    def timed(stage, fn, *args, detail=lambda value: ""):
        raise_if_interrupted()  # a Ctrl-C Python dropped (bookgen/processes.py, remembered_interrupts)
        progress(stage)
        t = time.perf_counter()
        value = fn(*args)
        result.timings[stage] = time.perf_counter() - t
        done(stage, result.timings[stage], detail(value))
        raise_if_interrupted()
        return value

    server = None  # the layout processes' fork server, when the book is to be laid out in groups

    def read():
        book = load_book(options.book, strict=options.strict, page_size=options.page_size, files=options.files)
        return book, StyleCheck(book, out / CSS_CHECKED, server)

    from .book_layout import laid_out_here, looks_short
    if options.jobs != 0 and not (options.jobs is None and looks_short(Path(options.book), options.files)):
        from .layout_workers import start_fork_server
        server = start_fork_server()  # the layout processes' server imports WeasyPrint while the book is read
    if {"print", "cover"} & set(options.formats):
        with sigint_held():  # pikepdf (a C++ extension) must not be cut in two by a Ctrl-C while it loads
            import pikepdf  # noqa: F401
    book, style_check = timed("read", read, detail=lambda v: describe(v[0]))
    css_warnings = style_check.warnings(options.strict)
    result.warnings.extend(book.warnings)
    result.warnings.extend(css_warnings)
    from .book_files import own_files
    result.reads = [*book.sources, *own_files(book.root, "styles", "*.css"),
                    *own_files(book.root, "templates", "**/*.j2")]
    if options.strict and css_warnings:
        raise BookError(book.warnings + tuple(css_warnings))
    cover = None
    if "epub" in options.formats:
        from .cover import start_cover
        from .group_cache import FOLDER
        # in another process, while the print edition is laid out; or here, after a short book's layout
        cover = start_cover(book, out / FOLDER, here=laid_out_here(book, options.jobs))
    # The EPUB carries the print page numbers, so both editions need the laid-out print edition.
    from .group_cache import FOLDER
    rendered = timed("layout", lay_out_book, book, PrintOptions(options.bleed, options.crop_marks), options.jobs,
                     out / FOLDER, not options.force, "pdf" in options.formats, detail=layout_detail)
    result.pages = rendered.pages
    group_cache = rendered.group_cache
    if rendered.joined is not None:  # the groups' PDFs are being joined: stopped if the build stops first
        cleanup.callback(rendered.joined.close)
    result.layout = rendered.split or {"one document": rendered.whole_because or "--jobs 0"}
    from .layout_plan import WEASYPRINT_DIFFERS
    if (rendered.whole_because or "").startswith(WEASYPRINT_DIFFERS):  # bookgen/weasy.py's self-test failed
        result.warnings.append(Problem(None, f"{rendered.whole_because}; the book was laid out as one document "
                                             "(slower, the same pages)", None,
                                       "install the WeasyPrint version pyproject.toml names (70.x)", warning=True))
    known = {w.source_message for w in css_warnings}
    layout_warnings = grouped_problems(book, [m for m in dict.fromkeys(rendered.warnings) if m not in known],
                                       options.strict)  # each message once; missing glyphs one per script
    result.warnings.extend(layout_warnings)
    moved = [Problem(p.path, p.message, p.line, p.hint, warning=not options.strict) for p in rendered.moved_notes]
    result.warnings.extend(moved)
    if options.strict and moved:
        raise BookError(tuple(moved))
    if options.strict and (layout_warnings or book.warnings):
        raise BookError(book.warnings + tuple(css_warnings) + tuple(layout_warnings))
    files = {}
    size = lambda data: f"{len(data) / 1024:.0f} KiB"  # noqa: E731
    pages = (timed("page map", page_map, book, rendered, detail=lambda p: f"{len(p)} page breaks")
             if "epub" in options.formats else None)
    if pages is not None and len(pages) % 2:  # the blank last page print_edition.even_pages adds
        from .print_edition import with_blank_last_page
        pages = with_blank_last_page(pages)
    def epub():
        from .write_epub import write_epub
        files["epub"] = timed("epub", write_epub, book, pages, cover.result() if cover else None, detail=size)
    if "epub" in options.formats and rendered.joined is not None:
        epub()  # while the chapter groups' PDFs are joined, in a process of their own
    if "pdf" in options.formats:
        with weasyprint_log() as drawn:  # WeasyPrint says some things only while drawing (missing glyphs)
            files["pdf"] = timed("pdf", pdf_bytes, book, rendered, detail=size)
            from .print_edition import even_pages
            files["pdf"], result.pages = even_pages(files["pdf"], result.pages)  # a printed book: an even count
        drawn += rendered.late_warnings  # links the join found no destination for
        drawing_warnings = grouped_problems(book, [m for m in dict.fromkeys(drawn) if m not in rendered.warnings],
                                            options.strict)
        result.warnings.extend(drawing_warnings)
        if options.strict and drawing_warnings:
            raise BookError(tuple(drawing_warnings))
    if "print" in options.formats:  # the print interior for a print shop (bookgen/print_edition.py)
        from .print_edition import print_interior
        files["print.pdf"], print_pages = timed("print", print_interior, book, options.bleed, options.crop_marks,
                                                detail=lambda v: size(v[0]))
    if "cover" in options.formats:  # back, spine and front for a print shop (bookgen/cover_pdf.py)
        from .cover_pdf import cover_pdf
        interior = print_pages if "print" in options.formats else result.pages + result.pages % 2
        files["cover.pdf"] = timed("cover", cover_pdf, book, interior, options.bleed, detail=size)
    # The EPUB needs only the page map: let the laid-out document go before it (lower peak memory; a short
    # book's few boxes are not worth the 0.05 s a collection takes).
    collect = not rendered.split and result.pages > 64
    del rendered
    if collect:
        gc.collect()
    if "epub" in options.formats and "epub" not in files:
        epub()
    if "epub" in files:
        files["epub"] = files.pop("epub")  # written (and named) after the PDFs, as always
    for fmt, data in files.items():
        check_output(fmt, data)
    try:
        result.outputs = timed("write", write_atomically, out, book.slug, files,
                               detail=lambda written: ", ".join(str(p) for p in written.values()))
        # formats named for their file: "print.pdf" is the format print (cover.pdf: cover)
        result.outputs = {fmt.removesuffix(".pdf") if fmt.endswith(".pdf") and fmt != "pdf" else fmt: path
                          for fmt, path in result.outputs.items()}
    except OSError as e:
        raise BookError(Problem(_output_named(e, out), f"cannot write the output: {e.strerror or e}", None,
                                "check that the output folder is writable and not in the way")) from None
    if "site" in options.formats:  # the download page, for every edition in the folder (bookgen/site.py)
        result.outputs["site"] = timed("site", write_site, book, out, dict(result.outputs),
                                       detail=lambda p: str(p))
    if group_cache is not None:
        group_cache.flush()  # the layout of each chapter group, for the next build
    style_check.keep()  # what the stylesheets' check found, and a generated cover, for the next build
    if cover is not None:
        cover.keep()
    return result


def write_site(book, out: Path, outputs: dict) -> Path:
    from .atomic import write_atomic
    from .site import site_files
    present = {fmt: out / f"{book.slug}.{ext}" for fmt, ext in
               (("pdf", "pdf"), ("epub", "epub"), ("print", "print.pdf"), ("cover", "cover.pdf"))}
    present = {fmt: path for fmt, path in {**present, **outputs}.items() if Path(path).is_file()}
    for name, data in site_files(book, present).items():
        try:
            write_atomic(out / name, data)
        except OSError as e:  # a full disk, a folder in the way: the editions are written, the page is not
            raise BookError(Problem(out / name, f"cannot write the download page: {e.strerror or e}", None,
                                    "check that the output folder has room and nothing is in the way")) from None
    return out / "index.html"


def weasyprint_log():
    from .write_pdf import weasyprint_log
    return weasyprint_log()


_NO_GLYPH = re.compile(r'\.notdef glyph rendered for Unicode string unsupported by fonts: "(?P<ch>.*)" '
                       r'\(U\+(?P<code>[0-9A-Fa-f]+)\)')


def grouped_problems(book, messages, strict: bool) -> list:
    from .glyphs import grouped
    return grouped(book, messages, strict, lambda m: layout_problem(book, m, strict))


def layout_problem(book, message: str, strict: bool) -> Problem:
    """A WeasyPrint message from the layout, where it can be traced to the book: a character no font has is
    found in the chapter (or book.toml) that holds it."""
    m = _NO_GLYPH.search(message)
    if m:
        from .glyphs import first_place
        ch = chr(int(m["code"], 16))
        source, line = first_place(book, {ch})
        if source is not None:
            return Problem(source, f"WeasyPrint found no font with the character {ch!r} (U+{ord(ch):04X}): the PDF "
                           "prints a box", line, "install a font that has it, or name one in the book's stylesheet",
                           warning=not strict)
    return Problem(None, f"WeasyPrint: {message}", None, None, warning=not strict)


def layout_detail(rendered) -> str:
    if rendered.split:
        s = rendered.split
        how = f"{s['laid_out']} laid out in {s['processes']} process{'es' if s['processes'] != 1 else ''}" \
            if s["laid_out"] else "all from the last build"
        if s.get("relayouts"):  # groups laid out again to keep notes on their calls' pages
            how += f" ({s['relayouts']} more layout{'s' if s['relayouts'] != 1 else ''} to keep notes with their calls)"
        groups = s["groups"] - 1
        return f"{rendered.pages} pages; the front matter and {groups} chapter group{'s' if groups != 1 else ''}, {how}"
    return f"{rendered.pages} pages, as one document" + (f" ({rendered.whole_because})" if rendered.whole_because else "")


def describe(book) -> str:
    def n(count, word):
        return f"{count} {word}{'' if count == 1 else 's'}"
    notes = sum(len(c.notes) for c in book.chapters)
    return ", ".join([n(len(book.chapters), "chapter"), n(notes, "note"), n(len(book.images), "image")]
                     + ([n(len(book.warnings), "warning")] if book.warnings else []))


@dataclass(frozen=True)
class StyleWarning(Problem):
    """What WeasyPrint said about one stylesheet; `source_message` is the message as WeasyPrint logged it."""
    source_message: str = ""


_WEASY_AT = re.compile(r"^(?P<what>.*?) at (?P<line>\d+):(?P<col>\d+)(?P<rest>.*)$", re.S)


CSS_CHECKED = ".bookgen-css.json"  # in the output folder: what the last check of the stylesheets found


class StyleCheck:
    """Each stylesheet the PDF uses parsed on its own, so that what WeasyPrint says about one names it and its
    line (WeasyPrint itself only says `at 2:6`). What it found is kept in `record` by a build that succeeds
    (`keep`), under a digest of every stylesheet (the book's own, and those they may import) and of WeasyPrint's
    version: a rebuild after an edit of the text then does not import WeasyPrint here (0.4 s; the layout
    processes have it). With `context` (the layout processes' fork server), a first check is made in a process
    forked from it: a book laid out in groups never imports WeasyPrint here (its 19 MB)."""

    def __init__(self, book, record: Path | None = None, context=None):
        from .write_pdf import stylesheets
        self.record, self.key, self.found = record, _stylesheets_key(book, stylesheets(book)), None
        if record is not None and self.key is not None:
            try:
                kept = json.loads(record.read_text(encoding="utf-8"))
                if kept.get("key") == self.key:
                    self.found = [StyleWarning(**{**w, "path": Path(w["path"]) if w["path"] else None})
                                  for w in kept["found"]]
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                pass
        if self.found is None and context is not None:
            from .layout_workers import in_a_process
            try:
                found, problems = in_a_process(context, _checked_apart, dataclasses.replace(book, chapters=()))()
            except Exception:  # the process did not run (the server stopped...): checked here instead
                found, problems = None, None
            if problems:
                raise BookError(list(problems))
            self.found = found
        if self.found is None:
            self.found = _check_stylesheets(book)

    def warnings(self, strict: bool) -> list:
        return [dataclasses.replace(w, warning=not strict) for w in self.found]

    def keep(self) -> None:
        if self.record is None or self.key is None:
            return
        from .atomic import write_atomic
        try:
            text = json.dumps({"key": self.key, "found": [
                {**dataclasses.asdict(w), "path": str(w.path) if w.path else None} for w in self.found]})
            if not self.record.is_file() or self.record.read_text(encoding="utf-8") != text:
                write_atomic(self.record, text.encode("utf-8"))
        except OSError:
            pass  # only the next build is slower


def _stylesheets_key(book, paths) -> str | None:
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    from .book_files import own_files
    h = hashlib.sha256()
    try:
        h.update(f"{version('weasyprint')}\0".encode())
        for path in [*paths, *own_files(book.root, "", "**/*.css")]:
            h.update(str(path).encode("utf-8", "surrogateescape") + b"\0" + Path(path).read_bytes() + b"\0")
    except (OSError, PackageNotFoundError):
        return None  # checked anew: it says what cannot be read
    h.update(Path(__file__).read_bytes())  # how it checks
    return h.hexdigest()


def _checked_apart(book) -> tuple:
    """_check_stylesheets in another process: (what it found, None) or (None, the problems that stop the build)."""
    try:
        return _check_stylesheets(book), None
    except BookError as e:
        return None, tuple(e.problems)


def _check_stylesheets(book, strict: bool = False) -> list:
    from weasyprint import CSS

    from .write_pdf import fetcher_for, stylesheets

    found = []
    with weasyprint_log() as messages:
        fetcher = fetcher_for(book)
        for path in stylesheets(book):
            del messages[:]
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as e:
                raise BookError(Problem(path, f"stylesheet cannot be read ({e})", None,
                                        "save the stylesheet as UTF-8")) from None
            except OSError as e:
                raise BookError(Problem(path, f"stylesheet cannot be read ({e.strerror})", None,
                                        "the file is missing or unreadable: reinstall bookgen if it is one of its "
                                        "own stylesheets, or check the book's styles/ folder")) from None
            try:
                CSS(string=text, base_url=str(path.parent) + os.sep, url_fetcher=fetcher)
            except Exception as e:  # a stylesheet WeasyPrint cannot parse at all
                raise BookError(Problem(path, f"stylesheet error: {e}", None, "fix the CSS")) from None
            for m in messages:
                found.append(_style_problem(path, m, strict))
    return found


def _style_problem(path, message: str, strict: bool):
    m = _WEASY_AT.match(message)
    if m:
        text = f"WeasyPrint {m['what'][:1].lower()}{m['what'][1:]} (column {m['col']}){m['rest'].rstrip('.')}"
        return StyleWarning(path, text, int(m["line"]), "use CSS that WeasyPrint supports, or remove the rule",
                            warning=not strict, source_message=message)
    return StyleWarning(path, f"WeasyPrint: {message}", None, None, warning=not strict, source_message=message)


def check_output(fmt: str, data: bytes):
    """A file is renamed into place only when it reads back."""
    import io
    import zipfile
    try:
        if fmt.endswith("pdf"):
            # a whole file, header to end marker (reading its pages with pypdf cost a 500-page book 20 MB)
            if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-64:]:
                raise ValueError("not a whole PDF")
        else:
            z = zipfile.ZipFile(io.BytesIO(data))
            if z.namelist()[0] != "mimetype" or z.testzip() is not None:
                raise ValueError("bad zip")
    except Exception as e:
        raise BookError(f"internal error: the {fmt.upper()} did not read back ({e}); nothing was written") from None


WRITTEN: dict = {}  # format -> path of what this build has put in place (cli.py says so after a late Ctrl-C)


def recover_interrupted(out_dir: Path, slug: str) -> list[str]:
    """What a build killed while writing (SIGKILL, a power cut) left: its temporary files are removed, and a
    replacement it had begun is undone (each `.old` copy put back), so that the PDF and the EPUB are again a
    pair from one build. Files of a build still running (its process alive) are left alone."""
    done = []
    for path in sorted(out_dir.glob(f".{slug}.*")):
        m = re.fullmatch(re.escape(f".{slug}.") + r"(\d+)\.(?:.*\.(\w+)\.part|(\w+(?:\.\w+)?)\.old)", path.name)
        if not m or _alive(int(m.group(1))):
            continue
        if m.group(3):  # a file that was replaced: put the previous one back
            os.replace(path, out_dir / f"{slug}.{m.group(3)}")
            done.append(f"restored {slug}.{m.group(3)}")
        else:
            path.unlink(missing_ok=True)
            done.append(f"removed {path.name}")
    return done


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _output_named(error: OSError, out: Path) -> Path:
    """The file an author knows: a rename's destination (a folder in the way), never a hidden temporary name
    (`.slug.pid.xxxx.epub.part`: the author did not make it, and it is gone by the time they look)."""
    name = Path(error.filename2 or error.filename or out)
    m = re.fullmatch(r"\.(.+?)\.\d+\.\w+\.(\w+)\.part", name.name)
    return name.with_name(f"{m.group(1)}.{m.group(2)}") if m else name


def write_atomically(out_dir: Path, slug: str, files: dict) -> dict:
    """Write every file under a temporary name, then rename them all into place.

    If anything fails (or is interrupted) before every file is in place, the files that were already replaced
    are put back as they were, and no temporary file is left behind."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recover_interrupted(out_dir, slug)
    temps, backups, placed = {}, {}, []
    pid = os.getpid()
    try:
        for fmt, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{slug}.{pid}.", suffix=f".{fmt}.part", dir=out_dir)
            temps[fmt] = Path(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
        final = {}
        with sigint_held(then_raise=False):  # the PDF and the EPUB replaced together or not at all
            try:
                for fmt, tmp in temps.items():
                    target = out_dir / f"{slug}.{fmt}"
                    if target.is_file():
                        backup = out_dir / f".{slug}.{pid}.{fmt}.old"
                        if backup.exists():
                            backup.unlink()
                        try:
                            os.link(target, backup)  # the old file stays reachable until all are in place
                        except OSError:  # a file system without hard links
                            shutil.copy2(target, backup)
                        backups[target] = backup
                    os.replace(tmp, target)
                    placed.append(target)
                    final[fmt] = target
            except BaseException:
                for target in placed:
                    if target in backups:
                        os.replace(backups.pop(target), target)
                    else:
                        target.unlink(missing_ok=True)
                raise
            WRITTEN.update(final)
        return final
    finally:
        for path in list(temps.values()) + list(backups.values()):
            if path.exists():
                path.unlink()

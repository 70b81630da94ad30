"""The no-change rebuild: skip the whole build when nothing it reads has changed and its outputs are intact.

The key of each output format is a SHA-256 over everything the build reads: every file of the book folder
(chapters, `book.toml`, images, the book's own templates and styles), the project's `templates/` and `styles/`,
the code (`bookgen/*.py`) and the libraries it uses (where each is installed and when), the font files
fontconfig may pick from (names, sizes, times), the options that change that format, and the environment that does
(SOURCE_DATE_EPOCH; without it, the newest modification time of the book's files, which the build writes into
the outputs as their date). The record lives in the output folder (`.bookgen-cache.json`) beside the outputs,
with the SHA-256 of each output as written: a missing or changed output is rebuilt. It also keeps the SHA-256 of
each file the build read that the folder walk leaves out (a listed chapter with a hidden name, in a skipped
folder or named like an editor's backup): what was read is checked, not only what the walk finds.

This module imports only the standard library: deciding that nothing changed must not load WeasyPrint.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

from .atomic import write_atomic

CACHE_NAME = ".bookgen-cache.json"
VERSION = 1
PROJECT = Path(__file__).resolve().parent.parent
# Libraries whose version changes the outputs (layout, hyphenation, PDF and EPUB writing, Markdown).
LIBRARIES = ("weasyprint", "pydyf", "tinycss2", "tinyhtml5", "pyphen", "fontTools", "ebooklib", "markdown_it",
             "mdit_py_plugins", "jinja2", "lxml", "PIL", "pypdfium2", "pikepdf")
SKIP_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", "node_modules"}


def _files(root: Path, exclude: tuple = ()) -> list[Path]:
    """Every file under `root`, in a stable order, leaving out VCS/cache folders, hidden files and `exclude`."""
    out = []
    if not root.is_dir():
        return out
    excluded = {os.path.realpath(p) for p in exclude}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and os.path.realpath(os.path.join(dirpath, d)) not in excluded)
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith((".pyc", "~", ".swp")):
                continue
            out.append(Path(dirpath) / name)
    return out


def _hash_tree(h, label: str, root: Path, exclude: tuple = (), skip_suffixes: tuple = ()) -> float:
    """Feed names and contents of a folder's files to `h`; return the newest modification time."""
    newest = 0.0
    h.update(f"[{label}]\0".encode())
    real_root = root.resolve()
    for path in _files(root, exclude):
        if path.suffix.lower() in skip_suffixes:
            continue
        h.update(str(path.relative_to(root)).encode("utf-8", "surrogateescape") + b"\0")
        try:
            st = path.stat()
        except OSError:  # a broken link
            h.update(b"missing\0")
            continue
        if not stat.S_ISREG(st.st_mode) or (path.is_symlink() and not path.resolve().is_relative_to(real_root)):
            # a FIFO would block, /dev/zero never end, a file outside the book is never read: only its name
            h.update(b"not read\0")
            continue
        newest = max(newest, st.st_mtime)
        h.update(str(st.st_size).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return newest


def inputs_digest(book: Path, out: Path, project: Path = PROJECT, skip_suffixes: tuple = ()) -> dict:
    """What every format depends on: {'inputs': hex digest, 'newest': newest mtime of the book's files}.
    `skip_suffixes`: book files left out (the layout of a chapter group reads its Markdown only as HTML)."""
    h = hashlib.sha256()
    h.update(f"bookgen-cache {VERSION} python {sys.version_info[:2]}\0".encode())
    book, out = Path(book).resolve(), Path(out).resolve()
    newest = _hash_tree(h, "book", book, exclude=(out,), skip_suffixes=skip_suffixes)
    for label in ("templates", "styles"):  # at the top of a checkout, or inside the installed package
        _hash_tree(h, label, project / label if (project / label).is_dir() else project / "bookgen" / label)
    code = project / "bookgen"
    h.update(b"[code]\0")
    for path in sorted(code.glob("*.py")):
        h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    _hash_tree(h, "locale", code / "locale")  # the catalogues of generated words
    h.update(b"[libraries]\0")
    for name in LIBRARIES:
        h.update(_library_stamp(name).encode("utf-8", "surrogateescape") + b"\0")
    _hash_fonts(h)
    return {"inputs": h.hexdigest(), "newest": int(newest)}


def layout_inputs(book: Path, out: Path) -> str:
    """What a layout depends on besides the HTML it is given: inputs_digest without the Markdown (which reaches
    the layout only as HTML). The chapter groups' cache and the generated cover are kept under it."""
    return inputs_digest(book, out, skip_suffixes=(".md", ".markdown"))["inputs"]


def font_folders() -> list[Path]:
    """Where fontconfig finds fonts on a Debian-like system: the system's, the site's and the user's."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), data_home / "fonts", Path.home() / ".fonts"]


def _hash_fonts(h) -> None:
    """Every font file's name, size and time: a font added to the user's folder, removed or replaced changes which
    face prints a character, so the outputs (about 300 files here: 2 ms, no contents read)."""
    h.update(b"[fonts]\0")
    for folder in font_folders():
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                h.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))


def _library_stamp(name: str) -> str:
    """Where a library is installed and when its files were written (an upgrade changes both), without
    importing it."""
    import importlib.util
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return f"{name}:-"
    try:
        st = os.stat(spec.origin)
    except OSError:
        return f"{name}:{spec.origin}"
    return f"{name}:{spec.origin}:{st.st_size}:{st.st_mtime_ns}"


def format_key(inputs: dict, fmt: str, options: dict) -> str:
    """The key of one output: the inputs, the options and the environment that change it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    env = {"SOURCE_DATE_EPOCH": epoch} if epoch else {"newest": inputs["newest"]}
    blob = json.dumps({"inputs": inputs["inputs"], "format": fmt, "options": options, "env": env},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def option_values(options) -> dict:
    """The build options that change an output (not where it goes, nor how many cores make it)."""
    values = {"page_size": options.page_size, "bleed": options.bleed, "crop_marks": options.crop_marks,
              "strict": options.strict}
    if getattr(options, "files", ()):  # a Pandoc book: which files, in which order
        values["files"] = [str(Path(f).resolve()) for f in options.files]
    return values


def _file_sha(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def read_record(out: Path) -> dict:
    try:
        record = json.loads((Path(out) / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("version") != VERSION:
        return {}
    return record


def lookup(out: Path, keys: dict) -> dict | None:
    """The recorded outputs {fmt: entry} when every format's key matches and its file is there, unchanged, and
    every file the last build read beyond the folder walk (a hidden chapter...) is as it was."""
    whole = read_record(out)
    record = whole.get("formats")
    if not isinstance(record, dict):  # a damaged record is no record
        return None
    reads = whole.get("reads", {})
    if not isinstance(reads, dict) or any(_file_sha(Path(path)) != sha for path, sha in reads.items()):
        return None
    found = {}
    for fmt, key in keys.items():
        entry = record.get(fmt)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        path = Path(out) / str(entry.get("file", ""))
        if not entry.get("file") or _file_sha(path) != entry.get("sha256"):
            return None
        found[fmt] = {**entry, "path": path}
    return found


def store(out: Path, keys: dict, outputs: dict, pages: int, warnings=(), reads=(), book: Path | None = None):
    """Record the outputs just written (other formats' entries stay, keyed on what made them).
    The build's warnings are kept too, so that a rebuild with nothing changed still shows them; and `reads`, the
    files the build read, where the folder walk of the key does not see them (hidden names, skipped folders)."""
    out = Path(out)
    walked = set(_files(Path(book), exclude=(out,))) if book is not None else set()
    extra = {str(Path(p).resolve()): _file_sha(Path(p)) for p in reads if Path(p) not in walked}
    record = read_record(out)
    formats = record.get("formats") if record else {}
    if not isinstance(formats, dict):
        formats = {}
    formats = {fmt: entry for fmt, entry in formats.items() if isinstance(entry, dict)}
    for fmt, key in keys.items():
        path = Path(outputs[fmt])
        formats[fmt] = {"key": key, "file": path.name, "sha256": _file_sha(path), "pages": pages,
                        "warnings": [[str(w.path) if w.path is not None else None, w.message, w.line, w.hint]
                                     for w in warnings]}
    data = json.dumps({"version": VERSION, "formats": formats, "reads": extra}, indent=1, sort_keys=True)
    try:
        write_atomic(out / CACHE_NAME, data.encode("utf-8"))
    except OSError as e:  # the outputs are written: only the next build's shortcut is lost
        return f"{out / CACHE_NAME}: the no-change record cannot be written ({e.strerror or e}): the next build " \
               "will lay the book out again"
    return None



def keys_for(options, project: Path = PROJECT) -> dict:
    """{format: key} for a build with these options (BuildOptions), from the files as they are now."""
    inputs = inputs_digest(options.book, options.out, project)
    values = option_values(options)
    return {fmt: format_key(inputs, fmt, values) for fmt in options.formats}


def up_to_date(options) -> dict | None:
    """The outputs of the last build when nothing they depend on has changed, else None."""
    return lookup(options.out, keys_for(options))

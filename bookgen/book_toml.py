"""book.toml: its keys as a schema (one entry per key: type, default, meaning), read and checked into `Settings`.

An mdBook project's `book.toml` (a `[book]` table) is turned into these keys first (bookgen/mdbook.py).
Every problem is reported with the key's line; a wrong value falls back to its default so the rest is checked.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import mdbook, units
from .book_shape import BookShape
from .chars import NOT_XML, char_name
from .direction import book_direction
from .errors import BookError, Problem
from .fonts import book_fonts
from .i18n import book_strings
from .model import Author, PageSize
from .publishing import isbn_urn, publishing_keys


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # as the README writes it
    default: str  # "" when the key is optional with no value; "required" when it must be given
    doc: str


SCHEMA = (
    Key("title", "string", "required", "the book's title"),
    Key("subtitle", "string", "", "printed under the title"),
    Key("authors", "list of names or {name, file-as}", "", "also `author = \"...\"`"),
    Key("author", "string", "", "one author (as `authors`)"),
    Key("language", "BCP 47 tag", "required", "en, en-GB, fr, pt-BR...: hyphenation, quotes, the words written"),
    Key("identifier", "string", "derived from title and authors", "the EPUB's identifier"),
    Key("isbn", "ISBN-10 or 13", "", "check digit verified; printed, and the EPUB's identifier"),
    Key("publisher", "string", "", "the title page and copyright page"),
    Key("date", "TOML date or \"YYYY\" / \"YYYY-MM\"", "", "the publication date"),
    Key("edition", "string", "", "the copyright page"),
    Key("rights", "string", "", "the copyright page"),
    Key("description", "string", "", "PDF Subject, EPUB description, the back cover"),
    Key("subjects", "list of strings", "", "PDF Keywords, EPUB subjects"),
    Key("page-size", "preset or \"W H\"", "A5", "A5, A4, Letter, Trade (6x9) or two lengths"),
    Key("cover", "path to a JPEG or PNG", "", "otherwise a cover is generated"),
    Key("cover-alt", "string", "", "the cover's text description"),
    Key("chapter-open", "recto | any | continuous", "recto", "where a chapter opens in print"),
    Key("paper", "white | cream", "white", "the spine width of --format cover"),
    Key("chapters", "list of paths", "required", "the reading order"),
    Key("direction", "rtl | ltr", "from the language", "the writing direction"),
    Key("strings", "table", "", "the generator's own words, replaced (keys: bookgen/locale/bookgen.pot)"),
    Key("fonts", "table", "", "faces per script, before the Noto defaults"),
)
BOOK_KEYS = {k.name for k in SCHEMA}

# Trim sizes and margins (top, outer, bottom, inner) that suit them.
PAGE_SIZES = {
    "a5": PageSize("A5", "148mm", "210mm", ("17mm", "15mm", "20mm", "19mm")),
    "a4": PageSize("A4", "210mm", "297mm", ("28mm", "40mm", "34mm", "45mm")),  # about 70 characters a line
    "letter": PageSize("Letter", "8.5in", "11in", ("1.1in", "1.6in", "1.3in", "1.75in")),
    "trade": PageSize("Trade", "6in", "9in", ("0.7in", "0.6in", "0.8in", "0.75in")),
}
PAGE_SIZE_ALIASES = {"us-letter": "letter", "us-trade": "trade", "6x9": "trade", "6x9in": "trade"}
PAGE_SIZE_HINT = "use A5, A4, Letter, Trade (6x9in) or a size like '140mm 216mm'"


@dataclass(frozen=True)
class TomlFile:
    """book.toml as read: its path, its text (for line numbers) and its keys (an mdBook project's adapted)."""
    path: Path
    text: str
    conf: dict
    preprocess: BookShape = field(default_factory=BookShape)  # another tool's shape (mdbook.py, pandoc.py)


@dataclass(frozen=True)
class Settings:
    """book.toml's keys, checked; each a default when it was missing or wrong."""
    title: str
    subtitle: str
    language: str
    direction: str
    strings: dict
    fonts: dict
    authors: tuple
    date: str
    subjects: tuple
    page_size: PageSize
    identifier: str
    isbn: str
    chapter_open: str
    paper: str
    cover: Path | None
    cover_alt: str
    publisher: str
    rights: str
    description: str
    edition: str
    chapters: tuple  # the chapter entries as written, in reading order
    chapters_line: int | None  # the line of `chapters =`, for problems about the list


def key_line(text: str, key: str) -> int | None:
    m = re.search(r"^[ \t]*\"?" + re.escape(key) + r"\"?[ \t]*[=:]", text, re.M)  # TOML, or YAML metadata
    return text.count("\n", 0, m.start()) + 1 if m else None


def suggest(key: str, known) -> str | None:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def parse_page_size(value: str) -> PageSize | None:
    name = str(value).strip().lower()
    name = PAGE_SIZE_ALIASES.get(name, name)
    if name in PAGE_SIZES:
        return PAGE_SIZES[name]
    size = units.two(value)
    if size is None:
        return None
    short = min(units.mm(size[0]), units.mm(size[1]))
    if short < 60:
        return None
    margin = max(12.0, round(short * 0.1, 1))
    return PageSize("custom", size[0], size[1],
                    (f"{margin}mm", f"{margin}mm", f"{margin * 1.2:.1f}mm", f"{margin * 1.15:.1f}mm"))


def valid_language(tag: str) -> bool:
    import langcodes
    return bool(re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", tag)) and langcodes.tag_is_valid(tag)


def toml_error(e: Exception, text: str):
    """(message, line, column) of a tomllib error; tomllib puts the position in the message."""
    msg = str(e)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)", msg)
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        msg = msg[:m.start()] + msg[m.end():]
    else:
        lines = text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
        msg = re.sub(r"\s*\(at end of document\)", "", msg) + " at the end of the file"
    msg = msg[:1].lower() + msg[1:]
    return f"{msg} (column {col})", line, col


def _command() -> str:
    from .errors import command
    return command()


def read(root: Path, problems, files=()) -> TomlFile:
    """book.toml parsed (a BookError when it is missing, unreadable or not TOML); control characters are
    reported and removed, so the rest can be checked. `files`: a Pandoc book's Markdown files, whose metadata
    stands for book.toml (bookgen/pandoc.py)."""
    if files:
        from . import pandoc
        conf, text, source = pandoc.adapt(root, [Path(f).resolve() for f in files], problems)
        return TomlFile(Path(files[0]), text, conf, source)
    toml_path = root / "book.toml"
    if not root.is_dir():
        raise BookError(Problem(root, "book folder not found", hint="pass --book DIR with a folder holding book.toml"))
    if not toml_path.is_file():
        raise BookError(Problem(toml_path, "book.toml not found",
                                hint=f"every book folder needs a book.toml; `{_command()} new DIR` makes one"))
    try:
        text = toml_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise BookError(Problem(toml_path, f"not UTF-8 text ({e.reason} at byte {e.start})", None,
                                "save book.toml as UTF-8")) from None
    except OSError as e:
        raise BookError(Problem(toml_path, f"cannot be read: {e.strerror}", None, "check the file's permissions"))
    try:
        conf = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg, line, _ = toml_error(e, text)
        raise BookError(Problem(toml_path, f"not valid TOML: {msg}", line,
                                'check the quotes, commas and brackets there: strings are "quoted"')) from None
    for key, value in list(conf.items()):
        bad = next((m.group(0) for v in _strings(value) for m in [NOT_XML.search(v)] if m), None)
        if bad is not None:
            problems.error(toml_path, f"'{key}' contains the control character {char_name(bad)}, which a book "
                           "cannot hold", key_line(text, key), "remove it (it is invisible; it may come from a copy "
                           "and paste)")
            conf[key] = _cleaned(value)
    preprocess = BookShape()
    if mdbook.is_mdbook(conf):  # an mdBook project, read as it is (bookgen/mdbook.py)
        conf, preprocess = mdbook.adapt(root, conf, problems, toml_path)
    return TomlFile(toml_path, text, conf, preprocess)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def _cleaned(value):
    if isinstance(value, str):
        return NOT_XML.sub("", value) or "?"  # "?": not reported once more as empty
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    return value


class _Keys:
    """Reads keys of book.toml, reporting each problem at its key's line."""

    def __init__(self, toml: TomlFile, problems):
        self.toml, self.conf, self.problems = toml, toml.conf, problems

    def err(self, key, message, hint=None):
        self.problems.error(self.toml.path, message, key_line(self.toml.text, key), hint)

    def string(self, key, required=False, default=""):
        value = self.conf.get(key, None)
        if value is None:
            if required:
                self.problems.error(self.toml.path, f"required key '{key}' is missing", None, f"add {key} = \"...\"")
            return default
        if not isinstance(value, str):
            self.err(key, f"'{key}' must be a string", f'write {key} = "..."')
            return default
        if required and not value.strip():
            self.err(key, f"'{key}' is empty", f"give the book a {key}")
        return value.strip()


def settings(toml: TomlFile, problems, root: Path, page_size: str | None = None) -> Settings:
    """Every key checked (unknown keys too), in the order the problems are best read."""
    from .load_paths import safe_path
    keys = _Keys(toml, problems)
    for key in toml.conf:
        if key not in BOOK_KEYS:
            keys.err(key, f"unknown key '{key}'", suggest(key, BOOK_KEYS) or "see the README for the keys of book.toml")
    title = keys.string("title", required=True)
    language = keys.string("language", required=True)
    if language and not valid_language(language):
        keys.err("language", f"'{language}' is not a valid BCP 47 language tag",
                 "use a tag like en, en-US, fr or pt-BR" + (" (a hyphen, not an underscore)" if "_" in language else ""))
    direction = book_direction(toml.conf.get("direction"), language, keys.err)
    own_strings, own_fonts = book_strings(toml.conf.get("strings"), keys.err), book_fonts(toml.conf.get("fonts"), keys.err)
    authors = _authors(keys)
    date = _date(keys)
    subjects = _subjects(keys)
    size = _page_size(keys, page_size)
    identifier = keys.string("identifier")
    isbn, chapter_open, paper = publishing_keys(toml.conf, keys.string, keys.err)
    if isbn:
        identifier = isbn_urn(isbn)  # the EPUB's identifier is the ISBN (book.toml `isbn`)
    if not identifier:
        # stable across builds: derived from what identifies the book
        seed = title + "|" + "|".join(a.name for a in authors)
        identifier = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"
    cover = _cover(keys, root, safe_path)
    chapters = _chapter_list(keys)
    return Settings(
        title=title, subtitle=keys.string("subtitle"), language=language, direction=direction,
        strings=own_strings, fonts=own_fonts, authors=tuple(authors), date=date, subjects=tuple(subjects),
        page_size=size, identifier=identifier, isbn=isbn, chapter_open=chapter_open, paper=paper, cover=cover,
        cover_alt=keys.string("cover-alt"), publisher=keys.string("publisher"), rights=keys.string("rights"),
        description=keys.string("description"), edition=keys.string("edition"), chapters=tuple(chapters),
        chapters_line=key_line(toml.text, "chapters"))


def _authors(keys: _Keys) -> list:
    conf, err = keys.conf, keys.err
    authors = []
    raw_authors = conf.get("authors", conf.get("author", []))
    if isinstance(raw_authors, (str, dict)):
        raw_authors = [raw_authors]
    if not isinstance(raw_authors, list):
        err("authors", "'authors' must be a list", 'write authors = ["Name"]')
        raw_authors = []
    for a in raw_authors:
        if isinstance(a, str) and a.strip():
            parts = a.strip().split()
            authors.append(Author(a.strip(), f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else a.strip()))
        elif isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip():
            for k in a:
                if k not in ("name", "file-as"):
                    err("authors", f"unknown key '{k}' in an author", suggest(k, ("name", "file-as"))
                        or 'write {name = "...", file-as = "..."}')
            authors.append(Author(a["name"].strip(), str(a.get("file-as", a["name"])).strip() or a["name"].strip()))
        else:
            err("authors", f"author {a!r} is not a name", 'write authors = ["Name"] or [{name = "...", file-as = "..."}]')
    if not authors and "authors" not in conf and "author" not in conf:
        keys.problems.warn(keys.toml.path, "no author given", key_line(keys.toml.text, "authors"),
                           'add authors = ["Name"]')
    return authors


def _date(keys: _Keys) -> str:
    date = keys.conf.get("date", "")
    if isinstance(date, (dt.date, dt.datetime)):
        date = date.isoformat()[:10]
    elif date and not (isinstance(date, str) and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", date)):
        keys.err("date", f"date {date!r} is not a date", "write date = 2024-05-31")
        date = ""
    return date


def _subjects(keys: _Keys) -> list:
    subjects = keys.conf.get("subjects", [])
    if isinstance(subjects, str):
        subjects = [subjects]
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        keys.err("subjects", "'subjects' must be a list of strings", 'write subjects = ["History"]')
        subjects = []
    if any(not s.strip() for s in subjects):
        keys.err("subjects", "'subjects' holds an empty subject", 'remove the "" from the list')
    return [s.strip() for s in subjects if s.strip()]


def _page_size(keys: _Keys, override: str | None) -> PageSize:
    value = override or keys.conf.get("page-size", "A5")
    size = parse_page_size(value)
    if size is not None:
        return size
    if override:
        keys.problems.error(None, f"page size '{override}' is not a preset or a size", hint=PAGE_SIZE_HINT)
    else:
        keys.err("page-size", f"page size '{value}' is not a preset or a size", PAGE_SIZE_HINT)
    return PAGE_SIZES["a5"]


def _cover(keys: _Keys, root: Path, safe_path) -> Path | None:
    from .load_paths import cover_problem
    value = keys.string("cover")
    if not value:
        return None
    cover = safe_path(root, root, value, keys.toml.path, key_line(keys.toml.text, "cover"), keys.problems,
                      what="cover")
    if cover is None:
        return None
    if not cover.is_file():
        keys.err("cover", f"cover '{value}' not found", "check the path, relative to the book folder")
        return None
    if cover.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        keys.err("cover", f"cover '{value}' must be a JPEG or PNG image", "convert the cover to JPEG")
        return None
    problem = cover_problem(cover)
    if problem:
        keys.err("cover", f"cover '{value}' {problem[0]}", problem[1])
        return None
    return cover


def _chapter_list(keys: _Keys) -> list:
    chapter_list = keys.conf.get("chapters")
    if chapter_list is None:
        keys.problems.error(keys.toml.path, "required key 'chapters' is missing", None,
                            'list the chapter files in reading order: chapters = ["chapters/one.md"]')
        return []
    if not isinstance(chapter_list, list) or not all(isinstance(c, str) for c in chapter_list):
        keys.err("chapters", "'chapters' must be a list of file names", 'write chapters = ["chapters/one.md"]')
        return []
    if not chapter_list:
        keys.err("chapters", "'chapters' is empty", "list at least one Markdown file")
    return chapter_list

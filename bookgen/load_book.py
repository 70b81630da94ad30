"""Read and check a whole book folder into one `Book`, collecting every problem before giving up."""
from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
import uuid
from pathlib import Path

import yaml

from . import lenient, limits, mdbook
from . import markdown as mdown
from .direction import book_direction
from .errors import BookError, Problem, Problems
from .fonts import book_fonts
from .i18n import book_strings
from .long_notes import defer_long_notes
from .publishing import isbn_urn, publishing_keys
from .model import SECTION_TYPES, Author, Book, Chapter, Heading, Image, Metadata, Note, PageSize

BOOK_KEYS = {
    "title", "subtitle", "authors", "author", "language", "identifier", "publisher", "date", "rights",
    "description", "subjects", "edition", "page-size", "cover", "cover-alt", "chapters",
    "direction", "strings", "fonts",
    "chapter-open", "isbn", "paper",
}
CHAPTER_KEYS = {"title", "subtitle", "id", "type"}

# Trim sizes and margins (top, outer, bottom, inner) that suit them.
PAGE_SIZES = {
    "a5": PageSize("A5", "148mm", "210mm", ("17mm", "15mm", "20mm", "19mm")),
    "a4": PageSize("A4", "210mm", "297mm", ("28mm", "40mm", "34mm", "45mm")),  # about 70 characters a line
    "letter": PageSize("Letter", "8.5in", "11in", ("1.1in", "1.6in", "1.3in", "1.75in")),
    "trade": PageSize("Trade", "6in", "9in", ("0.7in", "0.6in", "0.8in", "0.75in")),
}
PAGE_SIZE_ALIASES = {"us-letter": "letter", "us-trade": "trade", "6x9": "trade", "6x9in": "trade"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".svg": "image/svg+xml", ".webp": "image/webp"}
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)(mm|cm|in|pt)\s+(\d+(?:\.\d+)?)(mm|cm|in|pt)\s*$")


# Characters XML (so XHTML, so the EPUB) cannot hold, and nothing can print: C0 controls but tab and line breaks.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def visible(text: str) -> bool:
    """Whether a title has something to print: not only spaces and invisible characters (soft hyphens...)."""
    import unicodedata
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Mn") for ch in text)


def ctext_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


def char_name(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def key_line(text: str, key: str) -> int | None:
    m = re.search(r"^[ \t]*\"?" + re.escape(key) + r"\"?[ \t]*=", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


def suggest(key: str, known) -> str | None:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _command() -> str:
    from .cli import command
    return command()


def parse_page_size(value: str) -> PageSize | None:
    name = str(value).strip().lower()
    name = PAGE_SIZE_ALIASES.get(name, name)
    if name in PAGE_SIZES:
        return PAGE_SIZES[name]
    m = _LENGTH.match(str(value))
    if not m:
        return None
    w, h = f"{m.group(1)}{m.group(2)}", f"{m.group(3)}{m.group(4)}"
    to_mm = {"mm": 1, "cm": 10, "in": 25.4, "pt": 25.4 / 72}
    short = min(float(m.group(1)) * to_mm[m.group(2)], float(m.group(3)) * to_mm[m.group(4)])
    if short < 60:
        return None
    margin = max(12.0, round(short * 0.1, 1))
    return PageSize("custom", w, h, (f"{margin}mm", f"{margin}mm", f"{margin * 1.2:.1f}mm", f"{margin * 1.15:.1f}mm"))


def valid_language(tag: str) -> bool:
    import langcodes
    return bool(re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", tag)) and langcodes.tag_is_valid(tag)


def source_date(paths) -> dt.datetime:
    """The sources' date: SOURCE_DATE_EPOCH when set (reproducible builds), else the newest source file."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    newest = max((p.stat().st_mtime for p in paths if p.exists()), default=0)
    return dt.datetime.fromtimestamp(int(newest), dt.timezone.utc)


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


def split_front_matter(text: str):
    """Return (format, front matter text, body, number of lines before the body)."""
    for fence, kind in (("---", "yaml"), ("+++", "toml")):
        if text.startswith(fence + "\n") or text.startswith(fence + "\r\n"):
            lines = text.splitlines(keepends=True)
            for i in range(1, len(lines)):
                if lines[i].rstrip() == fence:
                    return kind, "".join(lines[1:i]), "".join(lines[i + 1:]), i + 1
            return kind, None, text, 0
    return None, "", text, 0


def load_book(root: Path | str, strict: bool = False, page_size: str | None = None) -> Book:
    root = Path(root)
    problems = Problems(strict)
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

    def err(key, message, hint=None):
        problems.error(toml_path, message, key_line(text, key), hint)

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, dict):
            for v in value.values():
                yield from strings(v)

    def cleaned(value):
        if isinstance(value, str):
            return NOT_XML.sub("", value) or "?"  # "?": not reported once more as empty
        if isinstance(value, list):
            return [cleaned(v) for v in value]
        if isinstance(value, dict):
            return {k: cleaned(v) for k, v in value.items()}
        return value

    for key, value in list(conf.items()):
        bad = next((m.group(0) for v in strings(value) for m in [NOT_XML.search(v)] if m), None)
        if bad is not None:
            err(key, f"'{key}' contains the control character {char_name(bad)}, which a book cannot hold",
                "remove it (it is invisible; it may come from a copy and paste)")
            conf[key] = cleaned(value)

    preprocess = None
    if mdbook.is_mdbook(conf):  # an mdBook project, read as it is (bookgen/mdbook.py)
        conf, preprocess = mdbook.adapt(root, conf, problems, toml_path)

    for key in conf:
        if key not in BOOK_KEYS:
            err(key, f"unknown key '{key}'", suggest(key, BOOK_KEYS) or "see the README for the keys of book.toml")

    def string(key, required=False, default=""):
        value = conf.get(key, None)
        if value is None:
            if required:
                problems.error(toml_path, f"required key '{key}' is missing", None, f"add {key} = \"...\"")
            return default
        if not isinstance(value, str):
            err(key, f"'{key}' must be a string", f'write {key} = "..."')
            return default
        if required and not value.strip():
            err(key, f"'{key}' is empty", f"give the book a {key}")
        return value.strip()

    title = string("title", required=True)
    language = string("language", required=True)
    if language and not valid_language(language):
        err("language", f"'{language}' is not a valid BCP 47 language tag",
            "use a tag like en, en-US, fr or pt-BR" + (" (a hyphen, not an underscore)" if "_" in language else ""))
    direction = book_direction(conf.get("direction"), language, err)
    own_strings, own_fonts = book_strings(conf.get("strings"), err), book_fonts(conf.get("fonts"), err)

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
        problems.warn(toml_path, "no author given", key_line(text, "authors"), 'add authors = ["Name"]')

    date = conf.get("date", "")
    if isinstance(date, (dt.date, dt.datetime)):
        date = date.isoformat()[:10]
    elif date and not (isinstance(date, str) and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", date)):
        err("date", f"date {date!r} is not a date", "write date = 2024-05-31")
        date = ""

    subjects = conf.get("subjects", [])
    if isinstance(subjects, str):
        subjects = [subjects]
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        err("subjects", "'subjects' must be a list of strings", 'write subjects = ["History"]')
        subjects = []
    if any(not s.strip() for s in subjects):
        err("subjects", "'subjects' holds an empty subject", 'remove the "" from the list')
    subjects = [s.strip() for s in subjects if s.strip()]

    size_value = page_size or conf.get("page-size", "A5")
    size = parse_page_size(size_value)
    if size is None:
        if page_size:
            problems.error(None, f"page size '{page_size}' is not a preset or a size",
                           hint="use A5, A4, Letter, Trade (6x9in) or a size like '140mm 216mm'")
        else:
            err("page-size", f"page size '{size_value}' is not a preset or a size",
                "use A5, A4, Letter, Trade (6x9in) or a size like '140mm 216mm'")
        size = PAGE_SIZES["a5"]

    identifier = string("identifier")
    isbn, chapter_open, paper = publishing_keys(conf, string, err)
    if isbn:
        identifier = isbn_urn(isbn)  # the EPUB's identifier is the ISBN (book.toml `isbn`)
    if not identifier:
        # stable across builds: derived from what identifies the book
        seed = title + "|" + "|".join(a.name for a in authors)
        identifier = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"

    cover = None
    cover_value = string("cover")
    if cover_value:
        cover = safe_path(root, root, cover_value, toml_path, key_line(text, "cover"), problems, what="cover")
        if cover is not None and not cover.is_file():
            err("cover", f"cover '{cover_value}' not found", "check the path, relative to the book folder")
            cover = None
        elif cover is not None and cover.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            err("cover", f"cover '{cover_value}' must be a JPEG or PNG image", "convert the cover to JPEG")
            cover = None
        elif cover is not None:
            problem = cover_problem(cover)
            if problem:
                err("cover", f"cover '{cover_value}' {problem[0]}", problem[1])
                cover = None

    # Chapters
    chapter_list = conf.get("chapters")
    if chapter_list is None:
        problems.error(toml_path, "required key 'chapters' is missing", None,
                       'list the chapter files in reading order: chapters = ["chapters/one.md"]')
        chapter_list = []
    elif not isinstance(chapter_list, list) or not all(isinstance(c, str) for c in chapter_list):
        err("chapters", "'chapters' must be a list of file names", 'write chapters = ["chapters/one.md"]')
        chapter_list = []
    elif not chapter_list:
        err("chapters", "'chapters' is empty", "list at least one Markdown file")

    md = mdown.make_parser(language or "en", direction)
    unknown_keys = lenient.KeyReport()  # front-matter keys of other tools: one warning per key
    raw = []  # (path, front matter dict, body, line offset)
    used_ids: set[str] = set()
    sources = [toml_path] + ([cover] if cover is not None else [])  # the cover's date counts as the book's
    listed: list[Path] = []  # every listed chapter that exists
    broken: set[Path] = set()  # listed chapters that could not be read (links to them are not reported)
    chapter_line = key_line(text, "chapters")
    named = {Path(os.path.normpath(root.resolve() / e)) for e in chapter_list}  # as listed, links unresolved
    virtual = preprocess.virtual if preprocess is not None else {}
    for entry in chapter_list:
        if entry in virtual:  # a page mdBook's SUMMARY.md makes (a part's title): no file behind it
            path = Path(os.path.normpath(root.resolve() / entry))
            listed.append(path)
            ctext = virtual[entry]
        else:
            path = safe_path(root, root, entry, toml_path, _list_line(text, entry) or chapter_line, problems,
                             what="chapter")
            if path is None:
                continue
            if not path.is_file():
                problems.error(toml_path, f"chapter '{entry}' is listed but not found",
                               _list_line(text, entry) or chapter_line,
                               f"create {entry} or remove it from chapters")
                continue
            if path in listed:
                problems.error(toml_path, f"chapter '{entry}' is listed twice", chapter_line, "list each chapter once")
                continue
            listed.append(path)
            sources.append(path)
            broken.add(path)  # until it has been read
            nbytes, most = path.stat().st_size, limits.chapter_bytes()
            if nbytes > most:  # a 50 MB chapter ran for 5 minutes at 2.9 GB
                problems.error(path, f"chapter is {nbytes / 1e6:.1f} MB, more than the {most / 1e6:g} MB the build reads "
                               "in one chapter", None, f"split it into several chapters, or set {limits.CHAPTER_MB_VAR} "
                               "to allow more")
                continue
            try:
                ctext = path.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as e:
                problems.error(path, f"not UTF-8 text ({e.reason} at byte {e.start})", None, "save the file as UTF-8")
                continue
            except OSError as e:
                problems.error(path, f"cannot be read: {e.strerror}", None, "check the file's permissions")
                continue
            if preprocess is not None:
                ctext = preprocess(path, ctext, problems)
        bad = list(NOT_XML.finditer(ctext))
        if bad:
            for m in bad[:3]:
                line = ctext.count("\n", 0, m.start()) + 1
                col = m.start() - (ctext.rfind("\n", 0, m.start()) + 1) + 1
                problems.error(path, f"control character {char_name(m.group(0))} at column {col}, which a book "
                               "cannot hold", line, "remove it (it is invisible; it may come from a copy and paste)")
            continue
        kind, fm_text, body, offset = split_front_matter(ctext)
        fm = {}
        if fm_text is None:
            problems.error(path, "front matter is not closed", 1,
                           f"end the front matter with a line holding only {'---' if kind == 'yaml' else '+++'}")
            continue
        if kind == "yaml":
            try:
                fm = yaml.safe_load(fm_text) or {}
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                context = getattr(e, "context_mark", None)
                problem = getattr(e, "problem", None) or str(e)
                if mark and context and getattr(e, "context", None) and mark.line >= fm_text.count("\n"):
                    # the parser ran to the end: point at what was left open
                    mark, problem = context, f"{e.context}: {problem}"
                where = f" (column {mark.column + 1})" if mark else ""
                problems.error(path, f"front matter is not valid YAML: {problem}{where}",
                               min(mark.line + 2, offset) if mark else 1,
                               "write one `key: value` per line; quote a value that holds a colon or brackets")
                continue
        elif kind == "toml":
            try:
                fm = tomllib.loads(fm_text)
            except tomllib.TOMLDecodeError as e:
                msg, line, _ = toml_error(e, fm_text)
                problems.error(path, f"front matter is not valid TOML: {msg}", line + 1,
                               'write one `key = "value"` per line')
                continue
        if not isinstance(fm, dict):
            problems.error(path, "front matter must be a set of `key: value` lines", 2)
            continue
        bad_keys = [k for k, v in fm.items() if isinstance(v, str) and NOT_XML.search(v)]
        for key in bad_keys:
            bad = NOT_XML.search(fm[key]).group(0)
            problems.error(path, f"front matter '{key}' contains the control character {char_name(bad)}, which a "
                           "book cannot hold", _fm_line(ctext, key), "remove it (it may be written as an escape)")
        if bad_keys:
            continue
        for key in fm:
            if key not in CHAPTER_KEYS and key not in lenient.SUBTITLE_KEYS:
                unknown_keys.add(key, path, _fm_line(ctext, key))
        if fm.get("id"):  # the author's: checked, never changed
            cid = str(fm["id"])
            if not re.fullmatch(CHAPTER_ID, cid):
                problems.error(path, f"chapter id '{cid}' is not a valid id", _fm_line(ctext, "id"),
                               "use letters, digits and hyphens, starting with a letter")
            if cid in used_ids:
                problems.error(path, f"chapter id '{cid}' is used by another chapter", _fm_line(ctext, "id"),
                               "give this chapter its own `id:` in the front matter")
        else:
            cid = _file_id(path, len(listed), used_ids)
        used_ids.add(cid)
        broken.discard(path)
        raw.append((path, fm, body, offset, cid))

    unknown_keys.report(problems, CHAPTER_KEYS, lambda k, known: suggest(str(k), known),
                        lambda p: mdown_rel(root.resolve(), p.resolve()))
    # Markdown files beside the chapters that the book does not list
    for folder in sorted({p.parent for p in listed}):
        for p in sorted(folder.glob("*.md")):
            if p not in listed and p not in named and p.name.lower() not in ("readme.md", "summary.md"):
                problems.warn(p, "Markdown file is not listed in book.toml's chapters, so it is not in the book",
                              None, "add it to chapters, or move it out of the folder")

    # Parse every chapter, then give every heading a book-wide unique id (chapter ids first).
    parsed = []
    removed_html, unwrapped_html = [], []  # (element, path, line): reported once per element
    claimed = set(used_ids)
    slug_maps = {}
    repeated_title = []  # chapters that start with the book's title, then their own
    running = _running_title(raw, title)
    for path, fm, body, offset, cid in raw:
        p = mdown.parse(md, body, offset)
        ctitle = fm.get("title")
        if isinstance(ctitle, (int, float)) and not isinstance(ctitle, bool):
            ctitle = str(ctitle)  # `title: 1984` is a title, not a number
        headings = list(p.headings)
        if (ctitle is None and len(headings) >= 2 and headings[0][0] == headings[1][0] == 1
                and _plain(headings[0][2]) in running):
            # the book's title repeated atop each chapter, then the chapter's own (`# Book` / `# Chapter 1`)
            first = p.tokens.index(headings[0][4])
            del p.tokens[first:first + 3]
            headings = headings[1:]
            repeated_title.append(path)
        if ctitle is None and headings and headings[0][0] == 1:
            ctitle = headings[0][2]
            first = p.tokens.index(headings[0][4])
            del p.tokens[first:first + 3]
            headings = headings[1:]
        if not isinstance(ctitle, str) or not ctitle.strip():
            problems.error(path, "chapter has no title", 1,
                           "add `title: ...` to the front matter, or start the file with `# Title`")
            ctitle = cid
        for n, (level, slug, htext, line, tok) in enumerate(headings):
            if level == 1:  # a valid book: printed as a section, with a warning
                problems.warn(path, f"a second level-1 heading '{htext}' in one chapter is set as a section", line,
                              "each file is one chapter with one title: use ## for its sections")
                _demote(p.tokens, tok)
                headings[n] = (2, slug, htext, line, tok)
        # two headings with one title: ids x, x-1, x-2 (the anchors plugin numbers them as GitHub does)
        slug_map = {}
        for level, slug, htext, line, tok in headings:
            gid = slug if slug not in claimed else f"{cid}-{slug}"
            n = 2
            while gid in claimed:
                gid, n = f"{cid}-{slug}-{n}", n + 1
            claimed.add(gid)
            slug_map[slug] = gid
            tok.attrs["id"] = gid
        # links written for GitHub (its slugs keep accents and repeated hyphens) reach the same headings
        for gh, (level, slug, htext, line, tok) in zip(lenient.github_slugs(h[2] for h in headings), headings):
            slug_map.setdefault(gh, tok.attrs["id"])
        for level, slug, htext, line, tok in headings:  # `## Title {#id}`: #id links to it
            if tok.meta.get("custom_id"):
                slug_map.setdefault(tok.meta["custom_id"], tok.attrs["id"])
        for alias in (mdown.slugify(ctitle), lenient.github_slug(ctitle)):  # the title's slugs: the chapter
            slug_map.setdefault(alias, f"{cid}-title")
        slug_maps[cid] = slug_map
        part_page = str(fm.get("type", "")).lower() == "part"  # a part divider: its title is its content
        if not part_page and (not body.strip() or not (p.tokens and any(t.type != "footnote_block_open"
                                                                        for t in p.tokens))):
            problems.error(path, "chapter is empty", offset + 1, "write some text, or remove it from chapters")
        removed_html += [(what, path, line) for what, line in p.removed]
        unwrapped_html += [(what, path, line) for what, line in p.unwrapped]
        for depth, line in p.too_deep:
            problems.error(path, f"raw HTML nested {depth} elements deep: the build reads at most "
                           f"{mdown.PARSER_DEPTH} levels", line, "write it in Markdown, or with fewer nested elements")
        for src, alt, line in p.remote_images:
            if not alt.strip():
                problems.error(path, f"image '{src}' has no alt text", line,
                               "describe the image in the brackets: ![what it shows](...)")
            else:
                problems.warn(path, f"image '{src}' is remote: its description is printed in its place, linked to "
                              "it (the build makes no network request)", line,
                              "download the file into the book folder to print the image itself")
        for line, what, hint in lenient.foreign_syntax(body, offset):
            problems.warn(path, f"{what} is not Markdown this build reads: it is printed as text", line, hint)
        for label, line in p.undefined_notes:
            problems.error(path, f"footnote [^{label}] is referenced but not defined", line,
                           f"add a line `[^{label}]: the note's text`")
        for label, line in p.footnote_labels_unused:
            problems.error(path, f"footnote [^{label}] is defined but never referenced", line,
                           f"call it in the text with [^{label}], or delete the definition")
        for label, line in p.repeated_notes:
            problems.error(path, f"footnote [^{label}] is referenced more than once", line,
                           "a note is called once; write a second note for the second place")
        ctype = str(fm.get("type", "chapter")).lower()
        if ctype not in SECTION_TYPES:
            problems.error(path, f"unknown section type '{ctype}'", _fm_line(path.read_text(encoding="utf-8-sig"), "type"),
                           suggest(ctype, SECTION_TYPES) or "types are: " + ", ".join(sorted(SECTION_TYPES)))
            ctype = "chapter"
        subtitle = str(next((fm[k] for k in lenient.SUBTITLE_KEYS if fm.get(k)), "") or "").strip()
        # titles get the same typography as the text (curly quotes, dashes)
        ctitle, subtitle = (mdown.inline_text(md.renderInline(t.strip())) for t in (ctitle, subtitle))
        if not visible(ctitle):
            problems.error(path, "the chapter's title has no text that can be printed", _fm_line(ctext_of(path), "title")
                           or 1, "give the chapter a title in words")
            ctitle = cid
        for level, slug, htext, line, tok in p.headings:
            if not visible(mdown.inline_text(md.renderInline(htext))):
                problems.error(path, "heading has no text", line,
                               "write the heading's words after the #, or remove the line")
        parsed.append((path, cid, ctitle, subtitle, ctype, p))

    # Every id in the print edition is in one document: ids written in raw HTML must not collide.
    id_owner = {cid: (path, None) for path, fm, body, offset, cid in raw}
    for path, cid, ctitle, subtitle, ctype, p in parsed:
        own = set(slug_maps[cid].values()) | {f"{cid}-title"}
        own |= {f"{cid}-fn{n}" for n in range(1, p.notes_count + 1)} | {f"{cid}-fnref{n}" for n in
                                                                        range(1, p.notes_count + 1)}
        for i in own:
            id_owner.setdefault(i, (path, None))
        for rid, line in p.raw_ids:
            if rid in id_owner:
                opath, oline = id_owner[rid]
                first = "this chapter" if opath == path else mdown_rel(root.resolve(), opath.resolve())
                first += f" (line {oline})" if oline else ""
                problems.error(path, f"id '{rid}' is used twice in the book; it is already used in {first}", line,
                               "give the element its own id")
            else:
                id_owner[rid] = (path, line)

    if repeated_title:
        problems.warn(repeated_title[0], f"the book's title heads {len(repeated_title)} chapter(s) above the "
                      "chapter's own `#` title: it is not printed again", None,
                      "remove the line, or ignore this: the chapter's title is the next `#` heading")
    report_raw_html(removed_html, unwrapped_html, problems, lambda p: mdown_rel(root.resolve(), p.resolve()))
    # ids written in raw HTML can be linked to from other chapters too
    for path, cid, ctitle, subtitle, ctype, p in parsed:
        for rid, line in p.raw_ids:
            slug_maps[cid].setdefault(rid, rid)

    # Resolve links and images, then render.
    by_file = {r[0].resolve(): r[4] for r in raw}
    broken_files = {b.resolve() for b in broken}
    chapters = []
    images: dict[Path, Image] = {}
    for path, cid, ctitle, subtitle, ctype, p in parsed:
        for link in p.links:
            check_link(link, path, cid, by_file, slug_maps, problems, root, broken_files)
        for src, alt, line in p.images:
            img = check_image(root, path, src, alt, line, problems)
            if img is not None:
                images.setdefault(img.path, img)
                if img.path not in sources:
                    sources.append(img.path)

        def rewrite_href(href, path=path, cid=cid):
            return resolve_href(href, path, cid, by_file, slug_maps) or href

        def rewrite_src(src, path=path):
            target = (path.parent / mdown.href_parts(src)[1]).resolve()
            return images[target].href if target in images else src

        rendered = mdown.render(md, p, rewrite_href, rewrite_src)
        notes = tuple(Note(n + 1, f"{cid}-fn{n + 1}", f"{cid}-fnref{n + 1}", html)
                      for n, html in enumerate(rendered.notes))
        pieces = tuple(notes[x] if isinstance(x, int) else x for x in rendered.pieces)
        matter, role = SECTION_TYPES[ctype]
        headings = tuple(Heading(lvl, tok.attrs["id"], mdown.inline_text(md.renderInline(htext)))
                         for lvl, slug, htext, line, tok in p.headings if lvl > 1)
        chapters.append(Chapter(cid, path, ctitle, subtitle, ctype, matter, role, pieces, notes, headings))

    order = {"front": 0, "body": 1, "back": 2}
    for a, b in zip(chapters, chapters[1:]):
        if order[a.matter] > order[b.matter]:
            problems.error(toml_path, f"'{b.source.name}' ({b.type}) comes after '{a.source.name}' ({a.type})",
                           chapter_line, "list front matter first, then chapters, then back matter")
    if chapters and not any(c.matter == "body" for c in chapters):
        problems.error(toml_path, "the book has no body chapter", chapter_line,
                       "give at least one chapter type chapter (the default)")

    chapters = defer_long_notes(chapters, size, problems)  # notes too long for the foot of a page
    check_book_files(root, problems)
    # Report file by file (book.toml, then the chapters in reading order), each from its first line.
    rank = {toml_path: 0, **{p: n + 1 for n, p in enumerate(listed)}}
    problems.items.sort(key=lambda p: (rank.get(p.path, len(rank)), str(p.path), p.line or 0))
    problems.raise_if_errors()
    meta = Metadata(
        title=title, subtitle=string("subtitle"), authors=tuple(authors), language=language,
        identifier=identifier, publisher=string("publisher"), date=date,
        modified=source_date(sources).strftime("%Y-%m-%dT%H:%M:%SZ"),
        rights=string("rights"), description=string("description"), subjects=tuple(subjects),
        edition=string("edition"), page_size=size, cover=cover, cover_alt=string("cover-alt"),
        direction=direction, strings=own_strings, fonts=own_fonts,
        isbn=isbn, chapter_open=chapter_open, paper=paper,
    )
    return Book(root.resolve(), meta, tuple(chapters), tuple(images.values()), tuple(sources),
                tuple(problems.warnings))


def report_raw_html(removed, unwrapped, problems, rel):
    """One warning per raw HTML element the build does not keep, at its first place, with how many there are."""
    for found, message, default in ((removed, "is removed from the book", "a book is text: it runs no script, "
                                     "form or embedded content; remove it from the chapter"),
                                    (unwrapped, "is not kept (its text is)", "use Markdown or the HTML elements a "
                                     "book keeps (em, strong, span, div...)")):
        for what, places in lenient.count_elements(found).items():
            path, line = places[0]
            more = ""
            if len(places) > 1:
                others = sorted({rel(p) for p, _ in places})
                more = f" ({len(places)} times, in {', '.join(others[:3])}{' and more' if len(others) > 3 else ''})"
            problems.warn(path, f"raw HTML {what} {message}{more}", line,
                          mdown.REMOVED_WHY.get(what.strip("<>"), default))


def mdown_rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)




COVER_PIXELS = 40_000_000  # stores ask for about 1600 x 2560 (4 million); this allows 10x that


def cover_problem(path: Path):
    """(what is wrong, the hint) when the cover is not a real JPEG or PNG image of a sane size, else None. The
    header is read, not the pixels: a 20000 x 20000 image is refused before it takes gigabytes."""
    from PIL import Image, UnidentifiedImageError
    from .book_files import regular
    if not regular(path):
        return "is not a regular file", "point cover at an image file"
    if path.stat().st_size == 0:
        return "is an empty file", "export the cover image again"
    try:
        with Image.open(path) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return "is not an image (its content is not JPEG or PNG)", "export the cover as a JPEG or PNG image"
    except Image.DecompressionBombError:
        return "is far too large an image", "scale it down to about 1600 x 2560 pixels"
    if kind not in ("JPEG", "PNG"):
        return f"is a {kind} image, not JPEG or PNG", "convert the cover to JPEG"
    if width * height > COVER_PIXELS:
        return (f"is {width} x {height} pixels, more than the {COVER_PIXELS // 1_000_000} million pixels allowed",
                "scale it down to about 1600 x 2560 pixels, what the stores ask for")
    return None


def check_book_files(root: Path, problems: Problems):
    """The book's own templates and stylesheets: no symlink out of the book; every url() and @import in a
    stylesheet, at any depth of styles/, names a file inside the book (the PDF's URL fetcher refuses the rest, but
    in a layout process and without a line: here it gets one). CSS is read by tinycss2, so that an escaped
    `u\\72l(...)` is the url() it is."""
    from .book_files import check_folders, own_files
    check_folders(root, problems)
    for css in own_files(root, "styles", "**/*.css"):
        try:
            text = css.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as e:
            problems.error(css, f"cannot be read as UTF-8 text ({e})", None, "save the stylesheet as UTF-8")
            continue
        for url, line in css_urls(text):
            if url.startswith(("data:", "#")):
                continue
            target = safe_path(root, css.parent, url, css, line, problems, what="stylesheet url")
            if target is not None and not target.is_file():
                problems.error(css, f"url '{url}' not found", line, "check the path, relative to the stylesheet")


def css_urls(text: str) -> list[tuple[str, int]]:
    """(url, line) of every url() and @import of a stylesheet, as a CSS parser reads them."""
    import tinycss2
    found: list = []

    def walk(tokens):
        for t in tokens or ():
            if t.type == "url":
                found.append((t.value, t.source_line))
            elif t.type == "function":
                if t.lower_name == "url":
                    found.extend((a.value, t.source_line) for a in t.arguments if a.type == "string")
                walk(t.arguments)
            elif t.type in ("() block", "[] block", "{} block"):
                walk(t.content)
    for rule in tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            found.extend((t.value, rule.source_line) for t in rule.prelude if t.type == "string")
        if rule.type in ("at-rule", "qualified-rule"):
            walk(rule.prelude)
            walk(rule.content)
    return found


CHAPTER_ID = r"[A-Za-z][A-Za-z0-9_-]*"  # it names the chapter's EPUB file and is an XML id: ASCII only


def _file_id(path: Path, position: int, used: set) -> str:
    """A chapter's id from its file name, always valid and unique: a name in another script (`第一章.md`) gives
    `chapter-N` (its place in the list), and two files of one name in two folders (`part1/intro.md`,
    `part2/intro.md`) give `intro` and `intro-2`. A valid book is never refused for its file names."""
    cid = mdown.slugify(path.stem)
    if not re.fullmatch(CHAPTER_ID, cid):
        cid = f"chapter-{position}"
    base, n = cid, 2
    while cid in used:
        cid, n = f"{base}-{n}", n + 1
    return cid


def _plain(text) -> str:
    """A title as words only (markup, quotes and case aside), to see that two headings say the same."""
    return " ".join(re.sub(r"[^\w\s]", " ", str(text or "")).lower().split())


def _running_title(raw, title) -> set:
    """Headings that stand atop chapters as the book's title (`# Book: 2nd Edition` then `# Chapter 1`): the
    book.toml title, and any first `#` heading several chapters begin with."""
    from collections import Counter
    firsts = Counter()
    for _, _, body, _, _ in raw:
        m = re.match(r"\s*#[ \t]+(.+?)[ \t#]*\n", body)
        if m:
            firsts[_plain(m.group(1))] += 1
    return {_plain(title)} | {text for text, n in firsts.items() if n >= 2}


def _demote(tokens, open_token) -> None:
    """Set a level-1 heading as level 2 (its open and close tokens)."""
    i = tokens.index(open_token)
    for tok in (tokens[i], tokens[i + 2]):
        tok.tag = "h2"
        tok.markup = "##"


def _list_line(text: str, entry: str) -> int | None:
    """The line of a chapter's entry in book.toml's list."""
    m = re.search(r"""["']""" + re.escape(entry) + r"""["']""", text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _fm_line(text: str, key: str) -> int | None:
    m = re.search(r"^[ \t]*" + re.escape(str(key)) + r"[ \t]*[:=]", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


def safe_path(root: Path, base: Path, rel: str, source: Path, line, problems: Problems,
              what: str = "path") -> Path | None:
    """Resolve `rel` against `base`, refusing URLs, absolute paths and anything that leads outside the book."""
    scheme, path, _ = mdown.href_parts(rel)
    scheme = scheme.lower()
    if scheme in ("http", "https", "ftp"):
        problems.error(source, f"{what} '{rel}' is a remote URL; the build makes no network request", line,
                       "download the file into the book folder and use a path relative to it")
        return None
    if scheme == "file":
        problems.error(source, f"{what} '{rel}' is a file:// URL; the build reads only files inside the book folder",
                       line, "copy the file into the book folder and use a path relative to it")
        return None
    if scheme and not (len(scheme) == 1 and os.name == "nt"):
        problems.error(source, f"{what} '{rel}' is a {scheme}: URL; the build reads only files inside the book folder",
                       line, "save the file in the book folder and use a path relative to it")
        return None
    if not path or os.path.isabs(path) or path.startswith(("/", "\\")):
        problems.error(source, f"{what} '{rel}' is an absolute path", line, "use a path relative to the book folder")
        return None
    rroot = root.resolve()
    plain = Path(os.path.normpath(base.resolve() / path))
    if not plain.is_relative_to(rroot):
        problems.error(source, f"{what} '{rel}' leads outside the book folder", line,
                       "copy the file into the book folder ('..' may not leave it)")
        return None
    target = plain.resolve()
    if not target.is_relative_to(rroot):
        problems.error(source, f"{what} '{rel}' is a symlink to a file outside the book folder", line,
                       "copy the file into the book folder instead of linking to it")
        return None
    return target


def resolve_href(href, path, cid, by_file, slug_maps):
    """The print edition's URL for an internal link (`#id`), or None when it is external or unresolved."""
    scheme, target, frag = mdown.href_parts(href)
    if scheme:
        return None
    tcid = cid if not target else by_file.get((path.parent / target).resolve())
    if tcid is None:
        return None
    if not frag:
        return "#" + tcid
    gid = slug_maps.get(tcid, {}).get(frag)
    if gid is None and frag == tcid:
        gid = tcid
    if gid is None and tcid == cid:
        # an id the author wrote in raw HTML, or a note id
        return "#" + frag
    return "#" + gid if gid else None


def check_link(link, path, cid, by_file, slug_maps, problems, root=None, broken=frozenset()):
    href = link.href
    scheme, target, frag = mdown.href_parts(href)
    if scheme:
        if scheme.lower() not in ("http", "https", "mailto"):
            problems.error(path, f"link '{href}' uses a {scheme}: URL", link.line,
                           "only http, https and mailto links can leave the book")
        return
    if target:
        if os.path.isabs(target) or target.startswith(("/", "\\")):
            problems.error(path, f"link '{href}' is an absolute path", link.line,
                           "link to a chapter by its file name, relative to this chapter")
            return
        t = (path.parent / target).resolve()
        if root is not None and not Path(os.path.normpath(path.parent / target)).is_relative_to(root.resolve()):
            problems.error(path, f"link '{href}' leads outside the book folder", link.line,
                           "links inside a book go to its chapters (.md files) or to #ids")
            return
        if t in broken:
            return  # that chapter's own problem is reported
        if t not in by_file:
            if t.suffix.lower() == ".md" and t.exists():
                hint = f"add {target} to chapters in book.toml"
            elif t.suffix.lower() == ".md":
                hint = "check the file name (was the chapter renamed?)"
            else:
                hint = "links inside a book go to chapters (.md files) or to #ids"
            problems.error(path, f"link '{href}' goes to a file that is not a chapter of the book", link.line, hint)
            return
        tcid = by_file[t]
    else:
        tcid = cid
    if frag and frag != tcid and frag not in slug_maps.get(tcid, {}):
        if not target and _raw_id_exists(path, frag):
            return
        known = list(slug_maps.get(tcid, {}))
        problems.error(path, f"link '{href}' points to '#{frag}', which is not a heading of that chapter",
                       link.line, suggest(frag, known) or "link to a heading's id (its title in lower case, "
                                                          "words joined by hyphens)")


def _raw_id_exists(path: Path, frag: str) -> bool:
    return bool(re.search(r"""\bid\s*=\s*["']""" + re.escape(frag) + r"""["']""", path.read_text(encoding="utf-8-sig")))


def check_image(root, path, src, alt, line, problems) -> Image | None:
    if not alt.strip():
        problems.error(path, f"image '{src}' has no alt text", line,
                       "describe the image in the brackets: ![what it shows](...)")
    target = safe_path(root, path.parent, src, path, line, problems, what="image")
    if target is None:
        return None
    if not target.is_file():
        problems.error(path, f"image '{src}' not found", line, "check the path, relative to this chapter's file")
        return None
    media_type = IMAGE_TYPES.get(target.suffix.lower())
    if media_type is None:
        problems.error(path, f"image '{src}' is not a supported type", line,
                       "use PNG, JPEG, GIF, SVG or WebP")
        return None
    if media_type == "image/svg+xml":
        from .svg import BadSVG, clean_svg
        try:
            clean_svg(target.read_bytes())
        except BadSVG as e:
            problems.error(path, f"image '{src}' {e}", line, "export the figure again as plain SVG")
            return None
    if media_type != "image/svg+xml":
        from PIL import Image as PILImage
        try:
            with PILImage.open(target) as im:
                width, height = im.size
                im.verify()
                # the media type is the file's, whatever its name says (a .jpg that is a PNG)
                media_type = IMAGE_FORMATS.get(im.format, media_type)
        except PILImage.DecompressionBombError:
            width = height = 10 ** 6  # Pillow's own limit: reported below with the build's
        except Exception:
            problems.error(path, f"image '{src}' is not a readable {media_type.split('/')[1].upper()} file", line,
                           "re-export the image")
            return None
        limit = limits.image_pixels()
        if width * height > limit:  # a 12000 x 12000 PNG took 1.2 GB to lay out, without a word
            problems.error(path, f"image '{src}' is {width} x {height} pixels, more than the {limit:,} the build "
                           "takes", line, "scale it down (300 pixels per inch of print is plenty), or set "
                           f"{limits.IMAGE_PIXELS_VAR} to allow more")
            return None
    href = target.relative_to(root.resolve()).as_posix()
    return Image(target, href, media_type)

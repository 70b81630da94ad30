"""A Pandoc book read as it is: one or several Markdown files (`--book book.md`, `--book ch1.md ch2.md`).

The metadata comes from YAML blocks (`---` ... `---` or `...`; a later block's key wins, as in Pandoc) or from a
`%` title block (title, authors separated by `;`, date), mapped to book.toml's keys; keys this build does not use
are one warning. Each file is cut into chapters at its level-1 headings (`# Title {#id .class epub:type=...}`:
the id becomes the chapter's, an `epub:type` that names a section type its type); text before the first heading
is an opening section. A note defined anywhere in the files goes with the chapter that calls it. Every chapter
keeps its real file and line numbers, so problems point at what the author wrote.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from .book_shape import BookShape
from .chars import NOT_XML
from .fences import in_code
from .pandoc_syntax import parse_attrs

MARKDOWN_SUFFIXES = (".md", ".markdown", ".txt", ".pandoc", ".mdown")
METADATA_SUFFIXES = (".yml", ".yaml")  # a metadata file, as `pandoc metadata.yml ch1.md` or --metadata-file
# Pandoc's metadata fields -> book.toml's keys (book.toml's own names are read too)
FIELDS = {"title": "title", "subtitle": "subtitle", "author": "authors", "authors": "authors", "creator": "authors",
          "lang": "language", "language": "language", "dir": "direction", "date": "date", "rights": "rights",
          "copyright": "rights", "description": "description", "abstract": "description", "publisher": "publisher",
          "identifier": "identifier", "isbn": "isbn", "subject": "subjects", "subjects": "subjects",
          "keywords": "subjects", "cover-image": "cover", "cover": "cover", "cover-alt": "cover-alt",
          "page-size": "page-size", "edition": "edition", "chapter-open": "chapter-open", "paper": "paper"}
_ATX1 = re.compile(r"^ {0,3}#(?!#)[ \t]+(?P<text>.*?)[ \t]*$")
_SETEXT1 = re.compile(r"^ {0,3}=+[ \t]*$")
_ATTRS = re.compile(r"[ \t]*\{(?P<attrs>[^{}]*)\}[ \t]*$")
_NOTE_DEF = re.compile(r"^ {0,3}\[\^(?P<label>[^\]\s]+)\]:")
_NOTE_REF = re.compile(r"\[\^(?P<label>[^\]\s]+)\](?!:)")
CHAPTER_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def is_files(paths) -> bool:
    """Whether `--book` names Markdown files (a Pandoc book) rather than a book folder."""
    suffixes = MARKDOWN_SUFFIXES + METADATA_SUFFIXES
    return bool(paths) and all(Path(p).suffix.lower() in suffixes and not Path(p).is_dir() for p in paths) \
        and any(Path(p).suffix.lower() in MARKDOWN_SUFFIXES for p in paths)


class Source(BookShape):
    """The chapters cut from the files, all virtual: their text (line-aligned with the file: the lines before it
    blank), the file each comes from, and its id and type."""
    files_book = True
    lenient_links = True  # Pandoc builds a link to a missing heading dead: here it is its text


def adapt(root: Path, files: list, problems) -> tuple[dict, str, Source]:
    """(book.toml's keys, the metadata's text (for line numbers), the chapters) of the Pandoc book in `files`."""
    from . import limits
    missing = [path for path in files if not path.is_file()]
    if missing:
        from .errors import BookError, Problem
        raise BookError([Problem(path, "file not found", None, "check the path; --book takes a book folder, or "
                                 "Markdown files in reading order") for path in missing])
    meta, meta_text, texts, source_of_meta = {}, "", [], None
    for path in files:
        text = limits.read_chapter(path, problems, "file")
        if text is None:
            continue
        text = text.replace("\r\n", "\n")
        if path.suffix.lower() in METADATA_SUFFIXES:
            found = _metadata_file(path, text, problems)
            meta.update(found)
            source_of_meta = source_of_meta or (path if found else None)
            meta_text = meta_text or text
            continue
        found, text, block = metadata(path, text, problems)
        meta.update(found)
        source_of_meta = source_of_meta or (path if found else None)
        meta_text = meta_text or block
        texts.append((path, text))
    if not texts:  # (nothing could be read: those problems, not an empty book's)
        problems.raise_if_errors()
    markdown = [p for p in files if p.suffix.lower() not in METADATA_SUFFIXES]
    conf = settings(meta, source_of_meta or (markdown[0] if markdown else files[0]), problems)
    source = Source()
    chunks = []
    for k, (path, text) in enumerate(texts):
        cut = chapters(path, text)
        if k and cut and cut[0][2] is None and chunks:
            # a later file's text before its first heading goes on from the chapter before (Pandoc reads the
            # files as one text); its problems are reported at the lines of the earlier file's chapter
            before = chunks.pop()
            chunks.append((before[0], before[1], before[2], before[3] + "\n\n" + cut.pop(0)[3].strip("\n")))
        chunks += cut
    chunks = _notes_with_their_calls(chunks)
    chunks = _implicit_header_references(chunks)
    used: set = set()
    for n, (path, line, title_line, body) in enumerate(chunks, 1):
        entry = f"{path.relative_to(root.resolve()).as_posix()}#{n}"
        attrs = parse_attrs(_ATTRS.search(title_line).group("attrs")) if title_line and \
            _ATTRS.search(title_line) else {}
        front = {"id": _chapter_id(attrs.get("id"), title_line, n, used)}
        kind = attrs.get("epub:type") or next((c for c in attrs.get("classes", ()) if c in _TYPES), None)
        if kind in _TYPES:
            front["type"] = kind
        if title_line is None:  # text before the first heading: an opening section, titled as the book
            front.update(title=conf.get("title") or path.stem)
            if len(chunks) > 1:  # (a book with no `#` heading at all: this is its one chapter)
                front["type"] = "preface"
        source.virtual[entry] = "\n" * (line - 1) + body
        source.paths[entry] = path
        source.front[entry] = front
    conf["chapters"] = list(source.virtual)
    return conf, meta_text, source


def _metadata_file(path: Path, text: str, problems) -> dict:
    """A YAML metadata file (with or without its `---` lines)."""
    try:
        found = {}
        for document in yaml.safe_load_all(text):  # `---` ... `---`: YAML reads the fences as documents
            if isinstance(document, dict):
                found.update(document)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problems.error(path, f"not valid YAML: {getattr(e, 'problem', None) or e}", mark.line + 1 if mark else None,
                       "write one `key: value` per line; quote a value that holds a colon")
        return {}
    if not isinstance(found, dict):
        problems.error(path, "a metadata file holds `key: value` lines", 1)
        return {}
    return found


def metadata(path: Path, text: str, problems) -> tuple[dict, str, str]:
    """(the metadata, the text with its blocks blanked (same lines), the first block's text): YAML blocks
    anywhere (at the top, or after a blank line), or a `%` title block on the first lines."""
    lines = text.split("\n")
    meta, first_block = {}, ""
    if lines and lines[0].startswith("%"):
        n = 0
        fields = []
        while n < len(lines) and (lines[n].startswith("%") or (fields and lines[n][:1] in (" ", "\t"))):
            if lines[n].startswith("%"):
                fields.append(lines[n][1:].strip())
            else:
                fields[-1] += " " + lines[n].strip()
            n += 1
        for key, value in zip(("title", "author", "date"), fields):
            if value:
                meta[key] = [a.strip() for a in value.split(";") if a.strip()] if key == "author" else value
        first_block = "\n".join(lines[:n])
        lines[:n] = [""] * n
    i = 0
    while i < len(lines):
        if lines[i].rstrip() == "---" and (i == 0 or not lines[i - 1].strip()) and i + 1 < len(lines) \
                and lines[i + 1].strip():
            end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() in ("---", "...")), None)
            if end is not None:
                block = "\n".join(lines[i + 1:end])
                try:
                    found = yaml.safe_load(block)
                except yaml.YAMLError:
                    found = None  # a thematic break followed by text, not metadata
                if isinstance(found, dict):
                    meta.update(found)
                    first_block = first_block or "\n" * i + "\n".join(lines[i:end + 1])
                    lines[i:end + 1] = [""] * (end + 1 - i)
                    i = end + 1
                    continue
        i += 1
    return meta, "\n".join(lines), first_block


def settings(meta: dict, first: Path, problems) -> dict:
    """book.toml's keys from Pandoc's metadata; the fields this build does not use are one warning."""
    conf, unused = {}, []
    for key, value in meta.items():
        ours = FIELDS.get(str(key))
        if ours is None:
            unused.append(str(key))
            continue
        value = _plain(value, ours)
        if value not in (None, "", []):
            conf.setdefault(ours, value)
    if unused:
        problems.warn(first, f"metadata field(s) {', '.join(unused)} are not used by this build", None,
                      "the fields read are: " + ", ".join(sorted(set(FIELDS))))
    if not conf.get("title"):
        problems.warn(first, "the metadata has no title: the book is titled after the file", None,
                      "add `title: ...` to a YAML block at the top")
        conf["title"] = first.stem
    if not conf.get("authors"):
        problems.warn(first, "the metadata names no author", None, "add `author: Name` to a YAML block at the top")
        conf["authors"] = []
    if not conf.get("language"):
        problems.warn(first, "the metadata has no lang: the book is set as English", None,
                      "add `lang: en` (or the book's language) to a YAML block at the top")
        conf["language"] = "en"
    return conf


def _plain(value, key):
    """A metadata value as book.toml writes it: Pandoc's lists of {name}/{text} and dates made plain."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("text") or ""
    if key == "authors":
        items = value if isinstance(value, list) else [value]
        return [str(_plain(a, "")) for a in items if _plain(a, "")]
    if key == "subjects":
        items = value if isinstance(value, list) else re.split(r"\s*[,;]\s*", str(value))
        return [str(_plain(s, "")) for s in items if str(_plain(s, "")).strip()]
    if isinstance(value, list):
        if key in ("title", "subtitle"):  # EPUB-style [{type: main, text: ...}, {type: subtitle, ...}]
            value = next((v.get("text") for v in value if isinstance(v, dict)
                          and v.get("type", "main") == ("main" if key == "title" else "subtitle")), "")
        elif key in ("identifier", "rights", "description"):
            value = _plain(value[0], key) if value else ""
        else:
            value = " ".join(str(_plain(v, "")) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if key == "date" and isinstance(value, str) and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value.strip()):
        m = re.search(r"\b(1[5-9]\d\d|2\d\d\d)\b", value)  # "March 2024", "2024-03-01T10:00": its year
        return m.group(1) if m else ""
    if isinstance(value, bool):
        return None
    return NOT_XML.sub("", str(value)).strip() if value is not None else None


def chapters(path: Path, text: str) -> list:
    """[(file, first line, the title line or None, text)] cut at level-1 headings outside code blocks."""
    lines = text.split("\n")
    starts, code = [], in_code(lines)
    for i, line in enumerate(lines):
        if code[i]:
            continue
        if _ATX1.match(line):
            starts.append((i, line))
        elif _SETEXT1.match(line) and i > 0 and lines[i - 1].strip() and (i == 1 or not lines[i - 2].strip()):
            starts.append((i - 1, "# " + lines[i - 1].strip()))
    out = []
    if not starts or "\n".join(lines[:starts[0][0]]).strip():
        end = starts[0][0] if starts else len(lines)
        out.append((path, 1, None, "\n".join(lines[:end])))
    for k, (i, title) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        body = lines[i:end]
        if not lines[i].lstrip().startswith("#"):  # a setext title: written as an ATX line, same line count
            body = [title, ""] + body[2:]
        out.append((path, i + 1, title, "\n".join(body)))
    return out


def _notes_with_their_calls(chunks: list) -> list:
    """A note's definition moved to the chapter that calls it (Pandoc books keep them at the end of the file);
    the lines it leaves are blank, so the other lines keep their numbers."""
    defs: dict = {}  # label -> (chunk index, its lines)
    split = []
    for k, (path, line, title, body) in enumerate(chunks):
        lines = body.split("\n")
        code = in_code(lines)
        i = 0
        while i < len(lines):
            m = _NOTE_DEF.match(lines[i])
            if not m or code[i]:
                i += 1
                continue
            j = _note_end(lines, i)
            defs.setdefault(m.group("label"), (k, lines[i:j]))
            lines[i:j] = [""] * (j - i)
            i = j
        split.append(lines)
    first_call: dict = {}
    for k, lines in enumerate(split):
        for m in _NOTE_REF.finditer("\n".join(lines)):
            first_call.setdefault(m.group("label"), k)
    out = []
    for k, (path, line, title, _) in enumerate(chunks):
        lines = split[k]
        moved = [d for label, (home, d) in defs.items() if first_call.get(label, home) == k]
        for d in moved:
            lines = lines + [""] + d
        out.append((path, line, title, "\n".join(lines)))
    return out


_ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<text>.*?)[ \t#]*$")


def _implicit_header_references(chunks: list) -> list:
    """Pandoc's implicit header references: `[Heading text]` links to that heading, anywhere in the book. Each
    chapter gets a reference definition per heading after its text (an author's own definition comes first and
    wins; lines above keep their numbers)."""
    from .markdown import slugify
    titles: dict = {}
    for _, _, _, body in chunks:
        lines = body.split("\n")
        for line, code in zip(lines, in_code(lines)):
            h = _ATX.match(line) if not code else None
            if h:
                text = _ATTRS.sub("", h.group("text")).strip()
                if text and "]" not in text and "[" not in text and slugify(text):
                    titles.setdefault(text.lower(), (text, slugify(text)))
    if not titles:
        return chunks
    defs = "\n".join(f"[{text}]: #{slug}" for text, slug in titles.values())
    return [(path, line, title, body + "\n\n" + defs + "\n") for path, line, title, body in chunks]


def _note_end(lines, i) -> int:
    """The line after a note's definition that starts at `i`: its lazy continuation lines, and every paragraph
    after a blank line that is indented (Pandoc's rule for a note's further paragraphs)."""
    j = i + 1
    while j < len(lines):
        line = lines[j]
        if line.startswith(("    ", "\t")):
            j += 1
        elif line.strip() and not _NOTE_DEF.match(line) and lines[j - 1].strip():
            j += 1  # a lazy continuation of the paragraph
        elif not line.strip():
            k = j
            while k < len(lines) and not lines[k].strip():
                k += 1
            if k < len(lines) and lines[k].startswith(("    ", "\t")):
                j = k
            else:
                break
        else:
            break
    return j


def _chapter_id(wanted, title_line, n, used: set) -> str:
    from .markdown import slugify
    title = _ATTRS.sub("", _ATX1.match(title_line).group("text")) if title_line and _ATX1.match(title_line) else ""
    from .model import RESERVED_IDS
    for cid in (wanted, slugify(title) if title else None, f"chapter-{n}"):
        if cid and CHAPTER_ID.fullmatch(cid) and cid not in used and cid not in RESERVED_IDS:
            used.add(cid)
            return cid
    base, k = f"chapter-{n}", 2
    while f"{base}-{k}" in used:
        k += 1
    used.add(f"{base}-{k}")
    return f"{base}-{k}"


def _section_types():
    from .model import SECTION_TYPES
    return SECTION_TYPES


_TYPES = _section_types()

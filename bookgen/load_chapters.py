"""The chapter files book.toml lists, read in order: each one's text, front matter and id, every problem reported."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from . import lenient, limits
from . import markdown as mdown
from .book_toml import Settings, TomlFile, suggest
from .chars import NOT_XML, char_name
from .front_matter import CHAPTER_KEYS, fm_line, read_front_matter
from .load_paths import rel_name, safe_path

CHAPTER_ID = r"[A-Za-z][A-Za-z0-9_-]*"  # it names the chapter's EPUB file and is an XML id: ASCII only


class RawChapter(NamedTuple):
    path: Path
    fm: dict  # its front matter
    body: str  # the Markdown after the front matter
    offset: int  # lines before the body
    cid: str  # the chapter's id


@dataclass
class ReadChapters:
    raw: list = field(default_factory=list)  # RawChapter, in reading order
    listed: list = field(default_factory=list)  # every listed chapter that exists
    broken: set = field(default_factory=set)  # listed chapters that could not be read (links to them: not reported)
    sources: list = field(default_factory=list)  # the files read
    ids: set = field(default_factory=set)  # the chapters' ids


def read_chapters(root: Path, toml: TomlFile, settings: Settings, problems) -> ReadChapters:
    out = ReadChapters()
    unknown_keys = lenient.KeyReport()  # front-matter keys of other tools: one warning per key
    named = {Path(os.path.normpath(root.resolve() / e)) for e in settings.chapters}  # as listed, links unresolved
    shape = toml.preprocess  # (bookgen/book_shape.py)
    virtual, real, given = shape.virtual, shape.paths, shape.front
    for entry in settings.chapters:
        if entry in virtual:  # a part page of mdBook's SUMMARY.md, or a chapter cut from a Pandoc file
            path = real.get(entry) or Path(os.path.normpath(root.resolve() / entry))
            out.listed.append(path)
            if entry in real and path not in out.sources:
                out.sources.append(path)
            ctext = virtual[entry]
        else:
            path, ctext = _read_listed(root, toml, settings, entry, out, problems)
            if ctext is None:
                continue
        if _control_characters(path, ctext, problems):
            continue
        front = read_front_matter(path, ctext, problems)
        if front is None:
            continue
        fm, body, offset = front
        fm = {**given.get(entry, {}), **fm}
        for key in fm:
            if key not in CHAPTER_KEYS and key not in lenient.SUBTITLE_KEYS and key not in given.get(entry, {}):
                unknown_keys.add(key, path, fm_line(ctext, key))
        cid = _chapter_id(path, fm, ctext, len(out.listed), out.ids, problems)
        out.ids.add(cid)
        out.broken.discard(path)
        out.raw.append(RawChapter(path, fm, body, offset, cid))
    unknown_keys.report(problems, CHAPTER_KEYS, lambda k, known: suggest(str(k), known),
                        lambda p: rel_name(root.resolve(), p.resolve()))
    if not toml.preprocess.files_book:  # a Pandoc book's folder may hold anything
        _unlisted(out.listed, named, problems, toml.preprocess.listing)
    return out


def _read_listed(root, toml, settings, entry, out, problems):
    """(path, text) of a listed chapter file, or (path, None) when it cannot be read (reported)."""
    line = _list_line(toml.text, entry) or settings.chapters_line
    path = safe_path(root, root, entry, toml.path, line, problems, what="chapter")
    if path is None:
        return None, None
    if not path.is_file():
        problems.error(toml.path, f"chapter '{entry}' is listed but not found", line,
                       f"create {entry} or remove it from chapters")
        return path, None
    if path in out.listed:
        problems.error(toml.path, f"chapter '{entry}' is listed twice", settings.chapters_line,
                       "list each chapter once")
        return path, None
    out.listed.append(path)
    out.sources.append(path)
    out.broken.add(path)  # until it has been read
    ctext = limits.read_chapter(path, problems)
    if ctext is None:
        return path, None
    ctext = toml.preprocess(path, ctext, problems)
    return path, ctext


def _control_characters(path: Path, ctext: str, problems) -> bool:
    """Report (up to three) characters a book cannot hold; True when there are any."""
    bad = list(NOT_XML.finditer(ctext))
    for m in bad[:3]:
        line = ctext.count("\n", 0, m.start()) + 1
        col = m.start() - (ctext.rfind("\n", 0, m.start()) + 1) + 1
        problems.error(path, f"control character {char_name(m.group(0))} at column {col}, which a book "
                       "cannot hold", line, "remove it (it is invisible; it may come from a copy and paste)")
    return bool(bad)


def _chapter_id(path, fm, ctext, position, used, problems) -> str:
    if not fm.get("id"):
        return file_id(path, position, used)
    cid = str(fm["id"])  # the author's: checked, never changed
    if not re.fullmatch(CHAPTER_ID, cid):
        problems.error(path, f"chapter id '{cid}' is not a valid id", fm_line(ctext, "id"),
                       "use letters, digits and hyphens, starting with a letter")
    if cid in used:
        problems.error(path, f"chapter id '{cid}' is used by another chapter", fm_line(ctext, "id"),
                       "give this chapter its own `id:` in the front matter")
    from .model import RESERVED_IDS
    if cid in RESERVED_IDS:
        problems.error(path, f"chapter id '{cid}' is the id of a page the build makes (the contents, the title "
                       "page...)", fm_line(ctext, "id"), f"choose another id, such as '{cid}-chapter'")
    return cid


def file_id(path: Path, position: int, used: set) -> str:
    """A chapter's id from its file name, always valid and unique: a name in another script (`第一章.md`) gives
    `chapter-N` (its place in the list), and two files of one name in two folders (`part1/intro.md`,
    `part2/intro.md`) give `intro` and `intro-2`. A valid book is never refused for its file names."""
    from .model import RESERVED_IDS
    cid = mdown.slugify(path.stem)
    if not re.fullmatch(CHAPTER_ID, cid):
        cid = f"chapter-{position}"
    if cid in RESERVED_IDS:  # toc.md, copyright.md: the generated pages have these ids
        cid = f"{cid}-chapter"
    base, n = cid, 2
    while cid in used:
        cid, n = f"{base}-{n}", n + 1
    return cid


def _unlisted(listed, named, problems, listing=None) -> None:
    """Markdown files beside the chapters that the book does not list (in book.toml, or `listing`)."""
    where, hint = (f"in {listing}", f"add it to {listing}") if listing else ("in book.toml's chapters",
                                                                            "add it to chapters")
    for folder in sorted({p.parent for p in listed}):
        for p in sorted(folder.glob("*.md")):
            if p not in listed and p not in named and p.name.lower() not in ("readme.md", "summary.md"):
                problems.warn(p, f"Markdown file is not listed {where}, so it is not in the book", None,
                              f"{hint}, or move it out of the folder")


def _list_line(text: str, entry: str) -> int | None:
    """The line of a chapter's entry in book.toml's list."""
    m = re.search(r"""["']""" + re.escape(entry) + r"""["']""", text)
    return text.count("\n", 0, m.start()) + 1 if m else None

"""Read and check a whole book folder into one `Book`, collecting every problem before giving up.

The driver over small readers, in order: book.toml (book_toml.py) -> the chapter files (load_chapters.py, with
front_matter.py) -> each chapter parsed, titled and its headings given ids (load_headings.py) -> links and
pictures checked and resolved (load_links.py, load_paths.py) -> each chapter rendered -> the `Book`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

from . import book_toml, lenient
from . import markdown as mdown
from .book_toml import suggest
from .errors import Problems
from .front_matter import fm_line
from .load_chapters import read_chapters
from .load_headings import check_raw_ids, link_raw_ids, parse_chapters, visible_title
from .load_links import check_link, report_pages_elsewhere, resolve_href
from .load_paths import check_book_files, check_image, rel_name
from .long_notes import defer_long_notes
from .model import SECTION_TYPES, Book, Chapter, Heading, Image, Metadata, Note


def source_date(paths) -> dt.datetime:
    """The sources' date: SOURCE_DATE_EPOCH when set (reproducible builds), else the newest source file."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    newest = max((p.stat().st_mtime for p in paths if p.exists()), default=0)
    return dt.datetime.fromtimestamp(int(newest), dt.timezone.utc)


def load_book(root: Path | str, strict: bool = False, page_size: str | None = None, files=()) -> Book:
    """`files`: a Pandoc book's Markdown files, in order (`root` is the folder that holds them)."""
    root = Path(root)
    problems = Problems(strict)
    toml = book_toml.read(root, problems, files)
    settings = book_toml.settings(toml, problems, root, page_size)
    md = mdown.make_parser(settings.language or "en", settings.direction)
    read = read_chapters(root, toml, settings, problems)
    sources = [toml.path] + ([settings.cover] if settings.cover is not None else [])  # the cover's date counts
    sources += read.sources
    parsed, repeated_title = parse_chapters(md, read.raw, settings.title, problems)
    removed_html, unwrapped_html = [], []  # (element, path, line): reported once per element
    for r, c in zip(read.raw, parsed):
        _check_chapter(md, r, c, problems)
        removed_html += [(what, c.path, line) for what, line in c.parsed.removed]
        unwrapped_html += [(what, c.path, line) for what, line in c.parsed.unwrapped]
    check_raw_ids(root, read.raw, parsed, problems)
    if repeated_title:
        problems.warn(repeated_title[0], f"the book's title heads {len(repeated_title)} chapter(s) above the "
                      "chapter's own `#` title: it is not printed again", None,
                      "remove the line, or ignore this: the chapter's title is the next `#` heading")
    report_raw_html(removed_html, unwrapped_html, problems, lambda p: rel_name(root.resolve(), p.resolve()))
    link_raw_ids(parsed)
    chapters, images = _render(root, md, read, parsed, problems,
                               lenient=toml.preprocess.lenient_links)
    sources += [path for path in images if path not in sources]
    chapters = _check_order(toml.path, settings.chapters_line, chapters, problems,
                            lenient=toml.preprocess.files_book)
    chapters = defer_long_notes(chapters, settings.page_size, problems)  # notes too long for the foot of a page
    check_book_files(root, problems)
    # Report file by file (book.toml, then the chapters in reading order), each from its first line.
    rank = {toml.path: 0, **{p: n + 1 for n, p in enumerate(read.listed)}}
    problems.items.sort(key=lambda p: (rank.get(p.path, len(rank)), str(p.path), p.line or 0))
    problems.raise_if_errors()
    s = settings
    meta = Metadata(
        title=s.title, subtitle=s.subtitle, authors=s.authors, language=s.language,
        identifier=s.identifier, publisher=s.publisher, date=s.date,
        modified=source_date(sources).strftime("%Y-%m-%dT%H:%M:%SZ"),
        rights=s.rights, description=s.description, subjects=s.subjects,
        edition=s.edition, page_size=s.page_size, cover=s.cover, cover_alt=s.cover_alt,
        direction=s.direction, strings=s.strings, fonts=s.fonts,
        isbn=s.isbn, chapter_open=s.chapter_open, paper=s.paper,
    )
    return Book(root.resolve(), meta, tuple(chapters), tuple(images.values()), tuple(sources),
                tuple(problems.warnings))


def _check_chapter(md, raw, c, problems) -> None:
    """A parsed chapter's own problems; sets its type, subtitle and printable title."""
    path, fm, body, offset, p = c.path, raw.fm, raw.body, raw.offset, c.parsed
    part_page = str(fm.get("type", "")).lower() == "part"  # a part divider: its title is its content
    if not part_page and (not body.strip() or not (p.tokens and any(t.type != "footnote_block_open"
                                                                    for t in p.tokens))):
        problems.error(path, "chapter is empty", offset + 1, "write some text, or remove it from chapters")
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
        problems.error(path, f"unknown section type '{ctype}'", fm_line(path.read_text(encoding="utf-8-sig"), "type"),
                       suggest(ctype, SECTION_TYPES) or "types are: " + ", ".join(sorted(SECTION_TYPES)))
        ctype = "chapter"
    subtitle = str(next((fm[k] for k in lenient.SUBTITLE_KEYS if fm.get(k)), "") or "").strip()
    # titles get the same typography as the text (curly quotes, dashes)
    ctitle, subtitle = (mdown.inline_text(md.renderInline(t.strip())) for t in (c.title, subtitle))
    c.title, c.subtitle, c.type = visible_title(md, path, ctitle, c.cid, problems), subtitle, ctype
    for level, slug, htext, line, tok in p.headings:
        if not visible_text(md, htext):
            problems.error(path, "heading has no text", line,
                           "write the heading's words after the #, or remove the line")


def visible_text(md, text: str) -> bool:
    from .chars import visible
    return visible(mdown.inline_text(md.renderInline(text)))


def _render(root, md, read, parsed, problems, lenient=False):
    """Links and pictures checked and resolved, then each chapter rendered: (chapters, pictures by path)."""
    by_file: dict = {}
    for r in read.raw:  # a file cut into several chapters (a Pandoc book) is its first chapter
        by_file.setdefault(r.path.resolve(), r.cid)
    broken_files = {b.resolve() for b in read.broken}
    slug_maps = {c.cid: c.slug_map for c in parsed}
    entries = {r.path.resolve(): r.cid for r in read.raw}
    chapters = []
    images: dict[Path, Image] = {}
    elsewhere_pages: list = []  # (path, line, href) of links to pages that are not chapters (lenient books)
    for r, c in zip(read.raw, parsed):
        path, cid, p = c.path, c.cid, c.parsed
        dead = {link.href for link in p.links
                if not check_link(link, path, cid, by_file, slug_maps, problems, root, broken_files, lenient,
                                  elsewhere_pages)}
        for src, alt, line in p.images:
            img = check_image(root, path, src, alt, line, problems, also=root if lenient else None)
            if img is not None:
                images.setdefault(img.path, img)

        def rewrite_href(href, path=path, cid=cid, dead=dead):
            return "" if href in dead else resolve_href(href, path, cid, by_file, slug_maps) or href

        def rewrite_src(src, path=path):
            for base in (path.parent, root) if lenient else (path.parent,):  # (Pandoc: the folder run from too)
                target = (base / mdown.href_parts(src)[1]).resolve()
                if target in images:
                    return images[target].href
            return src

        rendered = mdown.render(md, p, rewrite_href, rewrite_src)
        notes = tuple(Note(n + 1, f"{cid}-fn{n + 1}", f"{cid}-fnref{n + 1}", html)
                      for n, html in enumerate(rendered.notes))
        pieces = tuple(notes[x] if isinstance(x, int) else x for x in rendered.pieces)
        matter, role = SECTION_TYPES[c.type]
        headings = tuple(Heading(lvl, tok.attrs["id"], mdown.inline_text(md.renderInline(htext)))
                         for lvl, slug, htext, line, tok in c.headings if lvl > 1)
        parent = r.fm.get("parent") if isinstance(r.fm.get("parent"), str) else ""
        parent = entries.get((root / parent).resolve(), "") if parent else ""  # (mdBook: a nested entry)
        chapters.append(Chapter(cid, path, c.title, c.subtitle, c.type, matter, role, pieces, notes, headings,
                                parent if parent != cid else ""))
    report_pages_elsewhere(elsewhere_pages, problems, lambda p: rel_name(root.resolve(), p.resolve()))
    return chapters, images


def _check_order(toml_path, chapters_line, chapters, problems, lenient=False) -> list:
    """Front matter, then the body, then back matter. In a Pandoc book (no book.toml to reorder), a section
    out of place is set as a chapter, with a warning."""
    order = {"front": 0, "body": 1, "back": 2}
    if lenient:
        body = [i for i, c in enumerate(chapters) if c.matter == "body"]
        out = []
        for i, c in enumerate(chapters):
            if body and ((c.matter == "front" and i > body[0]) or (c.matter == "back" and i < body[-1])):
                problems.warn(c.source, f"'{c.title}' ({c.type}) stands among the chapters (front matter "
                              "comes first, back matter last): it is set as a chapter", None, "move it, or drop its epub:type")
                c = dataclasses.replace(c, type="chapter", matter="body", role=SECTION_TYPES["chapter"][1])
            out.append(c)
        chapters = out
    for a, b in zip(chapters, chapters[1:]):
        if order[a.matter] > order[b.matter]:
            problems.error(toml_path, f"'{b.source.name}' ({b.type}) comes after '{a.source.name}' ({a.type})",
                           chapters_line, "list front matter first, then chapters, then back matter")
    if chapters and not any(c.matter == "body" for c in chapters):
        problems.error(toml_path, "the book has no body chapter", chapters_line,
                       "give at least one chapter type chapter (the default)")
    return chapters


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

"""The book model: everything the writers need, read and checked once, never changed by a writer."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

# epub:type of a section -> (matter, ARIA role)
SECTION_TYPES = {
    "foreword": ("front", "doc-foreword"), "preface": ("front", "doc-preface"),
    "prologue": ("front", "doc-prologue"), "dedication": ("front", "doc-dedication"),
    "epigraph": ("front", "doc-epigraph"),
    "introduction": ("body", "doc-introduction"), "chapter": ("body", "doc-chapter"),
    "part": ("body", "doc-part"), "conclusion": ("body", "doc-conclusion"),
    "epilogue": ("body", "doc-epilogue"),
    "afterword": ("back", "doc-afterword"), "appendix": ("back", "doc-appendix"),
    "bibliography": ("back", "doc-bibliography"), "glossary": ("back", "doc-glossary"),
    "colophon": ("back", "doc-colophon"), "acknowledgments": ("back", "doc-acknowledgments"),
}


@dataclass(frozen=True)
class Author:
    name: str
    file_as: str


@dataclass(frozen=True)
class PageSize:
    name: str  # preset name, or "custom"
    width: str  # CSS length
    height: str
    margins: tuple  # top, outer, bottom, inner (CSS lengths)


@dataclass(frozen=True)
class Metadata:
    title: str
    subtitle: str
    authors: tuple
    language: str
    identifier: str
    publisher: str
    date: str  # ISO date of publication
    modified: str  # ISO date-time (UTC, Z) of the sources
    rights: str
    description: str
    subjects: tuple
    edition: str
    page_size: PageSize
    cover: Path | None
    cover_alt: str
    direction: str = "ltr"  # "rtl" for right-to-left books (bookgen.direction)
    strings: tuple = ()  # (key, text) pairs from book.toml [strings], overriding the generated words
    fonts: tuple = ()  # (script, font family) pairs from book.toml [fonts]
    isbn: str = ""  # ISBN-13 as book.toml writes it (checked), or ""
    chapter_open: str = "recto"  # recto, any or continuous (book.toml `chapter-open`)
    paper: str = "white"  # white or cream: the thickness of a page, for the cover's spine

    @property
    def date_in_words(self) -> str:
        from .publishing import date_in_words
        return date_in_words(self.date, self.language) if self.date else ""

    @property
    def isbn_printed(self) -> str:
        from .publishing import isbn_hyphenless
        return isbn_hyphenless(self.isbn)

    @property
    def author_names(self) -> str:
        from .i18n import name_list
        return name_list([a.name for a in self.authors], self.language)


@dataclass(frozen=True)
class Note:
    number: int  # from 1 in each chapter, in call order
    id: str
    ref_id: str
    html: Markup  # block markup (paragraphs)
    endnote: bool = False  # printed at the end of its chapter: too long for the foot of a page (long_notes.py)


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Image:
    path: Path  # absolute, inside the book folder
    href: str  # path used in the markup, relative to the book folder (also the EPUB href)
    media_type: str


# ids the templates give the generated pages (templates/print, templates/partials, templates/epub): no chapter or
# heading takes them, or a link would go to the contents instead of a heading called "toc"
RESERVED_IDS = frozenset({"toc", "toc-title", "half-title", "titlepage", "copyright", "landmarks", "page-list"})
# names of the EPUB's own files and manifest items (bookgen/write_epub.py): a chapter never takes them
GENERATED_NAMES = frozenset({"nav", "cover", "titlepage", "copyright", "ncx", "toc", "cover-image"})


@dataclass(frozen=True)
class Chapter:
    id: str
    source: Path
    title: str
    subtitle: str
    type: str  # epub:type
    matter: str  # front, body or back
    role: str  # ARIA role
    pieces: tuple  # Markup and Note, in order: the body with each note at its call
    notes: tuple  # Note
    headings: tuple  # Heading (level >= 2)
    parent: str = ""  # a nested entry of mdBook's SUMMARY.md: the id of the chapter it is a section of

    @property
    def file_name(self) -> str:
        """The chapter's file in the EPUB; never one of the generator's own (a chapter with id `nav`, `cover`...)."""
        return f"{self.id}-text.xhtml" if self.id in GENERATED_NAMES else f"{self.id}.xhtml"

    @property
    def item_id(self) -> str:
        """The chapter's manifest id in the EPUB; never one of the generator's own items'."""
        return f"ch-{self.id}" if self.id in GENERATED_NAMES or self.id.startswith(("css-", "img")) else self.id


SLUG_BYTES = 100  # file names may have 255 bytes; the slug leaves room for ".epub.part" and more


def cap_slug(slug: str, limit: int = SLUG_BYTES) -> str:
    """At most `limit` bytes of UTF-8 (a long title, or one in a script of 3-byte letters), cut after a word."""
    if len(slug.encode("utf-8")) <= limit:
        return slug
    cut = slug.encode("utf-8")[:limit].decode("utf-8", "ignore")
    return cut.rsplit("-", 1)[0] if "-" in cut[len(cut) // 2:] else cut


@dataclass(frozen=True)
class Book:
    root: Path
    meta: Metadata
    chapters: tuple  # Chapter, in reading order
    images: tuple  # Image, each once
    sources: tuple  # every file the book was read from (for cache keys)
    warnings: tuple = ()  # Problem, reported but not fatal

    @property
    def slug(self) -> str:
        from .markdown import slugify
        s = slugify(self.meta.title)
        s = s[2:] if s.startswith("s-") and len(s) > 2 else s
        return cap_slug(s)

    def matter(self, name: str) -> tuple:
        return tuple(c for c in self.chapters if c.matter == name)

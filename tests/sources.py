"""What a fixture book says, read from its files by the tests' own simple reading, never by bookgen's loader.

The tests compare what was built with this: book.toml through tomllib, each chapter's front matter, `#` headings
and notes from the Markdown lines, the reading order and the matter of each chapter as the README describes them
("The book format"). A loader bug (a note lost, a key dropped) therefore shows as a difference, instead of being
copied into the expected values.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# The README's chapter types: front matter first, back matter last, the rest the body.
FRONT = {"preface", "foreword", "prologue", "dedication", "epigraph"}
BACK = {"afterword", "appendix", "bibliography", "glossary", "colophon", "acknowledgments"}
# Page sizes as the README gives them: margins top, outer, bottom, inner.
MARGINS = {"A5": ("17mm", "15mm", "20mm", "19mm"), "A4": ("28mm", "40mm", "34mm", "45mm"),
           "Letter": ("1.1in", "1.6in", "1.3in", "1.75in"), "Trade": ("0.7in", "0.6in", "0.8in", "0.75in")}

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+\{#([\w-]+)[^}]*\})?\s*#*\s*$")
_DEFINITION = re.compile(r"^\[\^([^\]]+)\]:\s?(.*)$")
_CALL = re.compile(r"\[\^([^\]]+)\](?!:)|\^\[((?:[^\[\]]|\[[^\]]*\])*)\]")


@dataclass
class Note:
    number: int
    text: str  # the note's words, markup removed

    def first_words(self, n: int = 4) -> str:
        return " ".join(self.text.split()[:n])


@dataclass
class Heading:
    level: int
    text: str
    id: str


@dataclass
class Chapter:
    file: Path
    id: str
    title: str
    type: str
    headings: list = field(default_factory=list)  # level 2 and below
    notes: list = field(default_factory=list)
    alts: list = field(default_factory=list)  # each picture's alt text, in order (Markdown or <img alt>)

    @property
    def images(self) -> int:
        return len(self.alts)

    @property
    def matter(self) -> str:
        return "front" if self.type in FRONT else "back" if self.type in BACK else "body"

    def note_id(self, note: Note) -> str:  # the anchors both editions give a note and its call
        return f"{self.id}-fn{note.number}"

    def ref_id(self, note: Note) -> str:
        return f"{self.id}-fnref{note.number}"


@dataclass
class Book:
    folder: Path
    toml: dict
    chapters: list

    @property
    def title(self) -> str:
        return self.toml["title"]

    @property
    def margins(self) -> tuple:
        return MARGINS[self.toml.get("page-size", "A5")]

    def get(self, key: str, default=""):
        return self.toml.get(key, default)

    @property
    def authors(self) -> list[dict]:
        """Each author as {"name": ..., "file-as": ... or None}."""
        authors = self.toml.get("authors") or [self.toml.get("author")]
        return [a if isinstance(a, dict) else {"name": a} for a in authors if a]

    @property
    def author_names(self) -> list[str]:
        authors = self.toml.get("authors") or [self.toml.get("author")]
        return [a["name"] if isinstance(a, dict) else a for a in authors if a]


def read_book(folder: Path) -> Book:
    toml = tomllib.loads((folder / "book.toml").read_text(encoding="utf-8"))
    chapters = [read_chapter(folder / name) for name in toml["chapters"]]
    order = {"front": 0, "body": 1, "back": 2}
    return Book(folder, toml, sorted(chapters, key=lambda c: order[c.matter]))


def read_chapter(path: Path) -> Chapter:
    text = path.read_text(encoding="utf-8")
    front, body = _split_front_matter(text)
    lines = _outside_code(body)
    headings = [(len(m.group(1)), m.group(2), m.group(3)) for m in map(_HEADING.match, lines) if m]
    title = front.get("title")
    if title is None:
        title = next(t for level, t, _ in headings if level == 1)
        headings = headings[[h[1] for h in headings].index(title) + 1:]
    seen: dict = {}
    return Chapter(path, str(front.get("id") or path.stem), str(title), str(front.get("type") or "chapter"),
                   [Heading(level, t, explicit or _unique(slug(t), seen)) for level, t, explicit in headings
                    if level >= 2], _notes(lines), _alts("\n".join(lines)))


def _split_front_matter(text: str) -> tuple[dict, str]:
    for mark, parse in (("---", yaml.safe_load), ("+++", tomllib.loads)):
        if text.startswith(mark + "\n"):
            end = text.index("\n" + mark + "\n", len(mark))
            return parse(text[len(mark) + 1:end]) or {}, text[end + len(mark) + 2:]
    return {}, text


def _outside_code(body: str) -> list[str]:
    """The Markdown lines outside fenced code blocks (what is inside a fence is never a heading or a note)."""
    out, fence = [], None
    for line in body.splitlines():
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0]
        elif fence is not None and m and m.group(1)[0] == fence:
            fence = None
        elif fence is None:
            out.append(line)
    return out


def _notes(lines: list[str]) -> list[Note]:
    """Notes numbered in the order of their calls; a `[^label]:` definition runs on over indented lines."""
    definitions, text, label = {}, [], None
    for line in lines:
        m = _DEFINITION.match(line)
        if m:
            label = m.group(1)
            definitions[label] = [m.group(2)]
        elif label is not None and (line.startswith("    ") or not line.strip()):
            definitions[label].append(line)
        else:
            label = None
            text.append(line)
    notes = []
    for m in _CALL.finditer("\n".join(text)):
        words = " ".join(definitions[m.group(1)]) if m.group(1) else m.group(2)
        notes.append(Note(len(notes) + 1, plain(words)))
    return notes


def _alts(text: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2)
            for m in re.finditer(r"!\[([^\]]*)\]\(|<img\b[^>]*?\balt=\"([^\"]*)\"", text)]


def plain(markdown: str) -> str:
    """Markdown inline markup removed: links keep their text, emphasis and code marks go."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    return " ".join(re.sub(r"[*_`]", "", text).split())


def slug(title: str) -> str:
    """A heading's id as the README describes it: its words in lower case joined by hyphens."""
    text = "".join(c for c in unicodedata.normalize("NFKD", plain(title)) if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s-]", "", text.lower())
    return re.sub(r"[\s_-]+", "-", text).strip("-")


def _unique(text: str, seen: dict) -> str:
    n = seen.get(text, 0)
    seen[text] = n + 1
    return text if n == 0 else f"{text}-{n}"

"""Lenient reading: what real books contain that the build does not use is a warning, never a refusal.

Front-matter keys from other tools (Jekyll, Hugo, Pandoc), GitHub-style heading slugs, remote images, raw HTML
elements the build does not keep and Markdown syntax of other dialects (Pandoc tables, fenced divs). Each
finding is reported once, where it is, and the book builds (with --strict each warning is an error)."""
from __future__ import annotations

import re
import unicodedata

from markdown_it.token import Token

# Front-matter keys read as a chapter's subtitle, in order of preference.
SUBTITLE_KEYS = ("subtitle", "subhead")
# Seen in Jekyll and Hugo sites and Pandoc books: ignored, one warning per key for the whole book.
FOREIGN_HINT = "the keys bookgen reads are: "


class KeyReport:
    """Unknown front-matter keys of the whole book, reported once per key with the files that use it."""

    def __init__(self):
        self.keys: dict[str, list] = {}  # key -> [(path, line)]

    def add(self, key, path, line):
        self.keys.setdefault(str(key), []).append((path, line))

    def report(self, problems, known, suggest, rel):
        for key, places in self.keys.items():
            path, line = places[0]
            files = [rel(p) for p, _ in places]
            shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            where = f"in {len(files)} files ({shown})" if len(files) > 1 else "in this file"
            hint = suggest(key, known) or FOREIGN_HINT + ", ".join(sorted(known))
            problems.warn(path, f"unknown front matter key '{key}' {where} is ignored", line, hint)


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation removed, each space a hyphen (not collapsed)."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return text.replace(" ", "-")


def github_slugs(titles) -> list[str]:
    """GitHub's slugs of a chapter's headings in order: a repeated one gets -1, -2..."""
    seen, out = set(), []
    for title in titles:
        base = slug = github_slug(title)
        n = 1
        while slug in seen:
            slug, n = f"{base}-{n}", n + 1
        seen.add(slug)
        out.append(slug)
    return out


def remote_src(src: str) -> bool:
    return bool(re.match(r"(?i)^\s*https?://", src or ""))


def replace_remote_images(tokens) -> list:
    """Markdown images with an http(s) source become a link to the image with its alt text: the build makes no
    network request, and the reader still sees what the image was. Returns [(src, alt, token)]."""
    found = []
    for tok in tokens:
        if not tok.children:
            continue
        children = []
        for child in tok.children:
            if child.type == "image" and remote_src(child.attrs.get("src", "")):
                src = str(child.attrs.get("src"))
                found.append((src, child.content, child))
                opening = Token("link_open", "a", 1)
                opening.attrs = {"href": src, "class": "remote-image"}
                opening.meta = {"remote_alt": child.content}
                text = Token("text", "", 0)
                text.content = child.content or src
                children += [opening, text, Token("link_close", "a", -1)]
            else:
                children.append(child)
        tok.children = children
    return found


# Syntax of other Markdown dialects that CommonMark prints as plain text.
FOREIGN_SYNTAX = [
    (re.compile(r"^\s*\+(?:[-=:]+\+){2,}\s*$"), "a Pandoc grid table",
     "write it as a pipe table (| a | b |, then |---|---|)"),
    (re.compile(r"^\s*-{3,}(?:[ \t]+-{3,})+\s*$"), "a Pandoc simple table",
     "write it as a pipe table (| a | b |, then |---|---|)"),
    (re.compile(r"(?<![{\])`])\{\s*[#.][A-Za-z][^{}]*\}\s*$"), "a Pandoc or kramdown attribute ({#id .class})",
     "remove it; give a heading an id by its title"),
]


def foreign_syntax(body: str, offset: int):
    """(line, what, hint) of each piece of other dialects' syntax outside code blocks, once per block of lines."""
    from .fences import in_code
    from .pandoc_syntax import pipe_tables
    out, last = [], {}  # what -> the last line it was seen on
    lines = pipe_tables(body).splitlines()  # (tables with a header are read)
    for n, line, code in zip(range(offset + 1, offset + 1 + len(lines)), lines, in_code(lines)):
        if code or line.startswith(("    ", "\t")) or (line.startswith("#") and _HEADING_ID.search(line)) \
                or line.lstrip().startswith((":::", "Table:", ": ")):
            continue  # read: a heading's {#id} (heading_ids_plugin), a fenced div's, a table caption's
        for pattern, what, hint in FOREIGN_SYNTAX:
            if pattern.search(line):
                if "table" not in what or n - last.get(what, -10) > 3:  # one warning for the lines of a table
                    out.append((n, what, hint))
                last[what] = n
                break
    return out


def count_elements(found) -> dict:
    """[(element, path, line)] -> {element: [(path, line), ...]} in order."""
    out: dict = {}
    for what, path, line in found:
        out.setdefault(what, []).append((path, line))
    return out


# `{#id}`, or Pandoc's whole attribute set on a heading: `{#id .unnumbered epub:type=appendix}`, `{-}`
_ATTR = r'(?:#[A-Za-z][-\w.:]*|\.[-\w]+|-|[\w:-]+=(?:"[^"]*"|[^\s{}"]+))'
_HEADING_ID = re.compile(r"\s*\{\s*(" + _ATTR + r"(?:\s+" + _ATTR + r")*)\s*\}\s*$")


def heading_ids_plugin(md) -> None:
    """`## Title {#custom-id}` (Pandoc, kramdown): the attribute is not printed, and `#custom-id` links to the
    heading (load_book maps it to the heading's id). Runs before the anchors plugin makes the id."""
    def rule(state):
        tokens = state.tokens
        for k, tok in enumerate(tokens[:-1]):
            if tok.type != "heading_open" or tokens[k + 1].type != "inline":
                continue
            inline = tokens[k + 1]
            m = _HEADING_ID.search(inline.content)
            last = inline.children[-1] if inline.children else None
            if not m or last is None or last.type != "text" or not _HEADING_ID.search(last.content):
                continue
            found = re.search(r"(?:^|\s)#([A-Za-z][-\w.:]*)", m.group(1))
            if found:
                tok.meta["custom_id"] = found.group(1)
            # (`### Title ### {#id}`: Pandoc's closing #s before the attributes go too)
            inline.content = re.sub(r"[ \t]+#+[ \t]*$", "", inline.content[:m.start()])
            last.content = re.sub(r"[ \t]+#+[ \t]*$", "", _HEADING_ID.sub("", last.content))
    # before the typographer: `{#a--b}` is an id, not a dash
    md.core.ruler.before("replacements" if "replacements" in md.core.ruler.get_all_rules() else "anchor",
                         "heading_ids", rule)

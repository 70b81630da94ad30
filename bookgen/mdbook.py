"""An mdBook project read as it is: `book.toml` with a `[book]` table and `src/SUMMARY.md`.

`adapt()` turns mdBook's settings into this project's (title, authors, language, description; our own options
from `[output.bookgen]`) and SUMMARY.md into the reading order; `Preprocessor` then does to each chapter what
mdBook's preprocessors do: `{{#include}}` (whole file, an anchor, a line range), `{{#rustdoc_include}}`,
`{{#title}}`, and links to `.html` pages made links to the chapters' `.md` files. Every path is resolved and
must stay inside the book folder.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .book_shape import BookShape

# SUMMARY.md: `- [Title](path.md)` (numbered, nested by indentation), `[Title](path.md)` (prefix/suffix),
# `# Part title`, `---` (a separator), `- [Draft]()` (a chapter not written yet)
_ENTRY = re.compile(r"^(?P<indent>\s*)(?:[-*+]\s+|\d+\.\s+)?\[(?P<title>[^\]]*)\]\((?P<path>[^)]*)\)\s*$")
_PART = re.compile(r"^#+\s+(?P<title>.+?)\s*$")
_INCLUDE = re.compile(r"(?P<escaped>\\)?\{\{#(?P<kind>include|rustdoc_include)\s+(?P<arg>[^}]+?)\s*\}\}")
_TITLE = re.compile(r"\{\{#title\s+(?P<title>[^}]*?)\s*\}\}\n?")
_HTML_LINK = re.compile(r"(\]\(\s*<?)(?P<target>(?![a-z][a-z0-9+.-]*:)[^)\s#>]+)\.html(?P<frag>#[^)\s>]*)?")
# a reference definition: `[label]: other.html#id`
_REF_HTML = re.compile(r"(?m)^(\s{0,3}\[[^\]]+\]:\s*<?)(?P<target>(?![a-z][a-z0-9+.-]*:)[^\s#>]+)\.html(?P<frag>#\S*)?")
_INDEX_MD = re.compile(r"(\]\(\s*<?)(?P<target>(?![a-z][a-z0-9+.-]*:)(?:[^)\s#>]*/)?index)\.md")
_ANCHOR = re.compile(r"ANCHOR(?:_END)?:\s*(?P<name>[\w-]+)")
# a link (not a picture): its text (one level of brackets inside), then its target
_LINK = re.compile(r"((?<![!\\])\[(?:[^\[\]\n]|\[[^\]\n]*\])*\]\(\s*<?)(?P<target>[^)\s>]+)")
# The Rust book's listings: `<Listing number="1-1" file-name="main.rs" caption="...">`, a fence, `</Listing>`
_LISTING = re.compile(r'^(?P<quote>(?:> ?)*)<Listing\b(?P<attrs>(?:[^>"]|"[^"]*")*)>[ \t]*\n(?P<body>.*?)'
                      r'^(?P=quote)</Listing>[ \t]*$', re.M | re.S)  # (also inside a block quote: `> <Listing`)
CODE_MARK = "\ue000"  # a backtick of a caption inside a fence's info string, where CommonMark allows none
_FENCE_LINE = re.compile(r"^(?P<fence>(?:> ?)*[ ]{0,3}(?:`{3,}|~{3,}))(?P<info>[^\n]*)$", re.M)
FRONT_TYPES_PREFIX, FRONT_TYPES_SUFFIX = "preface", "appendix"


def is_mdbook(conf: dict) -> bool:
    return isinstance(conf.get("book"), dict)


def adapt(root: Path, conf: dict, problems, toml_path: Path) -> tuple[dict, "Preprocessor"]:
    """(this project's settings for the mdBook project, the preprocessor for its chapters)."""
    book = conf["book"]
    src = root / str(book.get("src", "src"))
    ours = dict((conf.get("output") or {}).get("bookgen") or {})
    authors = book.get("authors") or ["Anonymous"]
    settings = {"title": book.get("title") or root.resolve().name, "authors": authors,
                "language": book.get("language") or "en", **ours}
    if book.get("description"):
        settings.setdefault("description", book["description"])
    summary = src / "SUMMARY.md"
    kinds: dict = {}
    chapters: list = []
    virtual: dict = {}
    parents: dict = {}
    titles: dict = {}
    if not summary.is_file():
        problems.error(summary, "SUMMARY.md not found", None, "an mdBook project lists its chapters in src/SUMMARY.md")
    else:
        chapters, kinds, virtual, found = read_summary(root, summary, problems)
        parents, titles = found["parents"], found["titles"]
    settings["chapters"] = chapters
    processor = Preprocessor(root, kinds, virtual)
    processor.front = {rel: {"summary-title": title} for rel, title in titles.items() if title}
    for child, parent in parents.items():
        processor.front.setdefault(child, {})["parent"] = parent
    processor.chapters = {(root / c).resolve() for c in chapters}
    processor.src = src.resolve()
    processor.site = site_url((conf.get("output") or {}).get("html") or {})
    return settings, processor


def site_url(html: dict) -> str | None:
    """Where the web edition lives, when book.toml says so ([output.html] site-url as a full URL, or cname with
    site-url as its path): a link to a page of the site that is not a chapter becomes a link to the page there."""
    site = str(html.get("site-url") or "")
    if re.match(r"https?://", site):
        return site if site.endswith("/") else site + "/"
    if html.get("cname"):
        path = site if site.startswith("/") else "/" + site
        return f"https://{html['cname']}{path if path.endswith('/') else path + '/'}"
    return None


def read_summary(root: Path, summary: Path, problems) -> tuple[list[str], dict, dict, dict]:
    """The chapters in reading order (paths relative to the book folder), each one's kind ("preface" for a
    prefix chapter, "appendix" for a suffix chapter), the part pages SUMMARY.md's `# Part` lines make (a
    name in the order for each, and its text: front matter only, a part page's title is its content), and
    {"parents": for each nested entry the entry it is nested under (it is printed as a section of it),
    "titles": each chapter's name in SUMMARY.md}."""
    chapters, kinds, virtual, parents = [], {}, {}, {}
    titles: dict = {}  # chapter -> its name in SUMMARY.md (its title when the file has no heading at the top)
    stack: list = []  # (indent, chapter or None for a draft) of the numbered entries above this one
    numbered_seen = False
    folder = summary.parent.resolve().relative_to(root.resolve()).as_posix()
    for number, line in enumerate(summary.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip() or line.strip() == "---" or line.startswith("<!--"):
            continue
        m = _PART.match(line)
        if m:
            if number > 1 or chapters:  # the first `# Summary` heading is the file's own title
                name = f"{folder}/.summary-part-{len(virtual) + 1}.md"
                virtual[name] = f"---\ntitle: {json.dumps(m.group('title'))}\ntype: part\n---\n"
                chapters.append(name)
            stack = []
            continue
        m = _ENTRY.match(line)
        if not m:
            continue
        numbered = bool(re.match(r"\s*(?:[-*+]|\d+\.)\s", line))
        indent = len(m.group("indent").expandtabs(4))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        target = m.group("path").strip()
        if not target:
            problems.warn(summary, f"draft chapter '{m.group('title')}' has no file yet: it is left out", number,
                          "give it a file, or leave it as it is until it is written")
            if numbered:
                stack.append((indent, None))
            continue
        path = (summary.parent / target).resolve()
        if not path.is_relative_to(root.resolve()):
            problems.error(summary, f"chapter '{target}' leads outside the book folder", number,
                           "keep the chapters inside the book folder")
            continue
        rel = path.relative_to(root.resolve()).as_posix()
        titles[rel] = m.group("title").strip()
        if numbered:
            numbered_seen = True
            parent = next((c for _, c in reversed(stack) if c is not None), None) if stack else None
            if parent is not None:
                parents[rel] = parent
            stack.append((indent, rel))
        else:
            kinds[rel] = FRONT_TYPES_SUFFIX if numbered_seen else FRONT_TYPES_PREFIX
        chapters.append(rel)
    return chapters, kinds, virtual, {"parents": parents, "titles": titles}


class Preprocessor(BookShape):
    """What mdBook does to a chapter's text before it renders it; `virtual`: the part pages SUMMARY.md makes;
    `front`: what SUMMARY.md says of a chapter (its name, the entry it is nested under)."""
    lenient_links = True  # a link to a page of the site that is not a chapter: its text, and a warning
    listing = "SUMMARY.md"

    def __init__(self, root: Path, kinds: dict, virtual: dict | None = None):
        super().__init__()
        self.root = root.resolve()
        self.kinds = kinds
        self.virtual = virtual or {}
        self.chapters: set = set()  # the chapters' files
        self.src = self.root  # the folder of SUMMARY.md: the web edition's pages are named from it
        self.site = None  # the web edition's URL (site_url), if book.toml gives it

    def __call__(self, path: Path, text: str, problems) -> str:
        text = self.includes(path, text, problems, depth=0)
        text = hide_rust_lines(text)
        text = listing_captions(text)
        text = _TITLE.sub("", text)
        text = _HTML_LINK.sub(lambda m: f"{m.group(1)}{self.page(path, m.group('target'))}{m.group('frag') or ''}",
                              text)
        text = _REF_HTML.sub(lambda m: f"{m.group(1)}{self.page(path, m.group('target'))}{m.group('frag') or ''}",
                             text)
        text = _INDEX_MD.sub(lambda m: f"{m.group(1)}{self.page(path, m.group('target'))}", text)
        if self.site:
            text = _LINK.sub(lambda m: f"{m.group(1)}{self.on_site(path, m.group('target'))}", text)
        kind = self.kinds.get(path.resolve().relative_to(self.root).as_posix())
        if kind and not text.startswith(("---\n", "+++\n")):
            text = f"---\ntype: {kind}\n---\n" + text
        return text

    def on_site(self, chapter: Path, target: str) -> str:
        """A link to what is not a chapter (a page of the site around the book, a file it serves): its address
        on the web edition; a link to a chapter, as it is."""
        from urllib.parse import urljoin
        file, _, frag = target.partition("#")
        if not file or re.match(r"[a-z][a-z0-9+.-]*:", file):
            return target
        if not file.startswith("/") and (chapter.parent / file).resolve() in self.chapters:
            return target
        try:
            page = chapter.resolve().relative_to(self.src).with_suffix(".html").as_posix()
        except ValueError:
            return target
        page = re.sub(r"(^|/)README\.html$", r"\1index.html", page)
        web = re.sub(r"\.md$", ".html", file)
        return urljoin(urljoin(self.site, page), web) + (f"#{frag}" if frag else "")

    def page(self, chapter: Path, target: str) -> str:
        """The Markdown file behind a page's name: `x` is `x.md`, and `dir/index` is `dir/README.md` where there
        is no `dir/index.md` (mdBook makes a folder's README its index page)."""
        if Path(target).name == "index" and not (chapter.parent / f"{target}.md").is_file():
            readme = str(Path(target).with_name("README.md"))
            if (chapter.parent / readme).is_file():
                return readme
        if not (chapter.parent / f"{target}.md").is_file():
            return f"{target}.html"  # not a page of this book (another book of the site): as written
        return f"{target}.md"

    def includes(self, path: Path, text: str, problems, depth: int) -> str:
        def replace(m):
            if m.group("escaped"):  # `\{{#include x}}` is mdBook's way to print the syntax itself
                return m.group(0)[1:]
            line = text.count("\n", 0, m.start()) + 1
            return self.include(path, m.group("kind"), m.group("arg"), line, problems, depth)
        return _INCLUDE.sub(replace, text)

    def include(self, path: Path, kind: str, arg: str, line: int, problems, depth: int) -> str:
        name, _, selector = arg.partition(":")
        target = (path.parent / name.strip()).resolve()
        if not target.is_relative_to(self.root):
            problems.error(path, f"{{{{#{kind} {arg}}}}} leads outside the book folder", line,
                           "include only files inside the book folder")
            return ""
        if not target.is_file():
            problems.error(path, f"{{{{#{kind} {arg}}}}}: file not found", line,
                           "check the path, relative to this chapter's file")
            return ""
        lines = target.read_text(encoding="utf-8-sig").splitlines()
        picked = select(lines, selector.strip())
        if picked is None:
            problems.error(path, f"{{{{#{kind} {arg}}}}}: no anchor '{selector}' in {name.strip()}", line,
                           "mark the lines with ANCHOR: name and ANCHOR_END: name comments")
            return ""
        if kind == "rustdoc_include":  # lines hidden from the reader in mdBook's rendering
            picked = [l for l in picked if not re.match(r"\s*#(\s|$)", l)]
        body = "\n".join(picked)
        if depth < 8 and "{{#" in body:
            body = self.includes(target, body, problems, depth + 1)
        return body


_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")


def hide_rust_lines(text: str) -> str:
    """In a Rust code block, the lines mdBook hides from the reader (`# use super::*;`, a lone `#`): a printed
    book cannot unfold them, so they are left out. `#[test]` and `#![...]` are code and stay."""
    out, fence, rust = [], None, False
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence is None and m:
            fence, rust = m.group("fence"), m.group("info").strip().split(",")[0].strip() == "rust"
        elif fence is not None and m and m.group("fence").startswith(fence[0] * len(fence)) \
                and not m.group("info").strip():
            fence = None
        elif fence is not None and rust and re.match(r"\s*#(?: |$)", line):
            continue
        out.append(line)
    return "\n".join(out)


def listing_captions(text: str) -> str:
    """`<Listing number="1-1" file-name="main.rs" caption="...">` around one fence: its caption ("Listing 1-1:
    ...", as mdBook's listing preprocessor writes it) and file name printed with the listing (bookgen/listings.py)
    instead of the tags. Lines are kept (the tags' lines left blank). Anything else is left to the sanitizer,
    which keeps the content and warns once about the tag."""
    def replace(m):
        body = m.group("body")
        fences = list(_FENCE_LINE.finditer(body))
        if len(fences) < 2:
            return m.group(0)
        attrs = dict(re.findall(r'([\w-]+)\s*=\s*"([^"]*)"', m.group("attrs")))
        caption = attrs.get("caption", "")
        if attrs.get("number"):
            caption = f"Listing {attrs['number']}" + (f": {caption}" if caption else "")
        extra = "".join(f' {key}="{value.replace(chr(34), chr(39)).replace("`", CODE_MARK)}"' for key, value in
                        (("caption", caption), ("file", attrs.get("file-name", ""))) if value)
        first = fences[0]
        info = first.group("info").strip() or "text"
        body = body[:first.start()] + first.group("fence") + info + extra + body[first.end():]
        quote = m.group("quote").rstrip()
        return quote + "\n" + body + quote  # the tags' lines, blank (or `>`: the block quote goes on)
    return _LISTING.sub(replace, text)


def select(lines: list[str], selector: str) -> list[str] | None:
    """The lines an include asks for: all, `a:b` / `a:` / `:b` / `a` (1-based, inclusive), or an anchor."""
    def unmarked(ls):
        return [l for l in ls if not _ANCHOR.search(l)]
    if not selector:
        return unmarked(lines)
    m = re.fullmatch(r"(\d*)(?::(\d*))?", selector)
    if m:
        start = int(m.group(1)) if m.group(1) else 1
        if m.group(2) is None:  # a single line
            return lines[start - 1:start] if m.group(1) else unmarked(lines)
        end = int(m.group(2)) if m.group(2) else len(lines)
        return unmarked(lines[start - 1:end])
    inside, out, found = False, [], False
    for l in lines:
        a = _ANCHOR.search(l)
        if a and a.group("name") == selector:
            if "ANCHOR_END" in l:
                inside = False
            else:
                inside, found = True, True
            continue
        if inside:
            out.append(l)
    return unmarked(out) if found else None

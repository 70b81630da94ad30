"""Markdown -> chapter markup: CommonMark plus footnotes, tables, heading ids and smart typography.

The chapter body is rendered once to (X)HTML-compatible markup; each footnote call is cut out of it, so
that each edition decides how to show the note (print: a footnote float, EPUB: noteref + aside).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin

from .lenient import heading_ids_plugin, remote_src, replace_remote_images
from .chars import NOT_XML as _NOT_XML

# Quotation marks per language (primary, then secondary) for the typographer.
QUOTES = {
    "en": "“”‘’", "de": "„“‚‘", "fr": ["«\u202f", "\u202f»", "‹\u202f", "\u202f›"], "es": "«»“”", "it": "«»“”",
    "pt": "«»“”", "nl": "“”‘’", "ru": "«»„“", "pl": "„”‚’", "sv": "””’’", "da": "»«›‹",
    "fi": "””’’", "nb": "«»‘’", "cs": "„“‚‘", "ja": "「」『』", "zh": "“”‘’",
    "uk": "«»„“", "el": "«»“”", "tr": "“”‘’", "vi": "“”‘’", "ar": "«»“”", "fa": "«»“”", "ur": "“”‘’", "he": "“”‘’",
    "hi": "“”‘’", "bn": "“”‘’", "th": "“”‘’", "ko": "“”‘’",
}

_XML_NAME = re.compile(r"[A-Za-z_][-A-Za-z0-9_.]*")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Raw HTML in a book is data: these elements and attributes never reach either edition.
DROP_ELEMENTS = {"script", "style", "iframe", "object", "embed", "frame", "frameset", "form", "input",
                 "button", "textarea", "select", "base", "link", "meta", "applet", "noscript", "template",
                 "svg", "math", "video", "audio", "canvas", "source", "track", "picture", "map", "area",
                 "head", "title", "portal", "dialog"}
ALLOWED_ELEMENTS = {
    "a", "abbr", "address", "article", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "ins", "kbd", "li", "mark", "nav", "ol", "p",
    "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr", "bookgen-note"}
GLOBAL_ATTRS = {"id", "class", "title", "lang", "dir", "role", "hidden", "translate"}
ALLOWED_ATTRS = {
    "a": {"href", "hreflang", "rel", "type"}, "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"}, "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "ol": {"start", "reversed", "type"}, "li": {"value"}, "del": {"datetime"}, "ins": {"datetime"},
    "time": {"datetime"}, "col": {"span"}, "colgroup": {"span"}, "details": {"open"}, "bookgen-note": {"n"},
}
# raw HTML that is removed, and why (load_book warns with the line)
REMOVED_WHY = {"svg": "inline SVG is not supported: save it as an .svg file and use ![alt](file.svg)",
               "math": "inline MathML is not supported"}
NOTE_TAG = "bookgen-note"
_NOTE_SPLIT = re.compile(r'<bookgen-note n="(\d+)"></bookgen-note>')
_UNDEFINED_NOTE = re.compile(r"\[\^([^\]\s]+)\]")
# attributes in raw HTML: name = "value" | 'value' | value
_ATTR = re.compile(r"""(?P<pre>[\s/])(?P<name>[A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*"""
                   r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s"'=<>`]+))""")
# `<img/src=...>`: a slash separates the name from the attributes as well as a space does (browsers and lxml
# read it so; reading only spaces let such a tag's src go unchecked)
_TAG = re.compile(r"<(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>(?:[\s/][^<>]*?)?)/?>", re.S)
# attributes that make a reader fetch something: raw HTML may only name files inside the book
FETCH_ATTRS = {"src", "srcset", "poster", "background", "lowsrc", "dynsrc", "data", "codebase", "manifest",
               "longdesc", "cite", "action", "formaction", "ping", "usemap", "icon", "profile", "archive"}


def _fold(ch: str) -> str:
    """A letter without its accents in Latin, Greek and Cyrillic (é -> e); in other scripts whole, with its vowel
    signs and hamza (पहाड़, رسائل), which are part of the word, not decoration."""
    if ch < "\u0590" or "\u1e00" <= ch <= "\u1fff":  # with Latin Extended Additional (Vietnamese), Greek Extended
        return "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", ch)


def slugify(text: str) -> str:
    text = "".join(_fold(c) for c in unicodedata.normalize("NFC", text)).lower()
    text = "".join(c for c in text if c.isalnum() or c in "_-" or c.isspace() or unicodedata.category(c)[0] == "M")
    text = re.sub(r"[\s_-]+", "-", text).strip("-")
    if not text or not (text[0].isascii() and text[0].isalpha()):
        text = "s-" + text  # an XML id must start with a letter
    return text


def make_parser(language: str, direction: str = "") -> MarkdownIt:
    """`direction`: the book's ("rtl" or "ltr"; empty: from the language)."""
    md = MarkdownIt("commonmark", {"typographer": True, "html": True})
    md.enable(["table", "strikethrough", "replacements", "smartquotes"])
    md.options["quotes"] = QUOTES.get(language.split("-")[0].lower(), QUOTES["en"])
    from .highlight import highlight
    md.options["highlight"] = highlight  # code coloured by its language (bookgen/highlight.py)
    # Let every link through the parser, so that a javascript: or file: link is reported with its line
    # (load_book checks each link) instead of silently turning into text. clean_fragment still strips them.
    md.validateLink = lambda url: True
    md.use(footnote_plugin, inline=True)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=slugify, permalink=False)
    heading_ids_plugin(md)  # `## Title {#id}`
    from . import pandoc_syntax
    pandoc_syntax.use(md)  # `[text]{.smallcaps}`, `{.class}` after links and code, `::: {.note}` divs

    def footnote_ref(self, tokens, idx, options, env):
        return f'<{NOTE_TAG} n="{tokens[idx].meta["id"]}"></{NOTE_TAG}>'

    md.add_render_rule("footnote_ref", footnote_ref)
    from .listings import render_code_block, render_fence
    md.add_render_rule("fence", render_fence)  # listings: lines, language, caption (bookgen/listings.py)
    md.add_render_rule("code_block", render_code_block)
    from .cjk import join_cjk_lines, pair_cjk_quotes
    join_cjk_lines(md)
    if language.split("-")[0].lower() in ("zh", "ja"):
        pair_cjk_quotes(md, md.options["quotes"][:2])
    from .runts import keep_last_words_together
    keep_last_words_together(md)
    from .direction import isolate_plugin, language_direction
    isolate_plugin(md, direction or language_direction(language))
    return md


@dataclass
class Link:
    href: str
    line: int | None
    kind: str  # "internal", "external", "image"


@dataclass
class Parsed:
    """A chapter's tokens before the book-wide ids are known."""
    tokens: list
    env: dict
    headings: list = field(default_factory=list)  # (level, local slug, text, line, token)
    links: list = field(default_factory=list)  # Link
    images: list = field(default_factory=list)  # (src, alt, line)
    footnote_labels_unused: list = field(default_factory=list)  # (label, line)
    undefined_notes: list = field(default_factory=list)  # (label, line)
    repeated_notes: list = field(default_factory=list)  # (label, line)
    raw_ids: list = field(default_factory=list)  # (id, line) written in raw HTML
    removed: list = field(default_factory=list)  # (what, line): raw HTML the build removes
    unwrapped: list = field(default_factory=list)  # (element, line): raw HTML elements dropped, text kept
    remote_images: list = field(default_factory=list)  # (src, alt, line): printed as their alt text
    too_deep: list = field(default_factory=list)  # (depth, line): raw HTML deeper than the parser reads
    notes_count: int = 0


def raw_tags(html: str):
    """(tag, {attribute: value}, lines before it) of every start tag in a piece of raw HTML."""
    for t in _TAG.finditer(html):
        attrs = {}
        for a in _ATTR.finditer(t.group("attrs") or ""):
            value = next(v for v in (a.group("dq"), a.group("sq"), a.group("uq"), "") if v is not None)
            attrs.setdefault(a.group("name").lower(), value)
        yield t.group("tag").lower(), attrs, html.count("\n", 0, t.start())


def _raw_html(parsed, html: str, line):
    depth = html_depth(html)
    if depth > PARSER_DEPTH:
        parsed.too_deep.append((depth, line))
    elif depth > MAX_HTML_DEPTH:
        parsed.unwrapped.append((f"nested more than {MAX_HTML_DEPTH} elements deep", line))
    block_line = line
    for tag, attrs, below in raw_tags(html):
        line = block_line + below if block_line is not None else None  # each tag at its own line
        if tag in DROP_ELEMENTS:
            parsed.removed.append((f"<{tag}>", line))
        elif tag not in ALLOWED_ELEMENTS:
            parsed.unwrapped.append((f"<{tag}>", line))
        for name in attrs:
            if name.startswith("on"):
                parsed.removed.append((f"the {name} attribute of <{tag}>", line))
        if "id" in attrs and tag in ALLOWED_ELEMENTS:  # a removed element's id is not in the book
            parsed.raw_ids.append((attrs["id"], line))
        if tag in ("a", "area") and "href" in attrs:
            parsed.links.append(Link(attrs["href"], line, "link"))
        if tag == "img" and remote_src(attrs.get("src", "")):
            parsed.remote_images.append((attrs["src"], attrs.get("alt", ""), line))
        elif tag == "img" and "src" in attrs:
            parsed.images.append((attrs["src"], attrs.get("alt", ""), line))


def parse(md: MarkdownIt, text: str, line_offset: int = 0) -> Parsed:
    from .pandoc_syntax import clean_attrs, deepen_divs, pipe_tables, table_captions
    env: dict = {}
    tokens = md.parse(deepen_divs(pipe_tables(text)), env)
    parsed = Parsed(tokens, env)
    replace_remote_images(tokens)
    clean_attrs(tokens, parsed.raw_ids, lambda t: t.map[0] + 1 + line_offset if t.map else None)
    table_captions(tokens)
    line = None
    for k, tok in enumerate(tokens):
        if tok.map:
            line = tok.map[0] + 1 + line_offset
        if tok.type == "heading_open":
            inline = tokens[k + 1]
            parsed.headings.append((int(tok.tag[1]), tok.attrs.get("id"), inline.content, line, tok))
        elif tok.type == "html_block":
            _raw_html(parsed, tok.content, line)
        cline = line  # the line inside a paragraph: count its line breaks
        for child in tok.children or ():
            if child.type in ("softbreak", "hardbreak"):
                cline += 1
            elif child.type == "html_inline":
                _raw_html(parsed, child.content, cline)
            elif child.type == "link_open":
                parsed.links.append(Link(child.attrs.get("href", ""), cline, "link"))
                if "remote_alt" in child.meta:
                    parsed.remote_images.append((child.attrs["href"], child.meta["remote_alt"], cline))
            elif child.type == "image":
                parsed.images.append((child.attrs.get("src", ""), child.content, cline))
            elif child.type == "footnote_ref" and child.meta.get("subId", 0) > 0:
                parsed.repeated_notes.append((child.meta.get("label") or "", cline))
            elif child.type == "text":
                for m in _UNDEFINED_NOTE.finditer(child.content):
                    parsed.undefined_notes.append((m.group(1), cline))
    notes = env.get("footnotes", {})
    parsed.notes_count = len(notes.get("list", {}))
    for key, value in notes.get("refs", {}).items():
        if value == -1:
            label = key[1:]
            m = re.search(r"^[ \t]*\[\^" + re.escape(label) + r"\]:", text, re.M)
            parsed.footnote_labels_unused.append(
                (label, text.count("\n", 0, m.start()) + 1 + line_offset if m else None))
    return parsed


@dataclass(frozen=True)
class Rendered:
    pieces: tuple  # Markup strings, and ints (the index of the note called at that point)
    notes: tuple  # Markup of each note's blocks, in call order


def render(md: MarkdownIt, parsed: Parsed, rewrite_href, rewrite_src) -> Rendered:
    """Render the tokens; `rewrite_href`/`rewrite_src` map each link and image to its final URL."""
    body, notes = [], {}
    tokens = parsed.tokens
    i = 0
    current = None
    in_block = False
    for tok in tokens:
        if tok.type == "html_block":
            tok.content = rewrite_raw(tok.content, rewrite_href, rewrite_src)
        for child in tok.children or ():
            if child.type == "link_open":
                child.attrs["href"] = rewrite_href(child.attrs.get("href", ""))
                if child.attrs["href"] == "":  # a dead link (a Pandoc book's): its text, without the link
                    child.meta["dead"] = True
            elif child.type == "image":
                child.attrs["src"] = rewrite_src(child.attrs.get("src", ""))
            elif child.type == "html_inline":
                child.content = rewrite_raw(child.content, rewrite_href, rewrite_src)
    for tok in tokens:
        if tok.children and any(c.meta.get("dead") for c in tok.children if c.type == "link_open"):
            tok.children = _without_dead_links(tok.children)
    # Split off the footnote block the plugin appends, rendering each note's blocks on their own.
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "footnote_block_open":
            in_block = True
        elif tok.type == "footnote_block_close":
            in_block = False
        elif tok.type == "footnote_open":
            current = (tok.meta["id"], [])
        elif tok.type == "footnote_close":
            notes[current[0]] = current[1]
            current = None
        elif current is not None:
            if tok.type != "footnote_anchor":
                current[1].append(tok)
        elif not in_block:
            body.append(tok)
        i += 1
    html = md.renderer.render(body, md.options, parsed.env)
    note_html = []
    for n in range(len(notes)):
        toks = [t for t in notes[n] if t.type != "footnote_anchor"]
        for t in toks:
            if t.children:
                t.children = [c for c in t.children if c.type != "footnote_anchor"]
        note_html.append(Markup(clean_fragment(md.renderer.render(toks, md.options, parsed.env))))
    pieces = []
    for k, part in enumerate(_NOTE_SPLIT.split(clean_fragment(html))):
        if k % 2:
            pieces.append(int(part))
        elif part:
            pieces.append(Markup(part))
    return Rendered(tuple(pieces), tuple(note_html))


def _without_dead_links(children) -> list:
    out, dropping = [], []
    for c in children:
        if c.type == "link_open":
            dropping.append(bool(c.meta.get("dead")))
            if dropping[-1]:
                continue
        elif c.type == "link_close" and dropping:
            if dropping.pop():
                continue
        out.append(c)
    return out


def rewrite_raw(html: str, rewrite_href, rewrite_src) -> str:
    """Give links and images written in raw HTML the same final URLs as Markdown ones."""
    def tag(t):
        name = t.group("tag").lower()

        def attr(a):
            aname = a.group("name").lower()
            value = next(v for v in (a.group("dq"), a.group("sq"), a.group("uq"), "") if v is not None)
            if aname == "href" and name in ("a", "area"):
                value = rewrite_href(value)
            elif aname == "src" and name == "img":
                value = rewrite_src(value)
            else:
                return a.group(0)
            return f'{a.group("pre")}{a.group("name")}="{_escape(value).replace(chr(34), "&quot;")}"'
        return t.group(0)[:t.start("attrs") - t.start()] + _ATTR.sub(attr, t.group("attrs") or "") + \
            t.group(0)[t.end("attrs") - t.start():]
    return _TAG.sub(tag, html)


def safe_url(url: str) -> bool:
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme in ("", "http", "https", "mailto")


# containers whose children are blocks, not text: a <br> there is invalid (EPUBCheck RSC-005)
NO_TEXT_CONTAINERS = {"figure", "ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr"}


# Raw HTML nested deeper than this is unwrapped (its text kept): WeasyPrint lays boxes out recursively, and a
# document about 200 elements deep ends in a RecursionError; e-readers have limits of their own.
MAX_HTML_DEPTH = 64
PARSER_DEPTH = 250  # libxml2 stops reading at 256 levels (and drops the text below): deeper is an error
_ANY_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*?)?(/?)>")


def html_depth(html: str) -> int:
    """How deep the elements of raw HTML nest (an estimate from its tags, before any parsing)."""
    depth = deepest = 0
    for m in _ANY_TAG.finditer(html):
        if m.group(1):
            depth = max(0, depth - 1)
        elif not m.group(3) and m.group(2).lower() not in VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _flatten_deep(root) -> None:
    """Unwrap every element nested more than MAX_HTML_DEPTH deep below `root`, keeping its text."""
    stack = [(root, 0)]
    while stack:  # not recursive: the tree may be deeper than Python's recursion limit
        el, depth = stack.pop()
        for child in list(el):
            if isinstance(child.tag, str):
                stack.append((child, depth + 1))
        if depth > MAX_HTML_DEPTH and el.getparent() is not None:
            el.drop_tag()


def clean_fragment(html: str) -> str:
    """Parse markup leniently, drop active content, and write it back as well-formed XHTML-compatible markup.

    Only known HTML elements and attributes are kept (what EPUB readers and EPUBCheck accept): scripts, styles,
    frames, forms, inline SVG/MathML and media are removed with their content; other unknown elements are
    unwrapped (their text stays); event handlers, inline styles and any URL that is not a link are removed."""
    if not html.strip():
        return ""
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    _flatten_deep(root)
    for el in list(root.iter()):
        if el.getparent() is None and el is not root:
            continue  # inside a tree already dropped
        if not isinstance(el.tag, str):  # comments and processing instructions
            if el.getparent() is not None:
                el.drop_tree()
            continue
        if el is root:
            continue
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag == "img" and remote_src(el.get("src", "")) and el.get("alt", "").strip():
            el.tag, el.attrib["href"], el.text = "a", el.get("src").strip(), el.get("alt")  # its description
            for name in [n for n in el.attrib if n not in ("href", "id")]:
                del el.attrib[name]
            el.set("class", "remote-image")
            continue
        if tag in DROP_ELEMENTS or (tag == "img" and not _local_src(el.get("src", ""))):
            el.drop_tree()
            continue
        if tag not in ALLOWED_ELEMENTS:
            el.drop_tag()  # keep the text, lose the unknown element
            continue
        if tag == "br" and (el.getparent().tag or "").lower() in NO_TEXT_CONTAINERS:
            el.drop_tree()  # spacing `<br>` in a figure or a list: not allowed there (a caption must end a figure)
            continue
        align = re.search(r"text-align:\s*(left|right|center)", el.attrib.get("style", ""))
        if align and tag in ("td", "th"):
            # inline styles are dropped (Kindle rejects some); table alignment becomes a class
            el.set("class", (el.get("class", "") + " align-" + align.group(1)).strip())
        allowed = ALLOWED_ATTRS.get(tag, set())
        for name in list(el.attrib):
            value = el.attrib[name]
            lname = name.lower()
            keep = (lname in GLOBAL_ATTRS or lname in allowed or lname.startswith("aria-")
                    or (lname.startswith("data-") and _XML_NAME.fullmatch(name)))
            if not keep or lname.startswith("on") or name != lname:
                del el.attrib[name]
            elif lname == "href" and not safe_url(value):
                del el.attrib[name]  # javascript:, file:, data: ... (load_book reports them with their line)
            elif lname in ("width", "height", "colspan", "rowspan", "start", "span", "value") \
                    and not value.strip().isdigit():
                del el.attrib[name]
            elif lname == "id" and (not value or re.search(r"\s", value)):
                del el.attrib[name]
    for el in root.iter():  # characters XML cannot hold (from raw HTML's &#x1b; and the like)
        if el.text and _NOT_XML.search(el.text):
            el.text = _NOT_XML.sub("", el.text)
        if el.tail and _NOT_XML.search(el.tail):
            el.tail = _NOT_XML.sub("", el.tail)
        for name, value in el.attrib.items():
            if _NOT_XML.search(value):
                el.set(name, _NOT_XML.sub("", value))
    out = []
    if root.text:
        out.append(_escape(root.text))
    for child in root:
        _force_end_tags(child)
        out.append(etree.tostring(child, method="xml", encoding="unicode"))
    return "".join(out)


def _local_src(src: str) -> bool:
    """An image source the build may use: a relative path inside the book (load_book checked it)."""
    src = src.strip()
    return bool(src) and not urlsplit(src).scheme and not src.startswith(("/", "\\"))


def _force_end_tags(el):
    # `<p/>` is an open tag to an HTML parser: write non-void elements with explicit end tags.
    for e in el.iter():
        if isinstance(e.tag, str) and e.tag not in VOID and e.text is None and len(e) == 0:
            e.text = ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline_text(html: str) -> str:
    """Plain text of a fragment (for titles and alt text checks)."""
    return lxml_html.fragment_fromstring(html, create_parent="div").text_content() if html.strip() else ""


def href_parts(href: str):
    u = urlsplit(href)
    return u.scheme, unquote(u.path), unquote(u.fragment)

"""Pandoc's Markdown extensions, read in every book: bracketed spans (`[Small Caps]{.smallcaps}`), attributes
after links, images and code (`{.class}`, `{width=50%}`), fenced divs (`::: {.note}` ... `:::`), definition
lists, grid and simple tables, and table captions.

Attributes are kept only where both editions can hold them: classes, an id (an XML name; it is checked against
the book's other ids like one written in raw HTML), `lang`, and `dir` (ltr, rtl or auto). An image's size
(`{width=50%}`) is left to the stylesheet: a picture is never wider than the text."""
from __future__ import annotations

import re

from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.container import container_plugin

from .fences import in_code

_XML_ID = re.compile(r"[A-Za-z_][\w.-]*")
_CLASS = re.compile(r"-?[A-Za-z_][\w-]*")
_DIV = re.compile(r"^(?P<indent> {0,3})(?P<colons>:{3,})(?P<rest>.*)$")
_LEFTOVER = re.compile(r"^\{[^{}\n]*\}")  # attributes the attrs plugin could not read (`{width=50%}`)


def use(md) -> None:
    from mdit_py_plugins.deflist import deflist_plugin
    md.use(attrs_plugin, spans=True)
    md.use(deflist_plugin)  # Term, then `:   its definition`
    container_plugin(md, "div", validate=lambda params, *args: bool(params.strip()), render=_render_div)


def _render_div(self, tokens, idx, options, env) -> str:
    tok = tokens[idx]
    if tok.nesting == -1:
        return "</div>\n"
    params = tok.info.strip()
    attrs = _div_attrs(params[1:-1] if params.startswith("{") and params.endswith("}") else "." + params.split()[0])
    text = "".join(f' {k}="{_quote(v)}"' for k, v in attrs.items())
    return f"<div{text}>\n"


def _div_attrs(text: str) -> dict:
    found = parse_attrs(text)
    out = {}
    if found.get("id") and _XML_ID.fullmatch(found["id"]):
        out["id"] = found["id"]
    classes = [c for c in found.get("classes", ()) if _CLASS.fullmatch(c)]
    if classes:
        out["class"] = " ".join(classes)
    for key in ("lang", "dir"):
        if found.get(key) and _good(key, found[key]):
            out[key] = found[key]
    return out


def _quote(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _good(key: str, value: str) -> bool:
    if key == "dir":
        return value in ("ltr", "rtl", "auto")
    if key == "lang":
        return bool(re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", value))
    return True


def deepen_divs(text: str) -> str:
    """Pandoc closes fenced divs in order, each with `:::`; the container plugin closes a div at the first fence
    at least as long as its own. Each div's fences are lengthened by how deep divs nest inside it, so that
    `::: a` / `::: b` / `:::` / `:::` nests as in Pandoc. Line count unchanged."""
    lines = text.split("\n")
    pairs, stack = [], []
    for i, (line, code) in enumerate(zip(lines, in_code(lines))):
        d = _DIV.match(line) if not code else None
        if not d:
            continue
        if d.group("rest").strip() and not d.group("rest").strip().startswith(":"):
            stack.append([i, None, 0])
        elif stack:
            opened = stack.pop()
            opened[1] = i
            pairs.append(opened)
            if stack:
                stack[-1][2] = max(stack[-1][2], opened[2] + 1)
    if not any(height for _, _, height in pairs):
        return text
    for start, end, height in pairs:
        for i in (start, end):
            d = _DIV.match(lines[i])
            lines[i] = d.group("indent") + ":" * (len(d.group("colons")) + height) + d.group("rest")
    return "\n".join(lines)


def clean_attrs(tokens, raw_ids: list, line_of) -> None:
    """Keep what both editions can hold of the attributes the plugin set; an id joins the ids written in raw
    HTML (`raw_ids`, checked book-wide); leftover `{...}` after an image is dropped."""
    for tok in tokens:
        children = tok.children or ()
        for k, child in enumerate(children):
            if child.type == "image" and k + 1 < len(children) and children[k + 1].type == "text":
                after = children[k + 1]
                after.content = _LEFTOVER.sub("", after.content)
            if child.type not in ("span_open", "link_open", "image", "code_inline") or not child.attrs:
                continue
            keep = {"link_open": ("href", "title"), "image": ("src", "alt", "title")}.get(child.type, ())
            attrs = {}
            for key, value in child.attrs.items():
                value = str(value)
                if key in keep:
                    attrs[key] = value
                elif key == "class":
                    classes = [c for c in value.split() if _CLASS.fullmatch(c)]
                    if classes:
                        attrs["class"] = " ".join(classes)
                elif key == "id" and child.type == "span_open" and _XML_ID.fullmatch(value):
                    attrs["id"] = value
                    raw_ids.append((value, line_of(tok)))
                elif key in ("lang", "dir") and child.type == "span_open" and _good(key, value):
                    attrs[key] = value
            child.attrs = attrs


_GRID_RULE = re.compile(r"^\s*\+(?:[-=:]+\+)+\s*$")
_SIMPLE_RULE = re.compile(r"^\s*-{3,}(?:[ \t]+-{3,})+\s*$")


def pipe_tables(text: str) -> str:
    """Pandoc's grid tables and simple tables (with a header row) rewritten as pipe tables, which markdown-it
    reads; the lines a table loses are added after it as blank lines, so the lines below keep their numbers.
    A table without a header row is left as it is (lenient.py warns about it)."""
    lines = text.split("\n")
    code = in_code(lines)
    out, i = [], 0
    while i < len(lines):
        fence = code[i] or None
        if fence is None and _GRID_RULE.match(lines[i]):
            table, used = _grid(lines, i)
        elif fence is None and i > 0 and _SIMPLE_RULE.match(lines[i]) and lines[i - 1].strip() \
                and (i == 1 or not lines[i - 2].strip()) and out:
            table, used = _simple(lines, i - 1)
            if table:
                out.pop()  # the header line, now the table's
                i -= 1
        else:
            table, used = None, 0
        if table:
            out += table + [""] * (used - len(table))
            i += used
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def _row(cells) -> str:
    return "| " + " | ".join(" ".join(c.split()).replace("|", "\\|") for c in cells) + " |"


def _grid(lines, start):
    """(pipe table lines, lines used) of the grid table at `start`, or (None, 0)."""
    first = lines[start]
    cuts = [k for k, ch in enumerate(first) if ch == "+"]
    end = start
    while end + 1 < len(lines) and lines[end + 1].strip().startswith(("|", "+")):
        end += 1
    rows, current, header_at = [], None, None
    for line in lines[start + 1:end + 1]:
        if _GRID_RULE.match(line):
            if current is not None:
                rows.append(current)
            current = None
            if "=" in line:
                header_at = len(rows)
            continue
        cells = [line[a + 1:b] if b <= len(line) else line[a + 1:] for a, b in zip(cuts, cuts[1:])]
        if current is None:
            current = cells
        else:
            current = [f"{x} {y}" for x, y in zip(current, cells)]
    if header_at != 1 or not rows or current is not None:
        return None, 0
    width = len(cuts) - 1
    table = [_row(rows[0]), "|" + "---|" * width] + [_row(r) for r in rows[1:]]
    return table, end + 1 - start


def _simple(lines, start):
    """(pipe table lines, lines used) of the simple table whose header is at `start`, or (None, 0)."""
    rule = lines[start + 1]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    edges = [a for a, _ in spans] + [10 ** 6]

    def cells(line):
        return [line[edges[k]:edges[k + 1]] for k in range(len(spans))]
    end = start + 2
    while end < len(lines) and lines[end].strip():
        end += 1
    body = lines[start + 2:end]
    if body and _SIMPLE_RULE.match(body[-1]):
        body = body[:-1]
    if not body:
        return None, 0
    table = [_row(cells(lines[start])), "|" + "---|" * len(spans)] + [_row(cells(b)) for b in body]
    return table, end - start


def parse_attrs(text: str) -> dict:
    """Pandoc's attributes `#id .class key=value key="a value" -`: {"id":, "classes": [...], key: value}."""
    out: dict = {"classes": []}
    for m in re.finditer(r'#(?P<id>[^\s}]+)|\.(?P<cls>[^\s}]+)|(?P<key>[\w:-]+)=(?:"(?P<q>[^"]*)"|(?P<v>\S+))|'
                         r'(?P<dash>-)(?=\s|$)', text):
        if m.group("id"):
            out["id"] = m.group("id")
        elif m.group("cls"):
            out["classes"].append(m.group("cls"))
        elif m.group("key"):
            out[m.group("key")] = m.group("q") if m.group("q") is not None else m.group("v")
        elif m.group("dash"):
            out["classes"].append("unnumbered")
    return out


_CAPTION = re.compile(r"^(?:Table)?:[ \t]+")
_TRAILING_ATTRS = re.compile(r"[ \t]*\{[^{}]*\}[ \t]*$")


def table_captions(tokens) -> None:
    """Pandoc's table caption, a paragraph `Table: ...` or `: ...` right after a table: the table's <caption>."""
    from markdown_it.token import Token
    k = 0
    while k < len(tokens):
        if tokens[k].type == "table_close" and k + 3 < len(tokens) and tokens[k + 1].type == "paragraph_open" \
                and tokens[k + 2].type == "inline" and _CAPTION.match(tokens[k + 2].content):
            inline = tokens[k + 2]
            inline.content = _TRAILING_ATTRS.sub("", _CAPTION.sub("", inline.content, count=1))
            if inline.children and inline.children[0].type == "text":
                inline.children[0].content = _CAPTION.sub("", inline.children[0].content, count=1)
            if inline.children and inline.children[-1].type == "text":  # `{#tbl:x}` (pandoc-crossref)
                inline.children[-1].content = _TRAILING_ATTRS.sub("", inline.children[-1].content)
            start = max(i for i in range(k) if tokens[i].type == "table_open")
            del tokens[k + 1:k + 4]
            tokens[start + 1:start + 1] = [Token("caption_open", "caption", 1), inline,
                                           Token("caption_close", "caption", -1)]
            k += 3
        k += 1

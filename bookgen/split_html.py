"""The print HTML cut into chapter groups: each group is the whole document with the other groups' top elements
left empty and hidden, so that every selector matches as in the whole book; the front matter's copy has an
empty stand-in for each chapter, whose page counter is set to the chapter's folio (`stub_css`)."""
from __future__ import annotations

from .layout_plan import Group, Unsupported

PLACEHOLDER_STYLE = "display: none !important"
LEAD_STYLE = ("display: block !important; position: static !important; float: none !important; "
              "height: 0 !important; margin: 0 !important; padding: 0 !important; border: 0 !important")


def make_groups(book, html_text: str, group_chars: int) -> list[Group]:
    """The front matter, then consecutive body and back chapters grouped up to `group_chars` of HTML each."""
    from lxml import etree
    from lxml import html as lhtml

    root = lhtml.document_fromstring(html_text)
    body = root.find("body")
    children = [c for c in body if isinstance(c.tag, str)]
    by_id = {c.get("id"): i for i, c in enumerate(children) if c.get("id")}
    later = [c for c in book.chapters if c.matter != "front" and not c.parent]  # a nested entry is inside its chapter
    nested: dict = {}
    for c in book.chapters:
        if c.parent:
            nested.setdefault(c.parent, []).append(c)

    def with_sections(chapter) -> list:
        out = [chapter]
        for child in nested.get(chapter.id, ()):
            out += with_sections(child)
        return out
    by_chapter_id = {c.id: c for c in book.chapters}

    def with_sections_of(chapter_id) -> list:
        return with_sections(by_chapter_id[chapter_id]) if chapter_id in by_chapter_id else []
    if not later:
        raise Unsupported("no body chapters")
    if any(c.id not in by_id for c in later):
        raise Unsupported("chapters are not top elements of the body")
    positions = [by_id[c.id] for c in later]
    if positions != sorted(positions):
        raise Unsupported("chapters out of order")
    sizes = [len(etree.tostring(c)) for c in children]
    # runs of top elements: [0, first chapter) is the front matter; a group starts at a chapter
    runs, current, acc = [], [], 0
    for n, (chapter, pos) in enumerate(zip(later, positions)):
        end = positions[n + 1] if n + 1 < len(positions) else len(children)
        size = sum(sizes[pos:end])
        if current and acc + size > group_chars:
            runs.append(current)
            current, acc = [], 0
        current.append((chapter, pos, end))
        acc += size
    if current:
        runs.append(current)

    # The modification date changes with every edit (the newest source file's); it reaches only the PDF's
    # metadata, which the join takes from the front matter: there it is a stand-in the join replaces
    # (join_pdf.with_modified), so that the front matter keeps its cached layout after an edit elsewhere. A
    # chapter group does without the dates.
    from .join_pdf import STAND_IN
    for meta in root.find("head"):
        if meta.tag == "meta" and (meta.get("name") or "").lower() == "dcterms.modified":
            meta.set("content", STAND_IN)
    head = lhtml.tostring(root.find("head"), encoding="unicode")
    dated = root.find("head")
    for meta in list(dated):
        if meta.tag == "meta" and (meta.get("name") or "").lower() in ("dcterms.modified", "dcterms.created"):
            dated.remove(meta)
    group_head = lhtml.tostring(dated, encoding="unicode")
    html_open = _open_tag(root)
    body_open = _open_tag(body)

    def document(keep: range, lead: bool, stubs: dict | None = None) -> str:
        parts = ["<!DOCTYPE html>\n", html_open, head if stubs is not None else group_head, body_open]
        lead_done = not lead
        for i, child in enumerate(children):
            if i in keep:
                parts.append(lhtml.tostring(child, encoding="unicode"))
            elif stubs is not None and child.get("id") in stubs:
                parts.append(_empty(child, f"page: {stubs[child.get('id')]} !important", keep_id=True))
                for section in with_sections_of(child.get("id"))[1:]:  # its nested entries' stand-ins
                    parts.append(f'<section id="{section.id}" style="page: {stubs[section.id]} !important"></section>')
            elif not lead_done:
                parts.append(_empty(child, LEAD_STYLE))
                lead_done = True
            else:
                parts.append(_empty(child, PLACEHOLDER_STYLE))
        parts.append("</body></html>")
        return "".join(parts)

    groups = []
    inner = [s for c in later for s in with_sections(c)[1:]]
    stubs = {c.id: f"bookgen-stub-{n}" for n, c in enumerate(later + inner)}
    groups.append(Group(0, document(range(0, positions[0]), False, stubs),
                        tuple(c for c in book.chapters if c.matter == "front"), None, tuple(stubs)))
    for n, run in enumerate(runs, start=1):
        keep = range(run[0][1], run[-1][2])
        chapters = tuple(s for c, _, _ in run for s in with_sections(c))
        groups.append(Group(n, document(keep, lead=run[0][1] > 0), chapters,
                            run[0][0].id))
    return groups


def _open_tag(element) -> str:
    from markupsafe import escape
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in element.attrib.items())
    return f"<{element.tag}{attrs}>"


def _empty(element, style: str, keep_id: bool = False) -> str:
    from markupsafe import escape
    attrs = {k: v for k, v in element.attrib.items() if keep_id or k != "id"}
    attrs["style"] = style
    text = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items())
    return f"<{element.tag}{text}></{element.tag}>"


def stub_css(stub_counters: dict, stubs: dict) -> str:
    return "".join(f"@page {stubs[i]} {{ counter-reset: page {v}; }}\n" for i, v in stub_counters.items())

"""The EPUB 3 edition: one XHTML file per chapter, our own nav, pop-up notes and the print page numbers."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from .cover import cover_image
from .epub_package import add_print_source, image_names, rename_images, with_package_language
from .pagemap import BLOCK_TAGS, OBJECT, chapter_blocks
from .parts import nest_parts
from .render import STYLES, context, environment, render

XHTML = "http://www.w3.org/1999/xhtml"
EPUB_NS = "http://www.idpf.org/2007/ops"
NS = {"x": XHTML, "epub": EPUB_NS}


def _image_bytes(img) -> bytes:
    """The image as the EPUB carries it: an SVG cleaned of scripts and references (bookgen/svg.py)."""
    data = img.path.read_bytes()
    if img.media_type == "image/svg+xml":
        from .svg import clean_svg
        return clean_svg(data)
    return data


def epub_stylesheets(book):
    from .book_files import own_files
    return [STYLES / "base.css", STYLES / "epub.css"] + own_files(book.root, "styles", "*.css")


def chapter_pages(book, pages) -> dict:
    """chapter id -> list of PageStart, with blank pages attached to the end of the chapter before them."""
    out = {c.id: [] for c in book.chapters}
    last = None
    for p in pages:
        if p.chapter is not None:
            out[p.chapter].append(p)
            last = p.chapter
        elif last is not None:
            out[last].append(p)  # a blank page: its break goes at the end of the previous chapter
    return out


def is_note(el) -> bool:
    """A note the build made (not an author's own <aside>, a pull-quote: the print page map counts its text)."""
    classes = (el.get("class") or "").split()
    return "footnotes" in classes or (etree.QName(el).localname == "aside" and "footnote" in classes)


def insert_pagebreaks(section, starts, marker_for):
    """Put a pagebreak marker where each printed page begins. `marker_for(page)`: the marker (an element)."""
    blocks = chapter_blocks(section, is_note)
    for p in starts:
        marker = marker_for(p)
        if p.block is None or p.block >= len(blocks):
            # a blank page: at the end of the chapter's text, before its notes
            notes = [el for el in section if is_note(el)]
            if notes:
                notes[0].addprevious(marker)
            else:
                section.append(marker)
            continue
        _insert_at(blocks[p.block], p.chars, marker)


# Blocks a pagebreak can stand in front of (flow content); list items, cells and captions take it inside.
BEFORE_OK = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "figure", "table", "hr", "ol", "ul", "dl",
             "header"}
# Containers a page can begin with when it begins with their first block.
OPENS_WITH = {"header", "blockquote", "figure", "table", "thead", "tbody", "tr", "ol", "ul", "dl"}


# A line may break after these with no hyphen added: the next page begins a new piece of the word.
BREAKS_AFTER = "-\u2010\u2011\u2013\u2014/"


def _insert_at(block, chars: int, marker):
    """Insert `marker` where the page begins: after the first `chars` letters (non-space characters) of
    `block`. A word hyphenated across two pages keeps the marker after it, not inside it."""
    if chars == 0:
        _insert_before(block, marker)
        return
    count = 0
    state = None  # None: counting; "word": finishing a word split across the pages; "next": at the next letter
    space = True
    last = ""
    for node, attr in _text_nodes(block):
        if attr == "img":  # an image: one letter (pagemap.OBJECT)
            if state == "next" or (state is None and count == chars and (space or last in BREAKS_AFTER)):
                node.addprevious(marker)
                return
            if state is None and count == chars:
                state = "word"
            count += 1
            space, last = False, OBJECT
            continue
        text = getattr(node, attr) or ""
        for i, ch in enumerate(text):
            if ch.isspace():
                space = True
                if state == "word":
                    state = "next"
                continue
            if state == "next" or (state is None and count == chars and (space or last in BREAKS_AFTER)):
                _split_insert(node, attr, i, marker)
                return
            if state is None and count == chars:
                state = "word"
            count += 1
            space, last = False, ch
    block.append(marker)


def _insert_before(block, marker):
    """A page that begins with a block: the marker goes in front of it, or in front of the outermost container
    that opens with it (a list whose first item begins the page, a table, a chapter's header)."""
    path = [block]
    el = block
    while True:
        parent = el.getparent()
        if (parent is None or etree.QName(parent).localname not in OPENS_WITH or parent[0] is not el
                or (parent.text or "").strip()):
            break
        path.append(parent)
        el = parent
    outside = [e for e in path if etree.QName(e).localname in BEFORE_OK]
    if outside:
        outside[-1].addprevious(marker)
    else:
        marker.tail = block.text
        block.text = None
        block.insert(0, marker)


def _text_nodes(block):
    """The text of `block` itself in document order, as (element, 'text' or 'tail'), and its images as
    (img, 'img'): the text of a block inside it (a nested list, a paragraph in a list item) is that block's own,
    as the page map counts it."""
    def walk(el):
        yield el, "text"
        for child in el:
            if not isinstance(child.tag, str) or is_note(child) or etree.QName(child).localname in BLOCK_TAGS:
                yield child, "tail"
                continue
            if etree.QName(child).localname == "img":
                yield child, "img"
                yield child, "tail"
                continue
            yield from walk(child)
            yield child, "tail"
    yield from walk(block)


def _split_insert(node, attr, i, marker):
    text = getattr(node, attr)
    before, after = text[:i], text[i:]
    if attr == "text":
        node.text = before
        marker.tail = after
        node.insert(0, marker)
    else:
        node.tail = before
        marker.tail = after
        node.addnext(marker)


def rewrite_links(root, here: str, id_file: dict):
    """The print edition links by #id within one document; in the EPUB an id lives in its chapter's file."""
    for a in root.iter(f"{{{XHTML}}}a"):
        href = a.get("href", "")
        if href.startswith("#") and len(href) > 1:
            frag = href[1:]
            target = id_file.get(frag)
            if target and target != here:
                a.set("href", target if frag == target[:-6] else f"{target}#{frag}")


TOC_DEPTH = 3  # the contents go down to the sections (##) and their subsections (###)


def toc_tree(book) -> list[dict]:
    """Chapters with their sections nested by heading level: [{title, href, children}]."""
    tree = []
    for chapter in book.chapters:
        node = {"title": chapter.title, "href": chapter.file_name, "children": [], "level": 1}
        tree.append(node)
        stack = [node]
        for h in chapter.headings:
            if h.level > TOC_DEPTH:
                continue
            while stack[-1]["level"] >= h.level:
                stack.pop()
            child = {"title": h.text, "href": f"{chapter.file_name}#{h.id}", "children": [], "level": h.level}
            stack[-1]["children"].append(child)
            stack.append(child)
    return nest_parts(book.chapters, tree)


def page_break_source(book) -> str:
    """What the page numbers follow: the print edition, named by the identifier the PDF carries and its size.

    pageBreakSource takes a URN when the source has its own (a print ISBN); book.toml has one identifier for
    both editions, so the value describes the print edition as clearly as possible instead."""
    meta = book.meta
    size = meta.page_size
    trim = size.name if size.name != "custom" else f"{size.width} x {size.height}"
    return f"{meta.title}, print edition (PDF, {trim}), {meta.identifier}"


def accessibility(book, pages) -> list[tuple[str, str]]:
    """EPUB Accessibility 1.1 metadata (schema.org properties), true of what this build wrote."""
    has_images = bool(book.images)
    has_notes = any(c.notes for c in book.chapters)
    features = ["structuralNavigation", "tableOfContents", "readingOrder"]
    if pages:
        features += ["pageBreakMarkers", "pageNavigation"]
    if has_images:
        features.append("alternativeText")
    if has_notes:
        features.append("annotations")
    summary = ("This publication meets WCAG 2.2 Level AA. Text with headings in order, a navigable table of "
               "contents and landmarks")
    if has_notes:
        summary += "; notes pop up from their reference and link back to it"
    if pages:
        summary += "; the page numbers of the print edition, as page break markers and a page list"
    if has_images:
        summary += "; every image has a text description"
    summary += ". No flashing, motion or sound."
    out = [("schema:accessMode", "textual")]
    if has_images:
        out.append(("schema:accessMode", "visual"))
    out.append(("schema:accessModeSufficient", "textual"))
    out += [("schema:accessibilityFeature", f) for f in features]
    out += [("schema:accessibilityHazard", "none"), ("schema:accessibilitySummary", summary),
            ("dcterms:conformsTo", "EPUB Accessibility 1.1 - WCAG 2.2 Level AA")]
    return out


def cover_description(book, words) -> str:
    """The cover's text alternative when book.toml gives none: what the generated cover shows."""
    meta = book.meta
    text = f"{words['cover']}: {meta.title}"
    if meta.subtitle and meta.cover is None:
        text += f". {meta.subtitle}"
    if meta.authors:
        text += f". {meta.author_names}"
    return text


def write_epub(book, pages=None, cover=None) -> bytes:
    """The EPUB as bytes. `pages`: the print edition's page starts (pagemap), or None. `cover`: the cover image
    as cover.cover_image returns it, when it was made beforehand (cover.start_cover)."""
    from ebooklib import epub

    meta = book.meta
    env = environment(book.root)
    ctx = context(book, "epub")
    words = ctx["words"]
    css_items = []
    for path in epub_stylesheets(book):
        # the book's own stylesheets in a folder of their own: a book's base.css is not the generator's
        own = Path(path).parent.resolve() != STYLES.resolve()
        css_items.append(epub.EpubItem(uid=f"css-{'book-' if own else ''}{path.stem}",
                                       file_name=f"css/{'book/' if own else ''}{path.name}", media_type="text/css",
                                       content=path.read_bytes()))
    css_hrefs = [i.file_name for i in css_items]

    eb = epub.EpubBook()
    eb.set_identifier(meta.identifier)
    # titles: the main title and the subtitle, each refined with its title-type
    eb.title = meta.title  # ebooklib's NCX and page titles read it
    eb.add_metadata("DC", "title", meta.title, {"id": "title"})
    eb.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
    if meta.subtitle:
        eb.add_metadata("DC", "title", meta.subtitle, {"id": "subtitle"})
        eb.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    eb.set_language(meta.language)
    if meta.direction == "rtl":
        eb.set_direction("rtl")  # the spine's page-progression-direction
    for n, a in enumerate(meta.authors, 1):
        eb.add_metadata("DC", "creator", a.name, {"id": f"author{n}"})
        eb.add_metadata(None, "meta", a.file_as, {"refines": f"#author{n}", "property": "file-as"})
        eb.add_metadata(None, "meta", "aut", {"refines": f"#author{n}", "property": "role",
                                               "scheme": "marc:relators"})
        eb.add_metadata(None, "meta", str(n), {"refines": f"#author{n}", "property": "display-seq"})
    for key, value in (("publisher", meta.publisher), ("date", meta.date), ("rights", meta.rights),
                       ("description", meta.description)):
        if value:
            eb.add_metadata("DC", key, value)
    for s in meta.subjects:
        eb.add_metadata("DC", "subject", s)
    if pages:
        add_print_source(eb, page_break_source(book))
    for prop, value in accessibility(book, pages):
        eb.add_metadata(None, "meta", value, {"property": prop})

    # cover
    image, media_type, ext = cover or cover_image(book)
    taken = set(image_names(book.images).values())  # a book image may be called images/cover.jpg itself
    cover_href = next(h for h in (f"images/cover{n}.{ext}" for n in ("", *range(1, len(taken) + 2)))
                      if h not in taken)
    cover_item = epub.EpubItem(uid="cover-image", file_name=cover_href, media_type=media_type, content=image)
    cover_item.properties = ["cover-image"]
    eb.add_item(cover_item)
    eb.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})  # EPUB 2 readers, Kindle
    for item in css_items:
        eb.add_item(item)
    image_files = image_names(book.images)
    for n, img in enumerate(book.images):
        eb.add_item(epub.EpubItem(uid=f"img{n + 1}", file_name=image_files[img.href], media_type=img.media_type,
                                  content=_image_bytes(img)))

    def page(template, title, body_type, **extra):
        return render(env, template, **ctx, title=title, stylesheets=css_hrefs, body_type=body_type, **extra)

    # chapters: rendered from the shared partial, links rewritten to files, page breaks inserted
    by_chapter = chapter_pages(book, pages or [])

    def marker_for(p):
        # page_N: heading ids never have "_", so no clash with a heading "Page 3"
        text = render(env, "epub/pagebreak.xhtml.j2", **ctx, page=p)
        marker = etree.fromstring(f'<div xmlns="{XHTML}" xmlns:epub="{EPUB_NS}">{text}</div>')[0]
        marker.tail = None
        return marker
    docs = {}
    id_file = {}
    for chapter in book.chapters:
        text = page("epub/chapter.xhtml.j2", chapter.title, f"{chapter.matter}matter", chapter=chapter)
        root = etree.fromstring(text.encode("utf-8"))
        docs[chapter.file_name] = root
        for el in root.iter():
            if el.get("id"):
                id_file[el.get("id")] = chapter.file_name
    for chapter in book.chapters:
        root = docs[chapter.file_name]
        rewrite_links(root, chapter.file_name, id_file)
        rename_images(root, image_files)
        section = root.find(f".//x:section[@id='{chapter.id}']", NS)
        insert_pagebreaks(section, by_chapter.get(chapter.id, []), marker_for)

    page_list = []
    for chapter in book.chapters:
        for p in by_chapter.get(chapter.id, []):
            page_list.append({"href": f"{chapter.file_name}#page_{p.label}", "label": p.label, "index": p.index,
                              "number": int(p.label) if p.label.isdigit() else None})
    page_list.sort(key=lambda p: p["index"])

    cover_alt = meta.cover_alt or cover_description(book, words)
    # The copyright page names no typeface: in the EPUB the reader chooses the font.
    fixed = [
        ("cover", "cover.xhtml", page("epub/cover.xhtml.j2", words["cover"], "frontmatter",
                                      cover_href=cover_href, cover_alt=cover_alt)),
        ("titlepage", "titlepage.xhtml", page("epub/titlepage.xhtml.j2", meta.title, "frontmatter")),
        ("copyright", "copyright.xhtml", page("epub/copyright.xhtml.j2", words["copyright"], "frontmatter",
                                              fonts="")),
    ]
    items = [epub.EpubItem(uid=uid, file_name=name, media_type="application/xhtml+xml", content=text.encode("utf-8"))
             for uid, name, text in fixed]
    toc = toc_tree(book)
    body = [c for c in book.chapters if c.matter == "body"]
    back = [c for c in book.chapters if c.matter == "back"]
    nav_text = page("epub/nav.xhtml.j2", words["contents"], "frontmatter", toc=toc, pages=page_list,
                    first_body=body[0], first_back=back[0] if back else None)
    nav = epub.EpubItem(uid="nav", file_name="nav.xhtml", media_type="application/xhtml+xml",
                        content=nav_text.encode("utf-8"))
    nav.properties = ["nav"]
    chapter_items = []
    for chapter in book.chapters:
        content = etree.tostring(docs[chapter.file_name], encoding="utf-8", xml_declaration=True,
                                 doctype="<!DOCTYPE html>")
        chapter_items.append(epub.EpubItem(uid=chapter.item_id, file_name=chapter.file_name,
                                           media_type="application/xhtml+xml", content=content))
    for item in items + [nav] + chapter_items:
        eb.add_item(item)
    ncx = epub.EpubNcx()  # its content is replaced by ours (templates/epub/ncx.xml.j2) when the zip is re-packed
    eb.add_item(ncx)
    eb.spine = items + [nav] + chapter_items

    order = reading_order([("cover.xhtml", None), ("titlepage.xhtml", None), ("copyright.xhtml", None),
                           ("nav.xhtml", None)] + [(c.file_name, docs[c.file_name]) for c in book.chapters])
    ncx_text = render(env, "epub/ncx.xml.j2", **ctx, toc=number_play_order(toc, page_list, order),
                      pages=page_list, depth=max((_depth(n) for n in toc), default=1),
                      max_page=max((p["number"] or 0 for p in page_list), default=0))

    modified = datetime.strptime(meta.modified, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    raw = io.BytesIO()
    epub.write_epub(raw, eb, {"epub3_pages": False, "epub3_landmark": False, "epub2_guide": False,
                              "mtime": modified, "raise_exceptions": True})
    opf = with_package_language(raw.getvalue(), meta.language)
    return reproducible_zip(raw.getvalue(), modified, {f"EPUB/{ncx.file_name}": ncx_text.encode("utf-8"),
                                                        opf[0]: opf[1]})


def _depth(node) -> int:
    return 1 + max((_depth(c) for c in node["children"]), default=0)


def reading_order(files) -> dict:
    """href (file or file#id) -> its place in the reading order, for the NCX's playOrder."""
    out = {}
    for n, (name, root) in enumerate(files):
        out[name] = (n, -1)
        if root is not None:
            for i, el in enumerate(root.iter()):
                if el.get("id"):
                    out[f"{name}#{el.get('id')}"] = (n, i)
    return out


def number_play_order(toc, page_list, order) -> list:
    """Give every navPoint and pageTarget its playOrder: one number per place in the reading order."""
    places = []

    def collect(nodes):
        for node in nodes:
            places.append(order[node["href"]])
            collect(node["children"])
    collect(toc)
    places += [order[p["href"]] for p in page_list]
    number = {place: n for n, place in enumerate(sorted(set(places)), 1)}

    def mark(nodes):
        return [{**node, "play_order": number[order[node["href"]]], "children": mark(node["children"])}
                for node in nodes]
    for p in page_list:
        p["play_order"] = number[order[p["href"]]]
    return mark(toc)


def reproducible_zip(data: bytes, when: datetime, replace: dict | None = None) -> bytes:
    """Re-pack: `mimetype` first and stored, every entry with the same fixed time, in a fixed order.

    `replace`: entry name -> new content (our own NCX instead of ebooklib's)."""
    replace = replace or {}
    stamp = max(when, datetime(1980, 1, 1, tzinfo=timezone.utc)).timetuple()[:6]
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    missing = set(replace) - set(names)
    if missing:
        raise ValueError(f"no {', '.join(sorted(missing))} in the EPUB to replace")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in ["mimetype"] + [n for n in names if n != "mimetype"]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            content = replace.get(name) or src.read(name)
            dst.writestr(info, content, compresslevel=9 if name != "mimetype" else None)
    return out.getvalue()

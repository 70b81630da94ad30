"""The EPUB 3 edition: one XHTML file per chapter, our own nav, pop-up notes and the print page numbers."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

from lxml import etree

from .cover import cover_image
from .pagemap import chapter_blocks
from .render import STYLES, context, environment, render

XHTML = "http://www.w3.org/1999/xhtml"
EPUB_NS = "http://www.idpf.org/2007/ops"
NS = {"x": XHTML, "epub": EPUB_NS}
FRONT_FILES = ("cover.xhtml", "titlepage.xhtml", "copyright.xhtml", "nav.xhtml")


def epub_stylesheets(book):
    own = sorted((book.root / "styles").glob("*.css")) if (book.root / "styles").is_dir() else []
    return [STYLES / "base.css", STYLES / "epub.css"] + own


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


def insert_pagebreaks(section, starts, words):
    """Put a pagebreak marker where each printed page begins."""
    blocks = chapter_blocks(section, lambda e: etree.QName(e).localname == "aside"
                            or "footnotes" in (e.get("class") or "").split())
    for p in starts:
        marker = etree.Element(f"{{{XHTML}}}span")
        marker.set(f"{{{EPUB_NS}}}type", "pagebreak")
        marker.set("role", "doc-pagebreak")
        marker.set("id", f"page-{p.label}")
        marker.set("aria-label", p.label)
        if p.block is None or p.block >= len(blocks):
            # blank page: at the end of the chapter, before its notes
            notes = section.find("x:section[@class='footnotes']", NS)
            if notes is not None:
                notes.addprevious(marker)
            else:
                section.append(marker)
            continue
        _insert_at_word(blocks[p.block], p.words, marker)


def _insert_at_word(block, words: int, marker):
    """Insert `marker` inside `block` before its (words+1)-th word (after a word split across pages)."""
    if words == 0:
        marker.tail = block.text
        block.text = None
        block.insert(0, marker)
        return
    count = 0
    prev_space = True
    # walk text nodes in document order: (element, attribute 'text' or 'tail')
    for node, attr in _text_nodes(block):
        text = getattr(node, attr) or ""
        for i, ch in enumerate(text):
            if ch.isspace():
                prev_space = True
            elif prev_space:
                prev_space = False
                count += 1
                if count == words + 1:
                    _split_insert(node, attr, i, marker)
                    return
    block.append(marker)


def _text_nodes(block):
    def walk(el):
        yield el, "text"
        for child in el:
            if etree.QName(child).localname in ("aside",):
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


def write_epub(book, pages=None) -> bytes:
    """The EPUB as bytes. `pages`: the print edition's page starts (pagemap), or None."""
    import ebooklib
    from ebooklib import epub

    meta = book.meta
    env = environment(book.root)
    ctx = context(book, "epub")
    css_items = []
    for path in epub_stylesheets(book):
        css_items.append(epub.EpubItem(uid=f"css-{path.stem}", file_name=f"css/{path.name}", media_type="text/css",
                                       content=path.read_bytes()))
    css_hrefs = [i.file_name for i in css_items]

    eb = epub.EpubBook()
    eb.set_identifier(meta.identifier)
    eb.set_title(meta.title)
    eb.set_language(meta.language)
    for n, a in enumerate(meta.authors):
        eb.add_author(a.name, file_as=a.file_as, role="aut", uid=f"author{n + 1}")
    if meta.subtitle:
        eb.add_metadata("DC", "title", meta.subtitle, {"id": "subtitle"})
        eb.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    for key, value in (("publisher", meta.publisher), ("date", meta.date), ("rights", meta.rights),
                       ("description", meta.description)):
        if value:
            eb.add_metadata("DC", key, value)
    for s in meta.subjects:
        eb.add_metadata("DC", "subject", s)
    a11y = [("schema:accessMode", "textual"), ("schema:accessModeSufficient", "textual"),
            ("schema:accessibilityFeature", "structuralNavigation"),
            ("schema:accessibilityFeature", "tableOfContents"),
            ("schema:accessibilityFeature", "readingOrder"),
            ("schema:accessibilityHazard", "none"),
            ("schema:accessibilitySummary",
             "Text with headings in order, a navigable table of contents, pop-up notes linked both ways"
             + (", and the page numbers of the print edition" if pages else "")
             + (", and a text description of every image." if book.images else ".")),
            ("dcterms:conformsTo", "EPUB Accessibility 1.1 - WCAG 2.2 Level AA")]
    if book.images:
        a11y += [("schema:accessMode", "visual"), ("schema:accessibilityFeature", "alternativeText")]
    if any(c.notes for c in book.chapters):
        a11y.append(("schema:accessibilityFeature", "annotations"))
    if pages:
        a11y.append(("schema:accessibilityFeature", "printPageNumbers"))
        eb.add_metadata(None, "meta", f"urn:bookgen:print:{meta.identifier}", {"property": "pageBreakSource"})
    for prop, value in a11y:
        eb.add_metadata(None, "meta", value, {"property": prop})

    # cover
    image, media_type, ext = cover_image(book)
    cover_href = f"images/cover.{ext}"
    cover_item = epub.EpubItem(uid="cover-image", file_name=cover_href, media_type=media_type, content=image)
    cover_item.properties = ["cover-image"]
    eb.add_item(cover_item)
    eb.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
    for item in css_items:
        eb.add_item(item)
    for n, img in enumerate(book.images):
        eb.add_item(epub.EpubItem(uid=f"img{n + 1}", file_name=img.href, media_type=img.media_type,
                                  content=img.path.read_bytes()))

    def page(template, title, body_type, **extra):
        return render(env, template, **ctx, title=title, stylesheets=css_hrefs, body_type=body_type, **extra)

    by_chapter = chapter_pages(book, pages or [])
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
        section = root.find(f".//x:section[@id='{chapter.id}']", NS)
        insert_pagebreaks(section, by_chapter.get(chapter.id, []), None)

    items = []
    cover_alt = meta.cover_alt or f"{ctx['words']['cover']}: {meta.title}" + (f", {meta.author_names}" if meta.authors else "")
    fixed = [
        ("cover", "cover.xhtml", page("epub/cover.xhtml.j2", ctx["words"]["cover"], "cover",
                                      cover_href=cover_href, cover_alt=cover_alt)),
        ("titlepage", "titlepage.xhtml", page("epub/titlepage.xhtml.j2", meta.title, "frontmatter")),
        ("copyright", "copyright.xhtml", page("epub/copyright.xhtml.j2", ctx["words"]["copyright"], "frontmatter",
                                              fonts="")),
    ]
    for uid, name, text in fixed:
        items.append(epub.EpubItem(uid=uid, file_name=name, media_type="application/xhtml+xml",
                                   content=text.encode("utf-8")))
    page_list = []
    for chapter in book.chapters:
        for p in by_chapter.get(chapter.id, []):
            page_list.append({"href": f"{chapter.file_name}#page-{p.label}", "label": p.label, "index": p.index})
    page_list.sort(key=lambda p: p["index"])
    body = [c for c in book.chapters if c.matter == "body"]
    back = [c for c in book.chapters if c.matter == "back"]
    nav_text = page("epub/nav.xhtml.j2", ctx["words"]["contents"], "frontmatter", pages=page_list,
                    first_body=body[0], first_back=back[0] if back else None)
    nav = epub.EpubItem(uid="nav", file_name="nav.xhtml", media_type="application/xhtml+xml",
                        content=nav_text.encode("utf-8"))
    nav.properties = ["nav"]
    chapter_items = []
    for chapter in book.chapters:
        content = etree.tostring(docs[chapter.file_name], encoding="utf-8", xml_declaration=True,
                                 doctype="<!DOCTYPE html>")
        chapter_items.append(epub.EpubItem(uid=chapter.id, file_name=chapter.file_name,
                                           media_type="application/xhtml+xml", content=content))
    for item in items + [nav] + chapter_items:
        eb.add_item(item)
    eb.add_item(epub.EpubNcx())
    eb.toc = [epub.Link(c.file_name, c.title, c.id) for c in book.chapters]
    front = [c for c in chapter_items if book.chapters[chapter_items.index(c)].matter == "front"]
    eb.spine = [items[0], items[1], items[2], nav] + [c for c in chapter_items]
    del front

    modified = datetime.strptime(meta.modified, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    raw = io.BytesIO()
    epub.write_epub(raw, eb, {"epub3_pages": False, "epub3_landmark": False, "epub2_guide": False,
                              "mtime": modified, "raise_exceptions": True})
    del ebooklib
    return reproducible_zip(raw.getvalue(), modified)


def reproducible_zip(data: bytes, when: datetime) -> bytes:
    """Re-pack: `mimetype` first and stored, every entry with the same fixed time, in a fixed order."""
    stamp = max(when, datetime(1980, 1, 1, tzinfo=timezone.utc)).timetuple()[:6]
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        names = src.namelist()
        for name in ["mimetype"] + [n for n in names if n != "mimetype"]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            dst.writestr(info, src.read(name), compresslevel=9 if name != "mimetype" else None)
    return out.getvalue()

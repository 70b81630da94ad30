"""The print edition: our print HTML laid out by WeasyPrint, with page labels, metadata and tags."""
from __future__ import annotations

import contextlib
import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from . import folios, units
from .errors import BookError, Problem
from .pagemap import first_pages, page_starts
from .render import STYLES, context, environment, render



@dataclass(frozen=True)
class PrintOptions:
    bleed: str | None = None
    crop_marks: bool = False


@dataclass
class Rendered:
    document: object  # weasyprint Document
    html: object  # weasyprint HTML (its etree_element is the tree the boxes point to)
    body_start: int  # index of the page where folio 1 is
    labels: list  # folio of each page
    warnings: list  # what WeasyPrint logged
    raw_pdf: bytes = b""  # WeasyPrint's PDF, before page labels and boxes
    fonts: tuple = ()  # the font families really used, the book face first
    bleed_pt: float = 0.0  # bleed asked for, in points (BleedBox = TrimBox grown by it)
    moved_notes: list = field(default_factory=list)  # Problem (warnings): notes printed a page after their call
    starts: list | None = None  # the page map, when the layout made it (bookgen/split_layout.py)
    pages: int = 0  # how many pages
    group_cache: object = None  # the chapter groups' layouts, to keep once the build has succeeded
    joined: object = None  # split_layout.Joined: the groups' PDFs being joined (pdf_bytes waits for it)
    late_warnings: list = field(default_factory=list)  # found by the join: links without a destination
    split: dict | None = None  # groups, how many this build laid out, in how many processes; None: one document
    whole_because: str = ""  # why the book was laid out as one document, when it could not be split

    def __post_init__(self):
        if self.document is not None:
            self.pages = len(self.document.pages)


def fetcher_for(book):
    """Only files inside the book folder and the project's styles; never the network."""
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    allowed = [book.root.resolve(), STYLES.resolve()]

    class BookFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "data":
                return super().fetch(url, headers)
            if parts.scheme != "file":
                raise FatalURLFetchingError(f"refused to fetch {url}: a book builds without the network")
            path = Path(url2pathname(unquote(parts.path))).resolve()
            if not any(path.is_relative_to(root) for root in allowed):
                raise FatalURLFetchingError(f"refused to read {path}: outside the book folder")
            data = path.read_bytes()
            if path.suffix.lower() == ".svg":  # the picture only: no script, entity or reference (bookgen/svg.py)
                from .svg import BadSVG, clean_svg
                try:
                    data = clean_svg(data)
                except BadSVG as e:
                    raise FatalURLFetchingError(f"refused to read {path}: it {e}") from None
            return URLFetcherResponse(url, data)

    return BookFetcher()


@contextlib.contextmanager
def weasyprint_log():
    """The messages WeasyPrint logs (warnings and errors) while the block runs."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def parse_stylesheets(sheets, fetcher, font_config) -> list:
    """WeasyPrint CSS objects for (path, text) pairs; a stylesheet WeasyPrint cannot parse is the book's error."""
    from weasyprint import CSS

    css = []
    for path, text in sheets:
        try:
            css.append(CSS(string=text, base_url=str(path.parent) + os.sep, url_fetcher=fetcher,
                           font_config=font_config))
        except Exception as e:  # a stylesheet WeasyPrint cannot parse at all
            raise BookError(Problem(path, f"stylesheet error: {e}", None, "fix the CSS")) from None
    return css


PT = units.PT
MARKS_GAP_PT = 3 * PT["mm"]  # crop marks start this far outside the bleed


def length_pt(value: str | None) -> float:
    """A CSS length (3mm, 0.125in, 9pt) in points; 0 for none."""
    if not value:
        return 0.0
    if not units.is_length(value):
        raise BookError(Problem(None, f"'{value}' is not a length", None, "give a length like 3mm or 0.125in"))
    return units.pt(value)


def page_bleed_pt(options: PrintOptions) -> float:
    """The bleed WeasyPrint lays out. WeasyPrint draws crop marks inside its bleed area, so with marks the
    area grows to hold the real bleed plus a margin for the marks; the BleedBox is set back to the real one."""
    bleed = length_pt(options.bleed)
    return 2 * (bleed + MARKS_GAP_PT) if options.crop_marks else bleed


def font_css(meta) -> str:
    from .fonts import font_css
    return font_css(meta)


def print_html(book, options: PrintOptions, fonts: str = "") -> tuple[str, str]:
    env = environment(book.root)
    html = render(env, "print/book.html.j2", **context(book, "print"), fonts=fonts)
    from .listings import columns, for_print
    html = for_print(html, columns(book.meta.page_size))  # long listing lines broken with a mark
    bleed = page_bleed_pt(options)
    page_css = render(env, "print/page.css.j2", size=book.meta.page_size,
                      bleed=f"{bleed:.3f}pt" if bleed else None, crop_marks=options.crop_marks,
                      rtl=book.meta.direction == "rtl", font_css=font_css(book.meta),
                      chapter_open=book.meta.chapter_open)
    return html, page_css


def stylesheet_texts(book) -> list[tuple[Path, str]]:
    return [(path, path.read_text(encoding="utf-8")) for path in stylesheets(book)]


def stylesheets(book) -> list[Path]:
    """Shared typography, then print rules, then the book's own overrides (styles/*.css in the book)."""
    from .book_files import own_files
    return [STYLES / "base.css", STYLES / "print.css"] + own_files(book.root, "styles", "*.css")


def render_print(book, options: PrintOptions = PrintOptions()) -> Rendered:
    """Lay out the print edition.

    The copyright page names the fonts the PDF really uses: a quick probe of the book's characters gives them
    before the layout, and the laid-out book is checked against it (laid out again if it differs). WeasyPrint
    moves a footnote to the next page rather than leave a paragraph's first line alone at the foot of a page;
    when it does, the paragraph that ends the page is sent to the next page and the book laid out again."""
    from weasyprint.text.fonts import FontConfiguration

    fetcher = fetcher_for(book)
    font_config = FontConfiguration()
    with weasyprint_log() as messages:
        css = parse_stylesheets(stylesheet_texts(book), fetcher, font_config)
        fonts = probe_fonts(book, css, fetcher, font_config)
        pushed: list[str] = []  # selectors of blocks sent to the next page to keep notes with their calls
        for layouts in range(1, MAX_LAYOUTS + 1):
            messages.clear()
            html, document = _layout(book, options, css, fetcher, font_config, fonts, pushed)
            more = []
            if layouts <= MAX_PUSH_ROUNDS:
                more = [s for s in blocks_to_push(book, document, html.etree_element) if s not in pushed]
            if more:
                pushed += more
            else:
                # the fonts a document uses are known only once it is written (see used_fonts)
                raw = _write(book, options, document)
                used = used_fonts(document)
                if used == fonts:
                    break
                fonts = used  # name the fonts really used, and lay out again
            del html, document  # one laid-out book in memory at a time
            gc.collect()
        else:
            raise BookError("internal error: the layout does not settle (fonts or notes)")
    body = next((c for c in book.chapters if c.matter == "body"), None)
    body_start = _page_of(document, body.id) if body else len(document.pages)
    labels = folios.labels(len(document.pages), body_start)
    moved = check_notes(book, document, labels)
    return Rendered(document, html, body_start, labels, messages, raw, fonts, length_pt(options.bleed), moved)


def _layout(book, options, css, fetcher, font_config, fonts, pushed=()):
    from weasyprint import CSS, HTML

    from .weasy import keep_notes_with_calls
    keep_notes_with_calls()
    html_text, page_css = print_html(book, options, fonts=font_names(fonts))
    if pushed:
        page_css += "\n".join(f"{selector} {{ break-before: page; }}" for selector in pushed) + "\n"
    html = HTML(string=html_text, base_url=str(book.root) + os.sep, url_fetcher=fetcher)
    # the project's base.css and print.css, the page size, then the book's own stylesheets
    sheets = css[:2] + [CSS(string=page_css, font_config=font_config)] + css[2:]
    document = html.render(stylesheets=sheets, font_config=font_config, pdf_variant=PDF_VARIANT)
    return html, document


def _write(book, options, document) -> bytes:
    from .weasy import compress_in_threads, fast_page_references
    body = next((c for c in book.chapters if c.matter == "body"), None)
    body_start = _page_of(document, body.id) if body else len(document.pages)
    with fast_page_references(), compress_in_threads():  # the same bytes, sooner (bookgen/weasy.py)
        return document.write_pdf(pdf_variant=PDF_VARIANT, pdf_identifier=book.meta.identifier.encode("utf-8"),
                                  custom_metadata=False,
                                  finisher=finisher(body_start, length_pt(options.bleed), book.meta))


def blocks_to_push(book, document, root, chapters=None) -> list[str]:
    """For each note printed on a later page than its call (and short enough to fit on a page), a selector
    for the last block that starts on the call's page: sending it on leaves room for the note."""
    where = first_pages(document.pages)
    heights, room = _note_heights(document)
    pages = set()
    for chapter in book.chapters if chapters is None else chapters:
        for note in chapter.notes:
            call, text = where.get(note.ref_id), where.get(note.id)
            if note.endnote:
                continue  # printed at the end of its chapter (bookgen/long_notes.py)
            if call is not None and text is not None and call != text and heights.get(note.id, 0) <= room:
                pages.add(call)
    parents = {child: parent for parent in root.iter() for child in parent}
    selectors = []
    for i in sorted(pages):
        before = set(_blocks(document.pages[i - 1])) if i > 0 else set()
        starting = [e for e in _blocks(document.pages[i]) if e not in before]
        if starting:
            selector = _selector(starting[-1], parents)
            if selector:
                selectors.append(selector)
    return selectors


PUSHABLE = {"p", "li", "blockquote", "pre", "table", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "dl", "dt",
            "dd"}


def _blocks(page) -> list:
    """The elements of the block boxes in a page's text flow, in order (not the notes, not the margins)."""
    from .weasy import flow_blocks
    return flow_blocks(page, PUSHABLE)


def _selector(element, parents) -> str | None:
    """A CSS selector for one element: its chapter section's id, then :nth-child steps down to it."""
    steps = []
    while element is not None:
        if element.get("id") and element.tag.rsplit("}", 1)[-1] == "section":
            return "#" + element.get("id") + "".join(f" > :nth-child({n})" for n in reversed(steps))
        parent = parents.get(element)
        if parent is None:
            return None
        siblings = [c for c in parent if isinstance(c.tag, str)]
        steps.append(siblings.index(element) + 1)
        element = parent
    return None


PDF_VARIANT = "pdf/ua-1"
# Each round of sending blocks on (to keep notes on their call's page) lays the whole book out again.
MAX_PUSH_ROUNDS = 3
MAX_LAYOUTS = MAX_PUSH_ROUNDS + 3
CODE_TAGS = {"pre", "code", "kbd", "samp"}


def probe_fonts(book, css, fetcher, font_config) -> tuple:
    """The fonts the book's characters will be set in: every character of the print edition once, in running
    text and in code, laid out with the book's stylesheets (a page or two, a few hundredths of a second)."""
    from lxml import html as lhtml
    from markupsafe import escape
    from weasyprint import HTML

    html_text, _ = print_html(book, PrintOptions(), fonts="Set in")
    root = lhtml.fromstring(html_text)
    text, code = set(), set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        in_code = any(a.tag in CODE_TAGS for a in [el, *el.iterancestors()])
        (code if in_code else text).update(el.text or "")
        parent_code = any(a.tag in CODE_TAGS for a in el.iterancestors())
        (code if parent_code else text).update(el.tail or "")
    text.update("0123456789.ivxlcdm")  # folios and leaders
    chars = lambda s: escape("".join(sorted(c for c in s if not c.isspace())))  # noqa: E731
    probe = (f'<html lang="{escape(book.meta.language)}"><body><p>{chars(text)}</p>'
             f'<pre><code>{chars(code)}</code></pre></body></html>')
    document = HTML(string=probe, base_url=str(book.root) + os.sep, url_fetcher=fetcher).render(
        stylesheets=css, font_config=font_config)
    document.write_pdf()
    return used_fonts(document)


def used_fonts(document) -> tuple:
    """Font families that set text in a written document: the one with the most glyphs first, then by name."""
    from .weasy import document_fonts, glyph_counts
    from .fonts import ranked
    return ranked(glyph_counts(document_fonts(document)))


def font_names(fonts) -> str:
    """What the copyright page prints after "Set in"."""
    return ", ".join(fonts)


def _page_of(document, anchor: str) -> int:
    where = first_pages(document.pages, wanted={anchor})
    if anchor in where:
        return where[anchor]
    raise BookError(f"internal error: '{anchor}' is on no page")


def check_notes(book, document, labels=None, chapters=None):
    """Each footnote must be printed whole on the page of its call. WeasyPrint does not split a note: one taller
    than a page is pushed to the end and cut off (and can take the notes after it along), and one too tall for
    what is left of its page moves to a later page. Refuse notes that would be cut off or lost, saying which
    and where; a whole note that lands on a later page than its call (when sending a block on could not keep
    it there) is returned as a warning: nothing is lost, and the author can decide."""
    labels = labels or [str(i + 1) for i in range(len(document.pages))]
    where = first_pages(document.pages)
    heights, room = _note_heights(document)
    problems, moved = [], []
    for chapter in book.chapters if chapters is None else chapters:
        for note in chapter.notes:
            call, text = where.get(note.ref_id), where.get(note.id)
            if note.endnote:
                continue  # printed at the end of its chapter (bookgen/long_notes.py)
            on = f"page {labels[call]}" if call is not None else "no page"
            if note.id in heights and heights[note.id] > room + 0.5:
                problems.append(Problem(chapter.source, f"footnote {note.number} (called on {on}) is longer than a "
                                        f"page can hold ({heights[note.id] / room:.1f} pages): a note is not split "
                                        "across pages, so the PDF would cut it off", None,
                                        "shorten the note, split it into two notes, or move part of it into the "
                                        "text"))
            elif text is None:
                problems.append(Problem(chapter.source, f"footnote {note.number} (called on {on}) is not printed "
                                        "anywhere: it is too long for one page (a note is not split across pages), "
                                        "or a note too long before it took its place", None,
                                        "shorten the note, or split it into two notes"))
            elif call != text:
                moved.append(Problem(chapter.source, f"footnote {note.number} is called on {on} but is printed "
                                     f"on page {labels[text]}", None,
                                     "shorten the note, or reword the text around its call, so that it fits "
                                     "below its call", warning=True))
    if problems:
        raise BookError(problems)
    return moved


def _note_heights(document):
    """The height of each laid-out footnote (by id), and the height of a page's text block."""
    from .weasy import note_heights
    return note_heights(document.pages)


def page_map(book, rendered: Rendered):
    if rendered.starts is not None:
        return rendered.starts
    ids = {c.id for c in book.chapters}
    return page_starts(rendered.document, rendered.html.etree_element, ids, rendered.labels)


def pdf_bytes(book, rendered: Rendered) -> bytes:
    """The finished PDF: written once, by the last layout (see _layout), with its page labels and boxes; or
    joined from the chapter groups' (once the join has ended: split_layout.Joined)."""
    if rendered.joined is not None and not rendered.raw_pdf:
        rendered.raw_pdf, rendered.late_warnings = rendered.joined.result()
    return rendered.raw_pdf


def bleed_finisher(bleed_pt: float, meta=None):
    """A BleedBox exactly `bleed_pt` around the TrimBox (see finisher), and book.toml's metadata in the XMP."""
    def finish(document, pdf):
        from .weasy import add_xmp, bleed_box, written_pages
        for page in written_pages(pdf):
            bleed_box(page, bleed_pt)
        if meta is not None:
            add_xmp(pdf, xmp_descriptions(meta))
    return finish


def xmp_descriptions(meta) -> bytes:
    """The Dublin Core properties WeasyPrint's XMP leaves out (it writes title, creator, description, keywords):
    publisher, rights, identifier, language and each subject, so a library's catalogue reads them as the OPF's."""
    from xml.sax.saxutils import escape

    def bag(name, values, kind="Bag"):
        items = "".join(f"<rdf:li>{escape(v)}</rdf:li>" for v in values if v)
        return f'<rdf:Description rdf:about=""><dc:{name}><rdf:{kind}>{items}</rdf:{kind}></dc:{name}></rdf:Description>' \
            if items else ""
    parts = [bag("publisher", [meta.publisher]), bag("language", [meta.language]), bag("subject", meta.subjects)]
    if meta.rights:
        parts.append(f'<rdf:Description rdf:about=""><dc:rights><rdf:Alt><rdf:li xml:lang="x-default">'
                     f"{escape(meta.rights)}</rdf:li></rdf:Alt></dc:rights></rdf:Description>")
    parts.append(f'<rdf:Description rdf:about=""><dc:identifier>{escape(meta.isbn or meta.identifier)}'
                 "</dc:identifier></rdf:Description>")
    return "".join(parts).encode("utf-8")


def finisher(body_start: int, bleed_pt: float, meta=None):
    """Page labels (i, ii... then 1, 2...) and, for a print shop, a BleedBox exactly `bleed_pt` around the
    TrimBox (WeasyPrint's own is at most 10 pt from it, and takes in the room for crop marks)."""
    from .weasy import page_labels_finisher
    labels = page_labels_finisher(body_start)

    bleed = bleed_finisher(bleed_pt, meta)

    def finish(document, pdf):
        labels(document, pdf)
        bleed(document, pdf)
    return finish

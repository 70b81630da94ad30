"""The print edition: our print HTML laid out by WeasyPrint, with page labels, metadata and tags."""
from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from .errors import BookError, Problem
from .pagemap import page_starts
from .render import STYLES, context, environment, render

ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
         (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]


def roman(n: int) -> str:
    out = ""
    for value, letters in ROMAN:
        while n >= value:
            out, n = out + letters, n - value
    return out


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
            return URLFetcherResponse(url, path.read_bytes())

    return BookFetcher()


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def print_html(book, options: PrintOptions, fonts: str = "") -> tuple[str, str]:
    env = environment(book.root)
    html = render(env, "print/book.html.j2", **context(book, "print"), fonts=fonts)
    page_css = render(env, "print/page.css.j2", size=book.meta.page_size, bleed=options.bleed,
                      crop_marks=options.crop_marks)
    return html, page_css


def stylesheets(book) -> list[Path]:
    """Shared typography, then print rules, then the book's own overrides (styles/*.css in the book)."""
    own = sorted((book.root / "styles").glob("*.css")) if (book.root / "styles").is_dir() else []
    return [STYLES / "base.css", STYLES / "print.css"] + own


def render_print(book, options: PrintOptions = PrintOptions()) -> Rendered:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    html_text, page_css = print_html(book, options, fonts=font_names())
    fetcher = fetcher_for(book)
    fonts = FontConfiguration()
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        html = HTML(string=html_text, base_url=str(book.root) + os.sep, url_fetcher=fetcher)
        css = []
        for path in stylesheets(book):
            try:
                css.append(CSS(string=path.read_text(encoding="utf-8"), base_url=str(path.parent) + os.sep,
                               url_fetcher=fetcher, font_config=fonts))
            except Exception as e:  # a stylesheet WeasyPrint cannot parse at all
                raise BookError(Problem(path, f"stylesheet error: {e}", None, "fix the CSS")) from None
        css.append(CSS(string=page_css, font_config=fonts))
        document = html.render(stylesheets=css, font_config=fonts, pdf_variant="pdf/ua-1")
    finally:
        logger.removeHandler(collect)
    body = next(c for c in book.chapters if c.matter == "body")
    body_start = _page_of(document, body.id)
    labels = [roman(i + 1) if i < body_start else str(i - body_start + 1) for i in range(len(document.pages))]
    check_notes(book, document)
    return Rendered(document, html, body_start, labels, collect.messages)


def _page_of(document, anchor: str) -> int:
    for i, page in enumerate(document.pages):
        if anchor in page.anchors:
            return i
    raise BookError(f"internal error: '{anchor}' is on no page")


def check_notes(book, document):
    """WeasyPrint does not split a footnote: one too long for its page would be lost. Refuse that."""
    where = {}
    for i, page in enumerate(document.pages):
        for anchor in page.anchors:
            where.setdefault(anchor, i)
    problems = []
    for chapter in book.chapters:
        for note in chapter.notes:
            if where.get(note.id) != where.get(note.ref_id):
                problems.append(Problem(chapter.source, f"footnote {note.number} does not fit on the page where it "
                                        "is called, and would be lost in the PDF", None,
                                        "shorten the note or split it into two"))
    if problems:
        raise BookError(problems)


def page_map(book, rendered: Rendered):
    ids = {c.id for c in book.chapters}
    return page_starts(rendered.document, rendered.html.etree_element, ids, rendered.labels)


def pdf_bytes(book, rendered: Rendered) -> bytes:
    """The finished PDF: WeasyPrint's output plus page labels (i, ii... then 1, 2...)."""
    from .speedups import compress_in_threads, fast_page_references, page_labels_finisher

    meta = book.meta
    with fast_page_references(), compress_in_threads():  # the same bytes, sooner (bookgen/speedups.py)
        return rendered.document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=meta.identifier.encode("utf-8"),
                                           custom_metadata=False, finisher=page_labels_finisher(rendered.body_start))


def font_names() -> str:
    return "Linux Libertine O"

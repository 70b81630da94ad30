"""One chapter group laid out by WeasyPrint, in whatever process runs it: its pages broken, then stopped at the
barrier (bookgen/weasy.py) to say how many pages it has and to be told where it falls; then its PDF written. A
body group is written without its margin boxes, which `refinish` draws for its place in the book (also for a
group whose pages come from the cache); the front matter is drawn whole. Notes are kept on their calls' pages by
sending a block on and laying the group out again (`Relayout`)."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import time

from . import folios
from .errors import BookError, Problem
from .layout_plan import (WEASYPRINT_DIFFERS, Body, Finish, Group, GroupResult, LaidOut, Paginated, Unsupported,
                          local_label, page_counters)


class Paginated_(Exception):
    """Raised at the barrier when only the page breaks were wanted (the front matter's first layout)."""
    def __init__(self, paginated, strings):
        super().__init__()
        self.paginated, self.strings = paginated, strings


class Relayout(Exception):
    def __init__(self, selectors):
        super().__init__(selectors)
        self.selectors = selectors


def prepare(book, options, css_texts, extra_css: str = ""):
    """What a process needs to lay out groups: parsed stylesheets, the page CSS, the URL fetcher, fonts."""
    from weasyprint.text.fonts import FontConfiguration

    from . import write_pdf as W
    fetcher = W.fetcher_for(book)
    font_config = FontConfiguration()
    css = W.parse_stylesheets(css_texts, fetcher, font_config)
    return css, getattr(css_texts, "page_css", "") + extra_css, fetcher, font_config


class Sheets(list):
    page_css = ""


@contextlib.contextmanager
def _barrier(on_paginated, margins_apart=None):
    """Call `on_paginated(context, page_boxes)` once WeasyPrint has broken the pages and before it draws the first
    margin box (bookgen/weasy.py); with `margins_apart`, leave out the folios and say what drawing them needs."""
    from .weasy import AdapterError, stop_after_pagination
    try:
        with stop_after_pagination(on_paginated, margins_apart):
            yield
    except AdapterError as e:  # this WeasyPrint has no stage to stop at
        raise Unsupported(str(e)) from None


def _ids_on_pages(pages, wanted: set) -> dict:
    """id -> index of the first page box where an element with that id has a box."""
    from .pagemap import first_pages
    from .weasy import box_anchors
    return first_pages(pages, box_anchors, wanted)


def layout_group(book, options, group: Group, setup, barrier, paginate_only: bool = False):
    """Lay out one group; `barrier(paginated)` is called once its pages are broken. The front matter: a
    GroupResult, `barrier` giving its Finish; a body group: LaidOut (its margins are drawn by `refinish`)."""
    from weasyprint import CSS, HTML

    from . import write_pdf as W
    from .pagemap import page_starts

    from . import weasy
    problem = weasy.self_test()  # once per process
    if problem:
        raise Unsupported(f"{WEASYPRINT_DIFFERS}: {problem}")
    weasy.keep_notes_with_calls()
    css, page_css, fetcher, font_config = setup
    t0 = time.perf_counter()
    with W.weasyprint_log() as messages:
        pushed: list[str] = []
        for rounds in range(W.MAX_PUSH_ROUNDS + 1):
            messages.clear()
            extra = "\n".join(f"{s} {{ break-before: page; }}" for s in pushed)
            html = HTML(string=group.html, base_url=str(book.root) + os.sep, url_fetcher=fetcher)
            sheets = css[:2] + [CSS(string=page_css + extra, font_config=font_config)] + css[2:]
            seen: dict = {}
            apart = [] if group.index else None  # a body group's margins are drawn once it has its place

            def on_paginated(context, pages):
                seen.update(_paginated(book, group, context, pages, pushed, rounds, barrier, html.etree_element,
                                       paginate_only))

            try:
                with _barrier(on_paginated, apart):
                    document = html.render(stylesheets=sheets, font_config=font_config, pdf_variant=W.PDF_VARIANT)
            except Relayout as r:
                pushed += r.selectors
                continue
            except Paginated_ as p:
                return p
            break
        else:  # pragma: no cover - _paginated stops asking after MAX_PUSH_ROUNDS
            raise BookError("internal error: the notes do not settle")
        t1 = time.perf_counter()
        for message in messages:
            if "undefined anchor" in message or "running element" in message:
                raise Unsupported(message)
        finish, paginated = seen.get("finish"), seen["paginated"]
        # a body group keeps the blank page before its opening until it has its place (refinish)
        first = paginated.start - 1 if paginated.blank and group.index else paginated.start
        kept = document.pages[first:] if group.index else document.pages[:paginated.start + paginated.pages]
        n = len(kept)
        # a body group's pages are labelled by their index in the group until it has its place (refinish)
        labels = ([local_label(i) for i in range(n)] if group.index else
                  folios.labels(n, finish.body_start, first=finish.global_start))
        # notes: the whole check, on this group's chapters, in this group's pages
        moved = W.check_notes(book, _Pages(kept), labels, chapters=group.chapters)
        starts = page_starts(_Pages(kept), html.etree_element, {c.id for c in group.chapters}, labels)
        # links to what another group lays out become references the join resolves
        here = {name for page in kept for name in page.anchors}
        for page in kept:
            page.links[:] = [(("external", "bookgen-xref:" + target, rect, box)
                              if kind == "internal" and target not in here else (kind, target, rect, box))
                             for kind, target, rect, box in page.links]
        part = document.copy(kept)
        pdf = _write_pdf(book, options, part)
        # WeasyPrint makes a static font of a variable one once per document, from the first variation it meets
        # there: each group would embed other instances than one document does (outlines that differ by a hair).
        variable = weasy.variable_families(weasy.document_fonts(part))
        if variable:
            raise Unsupported(f"{', '.join(variable)} is a variable font")
        glyphs = weasy.glyph_counts(weasy.document_fonts(part))
        anchors = {}  # a chapter's section has boxes on all its pages: its folio is that of the first
        for i, page in enumerate(kept):
            for c in group.chapters:
                if c.id in page.anchors:
                    anchors.setdefault(c.id, i)
        wait = seen.get("wait", 0.0)
        seconds = {"layout": t1 - t0 - wait, "wait": wait, "pdf": time.perf_counter() - t1}
        if not group.index:  # the front matter: drawn whole, at its place
            counters = seen["book_counters"]
            return GroupResult(group.index, pdf, n, labels, starts, {c: counters[i] for c, i in anchors.items()},
                               glyphs, list(messages), moved, counters[-1] if counters else finish.counter_before,
                               seen["strings"], seconds, rounds)
        body = Body(pdf, n, first, paginated.blank, paginated.counters, apart[first:first + n],
                    [dataclasses.asdict(s) for s in starts], anchors, glyphs, list(messages),
                    [dataclasses.asdict(m) for m in moved], seen["own_strings"])
        return LaidOut(group.index, _as_kept(body), seconds, rounds)


def _write_pdf(book, options, document) -> bytes:
    from . import weasy
    from . import write_pdf as W
    with weasy.fast_page_references(), weasy.compress_in_threads(2):
        return document.write_pdf(pdf_variant=W.PDF_VARIANT, pdf_identifier=book.meta.identifier.encode("utf-8"),
                                  custom_metadata=False,
                                  finisher=W.bleed_finisher(W.length_pt(options.bleed), book.meta))


_MARGINS_SETUP: dict = {}


def refinish(book, options, html_text: str, setup, index: int, body: Body, finish: Finish) -> GroupResult:
    """A body group at its place in the book: its margins drawn (bookgen/weasy.py's margins document, laid over its
    pages by bookgen/overlay.py), its labels, page starts and chapter folios counted from `finish`. Without
    `finish.draw` (an EPUB alone) nothing is drawn, nothing of WeasyPrint is needed, and `setup` may be None."""
    from .pagemap import PageStart
    t0 = time.perf_counter()
    if finish.keep_blank and not body.blank:
        raise Unsupported("a chapter group ends on a right-hand page and the next has no blank page before it")
    skip = int(body.blank and not finish.keep_blank)  # the blank page before the opening, not needed here
    n = body.pages - skip
    counters = page_counters(body.counters, body.first + skip, finish.counter_before)
    labels = folios.labels(n, finish.body_start, first=finish.global_start)
    specs = [{**spec, "counters": {**spec["counters"], "page": [counters[i]]}}
             for i, spec in enumerate(body.margins[skip:])]
    glyphs = dict(body.font_glyphs)
    pdf = b""
    if finish.draw:
        from weasyprint import CSS, HTML

        from . import weasy
        from . import write_pdf as W
        from .overlay import lay_over
        css, page_css, fetcher, font_config = setup
        key = (html_text, page_css, id(font_config))
        if key not in _MARGINS_SETUP:  # the same for every group of a book: parsed once per process
            _MARGINS_SETUP.clear()
            _MARGINS_SETUP[key] = (HTML(string=html_text, base_url=str(book.root) + os.sep, url_fetcher=fetcher),
                                   css[:2] + [CSS(string=page_css, font_config=font_config)] + css[2:])
        html, sheets = _MARGINS_SETUP[key]
        document, drawn = weasy.margins_document(html, sheets, font_config, specs, W.PDF_VARIANT, finish.strings)
        for family, count in weasy.glyph_counts(weasy.document_fonts(document)).items():
            glyphs[family] = glyphs.get(family, 0) + count
        pdf = lay_over(body.pdf, _write_pdf(book, options, document) if drawn else None, drawn,
                       drop_first=bool(skip))

    def labelled(text):
        return re.sub("\ue000(\\d+)\ue001", lambda m: labels[int(m[1]) - skip], text)
    starts = [PageStart(**{**s, "index": s["index"] - skip + finish.global_start, "label": labelled(s["label"])})
              for s in body.starts if s["index"] >= skip]
    moved = [Problem(**{**m, "message": labelled(m["message"])}) for m in body.moved]
    return GroupResult(index, pdf, n, labels, starts, {c: counters[i - skip] for c, i in body.anchors.items()},
                       glyphs, body.warnings, moved, counters[-1] if counters else finish.counter_before,
                       {**finish.strings, **body.strings}, {"layout": 0.0, "wait": 0.0, "pdf": time.perf_counter() - t0})


def _as_kept(body: Body) -> Body:
    """The body as the cache gives it back (JSON: paths as strings, tuples as lists), so that a group finished
    now and one finished from the cache are finished from the same data."""
    import json
    data = dataclasses.asdict(body)
    pdf = data.pop("pdf")
    return Body(pdf=pdf, **json.loads(json.dumps(data, default=str)))


class _Pages:
    def __init__(self, pages):
        self.pages = pages


def _paginated(book, group, context, pages, pushed, rounds, barrier, root, paginate_only=False) -> dict:
    """At the barrier: keep the notes on their calls' pages (or lay out again), say where the group begins, and
    (the front matter) set the page counter and named strings it starts from."""
    from . import weasy
    from . import write_pdf as W

    # Notes printed after their call's page: send a block on and lay the group out again (write_pdf.render_print).
    if rounds < W.MAX_PUSH_ROUNDS:
        more = [s for s in W.blocks_to_push(book, _PageBoxes(pages), root, chapters=group.chapters)
                if s not in pushed]
        if more:
            raise Relayout(more)
    counters = weasy.page_counters(context, len(pages))
    if group.index:
        where = _ids_on_pages(pages, {group.first_id})
        start = where.get(group.first_id)
        recto = "left" if getattr(book.meta, "direction", "ltr") == "rtl" else "right"  # bound on the right
        if start is None or start == 0 or weasy.page_side(pages[start]) != recto:
            raise Unsupported(f"#{group.first_id} does not open on a {recto}-hand page (its recto) after a page break")
        blank = start >= 2 and weasy.is_blank(pages[start - 1])
        count = len(pages) - start
    else:
        where = _ids_on_pages(pages, set(group.stubs[:1]))
        start, blank = 0, False
        end = where.get(group.stubs[0], len(pages)) if group.stubs else len(pages)
        while end > 1 and weasy.is_blank(pages[end - 1]):
            end -= 1  # a blank page before the first chapter is the first chapter group's
        count = end
    first_page = (start - 1 if blank else start) + 1  # WeasyPrint numbers pages from 1
    strings = weasy.last_strings(context, first_page)
    paginated = Paginated(group.index, start, blank, counters, strings, count)
    if paginate_only:
        raise Paginated_(paginated, strings)
    t = time.perf_counter()
    finish = barrier(paginated)  # a body group is told nothing: its place only matters to its margins (refinish)
    wait = time.perf_counter() - t
    if group.index:
        return {"paginated": paginated, "own_strings": strings, "wait": wait}
    book_counters = counters[:count]  # the front matter is drawn whole, with its own folios
    for i, value in enumerate(book_counters):
        weasy.set_page_counter(context, i, value)
    carried = dict(finish.strings)
    if carried:
        weasy.carry_strings(context, carried)
    return {"finish": finish, "paginated": paginated, "book_counters": book_counters,
            "strings": {**carried, **strings}, "own_strings": strings, "wait": wait}


class _PageBoxes:
    """Page boxes (not yet with margins) seen as write_pdf's helpers see a document's pages."""
    def __init__(self, boxes):
        self.pages = [_PageBox(b) for b in boxes]


class _PageBox:
    """A page box at the stop, seen as a rendered page (bookgen/weasy.py reads both)."""
    def __init__(self, box):
        self.box = box
        self._anchors = None

    @property
    def anchors(self):
        if self._anchors is None:
            from .weasy import box_anchors
            self._anchors = box_anchors(self.box)
        return self._anchors

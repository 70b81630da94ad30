"""The print edition laid out in groups of chapters, in parallel processes, then joined into one PDF.

Every chapter opens on a right-hand page, so the page breaks inside a group of chapters do not depend on the
pages before it: each group is its own WeasyPrint document (the whole print HTML, with the other groups' top
elements left empty and hidden, so that every selector matches as in the whole book). Only what CSS draws in
the page margins depends on the groups before: the folio and the running heads. WeasyPrint draws the margins
after it has broken the pages (weasyprint.layout.layout_document), so each group stops there, says how many
pages it has (a barrier), and is told the page counter and the named strings it starts from; then it draws its
margins and writes its PDF. The front matter (the contents needs every chapter's folio) is laid out last, with
an empty stand-in for each chapter whose page counter is set to the chapter's folio; its pages before the first
stand-in are kept. bookgen/join_pdf.py joins the PDFs (tags, outline, links between groups, page labels, one
subset of each font).

Processes: the groups are laid out by workers forked from a server that has imported WeasyPrint (they start
small and carry nothing of this process); a worker whose group waits at the barrier keeps it in a greenlet and
lays out the next group meanwhile. The front matter is laid out in a process of its own, the join in a fresh
one, so that no process ever holds more than a group or two. Each group's pages and PDF are kept between
builds (bookgen/group_cache.py): an edit lays out again only the groups it changed, and those whose folios it
moved.

A layout that cannot be split (chapters not opening on right-hand pages, `counter(pages)`, a target-counter or a
running element across groups) raises `Unsupported`, and the book is laid out whole (write_pdf.render_print).
"""
from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import folios
from .errors import BookError, Problem

PLACEHOLDER_STYLE = "display: none !important"
LEAD_STYLE = ("display: block !important; position: static !important; float: none !important; "
              "height: 0 !important; margin: 0 !important; padding: 0 !important; border: 0 !important")
GROUP_CHARS = 12_000  # about 1,500 words: a group is one chapter, or short chapters together up to this size


class Unsupported(Exception):
    """This book's layout cannot be split into groups; lay it out whole."""


WEASYPRINT_DIFFERS = "this WeasyPrint differs from what the split layout expects"


class Paginated_(Exception):
    """Raised at the barrier when only the page breaks were wanted (the front matter's first layout)."""
    def __init__(self, paginated, strings):
        super().__init__()
        self.paginated, self.strings = paginated, strings


class Relayout(Exception):
    def __init__(self, selectors):
        super().__init__(selectors)
        self.selectors = selectors


@dataclass
class Group:
    index: int  # 0: the front matter
    html: str
    chapters: tuple  # the chapters laid out in this group (model objects)
    first_id: str | None  # the element whose page is the group's first (body groups)
    stubs: tuple = ()  # the front matter: ids of the chapters stood in for
    key: str = ""  # hash of what the group's pagination depends on (set by _Plan, bookgen/group_cache.py)


@dataclass
class Paginated:
    """What a group says at the barrier: enough to place the groups after it."""
    index: int
    start: int  # index (in the group's document) of its first page (the chapter opening)
    blank: bool  # the page before `start` is a blank left page that can be kept
    counters: list  # the page counter on each page of the group's document
    strings: dict  # named string -> its last value on the group's pages
    pages: int  # pages from `start` to the end


@dataclass
class Finish:
    keep_blank: bool  # keep the blank left page before the opening (the group before ended on a right page)
    counter_before: int  # the page counter of the book's page before the group's first kept page
    strings: dict  # named strings carried from the pages before
    global_start: int  # index in the book of the group's first kept page
    body_start: int  # index in the book of folio 1 (labels)


@dataclass
class GroupResult:
    index: int
    pdf: bytes
    pages: int
    labels: list
    starts: list  # pagemap.PageStart, indices in the book
    anchor_counters: dict  # chapter id -> page counter on its first page
    font_glyphs: dict  # font family -> glyphs used
    warnings: list
    moved: list  # Problem
    counter_last: int
    strings: dict
    seconds: dict = field(default_factory=dict)  # layout (with note-keeping relayouts), wait (at the barrier), pdf


def page_counters(counters: list, first: int, counter_before: int) -> list:
    """The book's page counter on each page of a group's document from `first` on: the group counted its own
    pages from 1; shift them to follow `counter_before`, until the group resets or sets the counter itself."""
    out = []
    delta = counter_before - (counters[first - 1] if first > 0 else 0)
    previous = counters[first - 1] if first > 0 else 0
    shifting = True
    for value in counters[first:]:
        if shifting and value != previous + 1:
            shifting = False  # a counter-reset or counter-set of `page` on this page: its value is the book's
        previous = value
        out.append(value + delta if shifting else value)
    return out


# -- in a worker: one group ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def _barrier(on_paginated):
    """Call `on_paginated(context, page_boxes)` once WeasyPrint has broken the pages and before it draws the first
    margin box (bookgen/weasy.py)."""
    from .weasy import AdapterError, stop_after_pagination
    try:
        with stop_after_pagination(on_paginated):
            yield
    except AdapterError as e:  # this WeasyPrint has no stage to stop at
        raise Unsupported(str(e)) from None


def _ids_on_pages(pages, wanted: set) -> dict:
    """id -> index of the first page where an element with that id has a box."""
    from .weasy import box_anchors
    where = {}
    for i, page in enumerate(pages):
        for name in box_anchors(page):
            if name in wanted and name not in where:
                where[name] = i
    return where


def layout_group(book, options, group: Group, setup, barrier, paginate_only: bool = False) -> GroupResult:
    """Lay out one group; `barrier(paginated) -> Finish` is called once its pages are broken."""
    from weasyprint import CSS, HTML

    from . import write_pdf as W
    from .pagemap import page_starts

    from . import weasy
    problem = weasy.self_test()  # once per process
    if problem:
        raise Unsupported(f"{WEASYPRINT_DIFFERS}: {problem}")
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

            def on_paginated(context, pages):
                seen.update(_paginated(book, group, context, pages, pushed, rounds, barrier, html.etree_element,
                                       paginate_only))

            try:
                with _barrier(on_paginated):
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
        finish, paginated = seen["finish"], seen["paginated"]
        first = paginated.start - 1 if finish.keep_blank else paginated.start
        kept = document.pages[first:] if group.index else document.pages[:paginated.start + paginated.pages]
        n = len(kept)
        labels = folios.labels(n, finish.body_start, first=finish.global_start)
        # notes: the whole check, on this group's chapters, in this group's pages
        moved = W.check_notes(book, _Pages(kept), labels, chapters=group.chapters)
        starts = [s.__class__(**{**s.__dict__, "index": s.index + finish.global_start})
                  for s in page_starts(_Pages(kept), html.etree_element, {c.id for c in group.chapters}, labels)]
        # links to what another group lays out become references the join resolves
        here = {name for page in kept for name in page.anchors}
        for page in kept:
            page.links[:] = [(("external", "bookgen-xref:" + target, rect, box)
                              if kind == "internal" and target not in here else (kind, target, rect, box))
                             for kind, target, rect, box in page.links]
        part = document.copy(kept)
        with weasy.fast_page_references(), weasy.compress_in_threads(2):
            pdf = part.write_pdf(pdf_variant=W.PDF_VARIANT, pdf_identifier=book.meta.identifier.encode("utf-8"),
                                 custom_metadata=False, finisher=W.bleed_finisher(W.length_pt(options.bleed), book.meta))
        # WeasyPrint makes a static font of a variable one once per document, from the first variation it meets
        # there: each group would embed other instances than one document does (outlines that differ by a hair).
        variable = weasy.variable_families(weasy.document_fonts(part))
        if variable:
            raise Unsupported(f"{', '.join(variable)} is a variable font")
        glyphs = weasy.glyph_counts(weasy.document_fonts(part))
        counters = seen["book_counters"]
        anchors = {}  # a chapter's section has boxes on all its pages: its folio is that of the first
        for i, page in enumerate(kept):
            for c in group.chapters:
                if c.id in page.anchors:
                    anchors.setdefault(c.id, counters[i])
        wait = seen.get("wait", 0.0)
        seconds = {"layout": t1 - t0 - wait, "wait": wait, "pdf": time.perf_counter() - t1}
        return GroupResult(group.index, pdf, n, labels, starts, anchors, glyphs, list(messages), moved,
                           counters[-1] if counters else finish.counter_before, seen["strings"], seconds)


class _Pages:
    def __init__(self, pages):
        self.pages = pages


def _paginated(book, group, context, pages, pushed, rounds, barrier, root, paginate_only=False) -> dict:
    """At the barrier: keep the notes on their calls' pages (or lay out again), say where the group begins, and
    set the page counter and named strings it starts from."""
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
    finish = barrier(paginated)
    wait = time.perf_counter() - t
    if finish.keep_blank and not blank:
        raise Unsupported("a chapter group ends on a right-hand page and the next has no blank page before it")
    first = start - 1 if finish.keep_blank else start
    book_counters = page_counters(counters, first, finish.counter_before) if group.index else counters[:count]
    for i, value in enumerate(book_counters):
        weasy.set_page_counter(context, first + i, value)
    carried = dict(finish.strings)
    if carried:
        weasy.carry_strings(context, carried)
    return {"finish": finish, "paginated": paginated, "book_counters": book_counters,
            "strings": {**carried, **strings}, "wait": wait}


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


# -- the groups ---------------------------------------------------------------------------------------------------

def make_groups(book, html_text: str, group_chars: int | None = None) -> list[Group]:
    """The front matter, then consecutive body and back chapters grouped up to `group_chars` of HTML each."""
    group_chars = GROUP_CHARS if group_chars is None else group_chars
    from lxml import etree
    from lxml import html as lhtml

    root = lhtml.document_fromstring(html_text)
    body = root.find("body")
    children = [c for c in body if isinstance(c.tag, str)]
    by_id = {c.get("id"): i for i, c in enumerate(children) if c.get("id")}
    later = [c for c in book.chapters if c.matter != "front"]
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

    head = lhtml.tostring(root.find("head"), encoding="unicode")
    # The dates change with every edit; they reach the PDF's metadata, which the join takes from the front
    # matter, so a chapter group does without them (and keeps its cached layout after an edit elsewhere).
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
            elif not lead_done:
                parts.append(_empty(child, LEAD_STYLE))
                lead_done = True
            else:
                parts.append(_empty(child, PLACEHOLDER_STYLE))
        parts.append("</body></html>")
        return "".join(parts)

    groups = []
    stubs = {c.id: f"bookgen-stub-{n}" for n, c in enumerate(later)}
    groups.append(Group(0, document(range(0, positions[0]), False, stubs),
                        tuple(c for c in book.chapters if c.matter == "front"), None, tuple(stubs)))
    for n, run in enumerate(runs, start=1):
        keep = range(run[0][1], run[-1][2])
        groups.append(Group(n, document(keep, lead=run[0][1] > 0), tuple(c for c, _, _ in run), run[0][0].id))
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


# -- the whole book -----------------------------------------------------------------------------------------------

def _setup(book, options, css_texts, extra_css: str = ""):
    """What a process needs to lay out groups: parsed stylesheets, the page CSS, the URL fetcher, fonts."""
    from weasyprint.text.fonts import FontConfiguration

    from . import write_pdf as W
    fetcher = W.fetcher_for(book)
    font_config = FontConfiguration()
    css = W.parse_stylesheets(css_texts, fetcher, font_config)
    return css, getattr(css_texts, "page_css", "") + extra_css, fetcher, font_config


class _Sheets(list):
    page_css = ""


class _Plan:
    """Which groups are placed in the book, which are laid out, which come from the cache."""

    def __init__(self, groups, cache, base_key):
        self.groups, self.cache = groups, cache
        self.paginated: dict = {}  # group index -> Paginated
        self.finishes: dict = {}  # group index -> Finish
        self.results: dict = {}  # group index -> GroupResult
        self.todo: list = []  # groups to lay out, in order
        self.claimed: set = set()  # groups being laid out, or laid out
        self.laid_out = 0  # groups laid out by this build (the others came from the cache)
        self.next = 1  # the next group to place
        self.front = None
        for g in groups:
            g.key = cache.key("group", g.html, base_key)
        for g in groups[1:]:
            hit = cache.get(g.key)
            if hit:
                self.paginated[g.index] = Paginated(**hit)
            else:
                self.todo.append(g.index)

    def set_front(self, pages: int, counter: int, strings: dict):
        self.pages, self.counter, self.strings, self.body_start = pages, counter, dict(strings), None
        self.front = True
        self.place()

    def on_paginated(self, p: Paginated):
        if p.index not in self.paginated:
            self.paginated[p.index] = p
            self.cache.put(self.groups[p.index].key, dataclasses.asdict(p))
        self.place()

    def on_done(self, r: GroupResult):
        self.laid_out += 1
        self.results[r.index] = r
        self.cache.put(self.result_key(r.index), dataclasses.asdict(r))

    def result_key(self, index):
        return self.cache.key(self.groups[index].key, dataclasses.asdict(self.finishes[index]))

    def place(self):
        """Place every group whose groups before are all placed; take from the cache what it has."""
        if self.front is None:
            return
        while self.next in self.paginated:
            index, p = self.next, self.paginated[self.next]
            keep_blank = self.pages % 2 == 1  # the book so far ends on a right-hand page
            if self.body_start is None:
                self.body_start = self.pages + keep_blank
            finish = Finish(keep_blank, self.counter, dict(self.strings), self.pages, self.body_start)
            first = p.start - 1 if keep_blank else p.start
            counters = page_counters(p.counters, first, self.counter)
            self.counter = counters[-1] if counters else self.counter
            self.strings.update(p.strings)
            self.pages += p.pages + keep_blank
            self.finishes[index] = finish
            self.next += 1
            if index in self.todo or index in self.claimed:
                continue
            hit = self.cache.get(self.result_key(index))
            if hit:
                self.results[index] = _result(hit)
            else:
                self.todo.insert(0, index)  # placed: it will not wait at the barrier

    def take(self) -> int:
        index = self.todo.pop(0)
        self.claimed.add(index)
        return index


def _result(data: dict) -> GroupResult:
    from .pagemap import PageStart
    data = dict(data)
    data["starts"] = [PageStart(**s) for s in data["starts"]]
    data["moved"] = [Problem(**m) for m in data["moved"]]
    return GroupResult(**data)


def render_split(book, options, jobs: int = 1, cache_dir=None, read_cache: bool = True, want_pdf: bool = True):
    """Lay out the print edition in groups (in `jobs` processes) and join them; write_pdf.Rendered.
    `cache_dir`: where to keep each group's layout for the next build (bookgen/group_cache.py)."""
    from . import write_pdf as W
    from .cache import inputs_digest
    from .group_cache import GroupCache
    from .processes import sigint_held
    with sigint_held():  # join_pdf imports pikepdf, which a Ctrl-C must not cut in two
        from .join_pdf import join_in_a_process

    t_start = time.perf_counter()
    sheets = _Sheets(W.stylesheet_texts(book))
    if any(re.search(r"counter\(\s*pages\s*[,)]", text) for _, text in sheets):
        raise Unsupported("counter(pages) needs the whole book")
    from .render import STYLES
    own = [path for path, text in sheets if re.search(r"target-counters?\(", text)
           and not Path(path).resolve().is_relative_to(STYLES.resolve())]
    if own:  # a group would count its own pages (the project's own use, the contents, is in the front matter)
        raise Unsupported(f"{Path(own[0]).name} uses target-counter: page numbers in the text need the whole book")
    if "forkserver" in multiprocessing.get_all_start_methods():
        start_fork_server()  # its imports overlap with the print HTML
    # The fonts the copyright page names are those the groups really use: known once they are laid out, and
    # only the front matter prints them (no probe needed).
    fonts = ()
    html_text, page_css = W.print_html(book, options, fonts=W.font_names(fonts))
    sheets.page_css = page_css
    groups = make_groups(book, html_text)
    if len(groups) < 2:
        raise Unsupported("one group")
    t_templates = time.perf_counter() - t_start  # print HTML, groups
    environment = ""
    if cache_dir is not None:
        environment = inputs_digest(book.root, Path(cache_dir).parent, skip_suffixes=(".md", ".markdown"))["inputs"]
    cache = GroupCache(cache_dir, environment, read=read_cache)
    base_key = [[str(path), text] for path, text in sheets] + [page_css]
    plan = _Plan(groups, cache, base_key)
    stub_names = dict(zip(groups[0].stubs, (f"bookgen-stub-{n}" for n in range(len(groups[0].stubs)))))

    front_layouts: list = []

    def lay_out_front(counters):
        """The front matter, with each chapter's stand-in at its folio; and how long it is."""
        key = cache.key(groups[0].key, counters)
        hit = cache.get(key)
        if hit:
            return _result({k: v for k, v in hit.items() if k != "front_pages"}), hit["front_pages"]
        result, pages = front.run(groups[0], stub_css(counters, stub_names))
        front_layouts.append(result.seconds)
        cache.put(key, {**dataclasses.asdict(result), "front_pages": pages})
        return result, pages

    # The front matter's length and the named strings it sets, with the folios of the last build (or 1s).
    front_key = cache.key("folios", groups[0].stubs, base_key)  # not the front matter's HTML: it has the date
    guess = (cache.get(front_key) or {}).get("counters") or {c: 1 for c in groups[0].stubs}

    def first_front():
        """(the front matter laid out with the guessed folios or None, its length); the groups can be placed."""
        state_key = cache.key(groups[0].key, "state")
        state = cache.get(state_key)
        if state:
            plan.set_front(state["pages"], state["counter"], state["strings"])
            return None, state["pages"]
        # its page breaks only: it is laid out again, whole, once the chapters' folios are known
        p, strings = front.run(groups[0], stub_css(guess, stub_names), paginate_only=True)
        state = {"pages": p.pages, "counter": p.counters[p.pages - 1] if p.pages else 0, "strings": strings}
        cache.put(state_key, state)
        plan.set_front(state["pages"], state["counter"], state["strings"])
        return None, state["pages"]

    jobs = max(1, min(jobs, len(plan.todo)))
    processes = "forkserver" in multiprocessing.get_all_start_methods()
    front = _Front(book, options, sheets, processes)
    try:
        result = _lay_out_groups(book, options, groups, sheets, jobs, plan, first_front, processes)
        first, front_pages = result
        result = _finish_front(book, options, groups, plan, cache, base_key, fonts, guess, first, front_pages,
                               lay_out_front)
    finally:
        front.close()
    front, fonts, counters = result
    body = [plan.results[g.index] for g in groups[1:]]
    cache.put(front_key, {"counters": counters})
    t_join = time.perf_counter()
    pdf, unresolved = b"", []
    if want_pdf:  # (an EPUB alone needs only the page map)
        try:
            pdf, unresolved = join_in_a_process([front.pdf] + [r.pdf for r in body], body_start=plan.body_start)
        except RuntimeError as e:
            raise BookError(f"internal error: {e}") from None
    t_join = time.perf_counter() - t_join
    fresh = [r.seconds for i, r in plan.results.items() if i in plan.claimed] + front_layouts
    seconds = {"templates": t_templates, "join": t_join,
               **{k: sum(x.get(k, 0.0) for x in fresh) for k in ("layout", "wait", "pdf")}}
    warnings = list(dict.fromkeys(m for r in [front, *body] for m in r.warnings))
    warnings += [f"No anchor #{name} for internal URI reference" for name in unresolved or ()]
    labels = front.labels + [label for r in body for label in r.labels]
    starts = front.starts + [s for r in body for s in r.starts]
    moved = [m for r in [front, *body] for m in r.moved]
    return W.Rendered(None, None, plan.body_start, labels, warnings, pdf, fonts,
                      W.length_pt(options.bleed), moved, starts=starts, pages=len(labels), group_cache=cache,
                      split={"groups": len(groups), "laid_out": plan.laid_out + bool(front_layouts),
                             "front_layouts": len(front_layouts), "processes": jobs if plan.laid_out else 0,
                             "seconds": seconds})


def _lay_out_groups(book, options, groups, sheets, jobs, plan, first_front, processes):
    """Lay out the groups the cache does not have: in worker processes, or here when there are none."""
    if plan.todo and processes:
        # in worker processes even with --jobs 1: the memory a layout leaves behind goes with its process
        return _in_processes(book, options, groups, list(sheets), sheets.page_css, jobs, plan, first_front)
    first = first_front()
    if plan.todo:
        css, _, fetcher, font_config = _setup(book, options, sheets)
        setup = (css, sheets.page_css, fetcher, font_config)
    while plan.todo:
        index = plan.take()

        def barrier(p):
            plan.on_paginated(p)
            return plan.finishes[p.index]
        plan.on_done(layout_group(book, options, groups[index], setup, barrier))
        # (no gc.collect() here: a laid-out group is freed by reference counting; a collection per group
        # cost a second on a 100k-word book and saved nothing)
    return first


def _finish_front(book, options, groups, plan, cache, base_key, fonts, guess, front, front_pages, lay_out_front):
    """The front matter laid out with every chapter's folio in the contents and, on the copyright page, the
    fonts the book really uses; (its GroupResult, the fonts, the folios)."""
    from . import write_pdf as W
    body = [plan.results[g.index] for g in groups[1:]]
    counters = {c: r.anchor_counters[c] for r in body for c in r.anchor_counters}
    front_counters = guess if front is not None else None
    for _ in range(4):
        glyphs: dict = {}
        for r in [*body, front] if front is not None else body:
            for family, n in r.font_glyphs.items():
                glyphs[family] = glyphs.get(family, 0) + n
        used = (max(glyphs, key=lambda f: (glyphs[f], f)),) if glyphs else ()
        used += tuple(sorted(f for f in glyphs if f not in used))
        if used != fonts:
            fonts = used
            html_text, _ = W.print_html(book, options, fonts=W.font_names(fonts))
            groups[0] = make_groups(book, html_text)[0]
            groups[0].key = cache.key("group", groups[0].html, base_key)
        elif front is not None and counters == front_counters:
            return front, fonts, counters
        front, pages = lay_out_front(counters)
        front_counters = counters
        if pages != front_pages:
            raise Unsupported("the front matter's length depends on the folios in its contents")
    raise BookError("internal error: the fonts of the front matter do not settle")


class _Front:
    """Lays out the front matter: in a process of its own, so that this one never holds a laid-out document."""

    def __init__(self, book, options, sheets, processes: bool):
        self.args = (dataclasses.replace(book, chapters=()), options, list(sheets), sheets.page_css)
        self.book, self.options, self.sheets = book, options, sheets
        self.pool = None
        if processes:
            from concurrent.futures import ProcessPoolExecutor
            from .processes import die_with_parent
            self.pool = ProcessPoolExecutor(1, mp_context=start_fork_server(), initializer=die_with_parent)

    def run(self, group, extra_css: str, paginate_only: bool = False):
        if self.pool is None:
            return _front_job(self.book, self.options, self.sheets, self.sheets.page_css, group, extra_css,
                              paginate_only)
        with main_module_hidden():
            future = self.pool.submit(_front_job, *self.args, group, extra_css, paginate_only)
        return future.result()

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


_FRONT_SETUP: dict = {}


def _front_job(book, options, sheets, page_css, group, extra_css, paginate_only):
    """(GroupResult, pages), or Paginated_ with paginate_only."""
    key = (str(book.root), page_css, tuple(text for _, text in sheets))
    if key not in _FRONT_SETUP:
        _FRONT_SETUP.clear()
        _FRONT_SETUP[key] = _setup(book, options, sheets)
    css, _, fetcher, font_config = _FRONT_SETUP[key]
    setup = (css, page_css + extra_css, fetcher, font_config)
    seen = {}

    def barrier(p):
        seen["p"] = p
        return Finish(False, 0, {}, 0, p.pages)
    result = layout_group(book, options, group, setup, barrier, paginate_only=paginate_only)
    if paginate_only:  # layout_group returned the Paginated_ it stopped with: send what it holds
        return result.paginated, result.strings
    return result, seen["p"].pages


def _in_processes(book, options, groups, sheets, page_css, jobs, plan, first_front):
    """Lay out the groups in `plan.todo` in `jobs` worker processes; the front matter here, meanwhile.

    The workers come from a fork server that has only imported WeasyPrint: they start small and fast (a fork
    of this process would carry its memory, and copying it page by page as they write slows them down), and
    are sent what they lay out."""
    from multiprocessing.connection import wait

    ctx = start_fork_server()
    light = dataclasses.replace(book, chapters=())  # a group carries its own chapters
    workers = []
    with main_module_hidden():
        for _ in range(jobs):
            parent_end, child_end = ctx.Pipe()
            process = ctx.Process(target=_worker, args=(child_end, light, options, sheets, page_css), daemon=True)
            process.start()
            child_end.close()
            workers.append((process, parent_end))
    try:
        conns = [conn for _, conn in workers]
        running: dict = {c: None for c in conns}  # connection -> the group it lays out now (None: free)
        held: dict = {c: set() for c in conns}  # connection -> groups waiting at its barrier
        resumed: dict = {c: set() for c in conns}  # connection -> groups sent their Finish, not done yet
        waiting: dict = {}  # group index -> connection, at the barrier without its Finish

        def dispatch():
            # a worker lays out one group at a time, and holds at most MAX_WAITING more
            for c in conns:
                if plan.todo and running[c] is None and len(held[c]) + len(resumed[c]) <= MAX_WAITING:
                    running[c] = plan.take()
                    c.send(groups[running[c]])

        def release():
            for index in [i for i in waiting if i in plan.finishes]:
                c = waiting.pop(index)
                held[c].discard(index)
                resumed[c].add(index)
                c.send((index, plan.finishes[index]))

        dispatch()
        front = first_front()
        release()
        dispatch()
        while len(plan.results) < len(groups) - 1:
            busy = [c for c in conns if running[c] is not None or held[c] or resumed[c]]
            if not busy:
                raise BookError("internal error: chapter groups left with nothing to lay them out")
            for conn in wait(busy):
                try:
                    kind, value = conn.recv()
                except EOFError:
                    raise BookError("internal error: a layout process stopped") from None
                if kind == "paginated":
                    plan.on_paginated(value)
                    if value.index in plan.finishes:
                        conn.send((value.index, plan.finishes[value.index]))  # goes on at once
                    else:
                        # it waits at the barrier; the worker takes another group meanwhile
                        running[conn] = None
                        held[conn].add(value.index)
                        waiting[value.index] = conn
                    release()
                elif kind == "done":
                    plan.on_done(value)
                    if running[conn] == value.index:
                        running[conn] = None
                    resumed[conn].discard(value.index)
                elif kind == "unsupported":
                    raise Unsupported(value)
                elif kind == "problems":
                    raise BookError(value)
                else:
                    raise value
            dispatch()
        return front
    finally:
        for process, conn in workers:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        for process, _ in workers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def start_fork_server():
    """The multiprocessing context whose processes fork from a server that has imported WeasyPrint (started
    now, so that its imports overlap with what this process does meanwhile); None where there is none."""
    import multiprocessing.forkserver
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["bookgen.processes", "bookgen.split_layout", "bookgen.pagemap", "bookgen.cover",
                                "weasyprint"])
    # The server imports bookgen by name, from its own sys.path (it ignores ours): put this bookgen first, or a
    # checkout run from another folder, or an installed bookgen, would lay out the groups with other code.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent), saved]))
    try:
        with main_module_hidden():
            multiprocessing.forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return ctx


def stop_fork_server():
    """Stop the layout processes' server, if this process started one, and wait for it (a bounded wait:
    bookgen/processes.py): its processes' time and memory then count among this process's children (what the
    benchmark measures)."""
    from .processes import stop_fork_server as stop
    stop()


@contextlib.contextmanager
def main_module_hidden():
    """multiprocessing makes a new process import the script that started the build (`__main__`), which runs a
    script without an `if __name__ == "__main__"` guard again; the workers need only this module."""
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
    try:
        for name in saved:
            setattr(main, name, None)
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


MAX_WAITING = 1  # groups a worker holds at the barrier while it lays out another (each holds its pages)


def _worker(conn, book, options, sheets, page_css):
    """Lay out the groups the parent sends. A group whose folio is not known yet when its pages are broken waits
    at the barrier in a greenlet, while the worker lays out the next group."""
    import signal
    import traceback

    import greenlet
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    from .processes import die_with_parent
    die_with_parent()  # and if the fork server dies (with the build), so do we
    css, _, fetcher, font_config = _setup(book, options, sheets)
    setup = (css, page_css, fetcher, font_config)
    main = greenlet.getcurrent()
    waiting: dict = {}  # group index -> its greenlet, at the barrier

    def run(group):
        def barrier(p):
            conn.send(("paginated", p))
            return main.switch(("waiting", group.index))  # resumed with the Finish
        try:
            return ("done", layout_group(book, options, group, setup, barrier))
        except Unsupported as e:
            return ("unsupported", str(e))
        except BookError as e:
            return ("problems", e.problems)
        except Exception:
            return ("error", BookError(f"internal error in a layout process:\n{traceback.format_exc()}"))
        except BaseException as e:
            if type(e).__name__ != "FatalURLFetchingError":  # WeasyPrint stops on our fetcher's refusal so
                raise
            return ("problems", (Problem(None, str(e), None, "a book may use only files inside its folder; check "
                                         "the templates and stylesheets"),))

    try:
        while True:
            message = conn.recv()
            if message is None:
                return
            if isinstance(message, Group):
                layout = greenlet.greenlet(run)
                out = layout.switch(message)
            else:
                index, finish = message
                layout = waiting.pop(index)
                out = layout.switch(finish)
            if out[0] == "waiting":
                waiting[out[1]] = layout
            else:
                conn.send(out)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the build stopped (a Ctrl-C, an error elsewhere): nothing more to do

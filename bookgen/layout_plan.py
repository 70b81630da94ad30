"""The split layout's pure arithmetic: what a chapter group says once its pages are broken (`Paginated`), where
the groups before it place it in the book (`Finish`), and the `Plan` that places each group as soon as the
groups before it are placed, taking from the cache what it has. No WeasyPrint, no processes: unit-tested alone
(tests/test_layout_plan.py)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import Problem


class Unsupported(Exception):
    """This book's layout cannot be split into groups; lay it out whole."""


WEASYPRINT_DIFFERS = "this WeasyPrint differs from what the split layout expects"


@dataclass
class Group:
    index: int  # 0: the front matter
    html: str
    chapters: tuple  # the chapters laid out in this group (model objects)
    first_id: str | None  # the element whose page is the group's first (body groups)
    stubs: tuple = ()  # the front matter: ids of the chapters stood in for
    key: str = ""  # hash of what the group's pagination depends on (set by Plan, bookgen/group_cache.py)


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
    draw: bool = True  # False: the build writes no PDF (an EPUB alone): the pages' places only, no folios drawn


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
    relayouts: int = 0  # times laid out again to keep notes on their calls' pages (the front matter)


@dataclass
class Body:
    """A body group laid out, as it is wherever it falls in the book: its PDF without its margin boxes (folios,
    running heads), what drawing them needs on each page, and its page references by index in the
    group (labels written as LOCAL_LABEL tokens). `refinish` (bookgen/layout_group.py) makes a GroupResult of it
    for a place in the book."""
    pdf: bytes
    pages: int
    first: int  # index in the group's document of its first page (the blank page before its opening, if any)
    blank: bool  # its first page is a blank left page, kept only where the book so far ends on a right page
    counters: list  # the page counter on each page of the group's document (Paginated.counters)
    margins: list  # per page: its page type, counters and the named strings set on it (bookgen/weasy.py)
    starts: list  # pagemap.PageStart as dicts, indices in the group
    anchors: dict  # chapter id -> index of its first page in the group
    font_glyphs: dict
    warnings: list
    moved: list  # Problem as dicts
    strings: dict  # named strings the group sets (their last values)


@dataclass(frozen=True)
class LaidOut:
    """A body group laid out: its Body, and the seconds its layout and PDF took."""
    index: int
    body: Body
    seconds: dict
    relayouts: int = 0  # times laid out again to keep notes on their calls' pages


@dataclass(frozen=True)
class Refinish:
    """A group whose body the cache has, to be given its place (a new folio): no layout, only its margins."""
    index: int
    body: Body
    finish: Finish
    html: str  # the group's document with an empty body (margins_html)


def margins_html(html: str) -> str:
    """A group's document with an empty body: its root and head as they are (its margins' styles inherit from
    them), for the document its folios are drawn in."""
    start = html.index(">", html.index("<body")) + 1
    return html[:start] + html[html.rindex("</body>"):]


def local_label(index: int) -> str:
    """A page's label in a Body: replaced by the page's folio once the group has its place."""
    return f"\ue000{index}\ue001"


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


class Plan:
    """Which groups are placed in the book, which are laid out, which come from the cache."""

    def __init__(self, groups, cache, base_key, draw: bool = True):
        self.groups, self.cache, self.draw = groups, cache, draw
        self.paginated: dict = {}  # group index -> Paginated
        self.finishes: dict = {}  # group index -> Finish
        self.results: dict = {}  # group index -> GroupResult
        self.todo: list = []  # groups to lay out, in order
        self.claimed: set = set()  # groups being laid out, or laid out
        self.laid_out = 0  # groups laid out by this build (the others came from the cache)
        self.relayouts = 0  # of those, layouts made again to keep notes on their calls' pages
        self.refinished = 0  # groups whose margins only were drawn by this build (their pages from the cache)
        self.bodies: dict = {}  # group index -> Body laid out by this build, waiting for its place
        self.fresh: set = set()  # groups laid out by this build
        self.seconds: list = []  # what the work of this build took: each layout's, each refinish's
        self.next = 1  # the next group to place
        self.processes = 0  # the layout processes this build started
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

    def on_laid_out(self, done: LaidOut):
        """A group's pages are laid out: kept, and given their margins once the group has its place."""
        self.laid_out += 1
        self.relayouts += done.relayouts
        self.fresh.add(done.index)
        self.seconds.append(done.seconds)
        self.cache.put(self.body_key(done.index), dataclasses.asdict(done.body))
        if done.index in self.finishes:
            self.todo.insert(0, self._refinish(done.index, done.body))
        else:
            self.bodies[done.index] = done.body

    def on_done(self, r: GroupResult):
        """A group at its place, its margins drawn."""
        if r.index not in self.fresh:
            self.refinished += 1
        self.seconds.append(r.seconds)
        self.results[r.index] = r
        if self.finishes[r.index].draw:  # (a result without its PDF is not kept)
            self.cache.put(self.result_key(r.index), dataclasses.asdict(r))

    def result_key(self, index):
        # (a result with its PDF serves a build without one too)
        return self.cache.key(self.groups[index].key, dataclasses.asdict(dataclasses.replace(self.finishes[index],
                                                                                              draw=True)))

    def body_key(self, index):
        """A group's pages, wherever it falls: drawn without their margins, they depend on nothing of its place
        (the running heads carried into it, its folios, whether the blank page before it is kept)."""
        return self.cache.key(self.groups[index].key, "body")

    def place(self):
        """Place every group whose groups before are all placed; take from the cache what it has."""
        if self.front is None:
            return
        while self.next in self.paginated:
            index, p = self.next, self.paginated[self.next]
            keep_blank = self.pages % 2 == 1  # the book so far ends on a right-hand page
            if self.body_start is None:
                self.body_start = self.pages + keep_blank
            finish = Finish(keep_blank, self.counter, dict(self.strings), self.pages, self.body_start, self.draw)
            first = p.start - 1 if keep_blank else p.start
            counters = page_counters(p.counters, first, self.counter)
            self.counter = counters[-1] if counters else self.counter
            self.strings.update(p.strings)
            self.pages += p.pages + keep_blank
            self.finishes[index] = finish
            self.next += 1
            if index in self.bodies:  # laid out by this build before its place was known
                self.todo.insert(0, self._refinish(index, self.bodies.pop(index)))
                continue
            if index in self.todo or index in self.claimed:
                continue
            hit = self.cache.get(self.result_key(index))
            body = None if hit else self.cache.get(self.body_key(index))
            if hit:
                self.results[index] = result_from(hit) if self.draw else dataclasses.replace(result_from(hit), pdf=b"")
                self.cache.keep(self.body_key(index))  # for an edit that moves its folios
            elif body:
                self.todo.insert(0, self._refinish(index, Body(**body)))  # its margins only
            else:
                self.todo.insert(0, index)

    def _refinish(self, index: int, body: Body) -> Refinish:
        return Refinish(index, body, self.finishes[index], margins_html(self.groups[index].html))

    def take(self):
        """The next group to lay out (its index), or a Refinish."""
        item = self.todo.pop(0)
        self.claimed.add(getattr(item, "index", item))
        return item


def result_from(data: dict) -> GroupResult:
    from .pagemap import PageStart
    data = dict(data)
    data["starts"] = [PageStart(**s) for s in data["starts"]]
    data["moved"] = [Problem(**m) for m in data["moved"]]
    return GroupResult(**data)

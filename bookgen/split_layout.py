"""The print edition laid out in groups of chapters, in parallel processes, then joined into one PDF.

Every chapter opens on a right-hand page, so the page breaks inside a group of chapters do not depend on the
pages before it: each group is its own WeasyPrint document (the whole print HTML, with the other groups' top
elements left empty and hidden, so that every selector matches as in the whole book). Only what CSS draws in
the page margins depends on the groups before: the folio and the running heads. WeasyPrint draws the margins
after it has broken the pages (weasyprint.layout.layout_document), so each group stops there and says how many
pages it has (which places the groups after it); then it writes its PDF without any margin box, saying for each
page what its margins need. They are drawn in a small document of their own, with the book's page numbers
and the running heads carried from the groups before, and laid over the group's pages (layout_group.refinish,
overlay.py): when an edit moves the pages after it, the groups there keep their pages (the cache's `Body`) and
only their margins are drawn again. The front matter (the contents needs every chapter's folio) is laid out last, with
an empty stand-in for each chapter whose page counter is set to the chapter's folio; its pages before the first
stand-in are kept. bookgen/join_pdf.py joins the PDFs (tags, outline, links between groups, page labels, one
subset of each font).

Processes: the groups are laid out by workers forked from a server that has imported WeasyPrint (they start
small and carry nothing of this process); a group's layout does not wait for the groups before it (only its
margins do, drawn once it has its place). The front matter is laid out in a process of its own, the join in a fresh
one, so that no process ever holds more than a group or two. Each group's pages and PDF are kept between
builds (bookgen/group_cache.py): an edit lays out again only the groups it changed, and draws again the margins
of those whose folios it moved.

A layout that cannot be split (chapters not opening on right-hand pages, `counter(pages)`, a target-counter or a
running element across groups) raises `Unsupported`, and the book is laid out whole (write_pdf.render_print).

Here: the order of the work. The parts: layout_plan.py (placing the groups), split_html.py (the groups'
HTML), layout_group.py (one group in WeasyPrint), layout_workers.py (the processes), join_pdf.py (the join).
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import re
import time
from pathlib import Path

from .errors import BookError
from .fonts import ranked
from .layout_group import prepare, Sheets, layout_group, refinish
from .layout_plan import Finish, Plan, Refinish, Unsupported, result_from
from .layout_workers import lay_out_in_processes, main_module_hidden, start_fork_server
from .split_html import make_groups, stub_css

GROUP_CHARS = 12_000  # about 1,500 words: a group is one chapter, or short chapters together up to this size


def render_split(book, options, jobs: int = 1, cache_dir=None, read_cache: bool = True, want_pdf: bool = True):
    """Lay out the print edition in groups (in `jobs` processes) and join them; write_pdf.Rendered.
    `cache_dir`: where to keep each group's layout for the next build (bookgen/group_cache.py)."""
    from . import write_pdf as W
    from .cache import layout_inputs
    from .group_cache import GroupCache
    from .processes import sigint_held
    with sigint_held():  # join_pdf imports pikepdf, which a Ctrl-C must not cut in two
        from .join_pdf import JoinProcess

    t_start = time.perf_counter()
    sheets = Sheets(W.stylesheet_texts(book))
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
    groups = make_groups(book, html_text, GROUP_CHARS)
    if len(groups) < 2:
        raise Unsupported("one group")
    t_templates = time.perf_counter() - t_start  # print HTML, groups
    environment = ""
    if cache_dir is not None:
        environment = layout_inputs(book.root, Path(cache_dir).parent)
    cache = GroupCache(cache_dir, environment, read=read_cache)
    base_key = [[str(path), text] for path, text in sheets] + [page_css]
    plan = Plan(groups, cache, base_key, draw=want_pdf)
    stub_names = dict(zip(groups[0].stubs, (f"bookgen-stub-{n}" for n in range(len(groups[0].stubs)))))

    front_layouts: list = []

    def lay_out_front(counters):
        """The front matter, with each chapter's stand-in at its folio; and how long it is."""
        key = cache.key(groups[0].key, counters)
        hit = cache.get(key)
        if hit:
            return result_from({k: v for k, v in hit.items() if k != "front_pages"}), hit["front_pages"]
        result, pages = front.run(groups[0], stub_css(counters, stub_names))
        front_layouts.append(result)
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

    jobs = max(1, min(jobs, len(groups) - 1))
    processes = "forkserver" in multiprocessing.get_all_start_methods()
    # The join, in a new Python started now (a process forked from the layout processes' server would carry
    # WeasyPrint's memory, and be the build's largest); an EPUB alone needs only the page map.
    joiner = JoinProcess() if want_pdf else None
    try:
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
        joined = None
        if joiner is not None:  # it works while the build writes the EPUB (write_pdf.pdf_bytes waits for it)
            joiner.send([front.pdf] + [r.pdf for r in body], body_start=plan.body_start,
                        fonts_kept=cache.folder if cache.read else None, modified=book.meta.modified)
            joined, joiner = Joined(joiner, cache, book.chapters), None
    finally:
        if joiner is not None:
            joiner.close()
    fresh = plan.seconds + [r.seconds for r in front_layouts]
    seconds = {"templates": t_templates, "join": 0.0,
               **{k: sum(x.get(k, 0.0) for x in fresh) for k in ("layout", "wait", "pdf")}}
    warnings = list(dict.fromkeys(m for r in [front, *body] for m in r.warnings))
    labels = front.labels + [label for r in body for label in r.labels]
    starts = front.starts + [s for r in body for s in r.starts]
    moved = [m for r in [front, *body] for m in r.moved]
    split = {"groups": len(groups), "laid_out": plan.laid_out + bool(front_layouts), "refinished": plan.refinished,
             "front_layouts": len(front_layouts), "processes": plan.processes, "seconds": seconds,
             "relayouts": plan.relayouts + sum(r.relayouts for r in front_layouts)}  # to keep notes with calls
    if joined is not None:
        joined.seconds = seconds
    return W.Rendered(None, None, plan.body_start, labels, warnings, b"", fonts, W.length_pt(options.bleed), moved,
                      starts=starts, pages=len(labels), group_cache=cache, split=split, joined=joined)


class Joined:
    """The join of the groups' PDFs, under way in its process (join_pdf.JoinProcess); `result()` waits for it:
    (the PDF, its outline nested under the book's parts, and the warnings about links without a destination)."""

    def __init__(self, joiner, cache, chapters):
        self.joiner, self.cache, self.chapters, self.started = joiner, cache, chapters, time.perf_counter()
        self.seconds: dict = {}
        self.done = None

    def result(self) -> tuple[bytes, list[str]]:
        if self.done is None:
            try:
                pdf, unresolved, programs, used = self.joiner.result()
            except RuntimeError as e:
                raise BookError(f"internal error: {e}") from None
            finally:
                self.close()
            for key, program in programs.items():  # merged fonts, kept for the next build's join
                self.cache.put(key, {"pdf": program})
            for key in used:
                self.cache.keep(key)
            from .parts import nest_outline
            pdf = nest_outline(pdf, self.chapters)  # each group's outline begins at the top level
            self.seconds["join"] = time.perf_counter() - self.started
            self.done = pdf, [f"No anchor #{name} for internal URI reference" for name in unresolved]
        return self.done

    def close(self) -> None:
        self.joiner.close()


def _lay_out_groups(book, options, groups, sheets, jobs, plan, first_front, processes):
    """Lay out the groups the cache does not have: in worker processes, or here when there are none."""
    if plan.todo and processes:
        # in worker processes even with --jobs 1: the memory a layout leaves behind goes with its process
        return lay_out_in_processes(book, options, groups, list(sheets), sheets.page_css, jobs, plan, first_front)
    first = first_front()
    if processes and sum(isinstance(item, Refinish) and item.finish.draw for item in plan.todo) >= 2:
        # every group from the cache, at new places (the front matter's length changed): their margins drawn
        # in worker processes (this one has not imported WeasyPrint)
        return lay_out_in_processes(book, options, groups, list(sheets), sheets.page_css, jobs, plan, lambda: first)
    if plan.todo:
        css, _, fetcher, font_config = prepare(book, options, sheets)
        setup = (css, sheets.page_css, fetcher, font_config)
    while plan.todo:
        item = plan.take()
        if isinstance(item, Refinish):  # its margins, at its place
            plan.on_done(refinish(book, options, item.html, setup, item.index, item.body, item.finish))
        else:
            plan.on_laid_out(layout_group(book, options, groups[item], setup, plan.on_paginated))
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
        used = ranked(glyphs)
        if used != fonts:
            fonts = used
            html_text, _ = W.print_html(book, options, fonts=W.font_names(fonts))
            groups[0] = make_groups(book, html_text, GROUP_CHARS)[0]
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
        _FRONT_SETUP[key] = prepare(book, options, sheets)
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

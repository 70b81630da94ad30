"""The layout processes: a fork server that has imported WeasyPrint, and workers forked from it that lay out the
groups they are sent. A group whose folio is not known yet when its pages are broken waits at the barrier in a
greenlet while its worker lays out the next one. Messages on the pipe, each a type: to a worker, a `Group` to
lay out, `Resume` (a group's place, once known) or `None` (stop); back, `Paginated` (at the barrier),
`GroupResult` (done), `Refused` (the book cannot be split), `BookProblems` or `Crashed`."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path

from .errors import BookError, Problem
from .layout_group import prepare, layout_group, refinish
from .layout_plan import Finish, Group, GroupResult, Paginated, Refinish, Unsupported


@dataclasses.dataclass(frozen=True)
class Resume:
    """To a worker: the place of a group waiting at its barrier."""
    index: int
    finish: Finish


@dataclasses.dataclass(frozen=True)
class Refused:
    """From a worker: this book's layout cannot be split (lay it out whole)."""
    why: str


@dataclasses.dataclass(frozen=True)
class BookProblems:
    """From a worker: problems of the book (a file it may not read...), reported as the build's own."""
    problems: tuple


@dataclasses.dataclass(frozen=True)
class Crashed:
    """From a worker: an internal error, with its traceback."""
    error: BookError


@dataclasses.dataclass(frozen=True)
class _Waiting:
    """Inside a worker: a group's greenlet stopped at the barrier."""
    index: int


def lay_out_in_processes(book, options, groups, sheets, page_css, jobs, plan, first_front):
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
        refinishing: set = set()  # groups sent to have their folios drawn only

        def dispatch():
            # a worker lays out one group at a time, and holds at most MAX_WAITING more
            for c in conns:
                while plan.todo and isinstance(plan.todo[0], Refinish) and not plan.todo[0].finish.draw:
                    item = plan.take()  # no margins to draw (an EPUB alone): only counting, done here
                    plan.on_done(refinish(book, options, item.html, None, item.index, item.body, item.finish),
                                 refinished=True)
                if plan.todo and running[c] is None and len(held[c]) + len(resumed[c]) <= MAX_WAITING:
                    item = plan.take()
                    if isinstance(item, Refinish):
                        refinishing.add(item.index)
                        running[c] = item.index
                        c.send(item)
                    else:
                        running[c] = item
                        c.send(groups[item])

        def release():
            for index in [i for i in waiting if i in plan.finishes]:
                c = waiting.pop(index)
                held[c].discard(index)
                resumed[c].add(index)
                c.send(Resume(index, plan.finishes[index]))

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
                    message = conn.recv()
                except EOFError:
                    raise BookError("internal error: a layout process stopped") from None
                if isinstance(message, Paginated):
                    plan.on_paginated(message)
                    if message.index in plan.finishes:
                        conn.send(Resume(message.index, plan.finishes[message.index]))  # goes on at once
                    else:
                        # it waits at the barrier; the worker takes another group meanwhile
                        running[conn] = None
                        held[conn].add(message.index)
                        waiting[message.index] = conn
                    release()
                elif isinstance(message, GroupResult):
                    plan.on_done(message, refinished=message.index in refinishing)
                    if running[conn] == message.index:
                        running[conn] = None
                    resumed[conn].discard(message.index)
                elif isinstance(message, Refused):
                    raise Unsupported(message.why)
                elif isinstance(message, BookProblems):
                    raise BookError(list(message.problems))
                else:
                    raise message.error
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
    ctx.set_forkserver_preload(["bookgen.processes", "bookgen.split_layout", "bookgen.layout_workers", "bookgen.pagemap",
                                "bookgen.cover", "bookgen.overlay", "bookgen.preload"])
    # The server imports bookgen by name, from its own sys.path (it ignores ours): put this bookgen first, or a
    # checkout run from another folder, or an installed bookgen, would lay out the groups with other code.
    # Its sys.path begins with its working folder (`python -c`), before PYTHONPATH: it starts in this bookgen's
    # folder, so that a bookgen/ in the folder the build runs from is not the one it imports, and goes back to
    # that folder once its imports are done (bookgen/preload.py).
    project = str(Path(__file__).resolve().parent.parent)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [project, saved]))
    cwd = os.getcwd()
    os.environ["BOOKGEN_CWD"] = cwd
    try:
        os.chdir(project)
        with main_module_hidden():
            multiprocessing.forkserver.ensure_running()
    finally:
        os.chdir(cwd)
        del os.environ["BOOKGEN_CWD"]
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

    import greenlet
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    from .processes import die_with_parent
    die_with_parent()  # and if the fork server dies (with the build), so do we
    css, _, fetcher, font_config = prepare(book, options, sheets)
    setup = (css, page_css, fetcher, font_config)
    main = greenlet.getcurrent()
    waiting: dict = {}  # group index -> its greenlet, at the barrier

    def run(group):
        def barrier(p):
            conn.send(p)
            return main.switch(_Waiting(group.index))  # resumed with the Finish
        return _reported(layout_group, book, options, group, setup, barrier)

    try:
        while True:
            message = conn.recv()
            if message is None:
                return
            if isinstance(message, Refinish):  # its pages from the cache: its margins only
                conn.send(_reported(refinish, book, options, message.html, setup, message.index, message.body,
                                    message.finish))
                continue
            if isinstance(message, Group):
                layout = greenlet.greenlet(run)
                out = layout.switch(message)
            else:  # a Resume
                layout = waiting.pop(message.index)
                out = layout.switch(message.finish)
            if isinstance(out, _Waiting):
                waiting[out.index] = layout
            else:
                conn.send(out)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the build stopped (a Ctrl-C, an error elsewhere): nothing more to do


def _reported(work, *args):
    """What `work(*args)` gives, or what went wrong as a message for the build."""
    import traceback
    try:
        return work(*args)
    except Unsupported as e:
        return Refused(str(e))
    except BookError as e:
        return BookProblems(tuple(e.problems))
    except Exception:
        return Crashed(BookError(f"internal error in a layout process:\n{traceback.format_exc()}"))
    except BaseException as e:
        if type(e).__name__ != "FatalURLFetchingError":  # WeasyPrint stops on our fetcher's refusal so
            raise
        return BookProblems((Problem(None, str(e), None, "a book may use only files inside its folder; check "
                                     "the templates and stylesheets"),))

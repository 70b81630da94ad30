"""The layout processes: a fork server that has imported WeasyPrint, and workers forked from it that lay out the
groups they are sent. A group's pages do not depend on its place in the book (its margins are drawn apart), so
no worker waits for the groups before. Messages on the pipe, each a type: to a worker, a `Group` to lay out, a
`Refinish` (a group's margins at its place) or `None` (stop); back, `Paginated` (its pages broken), `LaidOut`,
`GroupResult` (a Refinish done), `Refused` (the book cannot be split), `BookProblems` or `Crashed`."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
from pathlib import Path

from .errors import BookError, refused_fetch
from .layout_group import prepare, layout_group, refinish
from .layout_plan import GroupResult, LaidOut, Paginated, Refinish, Unsupported


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


def lay_out_in_processes(book, options, groups, sheets, page_css, jobs, plan, first_front):
    """Lay out the groups in `plan.todo` in `jobs` worker processes; the front matter here, meanwhile.

    The workers come from a fork server that has only imported WeasyPrint: they start small and fast (a fork
    of this process would carry its memory, and copying it page by page as they write slows them down), and
    are sent what they lay out."""
    from multiprocessing.connection import wait

    ctx = start_fork_server()
    light = dataclasses.replace(book, chapters=())  # a group carries its own chapters
    workers, conns = [], []
    running: dict = {}  # connection -> the group it works on now (None: free)

    def start_worker():
        parent_end, child_end = ctx.Pipe()
        with main_module_hidden():
            process = ctx.Process(target=_worker, args=(child_end, light, options, sheets, page_css), daemon=True)
            process.start()
        child_end.close()
        workers.append((process, parent_end))
        conns.append(parent_end)
        running[parent_end] = None

    # As many as there are groups to lay out now, up to `jobs`; more, up to `jobs`, when the groups placed since
    # are waiting for all of them (after an edit that moves the pages after it: the margins of every later group)
    for _ in range(max(1, min(jobs, len(plan.todo)))):
        start_worker()
    try:
        def dispatch():
            while plan.todo and isinstance(plan.todo[0], Refinish) and not plan.todo[0].finish.draw:
                item = plan.take()  # no margins to draw (an EPUB alone): only counting, done here
                plan.on_done(refinish(book, options, item.html, None, item.index, item.body, item.finish))
            for c in conns:
                if plan.todo and running[c] is None:
                    item = plan.take()
                    running[c] = getattr(item, "index", item)
                    c.send(item if isinstance(item, Refinish) else groups[item])
            if len(plan.todo) >= MORE_WORKERS_FOR and len(workers) < jobs:
                start_worker()
                dispatch()

        dispatch()
        front = first_front()
        dispatch()
        while len(plan.results) < len(groups) - 1:
            busy = [c for c in conns if running[c] is not None]
            if not busy:
                raise BookError("internal error: chapter groups left with nothing to lay them out")
            for conn in wait(busy):
                try:
                    message = conn.recv()
                except EOFError:
                    raise BookError("internal error: a layout process stopped") from None
                if isinstance(message, Paginated):  # its pages broken: the groups after it can be placed
                    plan.on_paginated(message)
                elif isinstance(message, LaidOut):
                    running[conn] = None
                    plan.on_laid_out(message)
                elif isinstance(message, GroupResult):
                    running[conn] = None
                    plan.on_done(message)
                elif isinstance(message, Refused):
                    raise Unsupported(message.why)
                elif isinstance(message, BookProblems):
                    raise BookError(list(message.problems))
                else:
                    raise message.error
            dispatch()
        return front
    finally:
        plan.processes = len(workers)
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


MORE_WORKERS_FOR = 3  # waiting groups (mostly margins to draw, 0.06-0.1 s each) worth a worker's start (0.2 s)


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


def in_a_process(context, work, *args):
    """`work(*args)` in a process of its own forked from the layout processes' server `context` (which has
    imported WeasyPrint, so that this process need not), submitted from a thread: the build goes on while the
    server finishes its imports. Gives a function that waits for the result."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from .processes import die_with_parent

    def submit():
        pool = ProcessPoolExecutor(1, mp_context=context, initializer=die_with_parent)
        with main_module_hidden():
            future = pool.submit(work, *args)
        pool.shutdown(wait=False)  # its one process ends once the work is done
        return future

    starter = ThreadPoolExecutor(1)
    submitted = starter.submit(submit)
    starter.shutdown(wait=False)
    return lambda: submitted.result().result()


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
    with _MAIN_HIDDEN:  # the cover's process starts from a thread (bookgen/cover.py)
        main = sys.modules.get("__main__")
        saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
        try:
            for name in saved:
                setattr(main, name, None)
            yield
        finally:
            for name, value in saved.items():
                setattr(main, name, value)


_MAIN_HIDDEN = threading.RLock()


def _worker(conn, book, options, sheets, page_css):
    """Lay out the groups the parent sends (a group's Paginated on the way, then its LaidOut), and draw the
    margins of those it sends as a Refinish (a GroupResult)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    from .processes import die_with_parent
    die_with_parent()  # and if the fork server dies (with the build), so do we
    css, _, fetcher, font_config = prepare(book, options, sheets)
    setup = (css, page_css, fetcher, font_config)
    try:
        while True:
            message = conn.recv()
            if message is None:
                return
            if isinstance(message, Refinish):  # its pages from the cache or just laid out: its margins
                conn.send(_reported(refinish, book, options, message.html, setup, message.index, message.body,
                                    message.finish))
            else:
                conn.send(_reported(layout_group, book, options, message, setup, conn.send))
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
        refused = refused_fetch(e)
        if refused is None:
            raise
        return BookProblems((refused,))

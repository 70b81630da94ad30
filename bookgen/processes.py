"""The layout's helper processes end with the build, however it ends.

- The fork server (multiprocessing's, started by bookgen/split_layout.py) is stopped with a bounded wait: asked
  to stop (its "alive" pipe closed), then SIGTERM, then SIGKILL. multiprocessing's own `_stop` waits for it
  without a limit, and a Ctrl-C at the wrong moment left the build waiting forever.
- Each process asks Linux to kill it when its parent dies (PR_SET_PDEATHSIG): the fork server when the build
  dies, a worker when the fork server dies. A SIGKILLed build leaves nothing running. (The fork server imports
  bookgen.processes first, so its own death signal is set before it imports WeasyPrint.)
"""
from __future__ import annotations

import contextlib

import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Be sent `sig` when the parent process dies (Linux); False where that cannot be asked for."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    # the parent may have died before the call: then we are an orphan already
    if os.getppid() == 1:
        os.kill(os.getpid(), sig)
    return True


def stop_fork_server(timeout: float = 2.0) -> None:
    """Stop the fork server this process started, if any, within about `timeout` seconds."""
    forkserver = sys.modules.get("multiprocessing.forkserver")
    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if server is None or pid is None:
        return
    with server._lock:
        fd = server._forkserver_alive_fd
        if fd is not None:
            try:
                os.close(fd)  # EOF on its "alive" pipe: the server's way to stop
            except OSError:
                pass
            server._forkserver_alive_fd = None
        if not _reaped(pid, timeout):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                if _reaped(pid, 1.0):
                    break
        server._forkserver_pid = None
        address = server._forkserver_address
        server._forkserver_address = None
        if address and not address.startswith("\0"):
            try:
                os.unlink(address)
            except OSError:
                pass


def _reaped(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)


def _in_fork_server() -> bool:
    """Is this import made by multiprocessing's fork server, preloading its modules?"""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "main" and code.co_filename.endswith(os.path.join("multiprocessing", "forkserver.py")):
            return True
        frame = frame.f_back
    return False


if _in_fork_server():  # the fork server preloads this module first: it dies with the build that started it
    die_with_parent(signal.SIGTERM)


_INTERRUPTED: list = []  # the Ctrl-Cs this build has had (remembered_interrupts)


@contextlib.contextmanager
def remembered_interrupts():
    """Within this block a Ctrl-C raises KeyboardInterrupt as usual, and is remembered: Python drops an exception
    raised inside a weakref callback or a __del__ (printing "Exception ignored"), and one can land there (a
    finished thread's object collected by the main thread), so the build would go on as if nothing had happened.
    `raise_if_interrupted()`, at each step of the build, raises it again; and Python's "Exception ignored"
    traceback is not printed for it."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum, frame):
        _INTERRUPTED.append(signum)
        raise KeyboardInterrupt

    def unraisable(report):
        if not (isinstance(report.exc_value, KeyboardInterrupt) and _INTERRUPTED):  # else: remembered
            hook(report)
    _INTERRUPTED.clear()
    previous, hook = signal.signal(signal.SIGINT, interrupted), sys.unraisablehook
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook


def raise_if_interrupted() -> None:
    """A Ctrl-C this build had, raised (again) as KeyboardInterrupt; see remembered_interrupts."""
    if _INTERRUPTED:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_held(then_raise: bool = True):
    """Hold a Ctrl-C (SIGINT) until the block ends. `then_raise`: raise it then as KeyboardInterrupt (the import
    of pikepdf: a C++ extension interrupted while it registers its types aborts the process with "Critical
    nanobind error"); else drop it (the renames of the outputs: a Ctrl-C there comes too late, the files are in
    place and the build says so)."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _INTERRUPTED.extend(pending)  # held, not forgotten: the build says it was interrupted
        if pending and then_raise:
            raise KeyboardInterrupt

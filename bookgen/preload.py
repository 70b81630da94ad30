"""What the layout processes' fork server does once, before it forks any of them (bookgen/layout_workers.py):
import WeasyPrint and pikepdf (which a layout process uses to lay a group's folios over its pages), so that each
starts with them imported. (Not the adapter's self-test: the fonts it loads would add 8 MB to every process.)"""
from __future__ import annotations

import os

import pikepdf  # noqa: F401  (bookgen/overlay.py)
import weasyprint  # noqa: F401

from .weasy import keep_notes_with_calls

keep_notes_with_calls()  # once, not in each layout process

# The server started in bookgen's own folder (bookgen/layout_workers.py, start_fork_server): back to the build's.
os.chdir(os.environ.get("BOOKGEN_CWD") or os.getcwd())

# When the build closes its pipe, the server ends (SystemExit): end it at once, without tearing down what it
# imported (0.07 s the build would wait for; bookgen/processes.py). Its processes have ended by then.
import atexit  # noqa: E402

atexit.register(os._exit, 0)

"""What the layout processes' fork server does once, before it forks any of them (bookgen/layout_workers.py):
import WeasyPrint and pikepdf, and run the WeasyPrint adapter's self-test, so that each layout process, and the
join, starts with them done (and with fontconfig's fonts already found)."""
from __future__ import annotations

import os

import pikepdf  # noqa: F401  (the join, and the folios laid over a group's pages: bookgen/overlay.py)
import weasyprint  # noqa: F401

from . import weasy

weasy.self_test()  # its result is inherited: a forked process does not run it again

# The server started in bookgen's own folder (bookgen/layout_workers.py, start_fork_server): back to the build's.
os.chdir(os.environ.get("BOOKGEN_CWD") or os.getcwd())

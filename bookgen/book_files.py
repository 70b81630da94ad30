"""Which of a book folder's files the build may read: regular files whose real path lies inside the book.

A book folder may come from anyone. A link out of it (`styles -> /elsewhere`, a file linked to `/dev/zero`) or a
FIFO (which would block the build for ever) is never read: load_book reports it (`problems`), and the writers,
which list the book's stylesheets themselves, skip it.
"""
from __future__ import annotations

import stat
from pathlib import Path

FOLDERS = ("styles", "templates", "images", "fonts", "chapters")
WHOLE = ("styles", "templates", "fonts")  # read as folders; chapters and images are checked where named


def inside(root: Path, path: Path) -> bool:
    """`path`, links followed, lies inside the book folder `root`."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def regular(path: Path) -> bool:
    """A regular file (links followed), not a FIFO, socket or device."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def own_files(root: Path, folder: str, pattern: str) -> list[Path]:
    """The book's files `folder/pattern` that the build may read, sorted."""
    base = root / folder
    if not base.is_dir() or not inside(root, base):
        return []
    return sorted(p for p in base.glob(pattern) if inside(root, p) and regular(p))


def check_folders(root: Path, problems) -> None:
    """Report every link out of the book and every file that is not a regular file in the folders the build
    reads (links: errors; FIFOs, sockets, devices: warnings, they are skipped)."""
    for folder in FOLDERS:
        base = root / folder
        if not base.exists() and not base.is_symlink():
            continue
        if not inside(root, base):
            problems.error(base, "is a link to a folder outside the book folder", None,
                           "copy the folder into the book: the build reads only files inside the book")
            continue
        for p in sorted(base.rglob("*")):
            if not inside(root, p):
                if folder in WHOLE:
                    problems.error(p, "is a symlink to a file outside the book folder", None,
                                   "copy the file into the book folder instead of linking to it")
            elif not p.is_dir() and not regular(p):
                problems.warn(p, "is not a regular file (a FIFO, socket or device): skipped", None,
                              "remove it from the book folder")

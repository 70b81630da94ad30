"""How much of one thing a build takes, and the environment variables that lift each limit.

A book may come from anyone: a 50 MB chapter or a 12000 x 12000 picture is refused with a message that says the
limit and how to lift it, before it takes minutes and gigabytes."""
from __future__ import annotations

import os

CHAPTER_MB_VAR = "BOOKGEN_MAX_CHAPTER_MB"
IMAGE_PIXELS_VAR = "BOOKGEN_MAX_IMAGE_PIXELS"
CHAPTER_MB = 10  # a 200,000-word novel in one file is about 1.2 MB
IMAGE_PIXELS = 40_000_000  # a full A4 page at 600 pixels per inch is 35 million


def _number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def chapter_bytes() -> int:
    return int(_number(CHAPTER_MB_VAR, CHAPTER_MB) * 1_000_000)


def image_pixels() -> int:
    return int(_number(IMAGE_PIXELS_VAR, IMAGE_PIXELS))


def read_chapter(path, problems, what: str = "chapter") -> str | None:
    """A chapter's text (a book folder's, or a Pandoc book's file), or None when it is too large, not UTF-8 or
    unreadable (reported, with how to fix it)."""
    nbytes, most = path.stat().st_size, chapter_bytes()
    if nbytes > most:  # a 50 MB chapter ran for 5 minutes at 2.9 GB
        problems.error(path, f"{what} is {nbytes / 1e6:.1f} MB, more than the {most / 1e6:g} MB the build reads "
                       f"in one {what}", None, f"split it into several {what}s, or set {CHAPTER_MB_VAR} to allow more")
        return None
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        problems.error(path, f"not UTF-8 text ({e.reason} at byte {e.start})", None, "save the file as UTF-8")
    except OSError as e:
        problems.error(path, f"cannot be read: {e.strerror}", None, "check the file's permissions")
    return None

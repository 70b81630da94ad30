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

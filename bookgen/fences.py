"""Which lines of a Markdown text are code (fenced blocks), so that the readers of other tools' syntax (Pandoc's
chapters, notes, divs and tables; foreign syntax warnings) never look inside a listing."""
from __future__ import annotations

import re

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def in_code(lines: list[str]) -> list[bool]:
    """For each line: True for a fence line or a line inside a fenced code block (CommonMark: a fence closes with
    at least as many of the same character)."""
    out, fence = [], None
    for line in lines:
        m = FENCE.match(line)
        if m:
            closes = fence is not None and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)
            fence = None if closes else (fence or m.group(1))
            out.append(True)
        else:
            out.append(fence is not None)
    return out

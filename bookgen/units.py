"""Lengths as authors and options write them (`3mm`, `0.125in`, `9pt`, `140mm 216mm`): the build's one parser."""
from __future__ import annotations

import re

PT = {"pt": 1.0, "px": 0.75, "in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4}  # points in one unit
MM = {"mm": 1, "cm": 10, "in": 25.4, "pt": 25.4 / 72, "px": 25.4 / 96}  # millimetres in one unit
_LENGTH = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(mm|cm|in|pt|px)\s*")


def split(value) -> tuple[float, str] | None:
    """(number, unit) of a length, or None when `value` is not one."""
    m = _LENGTH.fullmatch(str(value))
    return (float(m.group(1)), m.group(2)) if m else None


def is_length(value) -> bool:
    return split(value) is not None


def pt(value) -> float:
    """A length in points (ValueError when it is not a length)."""
    parts = split(value)
    if parts is None:
        raise ValueError(f"'{value}' is not a length")
    return parts[0] * PT[parts[1]]


def mm(value) -> float:
    """A length in millimetres (ValueError when it is not a length)."""
    parts = split(value)
    if parts is None:
        raise ValueError(f"'{value}' is not a length")
    return parts[0] * MM[parts[1]]


def two(value) -> tuple[str, str] | None:
    """A size written as two lengths, `W H` ('140mm 216mm'): the two as written, or None."""
    halves = str(value).split()
    if len(halves) != 2 or not all(is_length(h) for h in halves):
        return None
    return halves[0], halves[1]

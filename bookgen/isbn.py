"""ISBN-10/13 checking (the check digit catches a mistyped digit) and the forms a book prints and an EPUB uses."""
from __future__ import annotations

import re


def normalise(value: str) -> str:
    """The ISBN's digits (and a final X for ISBN-10), without hyphens or spaces."""
    return re.sub(r"[\s\-\u2010\u2011]", "", value.strip()).upper().removeprefix("ISBN").removeprefix(":")


def problem(value: str) -> str | None:
    """Why `value` is not a valid ISBN, or None."""
    digits = normalise(value)
    if re.fullmatch(r"\d{13}", digits):
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
        check = (10 - total % 10) % 10
        if check != int(digits[12]):
            return f"ISBN '{value}' has the check digit {digits[12]}, but its other digits give {check}"
        return None
    if re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * int(d) for i, d in enumerate(digits[:9]))
        check = (11 - total % 11) % 11
        want = "X" if check == 10 else str(check)
        if want != digits[9]:
            return f"ISBN '{value}' has the check digit {digits[9]}, but its other digits give {want}"
        return None
    return f"'{value}' is not an ISBN (13 digits, or 10 ending in a digit or X; hyphens allowed)"


def isbn13(value: str) -> str:
    """The 13-digit form of a valid ISBN (an ISBN-10 gets the 978 prefix and a new check digit)."""
    digits = normalise(value)
    if len(digits) == 13:
        return digits
    body = "978" + digits[:9]
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def urn(value: str) -> str:
    return f"urn:isbn:{isbn13(value)}"

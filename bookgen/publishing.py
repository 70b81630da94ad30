"""The keys of book.toml a publisher sets (`isbn`, `chapter-open`, `paper`) and the copyright page's date."""
from __future__ import annotations

import datetime as dt

from . import isbn as isbn_check

CHAPTER_OPEN = ("recto", "any", "continuous")
PAPERS = ("white", "cream")


def publishing_keys(conf: dict, string, err) -> tuple[str, str, str]:
    """(ISBN-13 digits or "", chapter-open, paper), each checked; a problem is reported with `err`."""
    isbn = string("isbn")
    if isbn:
        why = isbn_check.problem(isbn)
        if why:
            err("isbn", why, "copy the ISBN from the agency's record, or remove the key")
            isbn = ""
        elif len(isbn_check.normalise(isbn)) == 10:
            isbn = isbn_check.isbn13(isbn)  # an ISBN-10 is printed and identified by its ISBN-13
        else:
            isbn = isbn.strip()  # printed as the agency hyphenated it
    chapter_open = _choice(conf, "chapter-open", CHAPTER_OPEN, string, err)
    paper = _choice(conf, "paper", PAPERS, string, err)
    return isbn, chapter_open, paper


def _choice(conf, key, allowed, string, err) -> str:
    value = string(key) or allowed[0]
    if value not in allowed:
        err(key, f"{key} '{value}' is not one of {', '.join(allowed)}",
            f'write {key} = "{allowed[0]}" (or {", ".join(repr(a) for a in allowed[1:])})')
        return allowed[0]
    return value


def isbn_urn(isbn: str) -> str:
    return isbn_check.urn(isbn)


def isbn_hyphenless(isbn: str) -> str:
    """The ISBN as printed: as book.toml hyphenates it (the ranges are the agency's), else its 13 digits."""
    return isbn


def date_in_words(iso: str, language: str) -> str:
    """'2026-11-25' as the book's language writes a date in full ('November 25, 2026', '25 novembre 2026');
    a year alone or a year and month stay as short."""
    from babel import Locale, UnknownLocaleError
    from babel.dates import format_date
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        try:
            locale = Locale.parse(language.split("-")[0])
        except (UnknownLocaleError, ValueError):
            return iso
    parts = iso[:10].split("-")
    try:
        if len(parts) == 3:
            return format_date(dt.date.fromisoformat(iso[:10]), format="long", locale=locale)
        if len(parts) == 2:
            return format_date(dt.date(int(parts[0]), int(parts[1]), 1), format="LLLL y", locale=locale)
    except ValueError:
        return iso
    return iso

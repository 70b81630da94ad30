"""Writing direction of a book: right-to-left for RTL languages and scripts, or as book.toml says."""

# Primary language subtags written right to left (in their usual script).
RTL_LANGUAGES = {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ji", "ks", "ku-arab", "pa-arab", "ps", "sd", "syr",
                 "ug", "ur", "yi"}
# Script subtags written right to left (e.g. az-Arab, uz-Arab).
RTL_SCRIPTS = {"arab", "hebr", "syrc", "thaa", "nkoo", "adlm", "rohg", "mand", "samr"}


def language_direction(language: str) -> str:
    parts = language.lower().split("-")
    if parts[0] in RTL_LANGUAGES or any(p in RTL_SCRIPTS for p in parts[1:]):
        return "rtl"
    return "ltr"


def book_direction(value, language: str, err) -> str:
    """`direction` from book.toml ("rtl", "ltr"; absent: from the language). `err(key, message, hint)` reports."""
    if value is None:
        return language_direction(language or "en")
    if value not in ("rtl", "ltr"):
        err("direction", f"'direction' must be \"rtl\" or \"ltr\", not {value!r}",
            'write direction = "rtl" (or leave it out: the language decides)')
        return language_direction(language or "en")
    return value

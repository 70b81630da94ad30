"""The words the generator writes itself, in the book's language: a gettext catalogue per language
(bookgen/locale/<lang>/LC_MESSAGES/bookgen.po, managed with Babel: `pybabel update -i bookgen/locale/bookgen.pot
-d bookgen/locale -D bookgen`), read at build time; English (the msgids) when a language has none. Each message's
context (msgctxt) is the key templates use (`words.contents`); book.toml `[strings]` overrides any of them."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

LOCALE = Path(__file__).parent / "locale"


@lru_cache(maxsize=None)
def _catalogue(name: str) -> dict:
    """key (msgctxt) -> text, from one .po file (the .pot gives the English msgids)."""
    from babel.messages.pofile import read_po
    path = LOCALE / "bookgen.pot" if name == "" else LOCALE / name / "LC_MESSAGES" / "bookgen.po"
    if not path.is_file():
        return {}
    with open(path, "rb") as f:
        catalog = read_po(f)
    return {m.context: (m.string or m.id) if name else m.id for m in catalog if m.id and m.context}


def catalogue_names(language: str) -> list[str]:
    """Catalogues to look in, most specific first: zh-TW -> zh_Hant, zh; pt-BR -> pt_BR, pt."""
    parts = language.replace("_", "-").split("-")
    primary = parts[0].lower()
    rest = [p for p in parts[1:]]
    names = []
    if primary == "zh" and ({"hant"} & {p.lower() for p in rest} or {"TW", "HK", "MO"} & {p.upper() for p in rest}):
        names.append("zh_Hant")
    names += [f"{primary}_{p.upper() if len(p) == 2 else p.title()}" for p in rest if len(p) in (2, 4)]
    return names + [primary]


def words(language: str, overrides=()) -> dict:
    found = dict(_catalogue(""))
    for name in reversed(catalogue_names(language)):
        found.update(_catalogue(name))
    found.update(dict(overrides))
    return found


def known_keys() -> set:
    return set(_catalogue(""))


def book_strings(value, err) -> tuple:
    """book.toml [strings]: key = "text" pairs; an unknown key is reported, a non-string value too."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        err("strings", "'strings' must be a table of words", '[strings]\ncontents = "..."')
        return ()
    keys = known_keys()
    pairs = []
    for key, text in value.items():
        if key not in keys:
            err("strings", f"[strings]: unknown string '{key}'", "the keys are: " + ", ".join(sorted(keys)))
        elif not isinstance(text, str):
            err("strings", f"[strings]: '{key}' must be a string", f'write {key} = "..."')
        else:
            pairs.append((key, text))
    return tuple(sorted(pairs))


def number(n: int, language: str) -> str:
    """A number written as CLDR says for the language (e.g. Arabic-Indic digits for ar-EG)."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import format_decimal
    try:
        return format_decimal(n, locale=Locale.parse(language.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return str(n)


def name_list(names: list, language: str) -> str:
    """"A, B and C" as CLDR writes a list in the language ("A, B и C", "A、B和C"); English when Babel does not
    know the language."""
    from babel import Locale, UnknownLocaleError
    from babel.lists import format_list
    if len(names) < 2:
        return names[0] if names else ""
    if language.split("-")[0].lower() == "en":  # as before: no serial comma
        return ", ".join(names[:-1]) + " and " + names[-1]
    try:
        return format_list(names, locale=Locale.parse(language.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return ", ".join(names[:-1]) + " and " + names[-1]

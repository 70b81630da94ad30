"""Characters no installed font has: one warning per script (how many characters, where the first one is, and the
Debian package that would cover them), instead of one line per character."""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

from .errors import Problem
from .fonts import OTHER_PACKAGE, PACKAGES

NO_GLYPH = re.compile(r'\.notdef glyph rendered for Unicode string unsupported by fonts: "(?P<ch>.*)" '
                      r'\(U\+(?P<code>[0-9A-Fa-f]+)\)')


def script_of(ch: str) -> str:
    """A script name from the character's Unicode name (CJK, ARABIC, DEVANAGARI...); EMOJI for symbols."""
    if unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF:
        return "EMOJI"
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else f"U+{ord(ch):04X}"


def package_for(script: str) -> str:
    return PACKAGES.get(script, OTHER_PACKAGE)


def installed_font_for(ch: str) -> str | None:
    """A font fontconfig knows that has the character (then the stylesheet, not the machine, is missing it)."""
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(["fc-list", f":charset={ord(ch):x}", "family"], capture_output=True, text=True).stdout
    families = sorted(line.split(",")[0].strip() for line in out.splitlines() if line.strip())
    return families[0] if families else None


def installed(package: str) -> bool:
    if not shutil.which("dpkg-query"):
        return False
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return r.returncode == 0 and "install ok installed" in r.stdout


def grouped(book, messages, strict: bool, other) -> list:
    """Problems for WeasyPrint's messages: missing glyphs grouped by script; `other(message)` for the rest."""
    by_script: dict = {}
    rest = []
    for message in messages:
        m = NO_GLYPH.search(message)
        if m:
            ch = chr(int(m["code"], 16))
            by_script.setdefault(script_of(ch), []).append(ch)
        else:
            rest.append(other(message))
    problems = []
    for script, chars in sorted(by_script.items()):
        chars = list(dict.fromkeys(chars))
        path, line = first_place(book, set(chars))
        name = script.title() if script not in ("CJK", "EMOJI") else script.replace("EMOJI", "emoji")
        sample = "".join(chars[:5]) + ("…" if len(chars) > 5 else "")
        font, package = installed_font_for(chars[0]), package_for(script)
        if font:
            hint = f"name a font that has them (e.g. {font}) in book.toml [fonts] or the book's stylesheet"
        elif not installed(package):
            hint = f"install the Debian package {package} (apt-get install {package}), or name a font in book.toml [fonts]"
        else:
            hint = (f"no installed font has them, not even {package}'s: add a font that has them to the book "
                    "(@font-face in its stylesheet)")
        problems.append(Problem(path, f"no font has {len(chars)} {name} character{'s' if len(chars) != 1 else ''} "
                                f"({sample}): the PDF prints boxes", line, hint, warning=not strict))
    return problems + rest


def first_place(book, chars: set):
    """The first source (book.toml, then the chapters in reading order) and line holding one of the characters."""
    for source in book.sources:
        if source.suffix.lower() not in (".md", ".toml"):
            continue
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        at = min((i for i in (text.find(c) for c in chars) if i >= 0), default=-1)
        if at >= 0:
            return source, text.count("\n", 0, at) + 1
    return None, None

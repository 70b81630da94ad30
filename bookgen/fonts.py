"""Font stacks for every script, chosen by the book's language (CSS added to the print edition).

The book face comes first wherever it covers the script; then a Noto face per script (Debian packages
fonts-noto-core, fonts-noto-cjk, fonts-noto-color-emoji). Chinese and Japanese share code points but not glyph
forms, so the CJK face is picked by language with :lang() on the root and on elements that carry a lang. A book
names its own faces per script in book.toml: [fonts] arabic = "Amiri" (put first, the Noto face stays after it).
Emoji are left to fontconfig's fallback (Noto Color Emoji): that face also has digits and spaces, and in the
stack it took them from the text face and broke the justification of right-to-left lines.
"""
from __future__ import annotations

SCRIPTS = {  # script -> default family
    "latin": "Linux Libertine O", "latin-fallback": "Noto Serif", "arabic": "Noto Naskh Arabic",
    "hebrew": "Noto Serif Hebrew", "devanagari": "Noto Serif Devanagari", "bengali": "Noto Serif Bengali",
    "thai": "Noto Serif Thai", "cjk": "Noto Serif CJK SC",
    "mono": "Linux Libertine Mono O",
}
# Language (BCP 47 prefix) -> CJK face with that language's glyph forms; later entries win (more specific).
CJK_BY_LANGUAGE = [("zh", "Noto Serif CJK SC"), ("zh-Hans", "Noto Serif CJK SC"), ("zh-TW", "Noto Serif CJK TC"),
                   ("zh-Hant", "Noto Serif CJK TC"), ("zh-HK", "Noto Serif CJK HK"), ("ja", "Noto Serif CJK JP"),
                   ("ko", "Noto Serif CJK KR")]
# Debian package per script, for a character no installed font has.
PACKAGES = {"CJK": "fonts-noto-cjk", "HIRAGANA": "fonts-noto-cjk", "KATAKANA": "fonts-noto-cjk",
            "HANGUL": "fonts-noto-cjk", "EMOJI": "fonts-noto-color-emoji"}
OTHER_PACKAGE = "fonts-noto-core"
# Languages whose script's face leads the stack (CJK: full-width quotation marks and punctuation); with the book
# face first, spaces and punctuation would come from
# another font than the words around them, and WeasyPrint then justifies right-to-left lines past the margin.
LANGUAGE_SCRIPT = {"ar": "arabic", "fa": "arabic", "ur": "arabic", "ps": "arabic", "sd": "arabic", "ug": "arabic",
                   "ckb": "arabic", "he": "hebrew", "iw": "hebrew", "yi": "hebrew", "hi": "devanagari",
                   "mr": "devanagari", "ne": "devanagari", "sa": "devanagari", "bn": "bengali", "as": "bengali",
                   "th": "thai", "zh": "cjk", "ja": "cjk", "ko": "cjk"}


def book_fonts(value, err) -> tuple:
    """book.toml [fonts]: script = "Family" pairs."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        err("fonts", "'fonts' must be a table of script = \"font family\"", '[fonts]\narabic = "Amiri"')
        return ()
    pairs = []
    for script, family in value.items():
        if script not in SCRIPTS or script == "latin-fallback":
            err("fonts", f"[fonts]: unknown script '{script}'",
                "scripts are: " + ", ".join(s for s in SCRIPTS if s != "latin-fallback"))
        elif not isinstance(family, str) or not family.strip() or '"' in family or "\\" in family:
            err("fonts", f"[fonts]: '{script}' must be a font family name", f'write {script} = "Family Name"')
        else:
            pairs.append((script, family.strip()))
    return tuple(sorted(pairs))


def _quote(family: str) -> str:
    return f'"{family}"' if family not in ("serif", "sans-serif", "monospace") else family


def stack(own: dict, cjk: str, mono: bool = False, first: str | None = None) -> str:
    """The font-family value: the book's faces for each script first, then the defaults; `first`: the script
    whose faces lead (the book's language's)."""
    order = ["mono" if mono else "latin", "latin-fallback", "arabic", "hebrew", "devanagari", "bengali", "thai",
             "cjk"]
    if first:
        order.remove(first)
        order.insert(0, first)
    families = []
    for script in order:
        default = cjk if script == "cjk" else SCRIPTS[script]
        for family in (own.get(script), default):
            if family and family not in families:
                families.append(family)
    return ", ".join(map(_quote, families + ["monospace" if mono else "serif"]))


def cjk_face(language: str, own: dict) -> str:
    """The CJK face with the glyph forms of `language` (Simplified Chinese forms when it is not CJK)."""
    face = SCRIPTS["cjk"]
    for lang, f in CJK_BY_LANGUAGE:
        if language.lower() == lang.lower() or language.lower().startswith(lang.lower() + "-"):
            face = f
    return own.get("cjk", face)


def font_css(meta) -> str:
    """Rules for the print edition: the root's and the margins' stack, then one per CJK language, on the root
    and on elements tagged with a lang (a Japanese quotation in a Chinese book gets Japanese forms)."""
    own = dict(meta.fonts)
    face = cjk_face(meta.language, own)
    first = LANGUAGE_SCRIPT.get(meta.language.split("-")[0].lower())
    rules = [f"html {{ font-family: {stack(own, face, first=first)}; }}",
             f"@page {{ font-family: {stack(own, face, first=first)}; }}",
             f"pre, code, kbd, samp {{ font-family: {stack(own, face, mono=True)}; }}"]
    for lang, f in CJK_BY_LANGUAGE:
        code = ", ".join(f"body [lang]:lang({lang}) {t}" for t in ("pre", "code", "kbd", "samp"))
        rules.append(f"body [lang]:lang({lang}) {{ font-family: {stack(own, f)}; }}")
        rules.append(f"{code} {{ font-family: {stack(own, f, mono=True)}; }}")
    return "\n".join(rules) + "\n"


def ranked(glyphs: dict) -> tuple:
    """Font families by the glyphs they set: the one with the most first (the copyright page's "Set in"), then
    the others by name; ties broken by name, so that one document and chapter groups name them alike."""
    if not glyphs:
        return ()
    main = max(glyphs, key=lambda f: (glyphs[f], f))
    return (main, *sorted(f for f in glyphs if f != main))

"""Writing direction of a book: right-to-left for RTL languages and scripts, or as book.toml says."""
import re

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


# A left-to-right run inside right-to-left text: a URL, or Latin words with what joins them (digits, spaces,
# apostrophes, hyphens, dots inside a word). Wrapped in LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE, which
# both WeasyPrint (Pango, FriBidi) and e-readers honour, so that "https://example.org" or "The Desert Journals"
# never has its punctuation moved to the other end, nor its words reordered.
# A word may end in "++" or "#" (C++, C#, F#): outside the run, they would be moved to the word's other side.
_WORD = r"[\wÀ-ɏ'’\-]*(?:\+\+|#)?"
_LTR_RUN = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)\]]|[A-Za-zÀ-ɏ]" + _WORD
                      + r"(?:[ .\u00a0\u202f](?!https?://)[A-Za-zÀ-ɏ0-9]" + _WORD + r")*")  # (a no-break space too)
LRI, PDI = "\u2066", "\u2069"


def isolate_ltr(text: str) -> str:
    return _LTR_RUN.sub(lambda m: LRI + m.group(0) + PDI, text)


# A right-to-left run inside left-to-right text: Hebrew, Arabic, Syriac, Thaana... words with the spaces, marks
# and digits between them, ending on a letter. Wrapped in RIGHT-TO-LEFT ISOLATE ... POP DIRECTIONAL ISOLATE, so
# that "Notes on القاهرة, 1941 edition" keeps its comma and number after the Arabic word, where the author put
# them (without it, the Unicode bidi algorithm moves ", 1941" to the Arabic word's left).
_RTL = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
_RTL_RUN = re.compile(f"[{_RTL}](?:[{_RTL}\\s\u00a00-9]*[{_RTL}])?")
RLI = "\u2067"


def isolate_rtl(text: str) -> str:
    return _RTL_RUN.sub(lambda m: RLI + m.group(0) + PDI, text)


def isolate(text: str, direction: str) -> str:
    """The runs of the other direction in `text`, isolated for a book written in `direction`."""
    return isolate_ltr(text) if direction == "rtl" else isolate_rtl(text)


def isolate_plugin(md, direction: str) -> None:
    """A markdown-it core rule: isolate the other direction's runs in every text token (body, headings, notes)."""
    mark = LRI if direction == "rtl" else RLI

    def rule(state):
        for token in state.tokens:
            for child in token.children or ():
                if child.type == "text" and mark not in child.content:
                    child.content = isolate(child.content, direction)
    md.core.ruler.push("isolate", rule)

"""Characters a book cannot hold, and text that prints nothing: one definition for the reader and the sanitizer."""
from __future__ import annotations

import re
import unicodedata

# XML (so XHTML, so the EPUB) cannot hold these, and nothing can print them: C0 controls but tab and line
# breaks, U+FFFE/U+FFFF, and lone surrogates (which no UTF-8 file holds, but an escape in YAML can make).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def char_name(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def visible(text: str) -> bool:
    """Whether a title has something to print: not only spaces and invisible characters (soft hyphens...)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Mn") for ch in text)

"""Chinese and Japanese have no spaces between words: a line break in the source between two such characters is
not a space (CSS would print it as one, and WeasyPrint does not apply the segment-break rules that drop it)."""
from __future__ import annotations

import re

# Han, kana, CJK punctuation and full-width forms (Hangul is written with spaces: not here).
_CJK = re.compile(r"[\u2E80-\u2FFF\u3000-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF\U00020000-\U0003FFFF]")


def is_cjk(ch: str) -> bool:
    return bool(ch) and bool(_CJK.match(ch))


def join_cjk_lines(md) -> None:
    """Render a soft line break between two CJK characters as nothing (others as before)."""
    default = md.renderer.rules.get("softbreak")

    def softbreak(self, tokens, idx, options, env):
        before = tokens[idx - 1].content[-1:] if idx > 0 else ""
        after = tokens[idx + 1].content[:1] if idx + 1 < len(tokens) else ""
        if is_cjk(before) and is_cjk(after):
            return ""
        return default(tokens, idx, options, env) if default else "\n"

    md.add_render_rule("softbreak", softbreak)

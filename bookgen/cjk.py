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


def pair_cjk_quotes(md, quotes: str) -> None:
    """Straight double quotes between CJK letters, paired in order within each paragraph (`彼は"書く"と` ->
    `彼は「書く」と`). markdown-it's smart quotes leave them straight: with a letter on each side, a quote can
    neither open nor close by its rules, which are made for languages with spaces between words."""
    def rule(state):
        for token in state.tokens:
            texts = [c for c in token.children or () if c.type == "text" and '"' in c.content]
            if not texts or not any(_CJK.search(c.content) for c in texts):
                continue
            n = 0
            for child in texts:
                out = []
                for ch in child.content:
                    if ch == '"':
                        ch = quotes[n % 2]
                        n += 1
                    out.append(ch)
                child.content = "".join(out)
    md.core.ruler.after("smartquotes", "cjk_quotes", rule)

"""No paragraph ends with one short word alone on its line (a "runt"): the last two words of a paragraph are
joined by a no-break space when the last is short. Typesetters do this by hand; WeasyPrint has no
`text-wrap: pretty`. Both editions get the same text (the EPUB's readers break lines too)."""
from __future__ import annotations

import re

SHORT = 14  # letters: a longer last word alone on its line is a line of its own, not a runt
_LAST = re.compile(r"^(.*\S) (\S{1,%d})(\s*)$" % SHORT, re.S)
NBSP = "\u00a0"


def keep_last_words_together(md) -> None:
    md.core.ruler.after("smartquotes", "bookgen_runts", _rule)


def _rule(state) -> None:
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "inline" or i == 0 or tokens[i - 1].type != "paragraph_open" or not token.children:
            continue
        children = token.children
        last = children[-1]
        if last.type != "text" or len(token.content.split()) < 6:
            continue
        m = _LAST.match(last.content)
        if m:
            last.content = m.group(1) + NBSP + m.group(2) + m.group(3)
        elif len(children) >= 2 and children[-2].type == "softbreak" and 0 < len(last.content.strip()) <= SHORT \
                and " " not in last.content.strip():
            # a hard-wrapped source: the last word alone on the source's last line
            children[-2].type, children[-2].content = "text", NBSP

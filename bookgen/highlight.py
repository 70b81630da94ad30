"""Code blocks coloured by their language (the fence's info string), with Pygments: CSS classes only (`hl-k` for a
keyword...), so that the EPUB carries no inline style and each edition's stylesheet chooses the colours
(styles/base.css: a palette that still reads in greyscale print)."""
from __future__ import annotations

import re

_SPACE = re.compile(r'<span class="hl-w">(\s*)</span>')


def highlight(code: str, lang: str, attrs: str) -> str:
    """markdown-it's `highlight` option: the block's inner markup, or "" to leave it as plain text."""
    from pygments import highlight as pygmentize
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound
    name = (lang or "").split(",")[0].strip().lower()  # mdBook writes `rust,ignore`
    if not name:
        return ""
    try:
        lexer = get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return ""
    html = pygmentize(code, lexer, HtmlFormatter(nowrap=True, classprefix="hl-"))
    return _SPACE.sub(r"\1", html)  # spaces need no class: a third of the markup, for nothing


def language_name(lang: str) -> str:
    """The language's name as people write it ('Python', 'Rust', 'TOML'), for screen readers; the fence's word
    when Pygments does not know it."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound
    name = (lang or "").split(",")[0].strip()
    try:
        return get_lexer_by_name(name.lower()).name
    except ClassNotFound:
        return name

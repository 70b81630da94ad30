"""The Jinja environment: every piece of markup both editions print comes from `templates/`."""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import jinja2.sandbox
from markupsafe import Markup

from .errors import BookError, Problem
from .i18n import words

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT / "templates"
STYLES = PROJECT / "styles"


def as_inline(html: str) -> Markup:
    """A note's paragraphs as inline markup, for a footnote that floats from inside a paragraph."""
    html = re.sub(r"<p(\s[^>]*)?>", r'<span class="note-p"\1>', str(html))
    return Markup(html.replace("</p>", "</span>").strip())


def environment(book_root: Path | None = None) -> jinja2.Environment:
    # A book may override any template with its own templates/ folder.
    paths = [str(book_root / "templates")] if book_root and (book_root / "templates").is_dir() else []
    # Sandboxed: a book's own templates (templates/ in a downloaded book) cannot reach Python's internals.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(paths + [str(TEMPLATES)]),
        # select_autoescape() leaves *.j2 names unescaped: name the extensions.
        autoescape=jinja2.select_autoescape(["html", "xhtml", "xml", "html.j2", "xhtml.j2", "xml.j2", "css.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["as_inline"] = as_inline
    return env


def render(env: jinja2.Environment, name: str, **context) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise BookError(Problem(e.filename or name, f"template error: {e.message}", e.lineno,
                                "fix the template's syntax")) from None
    except jinja2.TemplateError as e:
        where, line = _template_line(e, name)
        raise BookError(Problem(where, f"template error: {e}", line,
                                "check the names the template uses")) from None


def _template_line(exc, name):
    """The template file and line where the error happened (Jinja's traceback frames name them)."""
    tb = exc.__traceback__
    where, line = f"templates/{name}", None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            where, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return where, line


def context(book, edition: str) -> dict:
    return {"book": book, "meta": book.meta, "chapters": book.chapters, "edition": edition,
            "words": words(book.meta.language)}

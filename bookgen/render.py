"""The Jinja environment: every piece of markup both editions print comes from `templates/`."""
from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import jinja2
import jinja2.sandbox
from markupsafe import Markup

from .errors import BookError, Problem
from .i18n import words
from .parts import part_of
from .template_data import plain

# A template that never ends (a huge loop, a recursive macro) is stopped: seconds of rendering per template,
# and characters of output or of one string it builds. Set BOOKGEN_TEMPLATE_SECONDS to allow more time.
TEMPLATE_SECONDS = 60.0
TEMPLATE_CHARS = 200_000_000

PACKAGE = Path(__file__).resolve().parent
PROJECT = PACKAGE.parent


def shipped(name: str) -> Path:
    """`templates` or `styles`: inside the package when installed from a wheel, else at the top of the checkout."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else PROJECT / name


TEMPLATES = shipped("templates")
STYLES = shipped("styles")


def as_inline(html: str) -> Markup:
    """A note's paragraphs as inline markup, for a footnote that floats from inside a paragraph."""
    html = re.sub(r"<p(\s[^>]*)?>", r'<span class="note-p"\1>', str(html))
    # WeasyPrint keeps the source's line breaks inside a footnote float: outside code, a newline is a space.
    html = "".join(part if part.startswith("<pre") else part.replace("\n", " ")
                   for part in re.split(r"(<pre[\s>].*?</pre>)", html, flags=re.S))
    return Markup(html.replace("</p>", "</span>").strip())


def environment(book_root: Path | None = None) -> jinja2.Environment:
    # A book may override any template with its own templates/ folder.
    paths = [str(book_root / "templates")] if book_root and (book_root / "templates").is_dir() else []
    # Sandboxed: a book's own templates (templates/ in a downloaded book) cannot reach Python's internals.
    env = _Sandbox(
        loader=_InsideLoader(paths + [str(TEMPLATES)], [book_root, TEMPLATES] if book_root else [TEMPLATES]),
        # select_autoescape() leaves *.j2 names unescaped: name the extensions.
        autoescape=jinja2.select_autoescape(["html", "xhtml", "xml", "html.j2", "xhtml.j2", "xml.j2", "css.j2"]),
        undefined=_Undefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["as_inline"] = as_inline
    return env


class _Undefined(jinja2.StrictUndefined):
    """Names the fields a mapping of the book's data has, rather than the Python type behind it."""
    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, dict) and isinstance(name, str):
            fields = ", ".join(sorted(k for k in obj if not k.startswith("_")))
            return f"no field {name!r} here (the fields are: {fields})"
        return super()._undefined_message


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The sandbox, with `*` and `**` bounded (`'x' * 10**12` would fill the memory before any time limit)."""
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64 \
                and isinstance(left, (int, float)) and abs(left) > 1:
            raise jinja2.sandbox.SecurityError("the power is too large")
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, (str, list, tuple)) and isinstance(b, int) and len(a) * b > TEMPLATE_CHARS:
                    raise jinja2.sandbox.SecurityError("the repeated string or list is too long")
        return super().call_binop(context, operator, left, right)


class _InsideLoader(jinja2.FileSystemLoader):
    """A template is read only when it really lies inside the book folder or the project's templates/ (a
    symlink leading elsewhere, or a book's templates/ that is itself a link out of the book, is refused), and
    only when it is a regular file (a FIFO would hang the build)."""

    def __init__(self, searchpath, allowed):
        super().__init__(searchpath)
        self.allowed = [os.path.realpath(a) + os.sep for a in allowed]

    def get_source(self, environment, template):
        from jinja2.loaders import split_template_path
        for folder in self.searchpath:
            candidate = os.path.join(folder, *split_template_path(template))
            if not os.path.lexists(candidate):
                continue
            real = os.path.realpath(candidate)
            if not any(real.startswith(a) for a in self.allowed):
                raise jinja2.TemplateError(f"{candidate} leads outside the book folder (hint: a template must be a "
                                           "file inside the book's templates/ folder, not a link out of it)")
            if not os.path.isfile(real):
                raise jinja2.TemplateError(f"{candidate} is not a regular file (hint: a template must be a file)")
            break
        return super().get_source(environment, template)


class TemplateTimeout(Exception):
    pass


def _limit_seconds() -> float:
    try:
        return float(os.environ.get("BOOKGEN_TEMPLATE_SECONDS", TEMPLATE_SECONDS))
    except ValueError:
        return TEMPLATE_SECONDS


def render(env: jinja2.Environment, name: str, **context) -> str:
    """The template's text. The context is made plain data first (bookgen/template_data.py)."""
    context = {k: plain(v) for k, v in context.items()}
    seconds = _limit_seconds()
    try:
        return _generate(env.get_template(name), context, seconds)
    except TemplateTimeout:
        raise BookError(Problem(f"templates/{name}", f"template did not finish within {seconds:g} seconds", None,
                                "look for a loop that never ends in the template, or set "
                                "BOOKGEN_TEMPLATE_SECONDS to allow more time")) from None
    except RecursionError:
        raise BookError(Problem(f"templates/{name}", "template calls itself too deeply (a recursive macro?)",
                                None, "make sure every recursive macro stops")) from None
    except MemoryError:
        raise BookError(Problem(f"templates/{name}", "template made more text than fits in memory", None,
                                "look for a loop that never ends in the template")) from None
    except jinja2.TemplateSyntaxError as e:
        raise BookError(Problem(e.filename or name, f"template error: {e.message}", e.lineno,
                                "fix the template's syntax")) from None
    except jinja2.TemplateError as e:
        where, line = _template_line(e, name)
        raise BookError(Problem(where, f"template error: {e}", line,
                                "check the names the template uses")) from None


def _generate(template, context: dict, seconds: float) -> str:
    """Render with a time limit (SIGALRM in the main thread, a check between pieces of output elsewhere) and a
    limit on the length of the output."""
    deadline = time.monotonic() + seconds
    alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if alarm:
        def on_alarm(signum, frame):
            raise TemplateTimeout()
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        out, size = [], 0
        for piece in template.generate(**context):
            out.append(piece)
            size += len(piece)
            if size > TEMPLATE_CHARS:
                raise BookError(Problem(template.filename, f"template output is longer than {TEMPLATE_CHARS:,} "
                                        "characters", None, "look for a loop that never ends in the template"))
            if time.monotonic() > deadline:
                raise TemplateTimeout()
        return "".join(out)
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


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
    """What every template sees: plain data (bookgen/template_data.py), never the model's objects."""
    data = plain(book)
    _isolate_meta(data["meta"], book.meta.direction)
    return {"book": data, "meta": data["meta"], "chapters": data["chapters"], "edition": edition,
            "words": plain(words(book.meta.language, book.meta.strings)),
            "dir": book.meta.direction, "contents": plain(contents(book, data["chapters"])),
            "in_part": plain(sorted(part_of(book.chapters)))}


def _isolate_meta(meta, direction) -> None:
    """book.toml's words as printed: the other direction's runs isolated as in the text (direction.py), so that
    "C++" in an Arabic title, or Hebrew in an English one, reads the same on the title page and in the running
    heads as in the chapters."""
    from .direction import isolate
    for key in ("title", "subtitle", "publisher", "rights", "edition", "author_names"):
        if isinstance(meta.get(key), str):
            meta[key] = isolate(meta[key], direction)
    for author in meta.get("authors") or ():
        if isinstance(author, dict) and isinstance(author.get("name"), str):
            author["name"] = isolate(author["name"], direction)


def contents(book, chapters) -> list:
    """The print contents: each entry a chapter, a part holding its chapters as `children`."""
    from .parts import nest_parts
    return nest_parts(book.chapters, [{"chapter": c, "children": []} for c in chapters])

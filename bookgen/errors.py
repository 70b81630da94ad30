"""Problems found in a book, reported all at once as `path:line: message (hint: ...)`."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


def display_path(path) -> str:
    """A path as the author typed it: relative to the working folder when it is inside it."""
    text = str(path)
    if os.path.isabs(text):
        try:
            rel = os.path.relpath(text)
        except ValueError:  # another drive (Windows)
            return text
        if not rel.startswith(".."):
            return rel
    return text


@dataclass(frozen=True)
class Problem:
    path: Path | str | None
    message: str
    line: int | None = None
    hint: str | None = None
    warning: bool = False

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = display_path(self.path)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        kind = "warning: " if self.warning else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{kind}{self.message}{hint}"


class BookError(Exception):
    """The book cannot be built; carries every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """Collects problems while the whole book is read; raises once at the end."""

    def __init__(self, strict: bool = False):
        self.items: list[Problem] = []
        self.strict = strict

    def error(self, path, message, line=None, hint=None):
        self.items.append(Problem(path, message, line, hint))

    def warn(self, path, message, line=None, hint=None):
        self.items.append(Problem(path, message, line, hint, warning=not self.strict))

    @property
    def errors(self):
        return [p for p in self.items if not p.warning]

    @property
    def warnings(self):
        return [p for p in self.items if p.warning]

    def raise_if_errors(self):
        if self.errors:
            raise BookError(self.items)


def refused_fetch(e: BaseException) -> Problem | None:
    """WeasyPrint stops on our URL fetcher's refusal (a file outside the book) with a BaseException: the book's
    problem it stands for, or None for any other exception."""
    if type(e).__name__ != "FatalURLFetchingError":
        return None
    return Problem(None, str(e), None, "a book may use only files inside its folder; check the templates and "
                   "stylesheets")


def command() -> str:
    """The command as the user typed it: `bookgen`, `python build.py` or `python -m bookgen`."""
    arg0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    name = os.path.basename(arg0)
    if name == "__main__.py" and os.path.basename(os.path.dirname(arg0)) == "bookgen":
        return "python -m bookgen"
    if name.startswith("bookgen"):  # the installed command (bookgen, bookgen.exe)
        return "bookgen"
    if name.endswith(".py") and name != "__main__.py":
        return f"python {name}"
    return "python build.py"  # called from Python (a test, another tool): the README's command

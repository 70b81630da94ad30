"""A chapter's front matter: YAML between `---` lines or TOML between `+++` lines, read with its problems' lines."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from .book_toml import toml_error
from .chars import NOT_XML, char_name

CHAPTER_KEYS = {"title", "subtitle", "id", "type"}


def split_front_matter(text: str):
    """Return (format, front matter text, body, number of lines before the body)."""
    for fence, kind in (("---", "yaml"), ("+++", "toml")):
        if text.startswith(fence + "\n") or text.startswith(fence + "\r\n"):
            lines = text.splitlines(keepends=True)
            for i in range(1, len(lines)):
                if lines[i].rstrip() == fence:
                    return kind, "".join(lines[1:i]), "".join(lines[i + 1:]), i + 1
            return kind, None, text, 0
    return None, "", text, 0


def fm_line(text: str, key: str) -> int | None:
    """The line of `key:` (or `key =`) in a chapter's text."""
    m = re.search(r"^[ \t]*" + re.escape(str(key)) + r"[ \t]*[:=]", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


def read_front_matter(path: Path, ctext: str, problems):
    """(front matter dict, body, lines before the body), or None when the front matter has a problem (reported)."""
    kind, fm_text, body, offset = split_front_matter(ctext)
    fm = {}
    if fm_text is None:
        problems.error(path, "front matter is not closed", 1,
                       f"end the front matter with a line holding only {'---' if kind == 'yaml' else '+++'}")
        return None
    if kind == "yaml":
        try:
            fm = yaml.safe_load(fm_text) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            context = getattr(e, "context_mark", None)
            problem = getattr(e, "problem", None) or str(e)
            if mark and context and getattr(e, "context", None) and mark.line >= fm_text.count("\n"):
                # the parser ran to the end: point at what was left open
                mark, problem = context, f"{e.context}: {problem}"
            where = f" (column {mark.column + 1})" if mark else ""
            problems.error(path, f"front matter is not valid YAML: {problem}{where}",
                           min(mark.line + 2, offset) if mark else 1,
                           "write one `key: value` per line; quote a value that holds a colon or brackets")
            return None
    elif kind == "toml":
        try:
            fm = tomllib.loads(fm_text)
        except tomllib.TOMLDecodeError as e:
            msg, line, _ = toml_error(e, fm_text)
            problems.error(path, f"front matter is not valid TOML: {msg}", line + 1,
                           'write one `key = "value"` per line')
            return None
    if not isinstance(fm, dict):
        problems.error(path, "front matter must be a set of `key: value` lines", 2)
        return None
    bad_keys = [k for k, v in fm.items() if isinstance(v, str) and NOT_XML.search(v)]
    for key in bad_keys:
        bad = NOT_XML.search(fm[key]).group(0)
        problems.error(path, f"front matter '{key}' contains the control character {char_name(bad)}, which a "
                       "book cannot hold", fm_line(ctext, key), "remove it (it may be written as an escape)")
    if bad_keys:
        return None
    return fm, body, offset

"""What templates see: plain data only (strings, numbers, booleans, None, lists and mappings of them, and markup).

Jinja's sandbox blocks underscore attributes but not ordinary methods: an object such as `pathlib.Path` in a
template's context lets a book's template read and write any file (`(root / '/etc/passwd').read_text()`).
Everything the templates receive is therefore copied here into `Data` (a dict) and `Items` (a list), with a
file path given as a string relative to the book folder. An object this module does not know is refused.
"""
from __future__ import annotations

import dataclasses
from pathlib import PurePath

from markupsafe import Markup


class Data(dict):
    """A mapping already made plain (not copied again when it is passed on)."""
    __slots__ = ()


class Items(list):
    """A list already made plain."""
    __slots__ = ()


def plain(value, root=None):
    """`value` as plain data. `root`: the book folder, that paths are given relative to."""
    if value is None or isinstance(value, (bool, int, float, Data, Items)):
        return value
    if isinstance(value, Markup):
        return Markup(str.__str__(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, PurePath):
        return _path(value, root)
    if isinstance(value, dict):
        return Data((str(k), plain(v, root)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return Items(plain(v, root) for v in value)
    if isinstance(value, (set, frozenset)):
        return Items(sorted(plain(v, root) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value, root)
    raise TypeError(f"a template may be given only plain data, not {type(value).__name__}")


# Fields a template never needs: where the book lies on the machine, and what the build does with it.
_LEFT_OUT = {"root", "sources", "warnings", "path"}


def _record(obj, root) -> Data:
    if root is None and isinstance(getattr(obj, "root", None), PurePath):
        root = obj.root
    out = Data()
    for f in dataclasses.fields(obj):
        if f.name not in _LEFT_OUT:
            out[f.name] = plain(getattr(obj, f.name), root)
    # Properties are computed once here (a template reads `meta.author_names`, `chapter.file_name`).
    for name in dir(type(obj)):
        if not name.startswith("_") and isinstance(getattr(type(obj), name, None), property):
            out[name] = plain(getattr(obj, name), root)
    return out


def _path(path: PurePath, root) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name

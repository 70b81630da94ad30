"""A copy of the small good book (tests/fixtures/errors/good) to break one thing at a time, and the old outputs
a failed build must leave alone."""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from conftest import FIXTURES, run_cli

GOOD = FIXTURES / "errors" / "good"
SLUG = "a-small-good-book"


def copy_book(tmp_path: Path, name: str = "book") -> Path:
    book = tmp_path / name
    shutil.copytree(GOOD, book)
    return book


def edit(path: Path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(path: Path, text: str):
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def old_outputs(out: Path, slug: str = SLUG) -> dict:
    """Put a previous 'good' PDF and EPUB in `out`; returns the folder's state to compare with `state()`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{slug}.pdf").write_bytes(b"%PDF-1.7 the previous good PDF\n")
    (out / f"{slug}.epub").write_bytes(b"PK the previous good EPUB\n")
    return state(out)


def state(out: Path) -> dict:
    """Every file in the folder (hidden ones too) with a hash of its content."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
            for p in sorted(out.iterdir())}


def build_cli(tmp_path: Path, *args, book: str = "book", out: str = "dist", subprocess: bool = False):
    """Run build.py's command line from tmp_path (so messages show paths like book/chapters/one.md).

    In this process by default (the same `main` that build.py calls, much faster than a new interpreter);
    `subprocess=True` runs build.py itself."""
    argv = ["--book", book, "--out", out, *map(str, args)]
    if subprocess:
        return run_cli(*argv, cwd=tmp_path)
    from bookgen.cli import main
    stdout, stderr = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(argv)
    finally:
        os.chdir(here)
    return Completed(code, stdout.getvalue(), stderr.getvalue())


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str

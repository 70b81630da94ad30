"""A copy of the small good book (tests/fixtures/errors/good) to break one thing at a time, and the old outputs
a failed build must leave alone."""
from __future__ import annotations

import hashlib
import shutil
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
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def build_cli(tmp_path: Path, *args, book: str = "book", out: str = "dist"):
    """Run build.py from tmp_path (so messages show paths like book/chapters/one.md)."""
    return run_cli("--book", book, "--out", out, *args, cwd=tmp_path)

"""What each chapter group's layout gave, kept between builds (`<out>/.bookgen-cache/`), so that editing one
chapter lays out only its group again (and the groups after it, when the edit moved their folios).

A group's page breaks depend only on its HTML, the stylesheets and the files WeasyPrint reads (images, fonts
in the book): its key hashes them with the code and the libraries (cache.inputs_digest, leaving out the
Markdown, which reaches the layout only as HTML). Its finished PDF also depends on where it starts in the book
(folio, running heads, a blank page before it): that goes into the key of the result. Entries are JSON (and the
group's PDF beside it); entries a build did not use are removed after it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

FOLDER = ".bookgen-cache"


class GroupCache:
    def __init__(self, folder: Path | None, environment: str = "", read: bool = True):
        self.folder = Path(folder) if folder else None
        self.read = read  # False: lay everything out again (--force), and keep what it gives
        self.environment = environment
        self.used: set[str] = set()
        self.pending: dict = {}  # key -> entry, not yet written

    def key(self, *parts) -> str:
        h = hashlib.sha256(self.environment.encode())
        for part in parts:
            h.update(b"\0" + (part if isinstance(part, bytes) else
                              json.dumps(part, sort_keys=True, default=str).encode("utf-8")))
        return h.hexdigest()

    def get(self, key: str) -> dict | None:
        if self.folder is None:
            return None
        if key in self.pending:
            self.used.add(key)
            return dict(self.pending[key])
        if not self.read:
            return None
        try:
            data = _opened(json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8")), key)
            if data is None:
                return None
            if "pdf_sha256" in data:
                data["pdf"] = (self.folder / f"{key}.pdf").read_bytes()
                if hashlib.sha256(data["pdf"]).hexdigest() != data.pop("pdf_sha256"):
                    return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(key)
        return data

    def keep(self, key: str):
        """Keep an entry this build did not need to read (a group's pages, under its finished result)."""
        self.used.add(key)

    def put(self, key: str, data: dict):
        """Keep an entry; it is written by flush(), once the build has written its outputs."""
        if self.folder is not None:
            self.pending[key] = data
            self.used.add(key)

    def flush(self):
        """Write the new entries and remove those this build did not use."""
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for key, data in self.pending.items():
                data = dict(data)
                if "pdf" in data:
                    pdf = data.pop("pdf")
                    data["pdf_sha256"] = hashlib.sha256(pdf).hexdigest()
                    _write(self.folder / f"{key}.pdf", pdf)
                _write(self.folder / f"{key}.json", _sealed(data, key))
        except OSError:
            return  # a cache that cannot be written only makes the next build slower
        self.pending.clear()
        self.prune()

    def prune(self):
        """Remove the entries this build did not use."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.suffix in (".json", ".pdf", ".part") and path.stem not in self.used:
                try:
                    path.unlink()
                except OSError:
                    pass


def _sealed(data: dict, key: str) -> bytes:
    """An entry as written: its data, the key it is for and a digest of both. A record damaged, edited or put
    under another entry's name (two swapped) no longer matches, and is laid out again rather than believed."""
    body = json.loads(json.dumps(data, default=_plain))
    digest = hashlib.sha256(json.dumps([key, body], sort_keys=True).encode("utf-8")).hexdigest()
    return json.dumps({"key": key, "sha256": digest, "data": body}).encode("utf-8")


def _opened(entry, key: str) -> dict | None:
    """The data of a sealed entry (see _sealed) if it is whole and is the entry for `key`, else None."""
    if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("data"), dict):
        return None
    if hashlib.sha256(json.dumps([key, entry["data"]], sort_keys=True).encode("utf-8")).hexdigest() \
            != entry.get("sha256"):
        return None
    return entry["data"]


def _plain(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def _write(path: Path, data: bytes):
    from .atomic import write_atomic
    write_atomic(path, data)

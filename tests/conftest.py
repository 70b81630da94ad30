"""Shared fixtures: real builds of fixture books, read back with real readers (pypdf, lxml, EPUBCheck)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEFAULT_BOOK = ROOT / "book"
LARGER_BOOK = FIXTURES / "larger"
SEED = ROOT.parent / "shared" / "seeds" / "000_c508080dbabbe35c.txt"
NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}

sys.path.insert(0, str(ROOT))


def build_into(book: Path, out: Path, **options):
    """Build in-process; fail on any WeasyPrint warning (unsupported CSS shows up at once)."""
    from bookgen.build import BuildOptions, build
    result = build(BuildOptions(book=book, out=out, **options))
    layout = [str(w) for w in result.warnings if "WeasyPrint" in str(w)]
    assert not layout, f"WeasyPrint logged warnings: {layout}"
    return result


def run_cli(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope="session")
def default_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("default")
    return build_into(DEFAULT_BOOK, out)


@pytest.fixture(scope="session")
def larger_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("larger")
    return build_into(LARGER_BOOK, out)


def epubcheck(path: Path) -> dict:
    """Run the W3C EPUBCheck bundled in the `epubcheck` package on the machine's Java (the jar and JVM options
    the build's --check uses)."""
    from bookgen.check import JAVA_OPTIONS, epubcheck_jar
    report = path.with_suffix(".epubcheck.json")
    subprocess.run(["java", *JAVA_OPTIONS, "-jar", str(epubcheck_jar()), str(path), "--json", str(report)],
                   capture_output=True, timeout=300)
    data = json.loads(report.read_text())
    messages = data["messages"]
    return {"errors": [m for m in messages if m["severity"] in ("ERROR", "FATAL")],
            "warnings": [m for m in messages if m["severity"] == "WARNING"], "messages": messages}


def normalize(text: str) -> str:
    """Letters and digits only, with typographic quotes, dashes and hyphenation folded away."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub("\u2010\\s*", "", text)  # hyphenation at a line end
    return re.sub(r"[^\w]", "", text).lower()


def pdf_pages_text(path: Path) -> list[str]:
    from pypdf import PdfReader
    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def pdftotext_pages(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


class Epub:
    """An EPUB read back with zipfile + lxml."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path)
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        self.opf_path = container.find(".//{*}rootfile").get("full-path")
        self.base = self.opf_path.rsplit("/", 1)[0] + "/" if "/" in self.opf_path else ""
        self.opf = etree.fromstring(self.zip.read(self.opf_path))
        self.manifest = {i.get("id"): i for i in self.opf.iterfind(".//opf:manifest/opf:item", NS)}

    def xml(self, href: str):
        return etree.fromstring(self.zip.read(self.base + href))

    @property
    def spine_hrefs(self) -> list[str]:
        return [self.manifest[r.get("idref")].get("href") for r in self.opf.iterfind(".//opf:spine/opf:itemref", NS)]

    def text(self, href: str) -> str:
        return "".join(self.xml(href).itertext())

    def all_text(self) -> str:
        return "\n".join(self.text(h) for h in self.spine_hrefs)

    def meta(self, name: str) -> list[str]:
        return [e.text for e in self.opf.iterfind(f".//dc:{name}", NS)]

    def props(self, prop: str) -> list[str]:
        return [e.text for e in self.opf.iterfind(f".//opf:meta[@property='{prop}']", NS)]

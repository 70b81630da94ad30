"""Issues 10 and 11: SVG figures are made safe and valid in both editions (no DOCTYPE or entities, no scripts or
handlers, no reference outside the file); a broken or empty SVG is a clear error naming the chapter's line."""
from __future__ import annotations

import zipfile

import pytest

from conftest import epubcheck, pdftotext_pages
from goodbook import SLUG, append, build_cli, copy_book

HOSTILE = """<?xml version="1.0"?>
<!DOCTYPE svg [ <!ENTITY secret SYSTEM "file:///etc/hostname"> ]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="80"
     viewBox="0 0 200 80" onload="alert(1)">
  <style>@import url(https://example.org/x.css); rect { fill: url(https://example.org/p.svg#p) }</style>
  <script>alert("in the figure")</script>
  <rect x="5" y="5" width="190" height="70" fill="#ddd" onclick="steal()"/>
  <image href="https://example.org/tracker.png" width="10" height="10"/>
  <use xlink:href="other.svg#shape"/>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
  <text x="20" y="45" font-size="16">Harbour plan &secret;</text>
</svg>
"""


def test_a_hostile_svg_prints_only_its_picture(tmp_path):
    book = copy_book(tmp_path)
    (book / "images" / "plan.svg").write_text(HOSTILE, encoding="utf-8")
    append(book / "chapters" / "one.md", "\n![The harbour plan](../images/plan.svg)\n")
    r = build_cli(tmp_path)
    assert r.returncode == 0, r.stderr
    epub = tmp_path / "dist" / f"{SLUG}.epub"
    with zipfile.ZipFile(epub) as z:
        svg = z.read(next(n for n in z.namelist() if n.endswith("plan.svg"))).decode("utf-8")
    assert "Harbour plan" in svg and "<rect" in svg
    for bad in ("DOCTYPE", "ENTITY", "script", "onload", "onclick", "https://", "other.svg", "foreignObject",
                "@import"):
        assert bad not in svg, bad
    report = epubcheck(epub)
    assert report["errors"] == [] and report["warnings"] == []
    text = " ".join(pdftotext_pages(tmp_path / "dist" / f"{SLUG}.pdf"))
    assert "Harbour plan" in text
    hostname = open("/etc/hostname").read().strip()
    assert hostname not in text and hostname not in svg


@pytest.mark.parametrize("content, problem", [
    (b"", "is an empty file"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>", "is not well-formed SVG"),
    (b"<html><body>not a picture</body></html>", "is not an SVG image (its root element is not <svg>)"),
])
def test_a_broken_svg_is_an_error_naming_its_place(tmp_path, content, problem):
    book = copy_book(tmp_path)
    (book / "images" / "plan.svg").write_bytes(content)
    append(book / "chapters" / "one.md", "\n![The harbour plan](../images/plan.svg)\n")
    r = build_cli(tmp_path)
    assert r.returncode == 1
    line = next(l for l in r.stderr.splitlines() if "plan.svg" in l)
    assert line.startswith("book/chapters/one.md:") and f"image '../images/plan.svg' {problem}" in line
    assert line.endswith("(hint: export the figure again as plain SVG)")

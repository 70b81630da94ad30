"""Issue 13, code as a technical book needs it (bookgen/listings.py), read back from the PDF with poppler:
a short listing never splits across pages, a long one splits only between its lines, a line too long for the
text block goes on after a continuation mark and never past the margin, and the EPUB keeps the code as written."""
from __future__ import annotations

import re
import subprocess

import pytest

from conftest import NS, Epub, build_into

FILLER = ("The river keeps its own calendar, and the ferry keeps the river's: it crosses when the water allows, "
          "and the village has long since stopped asking for a timetable that the river would not keep. ")
SHORT = [f"total_{n} = sum(range({n}))  # line {n} of a short listing" for n in range(1, 13)]  # 12 lines
LONG = [f"step_{n:02d} = transform(step_{n - 1:02d}, factor={n})" for n in range(1, 61)]  # 60 lines
WIDE = ("result = compute_the_weighted_average_of_every_reading(readings, weights=calibrated_weights, "
        "discard_outliers=True, window=24)  # WIDE-END")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Fifteen chapters: chapter k has k paragraphs, then the 12-line listing, so that in some chapter the listing
    starts near the foot of a page; the last chapter has the 60-line listing and the 140-character line."""
    book = tmp_path_factory.mktemp("listings")
    (book / "chapters").mkdir()
    names = []
    for k in range(1, 16):
        text = f"# Section {k}\n\n" + "\n\n".join(FILLER * 2 for _ in range(k)) + "\n\n```python\n" + \
            "\n".join(SHORT) + "\n```\n"
        if k == 15:
            text += "\nA long listing:\n\n```python\n" + "\n".join(LONG) + "\n```\n\nA wide line:\n\n```python\n" + \
                WIDE + "\n```\n"
        (book / "chapters" / f"s{k:02d}.md").write_text(text, encoding="utf-8")
        names.append(f"chapters/s{k:02d}.md")
    (book / "book.toml").write_text('title = "Listings"\nlanguage = "en"\nauthors = ["A. Tester"]\nchapter-open = "any"\n'
                                    f"chapters = {names!r}\n".replace("'", '"'), encoding="utf-8")
    return build_into(book, tmp_path_factory.mktemp("out"), jobs=0)


def pages(result) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(result.outputs["pdf"]), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")


def page_of(all_pages, needle) -> list[int]:
    return [i for i, p in enumerate(all_pages) if needle in p]


def test_a_short_listing_stays_on_one_page(built):
    all_pages = pages(built)
    first, last = SHORT[0].split("  #")[0], SHORT[-1].split("  #")[0]
    firsts = [i for i, p in enumerate(all_pages) for _ in range(p.count(first))]
    lasts = [i for i, p in enumerate(all_pages) for _ in range(p.count(last))]
    assert len(firsts) == 15 and firsts == lasts


def test_a_long_listing_breaks_between_its_lines(built):
    all_pages = pages(built)
    where = [page_of(all_pages, line) for line in LONG]
    assert all(len(w) == 1 for w in where)
    assert where[0] != where[-1]  # it does go over a page
    assert [w[0] for w in where] == sorted(w[0] for w in where)


def test_a_wide_line_goes_on_after_a_mark_and_never_past_the_margin(built):
    all_pages = pages(built)
    start = page_of(all_pages, "result = compute_the_weighted")
    lines = all_pages[start[0]].splitlines()
    k = next(i for i, line in enumerate(lines) if "result = compute_the_weighted" in line)
    pieces = [lines[k]]
    while lines[k + len(pieces)].strip().startswith("\u2192"):  # each further piece after the mark
        pieces.append(lines[k + len(pieces)].strip()[1:])
    assert len(pieces) >= 2
    assert "".join("".join(pieces).split()) == "".join(WIDE.split())  # all of it, on one page
    pdf = str(built.outputs["pdf"])
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", str(start[0] + 1), "-l", str(start[0] + 1), pdf, "-"],
                          capture_output=True, text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    right = max(float(m.group(1)) for m in re.finditer(r'xMax="([\d.]+)"', bbox))
    assert right <= width - 15 * 72 / 25.4 + 0.5  # A5's outer margin is 15 mm


def test_the_epub_keeps_the_code_as_written(built):
    epub = Epub(built.outputs["epub"])
    last = epub.xml(epub.spine_hrefs[-1])
    blocks = ["".join(pre.itertext()) for pre in last.iterfind(".//x:pre", NS)]
    assert blocks[1].splitlines() == LONG and blocks[2].strip() == WIDE
    assert "\u2192" not in epub.all_text()
    named = {pre.get("aria-label") for pre in last.iterfind(".//x:pre", NS)}
    assert named == {"Python"}

"""Issue 16: no paragraph ends with one short word alone on its last line, read back from the PDF: the lines of
each text block (poppler's pdftotext -bbox-layout), in a novel of short paragraphs where it happened 13 times."""
from __future__ import annotations

import subprocess

from lxml import etree

from conftest import FIXTURES, build_into

NOVEL = FIXTURES / "corpus" / "novel"


def runts(pdf) -> list:
    """(page, the end of the line before, the lone word) for each block whose last line is one word of at most
    14 letters after a full line."""
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    root = etree.fromstring(xml, etree.HTMLParser())
    found = []
    for number, page in enumerate(root.iter("page"), 1):
        for block in page.iter("block"):
            lines = block.findall(".//line")
            if len(lines) < 2:
                continue
            last = [w.text for w in lines[-1].findall("word")]
            before = [w.text for w in lines[-2].findall("word")]
            if len(last) == 1 and len(before) >= 5 and len(last[0].strip(".,;:!?»”’")) <= 14:
                found.append((number, " ".join(before[-3:]), last[0]))
    return found


def test_no_paragraph_ends_with_a_short_word_alone(tmp_path):
    result = build_into(NOVEL, tmp_path, formats=("pdf",))
    assert runts(result.outputs["pdf"]) == []


def test_the_last_two_words_are_joined_in_the_markup_of_both_editions():
    from bookgen.markdown import make_parser
    md = make_parser("en")
    html = md.render("One two three four five six seven\neight.\n\nShort one.\n")
    assert "seven\u00a0eight.</p>" in html  # a hard-wrapped source's last line
    assert "<p>Short one.</p>" in html  # too short a paragraph to need it
    html = md.render("The last words of a paragraph long enough to be set on several lines, ending here.\n")
    assert "ending\u00a0here.</p>" in html

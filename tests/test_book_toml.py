"""book.toml's schema and the README agree: every key the build reads is documented, and every documented key
is read (an unknown key is a warning with a suggestion, so a key documented but not read would warn)."""
import re
from pathlib import Path

from bookgen.book_toml import SCHEMA, parse_page_size

README = Path(__file__).resolve().parent.parent / "README.md"


def _documented_keys() -> set:
    text = README.read_text(encoding="utf-8")
    block = text.split("### book.toml", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    keys = set(re.findall(r"^([a-z-]+)\s*=", block, re.M)) | set(re.findall(r"^\[([a-z-]+)\]", block, re.M))
    return keys - {"contents", "arabic"}  # the examples inside [strings] and [fonts]


def test_every_key_is_documented_and_every_documented_key_is_read():
    schema = {k.name for k in SCHEMA} - {"author"}  # `author` is documented in the comment of `authors`
    assert _documented_keys() == schema
    assert "author =" in README.read_text(encoding="utf-8")


def test_each_key_says_its_type_default_and_meaning():
    for key in SCHEMA:
        assert key.type and key.doc, key.name


def test_page_sizes_in_any_unit():
    # literals: A5 is 148 x 210 mm; "6in 9in" is Trade's size written as lengths
    assert (parse_page_size("a5").width, parse_page_size("a5").height) == ("148mm", "210mm")
    assert (parse_page_size("6in 9in").width, parse_page_size("6in 9in").height) == ("6in", "9in")
    assert parse_page_size("140mm 216mm").margins[0] == "14.0mm"  # a tenth of the short side
    assert parse_page_size("50mm 80mm") is None  # too small to hold a line
    assert parse_page_size("B7") is None and parse_page_size("140mm") is None

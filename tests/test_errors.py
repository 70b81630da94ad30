"""Issue 5, clear errors: every problem in a book is reported at once as `path:line: what (hint: how)`, the exit
status is 1, no traceback reaches the author, and the previous good PDF and EPUB are left as they were.

Each test copies the small good book (tests/fixtures/errors/good), breaks it, and runs build.py from the temporary
folder, so the messages show paths as an author sees them (book/chapters/one.md)."""
from __future__ import annotations

import pytest

from goodbook import GOOD, append, build_cli, copy_book, edit, old_outputs, state

HINT_PAGE = "use A5, A4, Letter, Trade (6x9in) or a size like '140mm 216mm'"


def one(book):
    return book / "chapters" / "one.md"


def two(book):
    return book / "chapters" / "two.md"


def toml(book):
    return book / "book.toml"


# name -> (how to break the book, the exact lines the build prints to stderr before its summary)
CASES = {
    "book.toml missing": (
        lambda b: toml(b).unlink(),
        ["book/book.toml: book.toml not found (hint: every book folder needs a book.toml; "
         "`python build.py new DIR` makes one)"]),
    "toml syntax: line and column": (
        lambda b: edit(toml(b), 'language = "en"', "language = en"),
        ['book/book.toml:4: not valid TOML: invalid value (column 12) '
         '(hint: check the quotes, commas and brackets there: strings are "quoted")']),
    "toml syntax at the end of the file": (
        lambda b: append(toml(b), 'subjects = ["a",\n'),
        ['book/book.toml:7: not valid TOML: invalid value at the end of the file (column 17) '
         '(hint: check the quotes, commas and brackets there: strings are "quoted")']),
    "toml not utf-8": (
        lambda b: toml(b).write_bytes(toml(b).read_bytes().replace(b"Ada", b"Ad\xe9")),
        ["book/book.toml: not UTF-8 text (invalid continuation byte at byte 142) (hint: save book.toml as UTF-8)"]),
    "title and language missing, both reported": (
        lambda b: (edit(toml(b), 'title = "A Small Good Book"\n', ""), edit(toml(b), 'language = "en"\n', "")),
        ["book/book.toml: required key 'title' is missing (hint: add title = \"...\")",
         "book/book.toml: required key 'language' is missing (hint: add language = \"...\")"]),
    "unknown key with a suggestion": (
        lambda b: edit(toml(b), "page-size", "page-sise"),
        ["book/book.toml:5: unknown key 'page-sise' (hint: did you mean 'page-size'?)"]),
    "language not BCP 47": (
        lambda b: edit(toml(b), '"en"', '"en_US"'),
        ["book/book.toml:4: 'en_US' is not a valid BCP 47 language tag "
         "(hint: use a tag like en, en-US, fr or pt-BR (a hyphen, not an underscore))"]),
    "language that does not exist": (
        lambda b: edit(toml(b), '"en"', '"xx-notalang"'),
        ["book/book.toml:4: 'xx-notalang' is not a valid BCP 47 language tag "
         "(hint: use a tag like en, en-US, fr or pt-BR)"]),
    "empty subject": (
        lambda b: append(toml(b), 'subjects = ["History", " "]\n'),
        ["book/book.toml:7: 'subjects' holds an empty subject (hint: remove the \"\" from the list)"]),
    "cover not found": (
        lambda b: append(toml(b), 'cover = "images/cover.jpg"\n'),
        ["book/book.toml:7: cover 'images/cover.jpg' not found (hint: check the path, relative to the book folder)"]),
    "unknown key in an author": (
        lambda b: edit(toml(b), '["Ada Example"]', '[{ name = "Ada Example", fileas = "Example, Ada" }]'),
        ["book/book.toml:3: unknown key 'fileas' in an author (hint: did you mean 'file-as'?)"]),
    "page size": (
        lambda b: edit(toml(b), '"A5"', '"B7"'),
        [f"book/book.toml:5: page size 'B7' is not a preset or a size (hint: {HINT_PAGE})"]),
    "page size too small": (
        lambda b: edit(toml(b), '"A5"', '"20mm 30mm"'),
        [f"book/book.toml:5: page size '20mm 30mm' is not a preset or a size (hint: {HINT_PAGE})"]),
    "chapter listed but missing": (
        lambda b: two(b).rename(b / "chapters" / "second.md"),
        ["book/book.toml:6: chapter 'chapters/two.md' is listed but not found "
         "(hint: create chapters/two.md or remove it from chapters)",
         "book/chapters/one.md:5: link 'two.md' goes to a file that is not a chapter of the book "
         "(hint: check the file name (was the chapter renamed?))",
         "book/chapters/one.md:6: link 'two.md#a-section' goes to a file that is not a chapter of the book "
         "(hint: check the file name (was the chapter renamed?))",
         "book/chapters/second.md: warning: Markdown file is not listed in book.toml's chapters, so it is not in "
         "the book (hint: add it to chapters, or move it out of the folder)"]),
    "yaml front matter": (
        lambda b: edit(two(b), "title: The Second Chapter", "title: The Second Chapter\nsubtitle: [unclosed"),
        ["book/chapters/two.md:3: front matter is not valid YAML: while parsing a flow sequence: expected ',' or "
         "']', but got '<stream end>' (column 11) (hint: write one `key: value` per line; quote a value that holds "
         "a colon or brackets)"]),
    "yaml front matter, a colon in a value": (
        lambda b: edit(two(b), "title: The Second Chapter", "title: Part 2: The Second Chapter"),
        ["book/chapters/two.md:2: front matter is not valid YAML: mapping values are not allowed here (column 14) "
         "(hint: write one `key: value` per line; quote a value that holds a colon or brackets)"]),
    "toml front matter with line and column": (
        lambda b: two(b).write_text('+++\ntitle = "Two"\nsubtitle = \n+++\n\nText.\n', encoding="utf-8"),
        ["book/chapters/two.md:3: front matter is not valid TOML: invalid value (column 12) "
         "(hint: write one `key = \"value\"` per line)",
         # the link into the broken chapter is not reported as well: one problem, one message
         ]),
    "front matter not closed": (
        lambda b: two(b).write_text("---\ntitle: Two\n\nText.\n", encoding="utf-8"),
        ["book/chapters/two.md:1: front matter is not closed "
         "(hint: end the front matter with a line holding only ---)"]),
    "empty chapter": (
        lambda b: edit(toml(b), '"chapters/two.md"', '"chapters/two.md", "chapters/three.md"')
        or (b / "chapters" / "three.md").write_text("---\ntitle: Three\n---\n\n", encoding="utf-8"),
        ["book/chapters/three.md:4: chapter is empty (hint: write some text, or remove it from chapters)"]),
    "footnotes: undefined, unused, called twice": (
        lambda b: append(one(b), "\nA call to [^nope] here.\n\n[^unused]: Never called.\n\nAgain.[^first]\n"),
        ["book/chapters/one.md:16: footnote [^nope] is referenced but not defined "
         "(hint: add a line `[^nope]: the note's text`)",
         "book/chapters/one.md:18: footnote [^unused] is defined but never referenced "
         "(hint: call it in the text with [^unused], or delete the definition)",
         "book/chapters/one.md:20: footnote [^first] is referenced more than once "
         "(hint: a note is called once; write a second note for the second place)"]),
    "heading or title with nothing to print": (
        lambda b: (append(two(b), "\n## <br>\n\nText.\n"),
                   edit(one(b), "title: The First Chapter", "title: \"\\u00ad\"")),
        ["book/chapters/one.md:2: the chapter's title has no text that can be printed "
         "(hint: give the chapter a title in words)",
         "book/chapters/two.md:11: heading has no text (hint: write the heading's words after the #, or remove the "
         "line)"]),
    "control characters": (
        lambda b: (edit(toml(b), 'title = "A Small Good Book"', 'title = "A Small\\u001bGood Book"'),
                   append(two(b), "\nAn escape \x1b[31m from a terminal.\n")),
        ["book/book.toml:2: 'title' contains the control character U+001B, which a book cannot hold "
         "(hint: remove it (it is invisible; it may come from a copy and paste))",
         "book/chapters/two.md:11: control character U+001B at column 11, which a book cannot hold "
         "(hint: remove it (it is invisible; it may come from a copy and paste))"]),
    "control character in front matter": (
        lambda b: two(b).write_text('+++\ntitle = "Two\\u0008"\n+++\n\nText.\n', encoding="utf-8"),
        ["book/chapters/two.md:2: front matter 'title' contains the control character U+0008, which a book cannot "
         "hold (hint: remove it (it may be written as an escape))"]),
    "duplicate id in raw HTML": (
        lambda b: append(two(b), '\n<p id="one">A paragraph that takes the first chapter\'s id.</p>\n'),
        ["book/chapters/two.md:11: id 'one' is used twice in the book; it is already used in chapters/one.md "
         "(hint: give the element its own id)"]),
    "links that resolve nowhere": (
        lambda b: append(one(b), "\nSee [a](#detail), [b](two.md#nowhere),\n[c](three.md) and [d](two.md#one).\n"),
        ["book/chapters/one.md:16: link '#detail' points to '#detail', which is not a heading of that chapter "
         "(hint: did you mean 'details'?)",
         "book/chapters/one.md:16: link 'two.md#nowhere' points to '#nowhere', which is not a heading of that "
         "chapter (hint: link to a heading's id (its title in lower case, words joined by hyphens))",
         "book/chapters/one.md:17: link 'three.md' goes to a file that is not a chapter of the book "
         "(hint: check the file name (was the chapter renamed?))",
         "book/chapters/one.md:17: link 'two.md#one' points to '#one', which is not a heading of that chapter "
         "(hint: link to a heading's id (its title in lower case, words joined by hyphens))"]),
    "link to a Markdown file that is not listed": (
        lambda b: ((b / "chapters" / "draft.md").write_text("# Draft\n\nText.\n", encoding="utf-8"),
                   append(one(b), "\nSee [the draft](draft.md).\n")),
        ["book/chapters/one.md:16: link 'draft.md' goes to a file that is not a chapter of the book "
         "(hint: add draft.md to chapters in book.toml)",
         "book/chapters/draft.md: warning: Markdown file is not listed in book.toml's chapters, so it is not in "
         "the book (hint: add it to chapters, or move it out of the folder)"]),
    "images: missing, unsupported, no alt": (
        lambda b: append(one(b), "\n![A map](../images/map.png)\n\n![The metadata](../book.toml)\n\n"
                                 "![](../images/square.png)\n"),
        ["book/chapters/one.md:16: image '../images/map.png' not found "
         "(hint: check the path, relative to this chapter's file)",
         "book/chapters/one.md:18: image '../book.toml' is not a supported type (hint: use PNG, JPEG, GIF, SVG or WebP)",
         "book/chapters/one.md:20: image '../images/square.png' has no alt text "
         "(hint: describe the image in the brackets: ![what it shows](...))"]),
    "image that is not what its name says": (
        lambda b: ((b / "images" / "fake.png").write_text("not a picture", encoding="utf-8"),
                   append(one(b), "\n![A fake](../images/fake.png)\n")),
        ["book/chapters/one.md:16: image '../images/fake.png' is not a readable PNG file "
         "(hint: re-export the image)"]),
    "template syntax error": (
        lambda b: ((b / "templates" / "partials").mkdir(parents=True),
                   (b / "templates" / "partials" / "titlepage.html.j2").write_text(
                       "<div>\n{% if meta.title %}\n<p>{{ meta.title }</p>\n</div>\n", encoding="utf-8")),
        ["book/templates/partials/titlepage.html.j2:3: template error: unexpected '}' "
         "(hint: fix the template's syntax)"]),
    "template naming something undefined": (
        lambda b: ((b / "templates" / "partials").mkdir(parents=True),
                   (b / "templates" / "partials" / "titlepage.html.j2").write_text(
                       "<div>\n<p>{{ meta.nosuch }}</p>\n</div>\n", encoding="utf-8")),
        ["book/templates/partials/titlepage.html.j2:2: template error: no field 'nosuch' here (the fields are: "
         "author_names, authors, chapter_open, cover, cover_alt, date, date_in_words, description, direction, "
         "edition, fonts, identifier, isbn, isbn_printed, language, modified, page_size, paper, publisher, rights, "
         "strings, subjects, subtitle, title) (hint: check the names the template uses)"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_error_is_reported_exactly_and_nothing_is_written(tmp_path, name):
    breaks, expected = CASES[name]
    book = copy_book(tmp_path)
    breaks(book)
    before = old_outputs(tmp_path / "dist")
    r = build_cli(tmp_path)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert lines[:-1] == expected
    errors = len([e for e in expected if ": warning: " not in e])
    assert lines[-1] == f"build failed: {errors} error{'s' if errors != 1 else ''}; nothing was written"
    assert "Traceback" not in r.stderr + r.stdout
    assert state(tmp_path / "dist") == before  # the old PDF and EPUB untouched, no partial file


def test_many_problems_in_many_files_are_reported_together(tmp_path):
    """Through build.py itself: the exit status and stderr an author sees."""
    book = copy_book(tmp_path)
    edit(toml(book), "page-size", "page-sise")
    append(one(book), "\n![](../images/square.png)\n")
    append(two(book), "\nA note.[^missing]\n")
    r = build_cli(tmp_path, subprocess=True)
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert r.returncode == 1
    files = [line.split(":")[0] for line in r.stderr.splitlines()[:-1]]
    assert files == ["book/book.toml", "book/chapters/one.md", "book/chapters/two.md"]
    assert r.stderr.splitlines()[-1] == "build failed: 3 errors; nothing was written"


def test_warning_builds_and_strict_makes_it_an_error(tmp_path):
    book = copy_book(tmp_path)
    (book / "chapters" / "notes.md").write_text("Some notes to self.\n", encoding="utf-8")
    warning = ("book/chapters/notes.md: warning: Markdown file is not listed in book.toml's chapters, so it is not "
               "in the book (hint: add it to chapters, or move it out of the folder)")
    r = build_cli(tmp_path, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [warning]
    assert (tmp_path / "dist" / "a-small-good-book.pdf").is_file()
    before = state(tmp_path / "dist")
    r = build_cli(tmp_path, "--strict")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [warning.replace("warning: ", ""), "build failed: 1 error; nothing was written"]
    assert state(tmp_path / "dist") == before


@pytest.mark.parametrize("jobs", [(), ("--jobs", "2")])
def test_stylesheet_warnings_name_the_stylesheet_and_line(tmp_path, jobs):
    """Checked in the build's own process, or (`--jobs 2`: the layout processes' server is started) in a process
    forked from that server, so that the build's own never loads WeasyPrint: the same messages."""
    book = copy_book(tmp_path)
    (book / "styles").mkdir()
    (book / "styles" / "book.css").write_text("p { color: #333; }\nh1 { colr: blue; }\n\nh2 { margin: banana; }\n",
                                              encoding="utf-8")
    hint = "(hint: use CSS that WeasyPrint supports, or remove the rule)"
    expected = [f"book/styles/book.css:2: warning: WeasyPrint ignored `colr: blue` (column 6), unknown property {hint}",
                f"book/styles/book.css:4: warning: WeasyPrint ignored `margin: banana` (column 6), invalid value {hint}"]
    r = build_cli(tmp_path, "--quiet", *jobs)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == expected
    before = state(tmp_path / "dist")
    r = build_cli(tmp_path, "--strict", *jobs)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [e.replace("warning: ", "") for e in expected] + [
        "build failed: 2 errors; nothing was written"]
    assert state(tmp_path / "dist") == before
    # a rebuild after an edit of the text says the same, from what the last check found (dist/.bookgen-css.json,
    # so that this process need not load WeasyPrint); an edit of the stylesheet is checked again
    chapter = next((book / "chapters").glob("*.md"))
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    r = build_cli(tmp_path, "--quiet", *jobs)
    assert r.returncode == 0 and r.stderr.splitlines() == expected
    assert "colr: blue" in (tmp_path / "dist" / ".bookgen-css.json").read_text(encoding="utf-8")
    (book / "styles" / "book.css").write_text("p { color: #333; }\nh1 { color: blue; }\n\nh2 { margin: banana; }\n",
                                              encoding="utf-8")
    r = build_cli(tmp_path, "--quiet", *jobs)
    assert r.returncode == 0 and r.stderr.splitlines() == expected[1:]


def test_bad_page_size_option(tmp_path):
    copy_book(tmp_path)
    r = build_cli(tmp_path, "--page-size", "huge")
    assert r.returncode == 2  # a bad option value, like every other (issue 14)
    assert r.stderr.splitlines() == ["error: --page-size huge: give A5, A4, Letter, Trade or a size like '140mm "
                                     "216mm' (the shorter side 60mm at least)"]


def test_missing_book_folder(tmp_path):
    r = build_cli(tmp_path, book="nowhere")
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == ("nowhere: book folder not found "
                                        "(hint: pass --book DIR with a folder holding book.toml)")


def test_debug_shows_the_traceback(tmp_path):
    book = copy_book(tmp_path)
    toml(book).unlink()
    r = build_cli(tmp_path, "--debug", subprocess=True)
    assert r.returncode == 1
    assert "Traceback (most recent call last)" in r.stderr and "BookError" in r.stderr


def test_no_traceback_for_unexpected_input(tmp_path):
    """A chapter that is a folder, a book.toml that is a folder: messages, never a traceback."""
    book = copy_book(tmp_path)
    two(book).unlink()
    two(book).mkdir()
    r = build_cli(tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "book/book.toml:6: chapter 'chapters/two.md' is listed but not found" in r.stderr
    toml(book).unlink()
    toml(book).mkdir()
    r = build_cli(tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0].startswith("book/book.toml: book.toml not found")


def test_good_book_is_good(tmp_path):
    """The fixture the error tests break builds without a warning (so each problem above is the one added)."""
    r = build_cli(tmp_path, "--strict", book=str(GOOD))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


def test_output_folder_that_is_a_file(tmp_path):
    copy_book(tmp_path)
    (tmp_path / "dist").write_text("not a folder")
    r = build_cli(tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == ["dist: is a file, not a folder (hint: pass --out DIR with a folder to write to)",
                                     "build failed: 1 error; nothing was written"]
    assert (tmp_path / "dist").read_text() == "not a folder"


def test_a_number_is_a_chapter_title(tmp_path):
    """`title: 1984` in YAML is a number; it is still the chapter's title."""
    from bookgen.load_book import load_book
    book = copy_book(tmp_path)
    edit(two(book), "title: The Second Chapter", "title: 1984")
    assert [c.title for c in load_book(book).chapters] == ["The First Chapter", "1984"]


def test_a_character_no_font_has_is_traced_to_its_chapter(tmp_path):
    """WeasyPrint says this only while drawing the PDF, and without a place: the build finds the chapter."""
    book = copy_book(tmp_path)
    append(two(book), "\nA rare character: \U0002E9A1 here.\n")
    message = ("book/chapters/two.md:11: {}no font has 1 CJK character (\U0002E9A1): the PDF prints boxes (hint: no "
               "installed font has them, not even fonts-noto-cjk's: add a font that has them to the book (@font-face "
               "in its stylesheet))")
    r = build_cli(tmp_path, "--quiet")
    assert r.returncode == 0
    assert r.stderr.splitlines() == [message.format("warning: ")]
    before = state(tmp_path / "dist")
    r = build_cli(tmp_path, "--strict")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [message.format(""), "build failed: 1 error; nothing was written"]
    assert state(tmp_path / "dist") == before

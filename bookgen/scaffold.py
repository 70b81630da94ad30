"""`python build.py new DIR`: a new book folder with a book.toml, two chapters and a note, that builds as it is."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BOOK_TOML = """\
# The book's metadata and reading order. Every key is described in the README ("The book format").
title = {title}
# subtitle = "An optional subtitle"
authors = [{author}]
language = {language}          # a BCP 47 tag: en, en-GB, fr, de, pt-BR...
# identifier = "urn:isbn:..."   # default: a stable id made from the title and the authors
# publisher = "..."
# date = 2026-01-31
# edition = "First edition"
# rights = "© 2026 ..."
# description = "One or two sentences about the book."
# subjects = ["..."]
page-size = "A5"               # A5, A4, Letter, Trade (6x9 in) or a size like "140mm 216mm"
# cover = "images/cover.jpg"    # default: a cover made from the title
chapters = [
  "chapters/introduction.md",
  "chapters/first-steps.md",
]
"""

INTRODUCTION = """\
---
title: Introduction
type: introduction
---

This is the first chapter of your book. Write in Markdown: *emphasis*, **strong**, "quotes" that become
curly, and -- dashes. A note is called like this.[^first-note]

The next chapter is [First Steps](first-steps.md); a link can also go to one of its sections, like
[Notes and links](first-steps.md#notes-and-links).

[^first-note]: A footnote. In the PDF it is printed at the foot of the page; in the EPUB it pops up.
"""

FIRST_STEPS = """\
---
title: First Steps
---

Each chapter is one Markdown file, listed in `book.toml` in reading order. The title is in the front matter
between the two `---` lines.

## Notes and links

Sections start at `##`. Add a chapter by creating a file in `chapters/` and adding it to `chapters` in
`book.toml`, then build again:

```
{command} --book {book}
```
"""


def _command() -> str:
    from .errors import command
    return command()


def create(folder: Path, title: str, author: str, language: str) -> list[Path]:
    """Write the new book; refuses a folder that exists and is not empty."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{folder} already exists and is not empty")
    (folder / "chapters").mkdir(parents=True, exist_ok=True)
    files = {
        # json.dumps writes a valid TOML basic string (quotes and backslashes escaped)
        "book.toml": BOOK_TOML.format(title=json.dumps(title, ensure_ascii=False),
                                      author=json.dumps(author, ensure_ascii=False),
                                      language=json.dumps(language)),
        "chapters/introduction.md": INTRODUCTION,
        "chapters/first-steps.md": FIRST_STEPS.format(book=folder, command=_command()),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv) -> int:
    from .errors import command
    p = argparse.ArgumentParser(prog=f"{command()} new", description="Create a new book folder that builds as it is.")
    p.add_argument("dir", type=Path, metavar="DIR", help="the folder to create (must not exist, or be empty)")
    p.add_argument("--title", help="the book's title (default: from the folder's name)")
    p.add_argument("--author", default="Your Name", help="the author's name")
    p.add_argument("--language", default="en", help="a BCP 47 language tag (default: en)")
    args = p.parse_args(argv)
    from .book_toml import valid_language

    if not valid_language(args.language):
        print(f"error: --language {args.language}: not a valid BCP 47 language tag (hint: use a tag like en, "
              "en-US, fr or pt-BR)", file=sys.stderr)
        return 2
    title = args.title or args.dir.resolve().name.replace("-", " ").replace("_", " ").strip().title() or "My Book"
    try:
        written = create(args.dir, title, args.author, args.language)
    except (FileExistsError, OSError) as e:
        print(f"error: {e} (hint: choose a new folder name)", file=sys.stderr)
        return 1
    print(f"created {args.dir}: " + ", ".join(str(p.relative_to(args.dir)) for p in written))
    print(f"build it with: {command()} --book {args.dir}")
    return 0

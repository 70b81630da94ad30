"""What a book kept in another tool's shape (an mdBook project, a Pandoc book) tells the reader besides its
settings. This project's own format has the defaults: every chapter a file, listed in book.toml, read as written."""
from __future__ import annotations


class BookShape:
    files_book = False  # no book.toml (a Pandoc book): files beside are not the book's; a section out of place
    #                     is set as a chapter
    lenient_links = False  # a link to a page that is not a chapter (the tool's site has it): its text, and a warning
    listing = None  # where the chapters are listed, when it is not book.toml ("SUMMARY.md")

    def __init__(self):
        self.virtual: dict = {}  # entry -> the text of a chapter with no file of its own
        self.paths: dict = {}  # entry -> the file such a chapter is cut from
        self.front: dict = {}  # entry -> the front matter the tool gives it (id, type, parent, summary-title)

    def __call__(self, path, text: str, problems) -> str:
        """A chapter's text as the tool would render it (its includes resolved...)."""
        return text

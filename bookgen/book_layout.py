"""The print edition's layout as the build asks for it: notes too long for a page set as endnotes
(bookgen/long_notes.py), and parts a level above their chapters in the outline of a PDF laid out in groups."""
from __future__ import annotations

from .long_notes import lay_out_keeping_notes
from .parts import nest_outline


def lay_out_book(lay_out, book, *args, **kwargs):
    rendered = lay_out_keeping_notes(lay_out, book, *args, **kwargs)
    if rendered.split and rendered.raw_pdf:  # each group's outline begins at the top level
        rendered.raw_pdf = nest_outline(rendered.raw_pdf, book.chapters)
    return rendered

"""The print edition's layout as the build asks for it: the one chooser between the two layouts (one document,
write_pdf.render_print; chapter groups, split_layout.render_split), notes too long for a page set as endnotes
(bookgen/long_notes.py)."""
from __future__ import annotations

import os

from .layout_plan import Unsupported
from .long_notes import lay_out_keeping_notes


def lay_out_book(book, *args, **kwargs):
    return lay_out_keeping_notes(lay_out, book, *args, **kwargs)


def lay_out(book, options=None, jobs: int | None = None, cache_dir=None,
            read_cache: bool = True, want_pdf: bool = True):
    """The print edition, laid out in groups of chapters in `jobs` processes (bookgen/split_layout.py; None: one
    per core), or as one document when jobs is 0 or the book's layout cannot be split. `cache_dir` keeps each
    group's layout for the next build (bookgen/group_cache.py)."""
    from .write_pdf import PrintOptions, render_print
    options = options if options is not None else PrintOptions()
    if jobs is None and laid_out_here(book, jobs):  # processes would cost more than they save
        rendered = render_print(book, options)
        rendered.whole_because = "a short book: one document, in this process"
        return rendered
    if jobs != 0:
        try:
            from .split_layout import render_split
            return render_split(book, options, jobs or os.cpu_count() or 1, cache_dir, read_cache, want_pdf)
        except Unsupported as e:
            rendered = render_print(book, options)
            rendered.whole_because = str(e)
            return rendered
    return render_print(book, options)


def laid_out_here(book, jobs: int | None) -> bool:
    """Is the book laid out as one document in the build's own process (and its cover made there too)?"""
    return jobs == 0 or (jobs is None and _small(book))


def looks_short(root, files=()) -> bool:
    """Before the book is read: is its Markdown under the size `_small` counts as short? Then the build starts no
    layout processes ahead of the layout (they would only take the other core from it); if the book turns out
    longer, they start when it is split."""
    from . import split_layout
    limit, total = 2 * split_layout.GROUP_CHARS, 0
    paths = files or (p for p in root.rglob("*") if p.suffix.lower() in (".md", ".markdown")
                      and not any(part.startswith(".") for part in p.relative_to(root).parts))
    try:
        for path in paths:
            total += path.stat().st_size
            if total >= limit:
                return False
    except OSError:
        return False
    return True


def _small(book) -> bool:
    """Fewer than two chapter groups' worth of text (bookgen/split_layout.py's GROUP_CHARS): laying it out in
    one document here is faster than starting the layout processes (the default book: 2.3 s instead of 3.4)."""
    from . import split_layout
    size = sum(len(str(piece)) for c in book.chapters for piece in c.pieces)
    return size < 2 * split_layout.GROUP_CHARS

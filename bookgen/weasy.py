"""The one adapter to WeasyPrint's and pydyf's internals (WeasyPrint 70.x, pinned in pyproject.toml).

Everything else in bookgen uses WeasyPrint's public API (`HTML`, `CSS`, `Document.pages`, `Page.anchors`,
`Document.copy`, `write_pdf`'s `finisher`) and the named functions below; a grep for `_page_box`,
`page_maker`, `string_set` or `pydyf` outside this module finds nothing. When WeasyPrint is upgraded, this is the
module to read, and `self_test()` (run before every split layout) says whether the split layout's hooks still
behave: if not, the book is laid out as one document, with a warning.

What reaches inside, and why:
- page boxes (`page._page_box`, `formatting_structure.boxes`): which blocks, lines and notes a page holds, for
  the page map, the note placement check and the split layout's page sides;
- the page-breaking stage (`layout.make_all_pages`, `layout.make_margin_boxes`, `context.page_maker`,
  `context.string_set`, `context.get_string_set_for`): the split layout stops a group once its pages are
  broken, then sets the folio and running heads it starts from before the margins are drawn; or draws no margin
  box, and records what they need, for a margins document of empty pages of those page types
  (`layout.page.make_page`, `PageType`, `set_page_type_computed_styles`, `LayoutContext.get_string_set_for`);
- fonts (`document.fonts`, `Font.to_unicode`, `Font.tables`): which faces set text, and variable fonts;
- pydyf (the PDF writer): the speedups below, the page labels and the BleedBox.

Single-core speed: costs that grow faster than the book, found with the benchmark (`python -m bench`).

1. pydyf's `PDF.page_references` builds a tuple of every page's reference each time it is read, and WeasyPrint
   reads it once per tagged element and link (weasyprint/pdf/tags.py, anchors.py): writing a tagged PDF costs
   pages x elements (2.3 s of 5 s for a 330-page book). `fast_page_references()` caches the tuple while the
   PDF is written; the bytes written are the same.
2. Compression: pydyf compresses every stream (page contents, fonts, images) at level 9, one after the other,
   while the file is written (1.5 s for 330 pages). `compress_in_threads()` compresses them beforehand in a few
   threads (zlib works outside Python's lock, so this uses the other cores); the bytes written are the same.
3. Python's cyclic garbage collector scans the growing tree of boxes again and again during the layout (821
   collections for a 330-page book); nearly nothing in it is garbage. `fewer_collections()` raises the threshold
   of the youngest generation for the build: about 6x fewer collections, 8-13% less CPU time for the layout, the
   same peak memory (measured: 169 and 170 MB).
4. Page labels added by re-reading and re-writing the whole PDF with pypdf (2.2 s for 330 pages, and the file
   grew from 1.4 to 3.3 MB): `page_labels_finisher()` puts the same /PageLabels in WeasyPrint's own PDF
   before it is written.
5. Import: WeasyPrint opens each of its seven libraries by trying other platforms' names first, and for each name
   that does not load, cffi asks `ctypes.util.find_library`, which on Linux runs `ldconfig -p` and then gcc (16
   compilers started, 0.16 s of a 0.35 s import, in every process). `quick_import()` answers "not found" at once
   while weasyprint/text/ffi.py runs, so the Linux names (`libpango-1.0.so.0`...) are the ones opened, as they
   are anyway; if that import fails, it runs again with the real lookup.

Typography, and speed with it:

6. Notes kept on their call's page. When a paragraph's next line does not fit and breaking before it would leave
   fewer lines than `orphans` on the page, WeasyPrint 70 moves the page's last footnotes to the next page to
   make room (`report = ...` in weasyprint/layout/block.py `_linebox_layout`), whichever paragraph called them:
   8 of the 186 notes of the 100k-word benchmark book printed a page after their call, and the build sent a
   block on and laid the group out again for each such page. `keep_notes_with_calls()` compiles that function
   again with `report = False`: the paragraph goes to the next page whole (with a heading before it, which
   avoids a break after itself), as on a page without notes, and every note of that book prints on its call's
   page in one layout. A note still on a later page is sent on as before (write_pdf.blocks_to_push).
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

_FFI = "weasyprint.text.ffi"


def quick_import() -> None:
    """Have weasyprint/text/ffi.py (the module that opens WeasyPrint's libraries) import with library names looked
    up nowhere (speedup 5 above); done once per process, by bookgen's own import."""
    if sys.platform.startswith("linux") and _FFI not in sys.modules and \
            not any(isinstance(f, _QuickLibraries) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuickLibraries())


class _QuickLibraries:
    """An import finder for weasyprint.text.ffi alone, which then takes itself out of the import system."""

    def find_spec(self, name, path, target=None):
        if name != _FFI:
            return None
        import importlib.machinery
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _NoLookupLoader(spec.loader)
        return spec


class _NoLookupLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        import ctypes.util
        real = ctypes.util.find_library
        ctypes.util.find_library = lambda name: None
        try:
            self.loader.exec_module(module)
            return
        except OSError:
            pass  # a library only found by looking it up (not under its usual Linux name): the usual way, then
        finally:
            ctypes.util.find_library = real
        self.loader.exec_module(module)

    def __getattr__(self, name):  # get_code, get_source... for tracebacks and tools
        return getattr(self.loader, name)


_REPORT = "report = not context.in_column and can_break_now and not could_break_before"


def keep_notes_with_calls() -> bool:
    """Fix 6 above, once per process, before a layout: True when WeasyPrint's line layout no longer moves a page's
    notes on to keep a paragraph's orphans; False when this WeasyPrint's source differs from what it expects (the
    notes then go on being kept by sending blocks on and laying out again)."""
    import inspect

    from weasyprint.layout import block

    if getattr(block, "_bookgen_notes_kept", None) is not None:
        return block._bookgen_notes_kept
    try:
        source = inspect.getsource(block._linebox_layout)
    except (OSError, TypeError):
        source = ""
    kept = source.count(_REPORT) == 1
    if kept:
        at_its_line = "\n" * (block._linebox_layout.__code__.co_firstlineno - 1)  # tracebacks show the right line
        exec(compile(at_its_line + source.replace(_REPORT, "report = False"), block.__file__, "exec"), block.__dict__)
    block._bookgen_notes_kept = kept
    return kept


@contextmanager
def fewer_collections(threshold: int = 100_000):
    import gc
    before = gc.get_threshold()
    gc.set_threshold(max(threshold, before[0]), max(50, before[1]), max(1000, before[2]))
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def fast_page_references():
    import pydyf

    original = pydyf.PDF.__dict__.get("page_references")
    if not isinstance(original, property):  # a pydyf that no longer has it: nothing to do
        yield
        return

    def cached(self):
        kids = self.pages["Kids"]
        key = (id(kids), len(kids))
        memo = self.__dict__.get("_bookgen_page_refs")
        if memo is None or memo[0] != key:
            memo = (key, original.fget(self))
            self.__dict__["_bookgen_page_refs"] = memo
        return memo[1]

    pydyf.PDF.page_references = property(cached)
    try:
        yield
    finally:
        pydyf.PDF.page_references = original


@contextmanager
def compress_in_threads(threads: int | None = None):
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pydyf

    threads = threads or min(4, os.cpu_count() or 1)
    data_property = pydyf.Stream.__dict__.get("data")
    original_write = pydyf.PDF.__dict__.get("write")
    if threads < 2 or not isinstance(data_property, property) or original_write is None:
        yield
        return
    done: dict = {}  # id(stream) -> (stream, bytes)

    def data(self):
        hit = done.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        return data_property.fget(self)

    def write(self, *args, **kwargs):
        streams = [o for o in self.objects if isinstance(o, pydyf.Stream) and getattr(o, "compress", False)]
        with ThreadPoolExecutor(threads) as pool:
            for stream, value in zip(streams, pool.map(data_property.fget, streams)):
                done[id(stream)] = (stream, value)
        return original_write(self, *args, **kwargs)

    pydyf.Stream.data = property(data)
    pydyf.PDF.write = write
    try:
        yield
    finally:
        pydyf.Stream.data = data_property
        pydyf.PDF.write = original_write
        done.clear()


def page_labels_finisher(body_start: int):
    """A WeasyPrint finisher: pages before `body_start` are labelled i, ii...; from it on 1, 2..."""
    def finish(document, pdf):
        import pydyf
        from .folios import label_ranges
        nums = []
        for first, style in label_ranges(len(document.pages), body_start):
            nums += [first, pydyf.Dictionary({"S": "/" + style, "St": 1})]
        pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": pydyf.Array(nums)})
    return finish


def add_xmp(pdf, descriptions: bytes) -> None:
    """Append `rdf:Description` elements to the XMP metadata of a pydyf PDF being written (in a finisher)."""
    import pydyf
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and obj.extra.get("Type") == "/Metadata":
            data = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in obj.stream)
            obj.stream = [data.replace(b"</rdf:RDF>", descriptions + b"</rdf:RDF>", 1)]
            return


def bleed_box(page_dict, bleed_pt: float) -> None:
    """Set a pydyf page's /BleedBox `bleed_pt` around its /TrimBox."""
    import pydyf
    left, bottom, right, top = (float(v) for v in page_dict["TrimBox"])
    page_dict["BleedBox"] = pydyf.Array([left - bleed_pt, bottom - bleed_pt, right + bleed_pt, top + bleed_pt])


def written_pages(pdf) -> list:
    """The page dictionaries of a pydyf PDF being written (in a finisher)."""
    return [pdf.objects[number] for number in pdf.pages["Kids"][::3]]


# -- page boxes ---------------------------------------------------------------------------------------------------

def _boxes():
    from weasyprint.formatting_structure import boxes
    return boxes


def page_box(page):
    """The laid-out box of a rendered page (`Document.pages[i]`), of the split layout's stand-in for one (`.box`),
    or the box itself."""
    box = getattr(page, "_page_box", None)
    if box is None:
        box = getattr(page, "box", page)
    return box


def text_lines(page, object_marker) -> list:
    """The page's lines of text, each a list of (box, text), skipping margin boxes and the footnote area; an image
    is one `object_marker` where it stands. `box.element` and `box.element_tag` say where a piece comes from."""
    B = _boxes()
    out = []

    def walk(box, line):
        if isinstance(box, (B.MarginBox, B.FootnoteAreaBox)):
            return
        if isinstance(box, B.LineBox):
            line = []
            out.append(line)
        if isinstance(box, B.TextBox):
            if line is not None and box.text:
                line.append((box, box.text))
            return
        if isinstance(box, B.ReplacedBox):  # an image counts as one letter, where it stands
            if line is None:
                out.append([(box, object_marker)])
            else:
                line.append((box, object_marker))
            return
        for child in getattr(box, "children", ()):
            walk(child, line)
    walk(page_box(page), None)
    return out


def flow_blocks(page, tags) -> list:
    """The elements of the block boxes in a page's text flow whose tags are in `tags`, in order (not the notes,
    not the margins)."""
    B = _boxes()
    out = []

    def walk(box):
        if isinstance(box, (B.MarginBox, B.FootnoteAreaBox)):
            return
        if isinstance(box, B.BlockBox) and box.element is not None and box.element_tag in tags:
            out.append(box.element)
        for child in getattr(box, "children", ()):
            walk(child)
    walk(page_box(page))
    return out


def note_heights(pages) -> tuple:
    """({note element id: its height in the footnote area}, the height of the smallest page's box)."""
    B = _boxes()
    heights, room = {}, float("inf")
    for page in pages:
        box = page_box(page)
        room = min(room, box.height)
        for child in box.children:
            if isinstance(child, B.FootnoteAreaBox):
                for note in child.children:
                    if note.element is not None and note.element.get("id"):
                        heights[note.element.get("id")] = note.margin_height()
    return heights, room


def box_anchors(box) -> dict:
    """The anchors (ids) a page box holds, as `Page.anchors` names them (weasyprint.anchors.gather_anchors)."""
    anchors = {}
    for child in box.descendants():
        name = child.style["anchor"]
        if name:
            anchors.setdefault(name, None)
    return anchors


def page_side(box) -> str:
    """"left" or "right": the side a page box is on."""
    return box.page_type.side


def is_blank(box) -> bool:
    return bool(box.page_type.blank)


# -- fonts ----------------------------------------------------------------------------------------------------------

def glyph_counts(fonts) -> dict:
    """{family: glyphs set in it} for a written document's fonts (`Document.fonts.values()`)."""
    glyphs: dict = {}
    for font in fonts:
        glyphs[font.family] = glyphs.get(font.family, 0) + len(font.to_unicode)
    return glyphs


def document_fonts(document) -> list:
    return list(document.fonts.values())


def variable_families(fonts) -> list:
    """The families among `fonts` that are variable fonts (WeasyPrint makes a static font of each, per document)."""
    return sorted({f.family for f in fonts if "fvar" in getattr(f, "tables", ())})


# -- the page-breaking stage (the split layout) ---------------------------------------------------------------

_STOPS: dict = {}  # the layout in progress (its greenlet: a worker runs several) -> where it stops


def _current():
    import greenlet
    return greenlet.getcurrent()


@contextmanager
def stop_after_pagination(on_paginated, margins_apart: list | None = None):
    """Within this block, a layout calls `on_paginated(context, page_boxes)` once WeasyPrint has broken its pages
    and before it draws the first margin box (weasyprint.layout.layout_document); other layouts (other
    greenlets) pass through. With `margins_apart` (a list), the layout draws no margin box, and appends to the
    list, for each page, what drawing them needs: the page's type, its counters, the named strings set on it and
    those set by its first element (margins_document)."""
    install_layout_hooks()
    key = _current()
    _STOPS[key] = {"pages": None, "called": False, "on_paginated": on_paginated, "apart": margins_apart}
    try:
        yield
    finally:
        _STOPS.pop(key, None)


def install_layout_hooks() -> None:
    """Wrap WeasyPrint's page breaking and margin drawing once: a layout with a stop keeps its page boxes and
    calls its `on_paginated` before the first margin box."""
    import weasyprint.layout as layout

    if getattr(layout, "_bookgen_hooks", False):
        return
    make_all_pages, make_margin_boxes = layout.make_all_pages, layout.make_margin_boxes
    if not callable(make_all_pages) or not callable(make_margin_boxes):
        raise AdapterError("this WeasyPrint has no page-breaking stage to stop at")

    def all_pages(context, root_box, html, pages):
        state = _STOPS.get(_current())
        made = []
        for page in make_all_pages(context, root_box, html, pages):
            made.append(page)
            yield page
        if state is not None:
            state["pages"] = made

    def all_pages_or_margins(context, root_box, html, pages):
        state = _STOPS.get(_current())
        if state is not None and state.get("margins_of") is not None:
            return _margin_pages(context, root_box, html, state["margins_of"])
        return all_pages(context, root_box, html, pages)

    def margin_boxes(context, page, page_state):
        state = _STOPS.get(_current())
        if state is not None and not state["called"]:
            state["called"] = True
            state["on_paginated"](context, state["pages"])
        if state is None or (state.get("apart") is None and state.get("margins_of") is None):
            return make_margin_boxes(context, page, page_state)
        if state.get("margins_of") is not None:  # the margins document: the strings as the pages recorded them
            specs, carried, number = state["margins_of"], state["carried"], context.current_page
            context.get_string_set_for = lambda page, name, keyword="first": _string_value(
                specs, carried, number, name, keyword)
            return make_margin_boxes(context, page, page_state)
        # a group's pages: no margin box; what drawing them needs, recorded
        number = context.current_page
        set_here = {name: [str(v) for v in by_page[number]] for name, by_page in context.string_set.items()
                    if by_page.get(number)}
        state["apart"].append({"type": _page_type(page), "set": set_here, "starts": _starting_strings(page),
                               "counters": {k: list(v) for k, v in page_state[1].items() if k != "pages"}})
        return []

    layout.make_all_pages, layout.make_margin_boxes = all_pages_or_margins, margin_boxes
    layout._bookgen_hooks = True


# -- margins drawn apart (the split layout) -----------------------------------------------------------------
#
# A chapter group's pages do not depend on where the group falls in the book; its folios and running heads do.
# So a group is drawn without its margin boxes (stop_after_pagination's `margins_apart`), and they are drawn in a
# document of their own (`margins_document`), page by page as the group recorded them (page type, counters,
# named strings), with the book's page numbers and the running heads carried from the groups before;
# bookgen/overlay.py lays them over the group's pages. A page shift then costs that small document, not the
# group's layout; and the margins are still laid out once.


def _starting_strings(page) -> list:
    """Names of the strings set by the first element on the page (what string(name, start) asks)."""
    names, element = [], page
    while element is not None:
        if element.style["string_set"] != "none":
            names += [name for name, _ in element.style["string_set"]]
        children = getattr(element, "children", None)
        element = children[0] if children else None
    return names


def _string_value(specs, carried, number: int, name: str, keyword: str) -> tuple:
    """What string(name, keyword) gives on page `number` of a margins document: WeasyPrint's answer
    (weasyprint.layout.LayoutContext.get_string_or_element_for) from the strings the pages recorded, falling back
    to those carried from the groups before (as carry_strings does)."""
    current = specs[number - 1]["set"].get(name)
    if current:
        if keyword == "first":
            return (current[0],)
        if keyword == "start" and name in specs[number - 1]["starts"]:
            return (current[0],)
        if keyword == "last":
            return (current[-1],)
        if keyword == "first-except":
            return ()
        if keyword == "all-once":
            return tuple(current)
    if keyword != "all-once":
        for previous in range(number - 1, 0, -1):
            values = specs[previous - 1]["set"].get(name)
            if values:
                return (values[-1],)
    if keyword not in ("first-except", "all-once") and name in carried:
        return (carried[name],)
    return ()


def _page_type(page) -> list:
    t = page.page_type
    return [t.side, t.blank, t.name, t.index, [list(g) for g in t.groups]]


def _margin_pages(context, root_box, html, specs):
    """The margins document's pages: one empty page per spec, of its page type, with its counters."""
    import copy

    from weasyprint.layout.page import PageType, make_page, set_page_type_computed_styles
    empty = root_box.copy_with_children([])
    context.rendered_notes = []
    maker = context.page_maker
    del maker[1:]
    types: dict = {}  # pages that every @page selector matches alike have the same styles: computed once
    selectors = _page_selectors(context.style_for)
    for i, spec in enumerate(specs):
        side, blank, name, index, groups = spec["type"]
        page_type = PageType(side, blank, name, index, tuple(tuple(g) for g in groups))
        key = None if selectors is None else tuple(_matches(context.style_for, s, page_type) for s in selectors)
        if key in types:
            page_type = types[key]
        else:  # (WeasyPrint computes them again for every page)
            set_page_type_computed_styles(page_type, html, context.style_for)
            if key is not None:
                types[key] = page_type
        page_state = copy.deepcopy(maker[i][3])
        page, _, _ = make_page(context, empty, page_type, None, i + 1, page_state)
        page_state[1].clear()
        page_state[1].update({k: list(v) for k, v in spec["counters"].items()})
        maker.append((None, {"break": "any", "page": None}, side == "left", page_state,
                      {"content_changed": False, "pages_wanted": False, "anchors": [], "content_lookups": []}))
        yield page


def _page_selectors(style_for) -> list | None:
    """Every @page selector of every stylesheet (the book's, the project's, WeasyPrint's own), in the order the
    cascade reads them; None when this WeasyPrint keeps them elsewhere (every page's styles are then computed)."""
    try:
        found = [selector[2] for sheet, _, _ in style_for._sheets
                 for _, selectors, _ in sheet.page_rules for selector in selectors]
        return found if callable(getattr(style_for, "_page_type_match", None)) else None
    except (AttributeError, TypeError, ValueError, IndexError):
        return None


def _matches(style_for, selector, page_type) -> bool:
    return bool(style_for._page_type_match(selector, page_type))


def margins_document(html, stylesheets, font_config, specs: list, pdf_variant: str, carried: dict | None = None):
    """(A document of the margin boxes of the pages `specs` recorded (stop_after_pagination's `margins_apart`,
    with the book's page counters), nothing else drawn: no page background or border, no text block; the indices
    of its pages that have a margin box). `carried`: the named strings the pages start from (the groups before)."""
    install_layout_hooks()
    key = _current()
    saved = _STOPS.get(key)
    _STOPS[key] = {"pages": None, "called": True, "on_paginated": None, "margins_of": specs,
                   "carried": carried or {}}
    try:
        document = html.render(stylesheets=stylesheets, font_config=font_config, pdf_variant=pdf_variant)
    finally:
        if saved is None:
            _STOPS.pop(key, None)
        else:
            _STOPS[key] = saved
    B = _boxes()
    drawn = []
    for i, page in enumerate(document.pages):
        box = page_box(page)
        box.children = [c for c in box.children if isinstance(c, B.MarginBox)]
        box.background = box.canvas_background = None
        for side in ("top", "right", "bottom", "left"):
            setattr(box, f"border_{side}_width", 0)
        if box.children:
            drawn.append(i)
    return document, drawn


class AdapterError(Exception):
    """WeasyPrint does not have (or no longer behaves like) what this adapter reaches for."""


def page_counters(context, count: int) -> list:
    """The page counter on each of the first `count` pages, as the page breaking left it."""
    return [context.page_maker[i + 1][3][1].get("page", [0])[-1] for i in range(count)]


def set_page_counter(context, index: int, value: int) -> None:
    """Make page `index` (from 0) draw `value` for counter(page) in its margins."""
    values = context.page_maker[index + 1][3][1]
    if "page" in values:
        values["page"][-1] = value


def last_strings(context, first_page: int) -> dict:
    """{name: its last value} of the named strings (string-set) set on pages from `first_page` (from 1) on."""
    strings = {}
    for name, by_page in context.string_set.items():
        on = [n for n in by_page if n >= first_page and by_page[n]]
        if on:
            strings[name] = by_page[max(on)][-1]
    return strings


def carry_strings(context, carried: dict) -> None:
    """Named strings the pages start from: what `string(name)` gives where no page before set it."""
    lookup = context.get_string_set_for

    def string_for(page, name, keyword="first"):
        value = lookup(page, name, keyword)
        if value == () and keyword not in ("first-except", "all-once") and name in carried:
            return (carried[name],)
        return value
    context.get_string_set_for = string_for


# -- the self-test ----------------------------------------------------------------------------------------------

_SELF_TEST_HTML = """<html lang="en"><head><style>
@page { size: 100mm 80mm; margin: 15mm 10mm; @top-center { content: string(head) }
        @bottom-center { content: counter(page) } }
h1 { string-set: head content(); break-before: right; font-size: 10pt }
p { font-size: 10pt; margin: 0 }
</style></head><body><p id="z">Zero.</p><h1 id="a">Alpha</h1><p>One.</p><h1 id="b">Beta</h1><p>Two.</p>
<div style="break-before: page"><p>Three.</p></div></body></html>"""

_SELF_TEST_RESULT: list = []


def self_test() -> str | None:
    """Lay out a six-page document with the split layout's hooks: at the stop, read the page counters, sides,
    blank pages and strings, set the folios to 11... and a carried running head, then check what WeasyPrint
    drew in the margins. None when all is as this adapter expects; else what differs. Run once per process."""
    if _SELF_TEST_RESULT:
        return _SELF_TEST_RESULT[0]
    try:
        problem = _self_test()
    except Exception as e:  # anything at all: the split layout is not safe with this WeasyPrint
        problem = f"{type(e).__name__}: {e}"
    _SELF_TEST_RESULT.append(problem)
    return problem


def _self_test() -> str | None:
    from weasyprint import HTML

    seen: dict = {}

    def on_paginated(context, pages):
        seen["counters"] = page_counters(context, len(pages))
        seen["sides"] = [page_side(p) for p in pages]
        seen["blank"] = [is_blank(p) for p in pages]
        seen["strings"] = last_strings(context, 1)
        seen["anchors"] = [sorted(box_anchors(p)) for p in pages]
        for i in range(len(pages)):
            set_page_counter(context, i, 11 + i)
        carry_strings(context, {"head": "Carried"})
    with stop_after_pagination(on_paginated):
        document = HTML(string=_SELF_TEST_HTML).render()
    expected = {"counters": [1, 2, 3, 4, 5, 6], "sides": ["right", "left"] * 3,
                "blank": [False, True, False, True, False, False], "strings": {"head": "Beta"},
                "anchors": [["z"], [], ["a"], [], ["b"], []]}
    for key, value in expected.items():
        if seen.get(key) != value:
            return f"at the page-breaking stage, {key} read {seen.get(key)!r} where {value!r} was expected"
    drawn = [_margin_texts(page) for page in document.pages]
    want = [["Carried", "11"], ["Carried", "12"], ["Alpha", "13"], ["Alpha", "14"], ["Beta", "15"], ["Beta", "16"]]
    if drawn != want:
        return f"the margins drew {drawn!r} where {want!r} was expected"
    return _self_test_apart()


def _self_test_apart() -> str | None:
    """The folios drawn apart: the pages without them, then a margins document with the folios 21 to 26."""
    from weasyprint import HTML

    record: list = []
    with stop_after_pagination(lambda context, pages: None, margins_apart=record):
        document = HTML(string=_SELF_TEST_HTML).render()
    drawn = [_margin_texts(page) for page in document.pages]
    if drawn != [[]] * 6 or len(record) != 6:
        return f"without its margins, a page drew {drawn!r}"
    specs = [{**r, "counters": {**r["counters"], "page": [21 + i]}} for i, r in enumerate(record)]
    empty = HTML(string=_SELF_TEST_HTML[:_SELF_TEST_HTML.index("<body>") + 6] + "</body></html>")
    margins, _ = margins_document(empty, [], None, specs, None, carried={"head": "Carried"})
    drawn = [_margin_texts(page) for page in margins.pages]
    want = [["Carried", "21"], ["Carried", "22"], ["Alpha", "23"], ["Alpha", "24"], ["Beta", "25"], ["Beta", "26"]]
    if drawn != want:
        return f"the margins drawn apart read {drawn!r} where {want!r} was expected"
    return None


def _margin_texts(page) -> list:
    B = _boxes()
    out = []

    def walk(box, inside):
        if isinstance(box, B.TextBox) and inside and box.text.strip():
            out.append(box.text.strip())
        for child in getattr(box, "children", ()):
            walk(child, inside or isinstance(box, B.MarginBox))
    walk(page_box(page), False)
    return out

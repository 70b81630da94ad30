"""Join tagged PDFs written by WeasyPrint (one per process) into one book PDF.

Each part is a complete PDF/UA-1 file from ``document.write_pdf(pdf_variant="pdf/ua-1")``.
``join_pdfs`` concatenates their pages and rebuilds what WeasyPrint would have written
for the whole book in one go: one structure tree with one ``/Document`` element and a
renumbered ``/ParentTree``, one sorted name tree of destinations, one outline, page
labels (roman front matter, decimal body), links between parts, and the metadata of one
part. Fonts stay embedded per part.

A part cannot link to an id laid out in another part, so the caller writes such a link as
``<a href="bookgen-xref:ID">``; the join turns it into a link to the named destination
``ID`` (an id given raw, e.g. put into WeasyPrint's ``page.links``, or percent-encoded as
WeasyPrint writes an ``href``: an exact match wins, then the decoded one).

All objects are copied with one ``copy_foreign`` mapping per opened part (pages first,
then the part's catalog), so ``/Pg``, ``/OBJR /Obj``, destination and outline page
references land on the copied pages and annotations.
"""
from __future__ import annotations

import io
import os
import warnings
from urllib.parse import unquote

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from .join_fonts import FontSubsets, num

__all__ = ["XREF_SCHEME", "JoinMismatch", "join_pdfs"]

XREF_SCHEME = "bookgen-xref:"
_CATALOG_KEYS = ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata", "/OutputIntents")


class JoinMismatch(Exception):
    """A joined page does not show the glyphs its part laid out (a font merged wrongly)."""

    def __init__(self, page: int, detail: str):
        super().__init__(f"page {page} of the joined PDF does not show what its chapter group laid out: {detail}")
        self.page, self.detail = page, detail


def join_pdfs(parts: list, out, *, body_start: int, bleed_pt: float | None = None,
              metadata_from: int = 0, kept=None, modified: str | None = None) -> list[str]:
    """Join ``parts`` (PDF bytes or paths of PDF files, in page order) into one PDF written to ``out``.

    ``out`` is a path or a writable binary file object. Pages before ``body_start``
    are labelled i, ii, ...; pages from ``body_start`` on 1, 2, ... With ``bleed_pt``
    every page's /BleedBox becomes its /TrimBox grown by that many points on each side
    (clipped to the /MediaBox, as readers do anyway). Document metadata (/Info, /Lang,
    /MarkInfo, /ViewerPreferences, XMP /Metadata, /OutputIntents) comes from part
    ``metadata_from``; the PDF version is the highest of the parts.

    ``kept``: what joins keep between builds (join_fonts.JoinKept: merged font programs, what each part's pages
    show), or None.

    ``modified``: the book's modification date-time (ISO, UTC, ``Z``), written over the stand-in the front matter
    was laid out with (STAND_IN; see with_modified), or None to keep what the part says.

    Returns the ids of ``bookgen-xref:`` links whose destination no part defines (the
    link is still written, as a /Dest to that name), sorted and without duplicates.
    The output is byte-identical for identical input. Before anything is written, every joined page is read
    back glyph by glyph (text and width, bookgen/pdf_glyphs.py) and compared with the page of its part:
    ``JoinMismatch`` names the first page that differs.
    """
    parts = [p if isinstance(p, (str, os.PathLike)) else bytes(p) for p in parts]
    if not parts:
        raise ValueError("join_pdfs needs at least one part")
    if not 0 <= metadata_from < len(parts):
        raise ValueError(f"metadata_from={metadata_from} is not a part index (0..{len(parts) - 1})")
    if body_start < 0:
        raise ValueError(f"body_start must be >= 0, not {body_start}")

    # One part open at a time: what the join copies of it (its streams' data too) is made the joined PDF's own,
    # and the part is closed before the next is opened. A part's objects, parsed, take more memory than their
    # copies (at 100k words: 28 MB for all the parts open at once).
    with pikepdf.new() as dst:
        with _open(parts[metadata_from]) as meta:
            joiner = _Joiner(dst, lang=meta.Root.get("/Lang"), kept=kept)
        shown, versions = [], []
        for index, part in enumerate(parts):
            with _open(part) as src:
                before = _next_number(dst)
                joiner.add_part(src, is_meta=index == metadata_from)
                _own_streams(dst, before, _next_number(dst))
                shown.append(_shown_pages(src, _data(part), kept))
                versions.append(src.pdf_version)
        unresolved = joiner.finish(body_start=body_start, bleed_pt=bleed_pt)
        if modified is not None:
            with_modified(dst, modified)
        verify_pages([lambda part=part: _open(part) for part in parts], dst, shown)
        save(dst, os.fspath(out) if isinstance(out, (str, os.PathLike)) else out,
             min_version=max(versions, key=_version_key))
    return unresolved


def _open(part) -> pikepdf.Pdf:
    return pikepdf.open(part if isinstance(part, (str, os.PathLike)) else io.BytesIO(part))


def _data(part) -> bytes:
    if isinstance(part, (str, os.PathLike)):
        with open(part, "rb") as f:
            return f.read()
    return part


def _next_number(pdf: pikepdf.Pdf) -> int:
    """The number the next new object of `pdf` gets (qpdf numbers them in turn; the marker is never written, as
    nothing refers to it)."""
    return pdf.make_indirect(Dictionary()).objgen[0]


def _own_streams(dst: pikepdf.Pdf, first: int, end: int) -> None:
    """The streams copied from a part (objects `first` to `end`) given their data now, as it is in the part
    (still encoded): qpdf would otherwise read it from the part when the joined PDF is saved."""
    for number in range(first, end):
        obj = dst.get_object((number, 0))
        if isinstance(obj, pikepdf.Stream):
            obj.write(obj.read_raw_bytes(), filter=obj.get("/Filter"), decode_parms=obj.get("/DecodeParms"),
                      type_check=False)


def save(pdf: pikepdf.Pdf, out, min_version: str = "") -> None:
    """How a joined (or overlaid, bookgen/overlay.py) PDF is written: the same bytes for the same input."""
    pdf.save(out, min_version=min_version, deterministic_id=True, compress_streams=True,
             # the parts' streams are copied as WeasyPrint compressed them, not decoded and compressed again (a
             # third of the join's time, and most of its memory)
             stream_decode_level=pikepdf.StreamDecodeLevel.none,
             fix_metadata_version=False,  # keep the part's XMP as WeasyPrint wrote it
             object_stream_mode=pikepdf.ObjectStreamMode.generate)


STAND_IN = "2000-01-01T00:00:00Z"  # the front matter's dcterms.modified, laid out (split_html.make_groups)


def with_modified(pdf: pikepdf.Pdf, modified: str) -> None:
    """The modification date WeasyPrint wrote from the stand-in, in /Info (/ModDate, as WeasyPrint writes a UTC
    date: D:YYYYMMDDHHmmSSZ) and in the XMP (xmp:ModifyDate), made `modified`."""
    def pdf_date(iso: str) -> str:
        return "D:" + iso.replace("-", "").replace("T", "").replace(":", "")
    info = pdf.trailer.get("/Info")
    if isinstance(info, Dictionary) and str(info.get("/ModDate", "")) == pdf_date(STAND_IN):
        info.ModDate = String(pdf_date(modified))
    metadata = pdf.Root.get("/Metadata")
    if isinstance(metadata, pikepdf.Stream):
        xmp = metadata.read_bytes()
        tag = "<xmp:ModifyDate>{}</xmp:ModifyDate>"
        if tag.format(STAND_IN).encode() in xmp:
            metadata.write(xmp.replace(tag.format(STAND_IN).encode(), tag.format(modified).encode()))


def _shown_pages(src: pikepdf.Pdf, data: bytes, kept=None) -> list:
    """What each page of a part shows (pdf_glyphs.shown; None where it is not written as WeasyPrint writes text).
    `kept` (join_fonts.JoinKept): read from there when the same part was joined before (a part's digest is
    the key: after an edit, the unchanged groups' pages are not read again), and kept there for the next join."""
    import hashlib
    import json

    from .pdf_glyphs import Unreadable, shown
    key = hashlib.sha256(data).hexdigest()
    record = kept.get(key, "shown") if kept is not None else None
    if record is not None:
        return [None if page is None else {tuple(k): set(ids) for k, ids in page} for page in json.loads(record)]
    pages = []
    for page in src.pages:
        try:
            pages.append(shown(page.obj))
        except Unreadable:
            pages.append(None)
    if kept is not None:
        kept.put(key, json.dumps([None if p is None else [[list(k), sorted(ids)] for k, ids in sorted(p.items())]
                                  for p in pages]).encode(), "shown")
    return pages


def verify_pages(sources: list, dst: pikepdf.Pdf, shown_pages: list) -> None:
    """Raise JoinMismatch for the first page of `dst` that does not show what its source page showed: each page's
    content stream copied unchanged, and each glyph it shows of the same face, with the same width, standing for
    the text of the glyph's first use in the book (what one document's /ToUnicode says). `sources`: for each
    part, a function that opens it (read one at a time); `shown_pages`: what each part's pages show
    (_shown_pages)."""
    from .pdf_glyphs import face, font_at, font_table, raw_contents
    first: dict = {}   # (source /BaseFont, glyph id) -> text, in book order
    tables: dict = {}  # (part, object) -> font_table
    pairs: dict = {}   # (part, source font, joined font) -> {glyph id: first joined page that shows it}

    unrecorded: set = set()  # tables read while their part was open, whose texts count only where first used

    def table(part, font, record=True):
        key = (part, font.objgen if font is not None else None)
        if key not in tables:
            tables[key] = font_table(font)
            unrecorded.add(key)
        if record and key in unrecorded:
            unrecorded.discard(key)
            record_first(key)
        return tables[key]

    def record_first(key):
        if key[0] >= 0:
            for cid, text in tables[key][1].items():
                first.setdefault((tables[key][0], cid), text)
    index = 0
    for part, opener in enumerate(sources):  # one part open at a time
        with opener() as src:
            index = _verify_part(part, src, dst, index, shown_pages[part], table, pairs)
    if index != len(dst.pages):
        raise JoinMismatch(index + 1, f"{len(dst.pages)} pages joined from {index}")
    wrong = []
    for key in pairs:
        if key[:2] in unrecorded:
            unrecorded.discard(key[:2])
            record_first(key[:2])
    for (part, a, b), seen in pairs.items():
        base, _, widths = tables[(part, a)]
        joined_base, joined_texts, joined_widths = tables[(-1, b)]
        for cid, page in seen.items():
            expected = (face(base), first.get((base, cid)), widths.get(cid))
            got = (face(joined_base), joined_texts.get(cid), joined_widths.get(cid))
            if got != expected:
                wrong.append((page, cid, expected, got))
    if wrong:
        page, cid, expected, got = min(wrong)
        raise JoinMismatch(page, f"glyph {cid} of {expected[0]} standing for {expected[1]!r} (width "
                                 f"{expected[2]}) became glyph {cid} of {got[0]} standing for {got[1]!r} "
                                 f"(width {got[2]})")


def _verify_part(part, src, dst, index, shown_pages, table, pairs) -> int:
    """verify_pages for one part's pages (from dst page `index` on): the index after them."""
    from .pdf_glyphs import font_at, raw_contents
    for page, used in zip(src.pages, shown_pages):
        joined = dst.pages[index].obj
        index += 1
        resources = page.obj.get("/Resources")
        fonts = resources.get("/Font") if isinstance(resources, Dictionary) else None
        for key in (fonts.keys() if isinstance(fonts, Dictionary) else ()):
            table(part, fonts[key])  # fonts met in page order, as the join unifies them
        if raw_contents(page.obj) != raw_contents(joined):
            raise JoinMismatch(index, "its content stream is not the one its group wrote")
        if used is None:  # not WeasyPrint's way of writing text: compare every glyph of the page's fonts
            used = {(k[1:],): set(table(part, fonts[k])[2]) for k in fonts.keys()} if fonts else {}
        for key, ids in used.items():
            a, b = font_at(page.obj, key), font_at(joined, key)
            table(part, a, record=False)  # read now: the part is closed next
            table(-1, b, record=False)
            seen = pairs.setdefault((part, a.objgen if a is not None else None, b.objgen if b is not None else None),
                                    {})
            for cid in ids:
                seen.setdefault(cid, index)
    return index


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in str(version).split("."))
    except ValueError:
        return (0,)


def _tree_entries(node, key: str) -> list:
    """Flatten a number tree (key '/Nums') or name tree (key '/Names') to [k, v, k, v...]."""
    result: list = []
    stack = [node]
    seen = set()
    while stack:  # depth first, kids in order
        node = stack.pop()
        if not isinstance(node, Dictionary):
            continue
        og = node.objgen
        if og != (0, 0):
            if og in seen:
                continue
            seen.add(og)
        if key in node:
            result.extend(list(node[key]))
        if "/Kids" in node:
            stack.extend(reversed(list(node.Kids)))
    return result


def _name_bytes(key) -> bytes:
    return bytes(key) if isinstance(key, String) else str(key).encode()


class _Joiner:
    def __init__(self, dst: pikepdf.Pdf, *, lang=None, kept=None):
        self.dst = dst
        self.lang = lang                   # the joined document's /Lang
        self.page_count = 0
        self.tagged = False
        self.doc_kids: list = []           # children of the merged /Document, in order
        self.doc_extra: dict = {}          # /NS etc. of the first part's Document element
        self.page_trees: list = []         # (final index, page, value) per tagged page
        self.annot_trees: list = []        # (annot, value) in final order
        self.extra_trees: list = []        # (object, key_name, value) XObjects with /StructParent(s)
        self.reparent: list = []           # (parent-tree values, old doc/root objgens)
        self.role_map: dict = {}
        self.class_map: dict = {}
        self.fonts = FontSubsets(kept)         # the parts' font subsets (bookgen/join_fonts.py)
        self.namespaces: list = []
        self.id_tree: dict = {}            # bytes -> (key, value)
        self.names: dict[str, dict] = {}   # tree name -> {name bytes: (key, value)}
        self.name_collisions: list = []    # (a part's annotations by page, {name bytes: value})
        self.outline_items: list = []
        self.outline_count = 0
        self.xref_links: list = []
        self.acro_fields: list = []
        self.acroform = None
        self.meta = None
        self.file_id = None

    # -- per part -----------------------------------------------------------------------
    def add_part(self, src: pikepdf.Pdf, *, is_meta: bool) -> None:
        dst = self.dst
        first = self.page_count
        for page in src.pages:  # append(): same copier as copy_foreign(src...)
            dst.pages.append(page)
        self.page_count = len(dst.pages)
        pages = [dst.pages[i].obj for i in range(first, self.page_count)]
        catalog = dst.copy_foreign(src.Root)  # orphan copy; only what we take gets written
        kids_before = len(self.doc_kids)
        annots_by_page = []
        for page in pages:
            annots = page.get("/Annots")
            annots_by_page.append(list(annots) if isinstance(annots, Array) else [])

        self.fonts.rename(pages, first)
        self._add_structure(catalog, pages, annots_by_page, first)
        lang = catalog.get("/Lang")
        if lang is not None and self.lang is not None and bytes(lang) != bytes(self.lang):
            # A part in another language keeps it on its top-level structure elements.
            for kid in self.doc_kids[kids_before:]:
                if isinstance(kid, Dictionary) and "/Lang" not in kid:
                    kid.Lang = lang
        collided = self._add_names(catalog)
        if collided:
            self.name_collisions.append((annots_by_page, collided))
        self._add_outline(catalog)
        for annots in annots_by_page:
            for annot in annots:
                action = annot.get("/A")
                # str(): WeasyPrint writes a non-ASCII URI as UTF-16BE text
                if (isinstance(action, Dictionary) and action.get("/S") == Name.URI
                        and str(action.get("/URI", "")).startswith(XREF_SCHEME)):
                    self.xref_links.append(annot)
        acroform = catalog.get("/AcroForm")
        if isinstance(acroform, Dictionary):
            if self.acroform is None:
                self.acroform = acroform
            self.acro_fields.extend(list(acroform.get("/Fields", [])))
        if is_meta:
            self.meta = (catalog, _copy_direct(dst, src.trailer.get("/Info")))
            file_id = src.trailer.get("/ID")  # WeasyPrint's pdf_identifier is /ID[0]
            if isinstance(file_id, Array) and len(file_id) == 2:
                self.file_id = Array([String(bytes(x)) for x in file_id])

    def _add_structure(self, catalog, pages, annots_by_page, first) -> None:
        root = catalog.get("/StructTreeRoot")
        if not isinstance(root, Dictionary):
            return
        self.tagged = True
        old = {root.objgen}
        kids = root.get("/K")
        kids = list(kids) if isinstance(kids, Array) else ([] if kids is None else [kids])
        for kid in kids:
            if isinstance(kid, Dictionary) and kid.get("/S") == Name.Document:
                old.add(kid.objgen)
                if not self.doc_extra and "/NS" in kid:
                    self.doc_extra["/NS"] = kid.NS
                inner = kid.get("/K")
                inner = list(inner) if isinstance(inner, Array) else ([] if inner is None else [inner])
                # MCIDs directly under a part's /Document would lose its /Pg: wrap them.
                self.doc_kids.extend(k if isinstance(k, Dictionary) else self._wrap_mcid(k, kid)
                                     for k in inner)
            else:
                self.doc_kids.append(kid)
        for key, target in (("/RoleMap", self.role_map), ("/ClassMap", self.class_map)):
            mapping = root.get(key)
            if isinstance(mapping, Dictionary):
                for k in mapping.keys():
                    target.setdefault(k, mapping[k])
        if isinstance(root.get("/Namespaces"), Array):
            # WeasyPrint (PDF 2.0) writes one namespace per part, used by /Document only.
            known = {bytes(ns.get("/NS", b"")) for ns in self.namespaces}
            self.namespaces.extend(ns for ns in root.Namespaces
                                   if bytes(ns.get("/NS", b"")) not in known)
        if "/IDTree" in root:
            entries = _tree_entries(root.IDTree, "/Names")
            for i in range(0, len(entries) - 1, 2):
                self.id_tree.setdefault(_name_bytes(entries[i]), (entries[i], entries[i + 1]))

        tree = {}
        if "/ParentTree" in root:
            entries = _tree_entries(root.ParentTree, "/Nums")
            tree = {entries[i]: entries[i + 1] for i in range(0, len(entries) - 1, 2)}
        used = set()
        for index, page in enumerate(pages, start=first):
            key = page.get("/StructParents")
            if key is not None and int(key) in tree:
                used.add(int(key))
                self.page_trees.append((index, page, tree[int(key)]))
            elif key is not None:
                del page["/StructParents"]
        for annots in annots_by_page:
            for annot in annots:
                key = annot.get("/StructParent")
                if key is not None and int(key) in tree:
                    used.add(int(key))
                    self.annot_trees.append((annot, tree[int(key)]))
                elif key is not None:
                    del annot["/StructParent"]
        if len(used) < len(tree):
            self._add_xobject_keys(pages, tree, used)
        self.reparent.append((list(tree.values()), old))

    def _wrap_mcid(self, kid, document):
        return self.dst.make_indirect(Dictionary(
            Type=Name.StructElem, S=Name.NonStruct, K=Array([kid]),
            **({"Pg": document.Pg} if "/Pg" in document else {})))

    def _add_xobject_keys(self, pages, tree, used) -> None:
        """Parent-tree keys held by form/image XObjects (WeasyPrint does not write them)."""
        seen = set()
        for page in pages:
            resources = page.get("/Resources")
            xobjects = resources.get("/XObject") if isinstance(resources, Dictionary) else None
            if not isinstance(xobjects, Dictionary):
                continue
            for name in sorted(xobjects.keys()):
                xobject = xobjects[name]
                if xobject.objgen in seen:
                    continue
                seen.add(xobject.objgen)
                for key_name in ("/StructParent", "/StructParents"):
                    key = xobject.get(key_name)
                    if key is not None and int(key) in tree and int(key) not in used:
                        used.add(int(key))
                        self.extra_trees.append((xobject, key_name, tree[int(key)]))

    def _add_names(self, catalog) -> dict:
        """Merge the catalog's name trees; return {name bytes: this part's value} for names
        that an earlier part already defined differently (first part wins)."""
        collided = {}
        names = catalog.get("/Names")
        if isinstance(names, Dictionary):
            for tree_name in sorted(names.keys()):
                merged = self.names.setdefault(tree_name, {})
                entries = _tree_entries(names[tree_name], "/Names")
                for i in range(0, len(entries) - 1, 2):
                    key, value = entries[i], entries[i + 1]
                    kb = _name_bytes(key)
                    if kb not in merged:
                        merged[kb] = (key, value)
                    elif tree_name == "/Dests":
                        collided[kb] = value
        old_dests = catalog.get("/Dests")  # PDF 1.1 style dictionary of names
        if isinstance(old_dests, Dictionary):
            merged = self.names.setdefault("/Dests", {})
            for name in sorted(old_dests.keys()):
                key = String(name[1:])
                kb = _name_bytes(key)
                if kb not in merged:
                    merged[kb] = (key, old_dests[name])
                else:
                    collided[kb] = old_dests[name]
        return collided

    def _add_outline(self, catalog) -> None:
        outlines = catalog.get("/Outlines")
        if not isinstance(outlines, Dictionary) or "/First" not in outlines:
            return
        item, seen, count = outlines.First, set(), 0
        while isinstance(item, Dictionary) and item.objgen not in seen:
            seen.add(item.objgen)
            self.outline_items.append(item)
            child_count = int(item.get("/Count", 0))
            count += 1 + max(child_count, 0)
            item = item.get("/Next")
        self.outline_count += int(outlines.get("/Count", count))

    # -- whole document -----------------------------------------------------------------
    def finish(self, *, body_start: int, bleed_pt: float | None) -> list[str]:
        dst = self.dst
        root = dst.Root
        if self.tagged:
            self._write_structure()
        dests = self._write_names()
        self._fix_collisions()
        unresolved = self._resolve_xrefs(dests)
        self._write_outline()
        if self.acroform is not None:
            acroform = Dictionary({k: self.acroform[k] for k in self.acroform.keys()})
            acroform.Fields = Array(self.acro_fields)
            root.AcroForm = dst.make_indirect(acroform)
        self.fonts.merge(self.dst)
        self.fonts.unify_texts(self.dst)
        root.PageLabels = _page_labels(self.page_count, body_start)
        if bleed_pt is not None:
            _set_bleed(dst, float(bleed_pt))
        if self.meta is not None:
            catalog, info = self.meta
            for key in _CATALOG_KEYS:
                if key in catalog:
                    root[key] = catalog[key]
            if isinstance(info, Dictionary):  # Title, Author, ..., dates, custom keys
                dst.trailer.Info = info if info.is_indirect else dst.make_indirect(info)
        if self.file_id is not None:
            dst.trailer.ID = self.file_id  # qpdf keeps /ID[0], makes /ID[1] from the content
        return unresolved

    def _write_structure(self) -> None:
        dst = self.dst
        struct_root = dst.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        document = dst.make_indirect(Dictionary(
            Type=Name.StructElem, S=Name.Document, K=Array(self.doc_kids), P=struct_root,
            **{k[1:]: v for k, v in self.doc_extra.items()}))
        for kid in self.doc_kids:
            if isinstance(kid, Dictionary) and kid.get("/Type") not in (Name.MCR, Name.OBJR):
                kid.P = document
        # Elements that are in the parent tree but not under /Document's /K (WeasyPrint's
        # running heads) point to their part's old /Document: walk up and re-point them.
        done = {kid.objgen for kid in self.doc_kids if isinstance(kid, Dictionary)}
        direct, key_p = (0, 0), Name.P
        for values, old in self.reparent:
            for value in values:
                for node in (value if isinstance(value, Array) else [value]):
                    if not isinstance(node, Dictionary):
                        continue
                    while True:  # each element is visited once
                        og = node.objgen
                        if og in done:
                            break
                        if og != direct:
                            done.add(og)
                        parent = node.get(key_p)
                        if parent is None:
                            break
                        if parent.objgen in old:
                            node.P = document
                            break
                        node = parent

        nums: list = []
        for key, page, value in self.page_trees:  # final page index = key
            page.StructParents = key
            nums += [key, value]
        next_key = self.page_count
        for annot, value in self.annot_trees:
            annot.StructParent = next_key
            nums += [next_key, value]
            next_key += 1
        for obj, key_name, value in self.extra_trees:
            obj[key_name] = next_key
            nums += [next_key, value]
            next_key += 1
        # Pages were appended in final order, so keys are already sorted.
        struct_root.K = Array([document])
        struct_root.ParentTree = dst.make_indirect(Dictionary(Nums=Array(nums)))
        struct_root.ParentTreeNextKey = next_key
        if self.role_map:
            struct_root.RoleMap = Dictionary(self.role_map)
        if self.class_map:
            struct_root.ClassMap = Dictionary(self.class_map)
        if self.namespaces:
            struct_root.Namespaces = Array(self.namespaces)
        if self.id_tree:
            struct_root.IDTree = _name_tree(dst, self.id_tree)
        dst.Root.StructTreeRoot = struct_root

    def _write_names(self) -> dict:
        dst = self.dst
        if not self.names:
            return {}
        names = Dictionary()
        for tree_name in sorted(self.names):
            names[tree_name] = _name_tree(dst, self.names[tree_name])
        dst.Root.Names = names
        return self.names.get("/Dests", {})

    def _fix_collisions(self) -> None:
        """A name defined by two parts resolves to the first; links of later parts that
        use it go to their own part's destination, made explicit."""
        for annots_by_page, collided in self.name_collisions:
            warnings.warn(
                f"join_pdfs: {len(collided)} destination name(s) defined in several parts, "
                f"e.g. {sorted(collided)[0].decode('latin-1')!r}; links keep their own part's "
                "target", stacklevel=4)
            for annots in annots_by_page:
                for annot in annots:
                    dest = annot.get("/Dest")
                    if isinstance(dest, String):
                        kb = bytes(dest)
                        if kb in collided:
                            target = collided[kb]
                            annot.Dest = target.D if isinstance(target, Dictionary) else target

    def _resolve_xrefs(self, dests: dict) -> list[str]:
        by_text = {}
        for kb, (key, _value) in dests.items():
            by_text.setdefault(str(key), key)
        unresolved = set()
        for annot in self.xref_links:
            raw = str(annot.A.URI)[len(XREF_SCHEME):]
            # An href in HTML comes percent-encoded (so ASCII) from WeasyPrint; an id put
            # into page.links comes as it is. An exact match wins.
            ident = unquote(raw) if raw.isascii() else raw
            key = by_text.get(raw, by_text.get(ident))
            if key is None:
                unresolved.add(ident)
                key = String(ident)
            del annot["/A"]
            annot.Dest = key
            annot.Contents = key
        return sorted(unresolved)

    def _write_outline(self) -> None:
        items = self.outline_items
        if not items:
            return
        outlines = self.dst.make_indirect(Dictionary(
            Count=self.outline_count, First=items[0], Last=items[-1]))
        previous = None
        for item in items:
            item.Parent = outlines
            if previous is None:
                if "/Prev" in item:
                    del item["/Prev"]
            else:
                item.Prev = previous
                previous.Next = item
            previous = item
        if "/Next" in items[-1]:
            del items[-1]["/Next"]
        self.dst.Root.Outlines = outlines


def _name_tree(dst, entries: dict) -> Dictionary:
    flat = []
    for kb in sorted(entries):
        key, value = entries[kb]
        flat += [key, value]
    return dst.make_indirect(Dictionary(Names=Array(flat)))


def _page_labels(page_count: int, body_start: int) -> Dictionary:
    from .folios import label_ranges
    nums: list = []
    for first, style in label_ranges(page_count, body_start):
        nums += [first, Dictionary(S=Name("/" + style), St=1)]
    return Dictionary(Nums=Array(nums))


def _box(page, *keys):
    for key in keys:
        if key in page:
            return [float(x) for x in page[key]]
    return None


def _set_bleed(dst, bleed: float) -> None:
    clipped = 0
    for page in dst.pages:
        obj = page.obj
        media = _box(obj, "/MediaBox") or [float(x) for x in page.mediabox]
        trim = _box(obj, "/TrimBox", "/CropBox") or media
        x1, x2 = sorted(trim[0::2])
        y1, y2 = sorted(trim[1::2])
        m1, m2 = sorted(media[0::2])
        n1, n2 = sorted(media[1::2])
        box = [x1 - bleed, y1 - bleed, x2 + bleed, y2 + bleed]
        inside = [max(box[0], m1), max(box[1], n1), min(box[2], m2), min(box[3], n2)]
        clipped += any(abs(a - b) > 1e-6 for a, b in zip(box, inside))
        obj.BleedBox = Array([num(v) for v in inside])
    if clipped:
        warnings.warn(
            f"join_pdfs: bleed_pt={bleed:g} reaches past the MediaBox on {clipped} page(s); "
            "their BleedBox was clipped to it (give the pages a CSS bleed at least that large)",
            stacklevel=4)


def _copy_direct(dst, obj):
    if obj is None:
        return None
    if isinstance(obj, (Dictionary, Array)) and obj.is_indirect:
        return dst.copy_foreign(obj)
    if isinstance(obj, Dictionary):
        return Dictionary({k: _copy_direct(dst, obj[k]) for k in obj.keys()})
    if isinstance(obj, Array):
        return Array([_copy_direct(dst, v) for v in obj])
    return obj


class JoinProcess:
    """The join in a fresh Python process (it imports only pikepdf), so that the memory the join needs (the joined
    PDF's objects, about 1 MB for every 12 pages of a tagged book, and one part at a time) is never added to the
    layout's: the build's largest process stays small. Started
    before the layout, so that Python's start and pikepdf's import are done when the parts are ready; it waits
    for them on its standard input, and ends with the build (PR_SET_PDEATHSIG)."""

    def __init__(self):
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        project = str(Path(__file__).resolve().parent.parent)
        self.tmp = tempfile.TemporaryDirectory(prefix="bookgen-join-")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [project, os.environ.get("PYTHONPATH")]))}
        # run in the temporary folder: `-m` puts the working folder first on sys.path, and another checkout's
        # bookgen/ there must not be the one that runs
        self.process = subprocess.Popen([sys.executable, "-m", "bookgen.join_pdf", "--wait"], env=env,
                                        cwd=self.tmp.name, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)

    def send(self, parts: list[bytes], *, body_start: int, fonts_kept=None, modified: str | None = None) -> None:
        """Give the join its parts; it works while this process goes on (`result()` waits for it). `fonts_kept`:
        the folder of what joins keep between builds (bookgen/group_cache.py's; join_fonts.JoinKept)."""
        import json
        from pathlib import Path

        tmp = Path(self.tmp.name)
        paths = []
        for i, data in enumerate(parts):
            path = tmp / f"part{i:05d}.pdf"
            path.write_bytes(data)
            paths.append(str(path))
        args = ["--fonts-kept", str(Path(fonts_kept).resolve())] if fonts_kept else []
        args += ["--modified", modified] if modified else []
        try:  # one line: it reads no further (communicate() closes the pipe)
            self.process.stdin.write(json.dumps([*args, str(tmp / "book.pdf"), str(body_start), *paths]) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it ended early: result() says why

    def result(self) -> tuple[bytes, list[str], dict, list]:
        """Once the join has ended: (the PDF, unresolved link ids, the entries it made {key: bytes} and the keys of
        the kept ones it used), for the build to keep once it has written its outputs."""
        import json
        from pathlib import Path

        tmp = Path(self.tmp.name)
        out = tmp / "book.pdf"
        stdout, stderr = self.process.communicate()
        if self.process.returncode == 3:  # JoinMismatch: the message is its last line
            _mismatch(stderr.strip().splitlines()[-1])
        if self.process.returncode != 0:
            raise RuntimeError(f"joining the chapter groups' PDFs failed:\n{stderr[-3000:]}")
        said = json.loads(stdout.strip().splitlines()[-1])
        programs = {key: (tmp / f"{key}.cff").read_bytes() for key in said["new"]}
        return out.read_bytes(), said["unresolved"], programs, said["used"]

    def close(self):
        """The process ended and its folder removed (at once: a join that was not waited for is killed)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()
        self.tmp.cleanup()


def _mismatch(message: str):
    from .errors import BookError, Problem
    raise BookError(Problem(None, "internal error: " + message, None,
                            "nothing was written; build with --jobs 0 to lay the book out as one "
                            "document, and please report this with the book"))


def _imported_ahead() -> None:
    """What merging the font subsets imports (fontTools, the tables of a CFF subset: 0.04 s), imported while the
    join waits for its parts."""
    from fontTools.ttLib import getTableModule

    from . import pdf_glyphs  # noqa: F401
    for tag in ("CFF ", "GDEF", "OS/2", "cmap", "head", "hhea", "hmtx", "maxp", "name", "post"):
        getTableModule(tag)


def main(argv=None) -> int:
    """python -m bookgen.join_pdf [--fonts-kept DIR] [--modified DATE] OUT BODY_START PART.pdf... (or --wait,
    and those arguments as a JSON list on standard input): prints as JSON the unresolved link ids, the keys of
    the font programs merged now (written beside OUT as KEY.cff) and of those kept in DIR that it used."""
    import json
    import sys
    from pathlib import Path

    from .join_fonts import JoinKept
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--wait"]:  # started before the parts are ready (JoinProcess): they come on standard input
        from .processes import die_with_parent
        die_with_parent()
        _imported_ahead()
        line = sys.stdin.readline()
        if not line:
            return 0  # the build needed no join after all
        argv = json.loads(line)
    kept = modified = None
    while argv[:1] in (["--fonts-kept"], ["--modified"]):
        if argv[0] == "--fonts-kept":
            kept = JoinKept(argv[1])
        else:
            modified = argv[1]
        argv = argv[2:]
    out, body_start, paths = argv[0], int(argv[1]), argv[2:]
    try:  # the parts read from their files one at a time
        unresolved = join_pdfs(paths, out, body_start=body_start, kept=kept, modified=modified)
    except JoinMismatch as e:
        print(e, file=sys.stderr)
        return 3
    new = kept.new if kept else {}
    for key, program in new.items():  # beside the joined PDF, for the build to keep
        (Path(out).parent / f"{key}.cff").write_bytes(program)
    print(json.dumps({"unresolved": unresolved, "new": sorted(new), "used": kept.used if kept else []}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The fonts of a joined PDF: each part embeds its own subset of a face; here they are told apart (renamed),
merged into one subset where the programs allow (`merge`), and given one text per glyph (`unify_texts`).
The /W and /ToUnicode readers and writers are also pdf_glyphs.py's, which checks the result glyph by glyph."""
from __future__ import annotations

import hashlib
import io
import json

from pikepdf import Array, Dictionary, Name


class FontSubsets:
    """The font subsets met in the parts, by the name WeasyPrint gave them."""

    def rename(self, pages, first: int) -> None:
        """Each part embeds its own subset of a font, and WeasyPrint names a subset after the font file
        (`ABCDEF+Name`): two parts give two different subsets the same name, which prepress tools may take for
        one font. A subset met again under a name already used is renamed (a tag made from its part)."""
        seen_here = set()
        for page in pages:
            resources = page.get("/Resources")
            fonts = resources.get("/Font") if isinstance(resources, Dictionary) else None
            if not isinstance(fonts, Dictionary):
                continue
            for key in list(fonts.keys()):
                font = fonts[key]
                if not isinstance(font, Dictionary) or font.objgen in seen_here:
                    continue
                seen_here.add(font.objgen)
                base = str(font.get("/BaseFont", ""))
                if len(base) < 8 or base[7] != "+":
                    continue
                self.subsets.setdefault(base, []).append(font)
                if base not in self.subset_names:
                    self.subset_names.add(base)
                    continue
                digest = hashlib.sha256(f"{base}:{first}".encode()).digest()
                tag = "".join(chr(ord("A") + b % 26) for b in digest[:6])
                new = Name("/" + tag + base[7:])
                self.subset_names.add(str(new))
                font.BaseFont = new
                for descendant in font.get("/DescendantFonts", []):
                    descendant.BaseFont = new
                    descriptor = descendant.get("/FontDescriptor")
                    if isinstance(descriptor, Dictionary):
                        descriptor.FontName = new
                descriptor = font.get("/FontDescriptor")
                if isinstance(descriptor, Dictionary):
                    descriptor.FontName = new

    def __init__(self, kept=None):
        self.subset_names: set = set()  # font subset names (`/ABCDEF+Name`) used so far
        self.subsets: dict = {}  # a subset's name as WeasyPrint wrote it -> its font dicts
        self.kept = kept  # what joins keep between builds (JoinKept), or None

    def merge(self, dst) -> None:
        """One font program for each face: the subsets the parts embed of one font file (WeasyPrint keeps each
        glyph's id in a subset, and its glyphs self-contained) become one subset with all their glyphs, and
        every page uses it. A face whose subsets cannot be merged so keeps one subset per part."""
        for base, fonts in self.subsets.items():
            if len(fonts) < 2:
                continue
            try:
                merged = merged_font(fonts, self.kept)
            except Exception:  # not a kind of font this knows how to merge: keep the subsets
                continue
            if merged is None:
                continue
            keep, program, widths, unicode = merged
            descendant = keep.DescendantFonts[0]
            descriptor = descendant.FontDescriptor
            descriptor.FontFile3.write(program)
            descendant.W = widths_array(widths)
            keep.ToUnicode.write(to_unicode_cmap(unicode))
            name = Name(base)
            keep.BaseFont = descendant.BaseFont = descriptor.FontName = name
            others = {f.objgen for f in fonts if f.objgen != keep.objgen}
            for page in dst.pages:
                resources = page.obj.get("/Resources")
                table = resources.get("/Font") if isinstance(resources, Dictionary) else None
                if not isinstance(table, Dictionary):
                    continue
                for key in list(table.keys()):
                    if table[key].objgen in others:
                        table[key] = keep

    def unify_texts(self, dst) -> None:
        """A glyph's text (/ToUnicode) as one document gives it: the text of its first use in the book. Each part
        maps a glyph to the text of its first use in that part (a mark or ligature glyph can stand for several
        texts), so subsets of one face (same glyph ids: WeasyPrint keeps them) get the book's first mapping."""
        for fonts in self.subsets.values():
            if len(fonts) < 2:
                continue
            first, tables = {}, []
            for font in fonts:
                entries = cmap_entries(font.get("/ToUnicode"))
                tables.append(entries)
                for cid, text in entries.items():
                    first.setdefault(cid, text)
            for font, entries in zip(fonts, tables):
                unified = {cid: first[cid] for cid in entries}
                if unified != entries:
                    font.ToUnicode = dst.make_stream(to_unicode_cmap(unified))


def merged_font(fonts, kept=None):
    """(the font dict to keep, its merged OpenType/CFF program, widths {cid: w}, ToUnicode {cid: hex}) for
    subsets of one CFF font with identity glyph ids and no subroutines; None when they are not such.
    One subset is read at a time (a book has one per chapter group and face)."""
    from fontTools.ttLib import TTFont

    candidates = []
    for font in fonts:
        if font.get("/Subtype") != Name.Type0 or len(font.get("/DescendantFonts", [])) != 1:
            return None
        descendant = font.DescendantFonts[0]
        descriptor = descendant.get("/FontDescriptor")
        program = descriptor.get("/FontFile3") if isinstance(descriptor, Dictionary) else None
        if (descendant.get("/Subtype") != Name.CIDFontType0 or program is None
                or program.get("/Subtype") != Name.OpenType or "/CIDSet" in descriptor
                or descendant.get("/CIDToGIDMap", Name.Identity) != Name.Identity):
            return None
        data = program.read_bytes()
        glyphs = TTFont(io.BytesIO(data), lazy=True)["maxp"].numGlyphs
        if max(widths_of(descendant.get("/W", [])), default=0) >= glyphs:
            # a character the font lacks (WeasyPrint gives it an id past the glyphs): its subsets stay apart,
            # as only they draw it as the font's box the way one document does
            return None
        candidates.append((glyphs, font, data, descendant))

    _, keep, data, descendant = max(candidates, key=lambda c: c[0])
    # the merged font's widths and texts: the kept subset's, then each glyph from the first part that has it
    widths = widths_of(descendant.get("/W", []))
    unicode = cmap_entries(keep.get("/ToUnicode"))
    sources = {}  # cid -> the subset to take its glyph program from
    for _, font, its_data, its_descendant in candidates:
        if font is keep:
            continue
        for cid, text in cmap_entries(font.get("/ToUnicode")).items():
            unicode.setdefault(cid, text)  # the first part's text for a glyph, as in one document
        for cid, width in widths_of(its_descendant.get("/W", [])).items():
            if cid not in widths:
                widths[cid] = width
                sources[cid] = its_data
    # A glyph's program is the same in every subset of one font file (WeasyPrint keeps its id, fontTools writes
    # it without subroutines): the merged program is the kept subset's with the other glyphs added, whichever
    # part they came from. Kept between builds under that: an edit that adds no glyph merges nothing.
    key = hashlib.sha256(data + json.dumps(sorted(widths)).encode()).hexdigest()
    program = kept.get(key) if kept is not None else None
    if program is None:
        program = _merged_program(data, sources)
        if program is None:
            return None
        if kept is not None:
            kept.put(key, program)
    return keep, program, widths, unicode


def _merged_program(data: bytes, sources: dict) -> bytes | None:
    """The subset `data` with the glyphs `sources` (cid -> the subset holding it) added; None when it cannot be."""
    from fontTools.ttLib import TTFont

    def load(data):
        # the same bytes from one build to the next; the subset's bounding box kept (the PDF gives the font's)
        tt = TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False)
        if "CFF " not in tt:
            return None, None
        cff = tt["CFF "].cff
        top = cff.topDictIndex[0]
        if hasattr(top, "ROS") or len(cff.GlobalSubrs) or getattr(top.Private, "Subrs", None):
            return None, None  # CID-keyed, or glyphs that call subroutines: their programs cannot move
        return tt, top

    base, base_top = load(data)
    if base is None:
        return None
    order = base.getGlyphOrder()
    private = base_top.Private
    by_subset: dict = {}
    for cid, its_data in sources.items():
        by_subset.setdefault(id(its_data), (its_data, []))[1].append(cid)
    for its_data, cids in by_subset.values():
        tt, top = load(its_data)
        if tt is None:
            return None
        if (getattr(top.Private, "nominalWidthX", 0) != getattr(private, "nominalWidthX", 0)
                or getattr(top.Private, "defaultWidthX", 0) != getattr(private, "defaultWidthX", 0)):
            return None  # widths inside the glyph programs would read differently
        its_order = tt.getGlyphOrder()
        for cid in cids:
            if cid >= len(its_order) or cid >= len(order) or order[cid] != its_order[cid]:
                return None
            name = order[cid]
            base_top.CharStrings[name] = top.CharStrings[name]
            base["hmtx"][name] = tt["hmtx"][name]
        del tt, top
    out = io.BytesIO()
    base.save(out)
    return out.getvalue()


class JoinKept:
    """What the join keeps between builds, as entries of the chapter groups' cache (bookgen/group_cache.py):
    merged font programs (kind "font") and what each part's pages show (kind "shown", join_pdf._shown_pages).
    Read here (the join's process), written by the build once it has written its outputs (`new`, `used`)."""

    def __init__(self, folder):
        from .group_cache import GroupCache
        self.cache = GroupCache(folder)
        self.new: dict = {}  # key -> bytes, made by this join
        self.used: list = []  # keys of the kept entries this join used

    def get(self, key: str, kind: str = "font") -> bytes | None:
        entry = self.cache.get(f"{kind}-{key}")
        if entry is None or not isinstance(entry.get("pdf"), bytes):
            return None
        self.used.append(f"{kind}-{key}")
        return entry["pdf"]

    def put(self, key: str, data: bytes, kind: str = "font") -> None:
        self.new[f"{kind}-{key}"] = data


def widths_of(array) -> dict:
    """A /W array ([c [w1 w2 ...]] or [c_first c_last w]) as {cid: width}."""
    out, items, i = {}, list(array), 0
    while i < len(items):
        first = int(items[i])
        if isinstance(items[i + 1], Array):
            for n, w in enumerate(items[i + 1]):
                out[first + n] = float(w)
            i += 2
        else:
            for cid in range(first, int(items[i + 1]) + 1):
                out[cid] = float(items[i + 2])
            i += 3
    return out


def widths_array(widths: dict) -> Array:
    out, run = [], []
    for cid in sorted(widths):
        if run and cid != run[-1][0] + 1:
            out += [run[0][0], Array([num(w) for _, w in run])]
            run = []
        run.append((cid, widths[cid]))
    if run:
        out += [run[0][0], Array([num(w) for _, w in run])]
    return Array(out)


def cmap_entries(stream) -> dict:
    """{cid: hex text} from a ToUnicode CMap's bfchar and bfrange entries."""
    import re
    if stream is None:
        return {}
    text = stream.read_bytes().decode("latin-1")
    out = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>", block):
            out[int(src, 16)] = dst.lower()
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            for n, cid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[cid] = f"{int(dst, 16) + n:0{len(dst)}x}"
    return out


def to_unicode_cmap(entries: dict) -> bytes:
    lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap", "/CIDSystemInfo",
             "<< /Registry (Adobe)", "/Ordering (UCS)", "/Supplement 0", ">> def",
             "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def", "1 begincodespacerange", "<0000> <ffff>",
             "endcodespacerange"]
    items = sorted(entries.items())
    for start in range(0, len(items), 100):  # at most 100 entries in a block
        chunk = items[start:start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += [f"<{cid:04x}> <{text}>" for cid, text in chunk]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def num(value: float):
    value = round(value, 6)
    return int(value) if value == int(value) else value

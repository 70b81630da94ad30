"""bookgen.join_pdf: join tagged WeasyPrint parts into one book PDF.

Real WeasyPrint parts, read back with pikepdf, pypdf and poppler (pdfinfo, pdftotext).
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pikepdf
import pypdf
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bookgen.join_pdf import join_pdfs  # noqa: E402

CSS = """
@page { size: 120mm 160mm; margin: 15mm; bleed: 3mm; @top-center { content: string(chap) } }
h1 { string-set: chap content() }
.new { break-before: page }
"""


def html(title, body, lang="en"):
    return (f'<html lang="{lang}"><head><title>{title}</title><meta name="author" content="A. Writer">'
            f'<style>{CSS}</style></head><body>{body}</body></html>')


PART1 = html("Front", """
<h1 id="pre">Preface</h1>
<p>Front matter text, see <a href="#pnote">the note</a> and
<a href="bookgen-xref:sec2">chapter one</a> and <a href="https://example.org/">a site</a>.</p>
<h2 id="pnote" class="new">Note</h2><p>A note on the second page.</p>
""")
PART2 = html("Whole book", """
<h1 id="sec2">Chapter One</h1>
<p>Body text with <a href="#det">details</a> and <a href="bookgen-xref:nowhere">a lost link</a>.</p>
<h2 id="det" class="new">Details</h2><p>Detail text.</p>
""", lang="en-GB")
PART3 = html("Third", """
<h1 id="skipped">Skipped</h1><p>This page is not written.</p>
<h1 id="ch2" class="new">Chapter Two</h1><p>Back to <a href="bookgen-xref:pre">the preface</a>.</p>
<h2 id="aft" class="new">Afterword</h2><p>The end.</p>
""")
EXPECTED_OUTLINE = [(0, "Preface", 0), (1, "Note", 1), (0, "Chapter One", 2), (1, "Details", 3),
                    (0, "Chapter Two", 4), (1, "Afterword", 5)]


@pytest.fixture(scope="module")
def docs():
    import weasyprint
    return [weasyprint.HTML(string=source).render(pdf_variant="pdf/ua-1")
            for source in (PART1, PART2, PART3)]


@pytest.fixture(scope="module")
def parts(docs):
    d1, d2, d3 = docs
    return [d1.write_pdf(pdf_variant="pdf/ua-1"), d2.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=b"book-42"),
            d3.copy(d3.pages[1:]).write_pdf(pdf_variant="pdf/ua-1")]  # a part from copy()


@pytest.fixture(scope="module")
def joined(parts, tmp_path_factory):
    path = tmp_path_factory.mktemp("join") / "book.pdf"
    started = time.time()
    unresolved = join_pdfs(parts, path, body_start=2, bleed_pt=5, metadata_from=1)
    return path, unresolved, started


@pytest.fixture(scope="module")
def pdf(joined):
    with pikepdf.open(joined[0]) as document:
        yield document


def page_counts(parts):
    return [len(pikepdf.open(io.BytesIO(p)).pages) for p in parts]


def page_index(pdf):
    return {page.obj.objgen: i for i, page in enumerate(pdf.pages)}


def page_texts(data_or_path):
    if isinstance(data_or_path, bytes):
        run = subprocess.run(["pdftotext", "-", "-"], input=data_or_path, capture_output=True, check=True)
    else:
        run = subprocess.run(["pdftotext", str(data_or_path), "-"], capture_output=True, check=True)
    pages = run.stdout.decode().split("\f")
    assert pages[-1].strip() == ""
    return pages[:-1]


def name_tree(pdf):
    return {str(k): v for k, v in pikepdf.NameTree(pdf.Root.Names.Dests).items()}


def test_pages_and_tagged(parts, joined, pdf):
    assert page_counts(parts) == [2, 2, 2]
    info = subprocess.run(["pdfinfo", str(joined[0])], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+6$", info, re.M)
    assert re.search(r"^Tagged:\s+yes$", info, re.M)
    assert len(pdf.pages) == 6
    for page in pdf.pages:
        assert page.obj.Tabs == pikepdf.Name.S
        assert "/Resources" in page.obj and "/TrimBox" in page.obj


def test_text_of_every_page_is_kept(parts, joined):
    expected = [text for part in parts for text in page_texts(part)]
    assert len(expected) == 6 and "Chapter One" in expected[2]
    assert page_texts(joined[0]) == expected


def test_one_document_element_with_all_children(parts, pdf):
    root = pdf.Root.StructTreeRoot
    assert len(root.K) == 1
    document = root.K[0]
    assert document.S == pikepdf.Name.Document and document.P.objgen == root.objgen
    expected = []
    for part in parts:
        with pikepdf.open(io.BytesIO(part)) as source:
            expected += [(str(kid.S), str(kid.get("/Pg", {}).get("/Type", "")))
                         for kid in source.Root.StructTreeRoot.K[0].K]
    assert [(str(kid.S), str(kid.get("/Pg", {}).get("/Type", ""))) for kid in document.K] == expected
    assert len(expected) >= 9
    for kid in document.K:
        assert kid.P.objgen == document.objgen
    # The old per-part roots and Document elements must not have been written.
    documents = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and o.get("/S") == "/Document"]
    roots = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
             and o.get("/Type") in ("/StructTreeRoot", "/Catalog", "/Outlines")]
    assert [d.objgen for d in documents] == [document.objgen]
    assert sorted(str(o.get("/Type")) for o in roots) == ["/Catalog", "/StructTreeRoot"]


def parent_tree(pdf):
    nums = list(pdf.Root.StructTreeRoot.ParentTree.Nums)
    keys = nums[0::2]
    assert keys == sorted(set(keys)), "parent tree keys must be unique and sorted"
    return dict(zip(keys, nums[1::2]))


def test_pages_map_to_their_struct_elements(pdf):
    tree = parent_tree(pdf)
    root = pdf.Root.StructTreeRoot
    assert root.ParentTreeNextKey == max(tree) + 1
    document = root.K[0]
    for index, page in enumerate(pdf.pages):
        assert page.obj.StructParents == index
        elements = tree[index]
        assert isinstance(elements, pikepdf.Array) and len(elements) >= 2
        for element in elements:
            assert element.Pg.objgen == page.obj.objgen
            # Every element (running heads too) leads up to the one Document and root.
            node, hops = element, 0
            while node.objgen != document.objgen:
                node, hops = node.P, hops + 1
                assert hops < 50
            assert node.P.objgen == root.objgen


def test_annotations_map_to_their_link_elements(pdf):
    tree = parent_tree(pdf)
    pages = page_index(pdf)
    keys = []
    for index, page in enumerate(pdf.pages):
        for annot in page.obj.get("/Annots", []):
            key = annot.StructParent
            keys.append(key)
            element = tree[key]
            assert element.S == pikepdf.Name.Link
            objrs = [k for k in element.K if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR"]
            assert [o.Obj.objgen for o in objrs] == [annot.objgen]
            assert pages[objrs[0].Pg.objgen] == index
    assert len(keys) == 6
    assert len(set(keys)) == len(keys)
    assert min(keys) >= len(pdf.pages)
    assert sorted(keys) == list(range(len(pdf.pages), len(pdf.pages) + len(keys)))


def test_named_destinations_merged_and_sorted(pdf):
    names = list(pdf.Root.Names.Dests.Names)
    keys = [bytes(k) for k in names[0::2]]
    assert keys == sorted(keys)
    pages = page_index(pdf)
    dests = name_tree(pdf)
    assert {n: pages[d[0].objgen] for n, d in dests.items()} == {
        "pre": 0, "pnote": 1, "sec2": 2, "det": 3, "ch2": 4, "aft": 5}


def links(pdf):
    result = []
    for index, page in enumerate(pdf.pages):
        for annot in page.obj.get("/Annots", []):
            result.append((index, annot))
    return result


def test_cross_part_links_resolve(joined, pdf):
    assert joined[1] == ["nowhere"]
    pages = page_index(pdf)
    dests = name_tree(pdf)
    by_contents = {str(a.Contents): (i, a) for i, a in links(pdf)}
    for name, from_page, to_page in [("sec2", 0, 2), ("pre", 4, 0), ("pnote", 0, 1), ("det", 2, 3)]:
        index, annot = by_contents[name]
        assert index == from_page
        assert "/A" not in annot
        assert str(annot.Dest) == name
        assert pages[dests[str(annot.Dest)][0].objgen] == to_page
    index, lost = by_contents["nowhere"]
    assert index == 2 and str(lost.Dest) == "nowhere" and "/A" not in lost
    external = by_contents["https://example.org/"][1]
    assert str(external.A.URI) == "https://example.org/"
    # poppler resolves the names to the same pages (1-based)
    out = subprocess.run(["pdfinfo", "-dests", str(joined[0])], capture_output=True, text=True,
                         check=True).stdout
    found = {m[1]: int(m[0]) for m in re.findall(r'^\s*(\d+) \[.*\] "(.*)"$', out, re.M)}
    assert found == {"pre": 1, "pnote": 2, "sec2": 3, "det": 4, "ch2": 5, "aft": 6}
    # pypdf follows the link's named destination to the first page of part 2
    reader = pypdf.PdfReader(joined[0])
    assert reader.get_destination_page_number(reader.named_destinations["sec2"]) == 2


def flat_outline(reader, items, level=0):
    result = []
    for item in items:
        if isinstance(item, list):
            result += flat_outline(reader, item, level + 1)
        else:
            result.append((level, item.title, reader.get_destination_page_number(item)))
    return result


def test_outline(joined, pdf):
    reader = pypdf.PdfReader(joined[0])
    assert flat_outline(reader, reader.outline) == EXPECTED_OUTLINE
    outlines = pdf.Root.Outlines
    assert outlines.Count == 6
    top = [outlines.First]
    while "/Next" in top[-1]:
        top.append(top[-1].Next)
    assert [str(t.Title) for t in top] == ["Preface", "Chapter One", "Chapter Two"]
    assert top[-1].objgen == outlines.Last.objgen
    for previous, item in zip(top, top[1:]):
        assert item.Prev.objgen == previous.objgen
    assert all(t.Parent.objgen == outlines.objgen for t in top) and "/Prev" not in top[0]
    assert [int(t.Count) for t in top] == [1, 1, 1]


def test_same_as_one_weasyprint_run(docs, joined, pdf):
    """What WeasyPrint writes for all the pages at once has the same outline and tags."""
    d1, d2, d3 = docs
    whole = d1.copy(d1.pages + d2.pages + d3.pages[1:]).write_pdf(pdf_variant="pdf/ua-1")
    reader = pypdf.PdfReader(io.BytesIO(whole))
    assert flat_outline(reader, reader.outline) == EXPECTED_OUTLINE
    with pikepdf.open(io.BytesIO(whole)) as one:
        assert one.Root.Outlines.Count == pdf.Root.Outlines.Count
        ours, theirs = page_index(pdf), page_index(one)
        kids = lambda d, idx: [(str(k.S), idx[k.Pg.objgen]) for k in d.Root.StructTreeRoot.K[0].K]  # noqa: E731
        assert kids(pdf, ours) == kids(one, theirs)
        assert len(parent_tree(pdf)) == len(parent_tree(one))
    assert page_texts(whole) == page_texts(joined[0])


def label_ranges(pdf):
    nums = list(pdf.Root.PageLabels.Nums)
    return [(key, str(d.S), int(d.get("/St", 1))) for key, d in zip(nums[0::2], nums[1::2])]


def test_page_labels(parts, joined, pdf):
    assert pypdf.PdfReader(joined[0]).page_labels == ["i", "ii", "1", "2", "3", "4"]
    assert label_ranges(pdf) == [(0, "/r", 1), (2, "/D", 1)]
    for body_start, labels, ranges in [
            (0, ["1", "2", "3", "4", "5", "6"], [(0, "/D", 1)]),
            (1, ["i", "1", "2", "3", "4", "5"], [(0, "/r", 1), (1, "/D", 1)]),
            (6, ["i", "ii", "iii", "iv", "v", "vi"], [(0, "/r", 1)]),
            (9, ["i", "ii", "iii", "iv", "v", "vi"], [(0, "/r", 1)])]:
        out = io.BytesIO()
        join_pdfs(parts, out, body_start=body_start)
        out.seek(0)
        assert pypdf.PdfReader(out).page_labels == labels, body_start
        with pikepdf.open(out) as result:
            assert label_ranges(result) == ranges, body_start


def test_bleed_box(parts, pdf):
    for page in pdf.pages:
        trim = [float(x) for x in page.obj.TrimBox]
        bleed = [float(x) for x in page.obj.BleedBox]
        assert bleed == pytest.approx([trim[0] - 5, trim[1] - 5, trim[2] + 5, trim[3] + 5])
    out = io.BytesIO()
    join_pdfs(parts, out, body_start=0)  # no bleed_pt: WeasyPrint's own boxes are kept
    out.seek(0)
    with pikepdf.open(out) as plain, pikepdf.open(io.BytesIO(parts[0])) as first:
        assert list(plain.pages[0].obj.BleedBox) == list(first.pages[0].obj.BleedBox)
        assert list(plain.pages[0].obj.MediaBox) == list(first.pages[0].obj.MediaBox)
    # A bleed larger than the page's CSS bleed (3 mm, 8.5 pt) is clipped to the MediaBox.
    out = io.BytesIO()
    with pytest.warns(UserWarning, match="clipped"):
        join_pdfs(parts, out, body_start=0, bleed_pt=20)
    out.seek(0)
    with pikepdf.open(out) as wide:
        for page in wide.pages:
            assert [float(x) for x in page.obj.BleedBox] == [float(x) for x in page.obj.MediaBox]
            assert float(page.obj.TrimBox[0]) - float(page.obj.MediaBox[0]) == pytest.approx(8.5039, abs=1e-3)


def test_metadata_from_chosen_part(parts, pdf):
    with pikepdf.open(io.BytesIO(parts[1])) as source:
        assert str(pdf.docinfo.Title) == "Whole book" == str(source.docinfo.Title)
        assert str(pdf.docinfo.Author) == "A. Writer"
        assert str(pdf.docinfo.Producer) == str(source.docinfo.Producer)
        assert str(pdf.Root.Lang) == "en-GB"
        # The parts in another language than the chosen one keep theirs on their elements.
        langs = [str(kid.get("/Lang", "")) for kid in pdf.Root.StructTreeRoot.K[0].K]
        assert langs[0] == "en" and langs[-1] == "en" and "" in langs
        assert set(langs) == {"en", ""}
        assert pdf.Root.Metadata.read_bytes() == source.Root.Metadata.read_bytes()
        assert b"Whole book" in pdf.Root.Metadata.read_bytes()
        assert bool(pdf.Root.MarkInfo.Marked) is True
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle) is True
        assert pdf.pdf_version == source.pdf_version
        assert bytes(pdf.trailer.ID[0]) == b"book-42" == bytes(source.trailer.ID[0])


def test_reproducible(parts, joined, tmp_path):
    # Join again in a later second, so that a time stamp or time-seeded /ID would show.
    time.sleep(max(0.0, joined[2] + 1.1 - time.time()))
    again = tmp_path / "again.pdf"
    assert join_pdfs(parts, again, body_start=2, bleed_pt=5, metadata_from=1) == ["nowhere"]
    stream = io.BytesIO()
    join_pdfs(parts, stream, body_start=2, bleed_pt=5, metadata_from=1)
    data = joined[0].read_bytes()
    assert again.read_bytes() == data == stream.getvalue()
    with pikepdf.open(joined[0]) as result:
        assert len(result.trailer.ID) == 2 and len(bytes(result.trailer.ID[1])) == 16
    other = io.BytesIO()
    join_pdfs(parts, other, body_start=1, bleed_pt=5, metadata_from=1)
    assert other.getvalue() != data


def test_parts_given_as_files_join_to_the_same_bytes(parts, joined, tmp_path):
    """The join process reads its parts from files, one at a time (each closed before the next is opened): the
    same PDF as from the parts in memory."""
    paths = []
    for i, data in enumerate(parts):
        paths.append(tmp_path / f"part{i}.pdf")
        paths[-1].write_bytes(data)
    out = tmp_path / "from-files.pdf"
    assert join_pdfs(paths, out, body_start=2, bleed_pt=5, metadata_from=1) == ["nowhere"]
    assert out.read_bytes() == joined[0].read_bytes()


def test_bad_arguments(parts):
    with pytest.raises(ValueError):
        join_pdfs(parts, io.BytesIO(), body_start=0, metadata_from=3)
    with pytest.raises(ValueError):
        join_pdfs([], io.BytesIO(), body_start=0)


def test_duplicate_names_and_non_ascii_ids():
    import weasyprint
    first = html("One", '<h1 id="dup">One</h1><p><a href="#dup">to one</a> '
                        '<a href="bookgen-xref:caf\u00e9 au lait">to two</a></p>')
    second = html("Two", '<h1 id="caf\u00e9 au lait">Two</h1><p id="dup">again</p><p><a href="#dup">to two</a></p>')
    parts = [weasyprint.HTML(string=s).write_pdf(pdf_variant="pdf/ua-1") for s in (first, second)]
    out = io.BytesIO()
    with pytest.warns(UserWarning, match="'dup'"):
        assert join_pdfs(parts, out, body_start=0) == []
    out.seek(0)
    with pikepdf.open(out) as result:
        pages = page_index(result)
        dests = name_tree(result)
        assert pages[dests["dup"][0].objgen] == 0  # the first part keeps the name
        assert pages[dests["caf\u00e9 au lait"][0].objgen] == 1
        keys = [bytes(k) for k in list(result.Root.Names.Dests.Names)[0::2]]
        assert keys == sorted(keys) and len(keys) == 2
        (a1, a2), (b1,) = [list(p.obj.Annots) for p in result.pages]
        assert str(a1.Dest) == "dup"
        assert str(a2.Dest) == "caf\u00e9 au lait" and str(a2.Contents) == "caf\u00e9 au lait"
        # the second part's own link still goes to its own "dup", on page 2
        assert isinstance(b1.Dest, pikepdf.Array) and pages[b1.Dest[0].objgen] == 1


def test_raw_xref_written_into_page_links():
    """Like bookgen.split_layout: an internal link whose target is in another part becomes
    an external link to bookgen-xref:<raw id> in WeasyPrint's page.links."""
    import weasyprint
    ids = ["a%41", "\u00e9t\u00e9"]  # WeasyPrint decodes href="#a%2541" to the target a%41
    doc = weasyprint.HTML(string=html("One", "<h1>One</h1><p>"
                                      '<a href="#a%2541">x</a> <a href="#\u00e9t\u00e9">y</a></p>')).render()
    for page in doc.pages:
        page.links[:] = [("external", "bookgen-xref:" + target, rect, box) if kind == "internal"
                         else (kind, target, rect, box) for kind, target, rect, box in page.links]
    first = doc.write_pdf(pdf_variant="pdf/ua-1")
    second = weasyprint.HTML(string=html("Two", "".join(f'<h1 id="{i}" class="new">{i}</h1>' for i in ids + ["aA"]))
                             ).write_pdf(pdf_variant="pdf/ua-1")
    out = io.BytesIO()
    assert join_pdfs([first, second], out, body_start=0) == []
    out.seek(0)
    with pikepdf.open(out) as result:
        pages = page_index(result)
        dests = name_tree(result)
        annots = list(result.pages[0].obj.Annots)
        assert [str(a.Dest) for a in annots] == ids  # the raw id wins over its decoding "aA"
        assert [pages[dests[str(a.Dest)][0].objgen] for a in annots] == [1, 2]
        assert pages[dests["aA"][0].objgen] == 3

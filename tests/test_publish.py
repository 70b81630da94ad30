"""Issue 16: the book as a publisher would print it (chapter openings, even page count, contents leaders, word
gaps, copyright date and ISBN), read back from the built PDF and EPUB with poppler and lxml."""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import pytest
from lxml import etree
from pypdf import PdfReader

from conftest import FIXTURES, build_into, run_cli

PUBLISH_BOOK = FIXTURES / "publish"
NATURAL_SPACE_EM = 0.25  # Linux Libertine O's space glyph: 500/2000 units (its hmtx table)
MAX_GAP_EM = 0.5  # twice the natural space, half an em: the loosest word space a typesetter lets through
EM_PER_BOX = 1 / 1.14  # pdftotext's word box is 1.14 em tall for this face


def lines_of(pdf):
    """Per page, the text blocks' lines as (line xMax, [(xMin, yMin, xMax, yMax, text)], block xMax)."""
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    root = etree.fromstring(xml, etree.XMLParser(recover=True))
    pages = []
    for page in root.iter("{*}page"):
        blocks = []
        for block in page.iter("{*}block"):
            lines = [[(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")), float(w.get("yMax")), w.text)
                      for w in line.iter("{*}word")] for line in block.iter("{*}line")]
            blocks.append(lines)
        pages.append(blocks)
    return pages


def widest_gaps(pdf):
    """(gap in em, page, line text) for each justified line: every line of a block but its last, that reaches
    the block's right edge; the space after a note's number (an en space by design) is not a word space."""
    found = []
    for n, blocks in enumerate(lines_of(pdf), 1):
        for lines in blocks:
            right = max(w[2] for line in lines for w in line)
            for ws in lines[:-1]:
                if len(ws) < 3 or ws[-1][2] < right - 0.5:
                    continue
                em = max(w[3] - w[1] for w in ws) * EM_PER_BOX
                gaps = [(b[0] - a[2]) / em for a, b in zip(ws, ws[1:])
                        if not (a is ws[0] and a[4].rstrip(".").isdigit())]
                found.append((max(gaps), n, " ".join(w[4] for w in ws)))
    return sorted(found, reverse=True)


def pdf_of(result):
    return result.outputs["pdf"]


def test_default_book_runs_on_with_running_heads_and_an_even_page_count(default_build):
    reader = PdfReader(pdf_of(default_build))
    assert len(reader.pages) % 2 == 0
    assert len(reader.pages) <= 12, "nine short sections run on: no page left blank before each"
    text = [page.extract_text() for page in reader.pages]
    blank = [n + 1 for n, t in enumerate(text) if not t.strip()]
    assert len(blank) <= 2, f"blank pages {blank}"
    # Running heads: above the text block (the top 8% of the page; the text block starts lower) of body pages after the first: the book's
    # title on left pages, a section's title on right pages.
    height = float(reader.pages[0].mediabox.height)
    heads = [" ".join(w[4] for lines in blocks for ws in lines for w in ws if w[3] < 0.08 * height)
             for blocks in lines_of(pdf_of(default_build))]
    body = heads[6:]  # after the front matter and the first section's opening page
    assert any("Neutrality" in h and "Understanding" in h.title() for h in body[0::2] + body[1::2]), heads
    assert any("Aftermath" in h or "Provisions" in h for h in body), heads


def test_no_word_gap_of_the_default_book_is_wider_than_half_an_em(default_build):
    gaps = widest_gaps(pdf_of(default_build))
    assert len(gaps) > 30, "the measure found the justified lines"
    worst = gaps[0]
    assert worst[0] <= MAX_GAP_EM, f"page {worst[1]}: a word gap of {worst[0]:.2f} em in '{worst[2]}'"


def test_contents_leaders_keep_clear_of_the_title_and_reach_the_folio(default_build):
    checked = 0
    for blocks in lines_of(pdf_of(default_build))[:6]:
        for lines in blocks:
            for ws in lines:
                dots = [i for i, w in enumerate(ws) if w[4] == "."]
                if len(dots) < 5:
                    continue
                title_end, first_dot = ws[dots[0] - 1][2], ws[dots[0]][0]
                last_dot, folio = ws[dots[-1]][2], ws[dots[-1] + 1][0]
                em = (ws[0][3] - ws[0][1]) * EM_PER_BOX
                assert 0.3 * em <= first_dot - title_end <= 1.5 * em, ws[dots[0] - 1][4]
                assert folio - last_dot <= 0.6 * em, ws[dots[-1] + 1][4]
                checked += 1
    assert checked == 9  # the nine sections of the default book


def test_copyright_page_dates_in_words_and_prints_no_uuid(default_build):
    text = "".join(page.extract_text() for page in PdfReader(pdf_of(default_build)).pages[:5])
    assert "November 25, 2026" in text  # book.toml: date = 2026-11-25, language en-US
    assert "2026-11-25" not in text
    assert "urn:uuid" not in text


@pytest.fixture(scope="module")
def french_build(tmp_path_factory):
    return build_into(PUBLISH_BOOK, tmp_path_factory.mktemp("publish"))


def test_isbn_is_printed_and_is_the_epub_identifier(french_build):
    text = "".join(page.extract_text() for page in PdfReader(pdf_of(french_build)).pages[:6])
    assert "ISBN 978-2-07-036822-8" in text
    assert "7 mars 2025" in text  # date = 2025-03-07 in French
    with zipfile.ZipFile(french_build.outputs["epub"]) as z:
        opf = next(n for n in z.namelist() if n.endswith(".opf"))
        tree = etree.fromstring(z.read(opf))
    ids = tree.xpath("//dc:identifier/text()", namespaces={"dc": "http://purl.org/dc/elements/1.1/"})
    assert ids == ["urn:isbn:9782070368228"]


def test_recto_openings_and_even_count(french_build):
    reader = PdfReader(pdf_of(french_build))
    assert len(reader.pages) % 2 == 0
    for title in ("La source", "Les moulins", "L’estuaire"):
        pages = [n for n, p in enumerate(reader.pages) if title in (p.extract_text() or "").splitlines()[:3]]
        assert pages and pages[0] % 2 == 0, f"{title} opens on page {pages[0] + 1 if pages else None}"


def edited(tmp_path, old, new):
    book = tmp_path / "book"
    shutil.copytree(PUBLISH_BOOK, book)
    toml = book / "book.toml"
    assert old in toml.read_text(encoding="utf-8")
    toml.write_text(toml.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return book


def test_a_mistyped_isbn_is_an_error_naming_the_line(tmp_path):
    book = edited(tmp_path, 'isbn = "978-2-07-036822-8"', 'isbn = "978-2-07-036822-9"')
    done = run_cli("--book", book, "--out", tmp_path / "out")
    assert done.returncode == 1
    assert "book.toml:5: ISBN '978-2-07-036822-9' has the check digit 9, but its other digits give 8" in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.pdf"))


def test_an_unknown_chapter_opening_is_an_error(tmp_path):
    book = edited(tmp_path, 'chapter-open = "recto"', 'chapter-open = "verso"')
    done = run_cli("--book", book, "--out", tmp_path / "out")
    assert done.returncode == 1
    assert "book.toml:10: chapter-open 'verso' is not one of recto, any, continuous" in done.stderr


def test_chapters_open_on_the_next_page_with_any(tmp_path):
    book = edited(tmp_path, 'chapter-open = "recto"', 'chapter-open = "any"')
    reader = PdfReader(build_into(book, tmp_path / "out").outputs["pdf"])
    starts = [n for n, p in enumerate(reader.pages)
              for title in ("La source", "Les moulins", "L’estuaire") if title in (p.extract_text() or "").splitlines()[:3]]
    assert starts[1:] == [starts[0] + 1, starts[0] + 2], starts
    assert len(reader.pages) % 2 == 0


MM = 72 / 25.4
A5 = (148 * MM, 210 * MM)  # the fixture's page-size
BLEED = 3 * MM  # the default bleed
CREAM_PAGE_IN = 0.0025  # KDP's published thickness of a cream page


@pytest.fixture(scope="module")
def press_build(tmp_path_factory):
    return build_into(PUBLISH_BOOK, tmp_path_factory.mktemp("press"), formats=("pdf", "print", "cover"))


def boxes(page):
    return {name: [float(v) for v in page[name]] for name in ("/MediaBox", "/TrimBox", "/BleedBox") if name in page}


def test_print_interior_is_pdfx_with_bleed_and_no_links(press_build):
    import pikepdf
    with pikepdf.open(press_build.outputs["print"]) as pdf:
        assert len(pdf.pages) % 2 == 0
        assert pdf.pdf_version >= "1.6"
        with pdf.open_metadata() as xmp:
            assert xmp.get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
        check_pdfx4(pdf)
        for page in pdf.pages:
            b = boxes(page.obj)
            left, bottom, right, top = b["/TrimBox"]
            assert right - left == pytest.approx(A5[0], abs=0.05) and top - bottom == pytest.approx(A5[1], abs=0.05)
            assert b["/BleedBox"] == pytest.approx([left - BLEED, bottom - BLEED, right + BLEED, top + BLEED], abs=0.05)
            assert "/Annots" not in page.obj
            content = page.obj.Contents.read_bytes() if "/Contents" in page.obj else b""  # the added blank: none
            assert b" rg\n" not in content and b" RG\n" not in content  # no device RGB in a PDF/X
        fonts = [f for f in pdf.objects if isinstance(f, pikepdf.Dictionary) and f.get("/Type") == "/FontDescriptor"]
        assert fonts and all(any(k in f for k in ("/FontFile", "/FontFile2", "/FontFile3")) for f in fonts)
    # the screen PDF keeps its links and its tags
    with pikepdf.open(press_build.outputs["pdf"]) as screen:
        assert any("/Annots" in page.obj for page in screen.pages)
        assert "/StructTreeRoot" in screen.Root


def check_pdfx4(pdf) -> None:
    """What a preflight checks first in a PDF/X-4 (ISO 15930-7): an output intent with its CMYK printer profile
    embedded, a title, the trapped key, a file identifier, no encryption, and boxes nested media > bleed > trim."""
    import io

    import pikepdf
    from PIL import ImageCms
    assert pdf.check_pdf_syntax() == []  # qpdf reads every object and stream without a complaint
    xmp = pdf.Root.Metadata.read_bytes().decode("utf-8")
    assert re.search(r"<pdfxid:GTS_PDFXVersion>PDF/X-4</pdfxid:GTS_PDFXVersion>", xmp)  # how X-4 names itself
    assert "/Annots" not in pdf.pages[0] and not any("/Annots" in page for page in pdf.pages)
    intent = pdf.Root.OutputIntents[0]
    profile = intent.DestOutputProfile
    assert int(profile.N) == 4
    icc = profile.read_bytes()
    assert icc[12:16] == b"prtr" and icc[16:20] == b"CMYK" and icc[36:40] == b"acsp"  # an output profile, CMYK
    assert int.from_bytes(icc[0:4], "big") == len(icc)
    assert "FOGRA39" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    assert str(pdf.docinfo.get("/Trapped")) in ("/True", "/False")
    assert not pdf.is_encrypted and len(pdf.trailer.ID) == 2
    pictures = [o for o in pdf.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"]
    assert all(p.get("/ColorSpace") != pikepdf.Name.DeviceRGB for p in pictures)  # colour-managed, never device RGB
    with pdf.open_metadata() as xmp:
        assert xmp.get("dc:title")
    for page in pdf.pages:
        b = boxes(page.obj)
        media, bleed, trim = b["/MediaBox"], b.get("/BleedBox", b["/MediaBox"]), b["/TrimBox"]
        assert media[0] <= bleed[0] <= trim[0] and media[1] <= bleed[1] <= trim[1]
        assert trim[2] <= bleed[2] <= media[2] and trim[3] <= bleed[3] <= media[3]


def test_cover_is_back_spine_and_front_with_bleed(press_build):
    import pikepdf
    with pikepdf.open(press_build.outputs["print"]) as interior:
        pages = len(interior.pages)
    with pikepdf.open(press_build.outputs["cover"]) as pdf:
        check_pdfx4(pdf)
        assert len(pdf.pages) == 1
        b = boxes(pdf.pages[0].obj)
    spine = pages * CREAM_PAGE_IN * 72  # paper = "cream" in the fixture
    width, height = b["/MediaBox"][2] - b["/MediaBox"][0], b["/MediaBox"][3] - b["/MediaBox"][1]
    assert width == pytest.approx(2 * A5[0] + spine + 2 * BLEED, abs=0.05)
    assert height == pytest.approx(A5[1] + 2 * BLEED, abs=0.05)
    assert b["/TrimBox"] == pytest.approx([BLEED, BLEED, width - BLEED, height - BLEED], abs=0.05)
    text = subprocess.run(["pdftotext", str(press_build.outputs["cover"]), "-"], capture_output=True, text=True).stdout
    assert "Trois courts chapitres sur une rivière" in text  # the description, on the back
    assert "ISBN 978-2-07-036822-8" in text  # in the barcode area
    # a 12-page book has a spine of 0.03 in: too narrow for text, so the title shows on the back only (the front
    # is an image)
    assert text.count("Carnets de la rivière") == 1


def test_a_wide_spine_carries_the_title_and_author(tmp_path):
    from bookgen.cover_pdf import cover_pdf
    from bookgen.load_book import load_book
    path = tmp_path / "cover.pdf"
    path.write_bytes(cover_pdf(load_book(PUBLISH_BOOK), 300))  # 300 cream pages: 0.75 in
    reader = PdfReader(path)
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(2 * A5[0] + 300 * CREAM_PAGE_IN * 72 + 2 * BLEED, abs=0.05)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Hélène Marchand" in text  # only the spine names the author (the front is an image)

"""Issue 6: the benchmark's books are seeded, and the benchmark runs end to end on the smallest one."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT


def test_generated_books_are_seeded_and_sized(tmp_path):
    from bench.genbook import generate
    a, b = tmp_path / "a", tmp_path / "b"
    stats = generate(a, 10_000)
    generate(b, 10_000)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert 9_500 <= stats["words"] <= 11_000
    assert stats["notes"] > 0 and stats["tables"] > 0 and stats["images"] > 0 and stats["chapters"] >= 2
    text = "".join(p.read_text(encoding="utf-8") for p in (a / "chapters").glob("*.md"))
    assert "[^n1]:" in text and "| ---: |" in text and "](../images/figure1.png)" in text
    assert 9_500 <= len(text.split()) <= 12_000
    assert generate(tmp_path / "c", 10_000, seed=7) != stats or \
        (tmp_path / "c" / "chapters" / "chapter001.md").read_bytes() != (a / "chapters" / "chapter001.md").read_bytes()


def test_benchmark_runs_on_the_smallest_book(tmp_path):
    out = tmp_path / "results.json"
    r = subprocess.run([sys.executable, "-m", "bench", "--sizes", "10k", "--jobs", "0,2", "--no-pandoc",
                        "--default-runs", "1", "--work", str(tmp_path / "work"), "--json", str(out)], cwd=ROOT, capture_output=True,
                       text=True, timeout=900, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "floor_s" in r.stdout and "10k" in r.stdout and "j2 time shares:" in r.stdout
    data = json.loads(out.read_text())
    (row,) = data["summary"]
    run = data["runs"][0]
    for job in ("floor", "build_j0", "build_j2", "rebuild_nochange", "rebuild_edit", "rebuild_epub"):
        assert run[job]["rc"] == 0, (job, run[job].get("stderr"))
        assert run[job]["wall"] > 0 and run[job]["peak_mb"] > 0, job
    # both builds lay out the same print HTML as the floor: the same number of pages
    assert row["pages"] == row["j0_pages"] == row["j2_pages"] > 10
    for j in ("j0", "j2"):
        assert row[f"{j}_ratio"] > 0 and row[f"{j}_ms_per_page"] > 0 and row[f"{j}_mb"] > 0
    assert run["build_j0"]["layout"] == {"one document": "--jobs 0"}
    assert run["build_j2"]["layout"]["processes"] == 2 and run["build_j2"]["layout"]["groups"] > 2
    shares = row["j2_shares"]
    assert {"read", "templates", "layout", "pdf", "join", "epub"} <= set(shares)
    assert abs(sum(shares.values()) - 1) < 0.01
    # nothing changed: the outputs were kept; an edited chapter is rebuilt (its group, not the book), and so is
    # the EPUB alone
    assert row["rebuild_nochange_cached"] is True
    assert run["rebuild_edit"]["cached"] is False and "layout" in run["rebuild_edit"]["timings"]
    assert 1 <= row["rebuild_edit_laid_out"] < run["build_j2"]["layout"]["groups"]
    # an edit that adds pages a quarter into the book: the groups after it have their folios drawn again only
    assert row["rebuild_shift_pages_added"] > 0
    assert row["rebuild_shift_laid_out"] <= 2 and row["rebuild_shift_refinished"] >= 1
    assert run["rebuild_epub"]["cached"] is False and "pdf" not in run["rebuild_epub"]["timings"]
    assert list(run["rebuild_epub"]["outputs"]) == ["epub"]
    # the project's own book, built by the command into an empty folder
    default = data["default_book"]
    assert default["rc"] == 0 and default["runs"] == 1 and default["pages"] > 0 and default["pages"] % 2 == 0
    assert "default book (book/" in r.stdout


def test_speedups_write_the_same_bytes():
    """bookgen.weasy's speedups only make the PDF sooner: the same document written with and without them is the same."""
    from weasyprint import HTML

    from bookgen.weasy import compress_in_threads, fast_page_references, page_labels_finisher
    html = "".join(f"<h2 id='s{i}'>Section {i}</h2><p>{'Words in a paragraph. ' * 60}</p>"
                   f"<p><a href='#s{max(i - 1, 0)}'>back</a></p>" for i in range(12))
    doc = HTML(string=f"<html lang='en'><body>{html}</body></html>").render(pdf_variant="pdf/ua-1")
    assert len(doc.pages) > 3
    options = dict(pdf_variant="pdf/ua-1", pdf_identifier=b"test", finisher=page_labels_finisher(2))
    plain = doc.copy().write_pdf(**options)
    with fast_page_references(), compress_in_threads(2):
        fast = doc.copy().write_pdf(**options)
    assert fast == plain
    import io

    from pypdf import PdfReader
    labels = PdfReader(io.BytesIO(fast)).page_labels
    assert labels[:3] == ["i", "ii", "1"] and labels[-1] == str(len(doc.pages) - 2)
    # the patches are undone afterwards
    import pydyf
    assert "page_references" in pydyf.PDF.__dict__ and pydyf.PDF.__dict__["write"].__module__ == "pydyf"

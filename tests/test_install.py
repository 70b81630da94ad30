"""Issue 14: bookgen installs like a Python tool. The wheel carries the templates and stylesheets and builds a
book from any folder; the command line names the command the user typed; every bad option value exits 2."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import DEFAULT_BOOK, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    return next(out.glob("bookgen-*.whl"))


def test_the_wheel_carries_templates_styles_and_catalogues(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "styles"):
        expected = {f"bookgen/{folder}/{p.relative_to(ROOT / folder).as_posix()}"
                    for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in (".j2", ".css")}
        assert expected and expected <= names
    assert "bookgen/locale/de/LC_MESSAGES/bookgen.po" in names


def test_the_installed_wheel_builds_a_book_from_another_folder(wheel, tmp_path):
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    r = subprocess.run([sys.executable, "-m", "bookgen", "--book", str(DEFAULT_BOOK), "--out", "dist", "--jobs", "2"],
                       cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert sorted(p.suffix for p in (elsewhere / "dist").glob("*.*") if not p.name.startswith(".")) == [".epub", ".pdf"]
    # the build used the wheel's own templates and stylesheets, not the checkout's
    probe = subprocess.run([sys.executable, "-c", "import bookgen.render as r; print(r.TEMPLATES); print(r.STYLES)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert probe == [str(target / "bookgen" / "templates"), str(target / "bookgen" / "styles")]


@pytest.mark.parametrize("how, usage", [([str(ROOT / "build.py")], "usage: python build.py"),
                                        (["-m", "bookgen"], "usage: python -m bookgen")])
def test_help_names_the_command_typed(how, usage, tmp_path):
    r = subprocess.run([sys.executable, *how, "--help"], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0 and r.stdout.startswith(usage)
    assert f"To start a new book: {usage[len('usage: '):]} new DIR" in " ".join(r.stdout.split())


@pytest.mark.parametrize("args", [["--page-size", "B7"], ["--page-size", "10mm 10mm"], ["--format", "docx"],
                                  ["--bleed", "lots"], ["--jobs", "-1"], ["--jobs", "two"], ["--nosuch"]])
def test_every_bad_option_value_exits_2_before_reading_the_book(args, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "build.py"), "--book", str(tmp_path / "missing"), *args],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "error" in r.stderr and "Traceback" not in r.stderr
    assert "book folder not found" not in r.stderr  # the option is refused before the book is read


def test_every_imported_package_is_declared():
    """Each third-party module bookgen imports is a declared dependency (pydyf and fontTools were not)."""
    import re
    import tomllib
    declared = {re.split(r"[<>=!~;\[ ]", d)[0].lower()
                for d in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]}
    module_to_package = {"PIL": "pillow", "yaml": "pyyaml", "markdown_it": "markdown-it-py",
                         "mdit_py_plugins": "mdit-py-plugins", "fontTools": "fonttools", "ebooklib": "ebooklib",
                         "babel": "babel"}
    imported = set()
    for path in (ROOT / "bookgen").glob("*.py"):
        for m in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", path.read_text(encoding="utf-8"), re.M):
            imported.add(m.group(1))
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "bookgen"}
    missing = sorted(module_to_package.get(n, n).lower() for n in third_party
                     if module_to_package.get(n, n).lower() not in declared)
    assert missing == []

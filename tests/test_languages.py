"""Issue 12: every language and script reads right. Fixture books in eight languages (tests/fixtures/lang-*), built
as one document (--jobs 0), read back with poppler, pdffonts, lxml and EPUBCheck."""
from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest

from conftest import FIXTURES, build_into, epubcheck

# The generated "Contents" heading each book must carry, written here from the languages, not from the code.
CONTENTS = {"ar": "المحتويات", "he": "תוכן העניינים", "zh": "目录", "ja": "目次", "ru": "Содержание",
            "hi": "विषय-सूची", "de": "Inhalt", "fr": "Table des matières"}
LANGS = list(CONTENTS)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    results = {}
    for lang in LANGS:
        out = tmp_path_factory.mktemp(f"lang-{lang}")
        results[lang] = build_into(FIXTURES / f"lang-{lang}", out, jobs=0, strict=True)
    return results


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def fonts(path) -> list[str]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split()[0].split("+", 1)[-1] for line in out.splitlines()[2:]]


def epub_file(path, name_end: str) -> str:
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(name_end))
        return z.read(name).decode("utf-8")


@pytest.mark.parametrize("lang", LANGS)
def test_builds_strict_without_a_missing_glyph(built, lang):
    """--strict turns any warning (a missing glyph among them) into an error: the build passing is the check."""
    result = built[lang]
    assert not result.warnings
    assert set(result.outputs) == {"pdf", "epub"}


@pytest.mark.parametrize("lang", LANGS)
def test_generated_words_are_in_the_book_language(built, lang):
    pdf, epub = built[lang].outputs["pdf"], built[lang].outputs["epub"]
    assert CONTENTS[lang] in pdf_text(pdf)
    nav = epub_file(epub, "nav.xhtml")
    assert f">{CONTENTS[lang]}<" in nav
    assert ">Contents<" not in nav and ">Cover<" not in nav


def test_epubcheck_accepts_every_language(built):
    for lang in LANGS:
        report = epubcheck(built[lang].outputs["epub"])
        assert report["errors"] == [] and report["warnings"] == [], (lang, report["messages"])


def test_chinese_gets_chinese_forms_and_japanese_japanese(built):
    zh, ja = fonts(built["zh"].outputs["pdf"]), fonts(built["ja"].outputs["pdf"])
    assert any(f.startswith("Noto-Serif-CJK-SC") for f in zh) and not any("CJK-JP" in f for f in zh), zh
    assert any(f.startswith("Noto-Serif-CJK-JP") for f in ja) and not any("CJK-SC" in f for f in ja), ja


@pytest.mark.parametrize("lang,face", [("ar", "Noto-Naskh-Arabic"), ("he", "Noto-Serif-Hebrew"),
                                       ("hi", "Noto-Serif-Devanagari"), ("ru", "Linux-Libertine-O")])
def test_each_script_is_set_in_its_face(built, lang, face):
    assert any(f.startswith(face) for f in fonts(built[lang].outputs["pdf"]))


def test_quotation_marks_follow_the_language(built):
    de = epub_file(built["de"].outputs["epub"], "morgen.xhtml")
    fr = epub_file(built["fr"].outputs["epub"], "matin.xhtml")
    ru = epub_file(built["ru"].outputs["epub"], "01.xhtml")
    assert "„Schreiben heißt, sorgfältig festzuhalten, was man sieht.“" in de
    assert "«\u202fÉcrire, c’est noter avec soin ce que l’on voit.\u202f»" in fr
    assert "«Писать – значит внимательно записывать то, что видишь»" in ru
    # the sources write straight quotes between CJK letters, where smart quotes by word boundaries do nothing
    ja = epub_file(built["ja"].outputs["epub"], "ichi.xhtml")
    zh = epub_file(built["zh"].outputs["epub"], "yi.xhtml")
    assert "彼は「書くことは、見たものを丁寧に書き留めることだ」と言" in ja
    assert "说：“写作就是把看见的东西认真地写下来。”然后" in zh
    assert '"' not in pdf_text(built["ja"].outputs["pdf"]) + pdf_text(built["zh"].outputs["pdf"])


def test_a_line_break_between_chinese_characters_is_no_space(built):
    zh = epub_file(built["zh"].outputs["epub"], "yi.xhtml")
    assert "走过石桥，老人们坐在门口晒太阳" in zh  # the source breaks the line after "，"
    assert "石桥，\n" not in zh and "石桥， " not in zh


def test_strings_in_book_toml_override_the_catalogue(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "lang-de", book)
    with open(book / "book.toml", "a", encoding="utf-8") as f:
        f.write('\n[strings]\ncontents = "Verzeichnis der Kapitel"\n')
    result = build_into(book, tmp_path / "out", jobs=0, formats=("epub",))
    nav = epub_file(result.outputs["epub"], "nav.xhtml")
    assert ">Verzeichnis der Kapitel<" in nav and ">Inhalt<" not in nav
    assert ">Umschlag<" in nav  # the other words still come from the German catalogue


def test_an_unknown_string_key_is_reported_with_its_line(tmp_path):
    from bookgen.errors import BookError
    from bookgen.load_book import load_book
    book = tmp_path / "book"
    shutil.copytree(FIXTURES / "lang-fr", book)
    with open(book / "book.toml", "a", encoding="utf-8") as f:
        f.write('\n[strings]\ncontentz = "Sommaire"\n')
    with pytest.raises(BookError) as e:
        load_book(book)
    assert "unknown string 'contentz'" in str(e.value) and "book.toml:" in str(e.value)


def test_words_fall_back_from_region_and_script():
    from bookgen.i18n import words
    assert words("pt-BR")["contents"] == "Sumário"
    assert words("zh-TW")["contents"] == "目錄"
    assert words("zh-Hans-CN")["contents"] == "目录"
    assert words("sw")["contents"] == "Contents"  # no catalogue: English


def test_missing_glyphs_are_one_warning_per_script(tmp_path):
    """Three characters of a script no installed font has (Unicode 14's Cypro-Minoan is in no Noto package of
    Debian 12) in two chapters: one warning, with the count and the first place."""
    from bookgen.glyphs import grouped
    from bookgen.load_book import load_book
    book_dir = tmp_path / "book"
    shutil.copytree(FIXTURES / "lang-fr", book_dir)
    chapter = book_dir / "chapters" / "hiver.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nSignes : \U00012F90\U00012F91.\n", encoding="utf-8")
    book = load_book(book_dir)
    msg = '.notdef glyph rendered for Unicode string unsupported by fonts: "{}" (U+{:04X})'
    messages = [msg.format(c, ord(c)) for c in "\U00012F90\U00012F91\U00012F90"] + ["something else"]
    problems = grouped(book, messages, False, lambda m: m)
    glyph = [p for p in problems if not isinstance(p, str)]
    assert len(glyph) == 1 and problems[-1] == "something else"
    text = str(glyph[0])
    assert "hiver.md:10:" in text and "2 Cypro-Minoan characters" in text.replace("Cypro-minoan", "Cypro-Minoan")


def test_authors_are_listed_as_the_language_lists_them():
    from bookgen.i18n import name_list
    assert name_list(["Anna", "Boris", "Clara"], "ru") == "Anna, Boris и Clara"
    assert name_list(["Anna", "Bernd"], "de") == "Anna und Bernd"
    assert name_list(["Ann", "Bob", "Cy"], "en-GB") == "Ann, Bob and Cy"


# File names written from the titles in the fixtures' book.toml: vowel signs and hamza are letters, not accents.
FILE_NAMES = {"hi": "पहाड़ों-से-पत्र", "ar": "رسائل-من-الصحراء", "ru": "письма-с-севера", "ja": "山の手紙"}


@pytest.mark.parametrize("lang", list(FILE_NAMES))
def test_file_names_keep_every_letter_of_the_title(built, lang):
    from pathlib import Path
    assert Path(built[lang].outputs["pdf"]).name == FILE_NAMES[lang] + ".pdf"
    assert Path(built[lang].outputs["epub"]).name == FILE_NAMES[lang] + ".epub"

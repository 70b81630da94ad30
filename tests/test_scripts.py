"""Issue 12: every character of a book in each listed language prints in a real font (the book face where it
covers the script, else the Noto face for it), emoji too; the generated words are in the book's language.
Each sample is a sentence as an author in that language writes it; each book is built with --strict, where a
missing glyph is an error."""
from __future__ import annotations

import re
import subprocess

import pytest

from conftest import build_into

# language: (title, a sentence, "Contents" in that language, the face its script must be set in)
SAMPLES = {
    "es": ("Cartas del sur", "El niño pidió una piña y un café; ¿quién sabe por qué? ¡Qué día!", "Índice",
           "Linux-Libertine-O"),
    "it": ("Lettere dal sud", "Perché così tanta città? È già l’una, disse il vecchio.", "Indice",
           "Linux-Libertine-O"),
    "pt": ("Cartas do sul", "A informação não chegou à aldeia; ação, coração e pão.", "Sumário",
           "Linux-Libertine-O"),
    "pl": ("Listy z gór", "Zażółć gęślą jaźń, powiedział chłopiec i poszedł dalej.", "Spis treści",
           "Linux-Libertine-O"),
    "cs": ("Dopisy z hor", "Příliš žluťoučký kůň úpěl ďábelské ódy.", "Obsah", "Linux-Libertine-O"),
    "tr": ("Dağlardan mektuplar", "Pijamalı hasta yağız şoföre çabucak güvendi; İstanbul’da ılık bir gün.",
           "İçindekiler", "Linux-Libertine-O"),
    "vi": ("Thư từ miền núi", "Tiếng Việt có nhiều dấu: ắ, ẳ, ặ, ề, ổ, ữ, ỵ, và đường.", "Mục lục",
           "Linux-Libertine-O"),
    "el": ("Γράμματα από τα βουνά", "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία, είπε ο γέρος.", "Περιεχόμενα",
           "Linux-Libertine-O"),
    "uk": ("Листи з гір", "Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!", "Зміст", "Linux-Libertine-O"),
    "fa": ("نامه‌هایی از کوهستان", "کاروان آرام به سوی جنوب می‌رفت و خورشید پشت تپه‌ها پنهان می‌شد.", "فهرست",
           "Noto-Naskh-Arabic"),
    "bn": ("পাহাড় থেকে চিঠি", "সকালের কুয়াশা তখনও কাটেনি, কিন্তু গ্রামে কাজ শুরু হয়ে গিয়েছিল।", "সূচিপত্র",
           "Noto-Serif-Bengali"),
    "th": ("จดหมายจากภูเขา", "หมอกยามเช้ายังไม่จาง แต่หมู่บ้านก็เริ่มทำงานแล้ว", "สารบัญ", "Noto-Serif-Thai"),
    "zh-TW": ("山間書簡", "清晨的霧氣還沒有散去，村子裡的人已經開始忙碌起來。", "目錄", "Noto-Serif-CJK-TC"),
    "ko": ("산에서 온 편지", "아침 안개가 아직 걷히지 않았지만 마을은 벌써 일을 시작했다.", "차례", "Noto-Serif-CJK-KR"),
    "en": ("Letters with emoji", "The traveller drew a sun ☀️, a camel 🐪 and a smile 😊 in his notebook.",
           "Contents", "Noto-Color-Emoji"),
}
# Scripts whose vowel signs are drawn before or above their consonant: pdftotext gives them back in drawing
# order, so their text is compared as the set of letters only.
REORDERED = {"bn", "th"}


def _plain(text: str) -> str:
    """Text without spaces, soft hyphens, variation selectors, joiners and bidi marks (which do not print)."""
    return re.sub(r"[\s\u00ad\ufe0f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+", "", text)


@pytest.mark.parametrize("lang", list(SAMPLES))
def test_every_character_prints_in_a_real_font(tmp_path, lang):
    title, sentence, contents, face = SAMPLES[lang]
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "book.toml").write_text(f'title = "{title}"\nauthor = "A. Writer"\nlanguage = "{lang}"\n'
                                    'chapters = ["chapters/one.md"]\n', encoding="utf-8")
    (book / "chapters" / "one.md").write_text(f"# {title}\n\n{sentence}\n", encoding="utf-8")
    pdf = build_into(book, tmp_path / "out", jobs=0, strict=True, formats=("pdf",)).outputs["pdf"]
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert face in fonts, fonts
    assert "Type 3" not in fonts, fonts  # a glyph drawn by hand: what WeasyPrint does with no font
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert _plain(contents) in _plain(text)
    if lang in REORDERED:
        assert set(_plain(sentence)) <= set(_plain(text)) | {"ำ"}, set(_plain(sentence)) - set(_plain(text))
    else:
        assert _plain(sentence) in _plain(text)

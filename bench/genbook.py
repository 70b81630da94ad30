"""Seeded test books of a given size: realistic chapter lengths, sections, footnotes, a few tables and images.

The same size and seed always give the same files, so every benchmark run builds the same books.
`python -m bench.genbook 100k /tmp/book100k` writes one.
"""
from __future__ import annotations

import random
import sys
import zlib
from pathlib import Path

# Common English words of varied length (so hyphenation and justification behave as in real prose).
WORDS = """
the of and to a in that is was he for it with as his on be at by had not are but from or have an they which one
you were her all she there would their we him been has when who will more no if out so said what up its about
into than them can only other new some could time these two may then do first any my now such like our over man
me even most made after also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own see men work long get here
between both life being under never day same another know while last might us great old year off come since
against go came right used take three states himself few house use during without again place american around
however home small found thought went say part once general high upon school every does got united left number
course war until always away something fact though water less public put think almost hand enough far took head
yet government system better set told nothing night end why called didn't eyes find going look asked later
knew point next program city business give group toward young days let room president side social given present
several order national possible rather second face per among form important often things looked early white case
john become large big need four within felt along children saw best church ever least power development light
thing seemed family interest want members mind country area others done turned although open god service certain
kind problem began different door thus help sense means whole matter perhaps itself york times law human line
above name example action company hands local show whether five history gave today either act feet across taken
past quite anything seen having death week experience body word half really field am car words already themselves
information tell college shall money period held keep sure free seems political real behind cannot miss question
air office making brought whose special major heard problems federal became study ago moment available known
result street economic boy position reason change south board individual job society areas west close turn love
community true court force full seem am front wife future age voice center woman control common necessary policy
following sometimes land thousand dark window evening harbour lantern traveller mountain river meadow orchard
cathedral parliament correspondence extraordinary nevertheless circumstances unquestionably responsibility
characteristically disappointment acknowledgement notwithstanding administration understanding neighbourhood
""".split()
NAMES = ["Ada", "Bertrand", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hiroshi", "Ingrid", "Jonas", "Keiko",
         "Lucien", "Marta", "Nils", "Olga", "Pavel", "Rosa", "Stefan", "Tomasz", "Ursula", "Viktor", "Wanda"]
PLACES = ["Vladivostok", "Kyoto", "Lisbon", "Tromsø", "Kraków", "Zürich", "Montréal", "Valparaíso", "Ålesund"]
SIZES = {"10k": 10_000, "100k": 100_000, "500k": 500_000}


class Writer:
    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def word(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.03:
            return r.choice(NAMES)
        if x < 0.04:
            return r.choice(PLACES)
        return r.choice(WORDS)

    def sentence(self) -> tuple[str, int]:
        r = self.r
        n = r.randint(6, 28)
        words = [self.word() for _ in range(n)]
        words[0] = words[0][:1].upper() + words[0][1:]
        for i in range(2, n - 2):
            if r.random() < 0.07:
                words[i] += ","
        if r.random() < 0.05:
            i = r.randint(1, n - 1)
            words[i] = f"*{words[i]}*"
        if r.random() < 0.04:
            i = r.randint(1, n - 2)
            words[i] = f'"{words[i]}'
            words[i + 1] = f'{words[i + 1]}"'
        if r.random() < 0.03:
            words.insert(r.randint(2, n - 1), "--")
        end = r.choices([".", "?", "!", "..."], [90, 5, 3, 2])[0]
        return " ".join(words) + end, n

    def paragraph(self, target: int) -> tuple[str, int]:
        out, total = [], 0
        while total < target:
            s, n = self.sentence()
            out.append(s)
            total += n
        return " ".join(out), total


def image_png(seed: int, width=600, height=360) -> bytes:
    """A small bar chart drawn with Pillow (deterministic)."""
    import io

    from PIL import Image, ImageDraw
    r = random.Random(seed)
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    bars = r.randint(4, 9)
    w = (width - 40) // bars
    for i in range(bars):
        h = r.randint(40, height - 40)
        shade = r.randint(40, 180)
        d.rectangle([20 + i * w + 6, height - 20 - h, 20 + (i + 1) * w - 6, height - 20], fill=(shade, shade, shade))
    d.line([20, height - 20, width - 20, height - 20], fill="black", width=2)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=False)
    return out.getvalue()


def table(w: Writer, chapter: int) -> str:
    r = w.r
    rows = r.randint(4, 9)
    lines = ["| Year | Place | Event | Count |", "| ---: | --- | --- | ---: |"]
    for k in range(rows):
        event = " ".join(w.word() for _ in range(r.randint(2, 6)))
        lines.append(f"| {1900 + chapter * 3 + k} | {r.choice(PLACES)} | {event} | {r.randint(1, 9999)} |")
    return "\n".join(lines)


def generate(out: Path | str, words: int, seed: int = 1941, chapter_words=(2500, 5500)) -> dict:
    """Write a book of about `words` words into `out`; returns a summary (chapters, words, notes, tables, images)."""
    out = Path(out)
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    w = Writer(seed)
    r = w.r
    # Chapter lengths: realistic novel/reference chapters; the last ones are fitted to the total.
    lengths = []
    remaining = words - 600  # preface + appendix
    while remaining > 0:
        n = r.randint(*chapter_words)
        n = min(n, remaining) if remaining - n > chapter_words[0] // 2 else remaining
        lengths.append(n)
        remaining -= n
    n_images = max(1, min(6, len(lengths) // 8 + 1))
    image_at = set(r.sample(range(len(lengths)), n_images))
    n_tables = max(1, min(12, len(lengths) // 5 + 1))
    table_at = set(r.sample(range(len(lengths)), n_tables))
    files = []
    stats = {"chapters": 0, "words": 0, "notes": 0, "tables": 0, "images": 0}

    def chapter_file(name, front, paragraphs):
        (out / "chapters" / name).write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        files.append(f"chapters/{name}")

    # Preface (front matter): roman folios.
    paras = []
    for _ in range(3):
        p, n = w.paragraph(90)
        paras.append(p)
        stats["words"] += n
    chapter_file("preface.md", "---\ntitle: Preface\ntype: preface\n---\n\n", paras)

    for c, length in enumerate(lengths, start=1):
        paras, notes, total, section = [], [], 0, 0
        next_section = r.randint(700, 1400)
        while total < length:
            if total >= next_section and length - total > 300:
                section += 1
                title = " ".join(w.word() for _ in range(r.randint(2, 5))).capitalize()
                paras.append(f"## {title}")
                next_section += r.randint(700, 1400)
            p, n = w.paragraph(r.choice([40, 70, 90, 120, 160, 220]))
            if r.random() < 0.22:  # about one note per 450 words
                label = f"n{len(notes) + 1}"
                note, nn = w.paragraph(r.choice([12, 20, 35]))
                cut = p.find(". ")
                p = (p[:cut + 1] + f"[^{label}]" + p[cut + 1:]) if cut > 0 else p + f"[^{label}]"
                notes.append(f"[^{label}]: {note}")
                total += nn
            if r.random() < 0.01:
                p = f"> {p}"
            paras.append(p)
            total += n
            if c - 1 in table_at and len(paras) >= 6:
                paras.append(table(w, c))
                stats["tables"] += 1
                table_at.discard(c - 1)
            if c - 1 in image_at and len(paras) >= 9:
                image_at.discard(c - 1)
                k = stats["images"] + 1
                (out / "images" / f"figure{k}.png").write_bytes(image_png(seed * 100 + k))
                paras.append(f"![Figure {k}: a bar chart of invented quantities](../images/figure{k}.png)")
                stats["images"] += 1
        if c > 1 and r.random() < 0.3:
            paras.append(f"See also [the previous chapter](chapter{c - 1:03d}.md).")
        stats["notes"] += len(notes)
        stats["words"] += total
        title = " ".join(w.word() for _ in range(r.randint(2, 6))).capitalize()
        chapter_file(f"chapter{c:03d}.md", f"---\ntitle: \"{title}\"\n---\n\n", paras + notes)
        stats["chapters"] += 1

    paras = [table(w, 99)]
    for _ in range(2):
        p, n = w.paragraph(120)
        paras.append(p)
        stats["words"] += n
    stats["tables"] += 1
    chapter_file("appendix.md", "---\ntitle: Appendix\ntype: appendix\n---\n\n", paras)

    toml = [f'title = "A Benchmark Book of {words // 1000}k Words"', 'authors = ["Bench Mark"]',
            'language = "en-GB"', f'identifier = "urn:uuid:00000000-0000-4000-8000-{words:012d}"',
            'date = 2026-01-01', 'page-size = "A5"', "chapters = ["]
    toml += [f'  "{f}",' for f in files] + ["]"]
    (out / "book.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")
    return stats


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in SIZES:
        print("usage: python -m bench.genbook {10k,100k,500k} DIR", file=sys.stderr)
        return 2
    print(generate(argv[1], SIZES[argv[0]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

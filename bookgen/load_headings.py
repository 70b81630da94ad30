"""Each chapter parsed: its title (front matter or first `#`), and every heading given a book-wide unique id, with
the slugs other tools write (GitHub's, `{#id}`) leading to it."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import lenient
from . import markdown as mdown
from .chars import visible
from .front_matter import fm_line
from .load_paths import rel_name


@dataclass
class ParsedChapter:
    path: Path
    cid: str
    title: str  # with the text's typography (curly quotes, dashes)
    subtitle: str
    type: str  # a SECTION_TYPES key
    parsed: object  # markdown.Parsed
    slug_map: dict  # every slug that leads to a heading of this chapter -> its id
    headings: list  # (level, slug, text, line, token) of its headings, the title's not among them


def parse_chapters(md, raw, book_title: str, problems):
    """(ParsedChapter for each RawChapter, the chapters that repeat the book's title atop their own)."""
    from .model import RESERVED_IDS
    claimed = {r.cid for r in raw} | RESERVED_IDS
    repeated_title = []  # chapters that start with the book's title, then their own
    running = _running_title(raw, book_title)
    out = []
    for path, fm, body, offset, cid in raw:
        p = mdown.parse(md, body, offset)
        ctitle, headings, repeated, title_id = _title(p, fm, running)
        if repeated:
            repeated_title.append(path)
        if not isinstance(ctitle, str) or not ctitle.strip():
            problems.error(path, "chapter has no title", 1,
                           "add `title: ...` to the front matter, or start the file with `# Title`")
            ctitle = cid
        for n, (level, slug, htext, line, tok) in enumerate(headings):
            if level == 1:  # a valid book: printed as a section, with a warning
                problems.warn(path, f"a second level-1 heading '{htext}' in one chapter is set as a section", line,
                              "each file is one chapter with one title: use ## for its sections")
                _demote(p.tokens, tok)
                headings[n] = (2, slug, htext, line, tok)
        slug_map = _heading_ids(headings, cid, ctitle, claimed)
        if title_id:  # `# Title {#id}`: #id links to the chapter
            slug_map.setdefault(title_id, f"{cid}-title")
        out.append(ParsedChapter(path, cid, ctitle, "", "", p, slug_map, headings))
    _book_wide_numbers(out)
    return out, repeated_title


def _book_wide_numbers(parsed) -> None:
    """A heading title used again later in the book: Pandoc (one document) and GitHub number its ids `x-1`,
    `x-2`... in reading order. Those names lead to the same headings here."""
    seen: dict = {}
    for c in parsed:
        for level, slug, htext, line, tok in c.parsed.headings:
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            gid = c.slug_map.get(slug)
            if n and gid:
                c.slug_map.setdefault(f"{slug}-{n}", gid)


def _title(p, fm, running):
    """(the chapter's title as written, its headings after the title's, whether the book's title stood above)."""
    ctitle = fm.get("title")
    if isinstance(ctitle, (int, float)) and not isinstance(ctitle, bool):
        ctitle = str(ctitle)  # `title: 1984` is a title, not a number
    headings = list(p.headings)
    repeated, title_id = False, None
    if (ctitle is None and len(headings) >= 2 and headings[0][0] == headings[1][0] == 1
            and _plain(headings[0][2]) in running):
        # the book's title repeated atop each chapter, then the chapter's own (`# Book` / `# Chapter 1`)
        first = p.tokens.index(headings[0][4])
        del p.tokens[first:first + 3]
        headings = headings[1:]
        repeated = True
    # the first heading opens the file: before it, nothing but raw HTML (a comment, an old heading's anchor)
    at_top = bool(headings) and all(_no_text(t) for t in p.tokens[:p.tokens.index(headings[0][4])])
    if ctitle is None and headings and (headings[0][0] == 1 or at_top):
        # the first `#` heading; or a file that opens with a `##` one (an mdBook sub-chapter, a section saved alone)
        ctitle, title_id = headings[0][2], headings[0][4].meta.get("custom_id")
        first = p.tokens.index(headings[0][4])
        del p.tokens[first:first + 3]
        headings = headings[1:]
    if ctitle is None and isinstance(fm.get("summary-title"), str):  # mdBook: the entry's name in SUMMARY.md
        ctitle = fm["summary-title"]
    return ctitle, headings, repeated, title_id


def _no_text(token) -> bool:
    """Whether a token prints no words: raw HTML alone (`<!-- -->`, `<a id="old-name"></a>`)."""
    if token.type == "inline":
        return all(c.type == "html_inline" or (c.type == "text" and not c.content.strip())
                   or c.type in ("softbreak", "hardbreak") for c in token.children or ())
    return token.type in ("html_block", "paragraph_open", "paragraph_close")


def _heading_ids(headings, cid, ctitle, claimed) -> dict:
    """Give each heading its id (two headings with one title: x, then cid-x, cid-x-2...); the slug map."""
    slug_map = {}
    for level, slug, htext, line, tok in headings:
        gid = slug if slug not in claimed else f"{cid}-{slug}"
        n = 2
        while gid in claimed:
            gid, n = f"{cid}-{slug}-{n}", n + 1
        claimed.add(gid)
        slug_map[slug] = gid
        tok.attrs["id"] = gid
    # links written for GitHub (its slugs keep accents and repeated hyphens) reach the same headings
    for gh, (level, slug, htext, line, tok) in zip(lenient.github_slugs(h[2] for h in headings), headings):
        slug_map.setdefault(gh, tok.attrs["id"])
    for level, slug, htext, line, tok in headings:  # `## Title {#id}`: #id links to it
        if tok.meta.get("custom_id"):
            slug_map.setdefault(tok.meta["custom_id"], tok.attrs["id"])
    for alias in (mdown.slugify(ctitle), lenient.github_slug(ctitle)):  # the title's slugs: the chapter
        slug_map.setdefault(alias, f"{cid}-title")
    return slug_map


def check_raw_ids(root: Path, raw, parsed, problems) -> None:
    """Every id in the print edition is in one document: ids written in raw HTML must not collide. Then ids
    written in raw HTML can be linked to from other chapters too."""
    id_owner = {r.cid: (r.path, None) for r in raw}
    for c in parsed:
        p = c.parsed
        own = set(c.slug_map.values()) | {f"{c.cid}-title"}
        own |= {f"{c.cid}-fn{n}" for n in range(1, p.notes_count + 1)} | {f"{c.cid}-fnref{n}" for n in
                                                                          range(1, p.notes_count + 1)}
        for i in own:
            id_owner.setdefault(i, (c.path, None))
        for rid, line in p.raw_ids:
            if rid in id_owner:
                opath, oline = id_owner[rid]
                first = "this chapter" if opath == c.path else rel_name(root.resolve(), opath.resolve())
                first += f" (line {oline})" if oline else ""
                problems.error(c.path, f"id '{rid}' is used twice in the book; it is already used in {first}", line,
                               "give the element its own id")
            else:
                id_owner[rid] = (c.path, line)


def link_raw_ids(parsed) -> None:
    for c in parsed:
        for rid, line in c.parsed.raw_ids:
            c.slug_map.setdefault(rid, rid)


def _plain(text) -> str:
    """A title as words only (markup, quotes and case aside), to see that two headings say the same."""
    return " ".join(re.sub(r"[^\w\s]", " ", str(text or "")).lower().split())


def _running_title(raw, title) -> set:
    """Headings that stand atop chapters as the book's title (`# Book: 2nd Edition` then `# Chapter 1`): the
    book.toml title, and any first `#` heading several chapters begin with."""
    firsts = Counter()
    for r in raw:
        m = re.match(r"\s*#[ \t]+(.+?)[ \t#]*\n", r.body)
        if m:
            firsts[_plain(m.group(1))] += 1
    return {_plain(title)} | {text for text, n in firsts.items() if n >= 2}


def _demote(tokens, open_token) -> None:
    """Set a level-1 heading as level 2 (its open and close tokens)."""
    i = tokens.index(open_token)
    for tok in (tokens[i], tokens[i + 2]):
        tok.tag = "h2"
        tok.markup = "##"


def visible_title(md, path: Path, ctitle: str, cid: str, problems) -> str:
    if not visible(ctitle):
        problems.error(path, "the chapter's title has no text that can be printed",
                       fm_line(_text_of(path), "title") or 1, "give the chapter a title in words")
        return cid
    return ctitle


def _text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""

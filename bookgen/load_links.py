"""Links between chapters: checked (each problem with its line and a suggestion), and resolved for print."""
from __future__ import annotations

import os
import re
from pathlib import Path

from . import markdown as mdown
from .book_toml import suggest


def resolve_href(href, path, cid, by_file, slug_maps):
    """The print edition's URL for an internal link (`#id`), or None when it is external or unresolved."""
    scheme, target, frag = mdown.href_parts(href)
    if scheme:
        return None
    tcid = cid if not target else by_file.get((path.parent / target).resolve())
    if tcid is None:
        return None
    if not frag:
        return "#" + tcid
    gid = slug_maps.get(tcid, {}).get(frag)
    if gid is None and frag == tcid:
        gid = tcid
    if gid is None and not target:
        gid = elsewhere(frag, slug_maps)
    if gid is None and tcid == cid:
        # an id the author wrote in raw HTML, or a note id
        return "#" + frag
    return "#" + gid if gid else None


def check_link(link, path, cid, by_file, slug_maps, problems, root=None, broken=frozenset(), lenient=False,
               elsewhere_pages=None) -> bool:
    """Report what is wrong with a link; False when it leads nowhere. `lenient` (a Pandoc book or an mdBook
    project, whose tools build such links dead or as links to other pages of a site): a link to a missing heading,
    to a file that is not a chapter or out of the book is a warning, and is printed as its text."""
    href = link.href
    report = problems.warn if lenient else problems.error
    scheme, target, frag = mdown.href_parts(href)
    if scheme:
        if scheme.lower() not in ("http", "https", "mailto"):
            problems.error(path, f"link '{href}' uses a {scheme}: URL", link.line,
                           "only http, https and mailto links can leave the book")
        return True
    if target:
        if os.path.isabs(target) or target.startswith(("/", "\\")):
            problems.error(path, f"link '{href}' is an absolute path", link.line,
                           "link to a chapter by its file name, relative to this chapter")
            return True
        t = (path.parent / target).resolve()
        if root is not None and not Path(os.path.normpath(path.parent / target)).is_relative_to(root.resolve()):
            if lenient and elsewhere_pages is not None:  # a page of the site around the book
                elsewhere_pages.append((path, link.line, href))
            else:
                report(path, f"link '{href}' leads outside the book folder", link.line,
                       "links inside a book go to its chapters (.md files) or to #ids")
            return False
        if t in broken:
            return True  # that chapter's own problem is reported
        if t not in by_file:
            if t.suffix.lower() == ".md" and t.exists():
                hint = f"add {target} to chapters in book.toml"
            elif t.suffix.lower() == ".md":
                hint = "check the file name (was the chapter renamed?)"
            else:
                hint = "links inside a book go to chapters (.md files) or to #ids"
            if lenient and elsewhere_pages is not None:  # reported together (a site links to many such pages)
                elsewhere_pages.append((path, link.line, href))
            else:
                report(path, f"link '{href}' goes to a file that is not a chapter of the book", link.line, hint)
            return False
        tcid = by_file[t]
    else:
        tcid = cid
    if frag and frag != tcid and frag not in slug_maps.get(tcid, {}):
        if not target and (_raw_id_exists(path, frag) or elsewhere(frag, slug_maps)):
            return True
        known = list(slug_maps.get(tcid, {}))
        report(path, f"link '{href}' points to '#{frag}', which is not a heading of that chapter",
               link.line, suggest(frag, known) or "link to a heading's id (its title in lower case, words joined by "
                                                  "hyphens)")
        return False
    return True


def elsewhere(frag: str, slug_maps: dict) -> str | None:
    """`#frag` written in one chapter for a heading of another (a book written as one file, then cut into
    chapters at its `#` headings): the heading's id, when one chapter alone has it; a chapter's own id."""
    if frag in slug_maps:
        return frag
    found = {m[frag] for m in slug_maps.values() if frag in m}
    if frag in found:  # two chapters have the heading: the id is the first one's (the later ones' are prefixed)
        return frag
    return found.pop() if len(found) == 1 else None


def _raw_id_exists(path: Path, frag: str) -> bool:
    return bool(re.search(r"""\bid\s*=\s*["']""" + re.escape(frag) + r"""["']""", path.read_text(encoding="utf-8-sig")))


def report_pages_elsewhere(found: list, problems, rel) -> None:
    """One warning for the links of a Pandoc book or an mdBook project to pages that are not its chapters (other
    books of the same site, API documentation): at the first, with how many there are and where."""
    if not found:
        return
    path, line, href = found[0]
    files = sorted({rel(p) for p, _, _ in found})
    if len(found) == 1:
        what = f"link '{href}' goes to a page that is not a chapter of the book: it is printed as its text"
    else:
        what = (f"link '{href}' and {len(found) - 1} more (in {len(files)} file{'s' if len(files) > 1 else ''}) "
                "go to pages that are not chapters of the book: they are printed as their text")
    problems.warn(path, what, line, "for an mdBook project, give [output.html] site-url as a full URL to make them "
                  "links to the web edition")

"""Paths a book names (its cover, pictures, stylesheets' url()s): resolved, and kept inside the book folder."""
from __future__ import annotations

import os
from pathlib import Path

from . import limits
from . import markdown as mdown
from .errors import Problems
from .model import Image

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".svg": "image/svg+xml", ".webp": "image/webp"}
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def rel_name(root: Path, path: Path) -> str:
    """A path as the author knows it: relative to the book folder."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def safe_path(root: Path, base: Path, rel: str, source: Path, line, problems: Problems,
              what: str = "path") -> Path | None:
    """Resolve `rel` against `base`, refusing URLs, absolute paths and anything that leads outside the book."""
    scheme, path, _ = mdown.href_parts(rel)
    scheme = scheme.lower()
    if scheme in ("http", "https", "ftp"):
        problems.error(source, f"{what} '{rel}' is a remote URL; the build makes no network request", line,
                       "download the file into the book folder and use a path relative to it")
        return None
    if scheme == "file":
        problems.error(source, f"{what} '{rel}' is a file:// URL; the build reads only files inside the book folder",
                       line, "copy the file into the book folder and use a path relative to it")
        return None
    if scheme and not (len(scheme) == 1 and os.name == "nt"):
        problems.error(source, f"{what} '{rel}' is a {scheme}: URL; the build reads only files inside the book folder",
                       line, "save the file in the book folder and use a path relative to it")
        return None
    if not path or os.path.isabs(path) or path.startswith(("/", "\\")):
        problems.error(source, f"{what} '{rel}' is an absolute path", line, "use a path relative to the book folder")
        return None
    rroot = root.resolve()
    plain = Path(os.path.normpath(base.resolve() / path))
    if not plain.is_relative_to(rroot):
        problems.error(source, f"{what} '{rel}' leads outside the book folder", line,
                       "copy the file into the book folder ('..' may not leave it)")
        return None
    target = plain.resolve()
    if not target.is_relative_to(rroot):
        problems.error(source, f"{what} '{rel}' is a symlink to a file outside the book folder", line,
                       "copy the file into the book folder instead of linking to it")
        return None
    return target


COVER_PIXELS = 40_000_000  # stores ask for about 1600 x 2560 (4 million); this allows 10x that


def cover_problem(path: Path):
    """(what is wrong, the hint) when the cover is not a real JPEG or PNG image of a sane size, else None. The
    header is read, not the pixels: a 20000 x 20000 image is refused before it takes gigabytes."""
    from PIL import Image, UnidentifiedImageError
    from .book_files import regular
    if not regular(path):
        return "is not a regular file", "point cover at an image file"
    if path.stat().st_size == 0:
        return "is an empty file", "export the cover image again"
    try:
        with Image.open(path) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return "is not an image (its content is not JPEG or PNG)", "export the cover as a JPEG or PNG image"
    except Image.DecompressionBombError:
        return "is far too large an image", "scale it down to about 1600 x 2560 pixels"
    if kind not in ("JPEG", "PNG"):
        return f"is a {kind} image, not JPEG or PNG", "convert the cover to JPEG"
    if width * height > COVER_PIXELS:
        return (f"is {width} x {height} pixels, more than the {COVER_PIXELS // 1_000_000} million pixels allowed",
                "scale it down to about 1600 x 2560 pixels, what the stores ask for")
    return None


def check_book_files(root: Path, problems: Problems):
    """The book's own templates and stylesheets: no symlink out of the book; every url() and @import in a
    stylesheet, at any depth of styles/, names a file inside the book (the PDF's URL fetcher refuses the rest, but
    in a layout process and without a line: here it gets one). CSS is read by tinycss2, so that an escaped
    `u\\72l(...)` is the url() it is."""
    from .book_files import check_folders, own_files
    check_folders(root, problems)
    for css in own_files(root, "styles", "**/*.css"):
        try:
            text = css.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as e:
            problems.error(css, f"cannot be read as UTF-8 text ({e})", None, "save the stylesheet as UTF-8")
            continue
        for url, line in css_urls(text):
            if url.startswith(("data:", "#")):
                continue
            target = safe_path(root, css.parent, url, css, line, problems, what="stylesheet url")
            if target is not None and not target.is_file():
                problems.error(css, f"url '{url}' not found", line, "check the path, relative to the stylesheet")


def css_urls(text: str) -> list[tuple[str, int]]:
    """(url, line) of every url() and @import of a stylesheet, as a CSS parser reads them."""
    import tinycss2
    found: list = []

    def walk(tokens):
        for t in tokens or ():
            if t.type == "url":
                found.append((t.value, t.source_line))
            elif t.type == "function":
                if t.lower_name == "url":
                    found.extend((a.value, t.source_line) for a in t.arguments if a.type == "string")
                walk(t.arguments)
            elif t.type in ("() block", "[] block", "{} block"):
                walk(t.content)
    for rule in tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            found.extend((t.value, rule.source_line) for t in rule.prelude if t.type == "string")
        if rule.type in ("at-rule", "qualified-rule"):
            walk(rule.prelude)
            walk(rule.content)
    return found


def check_image(root, path, src, alt, line, problems, also=None) -> Image | None:
    """The picture `src` of a chapter, relative to the chapter's file (or to `also`, the folder Pandoc is run
    from, for a Pandoc book), checked; None when it cannot be printed (reported)."""
    if not alt.strip():
        problems.error(path, f"image '{src}' has no alt text", line,
                       "describe the image in the brackets: ![what it shows](...)")
    target = safe_path(root, path.parent, src, path, line, problems, what="image")
    if target is None:
        return None
    if not target.is_file() and also is not None:
        other = safe_path(root, also, src, path, line, problems, what="image")
        target = other if other is not None and other.is_file() else target
    if not target.is_file():
        problems.error(path, f"image '{src}' not found", line, "check the path, relative to this chapter's file")
        return None
    media_type = IMAGE_TYPES.get(target.suffix.lower())
    if media_type is None:
        problems.error(path, f"image '{src}' is not a supported type", line,
                       "use PNG, JPEG, GIF, SVG or WebP")
        return None
    if media_type == "image/svg+xml":
        from .svg import BadSVG, clean_svg
        try:
            clean_svg(target.read_bytes())
        except BadSVG as e:
            problems.error(path, f"image '{src}' {e}", line, "export the figure again as plain SVG")
            return None
    if media_type != "image/svg+xml":
        from PIL import Image as PILImage
        try:
            with PILImage.open(target) as im:
                width, height = im.size
                im.verify()
                # the media type is the file's, whatever its name says (a .jpg that is a PNG)
                media_type = IMAGE_FORMATS.get(im.format, media_type)
        except PILImage.DecompressionBombError:
            width = height = 10 ** 6  # Pillow's own limit: reported below with the build's
        except Exception:
            problems.error(path, f"image '{src}' is not a readable {media_type.split('/')[1].upper()} file", line,
                           "re-export the image")
            return None
        limit = limits.image_pixels()
        if width * height > limit:  # a 12000 x 12000 PNG took 1.2 GB to lay out, without a word
            problems.error(path, f"image '{src}' is {width} x {height} pixels, more than the {limit:,} the build "
                           "takes", line, "scale it down (300 pixels per inch of print is plenty), or set "
                           f"{limits.IMAGE_PIXELS_VAR} to allow more")
            return None
    href = target.relative_to(root.resolve()).as_posix()
    return Image(target, href, media_type)

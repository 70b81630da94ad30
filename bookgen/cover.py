"""The EPUB cover: the book's own image, or one generated from templates/epub/cover-art.html.j2."""
from __future__ import annotations

from .render import context, environment, render

COVER_SIZE = (1600, 2560)


def cover_image(book, apart: bool = False) -> tuple[bytes, str, str]:
    """(image bytes, media type, file extension). `apart`: a generated cover's page drawn in a small process of
    its own (cover_raster.py)."""
    if book.meta.cover is not None:
        data = book.meta.cover.read_bytes()
        if book.meta.cover.suffix.lower() == ".png":
            return data, "image/png", "png"
        return data, "image/jpeg", "jpg"
    return generated_cover(book, apart), "image/jpeg", "jpg"


def generated_cover(book, apart: bool = False) -> bytes:
    from weasyprint import HTML

    from .write_pdf import fetcher_for

    html = render(environment(book.root), "epub/cover-art.html.j2", **context(book, "epub"))
    pdf = HTML(string=html, base_url=str(book.root), url_fetcher=fetcher_for(book)).write_pdf()
    if apart:
        return _jpeg_apart(pdf)
    from .cover_raster import jpeg
    return jpeg(pdf, COVER_SIZE)


def _jpeg_apart(pdf: bytes) -> bytes:
    """cover_raster.jpeg in a Python of its own (-I: only the installed libraries on its path, not the folder)."""
    import subprocess
    import sys
    from pathlib import Path

    from .errors import BookError
    script = Path(__file__).with_name("cover_raster.py")
    done = subprocess.run([sys.executable, "-I", str(script), *map(str, COVER_SIZE)], input=pdf,
                          capture_output=True, timeout=120)
    if done.returncode != 0 or not done.stdout:
        said = done.stderr.decode(errors="replace")[-2000:]
        raise BookError(f"internal error: the cover could not be drawn:\n{said}")
    return done.stdout


class _Ready:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value

    def keep(self):
        pass  # nothing to keep: the book's own cover, or one made here


def start_cover(book, kept=None, here: bool = False):
    """Make the cover in another process while the print edition is laid out (rendering it at full size takes
    about 30 MB, which the build's own process is spared); `.result()` gives what cover_image gives. `kept`: a
    folder where the last build kept its generated cover (the chapter groups' cache): a cover made from the same
    page and the same files is taken from there, and no process is started. `here`: made in this process when
    asked for (a short book, laid out here: a process would cost more than the 0.1 s the cover takes)."""
    if book.meta.cover is not None:
        return _Ready(cover_image(book))
    import dataclasses
    # The cover page is drawn from the book's metadata, without its chapters, wherever it is made (its key too:
    # the template data of every chapter took 0.1 s to make, for nothing)
    book = dataclasses.replace(book, chapters=())
    kept_cover = _Kept(book, kept) if kept is not None and kept.is_dir() else None
    if kept_cover is not None and kept_cover.data is not None:
        return kept_cover
    if here:
        return _Made(lambda: cover_image(book), kept_cover)
    import multiprocessing

    from .layout_workers import in_a_process, start_fork_server
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return _Ready(cover_image(book))
    context = start_fork_server()  # here: it changes the working folder for a moment
    return _Made(in_a_process(context, cover_image, book, True), kept_cover)


class _Made:
    """A cover made when first asked for (`make()`: here, or waiting for its process), then kept if it can be."""

    def __init__(self, make, kept_cover):
        self.make, self.kept_cover, self.made = make, kept_cover, None

    def result(self):
        if self.made is None:
            self.made = self.make()
            if self.kept_cover is not None:
                self.kept_cover.data = self.made[0]
        return self.made

    def keep(self):
        if self.kept_cover is not None:
            self.kept_cover.keep()


class _Kept:
    """A generated cover kept between builds as `cover-<key>.jpg`, the key a digest of the cover's page and of
    every file it may show or be drawn with (the book's files but its Markdown, templates, styles, fonts, code and
    libraries: bookgen/cache.py)."""

    def __init__(self, book, folder):
        import hashlib

        from .cache import layout_inputs
        html = render(environment(book.root), "epub/cover-art.html.j2", **context(book, "epub"))
        inputs = layout_inputs(book.root, folder.parent)
        key = hashlib.sha256(f"{inputs}\0{html}".encode("utf-8", "surrogateescape")).hexdigest()
        self.folder, self.path, self.data = folder, folder / f"cover-{key}.jpg", None
        try:
            data = self.path.read_bytes()
            if data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9":  # a whole JPEG
                self.data = data
        except OSError:
            pass

    def result(self):
        return self.data, "image/jpeg", "jpg"

    def keep(self):
        """Once the build has written its outputs: this cover kept, any other removed."""
        from .atomic import write_atomic
        try:
            if self.data is not None and not self.path.is_file():
                write_atomic(self.path, self.data)
            for old in self.folder.glob("cover-*.jpg"):
                if old != self.path:
                    old.unlink()
        except OSError:
            pass  # only the next build is slower

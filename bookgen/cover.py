"""The EPUB cover: the book's own image, or one generated from templates/epub/cover-art.html.j2."""
from __future__ import annotations

import io

from .render import context, environment, render

COVER_SIZE = (1600, 2560)


def cover_image(book) -> tuple[bytes, str, str]:
    """(image bytes, media type, file extension)."""
    if book.meta.cover is not None:
        data = book.meta.cover.read_bytes()
        if book.meta.cover.suffix.lower() == ".png":
            return data, "image/png", "png"
        return data, "image/jpeg", "jpg"
    return generated_cover(book), "image/jpeg", "jpg"


def generated_cover(book) -> bytes:
    import pypdfium2
    from weasyprint import HTML

    from .write_pdf import fetcher_for

    html = render(environment(book.root), "epub/cover-art.html.j2", **context(book, "epub"))
    pdf = HTML(string=html, base_url=str(book.root), url_fetcher=fetcher_for(book)).write_pdf()
    doc = pypdfium2.PdfDocument(pdf)
    page = doc[0]
    scale = COVER_SIZE[0] / page.get_width()
    image = page.render(scale=scale).to_pil().convert("RGB")
    if image.size != COVER_SIZE:
        image = image.resize(COVER_SIZE)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()


class _Ready:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def start_cover(book):
    """Make the cover in another process while the print edition is laid out (rendering it at full size takes
    about 30 MB, which the build's own process is spared); `.result()` gives what cover_image gives."""
    if book.meta.cover is not None:
        return _Ready(cover_image(book))
    import dataclasses
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .layout_workers import main_module_hidden, start_fork_server
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return _Ready(cover_image(book))
    from .processes import die_with_parent
    pool = ProcessPoolExecutor(1, mp_context=start_fork_server(), initializer=die_with_parent)
    with main_module_hidden():
        future = pool.submit(cover_image, dataclasses.replace(book, chapters=()))
    pool.shutdown(wait=False)  # its one process ends once the cover is made

    class Pending:
        def result(self):
            return future.result()
    return Pending()

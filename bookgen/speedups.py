"""Single-core speed: two costs that grow faster than the book, found with the benchmark (`python -m bench`).

1. pydyf's `PDF.page_references` builds a tuple of every page's reference each time it is read, and WeasyPrint
   reads it once per tagged element and link (weasyprint/pdf/tags.py, anchors.py): writing a tagged PDF costs
   pages x elements (2.3 s of 5 s for a 330-page book). `fast_page_references()` caches the tuple while the
   PDF is written; the bytes written are the same.
2. Compression: pydyf compresses every stream (page contents, fonts, images) at level 9, one after the other,
   while the file is written (1.5 s for 330 pages). `compress_in_threads()` compresses them beforehand in a few
   threads (zlib works outside Python's lock, so this uses the other cores); the bytes written are the same.
3. Python's cyclic garbage collector scans the growing tree of boxes again and again during the layout (821
   collections for a 330-page book); nearly nothing in it is garbage. `fewer_collections()` raises the threshold
   of the youngest generation for the build: about 6x fewer collections, 8-13% less CPU time for the layout, the
   same peak memory (measured: 169 and 170 MB).
4. Page labels added by re-reading and re-writing the whole PDF with pypdf (2.2 s for 330 pages, and the file
   grew from 1.4 to 3.3 MB): `page_labels_finisher()` puts the same /PageLabels in WeasyPrint's own PDF
   before it is written.
"""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def fewer_collections(threshold: int = 100_000):
    import gc
    before = gc.get_threshold()
    gc.set_threshold(max(threshold, before[0]), max(50, before[1]), max(1000, before[2]))
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def fast_page_references():
    import pydyf

    original = pydyf.PDF.__dict__.get("page_references")
    if not isinstance(original, property):  # a pydyf that no longer has it: nothing to do
        yield
        return

    def cached(self):
        kids = self.pages["Kids"]
        key = (id(kids), len(kids))
        memo = self.__dict__.get("_bookgen_page_refs")
        if memo is None or memo[0] != key:
            memo = (key, original.fget(self))
            self.__dict__["_bookgen_page_refs"] = memo
        return memo[1]

    pydyf.PDF.page_references = property(cached)
    try:
        yield
    finally:
        pydyf.PDF.page_references = original


@contextmanager
def compress_in_threads(threads: int | None = None):
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pydyf

    threads = threads or min(4, os.cpu_count() or 1)
    data_property = pydyf.Stream.__dict__.get("data")
    original_write = pydyf.PDF.__dict__.get("write")
    if threads < 2 or not isinstance(data_property, property) or original_write is None:
        yield
        return
    done: dict = {}  # id(stream) -> (stream, bytes)

    def data(self):
        hit = done.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        return data_property.fget(self)

    def write(self, *args, **kwargs):
        streams = [o for o in self.objects if isinstance(o, pydyf.Stream) and getattr(o, "compress", False)]
        with ThreadPoolExecutor(threads) as pool:
            for stream, value in zip(streams, pool.map(data_property.fget, streams)):
                done[id(stream)] = (stream, value)
        return original_write(self, *args, **kwargs)

    pydyf.Stream.data = property(data)
    pydyf.PDF.write = write
    try:
        yield
    finally:
        pydyf.Stream.data = data_property
        pydyf.PDF.write = original_write
        done.clear()


def page_labels_finisher(body_start: int):
    """A WeasyPrint finisher: pages before `body_start` are labelled i, ii...; from it on 1, 2..."""
    def finish(document, pdf):
        import pydyf
        nums = []
        if body_start > 0:
            nums += [0, pydyf.Dictionary({"S": "/r", "St": 1})]
        nums += [body_start, pydyf.Dictionary({"S": "/D", "St": 1})]
        pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": pydyf.Array(nums)})
    return finish

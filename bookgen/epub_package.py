"""What distributors' checkers ask of the OPF beyond what ebooklib writes (DAISY Ace, EPUBCheck 4.2.6 and 5.3)."""
from __future__ import annotations

import io
import zipfile

from lxml import etree

OPF_NS = "http://www.idpf.org/2007/opf"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def opf_name(data: bytes) -> str:
    container = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("META-INF/container.xml"))
    return container.find(".//{*}rootfile").get("full-path")


def with_package_language(data: bytes, language: str) -> tuple[str, bytes]:
    """(the OPF's name, the OPF with xml:lang on <package>): Ace flags a package without it, even with
    dc:language set."""
    name = opf_name(data)
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read(name))
    root.set(XML_LANG, language)
    return name, etree.tostring(root, encoding="utf-8", xml_declaration=True)


def add_print_source(eb, text: str) -> None:
    """The print edition the page numbers come from: dc:source refined by source-of "pagination", which
    EPUBCheck 4.2.6 accepts as well as 5.3 (4.2.6 rejects the newer pageBreakSource property)."""
    eb.add_metadata("DC", "source", text, {"id": "print-source"})
    eb.add_metadata(None, "meta", "pagination", {"refines": "#print-source", "property": "source-of"})


EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
              "image/svg+xml": ".svg"}


def image_names(images) -> dict:
    """href in the book -> file name in the EPUB: a file whose extension says another type than its content (a
    .jpg that is a PNG) gets the right one there (EPUBCheck PKG-022); the print edition reads the file as it is."""
    taken = {img.href for img in images}
    out = {}
    for img in images:
        ext = EXTENSIONS.get(img.media_type)
        stem, dot, suffix = img.href.rpartition(".")
        if ext is None or ("." + suffix.lower() if dot else "") in (ext, ".jpeg" if ext == ".jpg" else ext):
            out[img.href] = img.href
            continue
        name, n = f"{img.href}{ext}", 1
        while name in taken:
            name, n = f"{img.href}-{n}{ext}", n + 1
        taken.add(name)
        out[img.href] = name
    return out


def rename_images(root, names: dict) -> None:
    """Point the chapter's <img> elements at the images' EPUB file names."""
    for img in root.iter("{http://www.w3.org/1999/xhtml}img"):
        if names.get(img.get("src")) not in (None, img.get("src")):
            img.set("src", names[img.get("src")])

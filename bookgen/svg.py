"""SVG images made safe and valid in both editions: an SVG file is a program as much as a picture (scripts,
event handlers, entities, references to other files and to the network). What the build prints is the picture
only: no DOCTYPE or entities, no script or foreignObject, no on* handler, no reference outside the file (an href
that is not `#id` or a `data:` image; an url(...) or @import in its styles). EPUBCheck rejects the rest; e-readers
that run scripts would run them."""
from __future__ import annotations

import re

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
XLINK = "{http://www.w3.org/1999/xlink}href"
_DROP = {"script", "foreignObject", "handler", "listener"}
_NEEDS_HREF = {"image", "use", "feImage", "tref", "textPath"}
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?(?!#|data:image/)[^)]*\)|@import[^;]*;?", re.I)


class BadSVG(ValueError):
    """The file is not an SVG image the build can print."""


def clean_svg(data: bytes) -> bytes:
    if not data.strip():
        raise BadSVG("is an empty file")
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise BadSVG(f"is not well-formed SVG ({e.msg})") from None
    if etree.QName(root).localname != "svg":
        raise BadSVG("is not an SVG image (its root element is not <svg>)")
    for el in list(root.iter()):
        if not isinstance(el.tag, str):  # an entity reference left unresolved
            el.getparent().remove(el)
            continue
        if etree.QName(el).localname in _DROP:
            el.getparent().remove(el)
            continue
        for name, value in list(el.attrib.items()):
            local = etree.QName(name).localname
            if local.lower().startswith("on"):
                del el.attrib[name]
            elif (name == XLINK or local == "href") and not value.strip().startswith(("#", "data:image/")):
                del el.attrib[name]
                if etree.QName(el).localname in _NEEDS_HREF:  # nothing left to draw (and WeasyPrint fails on it)
                    el.getparent().remove(el)
                    break
            elif local == "style" and _EXTERNAL_URL.search(value):
                el.attrib[name] = _EXTERNAL_URL.sub("none", value)
        if etree.QName(el).localname == "style" and el.text and _EXTERNAL_URL.search(el.text):
            el.text = _EXTERNAL_URL.sub("none", el.text)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)  # no DOCTYPE: only the root is written

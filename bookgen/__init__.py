"""bookgen: turn a folder of Markdown chapters into a printable PDF and an EPUB 3."""

__version__ = "0.1.0"

from .weasy import quick_import as _quick_import

_quick_import()  # WeasyPrint, when a module imports it, is imported 0.16 s faster (bookgen/weasy.py)

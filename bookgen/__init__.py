"""bookgen: turn a folder of Markdown chapters into a printable PDF and an EPUB 3."""

__version__ = "0.1.0"

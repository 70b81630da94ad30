#!/usr/bin/env python3
"""Build the book: `python build.py` turns book/ into dist/<slug>.pdf and dist/<slug>.epub (see --help)."""
import sys

from bookgen.cli import run

if __name__ == "__main__":
    sys.exit(run())

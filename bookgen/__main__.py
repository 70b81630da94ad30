"""`python -m bookgen`: the same command line as `bookgen` and `python build.py`."""
import sys

from .cli import run

sys.exit(run())

"""`--watch`: build, then rebuild whenever a file in the book, the project's templates or styles changes."""
from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path


def watched_paths(options) -> list[Path]:
    from .render import STYLES, TEMPLATES
    return [p for p in (Path(options.book), TEMPLATES, STYLES) if p.is_dir()]


def watch(options, build_once, level: int = 1) -> int:
    """Run `build_once()` now and after every change; a failed build keeps the watcher running.
    Ctrl-C (also in the middle of a build) stops it cleanly: exit status 0."""
    from watchfiles import DefaultFilter
    from watchfiles import watch as watch_changes

    if not Path(options.book).is_dir():
        print(f"{options.book}: book folder not found (hint: pass --book DIR with a folder holding book.toml)",
              file=sys.stderr)
        return 1
    out = Path(options.out).resolve()

    class BookFilter(DefaultFilter):
        """Ignore the output folder (it may be inside the book), partial files and editor droppings."""

        def __call__(self, change, path: str) -> bool:
            p = Path(path)
            return (super().__call__(change, path) and not p.resolve().is_relative_to(out)
                    and not p.name.endswith((".part", ".old")))

    paths = watched_paths(options)
    # yield_on_timeout: the first next() returns once the watcher is running (so "watching" is true when
    # printed), and an empty set now and then, which is skipped
    changes_seen = watch_changes(*paths, watch_filter=BookFilter(), raise_interrupt=True, yield_on_timeout=True,
                                 rust_timeout=500)
    try:
        # The watcher starts first, so that a file saved during the first build is seen (it was lost when the
        # watcher started after it); the first next() returns once it runs (within rust_timeout).
        first = next(changes_seen)
        build_once()
        print(f"watching {', '.join(str(p) for p in paths)} for changes (Ctrl-C to stop)", flush=True)
        for changes in itertools.chain([first], changes_seen):
            if not changes:
                continue
            names = sorted({_short(Path(path), paths) for _, path in changes})
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            print(f"{time.strftime('%H:%M:%S')} changed: {shown}", flush=True)
            saved = _newest(path for _, path in changes)
            status = build_once()
            if saved is not None and status == 0 and level:  # edit-to-file latency: the last save to the files
                print(f"{time.strftime('%H:%M:%S')} {time.time() - saved:.2f}s from the save to the new files",
                      flush=True)
    except KeyboardInterrupt:
        print("stopped watching", flush=True)
        return 0
    return 0


def _newest(paths) -> float | None:
    """When the newest of the changed files was written (a deleted file: not known)."""
    times = []
    for path in paths:
        try:
            times.append(Path(path).stat().st_mtime)
        except OSError:
            continue
    return max(times, default=None)


def _short(path: Path, roots) -> str:
    for root in roots:
        try:
            return str(path.resolve().relative_to(Path(root).resolve().parent))
        except ValueError:
            continue
    return str(path)

"""Files written whole or not at all."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_whole(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it over `path`
    (`os.replace`, atomic): a crash, a full disk or Ctrl-C leaves the old file (or none), never
    half of the new one. The temporary file keeps `path`'s suffix (`.results.tmp.nc`), so
    writers that choose a format by suffix still can; it is removed if `write` fails."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path

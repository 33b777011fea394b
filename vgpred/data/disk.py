"""Disk space for cache writers: the free space check before (and while) a cache is written.

``data prepare`` and ``data moving-mnist`` estimate their output and refuse to start
when it would not fit on the disk, and check again before each shard, so a run never
fills a disk; ``--ignore-disk-check`` turns both checks off.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from vgpred.errors import VgpredError

IGNORE_OPTION = "--ignore-disk-check"


def human(size: float) -> str:
    """``size`` bytes as a short text (``1.5 GB``)."""
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    for unit in units:
        if abs(size) < 1000 or unit == units[-1]:
            break
        size /= 1000
    return f"{size:.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"


def free_bytes(path: Path) -> int:
    """Free bytes on the disk that holds ``path`` (or would hold it: the nearest existing parent is asked)."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def check_room(dst: Path, needed: int, what: str, note: str = "") -> None:
    """Raise a one-line error when ``needed`` bytes (``what`` they are) exceed the free space at ``dst``.

    ``note`` is added to the advice (e.g. that finished shards are kept).
    """
    free = free_bytes(dst)
    if needed > free:
        raise VgpredError(f"{dst}: {what} needs about {human(needed)}, but only {human(free)} is free on its "
                          f"disk; free some space{note}, choose another folder, or pass {IGNORE_OPTION}")

"""Atomic file writes: write to a hidden temporary name beside the target, then rename.

A crash or a full disk at any moment leaves either the old file or the new one,
never a half-written file under the real name. A process killed while writing
leaves its hidden temporary file; :func:`remove_stale_temps` clears those of
processes that are gone, for writers that come back to a folder (``data prepare``).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO, Callable


_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.tmp")


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temps(folder: Path, names: re.Pattern[str]) -> list[Path]:
    """Delete the temporary files in ``folder`` that atomic writes of files named like ``names`` left
    behind: those of processes that no longer run, and this process's own (call it before this
    process writes into ``folder``: a killed run may have had the same process id). Returns them."""
    removed = []
    for entry in Path(folder).iterdir() if Path(folder).is_dir() else ():
        match = _TEMP_NAME.fullmatch(entry.name)
        if not match or not names.fullmatch(match["name"]) or entry.is_symlink() or not entry.is_file():
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or not _process_exists(pid):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``; on failure nothing is left behind."""
    path = Path(path)
    tmp = _temp_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on an open binary temporary file, fsync it, then rename to ``path``."""

    def to_file(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())

    return atomic_write(path, to_file)

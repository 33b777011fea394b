"""Atomic file writes: write to a hidden temporary name beside the target, then rename.

A crash or a full disk at any moment leaves either the old file or the new one,
never a half-written file under the real name.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``; on failure nothing is left behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
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

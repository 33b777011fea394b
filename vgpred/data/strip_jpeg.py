"""The original VideoGAN data format: one JPEG per clip, frames stacked vertically.

A clip of T frames of ``frame_height`` x W pixels is stored as one
``(T * frame_height) x W`` image. A list file names the JPEGs, one per line, with an
optional label column (a class index or a class name)::

    golf/clip0001.jpg 3
    golf/clip0002.jpg 3

Paths are relative to the list file's folder; blank lines and ``#`` comments are ignored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps

from vgpred.errors import VgpredError


def read_list_file(path: str | Path) -> tuple[list[tuple[Path, str | None]], list[tuple[str, str]]]:
    """Entries ``(jpeg path, label text or None)`` of a list file, and ``(line, reason)`` of bad lines."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise VgpredError(f"{path}: cannot read list file ({err})") from None
    entries: list[tuple[Path, str | None]] = []
    bad: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.replace(",", " ").split()
        if len(parts) > 2:
            bad.append((f"{path}:{number}", "expected 'path [label]'"))
            continue
        entries.append((path.parent / parts[0], parts[1] if len(parts) == 2 else None))
    return entries, bad


def labels_from_texts(texts: list[str | None]) -> tuple[list[int], list[str]]:
    """Integer labels and class names from a list file's label column.

    Integer labels keep their values (class names "0".."max"); names are sorted into
    class indices; no labels at all gives -1 everywhere and no class names.
    """
    given = [t for t in texts if t is not None]
    if not given:
        return [-1] * len(texts), []
    if all(t.lstrip("-").isdigit() for t in given):
        values = [int(t) if t is not None else -1 for t in texts]
        return values, [str(i) for i in range(max(values) + 1)]
    names = sorted(set(given))
    lookup = {n: i for i, n in enumerate(names)}
    return [lookup[t] if t is not None else -1 for t in texts], names


def read_strip(path: str | Path, frame_height: int = 128) -> Iterator[Image.Image]:
    """The frames of a strip JPEG, top to bottom, as RGB Pillow images."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
    if frame_height <= 0 or img.height % frame_height:
        raise ValueError(f"image height {img.height} is not a multiple of the frame height {frame_height}")
    for top in range(0, img.height, frame_height):
        yield img.crop((0, top, img.width, top + frame_height))


def write_strip(frames: np.ndarray, path: str | Path, quality: int = 95) -> None:
    """Write uint8 frames ``(T, H, W, 3)`` as one vertically stacked JPEG (4:4:4, renamed into place)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(frames.reshape(-1, *frames.shape[2:])).save(tmp, format="JPEG", quality=quality, subsampling=0)
    tmp.replace(path)

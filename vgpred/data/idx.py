"""Readers for MNIST-format IDX files (MNIST, Fashion-MNIST, EMNIST, ...).

Both the gzip-compressed files that most mirrors (and Debian's
``dataset-fashion-mnist``) ship and uncompressed files are accepted, under either
naming: ``train-images-idx3-ubyte[.gz]`` or ``train-images.idx3-ubyte[.gz]``.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from vgpred.errors import VgpredError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PREFIX = {"train": "train", "test": "t10k"}

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a numpy array of its stored shape."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as err:
        raise VgpredError(f"{path}: cannot read IDX file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise VgpredError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if dims else 0
    if len(raw) - offset < count * dtype.itemsize:
        raise VgpredError(f"{path}: truncated IDX file (expected shape {dims})")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(dims)


def find_idx_file(idx_dir: str | Path, split: str, kind: str) -> Path:
    """Locate the ``images`` or ``labels`` IDX file of ``split`` ('train' or 'test') in ``idx_dir``."""
    idx_dir = Path(idx_dir)
    if split not in _PREFIX:
        raise VgpredError(f"--split: must be 'train' or 'test', got {split!r}")
    if not idx_dir.is_dir():
        raise VgpredError(f"{idx_dir}: IDX folder not found")
    rank = "idx3" if kind == "images" else "idx1"
    prefix = _PREFIX[split]
    for sep in ("-", "."):
        for ext in ("", ".gz"):
            candidate = idx_dir / f"{prefix}-{kind}{sep}{rank}-ubyte{ext}"
            if candidate.is_file():
                return candidate
    raise VgpredError(
        f"{idx_dir}: no {split} {kind} IDX file (expected {prefix}-{kind}-{rank}-ubyte[.gz])"
    )


def load_idx_split(idx_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, h, w)`` uint8 and labels ``(N,)`` int64 of one split of an IDX data set."""
    images = read_idx(find_idx_file(idx_dir, split, "images"))
    labels = read_idx(find_idx_file(idx_dir, split, "labels")).astype(np.int64)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise VgpredError(f"{idx_dir}: {split} images must be a 3-D uint8 IDX array, got {images.shape}")
    if len(labels) != len(images):
        raise VgpredError(f"{idx_dir}: {split} has {len(images)} images but {len(labels)} labels")
    return images, labels


def class_names_for(idx_dir: str | Path, labels: np.ndarray) -> list[str]:
    """Class names: Fashion-MNIST's names when the folder is named so, else the label numbers."""
    count = int(labels.max()) + 1 if len(labels) else 0
    if "fashion" in str(Path(idx_dir).resolve()).lower() and count == len(FASHION_CLASSES):
        return list(FASHION_CLASSES)
    return [str(i) for i in range(count)]

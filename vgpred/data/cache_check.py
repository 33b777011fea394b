"""Checks of a clip cache against its ``index.json``, run when a cache is opened.

A cache is whatever a user hands over: a folder copied by hand, a shard from another
cache, a file cut short by a full disk. Before any clip is read, every shard file is
checked from its ``.npy`` header alone (dtype, shape, byte size; a few hundred bytes
per file, so 600 k clips in ~1000 shards open in well under a second), shard paths
must stay inside the cache folder, and labels must name one of the cache's classes
(-1: no label; a cache that names no classes may carry unnamed labels, which label
mode refuses to train on). Any problem is one :class:`~vgpred.errors.VgpredError` line naming
the file and what is wrong with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vgpred.errors import VgpredError
from vgpred.limits import MAX_CLIP_FRAMES, MAX_CLIP_SIZE

# Keys of index.json the reader needs.
_REQUIRED = ("format", "version", "size", "frames", "channels", "num_clips", "shards")
# Integer entries and the values they may take.
_ALLOWED = {"size": range(1, MAX_CLIP_SIZE + 1), "frames": range(1, MAX_CLIP_FRAMES + 1), "channels": (1, 3)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_index(meta: Any, index: Path) -> dict:
    """``meta`` (parsed ``index.json``) as a mapping with every key the reader needs, of the right type."""
    if not isinstance(meta, dict):
        raise VgpredError(f"{index}: not a vgpred clip cache index (a JSON {type(meta).__name__}, not an object)")
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise VgpredError(f"{index}: damaged cache index (missing {', '.join(map(repr, missing))})")
    for key, allowed in _ALLOWED.items():
        if not _is_int(meta[key]) or meta[key] not in allowed:
            what = "1 or 3" if key == "channels" else f"an integer from 1 to {allowed[-1]}"
            raise VgpredError(f"{index}: {key} must be {what}, got {_short(meta[key])}")
    if not _is_int(meta["num_clips"]) or meta["num_clips"] < 0:
        raise VgpredError(f"{index}: num_clips must be an integer >= 0, got {_short(meta['num_clips'])}")
    names = meta.get("class_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise VgpredError(f"{index}: class_names must be a list of strings")
    shards = meta["shards"]
    if not isinstance(shards, list):
        raise VgpredError(f"{index}: shards must be a list, got {type(shards).__name__}")
    for k, entry in enumerate(shards):
        ok = (isinstance(entry, dict) and isinstance(entry.get("clips"), str) and isinstance(entry.get("labels"), str)
              and _is_int(entry.get("num")) and entry["num"] >= 0
              and isinstance(entry.get("digits", ""), str))
        if not ok:
            raise VgpredError(f"{index}: shard {k} must be an object with 'clips' and 'labels' file names and a "
                              f"clip count 'num' >= 0, got {_short(entry)}")
    listed = sum(entry["num"] for entry in shards)
    if listed != meta["num_clips"]:
        raise VgpredError(f"{index}: num_clips is {meta['num_clips']} but the shards list {listed} clips")
    return meta


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shard_file(root: Path, name: str, index: Path, real_root: Path) -> Path:
    """The file ``name`` of the index, refused unless it resolves to a file inside ``root`` (``real_root``
    is ``root`` resolved)."""
    path = Path(name)
    if path.is_absolute():
        raise VgpredError(f"{index}: shard file {name!r} is an absolute path; shard files must lie in the cache folder")
    full = root / path
    if not full.resolve().is_relative_to(real_root):
        raise VgpredError(f"{index}: shard file {name!r} points outside the cache folder")
    if not full.is_file():
        what = "is missing" if not full.exists() else "is not a file"
        raise VgpredError(f"{full}: shard listed in the index {what}")
    return full


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header says: dtype, shape, memory order, and where the data starts."""

    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    offset: int

    @property
    def data_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_npy_header(path: Path) -> NpyHeader:
    """The header of the ``.npy`` file ``path`` (no data is read); damage is a one-line error."""
    from numpy.lib import format as npy

    size = path.stat().st_size
    if size == 0:
        raise VgpredError(f"{path}: empty file (0 bytes); the cache is damaged, prepare it again")
    with open(path, "rb") as f:
        try:
            version = npy.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
        except (ValueError, SyntaxError, TypeError, EOFError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise VgpredError(f"{path}: not a readable NumPy array file ({first})") from None
        return NpyHeader(np.dtype(dtype), tuple(int(n) for n in shape), bool(fortran), f.tell())


def check_array(path: Path, dtype: np.dtype, shape: tuple[int | None, ...], what: str) -> NpyHeader:
    """Check that ``path`` holds a whole C-order array of ``dtype`` and ``shape`` (None: any length)."""
    header = read_npy_header(path)
    if header.dtype != dtype:
        raise VgpredError(f"{path}: {what} are {header.dtype}, a clip cache stores {np.dtype(dtype)}")
    if header.fortran_order:
        raise VgpredError(f"{path}: {what} are stored in Fortran order; a clip cache stores C order")
    fits = len(header.shape) == len(shape) and all(w is None or w == s for w, s in zip(shape, header.shape))
    if not fits:
        wanted = "x".join("*" if w is None else str(w) for w in shape)
        got = "x".join(map(str, header.shape)) or "a scalar"
        axes = " (clips x T x H x W x C)" if len(shape) == 5 else ""
        raise VgpredError(f"{path}: {what} have shape {got}, the index needs {wanted}{axes}")
    expected = header.offset + header.data_bytes
    actual = path.stat().st_size
    if actual != expected:
        cut = "truncated" if actual < expected else "longer than its header says"
        raise VgpredError(f"{path}: {cut} ({actual} bytes, the header needs {expected}); the cache is damaged, "
                          "prepare it again")
    return header


@dataclass(frozen=True)
class CacheFacts:
    """What opening checked: resolved shard files and how many clips carry no label."""

    clips: list[Path]
    labels: list[Path]
    unlabelled: int


def check_shards(root: Path, meta: dict, index: Path) -> CacheFacts:
    """Check every shard of the cache at ``root`` against its (already checked) index ``meta``."""
    frames, size, channels = meta["frames"], meta["size"], meta["channels"]
    classes = len(meta.get("class_names", []))
    real_root = root.resolve()
    clips, labels, unlabelled = [], [], 0
    for entry in meta["shards"]:
        num = entry["num"]
        clip_file = shard_file(root, entry["clips"], index, real_root)
        check_array(clip_file, np.dtype(np.uint8), (num, frames, size, size, channels), "clips")
        label_file = shard_file(root, entry["labels"], index, real_root)
        header = check_array(label_file, np.dtype(np.int64), (num,), "labels")
        if "digits" in entry:
            digits = shard_file(root, entry["digits"], index, real_root)
            check_array(digits, np.dtype(np.int64), (num, None), "digit classes")
        if num:
            values = np.fromfile(label_file, dtype=np.int64, count=num, offset=header.offset)
            low, high = int(values.min()), int(values.max())
            if low < -1:
                raise VgpredError(f"{label_file}: label {low} is out of range; -1 marks a clip without a label")
            if classes and high >= classes:
                raise VgpredError(f"{label_file}: label {high} is out of range; the index names {classes} classes "
                                  f"(0 to {classes - 1}), -1 marks a clip without one")
            unlabelled += int(np.count_nonzero(values == -1))
        clips.append(clip_file)
        labels.append(label_file)
    return CacheFacts(clips, labels, unlabelled)

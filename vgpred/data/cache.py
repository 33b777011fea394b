"""The clip cache: uint8 shards plus a JSON index, read through memory maps.

Layout of a cache folder::

    index.json                 format name + version, sizes, class names, shards, settings
    shard-00000.clips.npy      uint8 (N, T, H, W, C)
    shard-00000.labels.npy     int64 (N,), -1 where a clip has no label
    shard-00000.digits.npy     optional int64 (N, D): per-digit classes of Moving MNIST

Every file is written to a temporary name and renamed when complete; ``index.json``
is written last, so a folder with an index is always a whole cache. Nothing reads
the whole data set into memory: shards are memory-mapped lazily in each process.
"""
from __future__ import annotations

import bisect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from vgpred.data.cache_check import check_index, check_shards
from vgpred.data.disk import check_room
from vgpred.errors import VgpredError
from vgpred.io.atomic import atomic_write_bytes

FORMAT_NAME = "vgpred-clip-cache"
FORMAT_VERSION = 1
INDEX_NAME = "index.json"
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    text = json.dumps(obj, indent=2).encode("utf-8")
    atomic_write_bytes(path, lambda f: f.write(text))


def is_cache(path: str | Path) -> bool:
    """True when ``path`` is a folder with an ``index.json`` (a complete, or a damaged, clip cache).

    A damaged index counts, so that opening it reports the damage instead of treating
    the folder as raw videos.
    """
    return (Path(path) / INDEX_NAME).is_file()


def read_index(path: str | Path) -> dict:
    """The parsed ``index.json`` of a cache, checked for format, version, keys and types."""
    path = Path(path)
    index = path / INDEX_NAME
    if not index.is_file():
        raise VgpredError(f"{path}: not a vgpred clip cache (no {INDEX_NAME}); run `vgpred data prepare` first")
    try:
        meta = json.loads(index.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise VgpredError(f"{index}: unreadable cache index ({err})") from None
    except RecursionError:
        raise VgpredError(f"{index}: unreadable cache index (nested too deeply)") from None
    if not isinstance(meta, dict):
        raise VgpredError(f"{index}: not a vgpred clip cache index (a JSON {type(meta).__name__}, not an object)")
    if meta.get("format") != FORMAT_NAME:
        raise VgpredError(f"{index}: not a vgpred clip cache index (format {meta.get('format')!r})")
    if meta.get("version") != FORMAT_VERSION:
        raise VgpredError(f"{index}: cache format version {meta.get('version')} is not supported "
                          f"(this vgpred reads version {FORMAT_VERSION}); prepare the data again")
    return check_index(meta, index)


@dataclass
class ShardWriter:
    """Writes shards of one cache folder; call :meth:`finish` to write the index.

    Args:
        dst: cache folder (created).
        frames, size, channels: clip shape ``(T, size, size, C)``.
        shard_clips: clips per shard.
        disk_check: refuse to write a shard that would not fit in the disk's free space.
    """

    dst: Path
    frames: int
    size: int
    channels: int
    shard_clips: int
    shards: list[dict] = field(default_factory=list)
    disk_check: bool = True
    _clips: list[np.ndarray] = field(default_factory=list)
    _labels: list[int] = field(default_factory=list)
    _digits: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dst = Path(self.dst)
        self.dst.mkdir(parents=True, exist_ok=True)

    @property
    def num_clips(self) -> int:
        return sum(s["num"] for s in self.shards) + len(self._clips)

    @property
    def pending(self) -> int:
        return len(self._clips)

    def add(self, clip: np.ndarray, label: int = -1, digits: np.ndarray | None = None) -> bool:
        """Queue one uint8 ``(T, H, W, C)`` clip; returns True when this completed a shard."""
        expected = (self.frames, self.size, self.size, self.channels)
        if clip.shape != expected or clip.dtype != np.uint8:
            raise ValueError(f"clip must be uint8 {expected}, got {clip.dtype} {clip.shape}")
        self._clips.append(clip)
        self._labels.append(int(label))
        if digits is not None:
            self._digits.append(np.asarray(digits, dtype=np.int64))
        if len(self._clips) >= self.shard_clips:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write the queued clips as one shard (nothing when none are queued)."""
        if not self._clips:
            return
        stem = f"shard-{len(self.shards):05d}"
        entry = {"clips": f"{stem}.clips.npy", "labels": f"{stem}.labels.npy", "num": len(self._clips)}
        clips = np.stack(self._clips)
        labels = np.asarray(self._labels, dtype=np.int64)
        digits = np.stack(self._digits) if self._digits else None
        if self.disk_check:
            size = clips.nbytes + labels.nbytes + (digits.nbytes if digits is not None else 0)
            check_room(self.dst, size, f"shard {stem} ({len(clips)} clips)",
                       " (the finished shards are kept: the same command goes on from them)")
        atomic_write_bytes(self.dst / entry["clips"], lambda f: np.save(f, clips))
        atomic_write_bytes(self.dst / entry["labels"], lambda f: np.save(f, labels))
        if digits is not None:
            entry["digits"] = f"{stem}.digits.npy"
            atomic_write_bytes(self.dst / entry["digits"], lambda f: np.save(f, digits))
        self.shards.append(entry)
        self._clips, self._labels, self._digits = [], [], []

    def finish(self, class_names: list[str], source: str, settings: dict, extra: dict | None = None) -> dict:
        """Flush the last shard and write ``index.json`` (last, atomically); returns the index."""
        self.flush()
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "size": self.size,
            "frames": self.frames,
            "channels": self.channels,
            "num_clips": self.num_clips,
            "class_names": list(class_names),
            "shards": self.shards,
            "source": source,
            "settings": settings,
            **(extra or {}),
        }
        atomic_write_json(self.dst / INDEX_NAME, meta)
        return meta


class ClipDataset(Dataset):
    """Clips of a prepared cache: ``ds[i] -> (clip float32 (C, T, H, W) in [-1, 1], label int)``.

    Opening checks every shard against the index (:mod:`vgpred.data.cache_check`):
    a damaged cache fails here with one line naming the file, not halfway through
    training. ``unlabelled`` counts the clips without a label (-1). Shards are
    memory-mapped on first use in each process (safe after fork into DataLoader
    workers, and picklable for spawn). ``channels`` converts on the fly: 1 -> 3
    replicates the gray channel, 3 -> 1 takes the luma.
    """

    def __init__(self, path: str | Path, channels: int | None = None) -> None:
        self.path = Path(path)
        self.meta = read_index(self.path)
        self.frames: int = int(self.meta["frames"])
        self.size: int = int(self.meta["size"])
        self.stored_channels: int = int(self.meta["channels"])
        if channels not in (None, 1, 3):
            raise VgpredError(f"channels: must be 1 or 3, got {channels}")
        self.channels: int = int(channels or self.stored_channels)
        self.class_names: list[str] = list(self.meta.get("class_names", []))
        facts = check_shards(self.path, self.meta, self.path / INDEX_NAME)
        self._files: list[tuple[Path, Path]] = list(zip(facts.clips, facts.labels))
        self.unlabelled: int = facts.unlabelled
        self._offsets = np.cumsum([0] + [int(s["num"]) for s in self.meta["shards"]]).tolist()
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._pid = os.getpid()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state

    def __len__(self) -> int:
        return self._offsets[-1]

    def _shard(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._pid != os.getpid():
            self._maps, self._pid = {}, os.getpid()
        if k not in self._maps:
            clip_file, label_file = self._files[k]
            clips = np.load(clip_file, mmap_mode="r")
            labels = np.load(label_file, mmap_mode="r")
            self._maps[k] = (clips, labels)
        return self._maps[k]

    def _locate(self, i: int) -> tuple[int, int]:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"clip index {i} out of range for {n} clips")
        k = bisect.bisect_right(self._offsets, i) - 1
        return k, i - self._offsets[k]

    def uint8(self, i: int) -> np.ndarray:
        """Raw clip ``i`` as uint8 ``(T, H, W, C)`` in the requested channels."""
        k, j = self._locate(int(i))
        clip = np.array(self._shard(k)[0][j])  # a private copy, detached from the memory map
        if self.channels == self.stored_channels:
            return clip
        if self.channels == 3:
            return np.repeat(clip, 3, axis=-1)
        luma = clip.astype(np.float32) @ _LUMA
        return np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]

    def label(self, i: int) -> int:
        """Label of clip ``i`` (-1 when unlabeled)."""
        k, j = self._locate(int(i))
        return int(self._shard(k)[1][j])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        clip = torch.from_numpy(self.uint8(i)).permute(3, 0, 1, 2).float()
        return clip.div_(127.5).sub_(1.0), self.label(i)


def open_dataset(path: str | Path, channels: int | None = None) -> ClipDataset:
    """Open a prepared clip cache as a :class:`ClipDataset` (clips ``(C, T, H, W)`` in [-1, 1])."""
    return ClipDataset(path, channels=channels)

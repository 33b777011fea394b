"""What a standard data set's reader returns: the items of one split, each giving clips.

An item is one file (a video, a TFRecord shard, the Moving MNIST array) with a label;
``item.clips(spec)`` yields uint8 ``(T, h, w, C)`` clips at the data's own resolution
and channels (the cache writer resizes and converts them). Skippable damage in one
video raises :class:`vgpred.data.video_folder.SkipSource` (the file is listed as
skipped, as ``data prepare`` does); damage that would make the split incomplete
(a bad checksum, a wrong shape) raises :class:`vgpred.errors.VgpredError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from vgpred.data.sources import Source, shown
from vgpred.data.video_folder import ClipSpec, estimate_clips, iter_clips


@dataclass(frozen=True)
class Item:
    """One file of a split: its name in messages, label (-1: none), clip iterator and clip estimate."""

    name: str
    label: int
    clips: Callable[[ClipSpec], Iterator[np.ndarray]]
    estimate: Callable[[ClipSpec], int]


@dataclass
class Split:
    """The items of one split of a standard data set."""

    items: list[Item]
    class_names: list[str]
    description: str


def video_item(path: Path, label: int) -> Item:
    """A video file, cut into clips as ``data prepare`` cuts them (``spec`` decides length and cropping)."""
    source = Source(path, "video", label)
    return Item(shown(path), label, lambda spec: iter_clips(source, spec), lambda spec: estimate_clips(source, spec))

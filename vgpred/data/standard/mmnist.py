"""The Moving MNIST test set as distributed: ``mnist_test_seq.npy``.

The file holds uint8 ``(20, 10000, 64, 64)``: frames first, then sequences (two
digits bouncing in a 64x64 frame, Srivastava et al. 2015). Any ``(T, N, S, S)``
uint8 array in the same layout is read (a subset, or a file made the same way);
the array is memory-mapped, never loaded whole, and never unpickled.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from vgpred.data.standard.base import Item, Split
from vgpred.data.sources import shown
from vgpred.data.video_folder import ClipSpec
from vgpred.errors import VgpredError

EXPECTED = "uint8 (frames, sequences, side, side), e.g. (20, 10000, 64, 64)"


def open_array(path: Path) -> np.ndarray:
    """The memory-mapped array of a Moving MNIST ``.npy`` file, its shape and type checked."""
    if not path.is_file():
        raise VgpredError(f"{shown(path)}: not found (expected the Moving MNIST file mnist_test_seq.npy)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise VgpredError(f"{shown(path)}: not a readable .npy file ({err})") from None
    if not isinstance(array, np.ndarray):
        raise VgpredError(f"{shown(path)}: holds several arrays (an .npz); expected one .npy array, {EXPECTED}")
    shape = tuple(array.shape)
    if array.dtype != np.uint8 or array.ndim != 4 or shape[2] != shape[3] or min(shape) < 1 or shape[0] < 2:
        raise VgpredError(f"{shown(path)}: a Moving MNIST file must hold {EXPECTED}; got {array.dtype} {shape}")
    return array


def read_split(src: Path, split: str, fold: int) -> Split:
    """The one split (test) of a Moving MNIST file: one item whose clips are its sequences."""
    array = open_array(src)
    frames, num = int(array.shape[0]), int(array.shape[1])

    def clips(spec: ClipSpec) -> Iterator[np.ndarray]:
        if spec.frames > frames:
            raise VgpredError(f"--frames {spec.frames}: {shown(src)} holds sequences of {frames} frames")
        data = open_array(src)
        for i in range(num):
            yield np.ascontiguousarray(data[: spec.frames, i])[..., None]

    item = Item(shown(src), -1, clips, lambda spec: num)
    return Split([item], [], f"Moving MNIST {shown(src.resolve())} ({num} sequences of {frames} frames)")

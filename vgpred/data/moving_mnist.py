"""Moving MNIST: digits bouncing inside a square canvas, from any MNIST-format IDX files.

Clip ``i`` of a :class:`MovingMNIST` depends only on ``(seed, i)``, so the data set
is reproducible without storing it. Digits come from the chosen split of the source
(train or test), are scaled with the canvas (28 px at 64 px, as in Srivastava et
al. 2015), start at random positions with random velocities and bounce off the
edges, so they always stay wholly inside the frame. Overlaps take the maximum.

Two motions (``MOTIONS``, ``--motion``):

* ``vgpred`` (default): speed uniform in 2-5 px per frame (at 64 px), positions
  rounded, a bounce reflects the position about the edge.
* ``srivastava``: the standard Moving MNIST generator (Srivastava et al. 2015, as
  in their ``BouncingMNISTDataHandler``): position uniform in the unit square, a
  random direction at speed 0.1 of the free range per frame (3.6 px at 64 px with
  28 px digits), one step taken before the first frame, a digit that reaches an
  edge is stopped there and its velocity component flipped, pixel positions
  truncated. The Moving MNIST test set (``mnist_test_seq.npy``) was made this way:
  two digits, 20 frames.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from vgpred.data.idx import class_names_for, load_idx_split
from vgpred.errors import VgpredError
from vgpred.limits import MAX_CLIP_FRAMES, MAX_CLIP_SIZE
from vgpred.registry import Registry

MAX_DIGITS = 16  # digits per clip
SRIVASTAVA_STEP = 0.1  # step length of the standard generator, in units of the free range (canvas - digit)

# Trajectories: (rng, digits, frames, room = canvas - digit size, speed range in px) -> int (T, digits, 2) of (y, x).
MOTIONS = Registry[Callable[..., np.ndarray]]("Moving MNIST motion")


@MOTIONS.register("vgpred")
def _reflecting(rng: np.random.Generator, digits: int, frames: int, room: int,
                speed: tuple[float, float]) -> np.ndarray:
    pos = rng.uniform(0, room, (digits, 2))
    angle = rng.uniform(0, 2 * np.pi, digits)
    vel = np.stack([np.cos(angle), np.sin(angle)], axis=1) * rng.uniform(*speed, digits)[:, None]
    out = np.empty((frames, digits, 2), dtype=np.int64)
    for t in range(frames):
        out[t] = np.rint(pos)
        pos += vel
        low, high = pos < 0, pos > room  # bounce: reflect the position and the velocity
        pos[low] = -pos[low]
        pos[high] = 2 * room - pos[high]
        vel[low | high] *= -1
        np.clip(pos, 0, room, out=pos)
    return out


@MOTIONS.register("srivastava")
def _standard(rng: np.random.Generator, digits: int, frames: int, room: int,
              speed: tuple[float, float]) -> np.ndarray:
    y, x = rng.random(digits), rng.random(digits)  # in the unit square, drawn in the original's order
    pos = np.stack([y, x], axis=1)
    theta = rng.random(digits) * 2 * np.pi
    vel = np.stack([np.sin(theta), np.cos(theta)], axis=1)
    out = np.empty((frames, digits, 2), dtype=np.int64)
    for t in range(frames):
        pos += vel * SRIVASTAVA_STEP
        hit = (pos <= 0) | (pos >= 1)
        np.clip(pos, 0, 1, out=pos)
        vel[hit] *= -1
        out[t] = (room * pos).astype(np.int64)  # truncation, as the original astype(np.int32)
    return out


class MovingMNIST(Dataset):
    """In-memory Moving MNIST: ``ds[i] -> (clip float32 (1, T, S, S) in [-1, 1], label int)``.

    The label is the digit class when ``digits == 1`` and -1 otherwise; the classes of
    all digits of clip ``i`` are in :meth:`digit_classes`.

    Args:
        idx_dir: folder with MNIST-format IDX files (gzip-compressed or not).
        digits: digits per clip.
        num: clips in the data set.
        split: 'train' or 'test' (digits are drawn from that split of the source).
        size: canvas side ``S`` in pixels.
        frames: clip length ``T``.
        seed: base seed; clip ``i`` is drawn from ``(seed, i)``.
        speed: (min, max) digit speed in pixels per frame at a 64 px canvas (scaled with it;
            the ``vgpred`` motion only).
        motion: 'vgpred' or 'srivastava' (the standard generator's trajectories; see the module notes).
    """

    def __init__(self, idx_dir: str | Path, digits: int = 2, num: int = 10000, split: str = "train",
                 size: int = 64, frames: int = 32, seed: int = 0,
                 speed: tuple[float, float] = (2.0, 5.0), motion: str = "vgpred") -> None:
        checks = [("--digits", digits, 1, MAX_DIGITS), ("--num", num, 1, None), ("--size", size, 8, MAX_CLIP_SIZE),
                  ("--frames", frames, 1, MAX_CLIP_FRAMES), ("--seed", seed, 0, 2**63 - 1)]
        for option, value, low, high in checks:
            if value < low or (high is not None and value > high):
                bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
                raise VgpredError(f"{option}: must be {bounds}, got {value}")
        if not 0 < speed[0] <= speed[1] < math.inf:
            raise VgpredError(f"speed: must be 0 < min <= max (finite), got {speed}")
        self.motion = MOTIONS.get(motion)
        self.motion_name = motion
        self.images, self.labels = load_idx_split(idx_dir, split)
        self.class_names = class_names_for(idx_dir, self.labels) if digits == 1 else []
        self.all_class_names = class_names_for(idx_dir, self.labels)
        self.digits, self.num, self.split, self.seed = digits, num, split, seed
        self.size, self.frames, self.channels = size, frames, 1
        self.digit_size = max(4, min(size, round(self.images.shape[1] * size / 64)))
        self.speed = (speed[0] * size / 64, speed[1] * size / 64)

    def __len__(self) -> int:
        return self.num

    def _digit(self, k: int) -> np.ndarray:
        img = self.images[k]
        if img.shape[0] != self.digit_size or img.shape[1] != self.digit_size:
            pil = Image.fromarray(img).resize((self.digit_size, self.digit_size), Image.Resampling.BILINEAR)
            img = np.asarray(pil)
        return img

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Clip ``i`` as uint8 ``(T, S, S, 1)`` and the classes ``(digits,)`` of its digits."""
        if not 0 <= i < self.num:
            raise IndexError(f"clip index {i} out of range for {self.num} clips")
        rng = np.random.default_rng([self.seed, i])
        picks = rng.integers(0, len(self.images), self.digits)
        room = self.size - self.digit_size
        path = self.motion(rng, self.digits, self.frames, room, self.speed)
        canvas = np.zeros((self.frames, self.size, self.size), dtype=np.uint8)
        glyphs = [self._digit(int(k)) for k in picks]
        d = self.digit_size
        for t in range(self.frames):
            for glyph, (y, x) in zip(glyphs, path[t]):
                np.maximum(canvas[t, y: y + d, x: x + d], glyph, out=canvas[t, y: y + d, x: x + d])
        return canvas[..., None], self.labels[picks]

    def digit_classes(self, i: int) -> np.ndarray:
        """Classes ``(digits,)`` int64 of the digits of clip ``i``."""
        return self.sample(i)[1]

    def label(self, i: int) -> int:
        return int(self.sample(i)[1][0]) if self.digits == 1 else -1

    def uint8(self, i: int) -> np.ndarray:
        """Clip ``i`` as uint8 ``(T, S, S, 1)``."""
        return self.sample(i)[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        clip, classes = self.sample(i)
        tensor = torch.from_numpy(clip).permute(3, 0, 1, 2).float().div_(127.5).sub_(1.0)
        return tensor, int(classes[0]) if self.digits == 1 else -1


def write_moving_mnist(dst: str | Path, idx_dir: str | Path, digits: int = 2, num: int = 10000,
                       split: str = "train", size: int = 64, frames: int = 32, seed: int = 0,
                       progress: bool = True, disk_check: bool = True, motion: str = "vgpred") -> Path:
    """Write ``num`` Moving MNIST clips as a clip cache at ``dst`` (C = 1); returns ``dst``.

    Labels are digit classes for ``digits == 1`` (else -1); every shard also stores the
    classes of all digits (``digits`` file). Re-running with the same settings keeps
    finished shards. With ``disk_check``, a cache larger than the disk's free space is
    refused before anything is written. ``motion``: see :data:`MOTIONS`.
    """
    from vgpred.data.cache import ShardWriter, is_cache, read_index
    from vgpred.data.disk import check_room
    from vgpred.data.resume import ResumeState, progress_bar, shard_size_for

    data = MovingMNIST(idx_dir, digits=digits, num=num, split=split, size=size, frames=frames, seed=seed,
                       motion=motion)
    dst = Path(dst)
    settings = {"kind": "moving-mnist", "idx_dir": str(Path(idx_dir).resolve()), "digits": digits,
                "num": num, "split": split, "size": size, "frames": frames, "seed": seed,
                **({"motion": motion} if motion != "vgpred" else {})}
    if is_cache(dst):
        if read_index(dst).get("settings") == settings:
            return dst
        raise VgpredError(f"{dst}: already holds a different clip cache; choose another folder")
    shard_clips = shard_size_for(frames, size, 1)
    state = ResumeState.load(dst, settings)
    start = sum(shard["num"] for shard in state.shards)
    if disk_check:
        per_clip = frames * size * size + 8 * (1 + digits)  # pixels, label, digit classes
        check_room(dst, (num - start) * per_clip, f"the cache ({num - start} clips of {frames}x{size}x{size})")
    writer = ShardWriter(dst, frames, size, 1, shard_clips, shards=state.shards, disk_check=disk_check)
    with progress_bar(num, "moving-mnist", progress, initial=start) as bar:
        for i in range(start, num):
            clip, classes = data.sample(i)
            if writer.add(clip, int(classes[0]) if digits == 1 else -1, classes):
                state.save(writer.shards, {})
            bar.update(1)
    source = f"Moving MNIST ({digits} digit(s)) from {split} split of {Path(idx_dir).resolve()}"
    writer.finish(data.class_names, source, settings)
    state.clear()
    return dst

"""Decoding clip sources into fixed-size clips, and the :class:`VideoFolder` data set.

A source (a video file, a folder of frames, a strip JPEG) becomes a stream of RGB
frames, resized so the short side fits and centre-cropped to ``H x W``, then sampled
at a frame ``stride`` or resampled to a target ``fps`` (videos with timestamps), and
cut into consecutive, non-overlapping clips of ``T`` frames. A source shorter than
``T`` frames gives one clip padded by repeating its last frame, or is skipped.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Iterator

import av
import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import IterableDataset, get_worker_info

from vgpred.data.sources import Source, discover
from vgpred.data.strip_jpeg import read_strip
from vgpred.errors import VgpredError

_DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError, Image.DecompressionBombError)


class SkipSource(Exception):
    """A source gave no (more) clips; ``clips`` were produced before the problem."""

    def __init__(self, reason: str, clips: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.clips = clips


@dataclass(frozen=True)
class ClipSpec:
    """How sources are cut into clips.

    Attributes:
        frames: frames per clip ``T``.
        height, width: frame size after short-side resize and centre crop.
        fps: target frame rate for videos (None keeps every ``stride``-th frame).
        stride: keep every ``stride``-th frame when ``fps`` is None or unknown.
        clips_per_video: at most this many clips per source, evenly spaced (None: all).
        skip_short: skip sources shorter than ``frames`` instead of padding them.
        strip_height: frame height of strip JPEGs.
        hop: sampled frames between the starts of consecutive clips (None: ``frames``,
            i.e. non-overlapping clips; smaller values give overlapping clips).
    """

    frames: int
    height: int
    width: int
    fps: float | None = None
    stride: int = 1
    clips_per_video: int | None = None
    skip_short: bool = False
    strip_height: int = 128
    hop: int | None = None

    @property
    def step(self) -> int:
        return self.hop or self.frames


def resized_shape(h: int, w: int, out_h: int, out_w: int) -> tuple[int, int]:
    """Size ``(h', w')`` that covers ``out_h x out_w`` with the aspect ratio of ``h x w``."""
    scale = max(out_h / h, out_w / w)
    return max(out_h, round(h * scale)), max(out_w, round(w * scale))


def center_crop(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Centre crop of an ``(h, w, C)`` array to ``(out_h, out_w, C)``."""
    top, left = (img.shape[0] - out_h) // 2, (img.shape[1] - out_w) // 2
    return img[top: top + out_h, left: left + out_w]


def _pil_frame(img: Image.Image, out_h: int, out_w: int) -> np.ndarray:
    img = img.convert("RGB")
    rh, rw = resized_shape(img.height, img.width, out_h, out_w)
    if (rh, rw) != (img.height, img.width):
        down = rh < img.height
        img = img.resize((rw, rh), Image.Resampling.BOX if down else Image.Resampling.BICUBIC)
    return center_crop(np.asarray(img), out_h, out_w)


_Stream = tuple[Iterator[tuple[np.ndarray, float | None]], int, float]


def _video_stream(source: Source, spec: ClipSpec) -> _Stream:
    """Frames ``(image, time in s or None)`` of a video, the frame count and rate it claims (0: unknown)."""
    if source.path.stat().st_size == 0:
        raise SkipSource("empty file (0 bytes)")
    try:
        container = av.open(str(source.path))
    except av.FFmpegError as err:
        raise SkipSource(f"not a readable video ({err.strerror or err})") from None
    if not container.streams.video:
        container.close()
        raise SkipSource("no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = float(stream.average_rate or stream.guessed_rate or 0)
    count = stream.frames or (int(container.duration / 1e6 * rate) if container.duration and rate else 0)

    def frames() -> Iterator[tuple[np.ndarray, float | None]]:
        with container:
            for i, frame in enumerate(container.decode(stream)):
                rh, rw = resized_shape(frame.height, frame.width, spec.height, spec.width)
                img = frame.reformat(width=rw, height=rh, format="rgb24", interpolation="AREA").to_ndarray()
                time = frame.time if frame.time is not None else (i / rate if rate else None)
                yield center_crop(img, spec.height, spec.width), time

    return frames(), count, rate


def _image_stream(source: Source, spec: ClipSpec) -> _Stream:
    if source.kind == "strip":
        if not source.path.is_file():
            raise SkipSource("file not found")
        strip = list(read_strip(source.path, spec.strip_height))
        return ((_pil_frame(f, spec.height, spec.width), None) for f in strip), len(strip), 0.0

    def frames() -> Iterator[tuple[np.ndarray, None]]:
        for path in source.frame_files:
            with Image.open(path) as img:
                yield _pil_frame(ImageOps.exif_transpose(img), spec.height, spec.width), None

    return frames(), len(source.frame_files), 0.0


def _sampled(stream: Iterator[tuple[np.ndarray, float | None]], spec: ClipSpec) -> Iterator[np.ndarray]:
    """Every ``stride``-th frame, or frames resampled to ``spec.fps`` by timestamp (latest frame at or before)."""
    first = next(stream, None)
    if first is None:
        return
    if spec.fps is None or first[1] is None:
        yield first[0]
        for i, (img, _) in enumerate(stream, 1):
            if i % spec.stride == 0:
                yield img
        return
    step, start = 1.0 / spec.fps, first[1]
    k, prev, prev_t, gap = 0, first[0], first[1], step
    for img, t in stream:
        t = prev_t + gap if t is None else t
        gap = max(t - prev_t, 1e-6)
        while start + k * step < t - 1e-6:
            yield prev
            k += 1
        prev, prev_t = img, t
    while start + k * step < prev_t + gap - 1e-6:  # the last frame lasts one frame interval
        yield prev
        k += 1


def _slots(count_hint: int, spec: ClipSpec, rate_ratio: float) -> set[int] | None:
    """Which clip slots to keep when ``clips_per_video`` is set (evenly spaced), None for all."""
    if spec.clips_per_video is None or count_hint <= 0:
        return None
    available = int(count_hint * rate_ratio)
    slots = (available - spec.frames) // spec.step + 1 if available >= spec.frames else 0
    k = spec.clips_per_video
    return None if slots <= k else {i * slots // k for i in range(k)}


def _cut(frames: Iterator[np.ndarray], spec: ClipSpec, keep: set[int] | None) -> Iterator[np.ndarray]:
    limit = spec.clips_per_video
    buf: list[np.ndarray] = []
    slot = made = seen = skip = 0
    for img in frames:
        seen += 1
        if skip:
            skip -= 1
            continue
        buf.append(img)
        if len(buf) < spec.frames:
            continue
        if keep is None or slot in keep:
            yield np.stack(buf)
            made += 1
            if limit is not None and made >= limit:
                return
        slot += 1
        buf, skip = buf[spec.step:], max(0, spec.step - spec.frames)
    if made == 0:
        if seen == 0:
            raise SkipSource("no frames decoded")
        if spec.skip_short:
            raise SkipSource(f"too short ({seen} frames < {spec.frames})")
        yield np.stack(buf + [buf[-1]] * (spec.frames - len(buf)))


def _frame_count(source: Source) -> tuple[int, float]:
    """Frames a source holds and their rate (0: unknown), from headers alone; (0, 0) when unreadable."""
    try:
        if source.kind == "frames":
            return len(source.frame_files), 0.0
        if source.kind == "strip":
            with Image.open(source.path) as img:
                return img.height, 0.0  # in pixel rows; estimate_clips divides by the strip height
        with av.open(str(source.path)) as container:
            if not container.streams.video:
                return 0, 0.0
            stream = container.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            count = stream.frames or (int(container.duration / 1e6 * rate) if container.duration and rate else 0)
            return count, rate
    except _DECODE_ERRORS:
        return 0, 0.0


def estimate_clips(source: Source, spec: ClipSpec) -> int:
    """How many clips :func:`iter_clips` should give for ``source``, from its headers (0: unknown or unreadable)."""
    count, rate = _frame_count(source)
    if source.kind == "strip":
        count //= spec.strip_height
    ratio = spec.fps / rate if spec.fps is not None and rate else 1.0 / spec.stride
    available = int(count * ratio)
    if count == 0:
        return 0
    clips = (available - spec.frames) // spec.step + 1 if available >= spec.frames else int(not spec.skip_short)
    return clips if spec.clips_per_video is None else min(clips, spec.clips_per_video)


def iter_clips(source: Source, spec: ClipSpec) -> Iterator[np.ndarray]:
    """Clips of one source as uint8 ``(T, H, W, 3)``; raises :class:`SkipSource` on bad data."""
    produced = 0
    try:
        opener = _video_stream if source.kind == "video" else _image_stream
        stream, count, rate = opener(source, spec)
        ratio = spec.fps / rate if spec.fps is not None and rate else 1.0 / spec.stride
        for clip in _cut(_sampled(stream, spec), spec, _slots(count, spec, ratio)):
            produced += 1
            yield clip
    except SkipSource as err:
        raise SkipSource(err.reason, produced) from None
    except _DECODE_ERRORS as err:
        where = f"decode error after {produced} clips" if produced else "decode error"
        raise SkipSource(f"{where} ({type(err).__name__}: {err})", produced) from None


def to_tensor(clip: np.ndarray) -> torch.Tensor:
    """uint8 ``(T, H, W, C)`` -> float32 ``(C, T, H, W)`` in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(clip)).permute(3, 0, 1, 2).float().div_(127.5).sub_(1.0)


def warn(message: str) -> None:
    """One warning line on stderr that does not break a progress bar."""
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


class VideoFolder(IterableDataset):
    """Clips read straight from raw sources: yields ``(clip (3, T, H, W) in [-1, 1], label)``.

    Sources are split across DataLoader workers. Bad sources are skipped with one
    warning line each. For training at scale, prepare a cache instead (``vgpred data prepare``).

    Args:
        root: folder (classes from its first sub-folder level), video file or strip-JPEG list.
        size: output ``H x W`` (an int for square clips).
        frames: clip length ``T``; fps, stride, clips_per_video, skip_short, strip_height, hop:
            see :class:`ClipSpec`.
    """

    def __init__(self, root: str, size: int | tuple[int, int], frames: int, fps: float | None = None,
                 stride: int = 1, clips_per_video: int | None = None, skip_short: bool = False,
                 strip_height: int = 128, hop: int | None = None) -> None:
        super().__init__()
        height, width = (size, size) if isinstance(size, int) else size
        if min(height, width, frames, stride) < 1 or (fps is not None and fps <= 0):
            raise VgpredError("size, frames, stride and fps must be positive")
        found = discover(root)
        self.sources = found.sources
        self.class_names = found.class_names
        self.spec = ClipSpec(frames, height, width, fps, stride, clips_per_video, skip_short, strip_height, hop)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        info = get_worker_info()
        mine = self.sources if info is None else self.sources[info.id:: info.num_workers]
        for source in mine:
            try:
                for clip in iter_clips(source, self.spec):
                    yield to_tensor(clip), source.label
            except SkipSource as err:
                warn(f"{source.path}: skipped ({err.reason})")

"""``data prepare --format NAME``: one split of a standard data set written as a clip cache.

The reader lists the split's files and checks their names, shapes and framing before
anything is written. Clips are resized to ``size`` (videos: short side resized and
centre-cropped, as ``data prepare`` does) and converted to the format's channels
(grayscale: ITU-R 601 luma). The cache's ``settings`` record the format, split and
fold, so a protocol can refuse a cache of the wrong split. Like ``data prepare``, an
interrupted run resumes after its last finished shard; but damage found while reading
(a bad checksum, a malformed record) removes what this run wrote, so a failed run
leaves no cache behind. A video that cannot be decoded is skipped with a warning.
"""
from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from vgpred.data.cache import ShardWriter, is_cache, read_index
from vgpred.data.prepare_cache import PrepareSummary, check_options, resize_clip
from vgpred.data.resume import CACHE_FILES, ResumeState, progress_bar, shard_size_for
from vgpred.data.standard import FORMATS, StandardFormat
from vgpred.data.video_folder import ClipSpec, SkipSource, warn
from vgpred.errors import VgpredError
from vgpred.io.atomic import remove_stale_temps

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_VIDEO_OPTIONS = ("--fps", "--stride", "--clips-per-video", "--hop", "--skip-short")


def to_channels(clip: np.ndarray, channels: int) -> np.ndarray:
    """uint8 ``(T, H, W, c)`` -> ``(T, H, W, channels)``: gray repeated to RGB, or RGB to luma."""
    if clip.shape[-1] == channels:
        return clip
    if channels == 3:
        return np.repeat(clip, 3, axis=-1)
    luma = clip[..., :3].astype(np.float32) @ _LUMA
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]


def _check(fmt: StandardFormat, split: str, fold: int, size: int, frames: int, video_options: dict) -> None:
    if split not in fmt.splits:
        raise VgpredError(f"--split {split}: {fmt.name} has the split(s) {', '.join(fmt.splits)}")
    if not 1 <= fold <= fmt.folds:
        raise VgpredError(f"--fold {fold}: {fmt.name} has " + (f"folds 1 to {fmt.folds}" if fmt.folds > 1
                                                               else "one fold (1)"))
    stride = video_options["stride"]
    check_options(size, frames, video_options["fps"], 1 if stride is None else stride,
                  video_options["clips_per_video"], video_options["hop"])
    given = [option for option, value in zip(_VIDEO_OPTIONS, video_options.values()) if value not in (None, False)]
    if given and not fmt.videos:
        raise VgpredError(f"{given[0]}: applies to video formats only; {fmt.name} clips are the first "
                          "--frames frames of each sequence")


def _discard(dst: Path, created: bool) -> None:
    """Remove what a failed run wrote: the folder it created, or the cache files in a folder it found."""
    if created:
        shutil.rmtree(dst, ignore_errors=True)
        return
    for entry in dst.iterdir() if dst.is_dir() else ():
        if CACHE_FILES.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
    remove_stale_temps(dst, CACHE_FILES)


def _read(clips: Iterator[np.ndarray], dst: Path, created: bool) -> Iterator[np.ndarray]:
    """``clips``, removing the partial cache when reading them fails with a user-facing error."""
    while True:
        try:
            clip = next(clips)
        except StopIteration:
            return
        except VgpredError:
            _discard(dst, created)
            raise
        yield clip


def prepare_standard(src: str | Path, dst: str | Path, format: str, split: str = "test", fold: int = 1,
                     size: int | None = None, frames: int | None = None, fps: float | None = None,
                     stride: int | None = None, clips_per_video: int | None = None, skip_short: bool = False,
                     hop: int | None = None, progress: bool = True, disk_check: bool = True) -> PrepareSummary:
    """Write ``split`` of the standard data set ``format`` at ``src`` as a clip cache at ``dst``.

    ``size`` and ``frames`` default to the format's own (:data:`vgpred.data.standard.FORMATS`);
    the other options cut videos as in :class:`vgpred.data.video_folder.ClipSpec` and are
    refused for fixed-length sequences (Moving MNIST, BAIR).
    """
    fmt = FORMATS.get(format)
    size = fmt.size if size is None else size
    frames = fmt.frames if frames is None else frames
    _check(fmt, split, fold, size, frames, {"fps": fps, "stride": stride, "clips_per_video": clips_per_video,
                                            "hop": hop, "skip_short": skip_short})
    started = time.perf_counter()
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise VgpredError(f"{src}: not found (expected {fmt.src})")
    data = fmt.read(src, split, fold)
    names = "\n".join(item.name for item in data.items).encode("utf-8", "surrogateescape")
    settings = {"kind": "standard", "format": fmt.name, "split": split, "fold": fold,
                "src": str(src.resolve()), "size": size, "frames": frames, "channels": fmt.channels,
                "fps": fps, "stride": 1 if stride is None else stride, "clips_per_video": clips_per_video,
                "skip_short": skip_short, "hop": hop, "num_items": len(data.items),
                "items_sha1": hashlib.sha1(names).hexdigest()}
    if is_cache(dst):
        meta = read_index(dst)
        if meta.get("settings") != settings:
            raise VgpredError(f"{dst}: already holds a clip cache prepared with other settings; choose another folder")
        return PrepareSummary(dst, clips_written=meta["num_clips"], already_complete=True)
    spec = ClipSpec(frames, size, size, fps, 1 if stride is None else stride, clips_per_video, skip_short, hop=hop)
    created = not dst.exists()
    state = ResumeState.load(dst, settings)
    pos = state.position
    start_item, start_clip = pos.get("item", 0), pos.get("clip", 0)
    summary = PrepareSummary(dst, files_used=pos.get("files_used", 0),
                             files_skipped=[tuple(x) for x in pos.get("skipped", [])],
                             files_partial=[tuple(x) for x in pos.get("partial", [])])
    if disk_check:
        from vgpred.data.disk import check_room

        clips = max(0, sum(item.estimate(spec) for item in data.items[start_item:]) - start_clip)
        check_room(dst, clips * (frames * size * size * fmt.channels + 8),
                   f"the cache (about {clips} clips of {frames} frames)")
    writer = ShardWriter(dst, frames, size, fmt.channels, shard_size_for(frames, size, fmt.channels),
                         shards=state.shards, disk_check=disk_check)
    with progress_bar(len(data.items), f"prepare {fmt.name}", progress, initial=start_item, unit="file") as bar:
        for i in range(start_item, len(data.items)):
            item = data.items[i]
            first = start_clip if i == start_item else 0
            used = 0
            try:
                for j, clip in enumerate(_read(item.clips(spec), dst, created)):
                    used = 1
                    if j < first:
                        continue
                    if writer.add(to_channels(resize_clip(clip, size), fmt.channels), item.label):
                        state.save(writer.shards, {"item": i, "clip": j + 1, "files_used": summary.files_used,
                                                   "skipped": summary.files_skipped, "partial": summary.files_partial})
            except SkipSource as err:
                warn(f"{item.name}: {'read in part' if err.clips else 'skipped'} ({err.reason})")
                (summary.files_partial if err.clips else summary.files_skipped).append((item.name, err.reason))
            summary.files_used += used
            bar.update(1)
            bar.set_postfix(clips=writer.num_clips)
    summary.clips_written = writer.num_clips
    summary.seconds = time.perf_counter() - started
    if summary.clips_written == 0:
        _discard(dst, created)
        raise VgpredError(f"{src}: no clips could be prepared from the {fmt.name} {split} split "
                          f"({len(summary.files_skipped)} files skipped)")
    writer.finish(data.class_names, data.description, settings, extra={"summary": summary.to_json()})
    state.clear()
    return summary


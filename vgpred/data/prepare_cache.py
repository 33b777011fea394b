"""``prepare``: turn any supported source into a clip cache (uint8 shards + index.json).

Sources are read in a fixed order, cut into clips (optionally stabilised), and
written in shards of about 256 MiB. Bad inputs (corrupt, truncated, empty or
non-video files, unknown codecs, too-short clips) are skipped with one warning
line each and listed in the summary. An interrupted run resumes after its last
finished shard when started again with the same arguments.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vgpred.data.cache import ShardWriter, is_cache, read_index
from vgpred.data.resume import ResumeState, progress_bar, shard_size_for
from vgpred.data.sources import discover, shown
from vgpred.data.video_folder import ClipSpec, SkipSource, estimate_clips, iter_clips, warn
from vgpred.errors import VgpredError
from vgpred.limits import MAX_CLIP_FRAMES, MAX_CLIP_SIZE, MAX_FPS, MIN_FPS

STABILIZE_MIN_SIDE = 128  # stabilisation runs on frames at least this large, then resizes down


@dataclass
class PrepareSummary:
    """What a ``prepare`` run did."""

    dst: Path
    clips_written: int = 0
    files_used: int = 0
    files_skipped: list[tuple[str, str]] = field(default_factory=list)
    files_partial: list[tuple[str, str]] = field(default_factory=list)
    stabilization_failures: int = 0
    already_complete: bool = False
    seconds: float = 0.0

    def report(self) -> str:
        """A short human-readable summary (several lines)."""
        if self.already_complete:
            return f"{self.dst}: already complete ({self.clips_written} clips); nothing to do"
        rate = self.clips_written / self.seconds if self.seconds > 0 else 0.0
        lines = [f"wrote {self.clips_written} clips from {self.files_used} files to {self.dst} "
                 f"in {self.seconds:.1f} s ({rate:.2f} clips/s)"]
        if self.stabilization_failures:
            lines.append(f"dropped {self.stabilization_failures} clips whose stabilisation failed")
        if self.files_partial:
            lines.append(f"read {len(self.files_partial)} files only in part:")
            lines += [f"  {path}: {reason}" for path, reason in self.files_partial]
        if self.files_skipped:
            lines.append(f"skipped {len(self.files_skipped)} files:")
            lines += [f"  {path}: {reason}" for path, reason in self.files_skipped]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"clips_written": self.clips_written, "files_used": self.files_used,
                "files_skipped": [list(x) for x in self.files_skipped],
                "files_partial": [list(x) for x in self.files_partial],
                "stabilization_failures": self.stabilization_failures}


def resize_clip(clip: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``(T, h, w, C)`` -> ``(T, size, size, C)`` with antialiased bilinear resizing."""
    if clip.shape[1:3] == (size, size):
        return clip
    x = torch.from_numpy(clip).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def check_options(size: int, frames: int, fps: float | None, stride: int, clips_per_video: int | None,
                  hop: int | None) -> None:
    """Refuse out-of-range clip options with one line naming the option."""
    if not 4 <= size <= MAX_CLIP_SIZE:
        raise VgpredError(f"--size: must be from 4 to {MAX_CLIP_SIZE}, got {size}")
    if not 1 <= frames <= MAX_CLIP_FRAMES:
        raise VgpredError(f"--frames: must be from 1 to {MAX_CLIP_FRAMES}, got {frames}")
    if fps is not None and not MIN_FPS <= fps <= MAX_FPS:  # NaN fails every comparison
        raise VgpredError(f"--fps: must be from {MIN_FPS:g} to {MAX_FPS:g} frames per second, got {fps:g}")
    if stride < 1:
        raise VgpredError(f"--stride: must be at least 1, got {stride}")
    if clips_per_video is not None and clips_per_video < 1:
        raise VgpredError(f"--clips-per-video: must be at least 1, got {clips_per_video}")
    if hop is not None and hop < 1:
        raise VgpredError(f"--hop: must be at least 1, got {hop}")


def _check_disk(dst: Path, sources: list, spec: ClipSpec, clip_bytes: int, done_in_first: int) -> None:
    """Refuse a cache whose estimated size (from the sources' headers) exceeds the free disk space.

    ``sources`` are those still to read; the first ``done_in_first`` clips of the first
    one are in finished shards already (a resumed run).
    """
    from vgpred.data.disk import check_room

    clips = max(0, sum(estimate_clips(source, spec) for source in sources) - done_in_first)
    check_room(dst, clips * clip_bytes, f"the cache (about {clips} clips of {spec.frames} frames)")


def prepare(src: str | Path, dst: str | Path, size: int, frames: int, fps: float | None = None,
            stride: int = 1, stabilize: bool = False, clips_per_video: int | None = None,
            skip_short: bool = False, progress: bool = True, strip_height: int = 128,
            hop: int | None = None, disk_check: bool = True) -> PrepareSummary:
    """Prepare a clip cache at ``dst`` from ``src`` (a folder, a video file or a strip-JPEG list).

    Clips are ``frames`` x ``size`` x ``size`` RGB (short-side resize + centre crop).
    See :class:`vgpred.data.video_folder.ClipSpec` for ``fps``, ``stride``,
    ``clips_per_video``, ``skip_short``, ``strip_height`` and ``hop``; ``stabilize`` removes
    camera motion (:mod:`vgpred.data.stabilize`) and drops clips where that fails. With
    ``disk_check``, the cache's size is estimated from the sources' headers first and a
    cache larger than the free disk space is refused before anything is written; each
    shard is checked again before it is written.
    """
    check_options(size, frames, fps, stride, clips_per_video, hop)
    started = time.perf_counter()
    dst = Path(dst)
    found = discover(src)
    names = "\n".join(str(s.path) for s in found.sources).encode("utf-8", "surrogateescape")
    settings = {"kind": "prepare", "src": str(Path(src).resolve()), "size": size, "frames": frames,
                "fps": fps, "stride": stride, "stabilize": stabilize, "clips_per_video": clips_per_video,
                "skip_short": skip_short, "strip_height": strip_height, "num_sources": len(found.sources),
                "sources_sha1": hashlib.sha1(names).hexdigest(), **({"hop": hop} if hop else {})}
    if is_cache(dst):
        meta = read_index(dst)
        if meta.get("settings") != settings:
            raise VgpredError(f"{dst}: already holds a clip cache prepared with other settings; "
                              "choose another folder")
        return PrepareSummary(dst, clips_written=meta["num_clips"], already_complete=True)

    work = size * math.ceil(STABILIZE_MIN_SIDE / size) if stabilize else size
    spec = ClipSpec(frames, work, work, fps, stride, clips_per_video, skip_short, strip_height, hop)
    stabilizer = None
    if stabilize:
        from vgpred.data.stabilize import StabilizationFailed, Stabilizer

        stabilizer = Stabilizer()
    created = not dst.exists()
    state = ResumeState.load(dst, settings)
    pos = state.position
    start_source, start_clip = pos.get("source", 0), pos.get("clip", 0)
    summary = PrepareSummary(dst, files_used=pos.get("files_used", 0),
                             files_skipped=[tuple(x) for x in pos.get("skipped", found.skipped)],
                             files_partial=[tuple(x) for x in pos.get("partial", [])],
                             stabilization_failures=pos.get("stab_failed", 0))
    # Warnings wait until the first clip is written: if nothing is usable, the one
    # error line says why instead of a warning per file.
    held: list[str] = []
    if not pos:
        held += [f"{path}: skipped ({reason})" for path, reason in found.skipped]

    def note(message: str) -> None:
        if writer.num_clips or start_clip or state.shards:
            while held:
                warn(held.pop(0))
            warn(message)
        else:
            held.append(message)
    if disk_check:
        _check_disk(dst, found.sources[start_source:], spec, frames * size * size * 3 + 8, start_clip)
    writer = ShardWriter(dst, frames, size, 3, shard_size_for(frames, size, 3), shards=state.shards,
                         disk_check=disk_check)

    def checkpoint(i: int, j: int, used: int) -> None:  # used: files finished before source i
        state.save(writer.shards, {"source": i, "clip": j, "files_used": used, "skipped": summary.files_skipped,
                                   "partial": summary.files_partial,
                                   "stab_failed": summary.stabilization_failures})

    with progress_bar(len(found.sources), "prepare", progress, initial=start_source, unit="file") as bar:
        for i in range(start_source, len(found.sources)):
            source = found.sources[i]
            first = start_clip if i == start_source else 0
            used = 1 if first > 0 else 0
            try:
                for j, clip in enumerate(iter_clips(source, spec)):
                    if j < first:
                        continue
                    if stabilizer is not None:
                        try:
                            clip = stabilizer(clip)
                        except StabilizationFailed:
                            summary.stabilization_failures += 1
                            continue
                    used = 1
                    if writer.add(resize_clip(clip, size), source.label):
                        checkpoint(i, j + 1, summary.files_used)
                    while held:
                        warn(held.pop(0))
            except SkipSource as err:
                entry = (shown(source.path), err.reason)
                note(f"{shown(source.path)}: {'read in part' if err.clips else 'skipped'} ({err.reason})")
                (summary.files_partial if err.clips else summary.files_skipped).append(entry)
            summary.files_used += used
            bar.update(1)
            bar.set_postfix(clips=writer.num_clips)
    summary.clips_written = writer.num_clips
    summary.seconds = time.perf_counter() - started
    if summary.clips_written == 0:
        state.clear()
        if created and dst.is_dir() and not any(dst.iterdir()):
            dst.rmdir()
        first = f"; first: {held[0]}" if held else ""
        raise VgpredError(f"{src}: no clips could be prepared ({len(summary.files_skipped)} files skipped, "
                          f"{summary.stabilization_failures} clips failed stabilisation{first})")
    writer.finish(found.class_names, found.description, settings, extra={"summary": summary.to_json()})
    state.clear()
    return summary

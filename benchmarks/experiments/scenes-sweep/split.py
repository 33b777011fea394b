"""Split table 2's training cache by video into a fitting part and validation clips.

    python benchmarks/experiments/scenes-sweep/split.py TRAIN_CACHE OUT [--hold-out 1] [--tail 4:0.25] [--every 2]

TRAIN_CACHE is ``scenes_data.py``'s ``train-64x16`` (overlapping clips, ``--hop 2``). The cache keeps no
video names, so the videos are found from the clips themselves: clip i + 1 continues clip i when its
first frames are clip i's frames from ``hop`` on. Table 2's training cache holds five videos, in the
order ``vgpred data prepare`` reads its folders: bigbuckbunny (59 clips), carphone_pristine (53),
Megamind (128), tree (27), then the first 80 % of vtest (311).

``--hold-out 1`` puts every clip of video 1 (carphone_pristine, real camera footage like table 2's
test video bikes) into the validation clips; ``--tail 4:0.25`` puts the last quarter of video 4's
frames there too (vtest's frames just before table 2's test part of it, as the test split continues
the same street), and keeps for fitting only that video's clips that end before that quarter begins,
so no frame is in both. ``--every 2`` keeps every second validation clip (clip starts 4 frames apart,
as ``--hop 4``). Writes ``OUT/fit`` and ``OUT/val`` (clip caches) and ``OUT/split.json``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def videos(clips: np.ndarray) -> tuple[list[tuple[int, int]], int]:
    """The runs of consecutive clips that continue one another, as (first, last) index pairs, and the hop."""
    frames = clips.shape[1]
    hop = next((h for h in range(1, frames) if np.array_equal(clips[0, h:], clips[1, :frames - h])), None)
    if hop is None:
        raise SystemExit("split.py: the first two clips do not overlap; this cache was not made with --hop")
    runs, first = [], 0
    for i in range(len(clips) - 1):
        if not np.array_equal(clips[i, hop:], clips[i + 1, :frames - hop]):
            runs.append((first, i))
            first = i + 1
    runs.append((first, len(clips) - 1))
    return runs, hop


def split(n_clips: int, runs: list[tuple[int, int]], hop: int, frames: int, hold_out: int,
          tail_video: int, tail_fraction: float, every: int) -> tuple[list[int], list[int]]:
    """Clip indices for fitting and for validation."""
    fit: list[int] = []
    val: list[int] = []
    for v, (first, last) in enumerate(runs):
        idx = list(range(first, last + 1))
        if v == hold_out:
            val += idx[::every]
        elif v == tail_video:
            video_frames = (last - first) * hop + frames
            cut = int(round(video_frames * (1 - tail_fraction)))
            starts = [(i - first) * hop for i in idx]
            fit += [i for i, s in zip(idx, starts) if s + frames <= cut]
            val += [i for i, s in zip(idx, starts) if s >= cut][::every]
        else:
            fit += idx
    assert not set(fit) & set(val) and max(fit + val) < n_clips
    return fit, val


def write(ds, indices: list[int], dst: Path, source: str, settings: dict) -> None:
    from vgpred.data.cache import ShardWriter
    from vgpred.data.resume import shard_size_for

    writer = ShardWriter(dst, ds.frames, ds.size, ds.channels, shard_size_for(ds.frames, ds.size, ds.channels))
    for i in indices:
        writer.add(ds.uint8(i), -1)
    writer.finish([], source, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("cache", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--hold-out", type=int, default=1, help="index of the video whose clips all validate")
    parser.add_argument("--tail", default="4:0.25", help="VIDEO:FRACTION, the last part of a video to validate")
    parser.add_argument("--every", type=int, default=2, help="keep every N-th validation clip")
    args = parser.parse_args()

    from vgpred.data import open_dataset

    ds = open_dataset(args.cache)
    clips = np.stack([ds.uint8(i) for i in range(len(ds))])
    runs, hop = videos(clips)
    tail_video, tail_fraction = args.tail.split(":")
    fit, val = split(len(ds), runs, hop, ds.frames, args.hold_out, int(tail_video), float(tail_fraction),
                     args.every)
    if (args.out / "fit").exists() or (args.out / "val").exists():
        raise SystemExit(f"split.py: {args.out}/fit or {args.out}/val exists already")
    settings = {"kind": "split", "of": str(args.cache), "hold_out": args.hold_out, "tail": args.tail,
                "every": args.every}
    write(ds, fit, args.out / "fit", f"fitting part of {args.cache}", settings)
    write(ds, val, args.out / "val", f"validation clips of {args.cache}", settings)
    info = {"cache": str(args.cache), "hop": hop, "videos": [{"first": a, "last": b, "clips": b - a + 1}
                                                             for a, b in runs],
            "fit_clips": len(fit), "val_clips": len(val), "val": val, **settings}
    (args.out / "split.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"{len(runs)} videos ({', '.join(str(b - a + 1) for a, b in runs)} clips, hop {hop}); "
          f"fit {len(fit)} clips, validation {len(val)} clips")


if __name__ == "__main__":
    main()

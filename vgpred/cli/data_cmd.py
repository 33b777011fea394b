"""``vgpred data``: prepare clip caches from videos, frame folders, strip JPEGs or Moving MNIST."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vgpred.data.disk import IGNORE_OPTION
from vgpred.errors import VgpredError

DISK_HELP = ("Write even when the estimated cache is larger than the free disk space (by default such a run "
             "is refused before it starts, and stops before a shard that would not fit).")

app = typer.Typer(help="Prepare training data: clip caches from your videos or Moving MNIST.",
                  no_args_is_help=True)


@app.command("prepare")
def prepare_cmd(
    src: Path = typer.Argument(..., help="A folder of videos / frame folders (classes from the first "
                               "sub-folder level), one video file, or a strip-JPEG list (.txt)."),
    dst: Path = typer.Argument(..., help="Cache folder to write (created; re-running resumes)."),
    size: int = typer.Option(64, "--size", help="Frame side in pixels (short side resized, centre-cropped)."),
    frames: int = typer.Option(32, "--frames", help="Frames per clip."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Resample videos to this frame rate "
                                        "(default: keep every --stride-th frame)."),
    stride: int = typer.Option(1, "--stride", help="Keep every N-th frame when --fps is not given."),
    stabilize: bool = typer.Option(False, "--stabilize", help="Remove camera motion (SIFT + RANSAC "
                                   "homography to the first frame); clips that fail are dropped."),
    clips_per_video: Optional[int] = typer.Option(None, "--clips-per-video",
                                                  help="At most K clips per video, evenly spaced."),
    hop: Optional[int] = typer.Option(None, "--hop", help="Frames between the starts of consecutive clips "
                                      "(default: --frames, no overlap; smaller gives overlapping clips)."),
    skip_short: bool = typer.Option(False, "--skip-short", help="Skip videos shorter than --frames "
                                    "instead of repeating their last frame."),
    strip_height: int = typer.Option(128, "--strip-height", help="Frame height of strip JPEGs "
                                     "(original VideoGAN format)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ignore_disk_check: bool = typer.Option(False, IGNORE_OPTION, help=DISK_HELP),
) -> None:
    """Turn videos into a clip cache (uint8 shards + index.json) that training memory-maps.

    Files whose names are not valid UTF-8, and symbolic links out of SRC or to folders,
    are skipped with a warning. A re-run continues an interrupted one (and removes the
    shard it was writing when killed).
    """
    from vgpred.data.prepare_cache import prepare

    summary = prepare(src, dst, size=size, frames=frames, fps=fps, stride=stride, stabilize=stabilize,
                      clips_per_video=clips_per_video, skip_short=skip_short, progress=progress,
                      strip_height=strip_height, hop=hop, disk_check=not ignore_disk_check)
    typer.echo(summary.report())


@app.command("moving-mnist")
def moving_mnist_cmd(
    dst: Path = typer.Argument(..., help="Cache folder to write (created; re-running resumes)."),
    idx: Path = typer.Option(..., "--idx", help="Folder with MNIST-format IDX files (.gz or not), e.g. "
                             "/usr/share/datasets/fashion-mnist."),
    digits: int = typer.Option(2, "--digits", help="Digits per clip (1 keeps the digit class as label)."),
    num: int = typer.Option(10000, "--num", help="Number of clips."),
    split: str = typer.Option("train", "--split", help="Source split the digits come from: train or test."),
    size: int = typer.Option(64, "--size", help="Canvas side in pixels."),
    frames: int = typer.Option(32, "--frames", help="Frames per clip."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same seed gives the same clips."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ignore_disk_check: bool = typer.Option(False, IGNORE_OPTION, help=DISK_HELP),
) -> None:
    """Write a Moving MNIST clip cache (grayscale, C = 1) of bouncing digits."""
    from vgpred.data.moving_mnist import write_moving_mnist

    if split not in ("train", "test"):
        raise VgpredError(f"--split: must be 'train' or 'test', got {split!r}")
    out = write_moving_mnist(dst, idx, digits=digits, num=num, split=split, size=size, frames=frames,
                             seed=seed, progress=progress, disk_check=not ignore_disk_check)
    typer.echo(f"wrote {num} Moving MNIST clips ({digits} digit(s), {split} split) to {out}")

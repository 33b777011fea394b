"""``vgpred data``: prepare clip caches from videos, frame folders, strip JPEGs, standard data sets
(Moving MNIST, KTH, BAIR, UCF-101 in their distributed formats) or generated Moving MNIST."""
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


def _given(value, default):
    return default if value is None else value


FORMAT_HELP = ("Read SRC as a standard data set in its distributed layout and keep its official split: "
               "mmnist, kth, bair or ucf101 (`vgpred data formats` lists them and what SRC must be).")


@app.command("prepare")
def prepare_cmd(
    src: Path = typer.Argument(..., help="A folder of videos / frame folders (classes from the first "
                               "sub-folder level), one video file, or a strip-JPEG list (.txt); with --format, "
                               "the standard data set's file or folder."),
    dst: Path = typer.Argument(..., help="Cache folder to write (created; re-running resumes)."),
    format: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
    split: Optional[str] = typer.Option(None, "--split", help="With --format: the official split to write, "
                                        "train or test (default test)."),
    fold: Optional[int] = typer.Option(None, "--fold", help="With --format ucf101: which of the three official "
                                       "train/test divisions (trainlist0N.txt / testlist0N.txt) to use (default 1)."),
    size: Optional[int] = typer.Option(None, "--size", help="Frame side in pixels (short side resized, "
                                       "centre-cropped); default 64, or the format's own."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frames per clip; default 32, or the format's "
                                         "own (mmnist 20, kth 40, bair 30)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Resample videos to this frame rate "
                                        "(default: keep every --stride-th frame)."),
    stride: Optional[int] = typer.Option(None, "--stride", help="Keep every N-th frame when --fps is not given "
                                         "(default 1)."),
    stabilize: bool = typer.Option(False, "--stabilize", help="Remove camera motion (SIFT + RANSAC "
                                   "homography to the first frame); clips that fail are dropped."),
    clips_per_video: Optional[int] = typer.Option(None, "--clips-per-video",
                                                  help="At most K clips per video, evenly spaced."),
    hop: Optional[int] = typer.Option(None, "--hop", help="Frames between the starts of consecutive clips "
                                      "(default: --frames, no overlap; smaller gives overlapping clips)."),
    skip_short: bool = typer.Option(False, "--skip-short", help="Skip videos shorter than --frames "
                                    "instead of repeating their last frame."),
    strip_height: Optional[int] = typer.Option(None, "--strip-height", help="Frame height of strip JPEGs "
                                               "(original VideoGAN format; default 128)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ignore_disk_check: bool = typer.Option(False, IGNORE_OPTION, help=DISK_HELP),
) -> None:
    """Turn videos into a clip cache (uint8 shards + index.json) that training memory-maps.

    Files whose names are not valid UTF-8, and symbolic links out of SRC or to folders,
    are skipped with a warning. A re-run continues an interrupted one (and removes the
    shard it was writing when killed). With --format, SRC is read as that standard data
    set (Moving MNIST, KTH, BAIR, UCF-101) and one official split is written.
    """
    if format is not None:
        from vgpred.data.standard.write import prepare_standard

        for option, given in (("--stabilize", stabilize), ("--strip-height", strip_height is not None)):
            if given:
                raise VgpredError(f"{option}: not available with --format")
        summary = prepare_standard(src, dst, format, split=_given(split, "test"), fold=_given(fold, 1), size=size,
                                   frames=frames, fps=fps, stride=stride, clips_per_video=clips_per_video,
                                   skip_short=skip_short, hop=hop, progress=progress,
                                   disk_check=not ignore_disk_check)
        typer.echo(summary.report())
        return
    for option, value in (("--split", split), ("--fold", fold)):
        if value is not None:
            raise VgpredError(f"{option}: applies only with --format (a standard data set's official split)")
    from vgpred.data.prepare_cache import prepare

    summary = prepare(src, dst, size=_given(size, 64), frames=_given(frames, 32), fps=fps, stride=_given(stride, 1),
                      stabilize=stabilize, clips_per_video=clips_per_video, skip_short=skip_short,
                      progress=progress, strip_height=_given(strip_height, 128), hop=hop,
                      disk_check=not ignore_disk_check)
    typer.echo(summary.report())


@app.command("formats")
def formats_cmd() -> None:
    """List the standard data sets `vgpred data prepare --format NAME` reads, and the protocols that use them."""
    from vgpred.data.standard import FORMATS
    from vgpred.evaluation.protocols import PROTOCOLS

    for name in FORMATS:
        fmt = FORMATS.get(name)
        protocols = [p for p in PROTOCOLS if PROTOCOLS.get(p).dataset == name]
        folds = f"; folds 1-{fmt.folds}" if fmt.folds > 1 else ""
        typer.echo(f"{name:8s} {fmt.title}")
        typer.echo(f"{'':8s} SRC: {fmt.src}")
        typer.echo(f"{'':8s} splits: {', '.join(fmt.splits)}{folds}; clips {fmt.frames} frames x {fmt.size}x"
                   f"{fmt.size} x {fmt.channels} channel(s) by default"
                   + (f"; protocols: {', '.join(protocols)}" if protocols else ""))


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
    motion: str = typer.Option("vgpred", "--motion", help="Digit trajectories: 'vgpred' (speed 2-5 px per frame, "
                               "reflecting bounces) or 'srivastava' (the standard Moving MNIST generator: 3.6 px "
                               "per frame with 28 px digits on 64 px, stop-and-flip bounces; with --digits 2 "
                               "--frames 20 it follows the mmnist-10-10 protocol)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ignore_disk_check: bool = typer.Option(False, IGNORE_OPTION, help=DISK_HELP),
) -> None:
    """Write a Moving MNIST clip cache (grayscale, C = 1) of bouncing digits."""
    from vgpred.data.moving_mnist import write_moving_mnist

    if split not in ("train", "test"):
        raise VgpredError(f"--split: must be 'train' or 'test', got {split!r}")
    out = write_moving_mnist(dst, idx, digits=digits, num=num, split=split, size=size, frames=frames,
                             seed=seed, progress=progress, disk_check=not ignore_disk_check, motion=motion)
    typer.echo(f"wrote {num} Moving MNIST clips ({digits} digit(s), {split} split) to {out}")

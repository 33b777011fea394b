"""What one press of the demo's button does, without Gradio: check the uploaded photo, draw K
futures with the chosen model and write each as .mp4 and .gif (and the layers on request).

Every request writes into its own new folder under the page's work folder
(:class:`WorkFolder`), so concurrent requests never share a file. Folders of finished
requests are removed once the page has served them (after ``keep_s`` seconds), and the
whole work folder when the page stops.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vgpred.errors import VgpredError
from vgpred.limits import MAX_DEMO_FUTURES, MAX_UPLOAD_BYTES

Progress = Callable[[float, str], None]


@dataclass
class DemoResult:
    """Files of one request: ``videos[i]`` plays future i (.mp4), ``gifs[i]`` is the same as .gif,
    ``layers`` maps a layer's name to one .mp4 tiling it for all K futures."""

    videos: list[Path]
    gifs: list[Path]
    layers: dict[str, Path] = field(default_factory=dict)
    summary: str = ""

    @property
    def downloads(self) -> list[Path]:
        return [p for pair in zip(self.videos, self.gifs) for p in pair] + list(self.layers.values())


class WorkFolder:
    """A private temporary folder for a running page: uploads, results, Gradio's cache.

    ``request_folder()`` makes a new sub-folder per request and removes those older than
    ``keep_s`` seconds (their files were copied to the page's cache when served);
    ``close()`` removes everything.
    """

    def __init__(self, keep_s: float = 600.0):
        self.root = Path(tempfile.mkdtemp(prefix="vgpred-demo-"))
        self.requests = self.root / "requests"
        self.requests.mkdir()
        self.keep_s = keep_s
        self._lock = threading.Lock()

    def request_folder(self) -> Path:
        with self._lock:
            now = time.time()
            for old in self.requests.iterdir():
                if now - old.stat().st_mtime > self.keep_s:
                    shutil.rmtree(old, ignore_errors=True)
            return Path(tempfile.mkdtemp(dir=self.requests))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def check_upload(path: str | os.PathLike, name: str, predictor):
    """The uploaded file at ``path`` (shown to the user as ``name``) -> the photo tensor to animate.

    Raises :class:`VgpredError` naming ``name`` when the file is over :data:`MAX_UPLOAD_BYTES`,
    not an image, broken, or declares more pixels than the decompression-bomb limit.
    """
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    if size > MAX_UPLOAD_BYTES:
        raise VgpredError(f"{name}: the file is {size / 2**20:.1f} MB, over the demo's limit of "
                          f"{MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        return predictor.prepare_image(path)
    except VgpredError as err:
        raise VgpredError(str(err).replace(str(path), name)) from None


MAX_SEED = 2**63 - 1


def check_settings(num_futures: int, seed: int, frames: int, available: int) -> None:
    """Raise :class:`VgpredError` unless 1 <= num_futures <= MAX_DEMO_FUTURES, 0 <= seed <= MAX_SEED
    and 1 <= frames <= available (the model's frames)."""
    if not 1 <= num_futures <= MAX_DEMO_FUTURES:
        raise VgpredError(f"number of futures {num_futures}: choose 1 to {MAX_DEMO_FUTURES}")
    if not 0 <= seed <= MAX_SEED:
        raise VgpredError(f"seed {seed}: choose a whole number from 0 to {MAX_SEED}")
    if not 1 <= frames <= available:
        raise VgpredError(f"frames {frames}: this model makes {available} frames; choose 1 to {available}")


def animate(
    predictor, photo, num_futures: int, seed: int, frames: int, layers: bool, folder: Path,
    progress: Progress = lambda fraction, text: None,
) -> DemoResult:
    """Draw ``num_futures`` futures of ``photo`` (from :func:`check_upload`) and write them into ``folder``.

    The same seed gives the same futures as ``vgpred predict --seed``. ``frames`` keeps the
    first frames of each video; ``layers`` also writes the foreground, background and mask
    (and the flow, for motion models), each tiled over the K futures.
    """
    from vgpred.io.video import make_grid, write_video

    check_settings(num_futures, seed, frames, predictor.cfg.frames)
    progress(0.1, f"drawing {num_futures} futures")
    start = time.perf_counter()
    out = predictor(image=photo, num_samples=num_futures, seed=seed)
    fps = out.fps
    clips = out.frames[:, :, :frames].float().cpu()
    extra = {name: video[:, :, :frames].float().cpu() for name, video in out.layers().items()} if layers else {}
    del out
    jobs = [(folder / f"future-{i}{suffix}", clips[i]) for i in range(num_futures) for suffix in (".mp4", ".gif")]
    jobs += [(folder / f"{name}.mp4", make_grid(video) if num_futures > 1 else video[0]) for name, video in extra.items()]
    written = []
    for done, (path, video) in enumerate(jobs):
        progress(0.5 + 0.5 * done / len(jobs), f"writing {path.name}")
        written.append(write_video(path, video, fps=fps))
    height, width = clips.shape[-2:]
    summary = (f"{num_futures} future{'s' if num_futures > 1 else ''} of {width}x{height} pixels, {frames} frames at "
               f"{fps:g} fps, seed {seed}, in {time.perf_counter() - start:.1f} s")
    return DemoResult(
        videos=written[0:2 * num_futures:2], gifs=written[1:2 * num_futures:2],
        layers={name: written[2 * num_futures + i] for i, name in enumerate(extra)}, summary=summary,
    )

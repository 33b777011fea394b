"""Writing and reading video files: `(C, T, H, W)` in [-1, 1] <-> .mp4, .webm, .gif or PNG frames.

The output name picks the format (see :data:`FORMATS`):

=========================  ==================================================================
``clip.mp4``               H.264 (libx264, yuv420p, crf 18), plays in browsers. yuv420p needs
                           an even width and height: an odd one gets one more row or column,
                           a copy of the last one (the picture is never rescaled).
``clip.webm``              VP9 (libvpx-vp9, yuv420p, constant quality crf 24).
``clip.gif``               Pillow's GIF writer, one 256-colour palette per frame (fast octree),
                           looping forever. Identical consecutive frames are merged into one
                           longer frame (playback time is unchanged).
``clip``, ``clip/``, or    A folder of ``frame_000.png``, ``frame_001.png``, ... (exact pixels).
an existing folder         An existing folder is replaced as a whole, and only when it is
                           empty or holds nothing but ``frame_*.png`` files.
=========================  ==================================================================

Every output is written to a hidden temporary name in the same folder
(``.clip.tmp-<pid>.mp4``) and renamed when complete; on any error it is removed, so
there is never a half-written file. :func:`check_output_path` validates a path before
any computation starts.
"""
from __future__ import annotations

import collections
import math
import os
import shutil
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Union

import numpy as np
import torch
from PIL import Image

from vgpred.errors import VgpredError
from vgpred.limits import MAX_FPS, MIN_FPS
from vgpred.registry import Registry

PathLike = Union[str, os.PathLike]
FRAME_PATTERN = "frame_*.png"


def _pyav():
    """PyAV, imported on first use: PNG and GIF files never need it."""
    try:
        import av
    except ImportError as e:
        raise VgpredError(f"reading or writing video files needs PyAV, which does not import here ({e}); "
                          "pip install av") from None
    return av


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a failed write raises: OSError, and FFmpeg's errors once PyAV is in use."""
    av = sys.modules.get("av")
    return (OSError, av.error.FFmpegError) if av is not None else (OSError,)


# ---------------------------------------------------------------- writers, one per format
def _encode_av(
    path: Path, frames: np.ndarray, rate: Fraction, codec: str, options: dict[str, str], muxer: dict[str, str]
) -> None:
    """Encode `(T, H, W, 3)` uint8 frames with an FFmpeg encoder (`options`) and muxer (`muxer`)."""
    av = _pyav()
    with av.open(str(path), mode="w", options=muxer) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = options
        context = stream.codec_context  # tag what the RGB -> YUV conversion does: BT.601, limited range
        context.colorspace = context.color_primaries = context.color_trc = 6  # SMPTE 170M (BT.601)
        context.color_range = 1  # MPEG (limited)
        for index, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _write_mp4(path: Path, frames: np.ndarray, rate: Fraction) -> None:
    options = {"crf": "18", "preset": "medium"}
    _encode_av(path, frames, rate, "libx264", options, {"movflags": "+faststart"})  # index first: streams on the web


def _write_webm(path: Path, frames: np.ndarray, rate: Fraction) -> None:
    options = {"crf": "24", "b": "0", "row-mt": "1", "cpu-used": "4"}  # b=0: constant quality
    _encode_av(path, frames, rate, "libvpx-vp9", options, {})


def _write_gif(path: Path, frames: np.ndarray, rate: Fraction) -> None:
    # Fast octree quantization: as close to the frame as Pillow's default median cut (34.5 vs 34.8 dB
    # on a photo) and about 80 times faster (0.1 s instead of 3.9 s for 16 frames of 512 x 512).
    images = [Image.fromarray(array).quantize(256, method=Image.Quantize.FASTOCTREE) for array in frames]
    duration = max(10, round(1000 / float(rate)))  # milliseconds; GIF stores 1/100 s
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)


def _write_png_folder(path: Path, frames: np.ndarray, rate: Fraction) -> None:
    path.mkdir()
    digits = max(3, len(str(len(frames) - 1)))
    for index, array in enumerate(frames):
        Image.fromarray(array).save(path / f"frame_{index:0{digits}d}.png")


@dataclass(frozen=True)
class VideoFormat:
    """One output format: its file suffix (None for a folder) and its writer."""

    suffix: str | None
    write: Callable[[Path, np.ndarray, Fraction], None]
    even_size: bool = False  # the encoder needs even width and height


FORMATS = Registry[VideoFormat]("video format")
FORMATS.register("mp4")(VideoFormat(".mp4", _write_mp4, even_size=True))
FORMATS.register("webm")(VideoFormat(".webm", _write_webm))
FORMATS.register("gif")(VideoFormat(".gif", _write_gif))
FORMATS.register("frames")(VideoFormat(None, _write_png_folder))


# ---------------------------------------------------------------- paths and atomic writes
def _supported() -> str:
    files = ", ".join(f.suffix for f in map(FORMATS.get, FORMATS) if f.suffix)
    return f"{files}, or a folder of PNG frames (a name without a suffix, or ending in /)"


def _check_parent(path: PathLike, target: Path) -> None:
    parent = target.parent
    if not parent.exists():
        raise VgpredError(f"{path}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise VgpredError(f"{path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise VgpredError(f"{path}: the folder {parent} is not writable")


def _format_name(path: PathLike) -> str:
    text = os.fspath(path)
    suffix = Path(text).suffix.lower()
    if text.endswith(("/", os.sep)) or not suffix:
        return "frames"
    for name in FORMATS:
        if FORMATS.get(name).suffix == suffix:
            return name
    raise VgpredError(f"{path}: unsupported video format {suffix!r} (supported: {_supported()})")


def check_output_path(path: PathLike) -> str:
    """Validate an output path before any work; return its format name (see :data:`FORMATS`)."""
    name = _format_name(path)
    target = Path(os.path.abspath(path))
    _check_parent(path, target)
    if name != "frames" and target.is_dir():
        raise VgpredError(f"{path}: is an existing folder; give a file name ending in {FORMATS.get(name).suffix}")
    if name == "frames" and target.exists():
        if not target.is_dir():
            raise VgpredError(f"{path}: is an existing file, not a folder for PNG frames")
        others = [p.name for p in target.iterdir() if not p.match(FRAME_PATTERN)]
        if others:
            raise VgpredError(f"{path}: the folder holds other files ({others[0]}, ...); give a new or empty folder")
    return name


def _temp_path(target: Path, suffix: str | None) -> Path:
    """Hidden name in the same folder, keeping the real suffix last for PyAV and Pillow."""
    stem = target.stem if suffix else target.name
    return target.with_name(f".{stem}.tmp-{os.getpid()}{suffix or ''}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _publish(temp: Path, target: Path) -> None:
    """Move a finished temporary file or folder to `target` (replacing what was there)."""
    if not (temp.is_dir() and target.is_dir()):
        os.replace(temp, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.rename(target, old)
    try:
        os.rename(temp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_atomic(path: PathLike, target: Path, suffix: str | None, write: Callable[[Path], None]) -> Path:
    temp = _temp_path(target, suffix)
    _remove(temp)
    try:
        write(temp)
        _publish(temp, target)
    except _write_errors() as e:
        _remove(temp)
        raise VgpredError(f"{path}: could not write the file: {e}") from e
    except BaseException:
        _remove(temp)
        raise
    return target


# ---------------------------------------------------------------- tensors <-> uint8 frames
def _check_video(video: torch.Tensor, name: str = "video") -> torch.Tensor:
    if video.ndim == 5:
        raise VgpredError(
            f"{name}: expected one clip (C, T, H, W), got a batch {tuple(video.shape)}; tile it with make_grid"
        )
    if video.ndim != 4 or video.shape[0] not in (1, 3) or min(video.shape) < 1:
        raise VgpredError(f"{name}: expected shape (C, T, H, W) with C in 1, 3, got {tuple(video.shape)}")
    if not video.is_floating_point():
        raise VgpredError(f"{name}: expected a float tensor in [-1, 1], got {video.dtype}")
    video = video.detach().to("cpu", torch.float32)
    if not torch.isfinite(video).all():
        raise VgpredError(f"{name}: contains NaN or infinite values")
    return video


def _to_frames(video: torch.Tensor, scale: int) -> np.ndarray:
    """`(C, T, H, W)` in [-1, 1] -> `(T, H * scale, W * scale, 3)` uint8 (values clamped)."""
    if not isinstance(scale, int) or scale < 1:
        raise VgpredError(f"scale: must be a whole number >= 1, got {scale!r}")
    x = ((_check_video(video).clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    x = x.expand(3, -1, -1, -1)
    if scale > 1:
        x = x.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    return x.permute(1, 2, 3, 0).contiguous().numpy()


def _pad_even(frames: np.ndarray) -> np.ndarray:
    """Repeat the last row / column where the height / width is odd."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames


# ---------------------------------------------------------------- public: writing
def write_video(path: PathLike, video: torch.Tensor, fps: float, scale: int = 1) -> Path:
    """Write one clip `(C, T, H, W)` in [-1, 1] (C = 1 or 3) to `path`; return the path written.

    The format follows the name (module docstring). `scale` > 1 enlarges every frame
    by pixel repetition (nearest neighbour), handy for 64 x 64 outputs. Values outside
    [-1, 1] are clamped.
    """
    fmt = FORMATS.get(check_output_path(path))
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise VgpredError(f"fps: must be a positive number, got {fps!r}") from None
    if not (math.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
        raise VgpredError(f"fps: must be a number from {MIN_FPS:g} to {MAX_FPS:g}, got {fps!r}")
    frames = _to_frames(video, scale)
    if fmt.even_size:
        frames = _pad_even(frames)
    rate = Fraction(fps).limit_denominator(1001)
    target = Path(os.path.abspath(path))
    return _write_atomic(path, target, fmt.suffix, lambda temp: fmt.write(temp, frames, rate))


def make_grid(
    videos: torch.Tensor, nrow: int | None = None, padding: int = 1, pad_value: float = -1.0
) -> torch.Tensor:
    """Tile a batch `(B, C, T, H, W)` into one clip `(C, T, H', W')`.

    `nrow` videos go in each row (default ``ceil(sqrt(B))``), separated and framed by
    `padding` pixels of `pad_value` (-1 is black).
    """
    if videos.ndim != 5 or min(videos.shape) < 1:
        raise VgpredError(f"videos: expected shape (B, C, T, H, W), got {tuple(videos.shape)}")
    if padding < 0 or (nrow is not None and nrow < 1):
        raise VgpredError(f"make_grid: need nrow >= 1 and padding >= 0, got nrow={nrow}, padding={padding}")
    b, c, t, h, w = videos.shape
    cols = nrow or math.ceil(math.sqrt(b))
    rows = math.ceil(b / cols)
    grid = videos.new_full((c, t, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value)
    for i in range(b):
        y = padding + (i // cols) * (h + padding)
        x = padding + (i % cols) * (w + padding)
        grid[:, :, y : y + h, x : x + w] = videos[i]
    return grid


def save_frames_png(
    path: PathLike, video: torch.Tensor, padding: int = 1, scale: int = 1, pad_value: float = -1.0
) -> Path:
    """Write a PNG contact sheet: the frames of a clip `(C, T, H, W)` side by side.

    A batch `(B, C, T, H, W)` gives one row per clip. Values in [-1, 1].
    """
    target = Path(os.path.abspath(path))
    if target.suffix.lower() != ".png":
        raise VgpredError(f"{path}: a contact sheet is a .png file")
    _check_parent(path, target)
    if target.is_dir():
        raise VgpredError(f"{path}: is an existing folder; give a file name ending in .png")
    batch = video[None] if video.ndim == 4 else video
    if batch.ndim != 5:
        raise VgpredError(f"video: expected shape (C, T, H, W) or (B, C, T, H, W), got {tuple(video.shape)}")
    b, c, t, h, w = batch.shape
    frames = batch.permute(0, 2, 1, 3, 4).reshape(b * t, c, 1, h, w)
    sheet = _to_frames(make_grid(frames, nrow=t, padding=padding, pad_value=pad_value), scale)[0]
    return _write_atomic(path, target, ".png", lambda temp: Image.fromarray(sheet).save(temp, format="PNG"))


# ---------------------------------------------------------------- public: reading
def _check_input(path: Path) -> None:
    if not path.exists():
        raise VgpredError(f"{path}: no such file")


def _read_png_folder(path: Path, max_frames: int | None) -> np.ndarray:
    files = sorted(path.glob("*.png"))[:max_frames]
    if not files:
        raise VgpredError(f"{path}: the folder holds no PNG frames")
    frames = []
    for file in files:
        try:
            with Image.open(file) as im:
                frames.append(np.asarray(im.convert("RGB")))
        except (OSError, SyntaxError, ValueError) as e:
            raise VgpredError(f"{file}: cannot read the frame: {e}") from None
    if len({f.shape for f in frames}) > 1:
        raise VgpredError(f"{path}: the PNG frames differ in size")
    return np.stack(frames)


def _decode(
    path: Path, max_frames: int | None, keep: bool, last: int | None = None
) -> tuple[list[np.ndarray], int, dict]:
    """Decode the first video stream; return frames (if `keep`; only the last `last` of them when
    given), their count and stream facts."""
    av = _pyav()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VgpredError(f"{path}: holds no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            facts = {"width": stream.width, "height": stream.height, "fps": float(rate) if rate else None}
            frames, count = collections.deque(maxlen=last), 0
            for frame in container.decode(stream):
                if max_frames is not None and count >= max_frames:
                    break
                if keep:
                    frames.append(frame.to_ndarray(format="rgb24"))
                count += 1
    except (av.error.FFmpegError, OSError) as e:
        raise VgpredError(f"{path}: not a video PyAV can read: {e}") from None
    if count == 0:
        raise VgpredError(f"{path}: holds no video frames")
    return list(frames), count, facts


def read_video(path: PathLike, max_frames: int | None = None) -> torch.Tensor:
    """Read a video file (any format PyAV decodes) or a folder of PNG frames.

    Returns `(T, H, W, 3)` uint8 RGB, at most `max_frames` frames.
    """
    path = Path(path)
    _check_input(path)
    if path.is_dir():
        return torch.from_numpy(_read_png_folder(path, max_frames))
    frames, _, _ = _decode(path, max_frames, keep=True)
    return torch.from_numpy(np.stack(frames))


def read_last_frames(path: PathLike, count: int) -> torch.Tensor:
    """The last ``count`` frames of a video file or PNG folder (all of them when it has fewer), decoded
    one at a time so that only ``count`` are held. Returns ``(T, H, W, 3)`` uint8 RGB, T <= count."""
    path = Path(path)
    _check_input(path)
    if path.is_dir():
        return torch.from_numpy(_read_png_folder(path, None)[-count:])
    frames, _, _ = _decode(path, None, keep=True, last=count)
    return torch.from_numpy(np.stack(frames))


def video_info(path: PathLike) -> dict:
    """Facts about a video file or PNG folder: ``frames``, ``width``, ``height``, ``fps`` (None if unknown)."""
    path = Path(path)
    _check_input(path)
    if path.is_dir():
        frames = _read_png_folder(path, None)
        return {"frames": len(frames), "width": frames.shape[2], "height": frames.shape[1], "fps": None}
    _, count, facts = _decode(path, None, keep=False)
    return {"frames": count, **facts}

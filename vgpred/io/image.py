"""Loading photos: any file Pillow reads (or an in-memory image) -> `(C, H, W)` in [-1, 1].

``fit`` decides the shape: ``crop`` and ``pad`` give a `size` x `size` square (what the
networks see); ``whole`` keeps the photo's aspect ratio with its long side capped at
`size` (what motion models render at; smaller photos keep their size).

Every problem with the input file (missing, empty, not an image, truncated, corrupt,
too many pixels) raises :class:`VgpredError` with one line naming the file. Pixels go
through Pillow only:

- EXIF orientation is applied, so photos from phones come out upright.
- Every mode becomes RGB (or luminance for ``channels=1``). Transparent pixels are
  composited over white (RGBA, LA, palette or RGB/L with a transparency key).
  16-bit images (``I;16``, ``I``) are scaled from 0..65535 to 0..255; float images
  (``F``) are read as 0..1 when all values lie there, else as 0..255.
- Decompression bombs are refused from the header, before any pixel is decoded: a
  file declaring more than :data:`MAX_IMAGE_PIXELS` pixels (or more than Pillow's own
  hard limit, where a program lowered it) is an error. JPEGs are decoded at a
  reduced scale (DCT scaling) when that still leaves twice the requested size, which
  keeps memory bounded on very large photos.
- Truncated files and PNGs with a bad chunk checksum are errors, never gray fill.
"""
from __future__ import annotations

import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from vgpred.errors import VgpredError
from vgpred.registry import Registry

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
MAX_IMAGE_PIXELS: int = 178_956_970  # Pillow's hard limit (twice its warning limit): ~13400 x 13400
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma weights, as Pillow's convert("L")

ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray, torch.Tensor]
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


# ---------------------------------------------------------------- fitting to the output
@dataclass(frozen=True)
class Layout:
    """Where a W x H source lands in the output.

    ``box`` (left, top, right, bottom) is the part of the source that is kept, resized
    to ``resized`` (w, h) and placed at ``offset`` (x, y) on a black canvas of ``canvas``
    (w, h) pixels.
    """

    box: tuple[int, int, int, int]
    resized: tuple[int, int]
    offset: tuple[int, int]
    canvas: tuple[int, int]


FITS = Registry[Callable[[int, int, int], Layout]]("fit mode")


@FITS.register("crop")
def _crop_layout(width: int, height: int, size: int) -> Layout:
    """Scale the short side to `size` and keep the centre square."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return Layout((left, top, left + side, top + side), (size, size), (0, 0), (size, size))


@FITS.register("pad")
def _pad_layout(width: int, height: int, size: int) -> Layout:
    """Scale the long side to `size` and pad the rest with black (-1)."""
    scale = size / max(width, height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    return Layout((0, 0, width, height), (w, h), ((size - w) // 2, (size - h) // 2), (size, size))


@FITS.register("whole")
def _whole_layout(width: int, height: int, size: int) -> Layout:
    """Keep the whole photo and its aspect ratio; shrink it so the long side is at most `size`."""
    scale = min(1.0, size / max(width, height))
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    return Layout((0, 0, width, height), (w, h), (0, 0), (w, h))


def _fit_pil(im: Image.Image, size: int, fit: str) -> Image.Image:
    """Image (mode L or RGB) of any size -> the layout's canvas, same mode."""
    layout = FITS.get(fit)(im.width, im.height, size)
    if layout.resized == (im.width, im.height) and layout.box == (0, 0, im.width, im.height):
        resized = im.copy()
    else:
        resized = im.resize(layout.resized, Image.Resampling.BICUBIC, box=layout.box, reducing_gap=3.0)
    if layout.resized == layout.canvas:
        return resized
    canvas = Image.new(im.mode, layout.canvas, 0)
    canvas.paste(resized, layout.offset)
    return canvas


def _fit_tensor(x: torch.Tensor, size: int, fit: str) -> torch.Tensor:
    """`(C, H, W)` in [-1, 1] of any size -> the layout's canvas `(C, h, w)` in [-1, 1]."""
    layout = FITS.get(fit)(x.shape[2], x.shape[1], size)
    left, top, right, bottom = layout.box
    part = x[:, top:bottom, left:right]
    w, h = layout.resized
    if part.shape[1:] != (h, w):
        part = F.interpolate(part[None], size=(h, w), mode="bicubic", antialias=True, align_corners=False)[0]
    pad_x, pad_y = layout.offset
    canvas_w, canvas_h = layout.canvas
    pads = (pad_x, canvas_w - w - pad_x, pad_y, canvas_h - h - pad_y)
    return F.pad(part, pads, value=-1.0).clamp(-1.0, 1.0)


# ---------------------------------------------------------------- converting modes
def _high_depth_to_l(im: Image.Image) -> Image.Image:
    """Mode I;16*, I or F -> mode L (Pillow's own convert clips these at 255)."""
    a = np.asarray(im, dtype=np.float64)
    if im.mode == "F" and a.size and a.min() >= 0.0 and a.max() <= 1.0:
        a = a * 255.0
    elif im.mode != "F":
        a = a / 257.0  # 0..65535 -> 0..255
    a = np.nan_to_num(a, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8), mode="L")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparent pixels are composited over white."""
    if im.mode.startswith("I") or im.mode == "F":
        im = _high_depth_to_l(im)
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _prepare(im: Image.Image, size: int, channels: int, fit: str) -> Image.Image:
    """Upright image of any mode -> new `size` x `size` image of mode RGB or L."""
    im = _to_rgb(im)
    if channels == 1:
        im = im.convert("L")
    return _fit_pil(im, size, fit)


def _pil_to_tensor(im: Image.Image) -> torch.Tensor:
    """Mode L or RGB image -> `(C, H, W)` float32 in [-1, 1]."""
    a = np.asarray(im, dtype=np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    return torch.from_numpy(a.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0)


# ---------------------------------------------------------------- opening files safely
def _pixel_limit() -> int:
    """The lower of this module's limit and Pillow's hard limit (where one is set)."""
    pillow = Image.MAX_IMAGE_PIXELS
    return MAX_IMAGE_PIXELS if pillow is None else min(MAX_IMAGE_PIXELS, 2 * pillow)


def _declared_size(path: Path) -> tuple[int, int] | None:
    """Width and height the header of `path` declares, read by Pillow's format plugins.

    Used only to word the error once Pillow has refused a decompression bomb; opening
    a plugin reads the header and decodes no pixels.
    """
    Image.init()
    with open(path, "rb") as fp:
        prefix = fp.read(16)
        for name in Image.ID:
            factory, accept = Image.OPEN[name]
            accepted = accept is None or accept(prefix)
            if not accepted or isinstance(accepted, str):
                continue
            fp.seek(0)
            try:
                return factory(fp, str(path)).size
            except Exception:  # noqa: BLE001 - any plugin that cannot parse it is skipped
                continue
    return None


def _too_large(path: Path | str, width: int, height: int) -> VgpredError:
    return VgpredError(f"{path}: image is {width} x {height} pixels, over the limit of {_pixel_limit()}")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VgpredError(f"{path}: no such file")
    if path.is_dir():
        raise VgpredError(f"{path}: is a directory, not an image file")
    if path.stat().st_size == 0:
        raise VgpredError(f"{path}: empty file (0 bytes), not an image")


def _open_quietly(path: Path) -> Image.Image:
    """Image.open without Pillow's size warning: the caller checks against our limit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


def _open_checked(path: Path) -> Image.Image:
    """Open lazily and refuse over-large images before any pixel is decoded."""
    try:
        im = _open_quietly(path)
    except Image.DecompressionBombError:
        size = _declared_size(path)
        if size is None:
            raise VgpredError(f"{path}: image is over the limit of {_pixel_limit()} pixels") from None
        raise _too_large(path, *size) from None
    except Image.UnidentifiedImageError:
        raise VgpredError(f"{path}: not an image Pillow can read (unknown format or broken header)") from None
    if im.width * im.height > _pixel_limit():
        im.close()
        raise _too_large(path, im.width, im.height)
    return im


def _verify_png(path: Path) -> None:
    """Check every chunk checksum (Pillow skips those of the pixel data when decoding)."""
    with _open_quietly(path) as probe:
        probe.verify()


def _read_file(path: Path, size: int, channels: int, fit: str) -> Image.Image:
    """Decode `path` and fit it, or raise a one-line VgpredError naming the file."""
    _check_file(path)
    try:
        im = _open_checked(path)
        with im:
            if im.format == "PNG":
                _verify_png(path)
            if im.format == "JPEG":
                im.draft("RGB", (2 * size, 2 * size))  # DCT-scaled decoding of large photos
            im.load()
            ImageOps.exif_transpose(im, in_place=True)
            return _prepare(im, size, channels, fit)
    except VgpredError:
        raise
    except _PILLOW_ERRORS as e:
        raise VgpredError(f"{path}: cannot read the image: {e}") from None


# ---------------------------------------------------------------- in-memory sources
def _array_to_pil(a: np.ndarray) -> Image.Image:
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise VgpredError(
            f"image array: expected uint8 of shape (H, W) or (H, W, C) with C in 1, 3, 4, "
            f"got {a.dtype} {tuple(a.shape)}"
        )
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(a))


def _check_tensor(x: torch.Tensor) -> torch.Tensor:
    if x.ndim != 3 or x.shape[0] not in (1, 3) or x.shape[1] < 1 or x.shape[2] < 1:
        raise VgpredError(f"image tensor: expected shape (C, H, W) with C in 1, 3, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise VgpredError(f"image tensor: expected a float tensor in [-1, 1], got {x.dtype}")
    x = x.detach().to("cpu", torch.float32)
    if not torch.isfinite(x).all():
        raise VgpredError("image tensor: contains NaN or infinite values")
    lo, hi = x.min().item(), x.max().item()
    if lo < -1.001 or hi > 1.001:
        raise VgpredError(f"image tensor: values must lie in [-1, 1], got [{lo:.3g}, {hi:.3g}]")
    return x.clamp(-1.0, 1.0)


def _set_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[0] == channels:
        return x
    if channels == 3:
        return x.expand(3, -1, -1).clone()
    weights = torch.tensor(LUMA, dtype=x.dtype).view(3, 1, 1)
    return (x * weights).sum(0, keepdim=True)


# ---------------------------------------------------------------- public
def load_image(source: ImageSource, size: int, channels: int = 3, fit: str = "crop") -> torch.Tensor:
    """Load a photo as a `(channels, H, W)` float32 tensor in [-1, 1].

    Args:
        source: a file path; a ``PIL.Image``; a uint8 array `(H, W)` or `(H, W, C)`;
            or a float tensor `(C, H, W)` with C in 1, 3 already in [-1, 1].
        size: side of the output square in pixels.
        channels: 3 for RGB, 1 for luminance (ITU-R 601-2).
        fit: ``"crop"`` scales the short side to `size` and keeps the centre;
            ``"pad"`` scales the long side to `size` and pads with black (-1);
            both give `size` x `size`. ``"whole"`` keeps the aspect ratio and shrinks
            the photo until its long side is at most `size` (never enlarges it).

    Example:
        >>> load_image("photo.jpg", 64).shape
        torch.Size([3, 64, 64])
    """
    if size < 1:
        raise VgpredError(f"size: must be a positive number of pixels, got {size}")
    if channels not in (1, 3):
        raise VgpredError(f"channels: must be 1 or 3, got {channels}")
    FITS.get(fit)
    if isinstance(source, torch.Tensor):
        return _set_channels(_fit_tensor(_check_tensor(source), size, fit), channels)
    if isinstance(source, (str, os.PathLike)):
        return _pil_to_tensor(_read_file(Path(source), size, channels, fit))
    try:
        if isinstance(source, Image.Image):
            im = _prepare(ImageOps.exif_transpose(source), size, channels, fit)
        elif isinstance(source, np.ndarray):
            im = _prepare(_array_to_pil(source), size, channels, fit)
        else:
            raise VgpredError(
                f"image: expected a path, PIL image, uint8 array or tensor, got {type(source).__name__}"
            )
    except ValueError as e:  # a mode Pillow cannot convert to RGB
        raise VgpredError(f"image: {e}") from None
    return _pil_to_tensor(im)

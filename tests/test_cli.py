"""The real command line: help texts, start-up imports, predict and sample end to end."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import assert_one_line_error, call_cli, run_cli
from vgpred.io.video import read_video, video_info

COMMANDS = [[], ["predict"], ["sample"], ["train"], ["evaluate"], ["models"], ["demo"], ["data"], ["data", "prepare"], ["data", "moving-mnist"],
            ["convert"], ["convert", "torch7"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_of_every_command(command):
    result = call_cli(*command, "--help")
    assert result.code == 0, result.err
    assert "Usage:" in result.out and "--help" in result.out


@pytest.mark.parametrize("argv", [["--help"], ["data", "formats"]], ids=" ".join)
def test_light_commands_do_not_import_torch(argv):
    code = (
        "import sys\n"
        "from vgpred.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('torch', 'av', 'numpy', 'kornia', 'PIL') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_predict_end_to_end_real_photo(tiny_model, photo, tmp_path):
    model = tiny_model("image")
    out = tmp_path / "future.mp4"
    result = run_cli("predict", photo, "-o", out, "--checkpoint", model, "--seed", "0", "--device", "cpu")
    assert result.code == 0, result.err
    assert result.out.strip() == str(out)
    info = video_info(out)
    assert (info["frames"], info["width"], info["height"]) == (8, 32, 32)
    with open(out, "rb") as f:
        assert f.read(12)[4:8] == b"ftyp"  # an MP4 container
    import av

    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"


def test_predict_many_samples_layers_grid(tiny_model, photo, tmp_path):
    model = tiny_model("image")
    result = call_cli("predict", photo, "-o", tmp_path / "a.webm", "-c", model, "-n", "2", "--layers", "--frames", "4")
    assert result.code == 0, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"a-{i}{t}.webm" for i in (0, 1) for t in ("", "-foreground", "-background", "-mask")
    )
    assert read_video(tmp_path / "a-1-mask.webm").shape[0] == 4
    result = call_cli("predict", photo, "-o", tmp_path / "frames", "-c", model, "-n", "3", "--grid", "--scale", "2")
    assert result.code == 0, result.err
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 8


def test_sample_label_and_unconditional(tiny_model, tmp_path):
    label_model = tiny_model("label")
    result = call_cli("sample", "-o", tmp_path / "run.gif", "-c", label_model, "--label", "run", "--seed", "1")
    assert result.code == 0, result.err
    assert read_video(tmp_path / "run.gif").shape == (8, 32, 32, 3)
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "x.gif", "-c", label_model), "--label", "walk, run, jump")
    assert_one_line_error(
        call_cli("sample", "-o", tmp_path / "x.gif", "-c", label_model, "--label", "fly"), "'fly'", "walk, run, jump"
    )
    uncond = tiny_model("unconditional")
    assert call_cli("sample", "-o", tmp_path / "u.mp4", "-c", uncond, "-n", "2").code == 0
    assert (tmp_path / "u-0.mp4").is_file() and (tmp_path / "u-1.mp4").is_file()
    assert_one_line_error(call_cli("predict", tmp_path / "u-0.mp4", "-o", tmp_path / "p.mp4", "-c", uncond), "vgpred sample")
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "p.mp4").exists()


def test_version_and_models():
    result = call_cli("--version")
    assert result.code == 0 and result.out.startswith("vgpred ")
    result = call_cli("models")
    assert result.code == 0
    lines = result.out.splitlines()
    assert any(line.startswith("scenes-motion (default): image 64x64x16") for line in lines), lines
    assert any(line.startswith("scenes-64: image 64x64x16") for line in lines), lines
    assert any(line.startswith("mfmnist-motion: image 64x64x16") for line in lines), lines
    assert any(line.startswith("mfmnist-64: image 64x64x16") for line in lines), lines
    assert any(line.startswith("mfmnist-label-32: label 32x32x16") for line in lines), lines


def test_readme_first_command_uses_the_bundled_default_model(tmp_path):
    """`vgpred predict assets/examples/street.jpg -o future.mp4` with no --checkpoint."""
    from tests.conftest import REPO

    out = tmp_path / "future.mp4"
    result = run_cli("predict", REPO / "assets" / "examples" / "street.jpg", "-o", out, "--num-samples", "2", "--seed", "0")
    assert result.code == 0, result.err
    for path in (tmp_path / "future-0.mp4", tmp_path / "future-1.mp4"):
        info = video_info(path)  # the default is a motion model: the photo's 4:3 at 512 pixels on the long side
        assert (info["frames"], info["width"], info["height"]) == (16, 512, 384)
    a, b = read_video(tmp_path / "future-0.mp4"), read_video(tmp_path / "future-1.mp4")
    assert (a.float() - b.float()).abs().mean() > 0  # two different futures
    import numpy as np
    from PIL import Image

    photo = np.asarray(Image.open(REPO / "assets" / "examples" / "street.jpg").convert("RGB").resize((512, 384), Image.BICUBIC))
    first = a[0].numpy()  # (H, W, 3) uint8
    mse = ((first.astype(np.float64) - photo.astype(np.float64)) ** 2).mean()
    assert 10 * np.log10(255.0**2 / mse) > 30  # frame 0 is the photo (up to H.264 and the resize filter)

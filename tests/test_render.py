"""Motion models write the video at the photo's own size and aspect ratio; pixel models at theirs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import assert_one_line_error, call_cli, run_cli, save_tiny_model, skimage_photo
from vgpred.io.video import read_video
from vgpred.predictor import VideoPredictor

CPU = ("--device", "cpu")


@pytest.fixture(scope="module")
def motion_model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("motion"), "image", foreground="motion", skips=True)


@pytest.fixture(scope="module")
def pixel_model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("pixels"), "image")


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = (((a.float() - b.float()) / 2) ** 2).mean().item()  # [-1, 1] -> [0, 1]
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def test_a_wide_photo_is_rendered_at_its_own_aspect_ratio_with_the_long_side_capped(motion_model):
    chelsea = skimage_photo("chelsea.png")  # 451 x 300
    predictor = VideoPredictor.from_pretrained(motion_model, device="cpu")
    capped = predictor(chelsea, num_samples=2, seed=0, size=200)
    assert capped.frames.shape == (2, 3, 8, 133, 200) and capped.flow.shape == (2, 2, 8, 133, 200)
    whole = predictor(chelsea, seed=0)  # default cap 512: a smaller photo keeps its size
    assert whole.frames.shape[-2:] == (300, 451)
    with Image.open(chelsea) as im:
        original = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1).float() / 127.5 - 1
    assert _psnr(whole.frames[0, :, 0], original) > 45  # frame 0 is the photo itself
    square = predictor(chelsea, seed=0, size=64, fit="crop")
    assert square.frames.shape[-2:] == (64, 64)


def test_the_same_seed_moves_the_photo_alike_at_any_output_size(motion_model, photo):
    predictor = VideoPredictor.from_pretrained(motion_model, device="cpu")
    small, large = predictor(photo, seed=3, size=32), predictor(photo, seed=3, size=128)
    # The motion is predicted once at the network's size: downsampled, the large video's mask is the small one's.
    pooled = torch.nn.functional.avg_pool2d(large.mask[0, 0], 4)
    assert (pooled - small.mask[0, 0]).abs().max() < 0.05
    assert not torch.equal(predictor(photo, seed=3, size=32).flow, predictor(photo, seed=4, size=32).flow)


def test_a_pixel_model_keeps_its_network_size_and_refuses_a_render_size(pixel_model, photo):
    predictor = VideoPredictor.from_pretrained(pixel_model, device="cpu")
    assert predictor(photo, seed=0).frames.shape[-2:] == (32, 32)
    with pytest.raises(Exception, match="size=64: this pixels model paints 32x32 frames"):
        predictor(photo, seed=0, size=64)


def test_predict_writes_the_photo_size_and_a_flow_video(tmp_path, motion_model):
    out = tmp_path / "future.mp4"
    result = run_cli("predict", skimage_photo("chelsea.png"), "-o", out, "-c", motion_model, "--size", "160",
                     "--layers", "--seed", "0", *CPU)
    assert result.code == 0, result.err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["future-background.mp4", "future-flow.mp4", "future-foreground.mp4", "future-mask.mp4",
                     "future.mp4"]
    video = read_video(out)
    assert video.shape[1:3] == (106, 160)  # 300 * 160 / 451 = 106.4


@pytest.mark.parametrize("args, message", [
    (("--size", "0"), "--size 0: must be from 1 to 4096 pixels"),
    (("--size", "100000"), "--size 100000: must be from 1 to 4096 pixels"),
    (("--fit", "stretch"), "--fit stretch: must be crop, pad or whole"),
])
def test_bad_render_options_are_one_line_and_write_nothing(tmp_path, motion_model, photo, args, message):
    result = call_cli("predict", photo, "-o", tmp_path / "f.mp4", "-c", motion_model, *args, *CPU)
    assert_one_line_error(result, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (("--size", "256"), "--size 256:"),
    (("--fit", "whole"), "--fit whole:"),
])
def test_render_options_for_a_pixel_model_are_one_line(tmp_path, pixel_model, photo, args, message):
    result = call_cli("predict", photo, "-o", tmp_path / "f.mp4", "-c", pixel_model, *args, *CPU)
    assert_one_line_error(result, message, "pixel model")
    assert list(tmp_path.iterdir()) == []

"""The Python API: VideoPredictor.from_pretrained(...)(image/label, num_samples, seed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vgpred.errors import VgpredError
from vgpred.io.video import read_video
from vgpred.predictor import VideoPredictor


@pytest.fixture
def image_predictor(tiny_model):
    return VideoPredictor.from_pretrained(tiny_model("image"), device="cpu")


def test_outputs_layers_and_composite(image_predictor, photo):
    out = image_predictor(photo, num_samples=3, seed=0)
    assert out.frames.shape == (3, 3, 8, 32, 32)
    assert out.mask.shape == (3, 1, 8, 32, 32)
    assert out.frames.min() >= -1 and out.frames.max() <= 1
    torch.testing.assert_close(out.frames, out.mask * out.foreground + (1 - out.mask) * out.background)
    assert out.fps == 8.0 and len(out) == 3


def test_seed_reproducible_and_different_seeds_differ(image_predictor, photo):
    a = image_predictor(photo, num_samples=2, seed=1)
    b = image_predictor(photo, num_samples=2, seed=1)
    c = image_predictor(photo, num_samples=2, seed=2)
    assert torch.equal(a.frames, b.frames)
    assert not torch.equal(a.frames, c.frames)
    # The K futures of one photo differ from each other.
    assert not torch.equal(a.frames[0], a.frames[1])
    gen = torch.Generator().manual_seed(1)
    assert torch.equal(image_predictor(photo, num_samples=2, generator=gen).frames, a.frames)


def test_image_as_path_pil_array_or_tensor_agree(image_predictor, photo):
    pil = Image.open(photo)
    tensor = image_predictor.prepare_image(photo)
    outs = [image_predictor(x, seed=0).frames for x in (photo, str(photo), pil, np.asarray(pil.convert("RGB")), tensor)]
    for other in outs[1:]:
        torch.testing.assert_close(outs[0], other)


def test_mode_checks(tiny_model, image_predictor, photo):
    with pytest.raises(VgpredError, match="image-to-video model: give an image"):
        image_predictor()
    with pytest.raises(VgpredError, match="takes no label"):
        image_predictor(photo, label="run")
    with pytest.raises(VgpredError, match="num_samples=0"):
        image_predictor(photo, num_samples=0)
    label = VideoPredictor.from_pretrained(tiny_model("label"), device="cpu")
    with pytest.raises(VgpredError, match="give a label \\(one of walk, run, jump\\)"):
        label()
    with pytest.raises(VgpredError, match="label 'fly': not known to this model \\(known: walk, run, jump\\)"):
        label(label="fly")
    with pytest.raises(VgpredError, match="takes no image"):
        label(photo, label="run")
    assert torch.equal(label(label="run", seed=0).frames, label(label=1, seed=0).frames)
    uncond = VideoPredictor.from_pretrained(tiny_model("unconditional"), device="cpu")
    assert uncond(num_samples=2, seed=0).frames.shape == (2, 3, 8, 32, 32)


def test_save_names_layers_and_grid(image_predictor, photo, tmp_path):
    out = image_predictor(photo, num_samples=2, seed=0)
    written = out.save(tmp_path / "f.mp4", layers=True)
    names = sorted(p.name for p in written)
    assert names == sorted(
        f"f-{i}{tag}.mp4" for i in (0, 1) for tag in ("", "-foreground", "-background", "-mask")
    )
    assert read_video(tmp_path / "f-0.mp4").shape == (8, 32, 32, 3)
    (grid,) = out.save(tmp_path / "g.gif", grid=True)
    assert grid.name == "g.gif" and read_video(grid).shape[0] == 8

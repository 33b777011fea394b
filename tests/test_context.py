"""Context frames (``model.context_frames``), videos as input, and rollout past the trained length."""
from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import assert_one_line_error, call_cli, save_tiny_model, tiny_model_config
from tests.conftest import train_tiny as _train

FASHION_PHOTO = "assets/examples/fashion-digits.png"


def _still_motion(model) -> None:
    """Make a motion model's video stream predict no motion and a full mask: it copies its photo."""
    with torch.no_grad():
        model.generator.video_head[0].weight.zero_()
        model.generator.video_head[0].bias.zero_()
        model.generator.mask_head[0].weight.zero_()
        model.generator.mask_head[0].bias.fill_(100.0)


# --- the model --------------------------------------------------------------------------------

def test_one_context_frame_is_todays_model_bit_for_bit():
    """The bundled model (written before context frames existed) gives the numbers it gave then."""
    from vgpred import VideoPredictor
    from tests.conftest import REPO

    p = VideoPredictor.from_pretrained("mfmnist-64", device="cpu")
    assert p.cfg.context_frames == 1
    v = p(REPO / FASHION_PHOTO, num_samples=1, seed=3).frames
    assert v.shape == (1, 1, 16, 64, 64)
    # Recorded with the code before context frames (same seed, photo and model).
    expected = [-0.07695236802101135, 0.04108774662017822, -0.13705496490001678, -0.9517865180969238,
                -0.8627763986587524, -0.8561192154884338]
    assert torch.allclose(v[0, 0, 7, 32, 28:34], torch.tensor(expected), atol=1e-4)
    assert float(v.double().sum()) == pytest.approx(-41895.649140693014, rel=1e-5)


@pytest.mark.parametrize("foreground", ["pixels", "motion"])
def test_video_starts_with_the_context_frames(foreground):
    from vgpred.models.videogan import VideoGenerator

    torch.manual_seed(0)
    model = VideoGenerator(tiny_model_config(context_frames=3, foreground=foreground)).eval()
    context = torch.rand(2, 3, 3, 32, 32) * 2 - 1
    out = model(model.sample_noise(2), None, context)
    assert out.video.shape == (2, 3, 8, 32, 32)
    assert torch.equal(out.video[:, :, :3], context)
    for layer in (out.foreground, out.background, out.mask):
        assert layer.shape[2] == 8
    assert torch.allclose(out.mask * out.foreground + (1 - out.mask) * out.background, out.video, atol=1e-6)
    # the encoder reads every context frame: changing the oldest one changes the code
    other = context.clone()
    other[:, :, 0] = -other[:, :, 0]
    z = torch.zeros(2, 8)
    a, b = model.conditioner(z, None, context)[0], model.conditioner(z, None, other)[0]
    assert (a - b).abs().max() > 0.01 * a.abs().max()
    with pytest.raises(ValueError, match=r"\(B, C, 3, H, W\)"):
        model(z, None, context[:, :, 0])


def test_motion_foreground_moves_the_last_context_frame():
    from vgpred.models.videogan import VideoGenerator

    model = VideoGenerator(tiny_model_config(context_frames=2, foreground="motion")).eval()
    _still_motion(model)
    context = torch.rand(1, 3, 2, 32, 32) * 2 - 1
    out = model(torch.zeros(1, 8), None, context)
    for t in range(2, 8):
        assert torch.allclose(out.video[:, :, t], context[:, :, 1], atol=1e-5)
    # rendered at another size: the context at that size starts the video, its last frame is moved
    big = torch.rand(1, 3, 2, 40, 56) * 2 - 1
    out = model(torch.zeros(1, 8), None, context, big)
    assert out.video.shape == (1, 3, 8, 40, 56) and torch.equal(out.video[:, :, :2], big)
    assert torch.allclose(out.video[:, :, 5], big[:, :, 1], atol=1e-5)


def test_context_config_is_checked_with_one_line(tmp_path):
    from vgpred.errors import VgpredError
    from vgpred.models.videogan import VideoGenerator

    with pytest.raises(VgpredError, match="context_frames=8: must be below model.frames=8"):
        VideoGenerator(tiny_model_config(context_frames=8))
    with pytest.raises(VgpredError, match="only the image mode conditions on frames"):
        VideoGenerator(tiny_model_config("unconditional", context_frames=2))
    with pytest.raises(VgpredError, match="context_frames"):
        VideoGenerator(tiny_model_config(context_frames=0))


def test_training_conditions_on_the_first_k_frames(mnist_cache, tmp_path):
    run = _train("--mode", "image", "--data", mnist_cache, "--out", tmp_path, "channels=1",
                 "model.context_frames=3", "loss.video_l1=1", "--steps", "2")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert "video_l1" in rows[-1] and "recon_l1" not in rows[-1]  # no reconstruction: the frames are given
    config = json.loads((run / "export" / "config.json").read_text())
    assert config["model"]["context_frames"] == 3
    result = call_cli("train", "--config", "tiny", "--no-progress", "--device", "cpu", "--mode", "unconditional",
                      "--data", mnist_cache, "--out", tmp_path / "bad", "channels=1", "model.context_frames=2")
    assert_one_line_error(result, "context_frames=2", "only the image mode")
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())

"""model.noise_scale: the standard deviation of the noise a model draws to predict and evaluate.
It scales what is drawn and nothing else, survives the model folder, leaves training on N(0, I),
and its options fail in one line."""
from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import TINY, assert_one_line_error, call_cli, save_tiny_model, skimage_photo
from tests.conftest import train_tiny as _train
from vgpred.errors import VgpredError
from vgpred.modelfile import CONFIG_NAME, load_model
from vgpred.predictor import VideoPredictor


def test_the_noise_is_the_standard_draw_times_the_scale(tmp_path):
    model = load_model(save_tiny_model(tmp_path / "m", "image", foreground="motion"))
    assert model.cfg.noise_scale == 1.0
    z = model.sample_noise(5, generator=torch.Generator().manual_seed(3))
    model.cfg.noise_scale = 2.5
    assert torch.equal(model.sample_noise(5, generator=torch.Generator().manual_seed(3)), z * 2.5)
    assert torch.equal(model.sample_noise(5, generator=torch.Generator().manual_seed(3), scale=1.0), z)


def test_the_scale_survives_the_model_folder_and_older_folders_read_as_one(tmp_path, photo):
    folder = save_tiny_model(tmp_path / "m", "image", foreground="motion", noise_scale=2.0)
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config["model"]["noise_scale"] == 2.0
    scaled = VideoPredictor.from_pretrained(folder, device="cpu")
    assert scaled.noise_scale == 2.0
    del config["model"]["noise_scale"]  # a folder written before the option existed
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    plain = VideoPredictor.from_pretrained(folder, device="cpu")
    assert plain.noise_scale == 1.0
    # the same weights: the folder's scale and an explicit one give the same futures
    a = scaled(photo, num_samples=3, seed=4, size=48).frames
    assert torch.equal(a, plain(photo, num_samples=3, seed=4, size=48, noise_scale=2.0).frames)
    assert not torch.equal(a, plain(photo, num_samples=3, seed=4, size=48).frames)
    config["model"]["noise_scale"] = 0
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(VgpredError, match="model.noise_scale=0"):
        load_model(folder)


@pytest.mark.parametrize("value", [0, -1, 101, float("nan"), True, "2"])
def test_bad_scales_are_refused_by_the_predictor(tmp_path, photo, value):
    predictor = VideoPredictor.from_pretrained(save_tiny_model(tmp_path / "m", "image"), device="cpu")
    with pytest.raises(VgpredError, match="noise_scale="):
        predictor(photo, noise_scale=value)
    with pytest.raises(VgpredError, match="noise_scale="):
        predictor.noise_scale = value
    assert predictor.noise_scale == 1.0


def test_training_draws_the_standard_prior_whatever_the_scale(mnist_cache, tmp_path):
    """Two runs that differ only in model.noise_scale train the same weights; the export keeps the scale."""
    common = ["--mode", "image", "--data", mnist_cache, "--steps", "2", "model.foreground=motion", "model.channels=1",
              "loss.kl=0.01", "loss.video_l1=10", "loss.diversity=0.1"]
    one = _train(*common, "--out", tmp_path / "one")
    three = _train(*common, "--out", tmp_path / "three", "model.noise_scale=3")
    assert (one / "export" / "model.safetensors").read_bytes() == (three / "export" / "model.safetensors").read_bytes()
    assert json.loads((three / "export" / CONFIG_NAME).read_text())["model"]["noise_scale"] == 3


@pytest.mark.parametrize("value,message", [
    ("0", "--noise-scale 0.0: must be > 0 and at most 100"),
    ("1000", "--noise-scale 1000.0: must be > 0 and at most 100"),
    ("nan", "--noise-scale nan: must be > 0 and at most 100"),
])
def test_noise_scale_option_errors_are_one_line_and_write_nothing(tmp_path, value, message):
    photo = skimage_photo("chelsea.png")
    out = tmp_path / "out.mp4"
    assert_one_line_error(call_cli("predict", photo, "-o", out, "--noise-scale", value), message)
    assert not out.exists() and not list(tmp_path.iterdir())
    result = call_cli("evaluate", "-c", "mfmnist-motion", "--data", tmp_path, "--noise-scale", value)
    assert_one_line_error(result, message)


def test_a_model_without_noise_refuses_a_scale(tmp_path):
    folder = save_tiny_model(tmp_path / "r", "image", latent_dim=0)
    out = tmp_path / "out.mp4"
    result = call_cli("predict", skimage_photo("chelsea.png"), "-o", out, "-c", folder, "--noise-scale", "2")
    assert_one_line_error(result, "--noise-scale 2.0", "draws no noise")
    assert not out.exists()


def test_predict_and_evaluate_use_the_scale_through_the_cli(mnist_cache, tmp_path):
    folder = save_tiny_model(tmp_path / "m", "image", channels=1)  # untrained, a motion model would copy the photo
    photo = skimage_photo("camera.png")
    videos = {}
    for scale in ("1", "3"):
        out = tmp_path / f"s{scale}"
        result = call_cli("predict", photo, "-o", out, "-c", folder, "--seed", "0",
                          "--noise-scale", scale, "--device", "cpu")
        assert result.code == 0, result.err
        videos[scale] = sorted(p.read_bytes() for p in out.iterdir())
    assert videos["1"] != videos["3"]
    report = tmp_path / "r.json"
    result = call_cli("evaluate", "-c", folder, "--data", mnist_cache, "-k", "2", "--max-clips", "2",
                      "--metrics", "psnr", "--noise-scale", "3", "--json", report, "--no-progress", "--device", "cpu")
    assert result.code == 0, result.err
    scored = json.loads(report.read_text())
    assert scored["models"]["m"]["noise_scale"] == 3.0
    assert "--noise-scale 3.0" in scored["settings"]["command"]


# --- the experiment's choice rules (benchmarks/experiments/noise-scale) -----------------------


def _scored(tmp_path, mnist_cache, folder, regressor, scale: str, out) -> dict:
    result = call_cli("evaluate", "-c", folder, "--data", mnist_cache, "-k", "2", "--max-clips", "3",
                      "--metrics", "psnr,ssim,sharpness", "--noise-scale", scale, "--baseline", f"regressor={regressor}",
                      "--json", out, "--no-progress", "--device", "cpu")
    assert result.code == 0, result.err
    return json.loads(out.read_text())


def _edit(path, ssim: float, psnr: float, diversity: float, sharpness: float) -> None:
    report = json.loads(path.read_text())
    name = next(n for n in report["models"] if n not in ("copy-first-frame", "regressor"))
    model = report["models"][name]
    horizons = len(model["metrics"]["ssim"]["best_of_k"]["per_horizon"])
    model["metrics"]["ssim"]["best_of_k"]["per_horizon"] = [ssim] * horizons
    model["metrics"]["psnr"]["best_of_k"]["per_horizon"] = [psnr] * horizons
    model["metrics"]["psnr"]["best_of_k"]["average"] = psnr
    model["diversity"] = diversity * report["data"]["motion"]
    model["statistics"]["sharpness"]["per_horizon"][-1] = sharpness
    path.write_text(json.dumps(report))


def test_the_noise_scale_rules_choose_as_their_docstrings_say(mnist_cache, tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    here = REPO / "benchmarks" / "experiments" / "noise-scale"
    folder = save_tiny_model(tmp_path / "m", "image", channels=1)
    regressor = save_tiny_model(tmp_path / "r", "image", channels=1, latent_dim=0)
    mf, scenes = tmp_path / "mf", tmp_path / "scenes"
    mf.mkdir(), scenes.mkdir()
    for scale in ("1", "2", "3"):
        _scored(tmp_path, mnist_cache, folder, regressor, scale, mf / f"val-scale{scale}.json")
        (scenes / f"train96-scale{scale}.json").write_text((mf / f"val-scale{scale}.json").read_text())
    real = json.loads((mf / "val-scale1.json").read_text())["data"]["statistics"]["sharpness"]["per_horizon"][-1]
    _edit(mf / "val-scale1.json", 0.0, 0.0, 0.5, real + 0.05)  # loses everywhere, 0.05 from the real sharpness
    _edit(mf / "val-scale2.json", 0.98, 0.0, 0.5, real - 0.04)  # wins everywhere, within scale 1's distance
    _edit(mf / "val-scale3.json", 0.99, 0.0, 0.5, real + 0.2)  # wins by more, but noisier than scale 1
    baselines = mf / "val-scale1.json"
    done = subprocess.run([sys.executable, str(here / "choose_mf.py"), str(mf), str(baselines)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    choice = json.loads((mf / "choice.json").read_text())
    assert choice["chosen"] == 2.0, done.stdout
    rows = {r["scale"]: r for r in choice["scales"]}
    assert rows[2.0]["horizons_above"] == 7 and not rows[3.0]["qualifies"] and rows[1.0]["qualifies"]

    _edit(scenes / "train96-scale1.json", 1.0, 90.0, 0.5, 1.0)  # at or above copy everywhere
    _edit(scenes / "train96-scale2.json", 1.0, 95.0, 0.5, 1.0)  # the same horizons, higher PSNR
    _edit(scenes / "train96-scale3.json", 1.0, 99.0, 0.1, 1.0)  # higher still, but the futures barely differ
    done = subprocess.run([sys.executable, str(here / "choose_scenes.py"), str(scenes)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    choice = json.loads((scenes / "choice.json").read_text())
    assert choice["chosen"] == 2.0, done.stdout
    assert [r["qualifies"] for r in choice["scales"]] == [True, True, False]


def test_a_rollout_draws_its_later_pieces_from_the_trained_prior(tmp_path, photo):
    """The scale sets how far apart the futures start; each later piece of a rollout draws N(0, I), as
    the model trained (wider draws compound, pass after pass, into seams and fading: docs/context.md)."""
    folder = save_tiny_model(tmp_path / "m", "image", foreground="motion", noise_scale=2.0)
    predictor = VideoPredictor.from_pretrained(folder, device="cpu")
    drawn = []
    forward = predictor.model.forward

    def recording(z, *args, **kwargs):
        drawn.append(z.clone())
        return forward(z, *args, **kwargs)

    predictor.model.forward = recording
    t = predictor.cfg.frames
    video = predictor(photo, num_samples=3, seed=5, size=48, frames=2 * t).frames
    assert video.shape[2] == 2 * t and len(drawn) == 3  # t, then t - 1 new frames twice (cut to 2t)
    g = torch.Generator().manual_seed(5)
    latent = predictor.cfg.latent_dim
    assert torch.equal(drawn[0], torch.randn(3, latent, generator=g) * 2.0)
    assert torch.equal(drawn[1], torch.randn(3, latent, generator=g))
    assert torch.equal(drawn[2], torch.randn(3, latent, generator=g))

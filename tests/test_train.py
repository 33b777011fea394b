"""`vgpred train`: every mode on real data, exports that load, exact resume, torchrun DDP."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, TINY, assert_one_line_error, call_cli
from tests.conftest import train_tiny as _train

def test_image_mode_on_real_footage_exports_a_model_predict_loads(clip_cache, tmp_path):
    run = _train("--mode", "image", "--data", clip_cache, "--out", tmp_path / "runs")
    assert run.name.startswith("00000-image-")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    for key in ("loss_d", "loss_g", "d_real", "d_fake", "recon_l1", "samples_per_s", "batch_size", "lr_g", "seconds"):
        assert key in rows[-1]
    assert (run / "samples" / "step-0000004.mp4").is_file() and (run / "samples" / "step-0000004.png").is_file()
    assert (run / "loss.png").is_file()
    photo = tmp_path / "frame.png"
    from PIL import Image

    Image.new("RGB", (50, 40), (200, 30, 30)).save(photo)
    result = call_cli("predict", photo, "-o", tmp_path / "out.mp4", "-c", run / "export")
    assert result.code == 0, result.err
    # A second run gets the next number.
    assert _train("--mode", "image", "--data", clip_cache, "--out", tmp_path / "runs", "--steps", "1").name.startswith("00001-")


@pytest.mark.parametrize("mode", ["unconditional", "label"])
def test_unconditional_and_label_on_moving_fashion_mnist(mnist_cache, tmp_path, mode):
    run = _train("--mode", mode, "--data", mnist_cache, "--out", tmp_path, "channels=1")
    config = json.loads((run / "export" / "config.json").read_text())
    assert config["model"]["mode"] == mode and config["model"]["channels"] == 1
    args = ["sample", "-o", tmp_path / "s.mp4", "-c", run / "export"]
    if mode == "label":
        assert config["model"]["num_classes"] >= 2 and len(config["model"]["class_names"]) == config["model"]["num_classes"]
        args += ["--label", config["model"]["class_names"][0]]
    result = call_cli(*args)
    assert result.code == 0, result.err


def test_resume_equals_uninterrupted_run(mnist_cache, tmp_path):
    common = ["--mode", "image", "--data", mnist_cache, "channels=1", "checkpoint_every=2"]
    full = _train(*common, "--out", tmp_path / "a", "--steps", "4")
    half = _train(*common, "--out", tmp_path / "b", "--steps", "2")
    # The export's training time counts every process of the run: the checkpoint carries it on.
    meta_path = half / "checkpoints" / "step-0000002" / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["train_seconds"] >= 0
    meta_path.write_text(json.dumps({**meta, "train_seconds": 1000.0}))
    result = call_cli("train", "--no-progress", "--resume", half, "--steps", "4")
    assert result.code == 0, result.err
    resumed = Path(result.out.strip())
    assert resumed == half
    assert json.loads((resumed / "export" / "config.json").read_text())["info"]["seconds"] >= 1000
    segments = json.loads((resumed / "run.json").read_text())["segments"]
    assert len(segments) == 2 and all(s["hardware"].startswith("cpu (") for s in segments)  # start + resume
    a = (full / "export" / "model.safetensors").read_bytes()
    b = (resumed / "export" / "model.safetensors").read_bytes()
    assert a == b
    from safetensors.torch import load_file

    ck_a = load_file(str(full / "checkpoints" / "step-0000004" / "tensors.safetensors"))
    ck_b = load_file(str(resumed / "checkpoints" / "step-0000004" / "tensors.safetensors"))
    assert ck_a.keys() == ck_b.keys()
    # The global torch RNG only seeds DataLoader iterators (which draw from it when an
    # epoch starts); everything the training uses has its own saved generator.
    differ = [k for k in ck_a if not torch.equal(ck_a[k], ck_b[k]) and k != "rng/torch"]
    assert not differ, differ


def test_training_draws_nothing_from_python_or_numpy_global_rngs(mnist_cache, tmp_path, monkeypatch):
    """Checkpoints keep no Python or NumPy RNG state; that is exact only while nothing in training
    (augmentation included) draws from them."""
    import random

    import numpy as np

    from vgpred.train import rng

    seeded, seed_everything = {}, rng.seed_everything

    def seed_and_note(seed: int) -> None:
        seed_everything(seed)
        seeded.update(python=random.getstate(), numpy=np.random.get_state())

    monkeypatch.setattr(rng, "seed_everything", seed_and_note)
    _train("--mode", "image", "--data", mnist_cache, "--out", tmp_path, "channels=1", "flip=true", "crop=0.8")
    assert seeded, "training no longer seeds through vgpred.train.rng.seed_everything"
    assert random.getstate() == seeded["python"]
    numpy = np.random.get_state()  # (name, key array, position, ...)
    assert np.array_equal(numpy[1], seeded["numpy"][1]) and numpy[2:] == seeded["numpy"][2:]


def test_rng_states_are_kept_per_rank_and_older_checkpoints_load():
    from vgpred.train import rng

    saved = [rng.noise_generator(0, rank) for rank in range(2)]
    entries = rng.checkpoint_entries([rng.states(gen) for gen in saved])
    assert sorted(entries) == ["noise0", "noise1", "torch", "torch1"]  # rank 0's torch state keeps its old name
    want = [torch.randn(8, generator=gen) for gen in saved]  # what each rank draws next

    def resumed(entries: dict, rank: int) -> torch.Tensor:
        gen = rng.noise_generator(5, rank)
        with torch.random.fork_rng():  # restore sets the global torch RNG too
            rng.restore(entries, rank, gen, seed=5, step=10)
        return torch.randn(8, generator=gen)

    assert all(torch.equal(resumed(entries, rank), want[rank]) for rank in range(2))
    # A checkpoint of one process (or from before per-rank states): rank 1 gets a stream of its own.
    older = {"torch": entries["torch"], "noise0": entries["noise0"]}
    assert rng.ranks_without_noise(older, 2) == [1]
    assert torch.equal(resumed(older, 0), want[0]) and not torch.equal(resumed(older, 1), want[0])


def _trained_generator(run: Path, step: int) -> dict:
    """The generator's learned tensors (no BatchNorm statistics) in the run's checkpoint of ``step``."""
    from safetensors.torch import load_file

    tensors = load_file(str(run / "checkpoints" / f"step-{step:07d}" / "tensors.safetensors"))
    return {k: v for k, v in tensors.items() if k.startswith("generator/") and "running_" not in k
            and "num_batches" not in k}


def test_resume_takes_the_learning_rate_of_its_configuration(mnist_cache, tmp_path):
    """The optimizer state saved in a checkpoint holds the rate it ran with; a resumed
    segment's ``optim.lr_g`` / ``optim.lr_d`` win (e.g. a discriminator warm-up with a
    frozen generator, then both training)."""
    common = ["--mode", "image", "--data", mnist_cache, "channels=1", "checkpoint_every=2", "train.ema_decay=0"]
    run = _train(*common, "--out", tmp_path / "runs", "--steps", "2", "optim.lr_g=0")

    def generator(step):
        return _trained_generator(run, step)

    result = call_cli("train", "--no-progress", "--resume", run, "--steps", "4", "optim.lr_g=0")
    assert result.code == 0, result.err
    at_2, at_4 = generator(2), generator(4)
    assert all(torch.equal(at_2[k], at_4[k]) for k in at_2)  # still frozen
    result = call_cli("train", "--no-progress", "--resume", run, "--steps", "6", "optim.lr_g=1e-3")
    assert result.code == 0, result.err
    at_6 = generator(6)
    moved = [k for k in at_4 if not torch.equal(at_4[k], at_6[k])]
    assert moved, "the generator did not train after its rate was raised"
    assert "optim.lr_g: 0 -> 0.001" in (run / "log.txt").read_text()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {r["lr_g"] for r in rows if r["step"] > 4} == {1e-3}


def test_resume_records_its_settings_in_config_yaml(mnist_cache, tmp_path):
    """``--resume RUN key=value`` rewrites config.yaml (after the checkpoint loaded), so a later plain
    ``--resume`` (what an interrupted run prints) goes on with those settings, not the first segment's."""
    import yaml

    common = ["--mode", "image", "--data", mnist_cache, "channels=1", "checkpoint_every=2", "train.ema_decay=0"]
    run = _train(*common, "--out", tmp_path / "runs", "--steps", "2", "optim.lr_g=0")
    result = call_cli("train", "--no-progress", "--resume", run, "--steps", "4", "optim.lr_g=1e-3")
    assert result.code == 0, result.err
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["steps"] == 4 and saved["optim"]["lr_g"] == 1e-3
    log = (run / "log.txt").read_text()
    assert "config.yaml updated for the resumed steps: optim.lr_g: 0.0 -> 0.001, train.steps: 2 -> 4" in log

    result = call_cli("train", "--no-progress", "--resume", run, "--steps", "6")  # no learning rate given
    assert result.code == 0, result.err
    log = (run / "log.txt").read_text()
    assert "optim.lr_g: 0.001 -> 0" not in log and log.count("config.yaml updated") == 2
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {r["lr_g"] for r in rows if r["step"] > 2} == {1e-3}

    before = (run / "config.yaml").read_text()  # a network the checkpoint does not fit: refused, nothing written
    result = call_cli("train", "--no-progress", "--resume", run, "--steps", "8", "model.latent_dim=7")
    assert result.code != 0 and "Traceback" not in result.err
    assert f"--resume {run}: model.latent_dim=7 (the run has " in result.err and "a run keeps its network" in result.err
    assert (run / "config.yaml").read_text() == before


def test_freeze_g_steps_holds_the_generator_then_trains_it(mnist_cache, tmp_path):
    """``optim.freeze_g_steps=N``: the generator keeps its weights for N steps (the
    discriminator trains), then learns at ``optim.lr_g``; the same as a segment with
    ``optim.lr_g=0`` resumed with the rate (Adam's moments accumulate in both)."""
    common = ["--mode", "image", "--data", mnist_cache, "channels=1", "checkpoint_every=2", "train.ema_decay=0",
              "train.keep_checkpoints=10"]
    generator = _trained_generator
    run = _train(*common, "--out", tmp_path / "one", "--steps", "6", "optim.freeze_g_steps=4", "optim.lr_g=1e-3")
    at_2, at_4, at_6 = (generator(run, s) for s in (2, 4, 6))
    assert all(torch.equal(at_2[k], at_4[k]) for k in at_2)  # held
    assert [k for k in at_4 if not torch.equal(at_4[k], at_6[k])], "the generator did not train after the hold"
    assert "step 4: the generator's learning rate 0.001 starts" in (run / "log.txt").read_text()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr_g"] for r in rows if r["step"] in (4, 5, 6)] == [0.0, 1e-3, 1e-3]

    two = _train(*common, "--out", tmp_path / "two", "--steps", "4", "optim.lr_g=0")
    result = call_cli("train", "--no-progress", "--resume", two, "--steps", "6", "optim.lr_g=1e-3")
    assert result.code == 0, result.err
    segments = generator(two, 6)
    assert all(torch.allclose(at_6[k], segments[k], atol=1e-6) for k in at_6)

    result = call_cli("train", *TINY, *map(str, common), "--out", tmp_path / "bad", "optim.freeze_g_steps=-1")
    assert result.code != 0 and "optim.freeze_g_steps=-1: must be >= 0" in result.err
    assert not (tmp_path / "bad").exists()


def test_training_on_a_cache_needs_no_pyav(mnist_cache, tmp_path):
    """Where PyAV cannot load, a cache still trains: PNG samples, one warning per sample, an export."""
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoPyAV:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'av' or name.startswith('av.'):\n"
        "            raise ImportError('PyAV blocked by the test')\n"
        "sys.meta_path.insert(0, _NoPyAV())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(block), str(REPO)])}
    proc = subprocess.run(
        [sys.executable, "-m", "vgpred", "train", *TINY, "--mode", "image", "--data", str(mnist_cache),
         "--out", str(tmp_path / "runs"), "channels=1", "--steps", "2"],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = Path(proc.stdout.strip().splitlines()[-1])
    assert (run / "export" / "model.safetensors").is_file()
    assert (run / "samples" / "step-0000002.png").is_file() and not (run / "samples" / "step-0000002.mp4").exists()
    assert "sample video not written" in proc.stderr and "PyAV blocked by the test" in proc.stderr


def test_config_precedence_and_errors(mnist_cache, tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("model:\n  resolution: 32\n  frames: 8\n  width: 0.0625\n  latent_dim: 4\ntrain:\n  batch_size: 2\n  steps: 1\n  num_workers: 0\n")
    result = call_cli("train", "--config", preset, "--data", mnist_cache, "--out", tmp_path, "--no-progress",
                      "latent_dim=6", "channels=1", "precision=fp32")
    assert result.code == 0, result.err
    import yaml

    resolved = yaml.safe_load((Path(result.out.strip()) / "config.yaml").read_text())
    assert resolved["model"]["latent_dim"] == 6 and resolved["train"]["batch_size"] == 2
    assert_one_line_error(call_cli("train", *TINY, "--data", mnist_cache, "bogus=1"), "unknown config key 'bogus'")
    assert_one_line_error(call_cli("train", *TINY, "--data", mnist_cache, "lr_g=fast"), "expected a number")
    assert_one_line_error(call_cli("train", *TINY, "--data", tmp_path / "nowhere"), "no such file")
    assert_one_line_error(call_cli("train", *TINY, "--data", mnist_cache, "resolution=64"), "prepare the data")


def test_reconstruction_term_lowers_first_frame_l1(mnist_cache, tmp_path):
    run = _train("--mode", "image", "--data", mnist_cache, "--out", tmp_path, "channels=1", "--steps", "30",
                 "log_every=5", "lr_g=1e-3", "checkpoint_every=0")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["recon_l1"] < 0.5 * rows[0]["recon_l1"], [r["recon_l1"] for r in rows]


def test_video_l1_term_pulls_the_futures_towards_the_real_frames(mnist_cache, tmp_path):
    run = _train("--mode", "image", "--data", mnist_cache, "--out", tmp_path, "channels=1", "--steps", "30",
                 "log_every=5", "lr_g=1e-3", "checkpoint_every=0", "video_l1=50")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["video_l1"] < 0.7 * rows[0]["video_l1"], [r["video_l1"] for r in rows]
    plain = _train("--mode", "image", "--data", mnist_cache, "--out", tmp_path / "plain", "channels=1")
    assert not any("video_l1" in json.loads(line) for line in (plain / "metrics.jsonl").read_text().splitlines())


def test_l1_regressor_is_deterministic(mnist_cache, tmp_path):
    run = _train("--mode", "image", "--data", mnist_cache, "--out", tmp_path, "channels=1", "loss=l1")
    config = json.loads((run / "export" / "config.json").read_text())
    assert config["model"]["latent_dim"] == 0
    assert not (run / "checkpoints" / "step-0000004" / "tensors.safetensors").read_bytes().count(b"discriminator/")


def _torchrun(*args) -> None:
    """``vgpred train ARGS`` in two processes on the CPU (gloo). ``--standalone`` lets torchrun pick a
    free port, so tests running at the same time do not collide."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "vgpred", "train", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["model.foreground=motion", "loss.kl=0.01", "loss.video_l1=10", "loss.diversity=0.1"]],
                         ids=["pixels", "motion-posterior"])
def test_torchrun_two_processes_on_cpu(mnist_cache, tmp_path, extra):
    _torchrun(*TINY, "--mode", "image", "--data", mnist_cache, "--out", tmp_path, "channels=1", "batch_size=2", *extra)
    runs = list(tmp_path.iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("00000-image-")  # rank 0 alone writes
    rows = [json.loads(line) for line in (runs[0] / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["batch_size"] == 4  # global batch over 2 processes
    assert (runs[0] / "export" / "model.safetensors").is_file()


@pytest.mark.slow
def test_torchrun_resume_equals_uninterrupted_run(mnist_cache, tmp_path):
    """Two processes resumed from a checkpoint go on as if never stopped: each rank gets back its own
    noise stream, and only rank 0 writes to the run folder."""
    from safetensors.torch import load_file

    common = [*TINY, "--mode", "image", "--data", mnist_cache, "channels=1", "batch_size=2"]
    _torchrun(*common, "--out", tmp_path / "a", "--steps", "4")
    _torchrun(*common, "--out", tmp_path / "b", "--steps", "2")
    (full,), (half,) = list((tmp_path / "a").iterdir()), list((tmp_path / "b").iterdir())
    _torchrun("--no-progress", "--resume", half, "--steps", "4")
    assert list((tmp_path / "b").iterdir()) == [half]

    steps = [json.loads(line)["step"] for line in (half / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # each step logged once, by rank 0
    log = (half / "log.txt").read_text()
    assert log.count("resumed from step-0000002") == 1 and log.count(" mode=image ") == 2, log  # a line per segment
    assert len(json.loads((half / "run.json").read_text())["segments"]) == 2  # start + resume
    ck_a = load_file(str(full / "checkpoints" / "step-0000004" / "tensors.safetensors"))
    ck_b = load_file(str(half / "checkpoints" / "step-0000004" / "tensors.safetensors"))
    assert ck_a.keys() == ck_b.keys() and {"rng/noise0", "rng/noise1"} <= ck_a.keys()
    # The global torch RNGs only seed DataLoader iterators (see test_resume_equals_uninterrupted_run).
    differ = [k for k in ck_a if not torch.equal(ck_a[k], ck_b[k]) and not k.startswith("rng/torch")]
    assert not differ, differ
    assert (full / "export" / "model.safetensors").read_bytes() == (half / "export" / "model.safetensors").read_bytes()


def test_recalibrate_batchnorm_averages_the_statistics_of_its_inputs():
    from vgpred.train.ema import recalibrate_batchnorm

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, momentum=0.1)).eval()
    net[1].running_mean.fill_(5.0)  # stale statistics, as copied from another network
    batches = [torch.randn(6, 3, 8, 8) * (i + 1) + i for i in range(3)]
    with torch.no_grad():
        feats = [net[0](x) for x in batches]
    assert recalibrate_batchnorm(net, [(x,) for x in batches]) == 1
    want_mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    want_var = torch.stack([f.transpose(0, 1).flatten(1).var(1, unbiased=True) for f in feats]).mean(0)
    assert torch.allclose(net[1].running_mean, want_mean, atol=1e-5)
    assert torch.allclose(net[1].running_var, want_var, rtol=1e-4)
    assert net[1].momentum == 0.1 and not net.training  # settings restored


def test_export_carries_batchnorm_statistics_of_the_ema_weights(mnist_cache, tmp_path):
    """The exported EMA generator's BN statistics are re-estimated, not the live generator's copy."""
    from safetensors.torch import load_file

    from vgpred.data import open_dataset
    from vgpred.models.videogan import VideoGenerator
    from vgpred.train.ema import recalibrate_batchnorm
    from vgpred.config import build_config
    from vgpred.train.loop import _standing_inputs
    from vgpred.train.precision import autocast, resolve_precision

    run = _train("--mode", "image", "--data", mnist_cache, "--out", tmp_path, "channels=1", "--steps", "3",
                 "ema_decay=0.5", "ema_warmup=0", "bn_recalibrate=20")
    cfg = build_config(run / "config.yaml")
    cpu = torch.device("cpu")
    tensors = load_file(str(run / "checkpoints" / "step-0000003" / "tensors.safetensors"))
    shadow = VideoGenerator(cfg.model)
    shadow.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema/")})
    copied = {k: v.clone() for k, v in shadow.state_dict().items() if "running_" in k}
    recalibrate_batchnorm(shadow, _standing_inputs(open_dataset(mnist_cache, channels=1), shadow, cfg, cpu),
                          autocast(resolve_precision(cfg.train.precision, cpu), cpu))
    exported = load_file(str(run / "export" / "model.safetensors"))
    state = shadow.state_dict()
    assert copied and all(torch.allclose(exported[k], state[k], rtol=1e-3, atol=1e-5) for k in copied)
    assert any(not torch.allclose(exported[k], copied[k], rtol=1e-3, atol=1e-5) for k in copied)


def _generator_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Learned tensors of an exported model (BatchNorm statistics are re-estimated at export)."""
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(folder / "model.safetensors")).items()
            if "running_" not in k and "num_batches" not in k}


def test_fine_tuning_starts_from_the_initial_generator(mnist_cache, tmp_path):
    common = ["--mode", "image", "--data", mnist_cache, "channels=1", "--steps", "2"]
    base = _train(*common, "--out", tmp_path / "base", "train.seed=1") / "export"
    # A learning rate of 0 keeps the generator where it started: the initial model's weights.
    # The time padding may change (same weights, other taps at the edge frames).
    tuned = _train(*common, "--out", tmp_path / "tuned", "--init-from", base, "optim.lr_g=0", "time_padding=replicate")
    scratch = _train(*common, "--out", tmp_path / "scratch", "optim.lr_g=0")
    start, after, fresh = (_generator_weights(p) for p in (base, tuned / "export", scratch / "export"))
    assert start.keys() == after.keys() == fresh.keys()
    assert all(torch.allclose(start[k], after[k], atol=1e-6) for k in start)
    assert not all(torch.allclose(start[k], fresh[k], atol=1e-6) for k in start)  # a different random start
    assert f"generator initialised from {base}" in (tuned / "log.txt").read_text()
    exported = json.loads((tuned / "export" / "config.json").read_text())
    assert exported["info"]["init_from"] == str(base)
    assert exported["model"]["time_padding"] == "replicate"
    assert json.loads((base / "config.json").read_text())["model"]["time_padding"] == "zeros"


def test_fine_tuning_takes_the_initial_models_network_and_refuses_another(mnist_cache, tmp_path):
    from tests.conftest import save_tiny_model

    initial = save_tiny_model(tmp_path / "initial", channels=1)
    runs = tmp_path / "runs"
    # A different width would need different weights: one line, and no run folder is made.
    result = call_cli("train", *TINY, "--data", mnist_cache, "--out", runs, "--init-from", initial, "channels=1", "width=0.125")
    assert_one_line_error(result, "model.width=0.125", "0.0625", "fine-tuning keeps the initial model's network")
    assert not runs.exists()
    result = call_cli("train", *TINY, "--data", mnist_cache, "--out", runs, "--init-from", tmp_path / "missing")
    assert_one_line_error(result, "missing", "no such model folder or bundled model")
    result = call_cli("train", "--no-progress", "--resume", tmp_path, "--init-from", initial)
    assert_one_line_error(result, "--init-from", "--resume")
    # Without --config the bundled model's network is the default: 64x64x16, not these 32x32x8 clips.
    result = call_cli("train", "--no-progress", "--device", "cpu", "--data", mnist_cache, "--out", runs,
                      "--init-from", "mfmnist-64", "train.batch_size=4")
    assert_one_line_error(result, "32x32x8", "64x64x16")
    assert not runs.exists()

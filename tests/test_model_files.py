"""Model folders: save -> load -> identical output; hostile or broken folders fail cleanly."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from tests.conftest import assert_one_line_error, call_cli, save_tiny_model
from vgpred.errors import VgpredError
from vgpred.modelfile import CONFIG_NAME, FORMAT_VERSION, WEIGHTS_NAME, load_model
from vgpred.predictor import VideoPredictor


@pytest.mark.parametrize("mode", ["unconditional", "label", "image"])
def test_save_load_identical_output(tmp_path, mode, photo):
    folder = save_tiny_model(tmp_path / "m", mode)
    a, b = VideoPredictor.from_pretrained(folder, device="cpu"), VideoPredictor.from_pretrained(folder, device="cpu")
    kwargs = {"image": photo} if mode == "image" else {"label": "run"} if mode == "label" else {}
    out_a, out_b = a(num_samples=2, seed=3, **kwargs), b(num_samples=2, seed=3, **kwargs)
    assert torch.equal(out_a.frames, out_b.frames)
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config["format_version"] == FORMAT_VERSION and config["model"]["mode"] == mode
    assert config["value_range"] == [-1.0, 1.0] and "vgpred_version" in config


def test_skips_survive_the_model_folder(tmp_path, photo):
    folder = save_tiny_model(tmp_path / "m", "image", skips=True)
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config["model"]["skips"] is True
    a, b = VideoPredictor.from_pretrained(folder, device="cpu"), VideoPredictor.from_pretrained(folder, device="cpu")
    assert len(a.model.generator.fg_skips) == 2  # 8x8 and 16x16 at 32x32 pixels
    assert torch.equal(a(image=photo, num_samples=2, seed=1).frames, b(image=photo, num_samples=2, seed=1).frames)


def test_time_padding_survives_the_model_folder_and_older_folders_read_as_zeros(tmp_path, photo):
    folder = save_tiny_model(tmp_path / "m", "image", time_padding="replicate")
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config["model"]["time_padding"] == "replicate"
    assert load_model(folder).cfg.time_padding == "replicate"
    del config["model"]["time_padding"]  # a folder written before the option existed
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    assert load_model(folder).cfg.time_padding == "zeros"


class _Payload:
    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin"])
def test_pickle_is_refused_without_being_unpickled(tmp_path, suffix):
    marker = tmp_path / "pwned"
    evil = tmp_path / f"model{suffix}"
    evil.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(VgpredError, match="never unpickles"):
        load_model(evil)
    result = call_cli("sample", "-o", tmp_path / "o.mp4", "--checkpoint", evil)
    assert_one_line_error(result, str(evil), "never unpickles")
    assert not marker.exists()
    # Also a pickle hidden under the weights' name inside a folder.
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    (folder / WEIGHTS_NAME).write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(VgpredError, match="unreadable safetensors"):
        load_model(folder)
    assert not marker.exists()


def _edit_config(folder: Path, edit) -> None:
    data = json.loads((folder / CONFIG_NAME).read_text())
    edit(data)
    (folder / CONFIG_NAME).write_text(json.dumps(data))


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d["model"].update(width="wide"), "config key 'model.width': expected a number"),
        (lambda d: d["model"].update(mode="dream"), "unknown mode 'dream'"),
        (lambda d: d.update(format_version=99), "format version 99 is newer than this vgpred supports"),
        (lambda d: d.update(format_version=0), "format version 0 is too old"),
        (lambda d: d.update(format_version="1"), "format_version must be an integer"),
        (lambda d: d["model"].update(colour=True), "unknown model config key 'colour'"),
        (lambda d: d.pop("model"), "missing the 'model' section"),
        (lambda d: d["model"].update(latent_dim=9), "tensor"),
        (lambda d: d["model"].update(width=0.125), "has shape"),
    ],
)
def test_broken_configs_fail_with_one_clear_line(tmp_path, edit, message):
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    _edit_config(folder, edit)
    with pytest.raises(VgpredError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_model(folder)
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "o.mp4", "-c", folder), message)
    assert not (tmp_path / "o.mp4").exists()


def test_invalid_json_and_missing_files(tmp_path):
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    (folder / CONFIG_NAME).write_text("{not json")
    with pytest.raises(VgpredError, match="invalid JSON"):
        load_model(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VgpredError, match="not a vgpred model folder"):
        load_model(empty)
    with pytest.raises(VgpredError, match="no such model folder"):
        load_model(tmp_path / "missing")


@pytest.mark.parametrize("damage", ["truncate", "garble", "empty"])
def test_corrupt_safetensors(tmp_path, damage):
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    weights = folder / WEIGHTS_NAME
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "garble":
        weights.write_bytes(b"\xff" * 16 + data[16:])
    else:
        weights.write_bytes(b"")
    with pytest.raises(VgpredError, match="unreadable safetensors"):
        load_model(folder)
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "o.mp4", "-c", folder), str(weights))


def test_nan_weights_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = save_tiny_model(tmp_path / "m", "unconditional")
    state = load_file(str(folder / WEIGHTS_NAME))
    key = next(k for k in state if k.endswith("weight"))
    state[key] = torch.full_like(state[key], float("nan"))
    save_file(state, str(folder / WEIGHTS_NAME))
    with pytest.raises(VgpredError, match="NaN or infinite"):
        load_model(folder)


# ---------------------------------------------------------------- more hostile files, through the real CLI
@pytest.mark.parametrize("kind", ["torch-zip.pt", "pickle-without-suffix", "torch-zip-without-suffix"])
def test_pickles_under_any_name_are_refused(tmp_path, kind):
    marker = tmp_path / "pwned"
    evil = tmp_path / kind
    if "zip" in kind:
        torch.save(_Payload(str(marker)), evil)  # the zip format torch.save writes
    else:
        evil.write_bytes(pickle.dumps(_Payload(str(marker))))
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "o.mp4", "-c", evil), str(evil), "never unpickles")
    assert not marker.exists() and not (tmp_path / "o.mp4").exists()


def test_pickle_refused_in_a_fresh_process(tmp_path):
    """The installed entry point, end to end: `predict -c evil.pth` exits 1 and the payload never runs."""
    from tests.conftest import run_cli, skimage_photo

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps(_Payload(str(marker))))
    result = run_cli("predict", skimage_photo("astronaut.png"), "-o", tmp_path / "o.mp4", "-c", evil, "--device", "cpu")
    assert_one_line_error(result, str(evil), "is a pickle/torch file", "never unpickles")
    assert not marker.exists() and not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(
    "damage,message",
    [
        ("huge-header", "header too large"),
        ("garbage-header", "invalid JSON in header"),
        ("torch-zip", "unreadable safetensors file"),
    ],
)
def test_hostile_safetensors_headers(tmp_path, damage, message):
    import struct

    marker = tmp_path / "pwned"
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    weights = folder / WEIGHTS_NAME
    data = weights.read_bytes()
    if damage == "huge-header":  # the 8-byte header length claims 4 EiB
        weights.write_bytes(struct.pack("<Q", 2**62) + data[8:])
    elif damage == "garbage-header":
        weights.write_bytes(struct.pack("<Q", 100) + b"{" * 100 + data[108:])
    else:
        torch.save(_Payload(str(marker)), weights)
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "o.mp4", "-c", folder), str(weights), message)
    assert not marker.exists() and not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d["model"].update(resolution=100000), "model.resolution=100000: must be a power of two"),
        (lambda d: d["model"].update(frames=10**9), "model.frames=1000000000"),
        (lambda d: d["model"].update(channels=7), "model.channels=7: must be 1 or 3"),
        (lambda d: d["model"].update(fps=-3), "model.fps=-3.0: must be from 0.1 to 240 frames per second"),
        (lambda d: d["model"].update(resolution=None), "expected an integer, got None"),
        (lambda d: d.update(format="something-else"), "not a vgpred model config"),
    ],
)
def test_absurd_config_values(tmp_path, edit, message):
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    _edit_config(folder, edit)
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "o.mp4", "-c", folder), str(folder / CONFIG_NAME), message)
    assert not (tmp_path / "o.mp4").exists()


def test_config_that_is_not_json_text(tmp_path):
    folder = save_tiny_model(tmp_path / "m", "unconditional")
    (folder / CONFIG_NAME).write_bytes(b"\xff\xfe\x00binary")
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "o.mp4", "-c", folder), str(folder / CONFIG_NAME),
                          "invalid JSON")
    (folder / CONFIG_NAME).write_text("[1, 2]")
    assert_one_line_error(call_cli("sample", "-o", tmp_path / "o.mp4", "-c", folder), "not a vgpred model config")

"""Config schema: defaults < YAML < command line; unknown keys and wrong types fail."""
from __future__ import annotations

import pytest

from vgpred.config import Config, build_config, preset_path
from vgpred.errors import VgpredError


def test_precedence_defaults_yaml_cli(tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("model:\n  width: 0.5\n  frames: 16\ntrain:\n  batch_size: 8\n")
    cfg = build_config(preset, ["width=0.25", "train.steps=7"])
    assert cfg.model.width == 0.25  # command line beats YAML
    assert cfg.model.frames == 16  # YAML beats default
    assert cfg.train.batch_size == 8
    assert cfg.train.steps == 7
    assert cfg.model.resolution == Config().model.resolution  # default kept


def test_bundled_presets_load():
    paper = build_config("paper")
    assert (paper.model.resolution, paper.model.frames, paper.model.latent_dim) == (64, 32, 100)
    assert (paper.optim.lr_g, paper.optim.beta1, paper.train.batch_size) == (2e-4, 0.5, 64)
    assert (paper.loss.loss, paper.loss.mask_l1, paper.loss.recon_l1) == ("gan", 0.1, 10.0)
    assert build_config("tiny").model.resolution == 32
    assert preset_path("cpu-small").name == "cpu-small.yaml"


@pytest.mark.parametrize(
    "override,message",
    [
        ("widht=0.5", "unknown config key 'widht'"),
        ("model.nope=1", "unknown config key 'model.nope'"),
        ("width=wide", "config key 'model.width': expected a number, got 'wide'"),
        ("steps=1.5", "config key 'train.steps': expected an integer, got '1.5'"),
        ("flip=maybe", "config key 'train.flip': expected true or false"),
        ("width", "override 'width': expected key=value"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(VgpredError) as err:
        build_config(None, [override])
    assert message in str(err.value)


def test_unknown_yaml_key_and_section(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  resolutoin: 64\n")
    with pytest.raises(VgpredError, match="unknown config key 'model.resolutoin'"):
        build_config(bad)
    bad.write_text("modle:\n  resolution: 64\n")
    with pytest.raises(VgpredError, match="unknown config section 'modle'"):
        build_config(bad)
    bad.write_text("model:\n  frames: [1, 2]\n")
    with pytest.raises(VgpredError, match="expected an integer"):
        build_config(bad)


def test_missing_preset_lists_known():
    with pytest.raises(VgpredError, match="presets: .*cpu-small, paper, tiny"):
        build_config("nonexistent-preset")


def test_bool_and_list_values():
    cfg = build_config(None, ["flip=false", "class_names=a,b,c", "two_stream=0"])
    assert cfg.train.flip is False and cfg.model.two_stream is False
    assert cfg.model.class_names == ["a", "b", "c"]

"""``vgpred convert torch7``: the VideoGAN authors' Torch7 files as vgpred folders.

The authors' archive cannot be downloaded here, so the files are written by the tests
(tests/t7write.py: the Torch7 binary format and main.lua's module trees) from vgpred
models with random weights; converting them back must give the source model's outputs.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO, assert_one_line_error, call_cli, run_cli
from t7write import Obj, Style, authors_discriminator, authors_generator, write_t7
from vgpred.config import ModelConfig
from vgpred.convert.torch7 import convert_torch7
from vgpred.errors import VgpredError
from vgpred.modelfile import load_discriminator, load_model
from vgpred.models.videogan import VideoGenerator, build_discriminator

TINY = dict(resolution=32, frames=8, latent_dim=8, width=0.0625)
PAPER = dict(resolution=64, frames=32, latent_dim=100, width=1.0)


def _calibrated(net, inputs: torch.Tensor, std: float = 0.05):
    """``net`` with conv weights N(0, std) and BatchNorm statistics of one batch (outputs that vary,
    so the comparison has something to compare), in eval mode."""
    torch.manual_seed(1)
    for m in net.modules():
        if isinstance(m, (torch.nn.modules.conv._ConvNd,)):
            torch.nn.init.normal_(m.weight, 0, std)
            if m.bias is not None:
                torch.nn.init.normal_(m.bias, 0, 0.1)
        elif isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None
            m.reset_running_stats()
            torch.nn.init.normal_(m.weight, 1, 0.1)
            torch.nn.init.normal_(m.bias, 0, 0.1)
    net.train()
    with torch.no_grad():
        net(inputs)
    return net.eval()


def source_generator(sizes: dict) -> VideoGenerator:
    torch.manual_seed(0)
    return _calibrated(VideoGenerator(ModelConfig(mode="unconditional", **sizes)), torch.randn(16, sizes["latent_dim"]))


def source_discriminator(sizes: dict, channels: int = 3):
    torch.manual_seed(0)
    cfg = ModelConfig(mode="unconditional", channels=channels, **sizes)
    video = torch.rand(8, channels, cfg.frames, cfg.resolution, cfg.resolution) * 2 - 1
    return _calibrated(build_discriminator(cfg), video, std=0.02)


def max_diff(source: VideoGenerator, converted: VideoGenerator, n: int = 4) -> dict[str, float]:
    z = torch.randn(n, source.cfg.latent_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        a, b = source(z), converted(z)
    assert a.video.std() > 0.1, "the source's videos barely vary: the comparison would prove little"
    return {k: float((getattr(a, k) - getattr(b, k)).abs().max()) for k in ("video", "foreground", "background", "mask")}


@pytest.fixture(scope="module")
def tiny_g():
    return source_generator(TINY)


STYLES = {
    "nn-float": Style(),
    "cudnn-cuda-eps1e-3": Style(cudnn=True, eps=1e-3),
    "bn-v1-running-std": Style(bn_version=1, eps=2e-5),
    "old-full-conv-layout": Style(old_full_conv=True),
}


@pytest.mark.parametrize("style", STYLES, ids=list(STYLES))
def test_tiny_generator_round_trip(tmp_path, tiny_g, style):
    path = tmp_path / "iter1_net.t7"
    write_t7(path, authors_generator(tiny_g, STYLES[style]))
    convert_torch7(path, tmp_path / "out", name="tiny")
    diffs = max_diff(tiny_g, load_model(tmp_path / "out"))
    assert max(diffs.values()) < 1e-5, diffs
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["model"]["mode"] == "unconditional" and config["model"]["resolution"] == 32
    assert config["info"]["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    if style.startswith("cudnn"):
        assert "cudnn.VolumetricFullConvolution" in config["info"]["source"]["module_types"]
        assert config["info"]["batchnorm_eps_in_file"] == [1e-3]


def test_paper_size_generator_and_discriminator(tmp_path):
    g = source_generator(PAPER)
    write_t7(tmp_path / "iter65000_net.t7", authors_generator(g, Style(cudnn=True)))
    convert_torch7(tmp_path / "iter65000_net.t7", tmp_path / "golf", name="golf")
    converted = load_model(tmp_path / "golf")
    assert converted.cfg.resolution == 64 and converted.cfg.frames == 32 and converted.cfg.width == 1.0
    assert converted.cfg.latent_dim == 100 and converted.cfg.fps == 25.0
    diffs = max_diff(g, converted, n=2)
    assert max(diffs.values()) < 1e-5, diffs
    card = (tmp_path / "golf" / "README.md").read_text()
    assert "iter65000_net.t7" in card and hashlib.sha256((tmp_path / "iter65000_net.t7").read_bytes()).hexdigest() in card

    d = source_discriminator(PAPER)
    write_t7(tmp_path / "iter65000_netD.t7", authors_discriminator(d, Style(cudnn=True, eps=1e-3)))
    convert_torch7(tmp_path / "iter65000_netD.t7", tmp_path / "golf-d", discriminator=True)
    check_discriminator(d, tmp_path / "golf-d")


def check_discriminator(source, folder: Path) -> None:
    converted, cfg = load_discriminator(folder)
    video = torch.rand(3, cfg.channels, cfg.frames, cfg.resolution, cfg.resolution,
                       generator=torch.Generator().manual_seed(3)) * 2 - 1
    with torch.no_grad():
        a, b = source(video), converted(video)
        fa, fb = source.features(video), converted.features(video)
    assert a.std() > 0.1
    assert float((a - b).abs().max()) < 1e-4 * max(1.0, float(a.abs().max()))
    assert max(float((x - y).abs().max()) for x, y in zip(fa, fb)) < 1e-4


def test_tiny_discriminator_two_logits_to_one(tmp_path):
    d = source_discriminator(TINY)
    write_t7(tmp_path / "d.t7", authors_discriminator(d, Style(eps=1e-3)))
    convert_torch7(tmp_path / "d.t7", tmp_path / "d", discriminator=True)
    check_discriminator(d, tmp_path / "d")
    assert json.loads((tmp_path / "d" / "config.json").read_text())["format"] == "vgpred-discriminator"


def test_cli_converts_and_samples(tmp_path, tiny_g):
    src = tmp_path / "iter1_net.t7"
    write_t7(src, authors_generator(tiny_g, Style(cudnn=True)))
    res = run_cli("convert", "torch7", src, tmp_path / "golf", "--name", "golf", "--fps", "12")
    assert res.code == 0, res.err
    assert res.out.strip() == str(tmp_path / "golf")
    res = run_cli("sample", "-c", tmp_path / "golf", "-o", tmp_path / "golf.mp4", "--seed", "0", "--device", "cpu")
    assert res.code == 0, res.err
    import av

    with av.open(str(tmp_path / "golf.mp4")) as f:
        stream = f.streams.video[0]
        assert sum(1 for _ in f.decode(stream)) == 8 and float(stream.average_rate) == 12
    d = source_discriminator(TINY)
    write_t7(tmp_path / "d.t7", authors_discriminator(d, Style()))
    assert run_cli("convert", "torch7", tmp_path / "d.t7", tmp_path / "d", "--discriminator").code == 0
    assert_one_line_error(run_cli("sample", "-c", tmp_path / "d", "-o", tmp_path / "x.mp4"), "holds a discriminator")


def _bad_files(tmp: Path, tiny_g) -> dict[str, tuple[Path, list[str], tuple[str, ...]]]:
    good = tmp / "good.t7"
    write_t7(good, authors_generator(tiny_g, Style()))
    data = good.read_bytes()
    (tmp / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (tmp / "cut.t7").write_bytes(data[: len(data) * 2 // 3])
    tree = authors_generator(tiny_g, Style())
    static = tree.fields["modules"][0].fields["modules"][1]
    static.fields["modules"][1].fields["nOutputPlane"] = 7  # the static stream's first layer: 8 -> 7, not 8 -> 16
    write_t7(tmp / "wrong.t7", tree)
    write_t7(tmp / "image-gan.t7", static)  # a DCGAN image generator: the static stream alone
    tree = authors_generator(tiny_g, Style())
    tree.fields["modules"][1] = Obj("nn.JoinTable", {"dimension": 2})
    write_t7(tmp / "odd.t7", tree)
    write_t7(tmp / "netD.t7", authors_discriminator(source_discriminator(TINY), Style()))
    (tmp / "exists").mkdir()
    return {
        "not torch7": (tmp / "photo.png", [], ("photo.png", "not a Torch7 file")),
        "truncated": (tmp / "cut.t7", [], ("cut.t7", "truncated or damaged Torch7 file")),
        "wrong channels": (tmp / "wrong.t7", [], ("wrong.t7", "module 1.2.2", "8->7 channels", "needs 8->16")),
        "other network": (tmp / "image-gan.t7", [], ("image-gan.t7", "not the authors' VideoGAN generator",
                                                     "VolumetricFullConvolution")),
        "unknown module": (tmp / "odd.t7", [], ("odd.t7", "nn.JoinTable", "does not understand")),
        "discriminator as generator": (tmp / "netD.t7", [], ("netD.t7", "holds the authors' discriminator",
                                                             "--discriminator")),
        "generator as discriminator": (good, ["--discriminator"], ("good.t7", "holds the authors' generator")),
        "out exists": (good, [], ("exists", "already exists")),
    }


def test_bad_inputs_one_line_nothing_written(tmp_path, tiny_g):
    cases = _bad_files(tmp_path, tiny_g)
    for case, (src, extra, fragments) in cases.items():
        out = tmp_path / ("exists" if case == "out exists" else f"out-{case.replace(' ', '-')}")
        before = sorted(p.name for p in tmp_path.iterdir())
        res = run_cli("convert", "torch7", src, out, *extra)
        assert_one_line_error(res, *fragments)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, case  # no folder, no temporary left
    assert list((tmp_path / "exists").iterdir()) == []


def test_damaged_tensors_are_refused_not_read(tmp_path, tiny_g):
    """A storage shorter than its tensor says (torchfile alone would read past it) is one error."""
    src = tmp_path / "g.t7"
    write_t7(src, authors_generator(tiny_g, Style()))
    data = bytearray(src.read_bytes())
    # the first FloatStorage's element count: after its class name, an int64
    marker = b"torch.FloatStorage"
    at = data.index(marker) + len(marker)
    count = int(np.frombuffer(bytes(data[at:at + 8]), "<i8")[0])
    data[at:at + 8] = np.array([count // 2], "<i8").tobytes()
    (tmp_path / "short.t7").write_bytes(bytes(data))
    with pytest.raises(VgpredError, match="truncated or damaged"):
        convert_torch7(tmp_path / "short.t7", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_help():
    res = run_cli("convert", "torch7", "--help")
    assert res.code == 0 and "--discriminator" in res.out and "sha256" in res.out and "--fps" in res.out


def test_table4_probe_runs_on_a_converted_discriminator(tmp_path):
    """benchmarks/table4_representation.py --discriminator DIR: the authors' discriminator in the probe."""
    d = source_discriminator(TINY)
    write_t7(tmp_path / "iter1_netD.t7", authors_discriminator(d, Style(cudnn=True, eps=1e-3)))
    convert_torch7(tmp_path / "iter1_netD.t7", tmp_path / "netD", discriminator=True)
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "table4_representation.py"), "--scale", "smoke",
         "--discriminator", str(tmp_path / "netD"), "--work", str(tmp_path / "work"), "--out", str(tmp_path / "res")],
        capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "res" / "smoke" / "table4_representation_torch7.json").read_text())
    assert data["runs"] == {} and data["settings"]["discriminator"] == str(tmp_path / "netD")
    assert (data["settings"]["size"], data["settings"]["frames"]) == (32, 8)
    dims = data["results"]["dims"]
    assert dims["trained discriminator"] == dims["random discriminator"] == 4 * sum(block[0].out_channels for block in d.blocks)
    md = (tmp_path / "res" / "smoke" / "table4_representation_torch7.md").read_text()
    assert hashlib.sha256((tmp_path / "iter1_netD.t7").read_bytes()).hexdigest() in md
    assert not (tmp_path / "res" / "smoke" / "table4_representation.json").exists()


def test_option_errors_and_missing_extra(tmp_path, tiny_g, monkeypatch):
    src = tmp_path / "g.t7"
    write_t7(src, authors_generator(tiny_g, Style()))
    assert_one_line_error(call_cli("convert", "torch7", src, tmp_path / "o", "--fps", "0"), "--fps 0")
    assert_one_line_error(call_cli("convert", "torch7", src, tmp_path / "o", "--name", "a\nb"), "--name")
    monkeypatch.setitem(sys.modules, "torchfile", None)  # as if the optional extra were not installed
    assert_one_line_error(call_cli("convert", "torch7", src, tmp_path / "o"), 'pip install "vgpred[torch7]"')
    assert not (tmp_path / "o").exists()

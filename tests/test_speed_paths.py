"""The fast training paths compute what the plain ones compute.

Channels-last layouts, the joined video/mask heads, fused Adam on channels-last
parameters (also after a state reload) and bf16 autocast must give the plain fp32
results within float (or bf16) tolerance; the plain fp32 reference network in
``benchmarks/`` is the same network as vgpred's; ``precision=auto`` resolves as documented.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch

from conftest import tiny_model_config
from vgpred.config import build_config
from vgpred.errors import VgpredError
from vgpred.models.videogan import VideoGenerator, build_discriminator
from vgpred.train import precision as prec

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))
import reference_fp32  # noqa: E402


def _inputs(cfg, batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    video = torch.rand(batch, cfg.channels, cfg.frames, cfg.resolution, cfg.resolution, generator=g) * 2 - 1
    return torch.randn(batch, cfg.latent_dim, generator=g), video


def _grads(module):
    return [p.grad.detach().clone() for p in module.parameters() if p.grad is not None]


@pytest.mark.parametrize("mode", ["image", "unconditional"])
def test_reference_network_is_the_same_network(mode):
    cfg = tiny_model_config(mode, width=0.125)
    torch.manual_seed(0)
    gen, disc = VideoGenerator(cfg), build_discriminator(cfg)
    ref_g, ref_d = reference_fp32.ReferenceGenerator(cfg), reference_fp32.ReferenceDiscriminator(cfg)
    reference_fp32.copy_weights(gen, ref_g)
    reference_fp32.copy_weights(disc, ref_d)
    assert sum(p.numel() for p in gen.parameters()) == sum(p.numel() for p in ref_g.parameters())
    z, video = _inputs(cfg)
    image = video[:, :, 0] if mode == "image" else None
    out, ref_out = gen(z, None, image).video, ref_g(z, image)
    torch.testing.assert_close(out, ref_out, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(disc(out), ref_d(ref_out), rtol=1e-4, atol=1e-4)


def test_joined_heads_equal_separate_heads_with_gradients():
    cfg = tiny_model_config("unconditional", width=0.125)
    torch.manual_seed(1)
    g = VideoGenerator(cfg).generator
    h = torch.randn(2, g.video_head[0].in_channels, 4, 8, 8, requires_grad=True)
    fg, mask = g._heads(h)
    (fg.square().sum() + 3 * mask.sum()).backward()
    joined = [h.grad.clone()] + _grads(g.video_head) + _grads(g.mask_head)
    h.grad = None
    g.zero_grad()
    fg2, mask2 = g.video_head(h), g.mask_head(h)
    (fg2.square().sum() + 3 * mask2.sum()).backward()
    torch.testing.assert_close(fg, fg2, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mask, mask2, rtol=1e-5, atol=1e-6)
    for a, b in zip(joined, [h.grad] + _grads(g.video_head) + _grads(g.mask_head), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_channels_last_gives_same_outputs_and_gradients():
    cfg = tiny_model_config("image", width=0.125)
    torch.manual_seed(2)
    plain_g, plain_d = VideoGenerator(cfg), build_discriminator(cfg)
    fast_g, fast_d = prec.to_channels_last(copy.deepcopy(plain_g)), prec.to_channels_last(copy.deepcopy(plain_d))
    assert any(p.dim() == 5 and p.is_contiguous(memory_format=torch.channels_last_3d) and not p.is_contiguous()
               for p in fast_d.parameters())
    assert fast_g.state_dict().keys() == plain_g.state_dict().keys()
    z, video = _inputs(cfg)
    results = []
    for g, d, x in ((plain_g, plain_d, video), (fast_g, fast_d, prec.channels_last(video))):
        out = g(z, None, x[:, :, 0]).video
        loss = d(out).square().mean() + d(x).mean()
        loss.backward()
        results.append([out.detach(), loss.detach()] + _grads(g) + _grads(d))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("frames", [8, 2])  # 8: time doubles on 2 of 3 layers; 2: space only
def test_bf16_autocast_gradients_follow_fp32_for_every_parameter(frames):
    """Every parameter's bf16 gradient is close to fp32's (a oneDNN bf16 weight-gradient bug
    gives NaN or garbage for the space-only 3x4x4 layers unless they run in fp32)."""
    cfg = tiny_model_config("image", width=0.25, frames=frames)
    torch.manual_seed(3)
    gen = prec.to_channels_last(VideoGenerator(cfg))
    disc = prec.to_channels_last(build_discriminator(cfg))
    z, video = _inputs(cfg, batch=4)
    grads = {}
    for name in ("fp32", "bf16"):
        gen.zero_grad(), disc.zero_grad()
        with prec.autocast(name, torch.device("cpu")):
            out = gen(z, None, video[:, :, 0]).video
            logits = disc(out)
        loss = (out.float() - video).abs().mean() + logits.float().square().mean()
        loss.backward()
        assert loss.dtype == torch.float32
        grads[name] = {n: p.grad.detach().clone() for n, p in [*gen.named_parameters(), *disc.named_parameters()]}
    for n, g32 in grads["fp32"].items():
        g16 = grads["bf16"][n]
        assert torch.isfinite(g16).all(), n
        rel = ((g16 - g32).norm() / g32.norm().clamp_min(1e-12)).item()
        assert rel < 0.3, f"{n}: bf16 gradient differs from fp32 by {rel:.2f} (relative)"  # the bug gives ~1


def test_fused_adam_on_channels_last_after_reload_matches_plain_adam():
    torch.manual_seed(4)
    p0, g1, g2 = torch.randn(6, 5, 2, 3, 4), torch.randn(6, 5, 2, 3, 4), torch.randn(6, 5, 2, 3, 4)

    def run(fast: bool, align: bool):
        p = torch.nn.Parameter(prec.channels_last(p0.clone()) if fast else p0.clone())
        opt = torch.optim.Adam([p], lr=0.1, fused=fast)
        p.grad = prec.channels_last(g1.clone()) if fast else g1.clone()  # autograd gives grads p's layout
        opt.step()
        saved = copy.deepcopy(opt.state_dict())  # what a checkpoint holds: contiguous tensors
        for state in saved["state"].values():
            for k, v in state.items():
                state[k] = v.contiguous()
        opt = torch.optim.Adam([p], lr=0.1, fused=fast)
        opt.load_state_dict(saved)
        if align:
            prec.align_optimizer_state(opt)
        p.grad = prec.channels_last(g2.clone()) if fast else g2.clone()
        opt.step()
        return p.detach().contiguous()

    plain = run(False, False)
    torch.testing.assert_close(run(True, True), plain, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(run(True, False), plain, atol=1e-3)  # why the alignment exists


def test_precision_auto_resolves_as_documented(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(prec, "cpu_has_bf16", lambda: True)
    assert prec.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(prec, "cpu_has_bf16", lambda: False)
    assert prec.resolve_precision("auto", cpu) == "fp32"
    assert prec.resolve_precision("auto", torch.device("mps")) == "fp32"
    assert prec.resolve_precision("fp32", cpu) == "fp32" and prec.resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(VgpredError, match="train.precision=fp16"):
        prec.resolve_precision("fp16", cpu)
    with pytest.raises(VgpredError, match="train.precision=half"):
        prec.resolve_precision("half", cpu)
    if torch.cuda.is_available():
        expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        assert prec.resolve_precision("auto", torch.device("cuda")) == expected
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    monkeypatch.undo()
    assert prec.cpu_has_bf16() == (" avx512_bf16" in flags or " amx_bf16" in flags)


@pytest.fixture
def one_thread():
    """Tiny steps on a busy 2-core machine run ~100x faster on one thread than on two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_bf16_training_step_learns_like_fp32(one_thread):
    """The loop's step in bf16 on channels-last nets: finite losses, and it fits a clip as fp32 does."""
    sys.path.insert(0, str(BENCH))
    import speed

    finals = {}
    for name in ("bf16", "fp32"):
        cfg = build_config("tiny", [f"train.precision={name}", "loss.loss=l1", "model.latent_dim=0", "optim.lr_g=0.01"])
        torch.manual_seed(0)
        step, precision = speed.vgpred_step(cfg, 2, torch.device("cpu"))
        assert precision == name
        _, video = _inputs(cfg.model, batch=2, seed=5)
        video = 0.5 * video + 0.3 * torch.linspace(-1, 1, cfg.model.resolution)  # smooth + noise
        labels = torch.zeros(2, dtype=torch.long)
        losses = [step(video, labels)["loss_g"].item() for _ in range(25)]
        assert all(torch.isfinite(torch.tensor(losses))), name
        assert min(losses[-3:]) < 0.9 * losses[0], (name, losses)
        finals[name] = losses[-1]
    assert abs(finals["bf16"] - finals["fp32"]) < 0.1 * finals["fp32"], finals


def test_speed_benchmark_quick_mode_writes_results(tmp_path, one_thread):
    sys.path.insert(0, str(BENCH))
    import json

    import speed

    speed.main(["--quick", "--only", "training", "--repeats", "1", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "speed.json").read_text())
    row = data["training"][0]
    assert row["precision"] in ("bf16", "fp32") and row["batch"] == 4
    # the ratio and the achieved rate follow from the measured samples/s and the counted FLOPs
    rate = {side: row["samples_per_s"][side]["median"] for side in ("vgpred", "reference_fp32")}
    assert row["ratio"]["of_medians"] == pytest.approx(rate["vgpred"] / rate["reference_fp32"])
    assert row["gflop_per_sample"] > 0  # the FLOP counter saw the step's convolutions
    assert row["achieved_gflop_s"]["vgpred"] == pytest.approx(row["gflop_per_sample"] * rate["vgpred"])
    md = (tmp_path / "speed.md").read_text()
    assert "python benchmarks/speed.py --quick" in md and f"**{row['ratio']['of_medians']:.2f}x**" in md

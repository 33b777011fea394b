"""The two-stream VideoGAN in all three modes and several sizes."""
from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_model_config
from vgpred.config import ModelConfig
from vgpred.errors import VgpredError
from vgpred.models.layout import make_layout
from vgpred.models.networks import down3d, up3d
from vgpred.models.videogan import VideoGenerator, build_discriminator, count_parameters

SIZES = [(32, 8, 0.0625), (64, 16, 0.03125), (32, 16, 0.0625)]


def _inputs(model: VideoGenerator, batch: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    z = model.sample_noise(batch, generator=gen)
    label = torch.arange(batch) % max(model.cfg.num_classes, 1) if model.needs_label else None
    image = torch.rand(batch, model.cfg.channels, model.cfg.resolution, model.cfg.resolution, generator=gen) * 2 - 1
    return z, label, image if model.needs_image else None


@pytest.mark.parametrize("mode", ["unconditional", "label", "image"])
@pytest.mark.parametrize("res,frames,width", SIZES)
def test_shapes_ranges_and_composite(mode, res, frames, width):
    torch.manual_seed(0)
    model = VideoGenerator(tiny_model_config(mode, resolution=res, frames=frames, width=width)).eval()
    disc = build_discriminator(model.cfg).eval()
    z, label, image = _inputs(model, 3)
    with torch.no_grad():
        out = model(z, label, image)
        logits = disc(out.video, label)
    assert out.video.shape == (3, 3, frames, res, res)
    assert out.foreground.shape == out.background.shape == out.video.shape
    assert out.mask.shape == (3, 1, frames, res, res)
    assert logits.shape == (3,)
    assert out.video.min() >= -1 and out.video.max() <= 1
    assert out.mask.min() >= 0 and out.mask.max() <= 1
    # The background is one image replicated over time.
    assert torch.equal(out.background[:, :, 0], out.background[:, :, -1])
    composite = out.mask * out.foreground + (1 - out.mask) * out.background
    torch.testing.assert_close(out.video, composite)


def test_paper_preset_parameter_counts():
    cfg = ModelConfig(mode="unconditional", resolution=64, frames=32, latent_dim=100, width=1.0)
    layout = make_layout(cfg)
    assert layout.channels == (512, 256, 128, 64)
    g, d = count_parameters(VideoGenerator(cfg)), count_parameters(build_discriminator(cfg))
    assert abs(g / 1e6 - 16.2) < 0.1, g
    assert abs(d / 1e6 - 11.1) < 0.1, d


def test_d_width_scales_the_discriminator_alone():
    base = ModelConfig(mode="image", resolution=64, frames=16, channels=1, latent_dim=8, width=0.25)
    wide = ModelConfig(**{**base.__dict__, "d_width": 0.5})
    assert make_layout(base).critic_channels == (16, 32, 64, 128)  # 0 = model.width
    assert make_layout(wide).critic_channels == (32, 64, 128, 256)
    assert make_layout(wide).channels == make_layout(base).channels
    g_base, g_wide = VideoGenerator(base).state_dict(), VideoGenerator(wide).state_dict()
    assert {k: v.shape for k, v in g_base.items()} == {k: v.shape for k, v in g_wide.items()}
    d = build_discriminator(wide)
    assert d(torch.zeros(2, 1, 16, 64, 64)).shape == (2,)
    # conv weights grow with the square of the width: about 4x the parameters
    assert 3.5 < count_parameters(d) / count_parameters(build_discriminator(base)) < 4.1


def test_paper_init_statistics():
    torch.manual_seed(0)
    model = VideoGenerator(ModelConfig(mode="unconditional", width=0.5, frames=16))
    conv = model.generator.foreground[3].weight
    bn = model.generator.foreground[1].weight
    assert abs(conv.std().item() - 0.01) < 0.001 and abs(conv.mean().item()) < 0.001
    assert abs(bn.mean().item() - 1) < 0.01 and abs(bn.std().item() - 0.02) < 0.01


def test_image_mode_noise_gives_different_futures_and_regressor_is_deterministic():
    torch.manual_seed(0)
    model = VideoGenerator(tiny_model_config("image")).eval()
    _, _, image = _inputs(model, 1)
    image = image.expand(2, -1, -1, -1)
    z = torch.randn(2, model.cfg.latent_dim)
    with torch.no_grad():
        out = model(z, None, image)
    # At the paper's N(0, 0.01) initialisation outputs are tiny: compare relatively.
    assert (out.video[0] - out.video[1]).abs().mean() > 0.01 * out.video.abs().mean()
    regressor = VideoGenerator(tiny_model_config("image", latent_dim=0)).eval()
    with torch.no_grad():
        a = regressor(regressor.sample_noise(2), None, image)
    assert a.video.shape[2] == 8 and torch.equal(a.video[0], a.video[1])


def test_label_changes_generator_and_discriminator():
    torch.manual_seed(0)
    model = VideoGenerator(tiny_model_config("label")).eval()
    disc = build_discriminator(model.cfg).eval()
    z = torch.randn(1, model.cfg.latent_dim).expand(2, -1)
    labels = torch.tensor([0, 2])
    with torch.no_grad():
        out = model(z, labels)
        assert (out.foreground[0] - out.foreground[1]).abs().max() > 0
        video = out.video[:1].expand(2, -1, -1, -1, -1)
        logits = disc(video, labels)
    assert logits[0] != logits[1]


def test_one_stream_ablation_has_no_background():
    model = VideoGenerator(tiny_model_config("unconditional", two_stream=False)).eval()
    with torch.no_grad():
        out = model(model.sample_noise(2))
    assert not hasattr(model.generator, "background")
    assert torch.equal(out.video, out.foreground) and torch.all(out.mask == 1)


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(resolution=48), "model.resolution=48: must be a power of two"),
        (dict(frames=64), "model.frames=64: must be a power of two between 2 and 16"),
        (dict(frames=6), "model.frames=6"),
        (dict(channels=2), "model.channels=2: must be 1 or 3"),
        (dict(d_width=-1.0), "model.d_width=-1.0: must be a positive multiplier"),
        (dict(mode="video"), "unknown mode 'video' (known: image, label, unconditional)"),
        (dict(mode="label", num_classes=1), "label mode needs at least 2 classes"),
        (dict(mode="unconditional", latent_dim=0), "needs a latent vector"),
        (dict(time_padding="reflect"), "model.time_padding='reflect': must be one of zeros, replicate"),
    ],
)
def test_bad_model_configs_name_the_option(changes, message):
    mode = changes.pop("mode", "image")
    with pytest.raises(VgpredError) as err:
        VideoGenerator(tiny_model_config(mode, **changes))
    assert message in str(err.value)


def test_grayscale_model():
    model = VideoGenerator(tiny_model_config("image", channels=1)).eval()
    with torch.no_grad():
        out = model(model.sample_noise(2), None, torch.zeros(2, 1, 32, 32))
    assert out.video.shape == (2, 1, 8, 32, 32)


@pytest.mark.parametrize("res,frames,width", SIZES)
def test_skips_keep_shapes_and_add_only_projections(res, frames, width):
    plain = VideoGenerator(tiny_model_config("image", resolution=res, frames=frames, width=width))
    skips = VideoGenerator(tiny_model_config("image", resolution=res, frames=frames, width=width, skips=True)).eval()
    z, _, image = _inputs(skips, 2)
    with torch.no_grad():
        out = skips(z, None, image)
    assert out.video.shape == (2, 3, frames, res, res)
    assert torch.equal(out.background[:, :, 0], out.background[:, :, -1])
    extra = set(skips.state_dict()) - set(plain.state_dict())
    assert extra and all(".fg_skips." in k or ".bg_skips." in k for k in extra)
    assert set(plain.state_dict()) <= set(skips.state_dict())  # same names for the paper's layers


def _held_out_first_frame_l1(skips: bool, steps: int = 60, batch: int = 4) -> float:
    """Fit frame 0 to fresh pixel noise each step, then score it on noise never seen."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = VideoGenerator(tiny_model_config("image", width=0.25, frames=2, skips=skips))
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    z = torch.zeros(batch, model.cfg.latent_dim)
    for _ in range(steps):
        images = torch.rand(batch, 3, 32, 32, generator=gen) * 2 - 1
        loss = (model(z, None, images).video[:, :, 0] - images).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    images = torch.rand(batch, 3, 32, 32, generator=gen) * 2 - 1
    with torch.no_grad():
        return (model.eval()(z, None, images).video[:, :, 0] - images).abs().mean().item()


def test_skips_let_frame_zero_carry_detail_the_4x4_code_loses():
    # Pixel noise cannot pass the 4x4 code (the best it can do is grey: L1 0.5); the
    # skips carry it around the code, and that generalises to noise never seen.
    with_skips, without = _held_out_first_frame_l1(True), _held_out_first_frame_l1(False)
    assert without > 0.45
    assert with_skips < 0.7 * without, (with_skips, without)


def test_skips_need_the_image_mode():
    with pytest.raises(VgpredError, match="model.skips=true: only the image mode"):
        VideoGenerator(tiny_model_config("label", skips=True))


@pytest.mark.parametrize("time_padding,edge_share", [("zeros", 0.5), ("replicate", 1.0)])
def test_time_padding_sets_how_much_of_the_kernel_reaches_the_edge_frames(time_padding, edge_share):
    # all-ones weights on all-ones frames: a generator frame sums the kernel taps that build it,
    # and a discriminator input frame's gradient sums the taps that read it
    up = up3d(1, 1, time_doubles=True, time_padding=time_padding)
    down = down3d(1, 1, time_doubles=True, time_padding=time_padding)
    torch.nn.init.ones_(up.weight)
    torch.nn.init.ones_(down.weight)
    frames = torch.ones(1, 1, 8, 8, 8, requires_grad=True)
    with torch.no_grad():
        built = up(torch.ones(1, 1, 4, 8, 8))[0, 0, :, 4, 4]  # an interior pixel
    down(frames).sum().backward()
    read = frames.grad[0, 0, :, 4, 4]
    for taps in (built, read):
        assert taps.shape == (8,)
        assert torch.allclose(taps[1:-1], taps[1].expand(6))
        assert taps[0].item() == pytest.approx(edge_share * taps[1].item())
        assert taps[-1].item() == pytest.approx(edge_share * taps[1].item())


def test_replicate_time_padding_keeps_the_weights_and_changes_the_edge_frames():
    zeros = VideoGenerator(tiny_model_config("image", skips=True)).eval()
    replicate = VideoGenerator(tiny_model_config("image", skips=True, time_padding="replicate")).eval()
    assert {k: v.shape for k, v in zeros.state_dict().items()} == {k: v.shape for k, v in replicate.state_dict().items()}
    replicate.load_state_dict(zeros.state_dict())
    z, _, image = _inputs(zeros, 2)
    with torch.no_grad():
        a, b = zeros(z, None, image), replicate(z, None, image)
        separate = replicate.generator.video_head(torch.ones(1, 4, 4, 16, 16))
        fused, _ = replicate.generator._heads(torch.ones(1, 4, 4, 16, 16))
    assert a.video.shape == b.video.shape == (2, 3, 8, 32, 32)
    assert not torch.allclose(a.video[:, :, -1], b.video[:, :, -1])
    assert torch.allclose(separate, fused, atol=1e-6)  # the joined video+mask head pads the same way
    critics = build_discriminator(zeros.cfg), build_discriminator(replicate.cfg)
    critics[1].load_state_dict(critics[0].state_dict())
    video = torch.rand(2, 3, 8, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        verdicts = [d.eval()(video) for d in critics]
    assert verdicts[0].shape == verdicts[1].shape == (2,) and not torch.allclose(*verdicts)


def test_replicate_time_doubling_is_the_cropped_full_transposed_convolution_and_repeats_exactly():
    """The layer equals a reference built from first principles (scatter of each input frame through the
    kernel's time taps), and training passes repeat bit for bit: time padding 3 in PyTorch's CPU kernel
    wrote outside its buffer, which showed as NaN losses and runs that differed with the same seed."""
    import torch.nn.functional as F

    from vgpred.models.networks import EDGE_CROP, up3d

    torch.manual_seed(0)
    layer = up3d(3, 2, time_doubles=True, time_padding="replicate")
    x = torch.randn(2, 3, 4, 8, 8, requires_grad=True)
    edged = torch.cat([x[:, :, :1], x, x[:, :, -1:]], dim=2).detach()
    # reference: output frame 2t + k - pad gets input frame t through time tap k (stride 2, kernel 4)
    frames = []
    for out in range(2 * 4):
        total = 0
        for t in range(edged.shape[2]):
            k = out + EDGE_CROP - 2 * t
            if 0 <= k < 4:
                total = total + F.conv_transpose2d(edged[:, :, t], layer.weight[:, :, k], None, 2, 1)
        frames.append(total)
    reference = torch.stack(frames, dim=2)
    runs = []
    for _ in range(3):
        y = layer(x)
        grads = torch.autograd.grad((y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum(), [x, layer.weight])
        runs.append((y.detach(), *grads))
    assert runs[0][0].shape == (2, 2, 8, 16, 16)
    assert torch.allclose(runs[0][0], reference, atol=1e-5)
    for again in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(runs[0], again))
    assert all(torch.isfinite(t).all() for t in runs[0])

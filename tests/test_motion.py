"""The motion foreground: the warp-and-compose function, the network at several sizes, its
config errors, its model folders and the predictor."""
from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import assert_one_line_error, call_cli, save_tiny_model, tiny_model_config
from vgpred.errors import VgpredError
from vgpred.modelfile import CONFIG_NAME, FORMAT_VERSION, load_model, read_model_config, resolve_model_dir
from vgpred.models.motion import animate_photo
from vgpred.models.videogan import VideoGenerator, count_parameters
from vgpred.predictor import VideoPredictor

SIZES = [(32, 8, 0.0625), (64, 16, 0.03125), (32, 16, 0.0625), (16, 4, 0.125)]


def _random(*shape: int, seed: int = 0, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=gen) * (high - low) + low


def _layers(b: int, c: int, t: int, h: int, w: int, seed: int = 0):
    """A random flow (within a quarter of the image), mask and background at ``(h, w)``."""
    return (_random(b, 2, t, h, w, seed=seed, low=-0.5, high=0.5), _random(b, 1, t, h, w, seed=seed + 1, low=0.0),
            _random(b, c, h, w, seed=seed + 2))


# --- animate_photo --------------------------------------------------------------------------


@pytest.mark.parametrize("photo_size", [(32, 32), (45, 70), (96, 160)])
def test_identity_field_and_full_mask_return_the_photo(photo_size):
    photo = _random(2, 3, *photo_size)
    still = torch.zeros(2, 2, 6, 32, 32), torch.ones(2, 1, 6, 32, 32)
    out = animate_photo(photo, *still, _random(2, 3, 32, 32, seed=1))
    assert out.video.shape == out.foreground.shape == out.background.shape == (2, 3, 6, *photo_size)
    assert out.mask.shape == (2, 1, 6, *photo_size) and out.flow.shape == (2, 2, 6, *photo_size)
    assert torch.equal(out.video[:, :, 0], photo)  # frame 0: copied
    # later frames are resampled at the identity: exact up to the rounding of the pixel centres
    torch.testing.assert_close(out.video, photo.unsqueeze(2).expand_as(out.video), atol=1e-4, rtol=0)


@pytest.mark.parametrize("field_size", [(32, 32), (8, 8)])
@pytest.mark.parametrize("photo_size", [(32, 32), (64, 128)])
@pytest.mark.parametrize("dx,dy", [(3, 0), (0, 2), (-4, 5)])
def test_a_constant_field_moves_the_photo_by_its_pixels(photo_size, field_size, dx, dy):
    """An offset of 2 is the photo's width (height), so k pixels are 2k / W: each output pixel
    shows the photo's pixel (x + dx, y + dy), at any photo size, whatever the field's size."""
    height, width = photo_size
    photo = _random(1, 3, height, width)
    flow = torch.zeros(1, 2, 4, *field_size)
    flow[:, 0, 1:], flow[:, 1, 1:] = 2 * dx / width, 2 * dy / height
    out = animate_photo(photo, flow, torch.ones(1, 1, 4, *field_size), torch.zeros(1, 3, *field_size))
    ys = slice(max(0, -dy), height - max(0, dy))
    xs = slice(max(0, -dx), width - max(0, dx))
    moved = photo[:, :, max(0, dy):height + min(0, dy), max(0, dx):width + min(0, dx)]
    for t in (1, 3):
        torch.testing.assert_close(out.video[:, :, t, ys, xs], moved, atol=1e-5, rtol=0)
    assert not torch.allclose(out.video[:, :, 1], photo)
    assert torch.equal(out.video[:, :, 0], photo)


@pytest.mark.parametrize("photo_size", [(32, 32), (45, 70)])
def test_frame_zero_is_the_photo_exactly_whatever_the_field(photo_size):
    photo = _random(2, 3, *photo_size, seed=3)
    flow, mask, background = _layers(2, 3, 8, 32, 32)
    out = animate_photo(photo, flow, mask, background)
    assert torch.equal(out.video[:, :, 0], photo) and torch.equal(out.foreground[:, :, 0], photo)
    assert torch.all(out.mask[:, :, 0] == 1) and torch.all(out.flow[:, :, 0] == 0)
    assert not torch.allclose(out.video[:, :, 1], photo, atol=1e-2)
    torch.testing.assert_close(out.video, out.mask * out.foreground + (1 - out.mask) * out.background)
    assert out.video.min() >= -1 and out.video.max() <= 1


def test_where_the_mask_is_zero_the_upsampled_background_shows():
    background = _random(1, 3, 8, 8)
    out = animate_photo(_random(1, 3, 32, 32), torch.zeros(1, 2, 3, 8, 8), torch.zeros(1, 1, 3, 8, 8), background)
    up = torch.nn.functional.interpolate(background, size=(32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out.video[:, :, 2], up)
    assert torch.equal(out.background[:, :, 1], out.background[:, :, 2])


def test_the_field_upsamples_bilinearly():
    """A field that varies at 8x8 moves a 32x32 photo as its bilinear upsampling says."""
    flow, mask, background = _layers(1, 3, 3, 8, 8, seed=5)
    photo = _random(1, 3, 32, 32, seed=6)
    out = animate_photo(photo, flow, mask, background)
    up = torch.nn.functional.interpolate(flow[:, :, 2], size=(32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out.flow[:, :, 2], up)
    same_size = animate_photo(photo, out.flow, out.mask, torch.nn.functional.interpolate(
        background, size=(32, 32), mode="bilinear", align_corners=False))
    torch.testing.assert_close(same_size.video, out.video)


@pytest.mark.parametrize(
    "shapes,message",
    [
        (((2, 3, 32), (2, 2, 4, 8, 8), (2, 1, 4, 8, 8), (2, 3, 8, 8)), "photo must be (B, C, H, W)"),
        (((2, 3, 32, 32), (2, 3, 4, 8, 8), (2, 1, 4, 8, 8), (2, 3, 8, 8)), "flow must be (B, 2, T, h, w) with B = 2"),
        (((2, 3, 32, 32), (2, 2, 4, 8, 8), (2, 1, 4, 8, 9), (2, 3, 8, 8)), "mask must be (B, 1, T, h, w) = (2, 1, 4, 8, 8)"),
        (((2, 3, 32, 32), (2, 2, 4, 8, 8), (2, 1, 4, 8, 8), (2, 1, 8, 8)), "background must be (B, C, h, w) = (2, 3, 8, 8)"),
    ],
)
def test_animate_photo_names_the_expected_shape(shapes, message):
    with pytest.raises(ValueError) as err:
        animate_photo(*(torch.zeros(s) for s in shapes))
    assert message in str(err.value)


# --- the network ----------------------------------------------------------------------------


def _photo_inputs(model: VideoGenerator, batch: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    z = model.sample_noise(batch, generator=gen)
    size = model.cfg.resolution
    return z, torch.rand(batch, model.cfg.channels, size, size, generator=gen) * 2 - 1


@pytest.mark.parametrize("res,frames,width", SIZES)
@pytest.mark.parametrize("foreground", ["pixels", "motion"])
def test_both_foregrounds_build_at_several_sizes(foreground, res, frames, width):
    torch.manual_seed(0)
    model = VideoGenerator(tiny_model_config("image", resolution=res, frames=frames, width=width,
                                             foreground=foreground, skips=res >= 32)).eval()
    z, image = _photo_inputs(model, 3)
    with torch.no_grad():
        out = model(z, None, image)
    assert out.video.shape == out.foreground.shape == out.background.shape == (3, 3, frames, res, res)
    assert out.mask.shape == (3, 1, frames, res, res)
    assert out.video.min() >= -1 and out.video.max() <= 1
    torch.testing.assert_close(out.video, out.mask * out.foreground + (1 - out.mask) * out.background)
    assert torch.equal(out.background[:, :, 0], out.background[:, :, -1])
    if foreground == "pixels":
        assert out.flow is None
    else:
        assert out.flow.shape == (3, 2, frames, res, res)
        assert out.flow.abs().max() <= model.cfg.max_flow
        assert torch.equal(out.video[:, :, 0], image)  # frame 0 is the photo, exactly


def test_motion_frame_zero_is_the_photo_in_training_mode_and_grayscale():
    model = VideoGenerator(tiny_model_config("image", foreground="motion", channels=1, skips=True)).train()
    z, image = _photo_inputs(model, 2)
    out = model(z, None, image)
    assert torch.equal(out.video[:, :, 0], image) and out.video.shape == (2, 1, 8, 32, 32)
    out.video[:, :, 1:].sum().backward()
    head = model.generator.video_head[0].weight
    assert head.shape[1] == 2 and head.grad is not None and head.grad.abs().sum() > 0  # the flow head learns


def test_an_untrained_motion_model_starts_as_copy_first_frame():
    """Mask near 1 and a near-still field at initialisation: training starts from the baseline it must beat."""
    from vgpred.models.motion import MASK_BIAS_INIT

    torch.manual_seed(0)
    model = VideoGenerator(tiny_model_config("image", foreground="motion", skips=True)).eval()
    z, image = _photo_inputs(model, 2)
    with torch.no_grad():
        out = model(z, None, image)
    assert out.mask[:, :, 1:].mean() > 0.9 and torch.sigmoid(torch.tensor(MASK_BIAS_INIT)) > 0.9
    assert out.flow.abs().max() < 0.05 * model.cfg.max_flow
    assert (out.video[:, :, 1:] - image.unsqueeze(2)).abs().mean() < 0.1


def test_motion_keeps_the_paper_layers_and_swaps_the_colour_head_for_a_flow_head():
    pixels = VideoGenerator(tiny_model_config("image"))
    motion = VideoGenerator(tiny_model_config("image", foreground="motion"))
    a, b = pixels.state_dict(), motion.state_dict()
    assert a.keys() == b.keys()
    differ = {k for k in a if a[k].shape != b[k].shape}
    assert differ == {"generator.video_head.0.weight", "generator.video_head.0.bias"}
    assert count_parameters(motion) < count_parameters(pixels)


def test_different_noise_moves_the_photo_differently():
    torch.manual_seed(0)
    model = VideoGenerator(tiny_model_config("image", foreground="motion")).eval()
    _, image = _photo_inputs(model, 1)
    with torch.no_grad():
        out = model(torch.randn(2, model.cfg.latent_dim), None, image.expand(2, -1, -1, -1))
    assert not torch.equal(out.flow[0], out.flow[1])


def test_velocity_flow_is_frame_index_times_the_offset_fields_head():
    """flow_param=velocity reads the same head as the mean velocity since the photo: frame t moves t times it."""
    torch.manual_seed(0)
    offset = VideoGenerator(tiny_model_config("image", foreground="motion", skips=True)).eval()
    velocity = VideoGenerator(tiny_model_config("image", foreground="motion", skips=True, flow_param="velocity",
                                                max_flow=0.25)).eval()
    velocity.load_state_dict(offset.state_dict())
    with torch.no_grad():  # a head far from still (a drift of tanh(1) to the right and down), frames differ visibly
        for model in (offset, velocity):
            model.generator.video_head[0].bias.fill_(1.0)
    z, image = _photo_inputs(offset, 2)
    with torch.no_grad():
        a, b = offset(z, None, image), velocity(z, None, image)
    frames = a.flow.shape[2]
    steps = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1)
    torch.testing.assert_close(b.flow, a.flow / offset.cfg.max_flow * 0.25 * steps)
    assert torch.equal(b.video[:, :, 0], image) and b.flow[:, :, 0].abs().max() == 0
    assert b.flow[:, :, 1].abs().max() <= 0.25 < b.flow[:, :, -1].abs().max() <= 0.25 * (frames - 1)
    assert not torch.equal(a.video[:, :, 2:], b.video[:, :, 2:])


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(mode="label", foreground="motion"),
         "model.foreground=motion: moves the pixels of the conditioning photo, so it needs the image mode (mode is label)"),
        (dict(mode="unconditional", foreground="motion"), "needs the image mode (mode is unconditional)"),
        (dict(foreground="flow"), "model.foreground='flow': unknown (known: pixels, motion)"),
        (dict(foreground="motion", two_stream=False), "model.two_stream=false: the motion foreground needs the background"),
        (dict(foreground="motion", max_flow=0.0), "model.max_flow=0.0: must be > 0"),
        (dict(foreground="motion", flow_param="speed"), "model.flow_param='speed': must be one of offset, velocity"),
        (dict(flow_param="velocity"), "model.flow_param=velocity: only the motion foreground predicts a flow"),
    ],
)
def test_bad_foreground_configs_name_the_option(changes, message):
    mode = changes.pop("mode", "image")
    with pytest.raises(VgpredError) as err:
        VideoGenerator(tiny_model_config(mode, **changes))
    assert message in str(err.value)


@pytest.mark.parametrize("args,message", [
    (["--mode", "label", "model.foreground=motion"], "model.foreground=motion: moves the pixels"),
    (["model.foreground=warp"], "model.foreground='warp': unknown (known: pixels, motion)"),
])
def test_foreground_errors_on_the_command_line_are_one_line(tmp_path, args, message):
    data = tmp_path / "clips"
    data.mkdir()
    result = call_cli("train", "--config", "tiny", "--no-progress", "--data", data, "--out", tmp_path / "runs", *args)
    assert_one_line_error(result, message)
    assert not (tmp_path / "runs").exists()


# --- model folders and the predictor --------------------------------------------------------


def test_motion_model_folder_round_trip_and_predictor(tmp_path, photo):
    folder = save_tiny_model(tmp_path / "m", "image", foreground="motion", skips=True)
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config["format_version"] == FORMAT_VERSION == 2
    assert config["model"]["foreground"] == "motion" and config["model"]["max_flow"] == 0.5
    a, b = VideoPredictor.from_pretrained(folder, device="cpu"), VideoPredictor.from_pretrained(folder, device="cpu")
    out_a, out_b = a(photo, num_samples=3, seed=2, size=96), b(photo, num_samples=3, seed=2, size=96)
    assert torch.equal(out_a.frames, out_b.frames) and torch.equal(out_a.flow, out_b.flow)
    assert out_a.frames.shape == (3, 3, 8, 96, 96) and out_a.flow.shape == (3, 2, 8, 96, 96)
    image = a.prepare_image(photo, size=96)
    assert all(torch.equal(out_a.frames[i, :, 0], image) for i in range(3))
    written = out_a.save(tmp_path / "f.mp4", layers=True)
    assert len(written) == 15 and sum("-flow" in p.name for p in written) == 3
    pixels = VideoPredictor.from_pretrained(save_tiny_model(tmp_path / "p", "image"), device="cpu")
    assert pixels(photo, seed=0).flow is None


def test_velocity_flow_survives_the_model_folder_and_older_folders_read_as_offset(tmp_path, photo):
    folder = save_tiny_model(tmp_path / "m", "image", foreground="motion", flow_param="velocity", max_flow=0.25)
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config["model"]["flow_param"] == "velocity"
    predictor = VideoPredictor.from_pretrained(folder, device="cpu")
    assert predictor.cfg.flow_param == "velocity" and predictor.model.generator.velocity
    out = predictor(photo, num_samples=2, seed=0, size=48)
    assert torch.equal(out.frames[0, :, 0], predictor.prepare_image(photo, size=48))
    del config["model"]["flow_param"]  # a folder written before the option existed
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    assert load_model(folder).cfg.flow_param == "offset"
    config["model"]["flow_param"] = "acceleration"
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(VgpredError, match="model.flow_param='acceleration': must be one of offset, velocity"):
        load_model(folder)


def test_folders_written_before_the_foreground_option_load_as_pixels(tmp_path):
    folder = save_tiny_model(tmp_path / "m", "image")
    config = json.loads((folder / CONFIG_NAME).read_text())
    del config["model"]["foreground"], config["model"]["max_flow"]
    config["format_version"] = 1
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    assert load_model(folder).cfg.foreground == "pixels"
    for name in ("scenes-64", "mfmnist-64", "mfmnist-label-32"):  # the bundled models are version 1
        bundled = resolve_model_dir(name)
        assert json.loads((bundled / CONFIG_NAME).read_text())["format_version"] == 1
        assert read_model_config(bundled)[0].foreground == "pixels"


def test_the_motion_preset_builds_and_the_paper_preset_stays_pixels():
    from vgpred.config import build_config
    from vgpred.train.latent import check_latent_terms

    cfg = build_config("bench-scenes-motion")
    assert (cfg.model.foreground, cfg.model.mode) == ("motion", "image") and cfg.loss.kl > 0
    check_latent_terms(cfg, uses_discriminator=True)
    model = VideoGenerator(cfg.model)
    assert model.generator.video_head[0].weight.shape[1] == 2
    assert build_config("paper").model.foreground == "pixels"


# --- rollout: later pieces composed into moves of the first photo -------------------------------

def _shift(pixels_x: float, pixels_y: float, b: int, h: int, w: int) -> torch.Tensor:
    """A constant flow ``(B, 2, H, W)`` reading each pixel from (x + pixels_x, y + pixels_y)."""
    flow = torch.zeros(b, 2, h, w)
    flow[:, 0], flow[:, 1] = 2 * pixels_x / w, 2 * pixels_y / h
    return flow


def _warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    from vgpred.models.motion import _identity_grid, _sample

    b, c, h, w = x.shape
    return _sample(x, _identity_grid(b, h, w, x.device) + flow.permute(0, 2, 3, 1))


def _one_frame(video, foreground, background, mask, flow):
    from vgpred.models.networks import GeneratorOutput

    return GeneratorOutput(*(x.unsqueeze(2) for x in (video, foreground, background, mask, flow)))


def test_composing_a_piece_equals_warping_the_last_frame_for_whole_pixel_moves():
    """m * warp(last, g) + (1 - m) * bg, where last = M' * warp(photo, h') + (1 - M') * bg': the same frame."""
    from vgpred.models.motion import compose_piece

    torch.manual_seed(0)
    b, c, h, w = 2, 3, 24, 32
    photo = torch.rand(b, c, h, w) * 2 - 1
    h1, m1, bg1 = _shift(2, -1, b, h, w), torch.rand(b, 1, h, w), torch.rand(b, c, h, w) * 2 - 1
    fg1 = _warp(photo, h1)
    last = _one_frame(m1 * fg1 + (1 - m1) * bg1, fg1, bg1, m1, h1)
    g, m2, bg2 = _shift(-3, 2, b, h, w), torch.rand(b, 1, h, w), torch.rand(b, c, h, w) * 2 - 1
    piece = _one_frame(torch.zeros(b, c, h, w), torch.zeros(b, c, h, w), bg2, m2, g)
    out = compose_piece(photo, last, piece)
    expected = m2 * _warp(last.video[:, :, 0], g) + (1 - m2) * bg2
    inside = (slice(None), slice(None), 0, slice(4, -4), slice(4, -4))  # away from the border clamp
    assert torch.allclose(out.video[inside], expected[inside[:2] + inside[3:]], atol=1e-5)
    # the layers describe the composed frame: flow and mask relative to the first photo
    assert torch.allclose(out.flow[inside], (h1 + g)[inside[:2] + inside[3:]], atol=1e-6)
    assert torch.allclose(out.video, out.mask * out.foreground + (1 - out.mask) * out.background, atol=1e-4)


def test_composed_sub_pixel_moves_read_the_photo_once_instead_of_blurring_it_twice():
    """Half a pixel right, then half a pixel back: composed, the photo itself; re-sampled, a blur of it."""
    from vgpred.models.motion import compose_piece

    torch.manual_seed(0)
    b, c, h, w = 1, 3, 32, 32
    photo = torch.rand(b, c, h, w) * 2 - 1
    ones = torch.ones(b, 1, h, w)
    h1 = _shift(0.5, 0, b, h, w)
    fg1 = _warp(photo, h1)
    last = _one_frame(fg1, fg1, torch.zeros(b, c, h, w), ones, h1)
    back = _shift(-0.5, 0, b, h, w)
    piece = _one_frame(torch.zeros(b, c, h, w), torch.zeros(b, c, h, w), torch.zeros(b, c, h, w), ones, back)
    composed = compose_piece(photo, last, piece).video[:, :, 0]
    resampled = _warp(fg1, back)
    inside = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    assert torch.allclose(composed[inside], photo[inside], atol=1e-5)

    def sharpness(x):
        return float((x[..., :, 1:] - x[..., :, :-1]).abs().mean())

    assert sharpness(resampled[inside]) < 0.8 * sharpness(photo[inside])

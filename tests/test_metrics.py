"""vgpred.metrics: pixel metrics against scikit-image on real photos, Frechet distance
against SciPy, LPIPS/FVD availability and protocol with stand-in networks the tests
build themselves, the project's feature network on real Fashion-MNIST items, best-of-K."""
from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
import scipy.linalg
import skimage.filters
import skimage.metrics
import torch
import torch.nn.functional as F
from conftest import FASHION_MNIST, skimage_photo
from PIL import Image

from vgpred.errors import VgpredError
from vgpred.metrics import METRICS, MetricUnavailable
from vgpred.metrics.features import (
    VideoFeatureNet, frechet_projectnet, load_feature_net, save_feature_net, train_feature_net,
)
from vgpred.metrics.frechet import FeatureStats, frechet_distance, frechet_distance_from_features
from vgpred.metrics.fvd import I3DDetector, frechet_video_distance
from vgpred.metrics.lpips_metric import ALEXNET_FILE, LPIPSMetric
from vgpred.metrics.pixel import PSNR_CAP_DB, average_scores, mae, mse, psnr, ssim
from vgpred.metrics.sharpness import SHARPNESS_EPS, gradient_energy, sharpness
from vgpred.metrics.stochastic import best_of_k, best_sample_index, mean_of_k

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "camera.png"]


def load_photo(name: str, size: tuple[int, int] = (72, 56)) -> np.ndarray:
    """A scikit-image photo resized to (W, H) = size, float64 in [0, 1], (H, W) or (H, W, 3)."""
    image = Image.open(skimage_photo(name))
    return np.asarray(image.resize(size, Image.BILINEAR), dtype=np.float64) / 255.0


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W[, 3]) in [0, 1] -> (3 or 1, H, W) in [-1, 1], float32."""
    chw = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    return torch.from_numpy(chw).float() * 2 - 1


def to_unit(t: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] -> the exact [0, 1] float64 array the metrics see."""
    return ((t.double() + 1) / 2).permute(1, 2, 0).numpy()


def distort(image: np.ndarray, kind: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    channel_axis = -1 if image.ndim == 3 else None
    if kind == "noise":
        return np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1)
    if kind == "blur":
        return skimage.filters.gaussian(image, sigma=1.2, channel_axis=channel_axis)
    if kind == "shift":
        return np.roll(image, (2, -3), axis=(0, 1))
    if kind == "sharpen":
        return np.clip(skimage.filters.unsharp_mask(image, radius=1.0, amount=1.0, channel_axis=channel_axis), 0, 1)
    return np.clip(image * 0.8 + 0.1, 0, 1)  # contrast


def pan_video(name: str, frames: int, size: int, step: int = 3, start: int = 0) -> torch.Tensor:
    """A real camera pan: ``frames`` crops of ``size`` pixels sliding over a photo, (C, T, S, S)."""
    photo = to_tensor(load_photo(name, (size + step * frames + start, size + 8)))
    return torch.stack([photo[:, 4 : 4 + size, start + step * t : start + step * t + size] for t in range(frames)], 1)


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return skimage.metrics.structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1,
        channel_axis=-1 if a.ndim == 3 else None,
    )


# ---------------------------------------------------------------- pixel metrics


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("kind", ["noise", "blur", "shift", "contrast"])
def test_psnr_ssim_mse_match_scikit_image_on_photos(name, kind):
    target = load_photo(name)
    pred = distort(target, kind)
    t, p = to_tensor(target)[None], to_tensor(pred)[None]
    a, b = to_unit(t[0]), to_unit(p[0])  # float32 rounding included in the reference
    if a.shape[-1] == 1:
        a, b = a[..., 0], b[..., 0]
    assert ssim(p, t).item() == pytest.approx(skimage_ssim(a, b), abs=1e-3)
    assert psnr(p, t).item() == pytest.approx(skimage.metrics.peak_signal_noise_ratio(a, b, data_range=1), abs=1e-3)
    assert mse(p, t).item() == pytest.approx(skimage.metrics.mean_squared_error(a, b), rel=1e-4)
    assert mae(p, t).item() == pytest.approx(np.abs(a - b).mean(), rel=1e-4)
    assert ssim(p, t).item() < 0.999  # every distortion is visible to SSIM


@pytest.mark.parametrize("device", DEVICES)
def test_batched_video_equals_per_frame_loop(device):
    target = torch.stack([pan_video("astronaut.png", 5, 40), pan_video("coffee.png", 5, 40)])  # (2, 3, 5, 40, 40)
    pred = (target + torch.randn(target.shape, generator=torch.Generator().manual_seed(1)) * 0.1).clamp(-1, 1)
    pred = pred * torch.linspace(1.0, 0.6, 5).view(1, 1, 5, 1, 1)  # error grows with the horizon
    for metric in (psnr, ssim, mse, mae):
        batched = metric(pred.to(device), target.to(device)).cpu()
        assert batched.shape == (2, 5)
        looped = torch.tensor([[metric(pred[b, :, t][None], target[b, :, t][None]).item() for t in range(5)] for b in range(2)])
        torch.testing.assert_close(batched, looped, rtol=1e-5, atol=1e-5)
    frame = (1, 3)
    reference = skimage_ssim(to_unit(pred[frame[0], :, frame[1]]), to_unit(target[frame[0], :, frame[1]]))
    assert ssim(pred, target)[frame].item() == pytest.approx(reference, abs=1e-3)
    assert (psnr(pred, target)[:, 0] > psnr(pred, target)[:, -1]).all()


def test_identical_frames_give_ssim_one_and_infinite_psnr_capped_when_averaged():
    video = pan_video("chelsea.png", 4, 32)[None]
    noisy = video + 0.1 * torch.randn(video.shape, generator=torch.Generator().manual_seed(0))
    pred = torch.cat([video[:, :, :2], noisy[:, :, 2:]], dim=2)  # frames 0, 1 exact
    values = psnr(pred, video)
    assert torch.isinf(values[0, :2]).all() and values[0, :2].gt(0).all()
    assert torch.isfinite(values[0, 2:]).all()
    torch.testing.assert_close(ssim(video, video), torch.ones(1, 4))
    assert torch.isinf(average_scores(values)).any()  # uncapped: reported as +inf, never NaN
    capped = average_scores(values, cap=METRICS.get("psnr").cap)
    assert METRICS.get("psnr").cap == PSNR_CAP_DB == 100.0
    assert capped[:2].tolist() == [100.0, 100.0]
    assert capped[2:].tolist() == values[0, 2:].tolist()
    assert not torch.isnan(average_scores(values, cap=PSNR_CAP_DB).mean())


def test_mse_frame_sum_is_pixel_mean_times_frame_size():
    target = pan_video("coffee.png", 3, 32)[None]
    pred = target.flip(-1)
    c, h, w = 3, 32, 32
    torch.testing.assert_close(mse(pred, target, reduction="frame_sum"), mse(pred, target) * c * h * w, rtol=1e-5, atol=0)
    torch.testing.assert_close(mae(pred, target, reduction="frame_sum"), mae(pred, target) * c * h * w, rtol=1e-5, atol=0)
    unit_error = ((pred - target) / 2).pow(2).sum(dim=(1, 3, 4))  # sum over C, H, W on [0, 1] pixels
    torch.testing.assert_close(METRICS.get("mse_frame_sum").load()(pred, target), unit_error)
    torch.testing.assert_close(psnr(pred, target), -10 * torch.log10(mse(pred, target)))
    with pytest.raises(VgpredError, match="unknown reduction 'frame_mean'"):
        mse(pred, target, reduction="frame_mean")


@pytest.mark.parametrize(
    ("pred_shape", "target_shape"),
    [((2, 3, 4, 16, 16), (2, 3, 4, 16, 17)), ((3, 16, 16), (3, 16, 16)), ((1, 2, 3, 4, 5, 6), (1, 2, 3, 4, 5, 6))],
)
def test_shape_errors_state_the_expected_shape(pred_shape, target_shape):
    for metric in (psnr, ssim, mse, mae):
        with pytest.raises(VgpredError) as err:
            metric(torch.zeros(pred_shape), torch.zeros(target_shape))
        message = str(err.value)
        assert "(B, C, T, H, W) or (B, C, H, W)" in message and str(tuple(pred_shape)) in message


def test_other_input_errors():
    with pytest.raises(VgpredError, match="float tensors"):
        psnr(torch.zeros(1, 3, 16, 16, dtype=torch.uint8), torch.zeros(1, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(VgpredError, match="ssim: frames must be at least 11x11 pixels; got 8x20"):
        ssim(torch.zeros(1, 1, 8, 20), torch.zeros(1, 1, 8, 20))


# ---------------------------------------------------------------- sharpness


def energy_by_hand(image: np.ndarray) -> float:
    """Mean |dx| + mean |dy| of an (H, W[, C]) image in [0, 1], float64."""
    return float(np.abs(np.diff(image, axis=1)).mean() + np.abs(np.diff(image, axis=0)).mean())


@pytest.mark.parametrize("name", PHOTOS)
def test_sharpness_of_blurred_identical_noisy_and_sharpened_copies(name):
    photo = load_photo(name)
    kinds = ["identical", "blur", "noise", "sharpen"]
    frames = [photo if kind == "identical" else distort(photo, kind) for kind in kinds]
    video = torch.stack([to_tensor(f) for f in frames], dim=1)[None]  # (1, C, 4, H, W)
    values = sharpness(video, to_tensor(photo)[None])
    assert values.shape == (1, 4)
    identical, blurred, noisy, sharpened = values[0].tolist()
    assert identical == 1.0  # exactly: the same computation on the same pixels
    assert blurred < 0.8 and noisy > 1.2 and sharpened > 1.2
    ref = energy_by_hand(to_unit(to_tensor(photo)))
    expected = [(energy_by_hand(to_unit(to_tensor(f))) + SHARPNESS_EPS) / (ref + SHARPNESS_EPS) for f in frames]
    assert values[0].tolist() == pytest.approx(expected, rel=1e-5)


def test_sharpness_known_values_flat_frames_and_batching():
    edge = torch.full((1, 8, 8), -1.0)
    edge[..., 3:] = 1.0  # one black -> white step per row: mean |dx| = 1/7 on [0, 1] pixels, |dy| = 0
    stripe = edge.clone()
    stripe[..., 6:] = -1.0  # two steps per row: 2/7
    assert float(gradient_energy(edge)) == pytest.approx(1 / 7)
    flat = torch.zeros(1, 8, 8)
    video = torch.stack([edge, stripe, flat], dim=1)[None]  # (1, 1, 3, 8, 8)
    expected = [1.0, (2 / 7 + SHARPNESS_EPS) / (1 / 7 + SHARPNESS_EPS), SHARPNESS_EPS / (1 / 7 + SHARPNESS_EPS)]
    torch.testing.assert_close(sharpness(video, edge[None]), torch.tensor([expected]))
    assert sharpness(video, flat[None])[0, 2].item() == 1.0  # flat against flat: finite, 1
    clips = torch.stack([pan_video("astronaut.png", 4, 24), pan_video("coffee.png", 4, 24)])  # (2, 3, 4, 24, 24)
    batched = sharpness(clips, clips[:, :, 0])
    looped = torch.cat([sharpness(clips[b:b + 1], clips[b:b + 1, :, 0]) for b in range(2)])
    torch.testing.assert_close(batched, looped)
    assert batched[:, 0].tolist() == [1.0, 1.0]
    assert sharpness(clips.bfloat16(), clips[:, :, 0].bfloat16()).dtype == torch.float32


@pytest.mark.parametrize("device", DEVICES)
def test_sharpness_runs_on_any_device(device):
    clip = pan_video("chelsea.png", 3, 24)[None]
    blurred = torch.from_numpy(skimage.filters.gaussian(clip.numpy(), sigma=(0, 0, 0, 1.5, 1.5))).float()
    values = sharpness(blurred.to(device), clip[:, :, 0].to(device)).cpu()
    assert values.shape == (1, 3) and (values < 0.8).all()
    torch.testing.assert_close(values, sharpness(blurred, clip[:, :, 0]), rtol=1e-5, atol=1e-6)


def test_sharpness_errors_state_the_expected_shapes():
    with pytest.raises(VgpredError) as err:
        sharpness(torch.zeros(2, 3, 4, 16, 16), torch.zeros(2, 3, 16, 8))
    assert "video must be (B, C, T, H, W) and reference (B, C, H, W)" in str(err.value)
    assert "(2, 3, 4, 16, 16)" in str(err.value) and "(2, 3, 16, 8)" in str(err.value)
    with pytest.raises(VgpredError, match="sharpness: frames must be at least 2x2 pixels; got 1x16"):
        sharpness(torch.zeros(1, 1, 2, 1, 16), torch.zeros(1, 1, 1, 16))
    with pytest.raises(VgpredError, match="float tensors"):
        sharpness(torch.zeros(1, 1, 2, 4, 4, dtype=torch.uint8), torch.zeros(1, 1, 4, 4, dtype=torch.uint8))


# ---------------------------------------------------------------- Frechet distance


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


@pytest.mark.parametrize("dim", [2, 16, 64])
def test_frechet_distance_matches_scipy(dim):
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(300, dim)) @ rng.normal(size=(dim, dim))
    b = rng.normal(size=(200, dim)) @ rng.normal(size=(dim, dim)) * 0.7 + 0.5
    expected = scipy_frechet(a, b)
    assert frechet_distance_from_features(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(expected, rel=1e-8)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    assert frechet_distance(a.mean(0), s1, b.mean(0), s2) == pytest.approx(expected, rel=1e-8)
    assert abs(frechet_distance_from_features(torch.from_numpy(a), torch.from_numpy(a))) < 1e-7 * np.trace(s1)


def test_streamed_feature_stats_equal_one_pass_and_need_two_samples():
    features = torch.randn(50, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3 + 1
    stats = FeatureStats()
    for chunk in features.split(7):
        stats.add(chunk)
    mean, cov = stats.mean_cov()
    torch.testing.assert_close(mean, features.mean(0))
    torch.testing.assert_close(cov, torch.from_numpy(np.cov(features.numpy(), rowvar=False)))
    one = FeatureStats()
    one.add(features[:1])
    with pytest.raises(VgpredError, match="at least 2 samples"):
        one.mean_cov()
    with pytest.raises(VgpredError, match=r"expected means \(D,\) and covariances \(D, D\)"):
        frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))


# ---------------------------------------------------------------- LPIPS


@pytest.fixture
def no_downloads(monkeypatch, tmp_path):
    """An empty torch hub cache and a network that fails the test if anything tries a download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def refuse(*args, **kwargs):
        raise AssertionError(f"download attempted: {args}")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    return tmp_path / "torch-home"


@pytest.fixture
def random_alexnet(tmp_path):
    """A stand-in for the ImageNet AlexNet: a randomly initialised torchvision AlexNet state dict."""
    import torchvision

    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).state_dict()
    path = tmp_path / "random-alexnet.pth"
    torch.save(state, path)
    return path, state


def test_lpips_unavailable_without_weights_and_never_downloads(no_downloads):
    with pytest.raises(MetricUnavailable) as err:
        LPIPSMetric.load()
    assert err.value.metric == "lpips"
    message = str(err.value)
    assert message.startswith("lpips: unavailable: AlexNet ImageNet weights not found at")
    assert str(no_downloads / "hub" / "checkpoints" / ALEXNET_FILE) in message and "\n" not in message
    assert isinstance(err.value, VgpredError)
    with pytest.raises(MetricUnavailable, match="missing.pth"):
        LPIPSMetric.load(no_downloads / "missing.pth")


@pytest.mark.parametrize("device", DEVICES)
def test_lpips_runs_with_a_supplied_random_trunk(no_downloads, random_alexnet, device):
    path, state = random_alexnet
    metric = LPIPSMetric.load(path, device=device, chunk=3)
    torch.testing.assert_close(metric.model.net.state_dict()["slice3.6.weight"].cpu(), state["features.6.weight"])
    target = torch.stack([pan_video("astronaut.png", 4, 48), pan_video("chelsea.png", 4, 48)])
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(0))
    slight, strong = (target + 0.05 * noise).clamp(-1, 1), (target + 0.6 * noise).clamp(-1, 1)
    values = metric(strong, target)
    assert values.shape == (2, 4) and values.device == target.device
    torch.testing.assert_close(metric(target, target), torch.zeros(2, 4), atol=1e-6, rtol=0)
    assert (metric(slight, target) < values).all()
    frame = metric(strong[:, :, 2], target[:, :, 2])  # images (B, C, H, W) -> (B,)
    torch.testing.assert_close(frame, values[:, 2], rtol=1e-4, atol=1e-6)
    grey = metric(strong[:, :1], target[:, :1])
    assert grey.shape == (2, 4) and (grey > 0).all()


def test_lpips_finds_the_trunk_in_the_hub_cache_and_rejects_bad_files(no_downloads, random_alexnet, tmp_path):
    path, _ = random_alexnet
    cache = no_downloads / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / ALEXNET_FILE).write_bytes(path.read_bytes())
    metric = LPIPSMetric.load()
    assert metric.backbone == cache / ALEXNET_FILE
    with pytest.raises(VgpredError, match="lpips: frames must be at least 31x31 pixels for AlexNet; got 28x28"):
        metric(torch.zeros(1, 3, 28, 28), torch.zeros(1, 3, 28, 28))
    bad = tmp_path / "not-alexnet.pth"
    torch.save({"weight": torch.zeros(3)}, bad)
    with pytest.raises(VgpredError, match="not-alexnet.pth: not a torchvision AlexNet state dict"):
        LPIPSMetric.load(bad)


# ---------------------------------------------------------------- FVD (with a stand-in, not I3D)


class StandInStyleGANV(torch.nn.Module):
    """Mimics the StyleGAN-V TorchScript's call signature; a fixed random projection, NOT I3D."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3 * 16 * 4 * 4, 400)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False):
        if rescale:
            x = x / 127.5 - 1
        if resize:
            x = F.interpolate(x, size=(x.shape[2], 224, 224), mode="trilinear", align_corners=False)
        pooled = F.adaptive_avg_pool3d(x, (16, 4, 4)).flatten(1)
        logits = self.proj(pooled)
        return logits if return_features else logits.softmax(-1)


class StandInPlain(torch.nn.Module):
    """A plain (B, 3, T, 224, 224) in [-1, 1] -> (B, 32) module, NOT I3D; refuses other inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3 * 4 * 4 * 4, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 3 or x.shape[3] != 224 or x.shape[4] != 224 or x.abs().max() > 1.0 + 1e-6:
            raise RuntimeError("expected (B, 3, T, 224, 224) in [-1, 1]")
        return self.proj(F.adaptive_avg_pool3d(x, 4).flatten(1))


def video_sets() -> tuple[torch.Tensor, torch.Tensor]:
    real = torch.stack([pan_video(name, 18, 32, step=2, start=s) for name in PHOTOS[:3] for s in (0, 5)])
    fake = (real + 0.3 * torch.randn(real.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    return real.expand(-1, 3, -1, -1, -1).contiguous(), fake.expand(-1, 3, -1, -1, -1).contiguous()


def test_fvd_unavailable_without_the_torchscript_file(no_downloads, tmp_path):
    with pytest.raises(MetricUnavailable, match="^fvd: unavailable: I3D TorchScript not found at .*i3d_torchscript.pt"):
        I3DDetector.load()
    with pytest.raises(MetricUnavailable, match="elsewhere.pt"):
        I3DDetector.load(tmp_path / "elsewhere.pt")
    not_script = tmp_path / "weights.pt"
    not_script.write_bytes(b"not a torchscript archive")
    with pytest.raises(VgpredError, match="weights.pt: not a TorchScript file"):
        I3DDetector.load(not_script)
    with pytest.raises(VgpredError, match="unknown I3D input convention 'tf-hub'"):
        I3DDetector.load(not_script, convention="tf-hub")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
@pytest.mark.parametrize("device", DEVICES)
def test_fvd_protocol_with_a_stylegan_v_style_stand_in(tmp_path, device):
    torch.manual_seed(0)
    module = StandInStyleGANV().eval()
    path = tmp_path / "stand-in.pt"
    torch.jit.script(module).save(str(path))
    detector = I3DDetector.load(path, device=device)
    real, fake = video_sets()
    result = frechet_video_distance(detector, real, fake, batch_size=4)
    # The documented protocol, applied by hand: first 16 frames, 0..255 integer levels, keyword flags.
    with torch.no_grad():
        levels = lambda v: ((v[:, :, :16] + 1) * 127.5).round().clamp(0, 255)  # noqa: E731
        kwargs = dict(rescale=True, resize=True, return_features=True)
        expected = frechet_distance_from_features(module(levels(real), **kwargs), module(levels(fake), **kwargs))
    assert result.value == pytest.approx(expected, rel=1e-5)
    assert result.value > 0 and (result.num_real, result.num_fake) == (6, 6)
    assert result.name == "fvd" and "logits (400-d" in result.features and "stand-in.pt" in result.description
    assert frechet_video_distance(detector, real, real).value == pytest.approx(0, abs=1e-9)
    assert frechet_video_distance(detector, list(real.split(4)), fake).value == pytest.approx(result.value, rel=1e-6)
    with pytest.raises(VgpredError, match=r"fvd: videos must be \(B, C, T, H, W\) with C = 1 or 3 and T >= 16"):
        detector.features(real[:, :, :15])


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_fvd_plain_convention_resizes_to_224(tmp_path):
    torch.manual_seed(0)
    module = StandInPlain().eval()
    path = tmp_path / "plain.pt"
    torch.jit.script(module).save(str(path))
    detector = I3DDetector.load(path, convention="plain")
    real, fake = video_sets()
    result = frechet_video_distance(detector, real, fake)
    with torch.no_grad():
        resize = lambda v: F.interpolate(  # noqa: E731
            v[:, :, :16].transpose(1, 2).reshape(-1, 3, 32, 32), size=(224, 224), mode="bilinear", align_corners=False
        ).reshape(v.shape[0], 16, 3, 224, 224).transpose(1, 2)
        expected = frechet_distance_from_features(module(resize(real)), module(resize(fake)))
    assert result.value == pytest.approx(expected, rel=1e-5)
    assert result.features == "I3D output (32-d)"


# ---------------------------------------------------------------- project feature network


def fashion_items(count: int) -> torch.Tensor:
    """The first ``count`` Fashion-MNIST test images, (N, 12, 12) in [0, 1]."""
    with gzip.open(FASHION_MNIST / "t10k-images-idx3-ubyte.gz") as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16)[: count * 784]
    images = torch.from_numpy(data.reshape(count, 1, 28, 28).astype(np.float32) / 255)
    return F.interpolate(images, size=(12, 12), mode="area")[:, 0]


def moving_clips(items: torch.Tensor, static: bool = False) -> list[tuple[torch.Tensor, int]]:
    """Each item moves 2 px per frame in one of 4 directions (the label) on a 24x24 canvas, 8 frames."""
    clips = []
    for i, item in enumerate(items):
        direction = i % 4
        dy, dx = [(0, 1), (0, -1), (1, 0), (-1, 0)][direction]
        clip = torch.full((1, 8, 24, 24), -1.0)
        for t in range(8):
            step = 0 if static else t
            y, x = 6 + dy * (step - 3), 6 + dx * (step - 3)
            y, x = min(max(y, 0), 12), min(max(x, 0), 12)
            clip[0, t, y : y + 12, x : x + 12] = item * 2 - 1
        clips.append((clip, direction))
    return clips


def test_feature_net_learns_real_motion_saves_and_scores_sets(tmp_path):
    items = fashion_items(480)
    train, held_out = moving_clips(items[:320]), moving_clips(items[320:])
    net = train_feature_net(train, num_classes=4, data="moving Fashion-MNIST (test)", epochs=3, batch_size=32, seed=0)
    assert 1e5 < sum(p.numel() for p in net.parameters()) < 1e6
    clips = torch.stack([c for c, _ in held_out])
    labels = torch.tensor([label for _, label in held_out])
    accuracy = (net.predict_labels(clips) == labels).float().mean().item()
    assert accuracy > 0.9

    save_feature_net(net, tmp_path / "featnet")
    assert sorted(p.name for p in (tmp_path / "featnet").iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_feature_net(tmp_path / "featnet")
    torch.testing.assert_close(loaded.features(clips), net.features(clips).detach())
    assert loaded.config() == net.config()

    still = torch.stack([c for c, _ in moving_clips(items[320:], static=True)])
    same = frechet_projectnet(loaded, clips[:80], clips[80:])
    frozen = frechet_projectnet(loaded, clips[:80], still[80:])
    assert same.value < frozen.value
    assert frozen.name == "frechet_projectnet" and "not FVD" in frozen.description
    assert "moving Fashion-MNIST (test)" in frozen.description
    with pytest.raises(VgpredError, match=r"feature network: videos must be \(B, 1, 8, 24, 24\); got \(2, 1, 8, 32, 32\)"):
        loaded.features(torch.zeros(2, 1, 8, 32, 32))
    with pytest.raises(MetricUnavailable, match="frechet_projectnet: unavailable: no trained feature network"):
        load_feature_net(tmp_path / "empty")


@pytest.mark.parametrize("device", DEVICES)
def test_feature_net_runs_on_any_device(device):
    torch.manual_seed(0)
    net = VideoFeatureNet(3, 16, 32, 5, feat_dim=24, width=8, data="photo pans").to(device).eval()
    real, fake = video_sets()  # CPU tensors; the network moves them to its device
    with torch.no_grad():
        assert net.features(real[:, :, :16]).shape == (6, 24) and net(real[:, :, :16]).device.type == device
    assert net.predict_labels(real[:, :, :16]).shape == (6,)
    result = frechet_projectnet(net, real[:, :, :16], fake[:, :, :16], batch_size=4)
    assert result.features == "vgpred VideoFeatureNet features (24-d)"
    same = frechet_projectnet(net, real[:, :, :16], real[:, :, :16], batch_size=4).value
    assert same == pytest.approx(0, abs=1e-6) and result.value > 1e-3  # a set against itself: 0; other videos: not


def test_feature_net_rejects_other_formats(tmp_path):
    save_feature_net(VideoFeatureNet(1, 4, 16, 3, feat_dim=16, width=8, data="x"), tmp_path)
    config = (tmp_path / "config.json").read_text().replace('"format_version": 1', '"format_version": 99')
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(VgpredError, match="config.json: expected format 'vgpred-feature-net' version 1; got .* version 99"):
        load_feature_net(tmp_path)


# ---------------------------------------------------------------- best-of-K / mean-of-K


def test_best_of_k_per_video_and_per_frame():
    scores = torch.tensor(
        [[[10.0, 10.0, 10.0]], [[30.0, 5.0, 5.0]], [[math.inf, 1.0, 1.0]]]
    )  # (K=3, B=1, T=3)
    # per video (by mean over frames): sample 2 wins uncapped (inf), sample 2 with a cap of 100 (34 vs 13.3 vs 10)
    assert best_sample_index(scores, higher_is_better=True).tolist() == [2]
    assert best_of_k(scores, True, cap=100.0).tolist() == [[100.0, 1.0, 1.0]]
    finite = scores.clone()
    finite[2, 0, 0] = 20.0  # sample 2 now means 7.3, sample 1 13.3, sample 0 10
    assert best_of_k(finite, True).tolist() == [[30.0, 5.0, 5.0]]
    assert best_of_k(finite, True, per_frame=True).tolist() == [[30.0, 10.0, 10.0]]
    assert best_of_k(finite, False).tolist() == [[20.0, 1.0, 1.0]]
    assert best_of_k(finite, False, per_frame=True).tolist() == [[10.0, 1.0, 1.0]]
    torch.testing.assert_close(mean_of_k(scores, cap=100.0), torch.tensor([[140 / 3, 16 / 3, 16 / 3]]))
    assert torch.isinf(mean_of_k(scores)[0, 0])
    assert best_of_k(finite[:, :, 0], True).tolist() == [30.0]  # images: (K, B) -> (B,)
    with pytest.raises(VgpredError, match=r"best_of_k: scores must be \(K, B, T\) or \(K, B\)"):
        best_of_k(torch.zeros(4), True)


def test_best_of_k_on_sampled_futures_of_a_real_pan():
    target = pan_video("astronaut.png", 4, 32)[None].expand(3, -1, -1, -1, -1)  # B = 3
    gen = torch.Generator().manual_seed(0)
    samples = [(target + s * torch.randn(target.shape, generator=gen)).clamp(-1, 1) for s in (0.05, 0.2, 0.4, 0.1)]
    scores = torch.stack([psnr(sample, target) for sample in samples])  # (K=4, B=3, T=4)
    best, per_frame, mean = best_of_k(scores, True), best_of_k(scores, True, per_frame=True), mean_of_k(scores)
    torch.testing.assert_close(best, scores[0])  # the least noisy sample wins every video
    assert (per_frame >= best).all() and (best > mean).all()
    lpips_like = torch.stack([mse(sample, target) for sample in samples])
    torch.testing.assert_close(best_of_k(lpips_like, higher_is_better=False), lpips_like[0])


# ---------------------------------------------------------------- registry


def test_registry_describes_every_metric():
    assert {"psnr", "ssim", "mse", "mae", "sharpness", "lpips", "fvd", "frechet_projectnet"} <= set(METRICS.names())
    for name in METRICS:
        spec = METRICS.get(name)
        assert spec.kind in ("per_frame", "distributional", "statistic") and spec.description
        assert "\n" not in spec.description and (spec.higher_is_better is None) == (spec.kind == "statistic")
        assert callable(spec.load())
    assert [METRICS.get(n).higher_is_better for n in ("psnr", "ssim", "mse", "mae", "lpips", "fvd")] == [
        True, True, False, False, False, False,
    ]
    assert METRICS.get("fvd").kind == "distributional" and METRICS.get("lpips").needs_weights
    assert METRICS.get("sharpness").kind == "statistic" and METRICS.get("sharpness").load() is sharpness
    assert "not FVD" in METRICS.get("frechet_projectnet").description
    with pytest.raises(VgpredError, match="unknown metric 'fid'"):
        METRICS.get("fid")

"""Pixel metrics per frame: PSNR, SSIM, MSE and MAE.

Inputs are ``pred`` and ``target`` of the same shape, videos ``(B, C, T, H, W)``
or images ``(B, C, H, W)``, with values in [-1, 1]. All four metrics map pixels
to [0, 1] (``(x + 1) / 2``, no clamping) and return one value per frame:
``(B, T)`` for videos, ``(B,)`` for images.

Averaging: PSNR of identical frames is +inf. :func:`average_scores` clamps each
frame at a cap before the mean; the registry gives PSNR the cap
``PSNR_CAP_DB = 100`` dB, so a perfect frame counts as 100 dB instead of making
the average infinite.
"""
from __future__ import annotations

from typing import Callable

import torch
from kornia.filters import filter2d, get_gaussian_kernel2d
from torch import Tensor

from vgpred.errors import VgpredError
from vgpred.registry import Registry

PSNR_CAP_DB = 100.0
SSIM_WINDOW = 11  # Gaussian window side, as scikit-image with sigma=1.5, truncate=3.5
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03

# How the per-pixel errors of one frame, flattened to (N, C*H*W), become one value.
_REDUCTIONS = Registry[Callable[..., Tensor]]("reduction")
_REDUCTIONS.register("pixel")(torch.mean)  # mean over C, H, W
_REDUCTIONS.register("frame_sum")(torch.sum)  # sum over C, H, W


def frames_of(pred: Tensor, target: Tensor, metric: str) -> tuple[Tensor, Tensor, tuple[int, ...]]:
    """Check a (pred, target) pair and flatten it to frames.

    Returns ``(pred_frames, target_frames, out_shape)`` where the frames are
    ``(N, C, H, W)`` with ``N = B * T`` (video) or ``N = B`` (image), and a
    per-frame result of shape ``(N,)`` reshapes to ``out_shape`` (``(B, T)`` or ``(B,)``).
    """
    if (
        not isinstance(pred, Tensor)
        or not isinstance(target, Tensor)
        or pred.shape != target.shape
        or pred.dim() not in (4, 5)
    ):
        shapes = [tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__ for x in (pred, target)]
        raise VgpredError(
            f"{metric}: pred and target must be tensors of the same shape (B, C, T, H, W) "
            f"or (B, C, H, W); got pred {shapes[0]} and target {shapes[1]}"
        )
    if not (pred.is_floating_point() and target.is_floating_point()):
        raise VgpredError(
            f"{metric}: pred and target must be float tensors in [-1, 1]; "
            f"got {pred.dtype} and {target.dtype}"
        )
    if pred.dim() == 4:
        return pred, target, (pred.shape[0],)
    b, c, t, h, w = pred.shape

    def flat(x: Tensor) -> Tensor:
        return x.transpose(1, 2).reshape(b * t, c, h, w)

    return flat(pred), flat(target), (b, t)


def _unit(x: Tensor) -> Tensor:
    """[-1, 1] -> [0, 1], computed in at least float32."""
    return (x.float() if x.dtype in (torch.float16, torch.bfloat16) else x).add(1.0).mul(0.5)


def _error(pred: Tensor, target: Tensor, metric: str, power: int, reduction: str) -> Tensor:
    reduce = _REDUCTIONS.get(reduction)
    p, q, shape = frames_of(pred, target, metric)
    err = (_unit(p) - _unit(q)).abs().pow(power).flatten(1)
    return reduce(err, dim=1).reshape(shape)


def mse(pred: Tensor, target: Tensor, reduction: str = "pixel") -> Tensor:
    """Squared error per frame on pixels mapped to [0, 1].

    ``reduction="pixel"`` (default): mean over C, H, W of each frame.
    ``reduction="frame_sum"``: sum over C, H, W (= pixel value * C * H * W), the
    per-frame convention some papers report.

    Args:
        pred, target: ``(B, C, T, H, W)`` or ``(B, C, H, W)`` in [-1, 1].
    Returns:
        ``(B, T)`` or ``(B,)``.
    """
    return _error(pred, target, "mse", 2, reduction)


def mae(pred: Tensor, target: Tensor, reduction: str = "pixel") -> Tensor:
    """Absolute error per frame on pixels mapped to [0, 1]; reductions as :func:`mse`."""
    return _error(pred, target, "mae", 1, reduction)


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """Peak signal-to-noise ratio in dB per frame, ``10 log10(1 / MSE)`` on [0, 1] pixels.

    MSE is the mean over C, H, W of each frame (as scikit-image's
    ``peak_signal_noise_ratio(..., data_range=1)``). Identical frames give
    ``+inf``; :func:`average_scores` with ``cap=PSNR_CAP_DB`` averages them as 100 dB.

    Args:
        pred, target: ``(B, C, T, H, W)`` or ``(B, C, H, W)`` in [-1, 1].
    Returns:
        ``(B, T)`` or ``(B,)``, in dB.

    Example:
        >>> x = torch.zeros(2, 3, 4, 16, 16)
        >>> psnr(x, x + 0.2).shape  # 0.2 in [-1, 1] is 0.1 in [0, 1]: 20 dB
        torch.Size([2, 4])
    """
    p, q, shape = frames_of(pred, target, "psnr")
    err = (_unit(p) - _unit(q)).pow(2).flatten(1).mean(dim=1)
    return (-10.0 * torch.log10(err)).reshape(shape)


def ssim(pred: Tensor, target: Tensor) -> Tensor:
    """Structural similarity per frame on pixels mapped to [0, 1].

    Gaussian window 11x11, sigma 1.5, constants K1=0.01, K2=0.03 with data range 1,
    population (not sample) covariances, and the mean taken over the valid region
    only (no padding: a 5-pixel border is excluded) and over channels. This equals
    scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=...)``.

    Args:
        pred, target: ``(B, C, T, H, W)`` or ``(B, C, H, W)`` in [-1, 1], H, W >= 11.
    Returns:
        ``(B, T)`` or ``(B,)``; 1 for identical frames.
    """
    p, q, shape = frames_of(pred, target, "ssim")
    if min(p.shape[-2:]) < SSIM_WINDOW:
        raise VgpredError(
            f"ssim: frames must be at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels; "
            f"got {p.shape[-2]}x{p.shape[-1]}"
        )
    x, y = _unit(p), _unit(q)
    kernel = get_gaussian_kernel2d(SSIM_WINDOW, (SSIM_SIGMA, SSIM_SIGMA), device=x.device, dtype=x.dtype)
    n = x.shape[0]
    moments = filter2d(torch.cat([x, y, x * x, y * y, x * y]), kernel, padding="valid")
    mu_x, mu_y, xx, yy, xy = moments.split(n)
    var_x, var_y, cov = xx - mu_x * mu_x, yy - mu_y * mu_y, xy - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    s = (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(dim=1).reshape(shape)


def average_scores(scores: Tensor, cap: float | None = None) -> Tensor:
    """Mean over videos of per-frame scores, per horizon.

    Args:
        scores: ``(B, T)`` (or ``(B,)`` for images) from a per-frame metric.
        cap: if given, values are clamped to at most ``cap`` first (use
            ``PSNR_CAP_DB`` for PSNR so identical frames count as 100 dB, not +inf).
    Returns:
        ``(T,)`` (or a scalar); ``.mean()`` of it is the average over all frames.
    """
    if cap is not None:
        scores = scores.clamp(max=cap)
    return scores.mean(dim=0)

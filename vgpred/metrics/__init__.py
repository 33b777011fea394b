"""Metrics for predicted videos, by name, with their conventions stated.

Every metric is batched torch code that runs on any device. Inputs are videos
``(B, C, T, H, W)`` or images ``(B, C, H, W)`` with values in [-1, 1].

* Per-frame metrics (``kind="per_frame"``) compare a prediction with its target
  and return one value per frame, ``(B, T)`` (``(B,)`` for images); average them
  with :func:`vgpred.metrics.pixel.average_scores`, which applies the metric's
  ``cap`` (PSNR of identical frames is +inf and is capped at 100 dB there).
* Distributional metrics (``kind="distributional"``) compare two sets of videos
  through a feature network and return a :class:`FrechetResult`.
* Statistics (``kind="statistic"``) describe one video against the frame it was
  predicted from, ``(video (B, C, T, H, W), reference (B, C, H, W)) -> (B, T)``; they
  have no better direction (``higher_is_better`` None): a model's curve is read
  against the real clips' own, so they are averaged over samples and videos, never
  best-of-K.

``METRICS`` maps a name to a :class:`MetricSpec`; ``spec.load()`` returns the
callable. Importing this module does not import torch.

Example:
    >>> from vgpred.metrics import METRICS
    >>> spec = METRICS.get("psnr")
    >>> spec.higher_is_better, spec.cap
    (True, 100.0)
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from vgpred.errors import VgpredError
from vgpred.registry import Registry


class MetricUnavailable(VgpredError):
    """A metric cannot be computed here (its network weights are absent).

    ``metric`` is the metric's name and ``reason`` one line a report can print.
    """

    def __init__(self, metric: str, reason: str) -> None:
        super().__init__(f"{metric}: unavailable: {reason}")
        self.metric = metric
        self.reason = " ".join(reason.split())


@dataclass(frozen=True)
class MetricSpec:
    """What an evaluation report needs to know about one metric.

    ``entry`` is ``"module:attribute"``; ``options`` are keyword arguments bound
    to it by :meth:`load`. Per-frame entries without weights are functions
    ``(pred, target) -> (B, T)``; entries with ``needs_weights`` are classes or
    functions whose loader raises :class:`MetricUnavailable` when weights are absent.
    """

    name: str
    kind: str  # "per_frame", "distributional" or "statistic"
    higher_is_better: bool | None  # None: a statistic, read against the real clips' value
    description: str  # one line: pixel range, averaging, feature network
    entry: str
    needs_weights: bool = False
    cap: float | None = None  # per-frame values are clamped to this before averaging
    options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Callable[..., Any]:
        """Import and return the metric's callable (with ``options`` bound)."""
        module_name, attribute = self.entry.split(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        return functools.partial(obj, **self.options) if self.options else obj


METRICS = Registry[MetricSpec]("metric")

for _spec in (
    MetricSpec(
        "psnr", "per_frame", True,
        "PSNR in dB per frame on pixels mapped to [0, 1] (MSE over C, H, W); identical "
        "frames give +inf, clamped at 100 dB before averaging over frames and videos",
        "vgpred.metrics.pixel:psnr", cap=100.0,
    ),
    MetricSpec(
        "ssim", "per_frame", True,
        "SSIM per frame on pixels in [0, 1], 11x11 Gaussian window (sigma 1.5), valid "
        "region only, mean over channels (as scikit-image); averaged over frames and videos",
        "vgpred.metrics.pixel:ssim",
    ),
    MetricSpec(
        "mse", "per_frame", False,
        "mean squared error per pixel on [0, 1] pixels (mean over C, H, W per frame)",
        "vgpred.metrics.pixel:mse",
    ),
    MetricSpec(
        "mse_frame_sum", "per_frame", False,
        "squared error summed over C, H, W per frame on [0, 1] pixels (the per-frame "
        "sum some papers report; OpenSTL's MSE), averaged over frames and videos",
        "vgpred.metrics.pixel:mse", options={"reduction": "frame_sum"},
    ),
    MetricSpec(
        "mae_frame_sum", "per_frame", False,
        "absolute error summed over C, H, W per frame on [0, 1] pixels, averaged over frames and "
        "videos (OpenSTL's MAE, reported with mse_frame_sum for Moving MNIST)",
        "vgpred.metrics.pixel:mae", options={"reduction": "frame_sum"},
    ),
    MetricSpec(
        "mae", "per_frame", False,
        "mean absolute error per pixel on [0, 1] pixels (mean over C, H, W per frame)",
        "vgpred.metrics.pixel:mae",
    ),
    MetricSpec(
        "sharpness", "statistic", None,
        "gradient energy of frame t over that of the input frame: G = mean |dx| + mean |dy| of neighbouring "
        "pixels on [0, 1] pixels, (G(frame t) + 1e-4) / (G(input) + 1e-4), the input being the clip's frame 0 "
        "(unconditional and label models: their own frame 0); 1 = as sharp as the input, < 1 blurrier, > 1 "
        "sharper or noisier; per horizon, averaged over the K samples, then over videos (no best-of-K); the "
        "real clips' own ratio is the reference",
        "vgpred.metrics.sharpness:sharpness",
    ),
    MetricSpec(
        "lpips", "per_frame", False,
        "LPIPS v0.1 (AlexNet, ImageNet weights) per frame on [-1, 1] pixels, grey "
        "frames repeated to 3 channels; averaged over frames and videos",
        "vgpred.metrics.lpips_metric:LPIPSMetric", needs_weights=True,
    ),
    MetricSpec(
        "fvd", "distributional", False,
        "Frechet distance of Kinetics-400 I3D outputs (400-d logits for the StyleGAN-V "
        "TorchScript) over the first 16 frames of each video, resized to 224x224",
        "vgpred.metrics.fvd:frechet_video_distance", needs_weights=True,
    ),
    MetricSpec(
        "frechet_projectnet", "distributional", False,
        "Frechet distance of features of vgpred's own 3-D conv classifier trained on the "
        "evaluation data; not FVD, comparable only between runs using the same network",
        "vgpred.metrics.features:frechet_projectnet", needs_weights=True,
    ),
):
    METRICS.register(_spec.name)(_spec)
del _spec

# Public names served lazily so that importing this package stays cheap.
_LAZY = {
    "psnr": "pixel", "ssim": "pixel", "mse": "pixel", "mae": "pixel",
    "average_scores": "pixel", "PSNR_CAP_DB": "pixel",
    "frechet_distance": "frechet", "frechet_distance_from_features": "frechet",
    "FeatureStats": "frechet", "FrechetResult": "frechet",
    "LPIPSMetric": "lpips_metric",
    "I3DDetector": "fvd", "frechet_video_distance": "fvd",
    "best_of_k": "stochastic", "mean_of_k": "stochastic", "best_sample_index": "stochastic",
    "VideoFeatureNet": "features", "train_feature_net": "features",
    "save_feature_net": "features", "load_feature_net": "features",
    "frechet_projectnet": "features",
    "gradient_energy": "sharpness", "SHARPNESS_EPS": "sharpness",  # the function: vgpred.metrics.sharpness.sharpness
}

__all__ = ["METRICS", "MetricSpec", "MetricUnavailable", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"vgpred.metrics.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vgpred.metrics' has no attribute {name!r}")

"""Distributional metrics for the benchmark, fed batch by batch.

Each metric is a feature network plus a Frechet distance between Gaussians fitted
to the features of the real clips and of one model's videos. Statistics are
accumulated in :class:`~vgpred.metrics.frechet.FeatureStats`, so no set of videos
is ever held in memory. The networks load only from weights the user gives (or,
for FVD, the torch hub cache); otherwise the metric is unavailable with a reason.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from vgpred.errors import VgpredError
from vgpred.metrics import MetricUnavailable
from vgpred.metrics.frechet import FeatureStats, FrechetResult, frechet_of_stats
from vgpred.registry import Registry


@dataclass
class DistributionalMetric:
    """A loaded feature network: ``features`` maps ``(B, C, T, H, W)`` in [-1, 1] to ``(B, D)``."""

    name: str
    features: Callable[[Tensor], Tensor]
    space: Callable[[int], str]  # feature size -> name of the feature space
    description: str

    def result(self, real: FeatureStats, fake: FeatureStats) -> FrechetResult:
        """The Frechet distance between the two sets of statistics."""
        value = frechet_of_stats(real, fake)
        return FrechetResult(self.name, value, self.space(real.dim), real.count, fake.count, self.description)


_LOADERS = Registry[Callable[[str | os.PathLike | None, torch.device], DistributionalMetric]]("distributional metric")


@_LOADERS.register("fvd")
def _load_fvd(weights: str | os.PathLike | None, device: torch.device) -> DistributionalMetric:
    from vgpred.metrics.fvd import I3D_SIZE, I3DDetector, feature_space

    detector = I3DDetector.load(weights, device=device)
    description = (f"Frechet distance of I3D features from {detector.path.name} ({detector.convention} input "
                   f"convention), first {detector.clip_frames} frames resized to {I3D_SIZE}x{I3D_SIZE}")
    return DistributionalMetric("fvd", detector.features, feature_space, description)


@_LOADERS.register("frechet_projectnet")
def _load_projectnet(weights: str | os.PathLike | None, device: torch.device) -> DistributionalMetric:
    from vgpred.metrics.features import load_feature_net

    if weights is None:
        raise MetricUnavailable(
            "frechet_projectnet", "no feature network given (--feature-net DIR: a VideoFeatureNet trained on "
            "this data and saved with vgpred.metrics.features.save_feature_net)"
        )
    net = load_feature_net(weights, device=device)
    data = net.data or "unnamed data"
    description = (f"Frechet distance of features of vgpred's own classifier trained on {data}; "
                   "not FVD, comparable only between runs using the same network")
    return DistributionalMetric(
        "frechet_projectnet", net.features, lambda dim: f"vgpred VideoFeatureNet features ({dim}-d)", description
    )


def load_distributional(
    name: str, weights: str | os.PathLike | None, shape: tuple[int, int, int, int], num_clips: int,
    device: torch.device,
) -> DistributionalMetric:
    """Load metric ``name`` and check that it can score videos of ``shape`` = (C, T, H, W).

    Raises:
        MetricUnavailable: no weights, too few clips, or (for default weights) videos
            the network cannot take.
        VgpredError: ``weights`` was given but does not exist or cannot take these videos.
    """
    loader = _LOADERS.get(name)
    if weights is not None and not Path(weights).exists():
        raise VgpredError(f"{weights}: no such file or folder (weights for {name})")
    if num_clips < 2:
        raise MetricUnavailable(name, f"a Frechet distance needs at least 2 clips; evaluating {num_clips}")
    metric = loader(weights, device)
    try:
        with torch.inference_mode():
            metric.features(torch.zeros(2, *shape, device=device))
    except VgpredError as err:
        if weights is not None:
            raise VgpredError(f"{weights}: cannot score the evaluated videos {tuple(shape)} ({err})") from None
        raise MetricUnavailable(name, str(err)) from None
    return metric

"""Frechet distance between Gaussians fitted to two sets of features.

``d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``, the quantity
behind FID and FVD. The trace of the matrix square root is computed in torch,
float64, from eigendecompositions: it is the sum of the square roots of the
eigenvalues of the symmetric ``S1^(1/2) S2 S1^(1/2)`` (those of ``S1 S2``), taken
as the singular values of ``S1^(1/2) S2^(1/2)``. No SciPy is needed at run time.
Covariances are unbiased (divided by N - 1), as ``numpy.cov``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import torch
from torch import Tensor

from vgpred.errors import VgpredError


def _sqrt_psd(mat: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix (negative rounding clamped)."""
    values, vectors = torch.linalg.eigh(mat)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def trace_sqrt_product(sigma1: Tensor, sigma2: Tensor) -> Tensor:
    """``tr((S1 S2)^(1/2))`` for symmetric PSD ``(D, D)`` matrices, in float64.

    Equals the sum of singular values of ``S1^(1/2) S2^(1/2)`` (the square roots of
    the eigenvalues of ``S1^(1/2) S2 S1^(1/2)``); taking singular values directly
    keeps near-zero directions accurate, so identical inputs give ~0, not -1e-5.
    """
    return torch.linalg.svdvals(_sqrt_psd(sigma1) @ _sqrt_psd(sigma2)).sum()


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1, mu2: means ``(D,)``; sigma1, sigma2: covariances ``(D, D)`` (tensors
            or arrays; computed in float64 on the device of ``mu1``).
    Returns:
        The squared Frechet distance (>= 0 up to rounding), as FID/FVD report it.
    """
    mu1 = torch.as_tensor(mu1, dtype=torch.float64)
    mu2, sigma1, sigma2 = (torch.as_tensor(x, dtype=torch.float64, device=mu1.device) for x in (mu2, sigma1, sigma2))
    d = mu1.shape[-1] if mu1.dim() else 0
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise VgpredError(
            "frechet_distance: expected means (D,) and covariances (D, D) of one D; got "
            f"{tuple(mu1.shape)}, {tuple(sigma1.shape)}, {tuple(mu2.shape)}, {tuple(sigma2.shape)}"
        )
    diff = mu1 - mu2
    value = diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt_product(sigma1, sigma2)
    return float(value)


class FeatureStats:
    """Running mean and covariance of ``(N, D)`` features, in float64.

    Holds only ``D + D*D`` numbers however many batches are added, so statistics
    of large datasets never need all features in memory.
    """

    def __init__(self) -> None:
        self.count = 0
        self._sum: Tensor | None = None
        self._outer: Tensor | None = None

    def add(self, features: Tensor) -> None:
        """Add a batch ``(B, D)``."""
        if features.dim() != 2 or (self._sum is not None and features.shape[1] != self._sum.shape[0]):
            raise VgpredError(f"features: expected (B, D) batches of one D; got {tuple(features.shape)}")
        f = features.detach().to(torch.float64)
        if self._sum is None:
            self._sum = torch.zeros(f.shape[1], dtype=torch.float64, device=f.device)
            self._outer = torch.zeros(f.shape[1], f.shape[1], dtype=torch.float64, device=f.device)
        self._sum += f.sum(dim=0)
        self._outer += f.T @ f
        self.count += f.shape[0]

    @property
    def dim(self) -> int:
        """Feature size D (0 before the first batch)."""
        return 0 if self._sum is None else self._sum.shape[0]

    def mean_cov(self) -> tuple[Tensor, Tensor]:
        """Mean ``(D,)`` and unbiased covariance ``(D, D)``; needs at least 2 samples."""
        if self.count < 2 or self._sum is None or self._outer is None:
            raise VgpredError(f"features: a covariance needs at least 2 samples; got {self.count}")
        mean = self._sum / self.count
        cov = (self._outer - self.count * torch.outer(mean, mean)) / (self.count - 1)
        return mean, cov


def frechet_of_stats(stats1: FeatureStats, stats2: FeatureStats) -> float:
    """Frechet distance between the Gaussians of two :class:`FeatureStats`."""
    return frechet_distance(*stats1.mean_cov(), *stats2.mean_cov())


def frechet_distance_from_features(features1: Tensor, features2: Tensor) -> float:
    """Frechet distance between Gaussians fitted to ``(N, D)`` and ``(M, D)`` features (N, M >= 2)."""
    stats1, stats2 = FeatureStats(), FeatureStats()
    stats1.add(torch.as_tensor(features1))
    stats2.add(torch.as_tensor(features2))
    return frechet_of_stats(stats1, stats2)


def collect_stats(
    videos: Tensor | Iterable[Tensor], features: Callable[[Tensor], Tensor], batch_size: int = 16
) -> FeatureStats:
    """Feature statistics of a set of videos.

    Args:
        videos: one tensor ``(N, C, T, H, W)`` (split into ``batch_size`` pieces)
            or an iterable of such batches, values in [-1, 1].
        features: maps a batch to ``(B, D)`` features.
    """
    batches = videos.split(batch_size) if isinstance(videos, Tensor) else videos
    stats = FeatureStats()
    with torch.no_grad():
        for batch in batches:
            stats.add(features(batch))
    return stats


@dataclass(frozen=True)
class FrechetResult:
    """A distributional metric's value with what it means.

    ``features`` names the feature space (network, layer, dimension) and
    ``description`` is the one-line convention an evaluation report prints.
    """

    name: str
    value: float
    features: str
    num_real: int
    num_fake: int
    description: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

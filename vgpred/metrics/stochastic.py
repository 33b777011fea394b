"""Scores of stochastic predictions: best-of-K and mean-of-K over K sampled futures.

``scores`` holds a per-frame metric for K samples of each video, ``(K, B, T)``
(or ``(K, B)`` for images). Pass the metric's ``cap`` (``METRICS.get(name).cap``,
100 dB for PSNR) so that a sample with one identical frame (+inf dB) is ranked
and averaged as 100 dB.

Best-of-K conventions:

* ``per_frame=False`` (default, the more honest one): per video, the sample whose
  mean over frames is best is chosen, and all its frames are reported.
* ``per_frame=True``: the best sample is chosen separately at every frame, as some
  papers report; this mixes samples and is never worse than per-video selection.
"""
from __future__ import annotations

import torch
from torch import Tensor

from vgpred.errors import VgpredError


def _checked(scores: Tensor, cap: float | None, name: str) -> Tensor:
    if scores.dim() not in (2, 3) or scores.shape[0] < 1:
        raise VgpredError(f"{name}: scores must be (K, B, T) or (K, B) with K >= 1; got {tuple(scores.shape)}")
    return scores.clamp(max=cap) if cap is not None else scores


def best_sample_index(scores: Tensor, higher_is_better: bool, cap: float | None = None) -> Tensor:
    """Per video, the index of the sample with the best mean over frames.

    Args:
        scores: ``(K, B, T)`` or ``(K, B)``.
    Returns:
        ``(B,)`` long tensor of indices into K (ties go to the lowest index).
    """
    s = _checked(scores, cap, "best_sample_index")
    video_scores = s.mean(dim=2) if s.dim() == 3 else s
    return video_scores.argmax(dim=0) if higher_is_better else video_scores.argmin(dim=0)


def best_of_k(
    scores: Tensor, higher_is_better: bool, per_frame: bool = False, cap: float | None = None
) -> Tensor:
    """Best of K samples per video (default) or per frame.

    Args:
        scores: ``(K, B, T)`` or ``(K, B)`` per-frame scores of K samples.
        higher_is_better: True for PSNR/SSIM, False for MSE/LPIPS.
        per_frame: choose the best sample at each frame instead of per video.
        cap: clamp scores to at most ``cap`` first (PSNR: 100 dB).
    Returns:
        ``(B, T)`` or ``(B,)``.
    """
    s = _checked(scores, cap, "best_of_k")
    if per_frame:
        return s.amax(dim=0) if higher_is_better else s.amin(dim=0)
    index = best_sample_index(s, higher_is_better)
    return s[index, torch.arange(s.shape[1], device=s.device)]


def mean_of_k(scores: Tensor, cap: float | None = None) -> Tensor:
    """Mean over K samples, ``(K, B, T) -> (B, T)`` (or ``(K, B) -> (B,)``), after the cap."""
    return _checked(scores, cap, "mean_of_k").mean(dim=0)

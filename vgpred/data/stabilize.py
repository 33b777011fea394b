"""Camera-motion removal: warp every frame of a clip into the first frame's coordinates.

Per clip: SIFT features (kornia, built from code, no downloaded weights) on a
downscaled grayscale copy of each frame, ratio-test matching, and a RANSAC
homography from frame t to frame 0 (through frame t-1 when direct matching fails);
the homography is scaled back to full resolution and the frame warped with
:func:`kornia.geometry.transform.warp_perspective`. Areas that enter the view are
filled by repeating the border pixels. A clip whose homography cannot be found
raises :class:`StabilizationFailed` (callers drop and count it).
"""
from __future__ import annotations

from dataclasses import dataclass

import kornia
import numpy as np
import torch
from kornia.feature import SIFTFeature, get_laf_center, match_snn
from kornia.geometry.ransac import RANSAC
from kornia.geometry.transform import warp_perspective


class StabilizationFailed(Exception):
    """No trustworthy homography for some frame of the clip."""


def _to_full(sx: float, sy: float) -> torch.Tensor:
    """Map from feature-image pixel coordinates to full-image ones (pixel centres at integers)."""
    return torch.tensor([[sx, 0.0, (sx - 1) / 2], [0.0, sy, (sy - 1) / 2], [0.0, 0.0, 1.0]])


@dataclass
class Stabilizer:
    """Estimates per-frame homographies to frame 0 and warps clips with them.

    Args:
        feature_size: short side (px) of the grayscale copy that features run on.
        num_features: SIFT keypoints per frame.
        ratio: Lowe ratio-test threshold for matches.
        inlier_threshold: RANSAC inlier distance in feature-image pixels.
        min_inliers: fewer RANSAC inliers than this is a failure.
        max_shift: a homography moving a frame corner by more than this fraction of
            the frame diagonal is rejected as implausible.
        seed: RANSAC seed (results are reproducible).
    """

    feature_size: int = 128
    num_features: int = 500
    ratio: float = 0.8
    inlier_threshold: float = 1.0
    min_inliers: int = 12
    max_shift: float = 0.35
    seed: int = 0

    def __post_init__(self) -> None:
        self._sift = SIFTFeature(num_features=self.num_features)

    def _features(self, gray: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(get_laf_center(lafs)[0], desc[0]) for lafs, _, desc in (self._sift(g[None]) for g in gray)]

    def _match(self, a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor],
               hw: tuple[int, int]) -> torch.Tensor | None:
        """Homography from image a to image b (feature pixels), or None when unreliable."""
        if len(a[1]) < self.min_inliers or len(b[1]) < self.min_inliers:
            return None
        _, idx = match_snn(a[1], b[1], self.ratio)
        if len(idx) < self.min_inliers:
            return None
        ransac = RANSAC("homography", inl_th=self.inlier_threshold, max_iter=20, seed=self.seed)
        hom, inliers = ransac(a[0][idx[:, 0]], b[0][idx[:, 1]])
        if int(inliers.sum()) < self.min_inliers or not torch.isfinite(hom).all():
            return None
        h, w = hw
        corners = torch.tensor([[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]])
        moved = kornia.geometry.transform_points(hom[None], corners[None])[0]
        if not torch.isfinite(moved).all() or (moved - corners).norm(dim=1).max() > self.max_shift * (h * h + w * w) ** 0.5:
            return None
        return hom

    @torch.inference_mode()
    def homographies(self, frames: torch.Tensor) -> torch.Tensor:
        """Homographies ``(T, 3, 3)`` mapping each frame's pixels to frame 0's.

        Args:
            frames: ``(T, 3, H, W)`` float in [0, 1].
        """
        t, _, h, w = frames.shape
        scale = self.feature_size / min(h, w)
        fh, fw = (h, w) if scale >= 1 else (max(8, round(h * scale)), max(8, round(w * scale)))
        gray = kornia.color.rgb_to_grayscale(frames)
        if (fh, fw) != (h, w):
            gray = kornia.geometry.transform.resize(gray, (fh, fw), antialias=True)
        feats = self._features(gray)
        homs = [torch.eye(3)]
        for i in range(1, t):
            hom = self._match(feats[i], feats[0], (fh, fw))
            if hom is None and i > 1:
                step = self._match(feats[i], feats[i - 1], (fh, fw))
                hom = None if step is None else homs[i - 1] @ step
            if hom is None:
                raise StabilizationFailed(f"no homography from frame {i} to frame 0")
            homs.append(hom / hom[2, 2])
        to_full = _to_full(w / fw, h / fh)
        return to_full @ torch.stack(homs) @ torch.linalg.inv(to_full)

    @torch.inference_mode()
    def warp(self, frames: torch.Tensor, homs: torch.Tensor) -> torch.Tensor:
        """Frames ``(T, C, H, W)`` warped by ``homs`` ``(T, 3, 3)`` into frame 0's coordinates."""
        return warp_perspective(frames, homs.to(frames), frames.shape[-2:], padding_mode="border")

    @torch.inference_mode()
    def __call__(self, clip: np.ndarray) -> np.ndarray:
        """Stabilise a uint8 ``(T, H, W, 3)`` clip; raises :class:`StabilizationFailed`."""
        frames = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float().div_(255)
        out = self.warp(frames, self.homographies(frames))
        return out.mul_(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def residual_motion(estimated: torch.Tensor, true_motion: torch.Tensor, h: int, w: int, step: int = 4) -> float:
    """Mean displacement (px) left after stabilisation, over a grid of frame points.

    ``true_motion[t]`` maps frame-0 pixels to frame-t pixels (the camera motion);
    ``estimated[t]`` maps frame-t pixels back to frame 0, so their product is the identity
    when stabilisation is perfect.
    """
    ys, xs = torch.meshgrid(torch.arange(0, h, step).float(), torch.arange(0, w, step).float(), indexing="ij")
    grid = torch.stack([xs.flatten(), ys.flatten()], dim=1)[None].expand(len(estimated), -1, -1)
    back = kornia.geometry.transform_points(estimated.double() @ true_motion.double(), grid.double())
    return float((back - grid).norm(dim=-1).mean())

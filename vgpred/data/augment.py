"""Clip augmentation that is the same for every frame of a clip: random crop and flip.

Each clip gets one random crop box (resized back to the clip size) and one flip
decision, applied to all of its frames, so motion stays coherent. Randomness comes
from an optional ``torch.Generator``; the loader seeds one per clip from
``(seed, epoch, position)``, which makes augmented epochs reproducible and resumable.
"""
from __future__ import annotations

import torch
from kornia.geometry.transform import crop_and_resize
from torch import nn


class ClipAugment(nn.Module):
    """Random crop (area fraction in ``crop_scale``, resized back) and horizontal flip, per clip.

    Args:
        crop_scale: (min, max) fraction of the frame area the crop keeps; (1, 1) disables cropping.
        flip_p: probability of a horizontal flip.

    Example:
        >>> aug = ClipAugment(crop_scale=(0.8, 1.0), flip_p=0.5)
        >>> aug(torch.zeros(2, 3, 8, 32, 32)).shape
        torch.Size([2, 3, 8, 32, 32])
    """

    def __init__(self, crop_scale: tuple[float, float] = (0.8, 1.0), flip_p: float = 0.5) -> None:
        super().__init__()
        if not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < min <= max <= 1, got {crop_scale}")
        if not 0 <= flip_p <= 1:
            raise ValueError(f"flip_p must be in [0, 1], got {flip_p}")
        self.crop_scale = crop_scale
        self.flip_p = flip_p

    def _boxes(self, b: int, h: int, w: int, generator: torch.Generator | None) -> torch.Tensor:
        lo, hi = self.crop_scale
        area = lo + (hi - lo) * torch.rand(b, generator=generator)
        ch = (area.sqrt() * h).round().clamp(1, h)
        cw = (area.sqrt() * w).round().clamp(1, w)
        top = ((h - ch + 1) * torch.rand(b, generator=generator)).floor().clamp(max=h - ch)
        left = ((w - cw + 1) * torch.rand(b, generator=generator)).floor().clamp(max=w - cw)
        x0, y0, x1, y1 = left, top, left + cw - 1, top + ch - 1
        return torch.stack([torch.stack([x0, y0], -1), torch.stack([x1, y0], -1),
                            torch.stack([x1, y1], -1), torch.stack([x0, y1], -1)], dim=1)

    def forward(self, clips: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment ``(C, T, H, W)`` or ``(B, C, T, H, W)`` clips; same shape and range out."""
        single = clips.dim() == 4
        if single:
            clips = clips[None]
        if clips.dim() != 5:
            raise ValueError(f"expected clips (C, T, H, W) or (B, C, T, H, W), got shape {tuple(clips.shape)}")
        b, c, t, h, w = clips.shape
        out = clips
        if self.crop_scale != (1.0, 1.0):
            boxes = self._boxes(b, h, w, generator).to(clips)
            out = crop_and_resize(clips.reshape(b, c * t, h, w), boxes, (h, w)).reshape(b, c, t, h, w)
        flip = torch.rand(b, generator=generator) < self.flip_p
        if flip.any():
            out = out.clone() if out is clips else out
            out[flip] = out[flip].flip(-1)
        return out[0] if single else out

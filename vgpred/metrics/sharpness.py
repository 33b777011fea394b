"""Sharpness per frame relative to the input frame: blur shows up as a ratio below 1.

The gradient energy of a frame is the mean absolute difference between neighbouring
pixels, horizontally plus vertically, on pixels mapped to [0, 1]:

    G(x) = mean over C, H, W-1 of |x[:, h, w+1] - x[:, h, w]|
         + mean over C, H-1, W of |x[:, h+1, w] - x[:, h, w]|

(the anisotropic total variation per pixel). The sharpness of frame t of a video is

    (G(frame t) + eps) / (G(reference) + eps),   eps = SHARPNESS_EPS = 1e-4,

where the reference is the frame the video was predicted from: the clip's frame 0 for an
image-to-video model, and for the real clip its own frame 0. An identical frame gives
exactly 1, a blurred one less than 1, a noisier or sharper one more than 1; eps (0.4 % of
one 8-bit level per pixel) keeps a flat reference (G = 0) finite: flat against flat is 1.
The real clips' own ratio is the reference a model's curve is read against (a camera that
moves into blur or a digit that leaves the frame lowers it too).
"""
from __future__ import annotations

import torch
from torch import Tensor

from vgpred.errors import VgpredError

SHARPNESS_EPS = 1e-4


def gradient_energy(frames: Tensor) -> Tensor:
    """Mean ``|dx| + |dy|`` of frames ``(..., C, H, W)`` in [-1, 1], on pixels mapped to [0, 1].

    Returns:
        ``(...)``: one value per frame, 0 for a flat frame.

    Example:
        >>> x = torch.tensor([[[-1.0, 1.0], [-1.0, 1.0]]])  # (C=1, H=2, W=2): a black | white edge
        >>> float(gradient_energy(x))  # |dx| = 1 everywhere it is defined, |dy| = 0
        1.0
    """
    x = frames.float() if frames.dtype in (torch.float16, torch.bfloat16) else frames
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(-3).mean(dim=-1)
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(-3).mean(dim=-1)
    return (dx + dy) / 2  # differences of [0, 1] pixels are half those of [-1, 1] pixels


def sharpness(video: Tensor, reference: Tensor) -> Tensor:
    """Gradient energy of every frame of ``video`` over that of its ``reference`` frame.

    Args:
        video: ``(B, C, T, H, W)`` in [-1, 1], H, W >= 2.
        reference: ``(B, C, H, W)`` in [-1, 1]: the frame each video was predicted from.
    Returns:
        ``(B, T)``: ``(G(video[:, :, t]) + eps) / (G(reference) + eps)``; exactly 1 where a
        frame equals the reference.

    Example:
        >>> clip = torch.rand(2, 3, 4, 16, 16) * 2 - 1
        >>> sharpness(clip, clip[:, :, 0])[:, 0]
        tensor([1., 1.])
    """
    if (
        not isinstance(video, Tensor) or not isinstance(reference, Tensor) or video.dim() != 5
        or reference.dim() != 4 or tuple(reference.shape) != (video.shape[0], video.shape[1], *video.shape[3:])
    ):
        shapes = [tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__ for x in (video, reference)]
        raise VgpredError(f"sharpness: video must be (B, C, T, H, W) and reference (B, C, H, W) of the same B, C, "
                          f"H, W; got video {shapes[0]} and reference {shapes[1]}")
    if not (video.is_floating_point() and reference.is_floating_point()):
        raise VgpredError(f"sharpness: video and reference must be float tensors in [-1, 1]; "
                          f"got {video.dtype} and {reference.dtype}")
    if min(video.shape[-2:]) < 2:
        raise VgpredError(f"sharpness: frames must be at least 2x2 pixels; got {video.shape[-2]}x{video.shape[-1]}")
    # The reference goes through the same computation as the frames (one contiguous batch), so that a
    # frame equal to it gives the same float and the ratio is exactly 1.
    frames = torch.cat([reference[:, :, None].to(video.dtype), video], dim=2).transpose(1, 2).contiguous()
    energy = gradient_energy(frames) + SHARPNESS_EPS  # (B, 1 + T)
    return energy[:, 1:] / energy[:, :1]

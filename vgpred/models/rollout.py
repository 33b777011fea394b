"""Videos longer than the network makes: the model rolled forward on its own last frames.

An image-mode network makes ``T = model.frames`` frames whose first ``k = model.context_frames``
stand for its input (the given frames; with k = 1 the photo, or the pixel model's
reconstruction of it). To go on, the last k frames of the video so far become the next
context (k = 1: the last frame is the next photo) and the network predicts T - k new frames;
the new piece's first k frames, which repeat that context, are left out. So the pieces join
without a repeated frame: the video is piece 1's T frames, then T - k frames of each further
piece, cut to the length asked for.

Each piece draws fresh noise (``noise()``), so a seeded generator gives the same long video
again. Motion models render at the photo's size: their next context is the last frames at
that size (the next photo to move) and, for the encoder, the same frames resized to the
network's (:func:`network_frames`, as :meth:`vgpred.predictor.VideoPredictor.network_input`).
What the network predicts from that frame is then composed with the move that made it
(:func:`vgpred.models.motion.compose_piece`), so every frame reads the first photo once
instead of re-sampling a frame that was itself resampled: no blur added pass after pass.

Example:
    >>> from vgpred.config import ModelConfig
    >>> from vgpred.models.videogan import VideoGenerator
    >>> model = VideoGenerator(ModelConfig(resolution=32, frames=8, width=0.0625, latent_dim=8)).eval()
    >>> photo = torch.zeros(1, 3, 32, 32)
    >>> rollout(model, photo, 20, lambda: model.sample_noise(1)).video.shape  # 8 + 7 + 7 frames, cut
    torch.Size([1, 3, 20, 32, 32])
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from vgpred.models.networks import GeneratorOutput


def pieces_needed(frames: int, length: int, context: int) -> int:
    """How many network passes make ``frames`` frames from a network of ``length`` frames that
    conditions on ``context`` of them (each pass after the first adds ``length - context``)."""
    if frames <= length:
        return 1
    return 1 + math.ceil((frames - length) / (length - context))


def join_frames(frames: int, length: int, context: int) -> list[int]:
    """The frame indices where a new piece of a rolled-out video starts (the first frame of each
    piece after the first): T, T + (T - k), ... below ``frames``."""
    return list(range(length, frames, length - context))


def seam_ratio(video: torch.Tensor, length: int, context: int) -> float:
    """How visible the joins of a rolled-out video ``(B, C, N, H, W)`` are: the mean ``|frame t - frame t-1|``
    (pixels in [-1, 1]) over the frames t that start a piece (:func:`join_frames`), over the same mean
    inside the pieces (every other t >= ``context``: predicted frames only). About 1: no seam; well above
    1: a jump at the joins; needs N > ``length``."""
    steps = (video[:, :, 1:].float() - video[:, :, :-1].float()).abs().mean(dim=(0, 1, 3, 4))  # steps[t-1]: t-1 -> t
    joins = join_frames(video.shape[2], length, context)
    if not joins:
        raise ValueError(f"seam_ratio: a video of {video.shape[2]} frames has no join (the model makes {length})")
    inside = [t for t in range(context, video.shape[2]) if t not in joins]
    return float(steps[[t - 1 for t in joins]].mean() / steps[[t - 1 for t in inside]].mean().clamp_min(1e-12))


def network_frames(frames: torch.Tensor, resolution: int) -> torch.Tensor:
    """``(N, C, H, W)`` frames in [-1, 1] -> ``(N, C, S, S)`` at the network's size ``S``: bicubic with
    antialiasing, clamped to [-1, 1]; returned as is when already that size."""
    if tuple(frames.shape[-2:]) == (resolution, resolution):
        return frames
    small = F.interpolate(frames, size=(resolution, resolution), mode="bicubic", antialias=True, align_corners=False)
    return small.clamp(-1.0, 1.0)


def _as_context(frames: torch.Tensor, k: int) -> torch.Tensor:
    """The last k frames ``(B, C, k, H, W)`` in the form ``forward`` takes: ``(B, C, H, W)`` when k = 1."""
    return frames[:, :, 0] if k == 1 else frames


def _resized(frames: torch.Tensor, resolution: int) -> torch.Tensor:
    """``(B, C, k, H, W)`` -> ``(B, C, k, S, S)`` (each frame by :func:`network_frames`)."""
    b, c, k, h, w = frames.shape
    if (h, w) == (resolution, resolution):
        return frames
    flat = frames.transpose(1, 2).reshape(b * k, c, h, w)
    return network_frames(flat, resolution).reshape(b, k, c, resolution, resolution).transpose(1, 2)


def _cut(out: GeneratorOutput, start: int, stop: int) -> GeneratorOutput:
    return GeneratorOutput(*(None if x is None else x[:, :, start:stop] for x in out))


@torch.no_grad()
def rollout(model: torch.nn.Module, context: torch.Tensor, frames: int, noise: Callable[[], torch.Tensor],
            render: torch.Tensor | None = None, compose: bool = True,
            later_noise: Callable[[], torch.Tensor] | None = None) -> GeneratorOutput:
    """``frames`` frames from an image-mode :class:`~vgpred.models.videogan.VideoGenerator`.

    Args:
        model: the generator (eval mode); its ``cfg.frames`` is T, ``cfg.context_frames`` is k.
        context: what ``model.forward`` takes as ``image``: ``(B, C, S, S)`` when k = 1, else
            ``(B, C, k, S, S)``, in [-1, 1] at the network's size S.
        frames: the length wanted, >= 1 (up to T: one pass, cut).
        noise: draws the ``(B, latent_dim)`` noise of one pass; called once per pass.
        render: motion models: the context at the size to render (same form as ``context``,
            any H, W), or None.
        compose: motion models: compose each later piece into a move of the first photo
            (the default); False re-samples the last frame each pass, as a comparison
            (``benchmarks/rollout_photos.py`` measures both).
        later_noise: draws the noise of each pass after the first (default: ``noise``).
            :class:`~vgpred.predictor.VideoPredictor` and ``vgpred evaluate`` draw the first
            pass at the model's ``noise_scale`` (how far apart the K futures start) and the
            later ones from N(0, I), the prior the model trained with: wider draws, pass after
            pass, added seams and fading (docs/context.md).
    Returns:
        :class:`GeneratorOutput` with ``frames`` frames; each layer joined the same way. Motion
        models: every piece moves the first pass's photo (:func:`~vgpred.models.motion.compose_piece`:
        flows composed, the photo sampled once per frame, so passes do not add blur), and the
        layers' flow and mask are relative to that photo throughout.
    """
    t, k, res = model.cfg.frames, model.cfg.context_frames, model.cfg.resolution
    out = model(noise(), None, context, render)
    pieces, made = [_cut(out, 0, frames)], t
    moves = compose and bool(getattr(model, "renders_photo", False))
    if moves:  # motion: later pieces are composed into moves of this photo (compose_piece)
        from vgpred.models.motion import compose_piece

        source = context if render is None else render
        photo = (source if k == 1 else source[:, :, -1]).float()
    for _ in range(pieces_needed(frames, t, k) - 1):
        last = out.video[:, :, -k:].float()
        following = _as_context(last, k)
        image = _as_context(_resized(last, res), k)
        previous = _cut(out, t - 1, t)
        out = model((later_noise or noise)(), None, image, following if render is not None else None)
        if moves:
            out = _joined([_cut(out, 0, k), compose_piece(photo, previous, _cut(out, k, t))])
        pieces.append(_cut(out, k, k + frames - made))
        made += t - k
    return pieces[0] if len(pieces) == 1 else _joined(pieces)


def _joined(pieces: list[GeneratorOutput]) -> GeneratorOutput:
    """The pieces' frames one after the other, each layer alike."""
    return GeneratorOutput(*(None if parts[0] is None else torch.cat(parts, dim=2)
                             for parts in zip(*pieces)))

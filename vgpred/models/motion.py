"""The ``motion`` foreground: the future moves the photo's own pixels instead of painting new ones.

A 64x64 decoder that synthesises every pixel of every frame loses the photo's detail and
decays over time. The best single-photo animators move the photo instead (Animating
Landscape, Endo et al. 2019: flow predicted at low resolution, applied to the full-resolution
photo; SAVP, Lee et al. 2018: warps context frames). Here the networks keep VideoGAN's
two streams and change what the video stream's heads mean:

* ``video_head`` (2 channels, tanh times ``model.max_flow``): per frame and pixel, where
  that pixel comes from in the photo, as an (x, y) offset in grid_sample's normalised
  coordinates (``align_corners=False``: -1 and 1 are the image's outer edges, so an offset
  of 2 is its whole width or height). With ``model.flow_param=velocity`` the head gives
  instead the mean velocity since the photo (tanh times ``model.max_flow`` per frame), and
  frame t's offset is t times it: a garment moving at a constant speed is one field over
  time, so the speed that the far frames pin down also sets the first step;
* ``mask_head`` (1 channel, sigmoid): how much of the frame is the moved photo;
* the 2-D background stream: one static image, the clean plate that fills what the
  motion uncovers.

``video_t = m_t * warp(photo, flow_t) + (1 - m_t) * background``; a static region is flow 0
and mask 1, the photo itself. Frame 0 is the photo exactly (flow 0, mask 1, the photo copied,
not resampled). Offsets in normalised units do not depend on the resolution, so the field,
mask and background predicted at the network's size can move a photo of any size
(:func:`animate_photo`); training calls it at the network's size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from vgpred.config import ModelConfig
from vgpred.errors import VgpredError
from vgpred.models.layout import Layout
from vgpred.models.networks import GeneratorOutput, TwoStreamGenerator

FLOW_CHANNELS = 2  # (x, y), the order grid_sample reads
FLOW_PARAMS = ("offset", "velocity")  # what the flow head gives: each frame's offset, or the mean velocity since frame 0
MASK_BIAS_INIT = 3.0  # the mask head starts at sigmoid(3) = 0.95: frames start as the photo itself
FLOW_WEIGHT_SCALE = 0.1  # the flow head's initial weights, times the paper's N(0, 0.01): near-still start


def _check_shapes(photo: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor, background: torch.Tensor) -> None:
    if photo.dim() != 4:
        raise ValueError(f"animate_photo: photo must be (B, C, H, W), got {tuple(photo.shape)}")
    b, c = photo.shape[:2]
    if flow.dim() != 5 or flow.shape[:2] != (b, FLOW_CHANNELS) or flow.shape[2] < 1:
        raise ValueError(f"animate_photo: flow must be (B, 2, T, h, w) with B = {b}, got {tuple(flow.shape)}")
    t, h, w = flow.shape[2:]
    if tuple(mask.shape) != (b, 1, t, h, w):
        raise ValueError(f"animate_photo: mask must be (B, 1, T, h, w) = {(b, 1, t, h, w)}, got {tuple(mask.shape)}")
    if tuple(background.shape) != (b, c, h, w):
        raise ValueError(
            f"animate_photo: background must be (B, C, h, w) = {(b, c, h, w)}, got {tuple(background.shape)}"
        )


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of the last two dimensions of ``(N, C, h, w)`` (a no-op at the same size)."""
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _identity_grid(n: int, height: int, width: int, device) -> torch.Tensor:
    """``(n, H, W, 2)``: each pixel's own position in grid_sample's coordinates (align_corners=False)."""
    return F.affine_grid(torch.eye(2, 3, device=device).expand(n, 2, 3), [n, 1, height, width], align_corners=False)


def _sample(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """``x`` ``(B, K, H, W)`` read at ``grid`` ``(B, H', W', 2)`` (bilinear, border, align_corners=False)."""
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def animate_photo(
    photo: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor, background: torch.Tensor
) -> GeneratorOutput:
    """Move the photo's pixels along ``flow`` and fill the rest from ``background``.

    ``video_t = mask_t * warp(photo, flow_t) + (1 - mask_t) * background``, rendered at the
    photo's own resolution: ``flow``, ``mask`` and ``background`` come at any (usually the
    network's) resolution and are resized bilinearly to the photo's; the warp samples the
    photo bilinearly with border padding (``grid_sample``, ``align_corners=False``).

    Frame 0 is the photo: whatever ``flow`` and ``mask`` hold for frame 0, the output's
    frame 0 is the photo copied (exact at any resolution, where resampling at the identity
    would round), with flow 0 and mask 1.

    Args:
        photo: ``(B, C, H, W)`` in [-1, 1], any H and W.
        flow: ``(B, 2, T, h, w)``: for each output pixel, the (x, y) offset of where it comes
            from in the photo, in normalised coordinates (2 = the photo's width or height).
        mask: ``(B, 1, T, h, w)`` in [0, 1]: the weight of the moved photo.
        background: ``(B, C, h, w)`` in [-1, 1]: the static image behind it.
    Returns:
        :class:`GeneratorOutput` in float32 at ``(H, W)``: ``video`` and ``foreground`` (the
        moved photo) ``(B, C, T, H, W)``, ``background`` replicated over T, ``mask``
        ``(B, 1, T, H, W)``, ``flow`` ``(B, 2, T, H, W)``.

    Example:
        >>> photo = torch.rand(1, 3, 48, 80) * 2 - 1
        >>> still = torch.zeros(1, 2, 8, 16, 16), torch.ones(1, 1, 8, 16, 16)
        >>> out = animate_photo(photo, *still, torch.zeros(1, 3, 16, 16))
        >>> out.video.shape, torch.equal(out.video[:, :, 0], photo)
        (torch.Size([1, 3, 8, 48, 80]), True)
    """
    _check_shapes(photo, flow, mask, background)
    b, c, height, width = photo.shape
    t = flow.shape[2]
    size = (height, width)
    photo = photo.float()

    def per_frame(x: torch.Tensor) -> torch.Tensor:  # (B, K, T, h, w) -> (B, K, T, H, W), frames resized alike
        k = x.shape[1]
        flat = x.float().transpose(1, 2).reshape(b * t, k, *x.shape[-2:])
        return _resize(flat, size).reshape(b, t, k, height, width).transpose(1, 2)

    flow = per_frame(flow)
    flow = torch.cat([torch.zeros_like(flow[:, :, :1]), flow[:, :, 1:]], dim=2)
    mask = per_frame(mask)
    mask = torch.cat([torch.ones_like(mask[:, :, :1]), mask[:, :, 1:]], dim=2)
    background = _resize(background.float(), size).unsqueeze(2).expand(-1, -1, t, -1, -1)

    frames = [photo.unsqueeze(2)]
    if t > 1:
        grid = _identity_grid(b * (t - 1), height, width, photo.device)
        grid = grid + flow[:, :, 1:].permute(0, 2, 3, 4, 1).reshape(b * (t - 1), height, width, FLOW_CHANNELS)
        source = photo.unsqueeze(1).expand(-1, t - 1, -1, -1, -1).reshape(b * (t - 1), c, height, width)
        moved = _sample(source, grid)
        frames.append(moved.reshape(b, t - 1, c, height, width).transpose(1, 2))
    foreground = torch.cat(frames, dim=2)
    video = mask * foreground + (1 - mask) * background
    return GeneratorOutput(video, foreground, background, mask, flow)


def compose_piece(photo: torch.Tensor, last: GeneratorOutput, piece: GeneratorOutput) -> GeneratorOutput:
    """A later piece of a rolled-out motion video, re-expressed as a move of the first ``photo``.

    Rolling a motion model out (:func:`vgpred.models.rollout.rollout`) feeds the last frame back
    as the next photo, so piece n would sample a frame that was itself sampled n - 1 times: every
    pass adds one bilinear blur, and at the photo's resolution the video softens pass after pass.
    Instead the piece's flow ``g`` is composed with the one that made that last frame, and the
    photo is read once: a piece frame is ``m * warp(last, g) + (1 - m) * bg`` with
    ``last = M' * warp(photo, h') + R'`` (``R'``: what is not the moved photo), so

    ``h = g + warp(h', g)``, ``M = m * warp(M', g)``, ``R = m * warp(R', g) + (1 - m) * bg`` and the
    frame is ``M * warp(photo, h) + R``: the same video up to where the bilinear reads happen,
    the photo's detail sampled once. With whole-pixel flows the two are equal away from the borders.

    Args:
        photo: ``(B, C, H, W)``: the photo that the first piece moved (its last context frame).
        last: the video so far's last frame as one-frame layers ``(B, ·, 1, H, W)``, its ``flow``
            and ``mask`` relative to ``photo`` (the first piece's own, or an earlier composed one).
        piece: the new piece's frames, ``flow`` relative to ``last``'s frame (at the same H, W).
    Returns:
        :class:`GeneratorOutput` of the piece's frames, ``flow`` and ``mask`` relative to
        ``photo``, ``foreground = warp(photo, flow)``, and ``background`` the non-photo part
        ``R / (1 - M)`` (the piece's own background where the photo covers nearly all of it),
        so ``video = mask * foreground + (1 - mask) * background`` still holds.
    """
    b, c, height, width = photo.shape
    n = piece.video.shape[2]
    # every frame's read of a (B, K, H, W) map in one grid_sample: the n frames' grids stacked along the height
    identity = _identity_grid(b, height, width, photo.device).repeat(1, n, 1, 1)

    def read(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:  # (B, K, H, W) at (B, 2, n, H, W) -> (B, K, n, H, W)
        grid = identity + flow.permute(0, 2, 3, 4, 1).reshape(b, n * height, width, FLOW_CHANNELS)
        return _sample(x, grid).view(b, x.shape[1], n, height, width)

    prev_mask = last.mask[:, :, -1].float()
    prev_rest = last.video[:, :, -1].float() - prev_mask * last.foreground[:, :, -1].float()
    g, m, piece_background = piece.flow.float(), piece.mask.float(), piece.background.float()
    moved = read(torch.cat([last.flow[:, :, -1].float(), prev_mask, prev_rest], dim=1), g)
    flow = g + moved[:, :FLOW_CHANNELS]
    mask = m * moved[:, FLOW_CHANNELS:FLOW_CHANNELS + 1]
    rest = m * moved[:, FLOW_CHANNELS + 1:] + (1 - m) * piece_background
    foreground = read(photo.float(), flow)
    uncovered = 1 - mask
    background = torch.where(uncovered > 1e-3, rest / uncovered.clamp_min(1e-3), piece_background).clamp(-1, 1)
    return GeneratorOutput(mask * foreground + rest, foreground, background, mask, flow)


def flow_to_rgb(flow: torch.Tensor) -> torch.Tensor:
    """A flow field as colours: hue is the direction, saturation the length, white is still.

    The colour wheel of optical-flow papers (Middlebury). Lengths are scaled by the
    longest offset of each video, so small motions stay visible.

    Args:
        flow: ``(B, 2, T, H, W)`` offsets (x, y), as :func:`animate_photo` takes them.
    Returns:
        ``(B, 3, T, H, W)`` RGB in [-1, 1].

    Example:
        >>> right = torch.zeros(1, 2, 2, 4, 4); right[:, 0, 1] = 0.1
        >>> flow_to_rgb(right)[0, :, 1, 0, 0]  # red: moving right
        tensor([ 1., -1., -1.])
    """
    if flow.dim() != 5 or flow.shape[1] != FLOW_CHANNELS:
        raise ValueError(f"flow_to_rgb: flow must be (B, 2, T, H, W), got {tuple(flow.shape)}")
    flow = flow.float()
    length = flow.norm(dim=1, keepdim=True)
    longest = length.amax(dim=(1, 2, 3, 4), keepdim=True).clamp_min(1e-8)
    saturation = (length / longest).clamp(0, 1)
    hue = (torch.atan2(-flow[:, 1:2], flow[:, 0:1]) / (2 * torch.pi)) % 1.0  # 0 = right, 1/4 = up
    # HSV (value 1) -> RGB: each channel's distance from its place on the wheel
    offsets = torch.tensor([5.0, 3.0, 1.0], device=flow.device).view(1, 3, 1, 1, 1)
    k = (offsets + hue * 6.0) % 6.0
    wheel = torch.minimum(k, 4.0 - k).clamp(0, 1)
    rgb = 1.0 - saturation * wheel
    return rgb * 2 - 1


class MotionGenerator(TwoStreamGenerator):
    """The two streams of :class:`TwoStreamGenerator` with a flow head in place of the video's colours.

    ``forward(fg_context, bg_context, skips, photo)`` -> :class:`GeneratorOutput` at the
    photo's resolution (the network's in training), with ``flow``.
    """

    renders_photo = True

    def __init__(self, cfg: ModelConfig, layout: Layout, fg_context: int, bg_context: int, context_is_map: bool):
        super().__init__(cfg, layout, fg_context, bg_context, context_is_map, head_channels=FLOW_CHANNELS)
        self.max_flow = cfg.max_flow
        self.velocity = cfg.flow_param == "velocity"
        # Start as copy-first-frame (mask near 1, flow near 0), the baseline every future must beat,
        # rather than as random jitter over half a grey background.
        with torch.no_grad():
            self.video_head[0].weight.mul_(FLOW_WEIGHT_SCALE)
            self.mask_head[0].bias.fill_(MASK_BIAS_INIT)

    @classmethod
    def check_config(cls, cfg: ModelConfig, needs_image: bool) -> None:
        if not needs_image:
            raise VgpredError(f"model.foreground=motion: moves the pixels of the conditioning photo, "
                              f"so it needs the image mode (mode is {cfg.mode})")
        if not cfg.two_stream:
            raise VgpredError("model.two_stream=false: the motion foreground needs the background stream "
                              "(it fills what the motion uncovers)")
        if cfg.flow_param not in FLOW_PARAMS:
            raise VgpredError(f"model.flow_param={cfg.flow_param!r}: must be one of {', '.join(FLOW_PARAMS)}")

    def forward(
        self, fg_context: torch.Tensor, bg_context: torch.Tensor, skips: tuple[torch.Tensor, ...] = (),
        photo: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        if photo is None:
            raise ValueError("the motion foreground moves the conditioning photo: pass photo (B, C, H, W)")
        direction, mask, background = self.streams(fg_context, bg_context, skips)
        flow = direction * self.max_flow
        if self.velocity:  # frame t's offset: t frames at the mean velocity since the photo
            t = flow.shape[2]
            flow = flow * torch.arange(t, device=flow.device, dtype=flow.dtype).view(1, 1, t, 1, 1)
        return animate_photo(photo, flow, mask, background)

"""VideoGAN's networks: two-stream generator, 3-D discriminator, first-frame encoder.

Shapes follow the paper (and the authors' code) at 64x64x32 with width 1.0:

* generator foreground: seed (512, 2, 4, 4) -> 256 -> 128 -> 64 channels, each layer a
  4x4x4 stride-2 transposed 3-D convolution + BatchNorm + ReLU, then two heads on the
  64-channel map: video (3, 32, 64, 64) with tanh, mask (1, 32, 64, 64) with sigmoid;
* generator background: the same widths in 2-D (a DCGAN generator) to (3, 64, 64), tanh,
  replicated over time; output ``m * f + (1 - m) * b``;
* discriminator: 3 -> 64 -> 128 -> 256 -> 512 with 4x4x4 stride-2 convolutions,
  LeakyReLU 0.2, BatchNorm on all but the first, then a 2x4x4 convolution to a logit;
* encoder (image mode): 3 -> 128 -> 256 -> 512 -> 1024, kernel 4, stride 2, ReLU,
  BatchNorm from the second layer, giving a (1024, 4, 4) code.

``model.skips`` (image mode, off by default, not in the paper) adds U-Net skips: each
encoder map from 8x8 to half the resolution goes through a 1x1 convolution and is
added to the generator map of the same size (in the video stream, to every frame)
before its BatchNorm.

``model.time_padding`` (not in the paper): with the paper's ``zeros``, a 4x4x4 stride-2
(transposed) convolution gives every interior frame two kernel taps but the first and
last frame one each, and that compounds over the layers: the generator builds its edge
frames from half the evidence at every time doubling, and the discriminator's verdict
depends on them less than on the middle frames. ``replicate`` repeats the first and
last frame once before every layer that doubles or halves time (the generator's video
stream and heads, the discriminator's blocks) in place of the zero frame, so every
frame gets two taps; the weights keep their shapes.

Other sizes come from :func:`vgpred.models.layout.make_layout`.
"""
from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vgpred.config import ModelConfig
from vgpred.errors import VgpredError
from vgpred.models.layout import Layout


class GeneratorOutput(NamedTuple):
    """All ``(B, C, T, H, W)`` in [-1, 1] except ``mask`` in [0, 1] with C = 1.

    ``flow`` (motion foreground only, else None): ``(B, 2, T, H, W)``, for every pixel of
    every frame the (x, y) offset of where it comes from in the photo, in grid_sample's
    normalised units (see :func:`vgpred.models.motion.animate_photo`).
    """

    video: torch.Tensor
    foreground: torch.Tensor
    background: torch.Tensor
    mask: torch.Tensor
    flow: torch.Tensor | None = None


def _kernel_stride(time_doubles: bool) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    return ((4, 4, 4), (2, 2, 2)) if time_doubles else ((3, 4, 4), (1, 2, 2))


class _Fp32UnderCpuAutocast:
    """Runs the layer in fp32 inside CPU autocast (same parameters, same math).

    oneDNN's bf16 weight gradient of a 3-D (transposed) convolution with a time kernel
    of 3, stride 1 and padding 1 over 2 frames comes out NaN or wrong (PyTorch 2.x on
    AVX-512 BF16 CPUs); the space-only layers of models with fewer frames than the
    spatial doublings would give are exactly that case, and they are the small layers
    next to the seed, so fp32 costs little there.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)


class SpaceConvTranspose3d(_Fp32UnderCpuAutocast, nn.ConvTranspose3d):
    """A space-only (kernel 3x4x4, stride 1x2x2) up-sampling layer."""


class SpaceConv3d(_Fp32UnderCpuAutocast, nn.Conv3d):
    """A space-only (kernel 3x4x4, stride 1x2x2) down-sampling layer."""


EDGE_CROP = 3  # frames cut from each end of a time-doubling layer's output on edge-repeated input


class EdgeReplicateConvTranspose3d(nn.ConvTranspose3d):
    """A time-doubling layer on edge-repeated frames, cropped back to twice the input's
    frames: output frames 0 and 2T-1 get two kernel taps like every other frame.

    Built with time padding 0 and cropped by slicing (``EDGE_CROP`` frames at each end),
    not with time padding 3: PyTorch 2.14's CPU transposed convolution with that padding
    writes outside its buffer (heap corruption, NaN losses, runs that differ from one
    another with the same seed)."""

    def forward_with(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """This layer's computation with other parameters (the generator's joined video + mask head)."""
        y = F.conv_transpose3d(replicate_time_edges(x), weight, bias, self.stride, self.padding)
        return y[:, :, EDGE_CROP:-EDGE_CROP]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with(x, self.weight, self.bias)


class EdgeReplicateConv3d(nn.Conv3d):
    """A time-halving layer that reads the repeated edge frames where zeros were (time padding 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(replicate_time_edges(x))


def replicate_time_edges(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T, H, W)`` -> ``(B, C, T + 2, H, W)`` with frames 0 and T-1 repeated."""
    return torch.cat([x[:, :, :1], x, x[:, :, -1:]], dim=2)


TIME_PADDINGS = ("zeros", "replicate")


def up3d(cin: int, cout: int, time_doubles: bool, bias: bool = False, time_padding: str = "zeros") -> nn.ConvTranspose3d:
    kernel, stride = _kernel_stride(time_doubles)
    if not time_doubles:
        return SpaceConvTranspose3d(cin, cout, kernel, stride, padding=1, bias=bias)
    if time_padding == "replicate":
        return EdgeReplicateConvTranspose3d(cin, cout, kernel, stride, padding=(0, 1, 1), bias=bias)
    return nn.ConvTranspose3d(cin, cout, kernel, stride, padding=1, bias=bias)


def down3d(cin: int, cout: int, time_doubles: bool, bias: bool = False, time_padding: str = "zeros") -> nn.Conv3d:
    kernel, stride = _kernel_stride(time_doubles)
    if not time_doubles:
        return SpaceConv3d(cin, cout, kernel, stride, padding=1, bias=bias)
    if time_padding == "replicate":
        return EdgeReplicateConv3d(cin, cout, kernel, stride, padding=(0, 1, 1), bias=bias)
    return nn.Conv3d(cin, cout, kernel, stride, padding=1, bias=bias)


def init_weights(module: nn.Module) -> None:
    """Paper initialisation: conv weights N(0, 0.01); BatchNorm gamma N(1, 0.02), beta 0."""
    for m in module.modules():
        if any(p.is_meta for p in m.parameters(recurse=False)):
            continue  # shapes only (a model about to load its weights from a file)
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class TwoStreamGenerator(nn.Module):
    """Maps conditioning contexts to a video and its layers: the ``pixels`` foreground.

    Contexts are vectors ``(B, C)`` (unconditional, label) or ``(B, C, 4, 4)`` maps
    (image mode); a map is lifted to ``(B, C, 2, 4, 4)`` for the video stream.
    ``head_channels`` is the width of the video stream's first head (``video_head``):
    the video's colour channels here; a subclass may read it otherwise
    (:class:`vgpred.models.motion.MotionGenerator`: a 2-channel flow).
    """

    renders_photo: ClassVar[bool] = False  # True: the frames move the photo, at whatever size it is given

    def __init__(self, cfg: ModelConfig, layout: Layout, fg_context: int, bg_context: int, context_is_map: bool,
                 head_channels: int | None = None):
        super().__init__()
        ch, td = layout.channels, layout.time_doubles
        self.frames, self.two_stream, self.context_is_map = cfg.frames, cfg.two_stream, context_is_map
        # encoder maps of the generator's sizes after each doubling but the head (8x8 ...)
        skip_in = layout.encoder_channels[-2::-1] if cfg.skips else ()
        self.fg_skips = _skip_projections(skip_in, ch)
        stem3d = (
            nn.ConvTranspose3d(fg_context, ch[0], (2, 1, 1), bias=False)
            if context_is_map
            else nn.ConvTranspose3d(fg_context, ch[0], (2, 4, 4), bias=False)
        )
        layers: list[nn.Module] = [stem3d, nn.BatchNorm3d(ch[0]), nn.ReLU(True)]
        pad = cfg.time_padding
        for i in range(layout.doublings - 1):
            layers += [up3d(ch[i], ch[i + 1], td[i], time_padding=pad), nn.BatchNorm3d(ch[i + 1]), nn.ReLU(True)]
        self.foreground = nn.Sequential(*layers)
        head = cfg.channels if head_channels is None else head_channels
        self.video_head = nn.Sequential(up3d(ch[-1], head, td[-1], bias=True, time_padding=pad), nn.Tanh())
        if self.two_stream:
            self.mask_head = nn.Sequential(up3d(ch[-1], 1, td[-1], bias=True, time_padding=pad), nn.Sigmoid())
            stem2d = (
                nn.Conv2d(bg_context, ch[0], 3, padding=1, bias=False)
                if context_is_map
                else nn.ConvTranspose2d(bg_context, ch[0], 4, bias=False)
            )
            layers = [stem2d, nn.BatchNorm2d(ch[0]), nn.ReLU(True)]
            for i in range(layout.doublings - 1):
                layers += [nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 2, 1, bias=False), nn.BatchNorm2d(ch[i + 1]), nn.ReLU(True)]
            layers += [nn.ConvTranspose2d(ch[-1], cfg.channels, 4, 2, 1), nn.Tanh()]
            self.background = nn.Sequential(*layers)
            self.bg_skips = _skip_projections(skip_in, ch)
        init_weights(self)

    @classmethod
    def check_config(cls, cfg: ModelConfig, needs_image: bool) -> None:
        """Raise a one-line :class:`VgpredError` if this foreground cannot serve ``cfg``
        (``needs_image``: the mode conditions on a photo). The pixel foreground serves every mode,
        and has no flow to parametrise."""
        if cfg.flow_param != "offset":
            raise VgpredError(f"model.flow_param={cfg.flow_param}: only the motion foreground predicts a flow "
                              f"(model.foreground is {cfg.foreground})")

    def forward(
        self, fg_context: torch.Tensor, bg_context: torch.Tensor, skips: tuple[torch.Tensor, ...] = (),
        photo: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        """``photo`` is not read: the pixel foreground sees it only through the contexts."""
        foreground, mask, background = self.streams(fg_context, bg_context, skips)
        if mask is None:
            ones = torch.ones_like(foreground[:, :1])
            return GeneratorOutput(foreground, foreground, torch.zeros_like(foreground), ones)
        background = background.unsqueeze(2).expand_as(foreground)
        video = mask * foreground + (1 - mask) * background
        return GeneratorOutput(video, foreground, background, mask)

    def streams(
        self, fg_context: torch.Tensor, bg_context: torch.Tensor, skips: tuple[torch.Tensor, ...] = ()
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Both streams' raw outputs: the video head ``(B, head_channels, T, H, W)`` in [-1, 1]
        (tanh), the mask ``(B, 1, T, H, W)`` in [0, 1] and the background ``(B, C, H, W)`` in
        [-1, 1]; the last two are None in the one-stream ablation."""
        if self.context_is_map:
            fg_in = fg_context.unsqueeze(2)  # (B, C, 1, 4, 4)
            bg_in = bg_context
        else:
            fg_in = fg_context[:, :, None, None, None]
            bg_in = bg_context[:, :, None, None]
        if len(skips) != len(self.fg_skips):
            raise ValueError(f"the generator takes {len(self.fg_skips)} skip maps, got {len(skips)}")
        h = _with_skips(self.foreground, fg_in, skips, self.fg_skips, over_time=True)
        if not self.two_stream:
            return self.video_head(h), None, None
        head, mask = self._heads(h)
        background = _with_skips(self.background, bg_in, skips, self.bg_skips, over_time=False)
        return head, mask, background

    def _heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Video and mask heads as one transposed convolution (one pass over ``h``, not two).

        Same parameters and math as ``video_head(h), mask_head(h)``: the two weights are
        joined along the output channels, the result split again.
        """
        video_conv, mask_conv = self.video_head[0], self.mask_head[0]
        if isinstance(video_conv, SpaceConvTranspose3d):  # keeps its fp32 fallback
            return self.video_head(h), self.mask_head(h)
        weight = torch.cat([video_conv.weight, mask_conv.weight], dim=1)
        bias = torch.cat([video_conv.bias, mask_conv.bias])
        if isinstance(video_conv, EdgeReplicateConvTranspose3d):
            y = video_conv.forward_with(h, weight, bias)
        else:
            y = F.conv_transpose3d(h, weight, bias, video_conv.stride, video_conv.padding)
        return torch.tanh(y[:, :-1]), torch.sigmoid(y[:, -1:])


def _skip_projections(skip_in: tuple[int, ...], ch: tuple[int, ...]) -> nn.ModuleList:
    """1x1 convolutions from encoder map ``i`` to the generator's width after doubling ``i + 1``."""
    return nn.ModuleList(nn.Conv2d(c, ch[i + 1], 1, bias=False) for i, c in enumerate(skip_in))


def _with_skips(
    stream: nn.Sequential, h: torch.Tensor, skips: tuple[torch.Tensor, ...], projections: nn.ModuleList, over_time: bool
) -> torch.Tensor:
    """Run a stream built as (convolution, BatchNorm, ReLU) triples, then its tail.

    Skip ``i`` (projected) is added to the output of triple ``i + 1``'s convolution,
    before its BatchNorm; with no skips this is ``stream(h)``.
    """
    if not skips:
        return stream(h)
    layers = list(stream)
    for i in range(len(skips) + 1):
        conv, norm, act = layers[3 * i : 3 * i + 3]
        h = conv(h)
        if i > 0:
            s = projections[i - 1](skips[i - 1])
            h = h + (s.unsqueeze(2) if over_time else s).to(h.dtype)
        h = act(norm(h))
    for layer in layers[3 * (len(skips) + 1) :]:
        h = layer(h)
    return h


class Discriminator(nn.Module):
    """3-D convolutional critic; with ``num_classes > 0`` a projection term uses the label."""

    def __init__(self, cfg: ModelConfig, layout: Layout, num_classes: int = 0):
        super().__init__()
        ch = layout.critic_channels  # pixels side first: 64, 128, 256, 512 at the paper's width
        td = layout.time_doubles[::-1]
        pad = cfg.time_padding
        first = down3d(cfg.channels, ch[0], td[0], bias=True, time_padding=pad)
        blocks: list[nn.Module] = [nn.Sequential(first, nn.LeakyReLU(0.2, True))]
        for i in range(1, layout.doublings):
            conv = down3d(ch[i - 1], ch[i], td[i], time_padding=pad)
            blocks.append(nn.Sequential(conv, nn.BatchNorm3d(ch[i]), nn.LeakyReLU(0.2, True)))
        self.blocks = nn.ModuleList(blocks)
        self.logit = nn.Conv3d(ch[-1], 1, (2, 4, 4))
        self.embed = nn.Embedding(num_classes, ch[-1]) if num_classes > 0 else None
        init_weights(self)

    def features(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps of every block, pixels side first (for representation probes)."""
        feats = []
        h = video
        for block in self.blocks:
            h = block(h)
            feats.append(h)
        return feats

    def forward(self, video: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """``video`` (B, C, T, H, W) in [-1, 1] -> logits (B,)."""
        h = video
        for block in self.blocks:
            h = block(h)
        out = self.logit(h).flatten(1).sum(1)
        if self.embed is not None:
            if label is None:
                raise ValueError("a label-conditioned discriminator needs labels")
            out = out + (self.embed(label) * h.mean(dim=(2, 3, 4))).sum(1)
        return out


class FrameEncoder(nn.Module):
    """First-frame encoder of the image-to-video model: (B, C, H, W) -> (B, C', 4, 4).

    With ``model.context_frames = k > 1`` it reads the k context frames stacked along the
    channels, (B, C * k, H, W) (channel-major: colour c of frame t is channel ``c * k + t``).
    """

    def __init__(self, cfg: ModelConfig, layout: Layout):
        super().__init__()
        layers: list[nn.Module] = []
        cin = cfg.channels * cfg.context_frames
        for i, cout in enumerate(layout.encoder_channels):
            layers.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.ReLU(True))
            cin = cout
        self.net = nn.Sequential(*layers)
        self.out_channels = cin
        init_weights(self)

    def features(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The map after every layer, pixels side first; the last is the code."""
        maps = []
        h = image
        for layer in self.net:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                maps.append(h)
        return maps

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.features(image)[-1]

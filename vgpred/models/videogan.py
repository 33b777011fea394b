"""The full generator (mode conditioner + the foreground's two streams) and the matching discriminator."""
from __future__ import annotations

import torch
from torch import nn

from vgpred.config import ModelConfig, check_section
from vgpred.errors import VgpredError
from vgpred.limits import MAX_CLIP_SIZE
from vgpred.models.foregrounds import get_foreground
from vgpred.models.layout import make_layout
from vgpred.models.modes import get_mode
from vgpred.models.networks import TIME_PADDINGS, Discriminator, GeneratorOutput

MAX_RESOLUTION = MAX_CLIP_SIZE  # a model never needs clips larger than a cache can hold


def check_model_config(cfg: ModelConfig) -> None:
    """Raise a one-line :class:`VgpredError` if ``cfg`` cannot build a model."""
    check_section("model", cfg)  # numeric ranges first: NaN or infinite widths never reach the layout
    make_layout(cfg)
    if cfg.resolution > MAX_RESOLUTION:
        raise VgpredError(f"model.resolution={cfg.resolution}: must be at most {MAX_RESOLUTION}")
    get_mode(cfg.mode).check_config(cfg)
    if cfg.time_padding not in TIME_PADDINGS:
        raise VgpredError(f"model.time_padding={cfg.time_padding!r}: must be one of {', '.join(TIME_PADDINGS)}")
    get_foreground(cfg)


class VideoGenerator(nn.Module):
    """What a model folder holds: the conditioner of ``cfg.mode`` and the generator of ``cfg.foreground``.

    ``forward(z, label=None, image=None, render=None)``:
        z: (B, latent_dim) noise; label: (B,) int64 class ids (label mode);
        image: (B, C, H, W) in [-1, 1] at the network's resolution (image mode);
        render: (B, C, H', W') in [-1, 1], the same photo at any size and aspect ratio
        (motion foreground): the motion predicted from ``image`` moves it, so the video
        comes out at (H', W'). Returns a :class:`GeneratorOutput`.

    With ``model.context_frames = k > 1``, ``image`` (and ``render``) are the k context frames
    ``(B, C, k, H, W)``, oldest first: the encoder reads all of them, the motion foreground
    moves the last, and the video's first k frames are the context frames themselves,
    followed by T - k predicted ones (:func:`start_with_context`).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        check_model_config(cfg)
        self.cfg = cfg
        layout = make_layout(cfg)
        mode = get_mode(cfg.mode)
        self.conditioner = mode(cfg, layout)
        self.generator = get_foreground(cfg)(
            cfg, layout, self.conditioner.fg_channels, self.conditioner.bg_channels, mode.context_is_map
        )

    @property
    def needs_image(self) -> bool:
        return self.conditioner.needs_image

    @property
    def needs_label(self) -> bool:
        return self.conditioner.needs_label

    def sample_noise(self, batch: int, generator: torch.Generator | None = None, device=None,
                     scale: float | None = None) -> torch.Tensor:
        """``(batch, latent_dim)`` normal noise of standard deviation ``scale`` (default: ``model.noise_scale``,
        the model's own; training passes 1, the prior its KL term measures against). Empty when latent_dim is 0."""
        if device is None:
            device = next(self.parameters()).device
        scale = self.cfg.noise_scale if scale is None else scale
        if generator is not None and generator.device.type != torch.device(device).type:
            z = torch.randn(batch, self.cfg.latent_dim, generator=generator).to(device)
        else:
            z = torch.randn(batch, self.cfg.latent_dim, generator=generator, device=device)
        return z if scale == 1 else z * scale

    @property
    def renders_photo(self) -> bool:
        """True when the video moves the photo's pixels, so it can be rendered at the photo's size."""
        return self.generator.renders_photo

    def forward(
        self, z: torch.Tensor, label: torch.Tensor | None = None, image: torch.Tensor | None = None,
        render: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        if render is not None and not self.renders_photo:
            raise VgpredError(f"render: the {self.cfg.foreground} foreground paints its frames at "
                              f"{self.cfg.resolution}x{self.cfg.resolution}; only motion models move a photo of another size")
        k = self.cfg.context_frames
        source = image if render is None else render
        if k > 1:
            _check_context(image, "image", k)
            _check_context(source, "render", k)
        fg, bg, skips = self.conditioner(z, label, image)
        if k == 1:
            return self.generator(fg, bg, skips, source)
        return start_with_context(self.generator(fg, bg, skips, source[:, :, -1]), source)

    def context_from(self, clips: torch.Tensor) -> torch.Tensor | None:
        """The ``image`` that ``forward`` takes, from real clips ``(B, C, T, H, W)``: None (no image),
        frame 0 ``(B, C, H, W)``, or the first ``model.context_frames`` frames ``(B, C, k, H, W)``."""
        return self.conditioner.context_from(clips)


def _check_context(x: torch.Tensor | None, name: str, k: int) -> None:
    if x is None or x.dim() != 5 or x.shape[2] != k:
        got = "None" if x is None else tuple(x.shape)
        raise ValueError(f"{name}: a model with {k} context frames takes (B, C, {k}, H, W), got {got}")


def start_with_context(out: GeneratorOutput, context: torch.Tensor) -> GeneratorOutput:
    """The video that starts with the k ``context`` frames ``(B, C, k, H, W)`` and goes on with the
    generator's frames 1 .. T-k (its frame 0 stands for the last context frame, the one it was
    predicted from: the photo of the motion foreground). Context frames are shown with mask 1,
    foreground = the frame itself, flow 0, so ``video = mask * fg + (1 - mask) * bg`` still holds."""
    k, t = context.shape[2], out.video.shape[2]
    context = context.to(out.video.dtype)

    def join(first: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([first, x[:, :, 1:t - k + 1]], dim=2)

    ones = torch.ones_like(out.mask[:, :, :1]).expand(-1, -1, k, -1, -1)
    return GeneratorOutput(
        join(context, out.video), join(context, out.foreground),
        join(out.background[:, :, :1].expand(-1, -1, k, -1, -1), out.background), join(ones, out.mask),
        None if out.flow is None else join(torch.zeros_like(out.flow[:, :, :1]).expand(-1, -1, k, -1, -1), out.flow),
    )


def build_discriminator(cfg: ModelConfig) -> Discriminator:
    """The critic for ``cfg``; in label mode it sees the label through a projection."""
    check_model_config(cfg)
    return Discriminator(cfg, make_layout(cfg), get_mode(cfg.mode).discriminator_classes(cfg))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _activation_elements(cfg: ModelConfig, discriminator: bool) -> int:
    """Elements of the feature maps one training sample keeps for the backward pass, one map per layer.

    A lower bound (normalisation and activation outputs are not counted): the generator's
    video and background streams, the image encoder, and the discriminator on a real and
    a generated clip.
    """
    layout = make_layout(cfg)
    d, res = layout.doublings, cfg.resolution
    time_steps = sum(layout.time_doubles)
    side = [res >> k for k in range(d + 1)]  # level k: k halvings from the pixels
    time = [cfg.frames >> min(k, time_steps) for k in range(d + 1)]
    video = sum(c * time[d - i] * side[d - i] ** 2 for i, c in enumerate(layout.channels))
    video += (cfg.channels + 1) * cfg.frames * res * res
    background = sum(c * side[d - i] ** 2 for i, c in enumerate(layout.channels)) + cfg.channels * res * res
    encoder = sum(c * side[k + 1] ** 2 for k, c in enumerate(layout.encoder_channels))
    encoder = encoder if get_mode(cfg.mode).needs_image else 0
    critic = sum(c * time[k + 1] * side[k + 1] ** 2 for k, c in enumerate(layout.critic_channels))
    return video + background + encoder + (2 * critic if discriminator else 0)


def training_memory(cfg: ModelConfig, batch_size: int, discriminator: bool = True,
                    activation_bytes: int = 4) -> tuple[int, int, int]:
    """``(parameters, parameter bytes, activation bytes)`` a training step needs at least.

    Parameter bytes count each float32 generator weight five times (weight, gradient, two
    Adam moments, EMA copy) and each discriminator weight four times; activations take
    ``activation_bytes`` per element (2 under bf16/fp16 autocast). The networks are built
    on the meta device: shapes only, nothing is allocated.
    """
    with torch.device("meta"):
        g = count_parameters(VideoGenerator(cfg))
        d = count_parameters(build_discriminator(cfg)) if discriminator else 0
    return g + d, 4 * (5 * g + 4 * d), activation_bytes * batch_size * _activation_elements(cfg, discriminator)

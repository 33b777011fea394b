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

    def sample_noise(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Standard normal ``(batch, latent_dim)`` noise (empty when latent_dim is 0)."""
        if device is None:
            device = next(self.parameters()).device
        if generator is not None and generator.device.type != torch.device(device).type:
            return torch.randn(batch, self.cfg.latent_dim, generator=generator).to(device)
        return torch.randn(batch, self.cfg.latent_dim, generator=generator, device=device)

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
        fg, bg, skips = self.conditioner(z, label, image)
        return self.generator(fg, bg, skips, image if render is None else render)


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

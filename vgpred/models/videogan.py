"""The full generator (mode conditioner + the foreground's two streams) and the matching discriminator."""
from __future__ import annotations

import torch
from torch import nn

from vgpred.config import ModelConfig
from vgpred.errors import VgpredError
from vgpred.models.foregrounds import get_foreground
from vgpred.models.layout import make_layout
from vgpred.models.modes import get_mode
from vgpred.models.networks import TIME_PADDINGS, Discriminator, GeneratorOutput


def check_model_config(cfg: ModelConfig) -> None:
    """Raise a one-line :class:`VgpredError` if ``cfg`` cannot build a model."""
    make_layout(cfg)
    get_mode(cfg.mode).check_config(cfg)
    if cfg.fps <= 0:
        raise VgpredError(f"model.fps={cfg.fps}: must be positive")
    if cfg.time_padding not in TIME_PADDINGS:
        raise VgpredError(f"model.time_padding={cfg.time_padding!r}: must be one of {', '.join(TIME_PADDINGS)}")
    get_foreground(cfg)


class VideoGenerator(nn.Module):
    """What a model folder holds: the conditioner of ``cfg.mode`` and the generator of ``cfg.foreground``.

    ``forward(z, label=None, image=None)``:
        z: (B, latent_dim) noise; label: (B,) int64 class ids (label mode);
        image: (B, C, H, W) in [-1, 1] (image mode). Returns a :class:`GeneratorOutput`.
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

    def forward(
        self, z: torch.Tensor, label: torch.Tensor | None = None, image: torch.Tensor | None = None
    ) -> GeneratorOutput:
        fg, bg, skips = self.conditioner(z, label, image)
        return self.generator(fg, bg, skips, image)


def build_discriminator(cfg: ModelConfig) -> Discriminator:
    """The critic for ``cfg``; in label mode it sees the label through a projection."""
    check_model_config(cfg)
    return Discriminator(cfg, make_layout(cfg), get_mode(cfg.mode).discriminator_classes(cfg))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

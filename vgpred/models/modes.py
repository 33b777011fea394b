"""The three generation modes, decided here and nowhere else.

A mode is a conditioner: it turns the inputs a user gives (noise ``z``, a label, a
photo) into the contexts that feed the generator's two streams, and it says what
inputs it requires and whether the discriminator sees the label.

* ``unconditional``: both streams get ``z`` (B, latent_dim).
* ``label``: the foreground stream gets ``[z, embed(label)]``, the background ``z``;
  the discriminator projects its features on a label embedding.
* ``image``: a 2-D encoder maps the conditioning frame to a (C, 4, 4) code; ``z`` is
  broadcast over the 4x4 grid and joined to it, so one photo yields many futures
  (``latent_dim = 0`` gives the deterministic regressor of the authors' code). With
  ``model.skips`` the encoder's finer maps also go to the generator (U-Net skips), so
  the photo's detail does not have to pass the 4x4 code. With ``model.context_frames = k``
  the encoder reads k frames (:meth:`Conditioner.context_from` picks them from a clip).
"""
from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
from torch import nn

from vgpred.config import ModelConfig
from vgpred.errors import VgpredError
from vgpred.models.layout import Layout
from vgpred.models.networks import FrameEncoder
from vgpred.registry import Registry

MODES: Registry[type["Conditioner"]] = Registry("mode")


class Contexts(NamedTuple):
    """What a conditioner hands the generator.

    ``fg``/``bg`` feed the video and background streams; ``skips`` are the encoder's
    feature maps ``(B, C, H, W)`` from 8x8 up to half the resolution, coarsest first
    (empty unless the image mode has ``model.skips``).
    """

    fg: torch.Tensor
    bg: torch.Tensor
    skips: tuple[torch.Tensor, ...] = ()


class Conditioner(nn.Module):
    """Base class: ``forward(z, label, image) -> Contexts``."""

    needs_image: ClassVar[bool] = False
    needs_label: ClassVar[bool] = False
    context_is_map: ClassVar[bool] = False
    fg_channels: int
    bg_channels: int

    def __init__(self, cfg: ModelConfig, layout: Layout):
        super().__init__()
        self.cfg = cfg

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        if cfg.latent_dim < 0:
            raise VgpredError(f"model.latent_dim={cfg.latent_dim}: must be >= 0")
        if cfg.skips and not cls.needs_image:
            raise VgpredError(f"model.skips=true: only the image mode has an encoder to skip from (mode is {cfg.mode})")

        if cfg.context_frames > 1 and not cls.needs_image:
            raise VgpredError(f"model.context_frames={cfg.context_frames}: only the image mode conditions on "
                              f"frames (mode is {cfg.mode})")

    @classmethod
    def discriminator_classes(cls, cfg: ModelConfig) -> int:
        return 0

    def context_from(self, clips: torch.Tensor) -> torch.Tensor | None:
        """What ``forward`` takes as ``image`` from real clips ``(B, C, T, H, W)``: None (no image)."""
        return None

    def forward(self, z: torch.Tensor, label: torch.Tensor | None, image: torch.Tensor | None) -> Contexts:
        raise NotImplementedError


@MODES.register("unconditional")
class Unconditional(Conditioner):
    def __init__(self, cfg: ModelConfig, layout: Layout):
        super().__init__(cfg, layout)
        self.fg_channels = self.bg_channels = cfg.latent_dim

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        super().check_config(cfg)
        if cfg.latent_dim < 1:
            raise VgpredError(f"model.latent_dim={cfg.latent_dim}: the {cfg.mode} mode needs a latent vector (>= 1)")

    def forward(self, z, label, image):
        return Contexts(z, z)


@MODES.register("label")
class LabelConditioned(Conditioner):
    needs_label = True

    def __init__(self, cfg: ModelConfig, layout: Layout):
        super().__init__(cfg, layout)
        self.embed = nn.Embedding(cfg.num_classes, cfg.embed_dim)
        self.fg_channels = cfg.latent_dim + cfg.embed_dim
        self.bg_channels = cfg.latent_dim

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        Unconditional.check_config(cfg)
        if cfg.num_classes < 2:
            raise VgpredError(f"model.num_classes={cfg.num_classes}: label mode needs at least 2 classes")
        if cfg.class_names and len(cfg.class_names) != cfg.num_classes:
            raise VgpredError(
                f"model.class_names has {len(cfg.class_names)} names for model.num_classes={cfg.num_classes}"
            )
        if cfg.embed_dim < 1:
            raise VgpredError(f"model.embed_dim={cfg.embed_dim}: must be >= 1")

    @classmethod
    def discriminator_classes(cls, cfg: ModelConfig) -> int:
        return cfg.num_classes

    def forward(self, z, label, image):
        return Contexts(torch.cat([z, self.embed(label).to(z.dtype)], dim=1), z)


@MODES.register("image")
class ImageConditioned(Conditioner):
    needs_image = True
    context_is_map = True

    def __init__(self, cfg: ModelConfig, layout: Layout):
        super().__init__(cfg, layout)
        self.encoder = FrameEncoder(cfg, layout)
        self.fg_channels = self.bg_channels = self.encoder.out_channels + cfg.latent_dim

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        super().check_config(cfg)
        if cfg.context_frames >= cfg.frames:
            raise VgpredError(f"model.context_frames={cfg.context_frames}: must be below model.frames={cfg.frames} "
                              "(the video starts with the context frames and predicts the rest)")

    def context_from(self, clips: torch.Tensor) -> torch.Tensor:
        """Frame 0 ``(B, C, H, W)`` of clips ``(B, C, T, H, W)``, or with ``model.context_frames = k > 1``
        frames 0 .. k-1 ``(B, C, k, H, W)``."""
        k = self.cfg.context_frames
        return clips[:, :, 0] if k == 1 else clips[:, :, :k]

    def forward(self, z, label, image):
        if image.dim() == 5:  # (B, C, k, H, W) context frames -> (B, C * k, H, W)
            image = image.flatten(1, 2)
        maps = self.encoder.features(image)  # pixels side first, the 4x4 code last
        code = maps[-1]
        if z.shape[1] > 0:
            noise = z[:, :, None, None].to(code.dtype).expand(-1, -1, *code.shape[2:])
            code = torch.cat([code, noise], dim=1)
        skips = tuple(maps[-2::-1]) if self.cfg.skips else ()
        return Contexts(code, code, skips)


def get_mode(name: str) -> type[Conditioner]:
    return MODES.get(name)

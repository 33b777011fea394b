"""A plain fp32 VideoGAN, written the way public PyTorch ports write it: the yardstick.

``nn.Sequential`` stacks, default (contiguous) memory format, no autocast, and the
training step of the PyTorch DCGAN example (D step on real + detached fake, then a G
step through D with D's parameters still requiring grad). The layers, their order and
their parameter shapes match :mod:`vgpred.models.networks`, so
:func:`copy_weights` can load a vgpred model into it and the two must agree to float
tolerance (``tests/test_speed_paths.py`` checks that); only the speed differs.

Modes: ``image`` (first-frame encoder + noise, the default) and ``unconditional``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vgpred.config import ModelConfig
from vgpred.models.layout import make_layout


def _ks(time_doubles: bool):
    return ((4, 4, 4), (2, 2, 2)) if time_doubles else ((3, 4, 4), (1, 2, 2))


class ReferenceGenerator(nn.Module):
    """``forward(z, image=None) -> video (B, C, T, H, W)``; the same net as vgpred's generator."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        lay = make_layout(cfg)
        ch, td, image_mode = lay.channels, lay.time_doubles, cfg.mode == "image"
        self.image_mode = image_mode
        if image_mode:
            enc: list[nn.Module] = []
            cin = cfg.channels
            for i, cout in enumerate(lay.encoder_channels):
                enc += [nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0)] + ([nn.BatchNorm2d(cout)] if i else []) + [nn.ReLU(True)]
                cin = cout
            self.encoder = nn.Sequential(*enc)
            ctx = cin + cfg.latent_dim
            fg: list[nn.Module] = [nn.ConvTranspose3d(ctx, ch[0], (2, 1, 1), bias=False)]
            bg: list[nn.Module] = [nn.Conv2d(ctx, ch[0], 3, padding=1, bias=False)]
        else:
            ctx = cfg.latent_dim
            fg = [nn.ConvTranspose3d(ctx, ch[0], (2, 4, 4), bias=False)]
            bg = [nn.ConvTranspose2d(ctx, ch[0], 4, bias=False)]
        fg += [nn.BatchNorm3d(ch[0]), nn.ReLU(True)]
        for i in range(lay.doublings - 1):
            k, s = _ks(td[i])
            fg += [nn.ConvTranspose3d(ch[i], ch[i + 1], k, s, 1, bias=False), nn.BatchNorm3d(ch[i + 1]), nn.ReLU(True)]
        self.foreground = nn.Sequential(*fg)
        k, s = _ks(td[-1])
        self.video_head = nn.Sequential(nn.ConvTranspose3d(ch[-1], cfg.channels, k, s, 1), nn.Tanh())
        self.mask_head = nn.Sequential(nn.ConvTranspose3d(ch[-1], 1, k, s, 1), nn.Sigmoid())
        bg += [nn.BatchNorm2d(ch[0]), nn.ReLU(True)]
        for i in range(lay.doublings - 1):
            bg += [nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 2, 1, bias=False), nn.BatchNorm2d(ch[i + 1]), nn.ReLU(True)]
        bg += [nn.ConvTranspose2d(ch[-1], cfg.channels, 4, 2, 1), nn.Tanh()]
        self.background = nn.Sequential(*bg)

    def forward(self, z: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        if self.image_mode:
            code = self.encoder(image)
            code = torch.cat([code, z[:, :, None, None].expand(-1, -1, *code.shape[2:])], 1)
            fg_in, bg_in = code.unsqueeze(2), code
        else:
            fg_in, bg_in = z[:, :, None, None, None], z[:, :, None, None]
        h = self.foreground(fg_in)
        f, m = self.video_head(h), self.mask_head(h)
        b = self.background(bg_in).unsqueeze(2)
        return m * f + (1 - m) * b


class ReferenceDiscriminator(nn.Module):
    """``(B, C, T, H, W) -> logits (B,)``; the same net as vgpred's discriminator."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        lay = make_layout(cfg)
        ch, td = lay.channels[::-1], lay.time_doubles[::-1]
        k, s = _ks(td[0])
        layers: list[nn.Module] = [nn.Conv3d(cfg.channels, ch[0], k, s, 1), nn.LeakyReLU(0.2, True)]
        for i in range(1, lay.doublings):
            k, s = _ks(td[i])
            layers += [nn.Conv3d(ch[i - 1], ch[i], k, s, 1, bias=False), nn.BatchNorm3d(ch[i]), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv3d(ch[-1], 1, (2, 4, 4))]
        self.net = nn.Sequential(*layers)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.net(video).flatten(1).sum(1)


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters and buffers of a vgpred module into its reference twin (same order)."""
    with torch.no_grad():
        for a, b in zip(src.parameters(), dst.parameters(), strict=True):
            b.copy_(a)
        for a, b in zip(src.buffers(), dst.buffers(), strict=True):
            b.copy_(a)


class ReferenceTrainer:
    """Adam(2e-4, 0.5) on both nets; :meth:`step` is one D step then one G step in fp32."""

    def __init__(self, cfg: ModelConfig, mask_l1: float = 0.1, recon_l1: float = 10.0):
        self.cfg = cfg
        self.g, self.d = ReferenceGenerator(cfg), ReferenceDiscriminator(cfg)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.mask_l1, self.recon_l1 = mask_l1, recon_l1

    def step(self, real: torch.Tensor) -> tuple[float, float]:
        """One step on ``real`` (B, C, T, H, W) in [-1, 1]; returns (loss_d, loss_g)."""
        z = torch.randn(real.shape[0], self.cfg.latent_dim, device=real.device)
        image = real[:, :, 0] if self.g.image_mode else None
        fake = self.g(z, image)
        self.opt_d.zero_grad()
        loss_d = F.softplus(-self.d(real)).mean() + F.softplus(self.d(fake.detach())).mean()
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        loss_g = F.softplus(-self.d(fake)).mean()
        if image is not None:
            loss_g = loss_g + self.recon_l1 * (fake[:, :, 0] - image).abs().mean()
        loss_g.backward()
        self.opt_g.step()
        return loss_d.item(), loss_g.item()

"""Training terms that make the image mode's noise matter: a posterior encoder and mode seeking.

An image-to-video generator given a photo and a noise vector z learns to ignore z when
nothing in its loss depends on it: a GAN with an L1 pull towards the real future gives one
future per photo, whatever z says. Two remedies, each a ``loss.*`` weight (0 = off):

* ``loss.kl`` (SAVP, Lee et al. 2018; SVG, Denton & Fergus 2018): a posterior encoder
  q(z | clip) reads the real clip and gives the mean and log-variance of a z that explains
  its motion. The generator, given the photo and a z drawn from q, must reconstruct the clip
  (``loss.video_l1`` on frames 1 .. T-1); the KL divergence of q from N(0, I) (nats per
  video, weighted by ``loss.kl``) keeps q's codes where the prior draws, so that at test
  time a z from the prior picks one plausible future. The GAN loss scores videos from the
  prior's z. The encoder lives in training checkpoints only; the exported model samples
  from the prior and never needs it.
* ``loss.diversity`` (mode seeking, MSGAN, Mao et al. 2019): two prior z for each photo and
  ``1 / (mean |G(z1) - G(z2)| / mean |z1 - z2| + eps)`` (frames 1 .. T-1), low when
  different z give different futures.
"""
from __future__ import annotations

import torch
from torch import nn

from vgpred.config import Config, ModelConfig
from vgpred.errors import VgpredError
from vgpred.models.layout import SEED_HW, SEED_T, Layout
from vgpred.models.networks import down3d

MODE_SEEKING_EPS = 1e-5
MU_BOUND = 10.0  # |posterior mean| stays below this: 10 standard deviations of the prior
LOGVAR_BOUND = 8.0  # |posterior log-variance| stays below this: sigma from 0.018 to 55


def uses_posterior(cfg: Config) -> bool:
    """True when the run trains a posterior encoder (``loss.kl > 0``)."""
    return cfg.loss.kl > 0


def check_latent_terms(cfg: Config, uses_discriminator: bool) -> None:
    """Raise a one-line :class:`VgpredError` when ``loss.kl`` / ``loss.diversity`` cannot apply to ``cfg``."""
    for name in ("kl", "diversity"):
        weight = getattr(cfg.loss, name)
        if weight < 0:
            raise VgpredError(f"loss.{name}={weight}: must be >= 0")
        if weight == 0:
            continue
        if cfg.model.mode != "image" or cfg.model.latent_dim < 1 or not uses_discriminator:
            raise VgpredError(f"loss.{name}={weight}: makes the noise of an image-to-video GAN matter; needs "
                              f"model.mode=image (is {cfg.model.mode}), model.latent_dim >= 1 (is "
                              f"{cfg.model.latent_dim}) and a GAN loss (loss.loss is {cfg.loss.loss})")
    if uses_posterior(cfg) and cfg.loss.video_l1 <= 0:
        raise VgpredError(f"loss.kl={cfg.loss.kl}: the posterior encoder learns only through the reconstruction "
                          "of the clip from its z; set loss.video_l1 > 0")


class PosteriorEncoder(nn.Module):
    """q(z | clip): ``(B, C, T, H, W)`` in [-1, 1] -> mean and log-variance, each ``(B, latent_dim)``.

    The discriminator's plan at half its widths (3-D convolutions, stride 2, LeakyReLU 0.2,
    no BatchNorm, PyTorch's default initialisation) down to the seed's ``(2, 4, 4)``, then a linear
    layer. The input is the clip and its difference from frame 0 (2C channels), so motion
    does not have to be found by subtraction inside the network. The linear layer starts at
    zero: q starts as the prior (KL 0).
    """

    def __init__(self, cfg: ModelConfig, layout: Layout):
        super().__init__()
        widths = [max(1, c // 2) for c in layout.critic_channels]
        td = layout.time_doubles[::-1]
        layers: list[nn.Module] = []
        cin = 2 * cfg.channels
        for i, cout in enumerate(widths):
            layers += [down3d(cin, cout, td[i], bias=True, time_padding=cfg.time_padding), nn.LeakyReLU(0.2, True)]
            cin = cout
        self.net = nn.Sequential(*layers)
        self.head = nn.Linear(cin * SEED_T * SEED_HW * SEED_HW, 2 * cfg.latent_dim)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, C, T, H, W)`` real clips -> ``mu``, ``logvar`` ``(B, latent_dim)``, float32.

        Both are bounded smoothly (``bound * tanh(x / bound)``): the prior is N(0, I), so a
        mean beyond :data:`MU_BOUND` or a log-variance beyond :data:`LOGVAR_BOUND` explains
        nothing, and unbounded they can run away together with the KL term (seen on real
        footage: KL 4 nats at step 900, 1e34 at step 950, then NaN).
        """
        x = torch.cat([clip, clip - clip[:, :, :1]], dim=1)
        mu, logvar = self.head(self.net(x).flatten(1)).float().chunk(2, dim=1)
        return _soft_bound(mu, MU_BOUND), _soft_bound(logvar, LOGVAR_BOUND)


def _soft_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    """``x`` near 0, squashed smoothly into (-bound, bound) further out."""
    return bound * torch.tanh(x / bound)


def sample_posterior(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``mu + sigma * eps`` with ``eps`` drawn from ``generator`` (a CPU generator: runs repeat exactly)."""
    eps = torch.randn(mu.shape, generator=generator).to(mu.device)
    return mu + (0.5 * logvar).exp() * eps


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) in nats, summed over the latent, averaged over the batch."""
    return 0.5 * (mu.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).sum(dim=1).mean()


def mode_seeking(video_a: torch.Tensor, video_b: torch.Tensor, z_a: torch.Tensor,
                 z_b: torch.Tensor, first: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """MSGAN's term for two videos ``(B, C, T, H, W)`` of the same photos from ``z_a``, ``z_b`` ``(B, D)``.

    Returns ``(loss, ratio)``: ``ratio = mean |a - b| over the predicted frames first .. T-1 /
    mean |z_a - z_b|`` and ``loss = 1 / (ratio + eps)`` (``first``: the number of given frames).
    """
    apart = (video_a[:, :, first:].float() - video_b[:, :, first:].float()).abs().mean()
    ratio = apart / (z_a.float() - z_b.float()).abs().mean()
    return 1 / (ratio + MODE_SEEKING_EPS), ratio

"""Training objectives, registered by the name used in ``loss.loss``.

``gan`` is the paper's non-saturating loss (softplus form of the binary cross
entropy on logits), ``hinge`` the hinge loss of later GANs, and ``l1`` a pure
regression objective (no discriminator) for the deterministic baseline.
Logits are cast to fp32 before the loss, whatever precision the networks ran in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from vgpred.registry import Registry


@dataclass(frozen=True)
class Objective:
    uses_discriminator: bool
    uses_noise: bool
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None  # (real, fake logits)
    g_loss: Callable[[torch.Tensor], torch.Tensor] | None = None  # (fake logits)


OBJECTIVES: Registry[Objective] = Registry("loss")

OBJECTIVES.register("gan")(
    Objective(
        uses_discriminator=True,
        uses_noise=True,
        d_loss=lambda real, fake: F.softplus(-real.float()).mean() + F.softplus(fake.float()).mean(),
        g_loss=lambda fake: F.softplus(-fake.float()).mean(),
    )
)
OBJECTIVES.register("hinge")(
    Objective(
        uses_discriminator=True,
        uses_noise=True,
        d_loss=lambda real, fake: F.relu(1 - real.float()).mean() + F.relu(1 + fake.float()).mean(),
        g_loss=lambda fake: -fake.float().mean(),
    )
)
OBJECTIVES.register("l1")(Objective(uses_discriminator=False, uses_noise=False))


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of D at real videos (``real`` must require grad)."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()

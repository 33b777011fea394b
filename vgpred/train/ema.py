"""Exponential moving average of the generator, the weights that get exported."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``shadow`` = EMA of ``model``'s parameters; buffers (BatchNorm stats) are copied.

    For the first ``warmup`` updates the shadow simply copies the model, so early
    samples are not dominated by the random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float, warmup: int = 0):
        self.decay, self.warmup = decay, warmup
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = 0.0 if step < self.warmup else self.decay
        torch._foreach_lerp_(list(self.shadow.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)
        for s, b in zip(self.shadow.buffers(), model.buffers()):
            s.copy_(b)

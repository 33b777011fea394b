"""Exponential moving average of the generator, the weights that get exported, and the
re-estimation of its BatchNorm statistics before it is used."""
from __future__ import annotations

import contextlib
import copy
from typing import Iterable

import torch
from torch import nn


class EMA:
    """Keeps ``shadow`` = EMA of ``model``'s parameters; buffers (BatchNorm stats) are copied
    (and re-estimated by :func:`recalibrate_batchnorm` before the shadow is used).

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


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, inputs: Iterable[tuple], context=None) -> int:
    """Re-estimate every BatchNorm layer's running statistics of ``model`` from ``inputs``.

    The EMA generator's weights never run a training forward pass, so the running
    statistics it carries (copied from the live generator) describe another
    network's activations; used in eval mode they shift every layer (several dB of
    frame-0 PSNR on the bundled models). Before samples and export the statistics
    are recomputed as a plain average over ``inputs`` (``momentum=None``), as
    BigGAN's "standing statistics" and SWA's ``update_bn`` do. ``inputs`` yields
    the positional arguments of ``model``'s forward; ``context`` (for example an
    autocast) wraps each call. Returns the number of layers updated.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    try:
        seen = 0
        for args in inputs:
            with context if context is not None else contextlib.nullcontext():
                model(*args)
            seen += 1
        if seen == 0:
            raise ValueError("recalibrate_batchnorm: no input batches")
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
    return len(norms)

"""Random-number state of a training run: what each rank seeds, and what a checkpoint keeps.

Rank ``r`` seeds Python's ``random``, NumPy and torch from ``train.seed + r`` and draws its
training noise from a generator of its own (``train.seed * 1000 + r``). That noise is the
only randomness the training steps draw: the sampler, augmentation, fixed sample inputs and
BatchNorm re-estimation use generators seeded from what they compute, and the global torch
RNG only seeds DataLoader iterators (nothing reads the seeds the workers get from it). A
checkpoint keeps, for every rank, the noise generator's state and the global torch RNG's;
Python's and NumPy's global states are seeded but not kept, as nothing draws from them.

In a checkpoint's ``rng/`` tensors rank ``r`` has ``noise{r}`` and ``torch{r}``, except that
rank 0's torch state is named ``torch`` (as in checkpoints from before states were kept per
rank, which hold only ``torch`` and ``noise0``).
"""
from __future__ import annotations

import random

import numpy as np
import torch


def _key(name: str, rank: int) -> str:
    return "torch" if name == "torch" and rank == 0 else f"{name}{rank}"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def noise_generator(seed: int, rank: int) -> torch.Generator:
    """The CPU generator of rank ``rank``'s training noise."""
    return torch.Generator(device="cpu").manual_seed(seed * 1000 + rank)


def states(noise_gen: torch.Generator) -> dict[str, torch.Tensor]:
    """This process's generator states; gather them from every rank for :func:`checkpoint_entries`."""
    return {"torch": torch.get_rng_state(), "noise": noise_gen.get_state()}


def checkpoint_entries(per_rank: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The ``rng/`` tensors of a checkpoint from :func:`states` of ranks 0, 1, ... in order."""
    return {_key(name, rank): state for rank, values in enumerate(per_rank) for name, state in values.items()}


def ranks_without_noise(entries: dict[str, torch.Tensor], world_size: int) -> list[int]:
    """The ranks of a ``world_size``-process run whose noise state a checkpoint does not hold."""
    return [rank for rank in range(world_size) if _key("noise", rank) not in entries]


def restore(entries: dict[str, torch.Tensor], rank: int, noise_gen: torch.Generator, seed: int, step: int) -> None:
    """Set rank ``rank``'s generators from a checkpoint's ``rng/`` tensors.

    A rank the checkpoint holds no noise state for (it was written by fewer processes, or by
    rank 0 alone when several were interrupted) gets a stream of its own, seeded from
    ``(seed, rank, step)``, never a copy of another rank's.
    """
    if _key("torch", rank) in entries:
        torch.set_rng_state(entries[_key("torch", rank)])
    if _key("noise", rank) in entries:
        noise_gen.set_state(entries[_key("noise", rank)])
    else:
        noise_gen.manual_seed(int(np.random.SeedSequence([seed % 2**32, rank, step]).generate_state(1, np.uint64)[0]))

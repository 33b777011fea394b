"""Training loader: a distributed, resumable sampler over a clip data set.

Every epoch draws one permutation from ``(seed, epoch)`` (the same on every rank);
rank ``r`` of ``world_size`` takes positions ``r, r + world_size, ...`` of it, so ranks
read disjoint parts. Each clip also gets an augmentation seed from the same draw.

Resuming: a :class:`ClipLoader` knows the position of the next batch it will yield
(``epoch`` and ``batch`` within the epoch). Save ``loader.state_dict()`` with a
checkpoint and call ``loader.load_state_dict(saved)`` (or pass
``start_step = epoch * len(loader) + batch`` to :func:`make_loader`) to continue
with exactly the batches that would have come next::

    loader = make_loader(ds, 64, seed=1, rank=rank, world_size=world)
    while step < total:
        for clips, labels in loader:      # one epoch, from the current position
            ...
"""
from __future__ import annotations

import os
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from vgpred.data.augment import ClipAugment
from vgpred.errors import VgpredError


class ResumableSampler(Sampler[list[tuple[int, int]]]):
    """Batch sampler yielding lists of ``(clip index, augmentation seed)`` for one rank.

    Use :meth:`set_epoch` before each epoch and :meth:`skip` to start the next
    iteration a number of batches into the epoch.
    """

    def __init__(self, num_items: int, batch_size: int, *, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = True) -> None:
        if not 0 <= rank < world_size:
            raise VgpredError(f"rank: must be in [0, {world_size}), got {rank}")
        if batch_size < 1:
            raise VgpredError(f"batch_size: must be at least 1, got {batch_size}")
        self.num_items, self.batch_size = num_items, batch_size
        self.rank, self.world_size = rank, world_size
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch, self._skip = 0, 0
        if len(self) == 0:
            raise VgpredError(f"data set of {num_items} clips gives no batch of {batch_size} "
                              f"on each of {world_size} ranks")

    def _per_rank(self) -> int:
        if self.drop_last:
            return self.num_items // self.world_size
        return -(-self.num_items // self.world_size)

    def __len__(self) -> int:
        n = self._per_rank()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip(self, batches: int) -> None:
        """Leave out the first ``batches`` batches of the next iteration."""
        self._skip = batches

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.num_items) if self.shuffle else np.arange(self.num_items)
        aug_seeds = rng.integers(0, 2**62, self.num_items)
        total = self._per_rank() * self.world_size
        if total > self.num_items:  # pad by wrapping so every rank gets the same count
            order = np.concatenate([order, order[: total - self.num_items]])
            aug_seeds = np.concatenate([aug_seeds, aug_seeds[: total - self.num_items]])
        mine = np.arange(self.rank, total, self.world_size)
        start, self._skip = self._skip * self.batch_size, 0
        for b in range(start, len(mine), self.batch_size):
            pos = mine[b: b + self.batch_size]
            if len(pos) < self.batch_size and self.drop_last:
                return
            yield [(int(order[p]), int(aug_seeds[p])) for p in pos]


class _Seeded(Dataset):
    """Wraps a clip data set so items are ``(index, seed)`` pairs; the seed drives augmentation."""

    def __init__(self, dataset: Dataset, augment: ClipAugment | None) -> None:
        self.dataset, self.augment = dataset, augment

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int]:
        index, seed = item
        clip, label = self.dataset[index]
        if self.augment is not None:
            clip = self.augment(clip, generator=torch.Generator().manual_seed(seed))
        return clip, label


def _leave_stops_to_the_main_process(worker_id: int) -> None:
    """Loader workers ignore SIGINT and SIGTERM. Ctrl-C, ``timeout``, ``kill -- -PGID`` and
    cluster schedulers signal the whole process group; a worker that died of it would make
    the main process fail on a lost batch instead of writing its interrupt checkpoint. The
    main process stops the workers itself when it exits."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class ClipLoader:
    """Iterates one epoch per ``for`` loop from its current position; see the module docs."""

    def __init__(self, loader: DataLoader, sampler: ResumableSampler) -> None:
        self.loader, self.sampler = loader, sampler
        self.epoch, self.batch = 0, 0

    def __len__(self) -> int:
        return len(self.sampler)

    def state_dict(self) -> dict[str, int]:
        """Position of the next batch: ``{"epoch": e, "batch": b}``."""
        return {"epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.batch >= len(self):
            self.epoch, self.batch = self.epoch + 1, 0
        self.sampler.set_epoch(self.epoch)
        self.sampler.skip(self.batch)
        for batch in self.loader:
            self.batch += 1
            yield batch
        self.epoch, self.batch = self.epoch + 1, 0


def default_workers() -> int:
    """Loader worker processes: one less than the CPU count, at most 4."""
    return min(4, max(0, (os.cpu_count() or 1) - 1))


def make_loader(dataset: Dataset, batch_size: int, *, shuffle: bool = True, seed: int = 0, rank: int = 0,
                world_size: int = 1, num_workers: int | None = None, drop_last: bool = True,
                augment: ClipAugment | None = None, start_step: int = 0) -> ClipLoader:
    """A :class:`ClipLoader` of ``(clips (B, C, T, H, W) in [-1, 1], labels (B,) int64)`` for one rank.

    Deterministic for ``(seed, epoch)``; ``start_step`` (batches already consumed on
    this rank since epoch 0) positions it to resume. Memory is pinned when CUDA is available.
    """
    sampler = ResumableSampler(len(dataset), batch_size, rank=rank, world_size=world_size, shuffle=shuffle,
                               seed=seed, drop_last=drop_last)
    workers = default_workers() if num_workers is None else num_workers
    loader = DataLoader(_Seeded(dataset, augment), batch_sampler=sampler, num_workers=workers,
                        pin_memory=torch.cuda.is_available(), persistent_workers=workers > 0,
                        worker_init_fn=_leave_stops_to_the_main_process if workers > 0 else None)
    clip_loader = ClipLoader(loader, sampler)
    clip_loader.load_state_dict({"epoch": start_step // len(sampler), "batch": start_step % len(sampler)})
    return clip_loader

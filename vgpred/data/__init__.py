"""Data: raw clip sources, the clip cache, Moving MNIST, stabilisation and loaders.

Names load lazily so importing :mod:`vgpred.data` stays cheap (no torch, av or kornia
until a name that needs them is used).
"""
from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "ClipDataset": "vgpred.data.cache",
    "open_dataset": "vgpred.data.cache",
    "is_cache": "vgpred.data.cache",
    "prepare": "vgpred.data.prepare_cache",
    "PrepareSummary": "vgpred.data.prepare_cache",
    "MovingMNIST": "vgpred.data.moving_mnist",
    "write_moving_mnist": "vgpred.data.moving_mnist",
    "VideoFolder": "vgpred.data.video_folder",
    "ClipSpec": "vgpred.data.video_folder",
    "Stabilizer": "vgpred.data.stabilize",
    "ClipAugment": "vgpred.data.augment",
    "make_loader": "vgpred.data.loader",
    "ClipLoader": "vgpred.data.loader",
    "ResumableSampler": "vgpred.data.loader",
    "discover": "vgpred.data.sources",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vgpred.data' has no attribute {name!r}")

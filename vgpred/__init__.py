"""vgpred: video prediction from a still photo with a two-stream VideoGAN.

Importing the package is cheap: heavy modules (torch, av) load only when a name
that needs them is used, so ``vgpred --help`` starts fast.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["VideoPredictor", "PredictionOutput", "__version__"]


def __getattr__(name: str):
    if name in ("VideoPredictor", "PredictionOutput"):
        from vgpred import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module 'vgpred' has no attribute {name!r}")

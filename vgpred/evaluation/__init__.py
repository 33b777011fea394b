"""The image-to-video benchmark and its reports.

Example:
    >>> from vgpred.evaluation import evaluate_models, write_report
    >>> result = evaluate_models({"videogan": "runs/1/export"}, "data/test-cache", k=10, seed=0)
    >>> write_report(result, "eval.json")   # eval.json, eval.md, eval.png
"""
from __future__ import annotations

import importlib
from typing import Any

# Names resolve on first use (PEP 562), so that importing a light submodule such as
# vgpred.evaluation.protocols (`vgpred data formats`) does not import torch.
_SOURCES = {
    "CONVENTIONS": "harness", "COPY_BASELINE": "harness", "DEFAULT_METRICS": "harness",
    "clip_generator": "harness", "evaluate_models": "harness",
    "markdown_horizons": "report", "markdown_report": "report", "markdown_summary": "report", "write_report": "report",
}
__all__ = list(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
    globals()[name] = value
    return value

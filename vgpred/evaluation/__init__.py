"""The image-to-video benchmark and its reports.

Example:
    >>> from vgpred.evaluation import evaluate_models, write_report
    >>> result = evaluate_models({"videogan": "runs/1/export"}, "data/test-cache", k=10, seed=0)
    >>> write_report(result, "eval.json")   # eval.json, eval.md, eval.png
"""
from __future__ import annotations

from vgpred.evaluation.harness import CONVENTIONS, COPY_BASELINE, DEFAULT_METRICS, clip_generator, evaluate_models
from vgpred.evaluation.report import markdown_horizons, markdown_report, markdown_summary, write_report

__all__ = [
    "CONVENTIONS", "COPY_BASELINE", "DEFAULT_METRICS", "clip_generator", "evaluate_models",
    "markdown_horizons", "markdown_report", "markdown_summary", "write_report",
]

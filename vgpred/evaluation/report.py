"""Reports of a benchmark result: JSON, Markdown tables and a metric-vs-horizon plot.

``write_report(result, "eval.json")`` writes ``eval.json``, ``eval.md`` and
``eval.png`` beside each other, each to a temporary name first and renamed when
complete; the JSON is written last. This module imports neither torch nor
matplotlib at import time.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from vgpred.errors import VgpredError
from vgpred.io.atomic import atomic_write
from vgpred.metrics import METRICS

PLOT_METRICS = ("psnr", "ssim")
AGGREGATIONS = (("best_of_k", "best"), ("mean_of_k", "mean"))
REAL = "real clips"  # the row of the evaluated clips themselves (motion, statistics)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.4g}"


def _arrow(metric: str) -> str:
    """An arrow pointing to the better direction of ``metric`` ("" for a statistic, which has none)."""
    better = METRICS.get(metric).higher_is_better
    return "" if better is None else "↑" if better else "↓"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _per_frame_names(result: dict[str, Any]) -> list[str]:
    for model in result["models"].values():
        if "metrics" in model:
            return list(model["metrics"])
    return []


def _statistic_names(result: dict[str, Any]) -> list[str]:
    """Statistics in the result (none in results written before vgpred had them)."""
    return list(result["data"].get("statistics", {}))


def _statistic_rows(result: dict[str, Any], name: str) -> list[tuple[str, int | None, dict[str, Any]]]:
    """``(row name, K or None for the real clips, curve)`` for every model with the statistic, then the clips."""
    rows = [(label, model["k"], model["statistics"][name]) for label, model in result["models"].items()
            if name in model.get("statistics", {})]
    return rows + [(REAL, None, result["data"]["statistics"][name])]


def _distributional_names(result: dict[str, Any]) -> list[str]:
    first = next(iter(result["models"].values()))
    return list(first.get("distributional", {}))


def markdown_summary(result: dict[str, Any]) -> str:
    """One row per model: the average over horizons of each metric, best-of-K / mean-of-K, motion,
    diversity and each statistic at the last frame; then a row of the real clips' motion and statistics."""
    names, stats, dist = _per_frame_names(result), _statistic_names(result), _distributional_names(result)
    last = result["settings"]["frames"] - 1
    given = result["settings"].get("context", 1) - 1  # the last context frame, the input
    header = ["model", "K"]
    header += [f"psnr frame {given} ↑"] if "psnr" in names else []
    header += [f"{n} {_arrow(n)} best / mean" for n in names]
    header += ["motion", "diversity"] + [f"{n} frame {last}" for n in stats] + [f"{n} ↓" for n in dist]
    rows = []
    for name, model in result["models"].items():
        row = [name, str(model["k"])]
        if "metrics" in model:
            row += [_fmt(model["frame0"]["psnr"])] if "psnr" in names else []
            for n in names:
                best, mean = (model["metrics"][n][agg]["average"] for agg, _ in AGGREGATIONS)
                row.append(_fmt(best) if model["k"] == 1 else f"{_fmt(best)} / {_fmt(mean)}")
            row += [_fmt(model["motion"]), _fmt(model["diversity"])]
        else:
            row += ["n/a"] * (len(names) + ("psnr" in names)) + [_fmt(model["motion"]), "n/a"]
        row += [_fmt(model["statistics"][n]["per_horizon"][-1]) for n in stats]
        row += [_fmt(model["distributional"][n]["value"]) for n in dist]
        rows.append(row)
    data = result["data"]
    rows.append([REAL, "n/a"] + ["n/a"] * (len(names) + ("psnr" in names)) + [_fmt(data["motion"]), "n/a"]
                + [_fmt(data["statistics"][n]["per_horizon"][-1]) for n in stats] + ["n/a"] * len(dist))
    settings = result["settings"]
    lines = _table(header, rows)
    lines.append("")
    sharp = (f" {', '.join(stats)} frame {last}: the statistic at the last frame, against the input frame "
             "(1 = as sharp as the input; the real clips' row is the data's own)." if stats else "")
    lines.append(
        f"{settings['num_clips']} clips of {settings['data']}, frames 0 .. {settings['frames'] - 1}, "
        f"K = {settings['k']}, seed {settings['seed']}; averages over horizons {given + 1} .. {settings['frames'] - 1}"
        + (f" (frames 0 .. {given} given)" if given else "") + "; "
        f"best-of-K picks per video the sample with the best mean over the horizons; "
        f"real clips' motion {_fmt(data['motion'])}." + sharp
    )
    lines += [f"{n}: unavailable: {reason}" for n, reason in settings["unavailable"].items()]
    return "\n".join(lines) + "\n"


def markdown_horizons(result: dict[str, Any], metric: str) -> str:
    """Per-horizon values of one per-frame metric or statistic; column 0 is the reconstructed input frame.

    A statistic has one row per model (the mean of its K samples) and a row of the real clips.
    """
    frames, given = result["settings"]["frames"], result["settings"].get("context", 1) - 1
    header = ["model", "aggregation", f"{given} (input)"] + [str(t) for t in range(given + 1, frames)]
    rows = []
    if METRICS.get(metric).kind == "statistic":
        for name, k, curve in _statistic_rows(result, metric):
            aggregation = "data" if k is None else "K = 1" if k == 1 else f"mean of {k}"
            rows.append([name, aggregation, _fmt(curve["frame0"])] + [_fmt(v) for v in curve["per_horizon"]])
        return "\n".join(_table(header, rows)) + "\n"
    for name, model in result["models"].items():
        if metric not in model.get("metrics", {}):
            continue
        for agg, label in AGGREGATIONS[: 1 if model["k"] == 1 else 2]:
            values = model["metrics"][metric][agg]["per_horizon"]
            rows.append([name, label if model["k"] > 1 else "K = 1", _fmt(model["frame0"][metric])]
                        + [_fmt(v) for v in values])
    return "\n".join(_table(header, rows)) + "\n"


def markdown_report(result: dict[str, Any]) -> str:
    """The whole Markdown report: summary, per-horizon PSNR/SSIM tables, distributional, conventions."""
    settings = result["settings"]
    parts = ["# Image-to-video evaluation", "", markdown_summary(result)]
    for metric in [*(m for m in PLOT_METRICS if m in _per_frame_names(result)), *_statistic_names(result)]:
        parts += [f"## {metric} per horizon", "", markdown_horizons(result, metric)]
    dist = _distributional_names(result)
    if dist:
        parts += ["## Distributional metrics", ""]
        for n in dist:
            first = next(iter(result["models"].values()))["distributional"][n]
            parts.append(f"- {n}: {first['description']}; features: {first['features']}")
        parts.append("")
    parts += ["## Conventions", ""] + [f"- {key}: {text}" for key, text in settings["conventions"].items()]
    parts += ["", "## Settings", "",
              f"- command: `{settings['command']}`",
              f"- vgpred {settings['vgpred_version']}, {settings['date']}, "
              f"{settings['machine']['device']} on {settings['machine']['host']}",
              ""]
    return "\n".join(parts)


def _finite(obj: Any) -> Any:
    """JSON has no inf/NaN: such floats become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    return obj


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    names = [m for m in PLOT_METRICS if m in _per_frame_names(result)] or _per_frame_names(result)[:2]
    stats = _statistic_names(result)
    fig = Figure(figsize=(5 * (len(names) + len(stats)), 4), layout="constrained")
    axes = fig.subplots(1, len(names) + len(stats), squeeze=False)[0]
    horizons = result["settings"]["horizons"]
    given = horizons[0] - 1  # the last context frame: the input
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    index = {name: i for i, name in enumerate(result["models"])}
    for ax, metric in zip(axes[len(names):], stats):  # frame 0 included: a blurred reconstruction shows there
        for name, k, curve in _statistic_rows(result, metric):
            style = dict(color="black", ls="--") if k is None else dict(color=colors[index[name] % len(colors)])
            ax.plot([given, *horizons], [curve["frame0"], *curve["per_horizon"]], marker="o", ms=3,
                    label=name if k is None or k == 1 else f"{name} mean of {k}", **style)
        ax.set_xlabel(f"frame index ({given}: the input)")
        ax.set_ylabel(f"{metric} (frame t / input frame)")
        ax.set_title(f"{metric} vs frame (1 = as sharp as the input)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax, metric in zip(axes, names):
        for i, (name, model) in enumerate(result["models"].items()):
            if metric not in model.get("metrics", {}):
                continue
            for (agg, label), style in zip(AGGREGATIONS[: 1 if model["k"] == 1 else 2], ("-", "--")):
                tag = name if model["k"] == 1 else f"{name} {label}-of-{model['k']}"
                ax.plot(horizons, model["metrics"][metric][agg]["per_horizon"], style, marker="o", ms=3,
                        color=colors[i % len(colors)], label=tag)
        ax.set_xlabel("horizon (frame index)")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} {_arrow(metric)} vs horizon")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.savefig(path, format="png", dpi=100)


def report_paths(json_path: str | os.PathLike) -> tuple[Path, Path, Path]:
    """``eval.json`` -> (``eval.json``, ``eval.md``, ``eval.png``); the name must end in .json."""
    json_path = Path(json_path)
    if json_path.suffix.lower() != ".json":
        raise VgpredError(f"--json {json_path}: the report name must end in .json (the .md and .png go beside it)")
    if not json_path.parent.is_dir():
        raise VgpredError(f"--json {json_path}: folder {json_path.parent} does not exist")
    return json_path, json_path.with_suffix(".md"), json_path.with_suffix(".png")


def write_report(result: dict[str, Any], json_path: str | os.PathLike) -> list[Path]:
    """Write the JSON result, the Markdown report and (with per-frame metrics) the PNG plot.

    Returns the paths written; the JSON, written last, marks a complete report.
    """
    json_file, md_file, png_file = report_paths(json_path)
    written = []
    if _per_frame_names(result):
        written.append(atomic_write(png_file, lambda tmp: _plot(result, tmp)))
    text = markdown_report(result)
    written.append(atomic_write(md_file, lambda tmp: tmp.write_text(text, encoding="utf-8")))
    payload = json.dumps(_finite(result), indent=2, allow_nan=False) + "\n"
    written.append(atomic_write(json_file, lambda tmp: tmp.write_text(payload, encoding="utf-8")))
    return [written[-1], *written[:-1]]

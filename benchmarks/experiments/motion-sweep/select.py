"""Choose one Moving Fashion-MNIST motion recipe from run.sh's validation scores, by a rule fixed before the runs.

    python benchmarks/experiments/motion-sweep/select.py RESULTS [BASELINES_JSON]

Reads ``RESULTS/val-NAME.json`` (``vgpred evaluate`` with the regressor as a baseline) and, where
present, ``RESULTS/runs/NAME/export/config.json`` (the steps each variant trained). Writes
``RESULTS/selection.{md,json}`` and prints the table. A report scored without the regressor takes
its regressor row from BASELINES_JSON, an earlier ``vgpred evaluate`` report, when both scored the
same clips (the same count and the same real-clip motion and sharpness, to the last digit).

The rule: a variant qualifies when its K futures differ by at least 25 % of the real clips' motion
and the sharpness of its last frame is at least 0.8 of frame 0's (issue 21's bars). Among those,
the most horizons (1 .. 15) at which best-of-10 SSIM is above both the L1 regressor's and
copy-first-frame's wins; a tie goes to the larger smallest margin over the horizons.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

MIN_DIVERSITY = 0.25
MIN_SHARPNESS = 0.8


def _same_clips(a: dict, b: dict) -> bool:
    return a["settings"]["num_clips"] == b["settings"]["num_clips"] and a["data"] == b["data"]


def _steps(run: Path) -> int | None:
    """The steps a run trained: its export's record, else the last row of its metrics."""
    export, metrics = run / "export" / "config.json", run / "metrics.jsonl"
    if export.exists():
        return json.loads(export.read_text())["info"].get("steps")
    if metrics.exists():
        return json.loads(metrics.read_text().splitlines()[-1])["step"]
    return None


def score(path: Path, baselines: dict | None = None) -> dict:
    report = json.loads(path.read_text())
    models = report["models"]
    if "regressor" not in models:
        if baselines is None or "regressor" not in baselines["models"]:
            raise SystemExit(f"select.py: {path} has no regressor row; give a report that has one as BASELINES_JSON")
        if not _same_clips(report, baselines):
            raise SystemExit(f"select.py: {path} and the baselines' report did not score the same clips")
        models = {**models, "regressor": baselines["models"]["regressor"]}
    model = models["export"] if "export" in models else next(  # the one model besides the baselines
        m for name, m in models.items() if name not in ("copy-first-frame", "regressor"))
    ssim = model["metrics"]["ssim"]["best_of_k"]["per_horizon"]
    bars = [max(r, c) for r, c in zip(models["regressor"]["metrics"]["ssim"]["best_of_k"]["per_horizon"],
                                      models["copy-first-frame"]["metrics"]["ssim"]["best_of_k"]["per_horizon"])]
    margins = [s - b for s, b in zip(ssim, bars)]
    name = path.stem.removeprefix("val-")
    steps = _steps(path.parent / "runs" / name)
    return {
        "name": name,
        "steps": steps,
        "ssim_mean": model["metrics"]["ssim"]["best_of_k"]["average"],
        "psnr_mean": model["metrics"]["psnr"]["best_of_k"]["average"],
        "horizons_above": sum(m > 0 for m in margins),
        "smallest_margin": min(margins),
        "margins": margins,
        "diversity": model["diversity"] / report["data"]["motion"],
        "sharpness_last": model["statistics"]["sharpness"]["per_horizon"][-1],
        "regressor_ssim_mean": models["regressor"]["metrics"]["ssim"]["best_of_k"]["average"],
    }


def main() -> None:
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    results = Path(sys.argv[1])
    baselines = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) == 3 else None
    rows = [score(p, baselines) for p in sorted(results.glob("val-*.json"))]
    if not rows:
        raise SystemExit(f"select.py: no val-*.json in {results}")
    for row in rows:
        row["qualifies"] = row["diversity"] >= MIN_DIVERSITY and row["sharpness_last"] >= MIN_SHARPNESS
    ranked = sorted((r for r in rows if r["qualifies"]), key=lambda r: (r["horizons_above"], r["smallest_margin"]),
                    reverse=True)
    chosen = ranked[0]["name"] if ranked else None
    lines = ["| variant | steps | SSIM mean | PSNR mean | horizons above regressor and copy | smallest margin "
             "| diversity / real motion | sharpness frame 15 | qualifies |", "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["name"]):
        lines.append(f"| {r['name']}{' (chosen)' if r['name'] == chosen else ''} | {r['steps']} | {r['ssim_mean']:.4f} "
                     f"| {r['psnr_mean']:.2f} | {r['horizons_above']} of {len(r['margins'])} | {r['smallest_margin']:+.4f} "
                     f"| {r['diversity']:.0%} | {r['sharpness_last']:.2f} | {'yes' if r['qualifies'] else 'no'} |")
    lines.append("")
    lines.append("Per-horizon margins (best-of-10 SSIM minus the higher of the regressor's and copy-first-frame's):")
    lines.append("")
    lines.append("| variant | " + " | ".join(f"h{h}" for h in range(1, len(rows[0]["margins"]) + 1)) + " |")
    lines.append("|---|" + "---|" * len(rows[0]["margins"]))
    for r in sorted(rows, key=lambda r: r["name"]):
        lines.append(f"| {r['name']} | " + " | ".join(f"{m:+.4f}" for m in r["margins"]) + " |")
    lines.append("")
    regressor_steps = _steps(results / "runs" / "regressor")
    trained = f"{regressor_steps} steps" if regressor_steps else "its row from the baselines' report"
    lines.append(f"regressor: {trained}, SSIM mean {rows[0]['regressor_ssim_mean']:.4f}")
    lines.append(f"chosen: {chosen or 'none (no variant qualifies)'}")
    text = "\n".join(lines) + "\n"
    (results / "selection.md").write_text(text)
    (results / "selection.json").write_text(json.dumps({"chosen": chosen, "variants": rows}, indent=1) + "\n")
    print(text, end="")


if __name__ == "__main__":
    main()

"""Choose one real-footage motion recipe and noise scale from run.sh's validation scores, by a rule fixed before the runs.

    python benchmarks/experiments/scenes-sweep/choose.py RESULTS

Reads ``RESULTS/val-NAME-scaleS.json`` (``vgpred evaluate --noise-scale S`` of the variant trained on
the fitting part, on the held-out clips, with the L1 regressor trained on the same part as a baseline)
and ``RESULTS/runs/{fit,full}-NAME/`` (the steps each trained). Writes ``RESULTS/selection.{md,json}``.

The rule (issue 21's bars for table 2): a (variant, scale) qualifies when its K futures differ by at
least 25 % of the real clips' motion and the sharpness of its last frame is at least 0.8 of frame 0's.
Among those, the most horizons from 4 on at which best-of-10 PSNR and SSIM are both at or above
copy-first-frame's wins; a tie goes to the larger margin of best-of-10 PSNR, averaged over the
horizons, over the regressor's.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for common
from common import against_copy  # noqa: E402

MIN_DIVERSITY = 0.25
MIN_SHARPNESS = 0.8
FIRST_HORIZON = 4
COPY, REGRESSOR = "copy-first-frame", "regressor"


def _steps(run: Path) -> int | None:
    """The steps a run trained: its export's record, else the last row of its metrics."""
    export, metrics = run / "export" / "config.json", run / "metrics.jsonl"
    if export.exists():
        return json.loads(export.read_text())["info"].get("steps")
    if metrics.exists() and metrics.read_text().strip():
        return json.loads(metrics.read_text().splitlines()[-1])["step"]
    return None


def score(path: Path) -> dict:
    match = re.fullmatch(r"val-(.+)-scale([0-9.]+)", path.stem)
    if match is None:
        raise SystemExit(f"choose.py: {path.name} is not named val-NAME-scaleS.json")
    report = json.loads(path.read_text())
    models = report["models"]
    name = next(n for n in models if n not in (COPY, REGRESSOR))
    row = {"variant": match.group(1), "scale": float(match.group(2)), **against_copy(report, name, FIRST_HORIZON),
           "regressor_psnr_mean": models[REGRESSOR]["metrics"]["psnr"]["best_of_k"]["average"]}
    row["psnr_over_regressor"] = row["psnr_mean"] - row["regressor_psnr_mean"]
    row["qualifies"] = row["diversity"] >= MIN_DIVERSITY and row["sharpness_last"] >= MIN_SHARPNESS
    return row


def rank_key(row: dict) -> tuple:
    return row["qualifies"], row["horizons_at_or_above_copy"], row["psnr_over_regressor"]


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    results = Path(sys.argv[1])
    rows = sorted((score(p) for p in results.glob("val-*-scale*.json")), key=lambda r: (r["variant"], r["scale"]))
    if not rows:
        raise SystemExit(f"choose.py: no val-*-scale*.json in {results}")
    for r in rows:
        r["steps_fit"] = _steps(results / "runs" / f"fit-{r['variant']}")
        r["steps_full"] = _steps(results / "runs" / f"full-{r['variant']}")
    best = max(rows, key=rank_key)
    chosen = {"variant": best["variant"], "scale": best["scale"]} if best["qualifies"] else None
    first = rows[0]
    lines = [f"{first['num_clips']} held-out clips, best-of-10; copy-first-frame: PSNR {first['copy_psnr_mean']:.2f} dB, "
             f"SSIM {first['copy_ssim_mean']:.4f}; L1 regressor: PSNR {first['regressor_psnr_mean']:.2f} dB", "",
             "| variant | noise scale | steps (fit / full) | PSNR mean | over regressor | SSIM mean "
             "| horizons 4+ at or above copy | diversity / real motion | sharpness last frame | qualifies |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = " (chosen)" if chosen == {"variant": r["variant"], "scale": r["scale"]} else ""
        lines.append(f"| {r['variant']}{mark} | {r['scale']:g} | {r['steps_fit']} / {r['steps_full']} "
                     f"| {r['psnr_mean']:.2f} | {r['psnr_over_regressor']:+.3f} | {r['ssim_mean']:.4f} "
                     f"| {r['horizons_at_or_above_copy']} of {r['of']} | {r['diversity']:.0%} "
                     f"| {r['sharpness_last']:.2f} | {'yes' if r['qualifies'] else 'no'} |")
    lines += ["", "chosen: " + ("none (nothing qualifies)" if chosen is None
                                else f"{chosen['variant']} at noise scale {chosen['scale']:g}")]
    text = "\n".join(lines) + "\n"
    (results / "selection.md").write_text(text)
    (results / "selection.json").write_text(json.dumps({"chosen": chosen, "rows": rows}, indent=1) + "\n")
    print(text, end="")


if __name__ == "__main__":
    main()

"""Choose the real-footage motion model's noise scale from run.sh's scores, by a rule fixed before they were read.

    python benchmarks/experiments/noise-scale/choose_scenes.py RESULTS

Reads ``RESULTS/*-scaleS.json`` (``vgpred evaluate --noise-scale S`` on table 2's training clips,
against copy-first-frame) and writes ``RESULTS/choice.{md,json}``.

The rule: a scale qualifies when its K futures differ by at least 25 % of the real clips' motion and
the sharpness of its last frame is at least 0.8 of frame 0's (issue 21's bars). Among those, the
most horizons from 4 on at which best-of-10 PSNR and SSIM are both at or above copy-first-frame's
wins (issue 21's bar for table 2); a tie goes to the higher best-of-10 PSNR averaged over horizons.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for common
from common import against_copy  # noqa: E402

MIN_DIVERSITY = 0.25
MIN_SHARPNESS = 0.8
FIRST_HORIZON = 4
COPY = "copy-first-frame"


def score(path: Path) -> dict:
    report = json.loads(path.read_text())
    models = report["models"]
    name = next(n for n in models if n != COPY)
    row = {"scale": models[name].get("noise_scale", float(path.stem.rsplit("scale", 1)[1])),
           **against_copy(report, name, FIRST_HORIZON)}
    row["qualifies"] = row["diversity"] >= MIN_DIVERSITY and row["sharpness_last"] >= MIN_SHARPNESS
    return row


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    results = Path(sys.argv[1])
    rows = sorted((score(p) for p in results.glob("*-scale*.json")), key=lambda r: r["scale"])
    if not rows:
        raise SystemExit(f"choose_scenes.py: no *-scale*.json in {results}")
    ranked = sorted((r for r in rows if r["qualifies"]),
                    key=lambda r: (r["horizons_at_or_above_copy"], r["psnr_mean"]), reverse=True)
    chosen = ranked[0]["scale"] if ranked else None
    lines = [f"{rows[0]['num_clips']} clips, best-of-10; copy-first-frame: PSNR {rows[0]['copy_psnr_mean']:.2f} dB, "
             f"SSIM {rows[0]['copy_ssim_mean']:.4f}", "",
             "| noise scale | PSNR mean | SSIM mean | horizons 4+ at or above copy (PSNR and SSIM) "
             "| diversity / real motion | sharpness last frame | qualifies |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scale']:g}{' (chosen)' if r['scale'] == chosen else ''} | {r['psnr_mean']:.2f} "
                     f"| {r['ssim_mean']:.4f} | {r['horizons_at_or_above_copy']} of {r['of']} | {r['diversity']:.0%} "
                     f"| {r['sharpness_last']:.2f} | {'yes' if r['qualifies'] else 'no'} |")
    lines += ["", f"chosen: {'none (no scale qualifies)' if chosen is None else f'{chosen:g}'}"]
    text = "\n".join(lines) + "\n"
    (results / "choice.md").write_text(text)
    (results / "choice.json").write_text(json.dumps({"chosen": chosen, "scales": rows}, indent=1) + "\n")
    print(text, end="")


if __name__ == "__main__":
    main()

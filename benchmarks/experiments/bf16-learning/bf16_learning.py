"""Does bf16 training still learn? The same short image-mode run in fp32 and bf16, two seeds each.

    python benchmarks/experiments/bf16-learning/bf16_learning.py            # ~10 minutes on 2 CPU cores
    python benchmarks/experiments/bf16-learning/bf16_learning.py --quick    # seconds

Trains `configs/bench-mfmnist.yaml`'s network at 32x32x8 on 1-digit Moving
Fashion-MNIST (train split) with `vgpred train`, evaluates each export with
`vgpred evaluate` on held-out clips (test split, K = 4), and compares the spread
between precisions with the spread between seeds of the same precision.
Writes `results/bf16_learning.{md,json}` beside this script (`--quick`: `results/smoke/`).
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))

from vgpred.io.atomic import atomic_write  # noqa: E402

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def vgpred(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "vgpred", *map(str, args)], capture_output=True, text=True, check=True)
    return proc.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    steps, clips, k = (4, 64, 2) if args.quick else (400, 2000, 4)  # quick: one batch of the recipe's 64
    command = shlex.join(["python", str(Path(__file__).resolve().relative_to(REPO)), *sys.argv[1:]])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for split, n in (("train", clips), ("test", 128)):
            vgpred("data", "moving-mnist", work / split, "--idx", FASHION_MNIST, "--digits", 1, "--num", n,
                   "--split", split, "--size", 32, "--frames", 8, "--no-progress")
        for precision in ("fp32", "bf16"):
            for seed in (0, 1):
                start = time.perf_counter()
                run = vgpred("train", "--mode", "image", "--data", work / "train", "--config", "bench-mfmnist",
                             "--out", work / f"{precision}-{seed}", "--steps", steps, "--no-progress",
                             "resolution=32", "frames=8", f"precision={precision}", f"seed={seed}",
                             "sample_every=0", "checkpoint_every=0")
                seconds = time.perf_counter() - start
                report = work / f"{precision}-{seed}.json"
                vgpred("evaluate", "-c", Path(run) / "export", "--data", work / "test", "-k", k, "--seed", 0,
                       "--metrics", "psnr,ssim", "--json", report, "--no-progress")
                model = json.loads(report.read_text())["models"]["export"]
                rows.append({"precision": precision, "seed": seed, "train_seconds": seconds,
                             "psnr_frame0": model["frame0"]["psnr"],
                             "psnr_best": model["metrics"]["psnr"]["best_of_k"]["average"],
                             "ssim_best": model["metrics"]["ssim"]["best_of_k"]["average"]})
    lines = ["# bf16 vs fp32 training: does bf16 still learn?", "",
             f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M')}, 2 CPU cores). Image mode, "
             f"`bench-mfmnist` network at 32x32x8, {steps} steps, {clips} training clips of 1-digit Moving "
             f"Fashion-MNIST; `vgpred evaluate` on 128 held-out clips, K = {k}, averages over horizons.", "",
             "| precision | seed | train s | PSNR frame 0 | PSNR best-of-K | SSIM best-of-K |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['precision']} | {r['seed']} | {r['train_seconds']:.0f} | {r['psnr_frame0']:.2f} | "
              f"{r['psnr_best']:.2f} | {r['ssim_best']:.4f} |" for r in rows]
    summary = {}
    for metric in ("psnr_frame0", "psnr_best", "ssim_best"):
        by = {p: [r[metric] for r in rows if r["precision"] == p] for p in ("fp32", "bf16")}
        seed_spread = max(abs(v[0] - v[1]) for v in by.values())
        gap = abs(statistics.mean(by["bf16"]) - statistics.mean(by["fp32"]))
        summary[metric] = {"precision_gap": gap, "seed_spread": seed_spread, "within_noise": gap <= seed_spread}
    lines += ["", "| metric | gap between precision means | largest gap between seeds | within seed noise |",
              "|---|---|---|---|"]
    lines += [f"| {m} | {v['precision_gap']:.4f} | {v['seed_spread']:.4f} | {'yes' if v['within_noise'] else 'no'} |"
              for m, v in summary.items()]
    out = args.out / ("smoke" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "bf16_learning.md", lambda p: p.write_text("\n".join(lines) + "\n"))
    atomic_write(out / "bf16_learning.json", lambda p: p.write_text(json.dumps(
        {"command": command, "rows": rows, "summary": summary}, indent=1)))
    print("\n".join(lines))
    print(f"reproduce: {command}")


if __name__ == "__main__":
    main()

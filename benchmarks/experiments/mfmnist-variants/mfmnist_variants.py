"""mfmnist-64's recipe variants: batch size and discriminator width, scored like table 1.

The variants change ``configs/bench-mfmnist.yaml`` (the recipe: batch 64, the
discriminator as wide as the generator) by overrides; each is trained, then one
``vgpred evaluate`` scores all of them and copy-first-frame on the held-out clips of
table 1, and the report counts the horizons from frame 4 on where each variant's
best-of-K PSNR and SSIM beat copy-first-frame (the bundled-model requirement).

Training them on a CPU takes hours (the recipe alone ~2.2 h with one thread); on a
CUDA machine ``bash benchmarks/experiments/mfmnist-checkpoints/gpu_variants.sh``
trains all four side by side until a wall-clock deadline, stops each at its last
round checkpoint and leaves ``<variant>.tgz`` archives; unpack them into one folder
and pass it as ``--runs``. Results go to this experiment's ``results/``:

    python benchmarks/experiments/mfmnist-variants/mfmnist_variants.py --scale smoke            # ~1 minute
    python benchmarks/experiments/mfmnist-variants/mfmnist_variants.py --scale full --runs DIR  # ~12 min
    python benchmarks/experiments/mfmnist-variants/mfmnist_variants.py --scale full             # many CPU hours
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # benchmarks/, for common.py

from common import (Benchmark, TrainedRun, evaluate_image_to_video, horizons_lost, markdown_table,  # noqa: E402
                    parse_args)

TABLE = "mfmnist_variants"
TITLE = "mfmnist-64 recipe variants: batch size and discriminator width (Moving Fashion-MNIST, 1 -> 15 frames)"
CONFIG = "bench-mfmnist"
# name -> overrides on configs/bench-mfmnist.yaml (../mfmnist-checkpoints/gpu_variants.sh uses the same names)
VARIANTS = {
    "b16": ["train.batch_size=16"],
    "b16-dw0.5": ["train.batch_size=16", "model.d_width=0.5"],
    "b64": [],
    "b64-dw0.5": ["model.d_width=0.5"],
}
SCALES = {
    "full": dict(size=64, frames=16, train_clips=8000, test_clips=512, eval_clips=256, k=10, steps=None),
    "smoke": dict(size=32, frames=8, train_clips=32, test_clips=8, eval_clips=8, k=2, steps=4),
}
FIRST_HORIZON = 4


def runs_from(bench: Benchmark, folder: Path, data: Path, steps: int | None) -> list[TrainedRun]:
    """The finished run folders ``folder/<variant>/<NNNNN-...>/`` of runs trained elsewhere.

    Each keeps the config hash this script would give the variant's run, so reports name
    the recipe the same way whichever machine trained it.
    """
    import yaml

    runs = []
    for name, overrides in VARIANTS.items():
        found = sorted(p for p in (folder / name).glob("[0-9][0-9][0-9][0-9][0-9]-*") if (p / "export" / "config.json").is_file())
        if not found:
            raise SystemExit(f"[{TABLE}] {folder / name}: no finished run folder (with export/) of variant {name}")
        trained = yaml.safe_load((found[-1] / "config.yaml").read_text())["train"]["steps"]
        overrides, key = bench.run_key(CONFIG, "image", data, steps, overrides)
        runs.append(TrainedRun(name, found[-1], data, f"configs/{CONFIG}.yaml", "image", trained, overrides, key, True))
        bench.runs[name] = runs[-1]
    return runs


def wins(result: dict, runs: list[TrainedRun]) -> tuple[str, dict]:
    """Per variant: horizons from FIRST_HORIZON on where best-of-K PSNR / SSIM beat copy-first-frame."""
    models = result["models"]
    copy = models["copy-first-frame"]
    rows, counts = [], {}
    for run in runs:
        name, m = run.name, models[run.name]
        row = [name, run.steps, f"{m['frame0']['psnr']:.2f}"]
        counts[name] = {}
        for metric in ("psnr", "ssim"):
            lost, compared = horizons_lost(m, copy, metric, FIRST_HORIZON)
            counts[name][metric] = {"wins": compared - len(lost), "horizons": compared, "lost_at": lost}
            row += [f"{compared - len(lost)} of {compared}", ", ".join(map(str, lost)) or "-"]
        rows.append(row)
    header = ["variant", "steps", "frame-0 PSNR (dB)", "PSNR beats copy", "PSNR loses at", "SSIM beats copy", "SSIM loses at"]
    return markdown_table(header, rows), counts


def main(argv: list[str] | None = None) -> None:
    def runs_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--runs", type=Path, default=None, metavar="DIR",
                            help="score the run folders DIR/<variant>/NNNNN-*/ trained elsewhere (e.g. unpacked "
                                 "from benchmarks/experiments/mfmnist-checkpoints/gpu_variants.sh) instead of "
                                 "training the variants here")

    args = parse_args(TABLE, __doc__.splitlines()[0], argv, extra=runs_option, out=HERE / "results")
    bench = Benchmark(TABLE, TITLE, args)
    s = SCALES[args.scale]
    train = bench.moving_mnist("mfmnist2-train", 2, s["train_clips"], "train", s["size"], s["frames"])
    test = bench.moving_mnist("mfmnist2-test", 2, s["test_clips"], "test", s["size"], s["frames"])
    if args.runs is not None:
        runs = runs_from(bench, args.runs.resolve(), train, s["steps"])
    else:
        runs = [bench.train(name, CONFIG, "image", train, s["steps"], overrides) for name, overrides in VARIANTS.items()]
    result, body, plot = evaluate_image_to_video(bench, runs, test, s["k"], s["eval_clips"], metrics="psnr,ssim")
    table, counts = wins(result, runs)
    hardware = sorted({run.hardware or "not recorded" for run in runs})
    intro = (
        f"Condition on frame 0 of {result['settings']['num_clips']} held-out clips (2 garments from the "
        f"Fashion-MNIST test split), K = {s['k']} futures each. Variants of `configs/{CONFIG}.yaml` "
        f"(`b64` is the recipe of the bundled mfmnist-64); their overrides: "
        + "; ".join(f"`{n}`: {' '.join(o) or 'none'}" for n, o in VARIANTS.items())
        + f". Trained on: {', '.join(hardware)}"
        + (" (`benchmarks/experiments/mfmnist-checkpoints/gpu_variants.sh`: all side by side on one GPU until a "
           "wall-clock deadline, each kept at "
           "its last checkpoint at a multiple of 1000 steps)" if args.runs else "")
        + ". One seed per variant: differences of a horizon or two are within what another seed could change.\n\n"
        f"Horizons {FIRST_HORIZON} .. {s['frames'] - 1} where best-of-{s['k']} beats copy-first-frame:\n\n" + table + "\n"
    )
    bench.finish(settings={**s, "variants": VARIANTS, "train_data": str(train), "test_data": str(test),
                           "runs_trained_elsewhere": str(args.runs) if args.runs else None},
                 results={"evaluation": result, "wins_from_horizon_4": counts}, body=intro + "\n" + body, plot=plot)


if __name__ == "__main__":
    main()

"""mfmnist-64's training length, chosen on validation clips: one run's checkpoints against copy-first-frame.

A GAN's samples change from one checkpoint to the next, so the number of steps of
the recipe is chosen, not guessed. Each checkpoint of one run is exported as a run
of that many steps (the recipe's learning rates are constant: a copy of the run
folder cut back to the checkpoint, ``benchmarks/round_run.py``, then ``vgpred train
--resume COPY --steps N``), and ``vgpred evaluate`` scores all of them and
copy-first-frame on **validation clips**: new 2-garment clips drawn from the
Fashion-MNIST *train* split with their own seed (new pairs, positions and
velocities; the garment images themselves were seen in training). Table 1's test
clips (the Fashion-MNIST test split) are not used, so they stay held out for table 1
and the model card.

The rule, fixed before scoring: the checkpoint whose best-of-K PSNR and SSIM beat
copy-first-frame at the most horizons from frame 4 on (the bundled-model
requirement; both metrics counted together) is chosen; ties go to the higher
best-of-K SSIM averaged over those horizons, then to the earlier step.

    python benchmarks/mfmnist_checkpoints.py --scale smoke                  # ~1 minute: a tiny run with checkpoints
    python benchmarks/mfmnist_checkpoints.py --scale full --run RUN         # a run trained with checkpoints kept
    python benchmarks/mfmnist_checkpoints.py --scale full                   # trains the run here: CPU hours

``--run`` takes a run folder of ``configs/bench-mfmnist.yaml`` (``vgpred train ...
train.keep_checkpoints=10``, continued with ``--resume --steps N`` as far as wanted);
``--steps`` picks the checkpoints (default: all at multiples of 1000).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from common import Benchmark, TrainedRun, evaluate_image_to_video, horizons_lost, markdown_table, parse_args
from round_run import checkpoints, keep_checkpoint

TABLE = "mfmnist_checkpoints"
TITLE = "mfmnist-64's training length, chosen on validation clips (Moving Fashion-MNIST, 1 -> 15 frames)"
CONFIG = "bench-mfmnist"
SCALES = {
    # val_seed_offset: the validation clips' seed is --seed + this (training: --seed, table 1's test: --seed + 1)
    "full": dict(size=64, frames=16, train_clips=8000, val_clips=256, k=10, steps=(6000, 7000, 8000, 9000), every=1000),
    "smoke": dict(size=32, frames=8, train_clips=32, val_clips=8, k=2, steps=(2, 4), every=2),
}
VAL_SEED_OFFSET = 2
FIRST_HORIZON = 4


def choose(result: dict, names: dict[int, str]) -> tuple[int, dict[int, dict]]:
    """The rule of the module docstring: (chosen step, per step: wins, horizons, lost_at per metric, SSIM mean)."""
    models = result["models"]
    copy = models["copy-first-frame"]
    scores = {}
    for step, name in names.items():
        m = models[name]
        entry = {}
        for metric in ("psnr", "ssim"):
            lost, compared = horizons_lost(m, copy, metric, FIRST_HORIZON)
            entry[metric] = {"wins": compared - len(lost), "horizons": compared, "lost_at": lost}
        tail = m["metrics"]["ssim"]["best_of_k"]["per_horizon"][FIRST_HORIZON - 1:]
        entry["ssim_from_horizon_4"] = sum(tail) / len(tail)
        entry["frame0_psnr"] = m["frame0"]["psnr"]
        scores[step] = entry
    chosen = max(scores, key=lambda s: (scores[s]["psnr"]["wins"] + scores[s]["ssim"]["wins"],
                                        scores[s]["ssim_from_horizon_4"], -s))
    return chosen, scores


def export_at(bench: Benchmark, run: Path, step: int, data: Path) -> Path:
    """A copy of ``run`` cut back to its checkpoint of ``step`` and exported (kept when already exported)."""
    dst = bench.work / "steps" / f"step-{step}" / run.name
    if (dst / "export" / "config.json").is_file() and not bench.args.no_reuse:
        return dst
    if dst.parent.exists():
        shutil.rmtree(dst.parent)
    others = [p.name for s, p in checkpoints(run).items() if s != step]
    shutil.copytree(run, dst, ignore=lambda folder, names: [
        n for n in names if (Path(folder) == run and n in ("export", "samples"))
        or (Path(folder) == run / "checkpoints" and n in others)])
    keep_checkpoint(dst, step, f"{TABLE}: a copy of {run} scored at one checkpoint")
    bench.vgpred("train", "--resume", dst, "--data", data, "--steps", step, "--no-progress", log=f"export-{step}")
    return dst


def main(argv: list[str] | None = None) -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--run", type=Path, default=None, metavar="RUN",
                            help="score the checkpoints of this run folder (trained with train.keep_checkpoints "
                                 "large enough) instead of training one here")
        parser.add_argument("--steps", default=None, metavar="N,N,...",
                            help="the checkpoints to score (default: every multiple of 1000 the run has; "
                                 "trained here: 6000,7000,8000,9000)")

    args = parse_args(TABLE, __doc__.splitlines()[0], argv, extra=options)
    bench = Benchmark(TABLE, TITLE, args)
    s = SCALES[args.scale]
    train = bench.moving_mnist("mfmnist2-train", 2, s["train_clips"], "train", s["size"], s["frames"])
    val = bench.moving_mnist("mfmnist2-val", 2, s["val_clips"], "train", s["size"], s["frames"],
                             seed=args.seed + VAL_SEED_OFFSET)
    try:
        wanted = [int(x) for x in args.steps.split(",")] if args.steps else None
    except ValueError:
        raise SystemExit(f"[{TABLE}] --steps: expected step numbers separated by commas, got {args.steps!r}")
    if args.run is not None:
        path = args.run.resolve()
        if not (path / "config.yaml").is_file():
            raise SystemExit(f"[{TABLE}] {path}: not a vgpred run folder (no config.yaml)")
        import yaml

        overrides, key = bench.run_key(CONFIG, "image", train, None)
        trained = yaml.safe_load((path / "config.yaml").read_text())["train"]["steps"]
        bench.runs["run"] = TrainedRun("run", path, train, f"configs/{CONFIG}.yaml", "image", trained, overrides, key,
                                       True)
    else:
        last = max(wanted or s["steps"])
        path = bench.train("run", CONFIG, "image", train, last,
                           [f"train.checkpoint_every={s['every']}", "train.keep_checkpoints=1000"]).path
    have = checkpoints(path)
    steps = wanted or [step for step in have if step % s["every"] == 0]
    missing = [step for step in steps if step not in have]
    if missing or not steps:
        raise SystemExit(f"[{TABLE}] {path}: no checkpoint of step {', '.join(map(str, missing)) or 'to score'} "
                         f"(it has {', '.join(map(str, have)) or 'none'})")
    runs = []
    for step in steps:
        folder = export_at(bench, path, step, train)
        runs.append(TrainedRun(f"step-{step}", folder, train, f"configs/{CONFIG}.yaml", "image", step, [], "", True))
    result, body, plot = evaluate_image_to_video(bench, runs, val, s["k"], s["val_clips"], metrics="psnr,ssim")
    chosen, scores = choose(result, {step: f"step-{step}" for step in steps})
    last = s["frames"] - 1
    rows = [[step, f"{sc['frame0_psnr']:.2f}",
             *(f"{sc[m]['wins']} of {sc[m]['horizons']}" + (f" (loses at {', '.join(map(str, sc[m]['lost_at']))})"
                                                             if sc[m]["lost_at"] else "") for m in ("psnr", "ssim")),
             f"{sc['ssim_from_horizon_4']:.4f}", "**chosen**" if step == chosen else ""]
            for step, sc in scores.items()]
    header = ["steps", "frame-0 PSNR (dB)", f"PSNR beats copy ({FIRST_HORIZON}..{last})",
              f"SSIM beats copy ({FIRST_HORIZON}..{last})", f"best-of-{s['k']} SSIM, mean {FIRST_HORIZON}..{last}", ""]
    intro = (
        f"Checkpoints of one run of `configs/{CONFIG}.yaml` (run folder `{path}`), each exported as a run of that "
        f"many steps, conditioned on frame 0 of {result['settings']['num_clips']} validation clips (2 garments from "
        f"the Fashion-MNIST train split, seed {args.seed + VAL_SEED_OFFSET}: not the training clips, not table 1's "
        f"test clips), K = {s['k']} futures each. Rule, fixed before scoring: most horizons from {FIRST_HORIZON} on "
        f"where best-of-{s['k']} PSNR and SSIM beat copy-first-frame (both metrics together), then the higher mean "
        f"best-of-{s['k']} SSIM over those horizons, then the earlier step. One run and one validation set: "
        f"a horizon or two either way is within what another seed could change.\n\n"
        + markdown_table(header, rows) + "\n"
    )
    bench.finish(settings={**s, "steps": steps, "train_data": str(train), "val_data": str(val),
                           "val_seed": args.seed + VAL_SEED_OFFSET, "run": str(path)},
                 results={"evaluation": result, "scores": {str(k): v for k, v in scores.items()}, "chosen": chosen},
                 body=intro + "\n" + body, plot=plot)


if __name__ == "__main__":
    main()

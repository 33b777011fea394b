"""mfmnist-64's training length, chosen on validation clips: one run's checkpoints against copy-first-frame.

A GAN's samples change from one checkpoint to the next, so the number of steps of
the recipe is chosen, not guessed. Each checkpoint of one run is exported as a run
of that many steps (the recipe's learning rates are constant: a copy of the run
folder cut back to the checkpoint, ``round_run.py`` beside this script, then ``vgpred
train --resume COPY --steps N``), and ``vgpred evaluate`` scores all of them and
copy-first-frame on **validation clips**: new 2-garment clips drawn from the
Fashion-MNIST *train* split with their own seed (new pairs, positions and
velocities; the garment images themselves were seen in training). Table 1's test
clips (the Fashion-MNIST test split) are not used, so they stay held out for table 1
and the model card.

The rule, fixed before scoring: the candidate whose best-of-K PSNR and SSIM beat
copy-first-frame at the most horizons from frame 4 on (the bundled-model
requirement; both metrics counted together) is chosen; ties go to the higher
best-of-K SSIM averaged over those horizons, then to the earlier candidate (the
checkpoints in step order, then the ``--compare`` models). ``--compare DIR`` adds
an existing model folder (e.g. the bundled ``assets/models/mfmnist-64``) to the
candidates, so that replacing it is decided on the validation clips too.

    python benchmarks/experiments/mfmnist-checkpoints/mfmnist_checkpoints.py --scale smoke           # ~1 minute
    python benchmarks/experiments/mfmnist-checkpoints/mfmnist_checkpoints.py --scale full --run RUN  # a run's checkpoints
    python benchmarks/experiments/mfmnist-checkpoints/mfmnist_checkpoints.py --scale full            # CPU hours

``--run`` takes a run folder of ``configs/bench-mfmnist.yaml`` (``vgpred train ...
train.keep_checkpoints=10``, continued with ``--resume --steps N`` as far as wanted),
and may be repeated (e.g. the runs ``gpu_variants.sh`` beside this script trains side by side
with FROM set; candidates are then named ``<variant>-step-N`` after the folder above
each run). ``--steps`` picks the checkpoints (default: all at multiples of 1000, from
``--from-step`` on); ``--jobs`` exports that many at once. Results go to this
experiment's ``results/`` (``--out``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # benchmarks/, for common.py (round_run.py lies beside this script)

from common import (Benchmark, TrainedRun, evaluate_image_to_video, horizons_lost, markdown_table,  # noqa: E402
                    parse_args, recipe_overrides)
from round_run import checkpoints, keep_checkpoint  # noqa: E402

TABLE = "mfmnist_checkpoints"
TITLE = "mfmnist-64's training length, chosen on validation clips (Moving Fashion-MNIST, 1 -> 15 frames)"
CONFIG = "bench-mfmnist"
SCALES = {
    # val_seed_offset: the validation clips' seed is --seed + this (training: --seed, table 1's test: --seed + 1)
    # val_clips 1024: with 256 (the first GPU try, results/mfmnist_checkpoints.md) the chosen candidate's lead at
    # frames 4 and 15, a few thousandths of SSIM, did not carry over to table 1's test clips
    "full": dict(size=64, frames=16, train_clips=8000, val_clips=1024, k=10, steps=(6000, 7000, 8000, 9000),
                 every=1000),
    "smoke": dict(size=32, frames=8, train_clips=32, val_clips=8, k=2, steps=(2, 4), every=2),
}
VAL_SEED_OFFSET = 2
FIRST_HORIZON = 4


def choose(result: dict, names: list[str]) -> tuple[str, dict[str, dict]]:
    """The rule of the module docstring over the models ``names`` (in candidate order):
    (the chosen name, per name: wins, horizons and lost_at per metric, mean SSIM, frame-0 PSNR)."""
    models = result["models"]
    copy = models["copy-first-frame"]
    scores = {}
    for name in names:
        m = models[name]
        entry = {}
        for metric in ("psnr", "ssim"):
            lost, compared = horizons_lost(m, copy, metric, FIRST_HORIZON)
            entry[metric] = {"wins": compared - len(lost), "horizons": compared, "lost_at": lost}
        tail = m["metrics"]["ssim"]["best_of_k"]["per_horizon"][FIRST_HORIZON - 1:]
        entry["ssim_from_horizon_4"] = sum(tail) / len(tail)
        entry["frame0_psnr"] = m["frame0"]["psnr"]
        scores[name] = entry
    chosen = max(scores, key=lambda n: (scores[n]["psnr"]["wins"] + scores[n]["ssim"]["wins"],
                                        scores[n]["ssim_from_horizon_4"], -names.index(n)))
    return chosen, scores


def export_at(bench: Benchmark, run: Path, step: int, data: Path, name: str, threads: int | None = None) -> Path:
    """A copy of ``run`` cut back to its checkpoint of ``step`` and exported (kept when already exported);
    ``threads``: CPU threads of the export process (the cores shared among ``--jobs``)."""
    dst = bench.work / "steps" / name / run.name
    if (dst / "export" / "config.json").is_file() and not bench.args.no_reuse:
        return dst
    if dst.parent.exists():
        shutil.rmtree(dst.parent)
    others = [p.name for s, p in checkpoints(run).items() if s != step]
    shutil.copytree(run, dst, ignore=lambda folder, names: [
        n for n in names if (Path(folder) == run and n in ("export", "samples"))
        or (Path(folder) == run / "checkpoints" and n in others)])
    keep_checkpoint(dst, step, f"{TABLE}: a copy of {run} scored at one checkpoint")
    bench.vgpred("train", "--resume", dst, "--data", data, "--steps", step, "--no-progress", log=f"export-{name}",
                 threads=threads)
    return dst


def main(argv: list[str] | None = None) -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--run", type=Path, action="append", default=[], metavar="RUN",
                            help="score the checkpoints of this run folder (trained with train.keep_checkpoints "
                                 "large enough) instead of training one here; repeatable")
        parser.add_argument("--compare", type=Path, action="append", default=[], metavar="DIR",
                            help="also score this model folder (config.json + model.safetensors) as a candidate; "
                                 "repeatable")
        parser.add_argument("--steps", default=None, metavar="N,N,...",
                            help="the checkpoints to score (default: every multiple of --every each run has; "
                                 "trained here: 6000,7000,8000,9000)")
        parser.add_argument("--from-step", type=int, default=0, metavar="N",
                            help="by default, score only the checkpoints from step N on")
        parser.add_argument("--every", type=int, default=None, metavar="N",
                            help="by default, score the checkpoints at multiples of N steps (default: 1000; "
                                 "smoke scale: 2)")
        parser.add_argument("--val-clips", type=int, default=None, metavar="N",
                            help="score on N validation clips (default: the scale's, 1024 at full scale)")
        parser.add_argument("--jobs", type=int, default=1, metavar="N",
                            help="export N checkpoints at once (each a `vgpred train --resume` process)")

    args = parse_args(TABLE, __doc__.splitlines()[0], argv, extra=options, out=HERE / "results")
    bench = Benchmark(TABLE, TITLE, args)
    s = dict(SCALES[args.scale])
    if args.val_clips is not None:
        if args.val_clips < 1:
            raise SystemExit(f"[{TABLE}] --val-clips: expected a positive number, got {args.val_clips}")
        s["val_clips"] = args.val_clips
    for option, value in (("--jobs", args.jobs), ("--every", args.every)):
        if value is not None and value < 1:
            raise SystemExit(f"[{TABLE}] {option}: expected a positive number, got {value}")
    s["every"] = args.every or s["every"]
    train = bench.moving_mnist("mfmnist2-train", 2, s["train_clips"], "train", s["size"], s["frames"])
    val = bench.moving_mnist(f"mfmnist2-val{s['val_clips']}", 2, s["val_clips"], "train", s["size"], s["frames"],
                             seed=args.seed + VAL_SEED_OFFSET)
    try:
        wanted = [int(x) for x in args.steps.split(",")] if args.steps else None
    except ValueError:
        raise SystemExit(f"[{TABLE}] --steps: expected step numbers separated by commas, got {args.steps!r}")
    paths = []
    for given in args.run:
        path = given.resolve()
        if not (path / "config.yaml").is_file():
            raise SystemExit(f"[{TABLE}] {path}: not a vgpred run folder (no config.yaml)")
        paths.append(path)
    if not paths:
        last = max(wanted or s["steps"])
        paths.append(bench.train("run", CONFIG, "image", train, last,
                                 [f"train.checkpoint_every={s['every']}", "train.keep_checkpoints=1000"]).path)
    labels = [""] if len(paths) == 1 else [f"{path.parent.name}-" for path in paths]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"[{TABLE}] --run: several runs lie in folders of the same name ({', '.join(labels)}); "
                         "put each in its own")
    for path, label in zip(paths, labels) if args.run else ():
        trained = max(checkpoints(path), default=0)  # a run stopped by a deadline holds more in train.steps
        overrides, key = bench.run_key(CONFIG, "image", train, trained, recipe_overrides(bench.config(CONFIG), path))
        bench.runs[label.rstrip("-") or "run"] = TrainedRun(label.rstrip("-") or "run", path, train,
                                                           f"configs/{CONFIG}.yaml", "image", trained, overrides,
                                                           key, True)
    todo = []  # (candidate name, run folder, step)
    for path, label in zip(paths, labels):
        have = checkpoints(path)
        steps = wanted or [step for step in have if step % s["every"] == 0 and step >= args.from_step]
        missing = [step for step in steps if step not in have]
        if missing or not steps:
            raise SystemExit(f"[{TABLE}] {path}: no checkpoint of step {', '.join(map(str, missing)) or 'to score'} "
                             f"(it has {', '.join(map(str, have)) or 'none'})")
        todo += [(f"{label}step-{step}", path, step) for step in steps]
    from concurrent.futures import ThreadPoolExecutor

    # each export process gets its share of the cores: eight processes with PyTorch's default thread count
    # each made exports on a 16-core GPU machine take ~80 s (results/mfmnist_finetune_gpu)
    threads = max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None
    with ThreadPoolExecutor(args.jobs) as pool:
        folders = list(pool.map(lambda job: export_at(bench, job[1], job[2], train, job[0], threads), todo))
    runs = [TrainedRun(name, folder, train, f"configs/{CONFIG}.yaml", "image", step, [], "", True)
            for (name, _, step), folder in zip(todo, folders)]
    for model in args.compare:
        if not (model / "config.json").is_file():
            raise SystemExit(f"[{TABLE}] --compare {model}: not a model folder (no config.json)")
        name = model.resolve().name
        if name in [run.name for run in runs] or name == "copy-first-frame":
            raise SystemExit(f"[{TABLE}] --compare {model}: a candidate named {name} is already scored")
        holder = bench.work / "compare" / name  # TrainedRun.export is <path>/export
        if holder.exists():
            shutil.rmtree(holder)
        shutil.copytree(model, holder / "export")
        runs.append(TrainedRun(name, holder, train, str(model), "image", 0, [], "", True))
    result, body, plot = evaluate_image_to_video(bench, runs, val, s["k"], s["val_clips"], metrics="psnr,ssim")
    chosen, scores = choose(result, [run.name for run in runs])
    last = s["frames"] - 1
    rows = [[name, f"{sc['frame0_psnr']:.2f}",
             *(f"{sc[m]['wins']} of {sc[m]['horizons']}" + (f" (loses at {', '.join(map(str, sc[m]['lost_at']))})"
                                                             if sc[m]["lost_at"] else "") for m in ("psnr", "ssim")),
             f"{sc['ssim_from_horizon_4']:.4f}", "**chosen**" if name == chosen else ""]
            for name, sc in scores.items()]
    header = ["candidate", "frame-0 PSNR (dB)", f"PSNR beats copy ({FIRST_HORIZON}..{last})",
              f"SSIM beats copy ({FIRST_HORIZON}..{last})", f"best-of-{s['k']} SSIM, mean {FIRST_HORIZON}..{last}", ""]
    intro = (
        f"Checkpoints of {'one run' if len(paths) == 1 else f'{len(paths)} runs'} of `configs/{CONFIG}.yaml` "
        f"(run folder{'s' if len(paths) > 1 else ''} {', '.join(f'`{p}`' for p in paths)}), each exported as a run of that "
        f"many steps, conditioned on frame 0 of {result['settings']['num_clips']} validation clips (2 garments from "
        f"the Fashion-MNIST train split, seed {args.seed + VAL_SEED_OFFSET}: not the training clips, not table 1's "
        f"test clips), K = {s['k']} futures each"
        + "".join(f"; also scored: `{m}`" for m in args.compare)
        + f". Rule, fixed before scoring: most horizons from {FIRST_HORIZON} on "
        f"where best-of-{s['k']} PSNR and SSIM beat copy-first-frame (both metrics together), then the higher mean "
        f"best-of-{s['k']} SSIM over those horizons, then the earlier candidate. One seed and one validation set: "
        f"a horizon or two either way is within what another seed could change.\n\n"
        + markdown_table(header, rows) + "\n"
    )
    bench.finish(settings={**s, "steps": [step for _, _, step in todo], "train_data": str(train),
                           "val_data": str(val), "val_seed": args.seed + VAL_SEED_OFFSET,
                           "runs": [str(p) for p in paths], "from_step": args.from_step,
                           "compare": [str(m) for m in args.compare]},
                 results={"evaluation": result, "scores": scores, "chosen": chosen,
                          "folders": {run.name: str(run.path) for run in runs}},
                 body=intro + "\n" + body, plot=plot)


if __name__ == "__main__":
    main()

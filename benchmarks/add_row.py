"""A new row for a published table: one model scored by the table's harness on the table's test clips.

Training a table again costs hours of CPU; a new model (the motion foreground of
``configs/bench-*-motion.yaml``, say) needs only its own training and one
``vgpred evaluate`` with the table's settings (K, number of clips, seed) on the table's
test clips. This script runs that evaluation, with the table's bundled GAN as a
baseline when given (``--baseline gan=scenes-64``: re-measured, so that the statistics
the table predates, such as sharpness, cover it too), checks that the clips are the
table's (copy-first-frame's per-horizon PSNR must equal the table's to 1e-6; a different
cache is refused), and writes ``<out>/<table>+<row>.{md,json,png}``: every row of the
table, its own measurements first, per-horizon best-of-K PSNR and SSIM, sharpness,
diversity beside the real clips' motion, and per-horizon comparisons of the new row with
copy-first-frame and the L1 regressor. Rows only the table measured keep the table's
numbers and say so.

    python benchmarks/add_row.py --table table2_scenes --row motion --model RUN/export \\
        --data WORK/caches/test-64x16 --baseline gan=scenes-64 --run RUN
"""
from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common import machine, markdown_table  # noqa: E402  (this script's own folder is on sys.path)
from vgpred.io.atomic import atomic_write  # noqa: E402

COPY = "copy-first-frame"
SAME_CLIPS_TOLERANCE = 1e-6


def evaluate(model: Path, data: Path, baselines: list[str], table: dict[str, Any], work: Path) -> dict[str, Any]:
    """``vgpred evaluate`` with the table's K, clip count and seed; returns its JSON."""
    settings = table["results"]["evaluation"]["settings"]
    out = work / "evaluation.json"
    cmd = [sys.executable, "-m", "vgpred", "evaluate", "-c", str(model), "--data", str(data),
           "-k", str(settings["k"]), "--max-clips", str(settings["num_clips"]), "--seed", str(settings["seed"]),
           "--metrics", "psnr,ssim,mae,sharpness", "--json", str(out), "--no-progress"]
    for value in baselines:
        cmd += ["--baseline", value]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"add_row: vgpred evaluate failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.read_text())


def check_same_clips(new: dict[str, Any], old: dict[str, Any]) -> None:
    """The copy baseline depends on the clips alone: equal per-horizon PSNR means the same clips."""
    a = new["models"][COPY]["metrics"]["psnr"]["best_of_k"]["per_horizon"]
    b = old["models"][COPY]["metrics"]["psnr"]["best_of_k"]["per_horizon"]
    if len(a) != len(b) or max(abs(x - y) for x, y in zip(a, b)) > SAME_CLIPS_TOLERANCE:
        raise SystemExit("add_row: --data is not the table's test clips (copy-first-frame's PSNR per horizon "
                         f"differs: {a[:3]} ... against the table's {b[:3]} ...)")


def curve(model: dict[str, Any], metric: str, agg: str = "best_of_k") -> list[float] | None:
    """Per-horizon values of a per-frame metric (``agg``) or a statistic (mean of K); None when not measured."""
    if metric in model.get("metrics", {}):
        return model["metrics"][metric][agg]["per_horizon"]
    stat = model.get("statistics", {}).get(metric)
    return stat["per_horizon"] if stat else None


def training_facts(run: Path) -> dict[str, Any]:
    """Steps, wall time and throughput of a run folder (``metrics.jsonl``), and its config file."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    # `seconds` counts from the start of each training process: a resumed run starts again from 0,
    # so the segments are laid end to end (the time between them, when nothing trained, is left out)
    elapsed, offset, previous, segments = [], 0.0, 0.0, 1
    for row in rows:
        if row["seconds"] < previous:
            offset, segments = offset + previous, segments + 1
        previous = row["seconds"]
        elapsed.append(offset + row["seconds"])
    half = len(rows) // 2  # throughput over the second half, as the tables report it
    mid, last = rows[half], rows[-1]
    rate = (last["step"] - mid["step"]) * last["batch_size"] / max(elapsed[-1] - elapsed[half], 1e-9)
    return {"run": run.name, "steps": last["step"], "seconds": round(elapsed[-1], 1),
            "samples_per_s": round(rate, 2), "segments": segments}


def run_hardware(run: Path) -> str | None:
    """Where a run folder trained (``run.json``'s last segment), e.g. ``cuda (NVIDIA H200)``."""
    info = json.loads((run / "run.json").read_text()) if (run / "run.json").exists() else {}
    return (info.get("segments") or [{}])[-1].get("hardware")


def run_entry(run: Path, config: str, overrides: list[str]) -> dict[str, Any]:
    """The new row's training run in the shape of a table's ``runs`` entry (what bundle_model.py reads)."""
    import hashlib

    info = json.loads((run / "run.json").read_text())
    facts = training_facts(run)
    return {"config": config, "data": info["data"], "mode": "image", "steps": facts["steps"], "overrides": overrides,
            "hash": hashlib.sha256((run / "config.yaml").read_bytes()).hexdigest()[:12], "run": str(run),
            "reused": True, "hardware": run_hardware(run), "train_seconds": facts["seconds"],
            "samples_per_s": facts["samples_per_s"]}


def wins(row: list[float], other: list[float], start: int) -> list[int]:
    """Horizons (1-based) from ``start`` at which ``row`` is at or above ``other``."""
    return [t for t, (a, b) in enumerate(zip(row, other), start=1) if t >= start and a >= b]


def report(rows: dict[str, dict[str, Any]], sources: dict[str, str], new: str, real: dict[str, Any],
           frames: int) -> tuple[str, dict[str, Any]]:
    """Markdown of every row and the comparisons of ``new`` with copy-first-frame and the regressor."""
    horizons = list(range(1, frames))
    summary = []
    for name, model in rows.items():
        psnr, ssim, sharp = curve(model, "psnr"), curve(model, "ssim"), curve(model, "sharpness")
        summary.append([name, sources[name], model["k"], sum(psnr) / len(psnr), sum(ssim) / len(ssim),
                        model["motion"], model["diversity"],
                        f"{model['diversity'] / real['motion']:.0%}" if model["k"] > 1 else "n/a",
                        sharp[-1] if sharp else None])
    real_sharp = real.get("statistics", {}).get("sharpness")
    summary.append(["real clips", "", "", None, None, real["motion"], None, "", real_sharp["per_horizon"][-1]
                    if real_sharp else None])
    parts = [markdown_table(["model", "measured by", "K", "PSNR best-of-K (mean over horizons)", "SSIM best-of-K",
                             "motion", "diversity", "diversity / real motion", f"sharpness frame {frames - 1}"],
                            summary)]
    for metric, title in (("psnr", "best-of-K PSNR (dB)"), ("ssim", "best-of-K SSIM"),
                          ("sharpness", "sharpness (gradient energy over frame 0's; mean of K)")):
        table = [[name, *curve(model, metric)] for name, model in rows.items() if curve(model, metric)]
        if metric == "sharpness" and real_sharp:
            table.append(["real clips", *real_sharp["per_horizon"]])
        parts += [f"### {title} per horizon", "", markdown_table(["model", *map(str, horizons)], table)]
    checks: dict[str, Any] = {}
    lines = [f"### `{new}` against the other rows", ""]
    for other in (COPY, "regressor"):
        if other not in rows:
            continue
        for metric in ("psnr", "ssim"):
            mine, theirs = curve(rows[new], metric), curve(rows[other], metric)
            won_all, won_4 = wins(mine, theirs, 1), wins(mine, theirs, 4)
            mean_gap = sum(mine) / len(mine) - sum(theirs) / len(theirs)
            checks[f"{metric}_vs_{other}"] = {"horizons_at_or_above": won_all, "from_4_all": len(won_4) == frames - 4,
                                             "mean_difference": round(mean_gap, 4)}
            lines.append(f"- {metric.upper()} vs `{other}`: at or above at horizons {won_all or 'none'} "
                         f"({len(won_all)} of {len(horizons)}; from horizon 4: {len(won_4)} of {frames - 4}); "
                         f"mean over horizons {mean_gap:+.4f}")
    diversity = rows[new]["diversity"] / real["motion"]
    sharp = curve(rows[new], "sharpness")
    checks["diversity_over_real_motion"] = round(diversity, 4)
    checks["last_frame_sharpness"] = round(sharp[-1], 4) if sharp else None
    lines.append(f"- diversity of K futures {rows[new]['diversity']:.4f} = {diversity:.0%} of the real clips' motion "
                 f"({real['motion']:.4f})")
    if sharp:
        lines.append(f"- sharpness of frame {frames - 1} over frame 0: {sharp[-1]:.3f}")
    return "\n".join(parts + lines) + "\n", checks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="e.g. table2_scenes (reads <results>/<table>.json)")
    parser.add_argument("--row", required=True, help="the new row's name, e.g. motion")
    parser.add_argument("--model", type=Path, required=True, help="the new row's model folder")
    parser.add_argument("--data", type=Path, required=True, help="the table's test clip cache")
    parser.add_argument("--baseline", action="append", default=[], metavar="NAME=MODEL",
                        help="a table row re-measured from its model (e.g. gan=scenes-64); repeatable")
    parser.add_argument("--run", type=Path, default=None, help="the new row's training run folder (for its facts)")
    parser.add_argument("--config", default="", help="the new row's recipe, e.g. configs/bench-scenes-motion.yaml")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override the run trained with beyond --config (e.g. train.crop=0.3), for its card")
    parser.add_argument("--before", action="append", default=[], metavar="CMD",
                        help="a command of the chain before this one (data, training), recorded for reproduction")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results",
                        help="folder of the table's JSON and of the output (default benchmarks/results)")
    args = parser.parse_args(argv)
    source = args.results / f"{args.table}.json"
    if not source.is_file():
        parser.error(f"--table {args.table}: no {source}")
    table = json.loads(source.read_text())
    old = table["results"]["evaluation"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        new = evaluate(args.model, args.data, args.baseline, table, Path(work))
    check_same_clips(new, old)
    labels = {value.partition("=")[0] for value in args.baseline}
    name = next(n for n in new["models"] if n != COPY and n not in labels)  # the -c model
    new["models"] = {(args.row if n == name else n): m for n, m in new["models"].items()}
    rows = {COPY: new["models"][COPY], args.row: new["models"][args.row]}
    sources = {COPY: "this run", args.row: "this run"}
    for value in args.baseline:
        label = value.partition("=")[0]
        rows[label], sources[label] = new["models"][label], "this run (re-measured)"
    for label, model in old["models"].items():
        if label not in rows:
            rows[label], sources[label] = model, f"the table ({table['date'][:10]})"
    frames = new["settings"]["frames"]
    body, checks = report(rows, sources, args.row, new["data"], frames)
    command = "python benchmarks/add_row.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    facts = training_facts(args.run) if args.run else None
    settings = new["settings"]
    of_run = f" of run `{facts['run']}`" if facts else ""
    md = [f"# {table['title']}: with `{args.row}`", "",
          f"The rows of `{args.table}` ({table['date'][:10]}, `{table['command']}`) and `{args.row}` "
          f"(`{args.model.name}`{of_run}), scored by `vgpred evaluate` on the "
          f"table's {settings['num_clips']} test clips (checked: copy-first-frame's per-horizon PSNR equals the "
          f"table's), K = {settings['k']}, seed {settings['seed']}. Rows measured by the table itself predate the "
          "sharpness statistic (n/a there).", ""]
    if facts:
        hardware = run_hardware(args.run) or "cpu"  # where it trained (run.json), not where it is scored
        if hardware.startswith("cpu"):
            hardware += f", {machine()['cpu']}"
        minutes = facts["seconds"] / 60
        md += [f"`{args.row}` trained {facts['steps']} steps in {minutes:.{0 if minutes >= 10 else 1}f} minutes "
               f"({facts['samples_per_s']} samples/s over the second half"
               + (f"; {facts['segments']} processes, each resumed from the last one's checkpoint"
                  if facts["segments"] > 1 else "") + f") on {hardware}.", ""]
    chain = "\n".join([*args.before, command])
    md += [body, "Commands:", "", "```bash", chain, "```", ""]
    out = args.results / f"{args.table}+{args.row}"
    result = {"table": f"{args.table}+{args.row}", "title": f"{table['title']}, with `{args.row}`", "row": args.row,
              "command": chain, "runs": {args.row: run_entry(args.run, args.config, args.override)} if args.run else {},
              "results": {"evaluation": new},
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "wall_seconds": round(time.perf_counter() - started, 1), "machine": machine(), "training": facts,
              "sources": sources, "checks": checks, "table_rows": old["models"]}
    def beside(suffix: str) -> Path:  # a row name may hold a dot (motion-scale1.5)
        return out.with_name(out.name + suffix)

    plot(rows, frames, beside(".png"))
    atomic_write(beside(".md"), lambda tmp: tmp.write_text("\n".join(md)))
    atomic_write(beside(".json"), lambda tmp: tmp.write_text(json.dumps(result, indent=1) + "\n"))
    print(f"wrote {out}.md / .json / .png\n{command}")


def plot(rows: dict[str, dict[str, Any]], frames: int, path: Path) -> None:
    """Best-of-K PSNR, SSIM and sharpness per horizon, one line per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, metric in zip(axes, ("psnr", "ssim", "sharpness")):
        for name, model in rows.items():
            values = curve(model, metric)
            if values:
                ax.plot(range(1, frames), values, marker=".", label=name)
        ax.set_xlabel("horizon (frame)")
        ax.set_title(metric if metric == "sharpness" else f"best-of-K {metric.upper()}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)


if __name__ == "__main__":
    main()

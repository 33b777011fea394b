"""Shared helpers of the benchmark scripts: options, the real CLI, reusable runs, reports.

Every table script runs the whole chain (data, training with a named config,
evaluation) through ``python -m vgpred ...`` exactly as a user would, at one of two
scales: ``smoke`` (tiny sizes, a couple of minutes on a CPU; what the tests run)
and ``full`` (the published numbers). Training is skipped when the run folder for
the same config hash already holds ``export/`` (``--no-reuse`` retrains), and an
interrupted run is continued with ``vgpred train --resume``.

Results go to ``<out>/tableN_<name>.{md,json,png}`` (smoke: ``<out>/smoke/``), each
stating the command, the config hashes, the machine, the date, the wall time and
the scale. Every file is written to a temporary name and renamed when complete.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from vgpred.io.atomic import atomic_write

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
SCALES = ("smoke", "full")

# Smoke scale: the same recipes shrunk to seconds (32x32 pixels, 8 frames, 4-channel layers;
# fp32 as in configs/tiny.yaml: bf16 autocast at these widths can overflow to NaN).
SMOKE_MODEL = ("model.resolution=32", "model.frames=8", "model.width=0.0625", "model.latent_dim=8",
               "model.embed_dim=4")
SMOKE_TRAIN = ("train.batch_size=4", "train.num_workers=0", "train.log_every=1", "train.sample_every=0",
               "train.checkpoint_every=0", "train.ema_warmup=2", "train.num_samples=4", "train.precision=fp32")


def parse_args(table: str, description: str, argv: list[str] | None = None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None,
               out: Path = REPO / "benchmarks" / "results") -> argparse.Namespace:
    """The options every table script takes: --scale, --work, --out, --seed, --no-reuse (and ``extra``'s).

    ``out``: the default of --out (an experiment under ``benchmarks/experiments/`` passes its own results folder).
    """
    parser = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(parser)
    parser.add_argument("--scale", choices=SCALES, default="smoke",
                        help="smoke: tiny sizes, minutes on a CPU (tests); full: the published numbers")
    parser.add_argument("--work", type=Path, default=None,
                        help=f"working folder for data, runs and logs (default benchmarks/work/{table})")
    parser.add_argument("--out", type=Path, default=out,
                        help=f"results folder (default {out.relative_to(REPO) if out.is_relative_to(REPO) else out}); "
                             "smoke results go to its smoke/ sub-folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, training and sampling")
    parser.add_argument("--no-reuse", action="store_true",
                        help="retrain even when a finished run with the same config hash exists")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed: must be 0 or more")
    args.work = (args.work or REPO / "benchmarks" / "work" / table).resolve()
    args.out = args.out.resolve()
    return args


def config_hash(yaml_path: Path, overrides: list[str], data: Path | None = None) -> str:
    """12 hex digits of SHA-256 over the YAML text, the overrides (in order) and the data's settings."""
    digest = hashlib.sha256(Path(yaml_path).read_bytes())
    for item in overrides:
        digest.update(b"\0" + item.encode())
    if data is not None:
        settings = json.loads((Path(data) / "index.json").read_text()).get("settings", {})
        digest.update(b"\0data\0" + json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:12]


# Settings that change how a run is logged or saved, not the model it trains.
BOOKKEEPING = {"train.steps", "train.log_every", "train.sample_every", "train.checkpoint_every",
               "train.keep_checkpoints", "train.num_samples", "train.num_workers", "train.device", "train.seed"}


def recipe_overrides(yaml_path: Path, run: Path) -> list[str]:
    """The ``key=value`` overrides that turn the recipe ``yaml_path`` into the run's own config.yaml
    (bookkeeping settings left out): how a run trained elsewhere differs from the recipe."""
    from vgpred.config import build_config, load_yaml, to_dict

    recipe = to_dict(build_config(yaml_path))
    own = load_yaml(run / "config.yaml")
    found = []
    for section, values in own.items():
        for key, value in (values or {}).items() if isinstance(values, dict) else ():
            name = f"{section}.{key}"
            if name not in BOOKKEEPING and recipe.get(section, {}).get(key, value) != value:
                found.append(f"{name}={value}")
    return found


def machine() -> dict[str, Any]:
    """CPU model, core count, torch version and the precision training picks here."""
    import torch

    from vgpred.train.precision import resolve_precision

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from vgpred.device import resolve_device

    device = resolve_device("auto")
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "device": str(device), "precision": resolve_precision("auto", device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def repo_relative(text: str) -> str:
    """Paths inside the repository written relative to its root, so a report reads the same on every machine.

    Readers of a result (``bundle_model.py``) join its paths to the repository root.
    """
    return re.sub(rf"(?<![\w.{re.escape(os.sep)}-]){re.escape(f'{REPO}{os.sep}')}", "", text)


def finite(obj: Any) -> Any:
    """JSON has no inf/NaN: such floats become None (null)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(value) for value in obj]
    return obj


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub Markdown table; floats printed with 4 significant digits."""
    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else ("n/a" if v is None else str(v))

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]) + "\n"


@dataclass
class TrainedRun:
    """A finished training run: its folder, its exported model and how it was made."""

    name: str
    path: Path
    data: Path
    config: str
    mode: str
    steps: int
    overrides: list[str]
    hash: str
    reused: bool
    base: str | None = None  # the run (of the same table) this one fine-tunes

    @property
    def export(self) -> Path:
        return self.path / "export"

    @property
    def hardware(self) -> str | None:
        """What the run trained on (``cuda (NVIDIA H100 80GB HBM3)``, ``cpu (1 thread)``), from run.json.

        None for runs made before ``vgpred train`` recorded it.
        """
        info = self.path / "run.json"
        segments = json.loads(info.read_text()).get("segments", []) if info.is_file() else []
        return ", ".join(dict.fromkeys(s["hardware"] for s in segments)) or None

    @property
    def skips_note(self) -> str:
        """A sentence for the report when the run's network has the encoder skips, else ''."""
        if not json.loads((self.export / "config.json").read_text())["model"].get("skips"):
            return ""
        return " The networks have the recipe's U-Net skips from the frame encoder (`model.skips`, not in the paper)."

    def summary(self) -> dict[str, Any]:
        """Config, hash, steps, and the training time and speed read from metrics.jsonl."""
        metrics = self.path / "metrics.jsonl"  # a model folder given instead of a run has none
        rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()] if metrics.is_file() else []
        speeds = [r["samples_per_s"] for r in rows[len(rows) // 2:] if "samples_per_s" in r]
        return {"config": self.config, "data": str(self.data), "mode": self.mode, "steps": self.steps,
                "overrides": self.overrides,
                "hash": self.hash, "run": str(self.path), "reused": self.reused, "base": self.base,
                "hardware": self.hardware, "train_seconds": training_seconds(rows),
                "samples_per_s": sum(speeds) / len(speeds) if speeds else None,
                "final": {k: v for k, v in (rows[-1] if rows else {}).items()
                          if k.startswith(("loss", "d_", "recon"))}}


def training_seconds(rows: list[dict[str, Any]]) -> float | None:
    """Wall time of a run from its metrics.jsonl rows, summed over resumed segments.

    ``seconds`` counts from the start of each ``vgpred train`` process, so it falls
    back towards zero where a run was resumed; each segment adds its last value.
    """
    times = [r["seconds"] for r in rows if "seconds" in r]
    if not times:
        return None
    total = 0.0
    for before, after in zip(times, times[1:]):
        if after < before:
            total += before
    return total + times[-1]


class Benchmark:
    """One table's run: options, the CLI calls it makes, the runs it trains, its report."""

    def __init__(self, table: str, title: str, args: argparse.Namespace) -> None:
        self.table, self.title, self.args = table, title, args
        self.smoke = args.scale == "smoke"
        self.work = args.work
        self.results_dir = args.out / "smoke" if self.smoke else args.out
        self.started = time.perf_counter()
        self.runs: dict[str, TrainedRun] = {}
        (self.work / "logs").mkdir(parents=True, exist_ok=True)
        self.results_dir.mkdir(parents=True, exist_ok=True)

    def log(self, message: str) -> None:
        print(f"[{self.table}] {message}", file=sys.stderr, flush=True)

    def config(self, name: str) -> Path:
        return CONFIGS / f"{name}.yaml"

    def vgpred(self, *args: Any, log: str, threads: int | None = None) -> str:
        """Run ``python -m vgpred ARGS`` (the installed CLI); return stdout; stop on failure.

        ``threads``: PyTorch's CPU threads for this process (OMP_NUM_THREADS), for runs started side by side.
        """
        cmd = [sys.executable, "-m", "vgpred", *map(str, args)]
        log_file = self.work / "logs" / f"{log}.log"
        self.log(f"$ vgpred {shlex.join(cmd[3:])}")
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)} if threads else None
        with open(log_file, "w") as err:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO,
                                  stdin=subprocess.DEVNULL, env=env)
        if proc.returncode != 0:
            tail = log_file.read_text().strip().splitlines()[-5:]
            raise SystemExit(f"[{self.table}] vgpred {args[0]} failed (exit {proc.returncode}); "
                             f"log {log_file}:\n" + "\n".join(tail))
        return proc.stdout

    def moving_mnist(self, name: str, digits: int, num: int, split: str, size: int, frames: int,
                     seed: int | None = None, motion: str | None = None) -> Path:
        """A Moving Fashion-MNIST clip cache under ``work/data/name`` (kept when already written).

        ``seed`` None: --seed for the train split, --seed + 1 for the test split. ``motion``: the
        trajectories (``vgpred data moving-mnist --motion``; None: its default).
        """
        dst = self.work / "data" / name
        if seed is None:
            seed = self.args.seed if split == "train" else self.args.seed + 1
        self.vgpred("data", "moving-mnist", dst, "--idx", FASHION_MNIST, "--digits", digits, "--num", num,
                    "--split", split, "--size", size, "--frames", frames, "--seed", seed, "--no-progress",
                    *(("--motion", motion) if motion else ()), log=f"data-{name}")
        return dst

    def run_key(self, config: str, mode: str, data: Path, steps: int | None,
                overrides: list[str] | tuple[str, ...] = ()) -> tuple[list[str], str]:
        """The full override list :meth:`train` passes and the config hash that names its run."""
        overrides = [*(SMOKE_MODEL + SMOKE_TRAIN if self.smoke else ()), *overrides, f"train.seed={self.args.seed}"]
        step_args = ["--steps", str(steps)] if steps is not None else []
        return overrides, config_hash(self.config(config), [f"--mode={mode}", *step_args, *overrides], data)

    def train(self, name: str, config: str, mode: str, data: Path, steps: int | None,
              overrides: list[str] | tuple[str, ...] = (), threads: int | None = None) -> TrainedRun:
        """``vgpred train`` with ``configs/<config>.yaml``, or the finished run of the same hash.

        ``steps`` None keeps the YAML's ``train.steps``; smoke scale adds the smoke overrides.
        ``threads``: the training process's CPU threads (see :meth:`vgpred`; training is bit-exact
        whatever the thread count only up to float summation order, so the config hash ignores it).
        """
        overrides, key = self.run_key(config, mode, data, steps, overrides)
        yaml_path = self.config(config)
        step_args = ["--steps", steps] if steps is not None else []
        root = self.work / "runs" / f"{name}-{key}"
        previous = sorted(p for p in root.glob("[0-9][0-9][0-9][0-9][0-9]-*") if p.is_dir()) if root.is_dir() else []
        finished = [p for p in previous if (p / "export" / "config.json").is_file()]
        if finished and not self.args.no_reuse:
            self.log(f"reusing {finished[-1]} (same config hash {key}; --no-reuse retrains)")
            path, reused = finished[-1], True
        elif previous and not self.args.no_reuse and (previous[-1] / "checkpoints").is_dir():
            out = self.vgpred("train", "--resume", previous[-1], "--data", data, "--no-progress", log=f"train-{name}",
                              threads=threads)
            path, reused = Path(out.strip().splitlines()[-1]), False
        else:
            out = self.vgpred("train", *overrides, "--mode", mode, "--data", data, "--config", yaml_path,
                              "--out", root, *step_args, "--no-progress", log=f"train-{name}", threads=threads)
            path, reused = Path(out.strip().splitlines()[-1]), False
        if not (path / "export" / "config.json").is_file():
            raise SystemExit(f"[{self.table}] {path}: training ended without export/ (interrupted?)")
        import yaml

        resolved = yaml.safe_load((path / "config.yaml").read_text())["train"]["steps"]
        run = TrainedRun(name, path, Path(data), str(yaml_path.relative_to(REPO)), mode, resolved, overrides, key,
                         reused)
        self.runs[name] = run
        return run

    def train_side_by_side(self, jobs: list[tuple[Any, ...]]) -> list[TrainedRun]:
        """:meth:`train` for each job (its positional arguments), all at once, the machine's cores
        shared out (one thread each on a 2-core machine): small networks train faster side by side
        than one after the other with every thread. Stops on the first failure, after the others end."""
        from concurrent.futures import ThreadPoolExecutor

        threads = max(1, (os.cpu_count() or 1) // max(1, len(jobs)))
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            futures = [pool.submit(self.train, *job, threads=threads) for job in jobs]
        return [future.result() for future in futures]

    def model_folder(self, run: TrainedRun) -> Path:
        """A copy of the run's export/ named after the run (``vgpred evaluate`` names models by folder)."""
        dst = self.work / "models" / run.name
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(run.export, dst)
        return dst

    def command(self) -> str:
        """The command that reproduces this result."""
        args = ["python", str(Path(sys.argv[0]).resolve().relative_to(REPO))
                if Path(sys.argv[0]).resolve().is_relative_to(REPO) else sys.argv[0], *sys.argv[1:]]
        return shlex.join(args)

    def finish(self, settings: dict[str, Any], results: dict[str, Any], body: str,
               plot: Callable[[Path], None] | None = None) -> Path:
        """Write ``tableN_<name>.md``, ``.png`` (when ``plot``) and ``.json`` (last); return the JSON path."""
        wall = time.perf_counter() - self.started
        stem = self.results_dir / self.table
        info = {
            "table": self.table, "title": self.title, "scale": self.args.scale, "seed": self.args.seed,
            "command": self.command(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": round(wall, 1), "machine": machine(), "settings": settings,
            "runs": {name: run.summary() for name, run in self.runs.items()},
            "config_hashes": {name: run.hash for name, run in self.runs.items()},
            "results": results,
        }
        if plot is not None:
            atomic_write(stem.with_suffix(".png"), plot)
            info["plot"] = stem.with_suffix(".png").name
        m = info["machine"]
        lines = [f"# {self.title}", "", f"Scale: **{self.args.scale}**" +
                 (" (tiny sizes that check the chain runs; the numbers mean nothing)" if self.smoke else ""), "",
                 body.rstrip(), ""]
        if plot is not None:
            lines += [f"![{self.table}]({stem.with_suffix('.png').name})", ""]
        lines += ["## How this was made", "", f"- command: `{info['command']}`"]
        for name, run in self.runs.items():
            s = info["runs"][name]
            secs = f"{s['train_seconds']:.0f} s" if s["train_seconds"] is not None else "n/a"
            speed = f"{s['samples_per_s']:.1f} samples/s" if s["samples_per_s"] else "n/a"
            extra = " ".join(o for o in run.overrides if not o.startswith("train.seed="))
            if not (run.path / "config.yaml").is_file():  # a model folder given to the script, not a run
                lines.append(f"- {name}: the model folder `{run.config}` ({run.steps} steps; given, not trained "
                             f"here), copied to `{run.export}`")
                continue
            lines.append(f"- {name}: `vgpred train --mode {run.mode} --data {run.data} --config {run.config} "
                         f"--steps {run.steps}"
                         f"{' ' + extra if extra else ''}` (config hash `{run.hash}`; {secs}, {speed}"
                         f"{' on ' + s['hardware'] if s['hardware'] else ''}"
                         f"{'; reused' if run.reused else ''}); run folder `{run.path}`")
        lines += [f"- machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['device']}, "
                  f"precision auto = {m['precision']} here",
                  f"- date: {info['date']}; wall time {wall / 60:.1f} min", ""]
        text = repo_relative("\n".join(lines))
        atomic_write(stem.with_suffix(".md"), lambda tmp: tmp.write_text(text, encoding="utf-8"))
        payload = repo_relative(json.dumps(finite(info), indent=2, allow_nan=False, default=str) + "\n")
        atomic_write(stem.with_suffix(".json"), lambda tmp: tmp.write_text(payload, encoding="utf-8"))
        self.log(f"wrote {stem.with_suffix('.md')} and .json in {wall / 60:.1f} min")
        print(f"reproduce with: {info['command']}")
        return stem.with_suffix(".json")


def horizons_lost(model: dict, copy: dict, metric: str, first_horizon: int) -> tuple[list[int], int]:
    """Horizons from ``first_horizon`` where ``model``'s best-of-K ``metric`` does not beat copy-first-frame's,
    and how many horizons were compared (both from a ``vgpred evaluate`` result's model entries)."""
    ours = model["metrics"][metric]["best_of_k"]["per_horizon"][first_horizon - 1:]
    base = copy["metrics"][metric]["best_of_k"]["per_horizon"][first_horizon - 1:]
    return [h for h, (a, b) in enumerate(zip(ours, base), start=first_horizon) if a <= b], len(ours)


def against_copy(report: dict, name: str, first_horizon: int = 4) -> dict[str, Any]:
    """Issue 21's figures for the model ``name`` of a ``vgpred evaluate`` report: best-of-K PSNR and SSIM
    (means over horizons, its and copy-first-frame's), at how many horizons from ``first_horizon`` on both
    are at or above copy's (of how many), the K futures' diversity over the real clips' motion and the
    sharpness of the last frame (over frame 0's)."""
    models, horizons = report["models"], report["settings"]["horizons"]
    model, copy = models[name]["metrics"], models["copy-first-frame"]["metrics"]
    at_or_above = [h for i, h in enumerate(horizons) if h >= first_horizon
                   and all(model[m]["best_of_k"]["per_horizon"][i] >= copy[m]["best_of_k"]["per_horizon"][i]
                           for m in ("psnr", "ssim"))]
    return {
        "psnr_mean": model["psnr"]["best_of_k"]["average"],
        "ssim_mean": model["ssim"]["best_of_k"]["average"],
        "copy_psnr_mean": copy["psnr"]["best_of_k"]["average"],
        "copy_ssim_mean": copy["ssim"]["best_of_k"]["average"],
        "horizons_at_or_above_copy": len(at_or_above),
        "of": sum(h >= first_horizon for h in horizons),
        "diversity": models[name]["diversity"] / report["data"]["motion"],
        "sharpness_last": models[name]["statistics"]["sharpness"]["per_horizon"][-1],
        "num_clips": report["settings"]["num_clips"],
    }


def evaluate_image_to_video(bench: Benchmark, runs: list[TrainedRun], test: Path, k: int, max_clips: int,
                            metrics: str = "psnr,ssim,mae,sharpness,lpips,fvd",
                            ) -> tuple[dict[str, Any], str, Callable[[Path], None] | None]:
    """``vgpred evaluate`` of image-mode runs (first one as --checkpoint) with copy-first-frame.

    Returns the evaluation result (as ``vgpred evaluate --json`` writes it), a Markdown
    body (the summary table with a row of the real clips, per-horizon PSNR, SSIM and
    sharpness) and a writer of the evaluation's plot (metric vs horizon) for :meth:`Benchmark.finish`.
    """
    from vgpred.evaluation import markdown_horizons, markdown_summary

    folders = [bench.model_folder(run) for run in runs]
    json_path = bench.work / "eval" / "image-to-video.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    baselines = [arg for folder in folders[1:] for arg in ("--baseline", folder)]
    bench.vgpred("evaluate", "-c", folders[0], *baselines, "--data", test, "-k", k, "--max-clips", max_clips,
                 "--seed", bench.args.seed, "--metrics", metrics, "--json", json_path,
                 "--no-progress", log="evaluate")
    result = json.loads(json_path.read_text())
    png = json_path.with_suffix(".png")
    plot = (lambda tmp: shutil.copyfile(png, tmp)) if png.is_file() else None
    body = [markdown_summary(result)]
    titles = {"psnr": "PSNR per horizon (frame index; 0 is the reconstructed input)",
              "ssim": "SSIM per horizon (frame index; 0 is the reconstructed input)",
              "sharpness": "Sharpness per frame (gradient energy over the input frame's; `real clips`: the data's own)"}
    for metric, title in titles.items():
        if metric in result["settings"]["metrics"]:
            body += [f"### {title}", "", markdown_horizons(result, metric)]
    conventions = result["settings"]["conventions"]
    body.append("Conventions: " + "; ".join(
        f"{key}: {conventions[key]}" for key in ("pixels", "best_of_k", "deterministic", "motion", "diversity",
                                                 "sharpness") if key in conventions))
    return result, "\n".join(body), plot


def train_classifier(bench: Benchmark, data: Path, clips: int, epochs: int) -> tuple[Any, Path]:
    """vgpred's ``VideoFeatureNet`` trained on the first ``clips`` labelled clips of ``data``.

    Saved to ``work/classifier-<hash>`` with ``save_feature_net`` and reused from there
    (unless --no-reuse). Returns the network (eval mode) and its folder.
    """
    import torch

    from vgpred.data import open_dataset
    from vgpred.device import resolve_device
    from vgpred.metrics.features import load_feature_net, save_feature_net, train_feature_net

    settings = json.loads((Path(data) / "index.json").read_text()).get("settings", {})
    key = hashlib.sha256(json.dumps([settings, clips, epochs, bench.args.seed], sort_keys=True).encode())
    folder = bench.work / f"classifier-{key.hexdigest()[:12]}"
    device = resolve_device("auto")
    if (folder / "config.json").is_file() and not bench.args.no_reuse:
        bench.log(f"reusing the classifier in {folder}")
        return load_feature_net(folder, device=device), folder
    dataset = open_dataset(data, channels=1)
    subset = torch.utils.data.Subset(dataset, range(min(clips, len(dataset))))
    bench.log(f"training the classifier on {len(subset)} clips of {data} ({epochs} epochs)")
    started = time.perf_counter()
    net = train_feature_net(subset, len(dataset.class_names), data=f"{len(subset)} clips of {Path(data).name}",
                            epochs=epochs, device=device, seed=bench.args.seed)
    save_feature_net(net, folder)
    (folder / "training.json").write_text(json.dumps(
        {"data": str(data), "clips": len(subset), "epochs": epochs, "seconds": time.perf_counter() - started}))
    return net, folder


def classify(net: Any, videos: Any, batch_size: int = 64) -> Any:
    """Predicted labels ``(N,)`` of videos ``(N, C, T, H, W)`` in [-1, 1] (a tensor, on the CPU)."""
    import torch

    with torch.inference_mode():
        return torch.cat([net.predict_labels(videos[i:i + batch_size]).cpu()
                          for i in range(0, len(videos), batch_size)])


def load_clips(data: Path, start: int, count: int, channels: int = 1) -> tuple[Any, Any]:
    """Clips ``start .. start+count-1`` of a cache: ``(N, C, T, H, W)`` in [-1, 1] and labels ``(N,)``."""
    import torch

    from vgpred.data import open_dataset

    dataset = open_dataset(data, channels=channels)
    items = [dataset[i] for i in range(start, min(len(dataset), start + count))]
    return torch.stack([clip for clip, _ in items]), torch.tensor([label for _, label in items])

"""Speed of vgpred against a plain fp32 implementation of the same network, in one run.

Measures, after warm-up, with repeats interleaved so that machine noise hits both sides
alike (medians and min..max spread):

* training step samples/s at the paper and CPU presets: vgpred's step (the one the
  training loop runs: auto precision, channels-last, fused Adam, EMA update) against
  ``reference_fp32.py`` (nn.Sequential, fp32, default memory format), and the ratio;
* achieved GFLOP/s of both against this machine's measured matmul rate;
* data loader clips/s against the step's demand, and the step with the loader in the
  loop against synthetic in-memory batches;
* ``vgpred predict photo -o out.mp4`` end to end against ``python -c "import torch"``;
* peak memory of a paper-preset step at batch 8 and 64 (each in a fresh process);
* the operator profile of one vgpred step (where the time goes).

Writes ``benchmarks/results/speed.md`` and ``speed.json``; ``--quick`` is a seconds-long
smoke run at tiny sizes (its results go elsewhere unless ``--out`` says so).

    python benchmarks/speed.py            # full run, a few minutes on 2 cores
    python benchmarks/speed.py --threads 1  # both sides on one thread (faster on a busy machine)
    python benchmarks/speed.py --quick --out /tmp/speed
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_fp32 import ReferenceTrainer  # noqa: E402

from vgpred.config import build_config  # noqa: E402
from vgpred.device import resolve_device  # noqa: E402

HERE = Path(__file__).resolve().parent
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def interleaved(fns: dict, warmup: int, repeats: int, device: torch.device) -> dict[str, list[float]]:
    """Seconds per call of each function, calls interleaved (A B A B ...) after warm-up."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def matmul_rate(dtype: torch.dtype, device: torch.device, n: int, repeats: int) -> float:
    """Measured GFLOP/s of an n x n x n matrix multiply in ``dtype``."""
    a, b = torch.randn(n, n, device=device).to(dtype), torch.randn(n, n, device=device).to(dtype)
    t = interleaved({"mm": lambda: torch.mm(a, b)}, 2, repeats, device)["mm"]
    return 2 * n**3 / min(t) / 1e9


# --- training step -------------------------------------------------------------------

def vgpred_step(cfg, batch: int, device: torch.device):
    """vgpred's training step set up as the training loop sets it up; returns (step, precision)."""
    from vgpred.models.videogan import VideoGenerator, build_discriminator
    from vgpred.train.ema import EMA
    from vgpred.train.step import GanStep
    from vgpred.train.losses import OBJECTIVES
    from vgpred.train.precision import (configure_backends, fused_optimizer, grad_scaler, maybe_compile,
                                        resolve_precision, to_channels_last, use_channels_last)

    precision, objective = resolve_precision(cfg.train.precision, device), OBJECTIVES.get(cfg.loss.loss)
    configure_backends(device)
    gen = VideoGenerator(cfg.model).to(device)
    disc = build_discriminator(cfg.model).to(device) if objective.uses_discriminator else None
    for module in (gen, disc) if use_channels_last(device) else ():
        if module is not None:
            to_channels_last(module)
    ema = EMA(gen, cfg.train.ema_decay, 0)
    fused, betas = fused_optimizer(device), (cfg.optim.beta1, cfg.optim.beta2)
    optimizers = {"g": torch.optim.Adam(gen.parameters(), lr=cfg.optim.lr_g, betas=betas, fused=fused)}
    if disc is not None:
        optimizers["d"] = torch.optim.Adam(disc.parameters(), lr=cfg.optim.lr_d, betas=betas, fused=fused)
    g_run = maybe_compile(gen, cfg.train.compile)
    d_run = maybe_compile(disc, cfg.train.compile) if disc is not None else None
    step = GanStep(cfg, gen, g_run, disc, d_run, d_run, optimizers, grad_scaler(precision, device),
                   objective, precision, device, torch.Generator().manual_seed(0),
                   memory_channels_last=use_channels_last(device))
    count = [0]

    def run(clips: torch.Tensor, labels: torch.Tensor) -> dict:
        stats = step(clips, labels)
        count[0] += 1
        ema.update(gen, count[0])
        return stats

    return run, precision


def reference_step(cfg, device: torch.device):
    trainer = ReferenceTrainer(cfg.model, mask_l1=cfg.loss.mask_l1, recon_l1=cfg.loss.recon_l1)
    trainer.g.to(device), trainer.d.to(device)
    return trainer


def step_flops(cfg, batch: int) -> float:
    """FLOPs of one D+G step (forward + backward) of the reference network at ``batch``."""
    from torch.utils.flop_counter import FlopCounterMode

    trainer = reference_step(cfg, torch.device("cpu"))
    real = torch.zeros(batch, cfg.model.channels, cfg.model.frames, cfg.model.resolution, cfg.model.resolution)
    with FlopCounterMode(display=False) as counter:
        trainer.step(real)
    return float(counter.get_total_flops())


def bench_training(preset: str, batch: int, overrides: list[str], device, warmup: int, repeats: int,
                   peak: float) -> dict:
    cfg = build_config(preset, overrides)
    shape = (batch, cfg.model.channels, cfg.model.frames, cfg.model.resolution, cfg.model.resolution)
    real = torch.rand(shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    labels = torch.zeros(batch, dtype=torch.long)
    if device.type == "cuda":
        real = real.pin_memory()  # as the loader delivers it
    ours, precision = vgpred_step(cfg, batch, device)
    ref = reference_step(cfg, device)
    real_dev = real.to(device)
    flops = step_flops(cfg, batch)
    times = interleaved({"vgpred": lambda: ours(real, labels), "reference_fp32": lambda: ref.step(real_dev)},
                        warmup, repeats, device)
    rates = {k: [batch / t for t in v] for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in rates.items()}
    ratios = [a / b for a, b in zip(rates["vgpred"], rates["reference_fp32"])]
    return {
        "preset": preset, "overrides": overrides, "batch": batch, "precision": precision,
        "compile": cfg.train.compile, "samples_per_s": {k: summary(v) for k, v in rates.items()},
        "ratio": {"of_medians": med["vgpred"] / med["reference_fp32"], "paired": summary(ratios)},
        "gflop_per_sample": flops / batch / 1e9,
        "achieved_gflop_s": {k: flops / batch * m / 1e9 for k, m in med.items()},
        "fraction_of_matmul_peak": {k: flops / batch * m / 1e9 / peak for k, m in med.items()},
    }


# --- data loader ---------------------------------------------------------------------

def bench_loader(preset: str, batch: int, device, warmup: int, repeats: int, work: Path, quick: bool) -> dict:
    """Loader clips/s alone, and steps fed by the loader vs by one in-memory batch."""
    from vgpred.data import ClipAugment, make_loader, open_dataset, prepare

    cfg = build_config("tiny" if quick else preset, ["train.precision=auto"])
    size, frames = cfg.model.resolution, cfg.model.frames
    cache = work / f"vtest-{size}x{frames}"
    prepare(VTEST, cache, size=size, frames=frames, progress=False, hop=max(1, frames // 4))
    dataset = open_dataset(cache, channels=cfg.model.channels)
    loader = make_loader(dataset, batch, seed=0, num_workers=cfg.train.num_workers,
                         augment=ClipAugment(crop_scale=(1.0, 1.0), flip_p=0.5))

    def endless():
        while True:
            yield from loader

    stream = endless()
    for _ in range(warmup + 1):
        next(stream)
    n = max(4, repeats * 2)
    t0 = time.perf_counter()
    for _ in range(n):
        next(stream)
    clips_per_s = n * batch / (time.perf_counter() - t0)
    ours, _ = vgpred_step(cfg, batch, device)
    fixed = next(stream)
    times = interleaved({"loader": lambda: ours(*next(stream)), "synthetic": lambda: ours(*fixed)},
                        warmup, repeats, device)
    med = {k: batch / statistics.median(v) for k, v in times.items()}
    return {"preset": "tiny" if quick else preset, "batch": batch, "clips": len(dataset),
            "num_workers": cfg.train.num_workers, "loader_clips_per_s": clips_per_s,
            "step_samples_per_s": med, "demand_fraction": med["synthetic"] / clips_per_s,
            "loss_vs_synthetic": 1 - med["loader"] / med["synthetic"]}


# --- predict start-up ----------------------------------------------------------------

def predict_model(work: Path, quick: bool) -> Path:
    """The bundled default model, or a paper-size image model written to ``work``."""
    from vgpred.modelfile import DEFAULT_MODEL, bundled_models, save_model
    from vgpred.models.videogan import VideoGenerator

    bundled = bundled_models()
    if DEFAULT_MODEL in bundled:
        return bundled[DEFAULT_MODEL]
    cfg = build_config("tiny" if quick else "paper", ["model.mode=image"]).model
    torch.manual_seed(0)
    return save_model(VideoGenerator(cfg).eval(), work / "model")


def bench_predict(work: Path, repeats: int, quick: bool) -> dict:
    model = predict_model(work, quick)
    photo = HERE.parent / "assets" / "examples" / "street.jpg"
    out = work / "out.mp4"
    exe = [sys.executable, "-m", "vgpred"]
    predict = exe + ["predict", str(photo), "-o", str(out), "-c", str(model), "--seed", "0"]
    bare = [sys.executable, "-c", "import torch"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}

    def run(cmd):
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    times = interleaved({"predict": lambda: run(predict), "import_torch": lambda: run(bare)}, 1, repeats,
                        torch.device("cpu"))
    ratios = [a / b for a, b in zip(times["predict"], times["import_torch"])]
    return {"command": shlex.join(predict), "model": str(model), "seconds": {k: summary(v) for k, v in times.items()},
            "ratio": {"of_medians": statistics.median(times["predict"]) / statistics.median(times["import_torch"]),
                      "paired": summary(ratios)}}


# --- peak memory ---------------------------------------------------------------------

def peak_memory_child(preset: str, batch: int) -> None:
    """(In a fresh process) run two steps; print peak memory in MiB as JSON."""
    device = resolve_device("auto")
    cfg = build_config(preset, [])
    ours, precision = vgpred_step(cfg, batch, device)
    shape = (batch, cfg.model.channels, cfg.model.frames, cfg.model.resolution, cfg.model.resolution)
    real = torch.rand(shape) * 2 - 1
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for _ in range(2):
        ours(real, torch.zeros(batch, dtype=torch.long))
    sync(device)
    result = {"batch": batch, "precision": precision, "device": device.type,
              "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "rss_before_steps_mib": before}
    if device.type == "cuda":
        result["peak_cuda_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    print(json.dumps(result))


def bench_memory(preset: str, batches: list[int]) -> list[dict]:
    rows = []
    for batch in batches:
        cmd = [sys.executable, __file__, "--peak-memory-child", preset, str(batch)]
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows.append({"preset": preset, **json.loads(proc.stdout.strip().splitlines()[-1])})
    return rows


# --- profile -------------------------------------------------------------------------

def profile_step(preset: str, overrides: list[str], batch: int, device, rows: int = 15) -> dict:
    """Self time by operator of one warm vgpred step."""
    from torch.profiler import ProfilerActivity, profile

    cfg = build_config(preset, overrides)
    ours, _ = vgpred_step(cfg, batch, device)
    shape = (batch, cfg.model.channels, cfg.model.frames, cfg.model.resolution, cfg.model.resolution)
    real, labels = torch.rand(shape) * 2 - 1, torch.zeros(batch, dtype=torch.long)
    for _ in range(2):
        ours(real, labels)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        ours(real, labels)
        sync(device)
    def self_time(e) -> float:  # microseconds on the device that does the work
        return e.self_device_time_total if device.type == "cuda" else e.self_cpu_time_total

    events = sorted(prof.key_averages(), key=lambda e: -self_time(e))
    total = sum(self_time(e) for e in events)
    return {"total_ms": total / 1e3, "top": [{"op": e.key, "ms": self_time(e) / 1e3, "calls": e.count,
                                              "share": self_time(e) / total} for e in events[:rows]]}


# --- report --------------------------------------------------------------------------

def fmt(s: dict, digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}..{s['max']:.{digits}f})"


def write_report(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Speed: vgpred vs a plain fp32 implementation of the same network", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}  ",
             "Medians over interleaved repeats after warm-up; (min..max) spread; ratios computed "
             "within the same run. Machines here are shared and noisy: compare ratios, not absolute times."]
    if "matmul" in results:
        lines += ["", f"Matmul rate (n={results['matmul']['n']}): fp32 {results['matmul']['fp32_gflop_s']:.0f} GFLOP/s, "
                  f"{results['matmul']['fast_dtype']} {results['matmul']['fast_gflop_s']:.0f} GFLOP/s"]
    if "training" in results:
        lines += ["", "## Training step (one D step + one G step per batch)", "",
                  "| preset | batch | precision | vgpred samples/s | fp32 reference samples/s | ratio (paired) "
                  "| GFLOP/sample | vgpred GFLOP/s (of matmul peak) | reference GFLOP/s |",
                  "|---|---|---|---|---|---|---|---|---|"]
    for t in results.get("training", []):
        s, a, f = t["samples_per_s"], t["achieved_gflop_s"], t["fraction_of_matmul_peak"]
        lines.append(f"| {t['preset']} | {t['batch']} | {t['precision']} | {fmt(s['vgpred'])} | "
                     f"{fmt(s['reference_fp32'])} | **{t['ratio']['of_medians']:.2f}x** ({fmt(t['ratio']['paired'])}) | "
                     f"{t['gflop_per_sample']:.1f} | {a['vgpred']:.0f} ({f['vgpred']:.0%}) | {a['reference_fp32']:.0f} |")
    if "loader" in results:
        ld = results["loader"]
        lines += ["", "## Data loader", "",
                  f"Clip cache of {ld['clips']} clips (vtest.avi), preset {ld['preset']}, batch {ld['batch']}, "
                  f"{ld['num_workers']} worker(s): loader alone {ld['loader_clips_per_s']:.1f} clips/s; the step "
                  f"consumes {ld['step_samples_per_s']['synthetic']:.2f} samples/s "
                  f"({ld['demand_fraction']:.1%} of what the loader delivers).  ",
                  f"Step with the loader in the loop: {ld['step_samples_per_s']['loader']:.2f} samples/s vs "
                  f"{ld['step_samples_per_s']['synthetic']:.2f} on one in-memory batch: "
                  f"**{ld['loss_vs_synthetic']:+.1%}** lost."]
    if "predict" in results:
        p = results["predict"]
        lines += ["", "## `vgpred predict` start-up", "", f"`{p['command']}`", "",
                  f"- predict end to end: {fmt(p['seconds']['predict'])} s",
                  f"- `python -c \"import torch\"`: {fmt(p['seconds']['import_torch'])} s",
                  f"- ratio: **{p['ratio']['of_medians']:.2f}x** (paired {fmt(p['ratio']['paired'])})"]
    if "memory" in results:
        lines += ["", "## Peak memory of a training step", "", "| preset | batch | device | precision | peak RSS MiB |"
                  " CUDA peak MiB |", "|---|---|---|---|---|---|"]
        for m in results["memory"]:
            lines.append(f"| {m['preset']} | {m['batch']} | {m['device']} | {m['precision']} | "
                         f"{m['peak_rss_mib']:.0f} | {m.get('peak_cuda_mib', float('nan')):.0f} |")
    if "profile" in results:
        pr = results["profile"]
        lines += ["", f"## Where the time goes (one vgpred step, {pr['preset']} batch {pr['batch']}, "
                  f"{pr['total_ms']:.0f} ms of operator self time)", "", "| operator | ms | calls | share |",
                  "|---|---|---|---|"]
        lines += [f"| {r['op']} | {r['ms']:.0f} | {r['calls']} | {r['share']:.0%} |" for r in pr["top"]]
    for name, text in (("speed.md", "\n".join(lines) + "\n"), ("speed.json", json.dumps(results, indent=1))):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke run at tiny sizes")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads for both sides")
    ap.add_argument("--only", default="matmul,training,loader,predict,memory,profile",
                    help="comma-separated parts to run")
    ap.add_argument("--peak-memory-child", nargs=2, metavar=("PRESET", "BATCH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peak_memory_child:
        peak_memory_child(args.peak_memory_child[0], int(args.peak_memory_child[1]))
        return {}
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    repeats = args.repeats or (2 if quick else 5)
    warmup = 1 if quick else 2
    out = args.out or (Path(tempfile.gettempdir()) / "vgpred-speed-quick" if quick else HERE / "results")
    parts = set(args.only.split(","))
    device = resolve_device(args.device)
    command = shlex.join(["python", "benchmarks/speed.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"reproduce with: {command}", flush=True)
    machine = (f"{device.type}, {torch.get_num_threads()} threads, torch {torch.__version__}"
               + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else f", {os.cpu_count()} CPUs"))
    results: dict = {"command": command, "machine": machine, "quick": quick}
    fast = torch.bfloat16 if device.type == "cpu" else torch.float16
    n = 512 if quick else 2048
    results["matmul"] = {"n": n, "fp32_gflop_s": matmul_rate(torch.float32, device, n, repeats),
                         "fast_dtype": str(fast).split(".")[-1], "fast_gflop_s": matmul_rate(fast, device, n, repeats)}
    peak = results["matmul"]["fast_gflop_s"]
    presets = [("tiny", 4, ["train.precision=auto"])] if quick else [("paper", 8, []), ("cpu-small", 32, [])]
    if device.type == "cuda" and not quick:  # batch 8 is launch-bound on a GPU; the paper trains at 64
        presets.insert(1, ("paper", 64, []))
    if "training" in parts:
        results["training"] = []
        for preset, batch, overrides in presets:
            print(f"training step: {preset} batch {batch}", flush=True)
            results["training"].append(bench_training(preset, batch, overrides, device, warmup, repeats, peak))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "loader" in parts:
            print("data loader", flush=True)
            results["loader"] = bench_loader("cpu-small", 4 if quick else 32, device, warmup, repeats, work, quick)
        if "predict" in parts:
            print("vgpred predict start-up", flush=True)
            results["predict"] = bench_predict(work, repeats, quick)
    if "memory" in parts and not quick:
        print("peak memory", flush=True)
        results["memory"] = bench_memory("paper", [8, 64])
    if "profile" in parts:
        preset, batch, overrides = presets[0]
        results["profile"] = {"preset": preset, "batch": batch, **profile_step(preset, overrides, batch, device)}
    write_report(results, out)
    print((out / "speed.md").read_text())
    return results


if __name__ == "__main__":
    main()

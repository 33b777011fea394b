"""``vgpred evaluate``: the image-to-video benchmark with its baselines, in one run."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vgpred.cli.options import check_noise_scale
from vgpred.errors import UsageError, VgpredError
from vgpred.limits import MAX_SAMPLES, MAX_VIDEO_FRAMES

CHECKPOINT_HELP = "Model folder (config.json + model.safetensors) or a bundled model's name."
BASELINE_HELP = ("Another model to score in the same run: DIR or NAME=DIR (repeatable), e.g. a deterministic "
                 "L1 regressor (latent_dim 0, reported with K = 1) or an unconditional model (distributional "
                 "metrics only). The copy baseline (copy-first-frame; copy-last-frame with --context above 1) is always "
                 "included.")
PROTOCOL_HELP = ("A named protocol of the literature that fixes --context, --frames, -k, the metrics and the clips "
                 "it accepts: bair-2-28-best100, kth-10-20, kth-10-30-best100, mmnist-10-10 "
                 "(vgpred/evaluation/protocols.py).")


def _model_name(path: str) -> str:
    resolved = Path(path).resolve()
    return resolved.name if Path(path).exists() and resolved.name else str(path)


def parse_models(checkpoint: str, baselines: list[str]) -> dict[str, str]:
    """``--checkpoint`` and ``--baseline [NAME=]DIR`` values -> {name: folder}, names unique."""
    from vgpred.evaluation import COPY_BASELINE

    models: dict[str, str] = {}
    entries = [("--checkpoint", _model_name(checkpoint), checkpoint)]
    for value in baselines:
        name, sep, path = value.partition("=")
        if not sep or Path(value).exists():
            name, path = _model_name(value), value
        elif not name or not path:
            raise UsageError(f"--baseline {value}: expected DIR or NAME=DIR")
        entries.append(("--baseline", name, path))
    for option, name, path in entries:
        if name == COPY_BASELINE:
            raise UsageError(f"{option} {path}: the name {COPY_BASELINE!r} is the built-in baseline's; use NAME=DIR")
        if name in models:
            raise UsageError(f"{option} {path}: a model named {name!r} is already evaluated; give it NAME=DIR")
        models[name] = path
    return models


def _command_line(options: list[tuple[str, object]]) -> str:
    """The command as run, every option spelled out (shell-quoted)."""
    import shlex

    args = ["vgpred", "evaluate"]
    for flag, value in options:
        if value is not None:
            args += [flag, str(value)]
    return shlex.join(args)


def _check_options(k: Optional[int], frames: Optional[int], max_clips: Optional[int], seed: int, batch_size: int,
                   context: Optional[int], protocol: Optional[str]) -> None:
    if k is not None and not 1 <= k <= MAX_SAMPLES:
        raise UsageError(f"-k {k}: must be from 1 to {MAX_SAMPLES}")
    if frames is not None and frames < 2:
        raise UsageError(f"--frames {frames}: must be at least 2 (frame 0 and one predicted frame)")
    if context is not None and not 1 <= context < MAX_VIDEO_FRAMES:
        raise UsageError(f"--context {context}: must be from 1 to {MAX_VIDEO_FRAMES - 1}")
    if context is not None and frames is not None and frames <= context:
        raise UsageError(f"--frames {frames}: must be above --context {context} (at least one predicted frame)")
    if protocol is not None:
        from vgpred.evaluation.protocols import PROTOCOLS

        try:
            PROTOCOLS.get(protocol)
        except VgpredError as err:
            raise UsageError(f"--protocol {protocol}: {err}") from None
    if max_clips is not None and max_clips < 1:
        raise UsageError(f"--max-clips {max_clips}: must be at least 1")
    if seed < 0:
        raise UsageError(f"--seed {seed}: must be 0 or more")
    if batch_size < 1:
        raise UsageError(f"--batch-size {batch_size}: must be at least 1")


def evaluate(
    checkpoint: str = typer.Option(..., "--checkpoint", "-c", help=CHECKPOINT_HELP, show_default=False),
    data: Path = typer.Option(..., "--data", help="Held-out clip cache (made by `vgpred data`).", show_default=False),
    frames: Optional[int] = typer.Option(
        None, "--frames", help="Score frames 0 .. T-1 (default: the models' length); more than a model makes rolls "
                               "it out on its own last frames, to measure how quality decays with length."
    ),
    context: Optional[int] = typer.Option(
        None, "--context", help="Condition on the first C frames of each clip and score the rest per horizon "
                                "(default: the most context frames any model takes, 1 for photo models)."
    ),
    protocol: Optional[str] = typer.Option(None, "--protocol", help=PROTOCOL_HELP),
    k: Optional[int] = typer.Option(
        None, "-k", "--num-samples", help="Sampled futures per clip for best-of-K and mean-of-K. [default: 10]",
        show_default=False),
    json_out: Optional[Path] = typer.Option(
        None, "--json", help="Write the result to OUT.json, with OUT.md and OUT.png beside it."
    ),
    baseline: Optional[list[str]] = typer.Option(None, "--baseline", help=BASELINE_HELP),
    max_clips: Optional[int] = typer.Option(None, "--max-clips", help="Evaluate only the first N clips."),
    seed: int = typer.Option(0, "--seed", help="Noise seed; clip i draws its K futures from (seed, i)."),
    metrics: Optional[str] = typer.Option(
        None, "--metrics",
        help="Comma-separated metric names (default: psnr,ssim,mse,mae,sharpness,lpips,fvd,frechet_projectnet).",
    ),
    i3d: Optional[Path] = typer.Option(
        None, "--i3d", help="Kinetics-400 I3D TorchScript for FVD (default: the torch hub cache)."
    ),
    feature_net: Optional[Path] = typer.Option(
        None, "--feature-net", help="The project's trained feature network (folder) for frechet_projectnet."
    ),
    alexnet: Optional[Path] = typer.Option(
        None, "--alexnet", help="AlexNet ImageNet weights for LPIPS (default: the torch hub cache)."
    ),
    batch_size: int = typer.Option(
        4, "--batch-size", help="Clips per step (each step generates batch-size x K videos)."
    ),
    noise_scale: Optional[float] = typer.Option(
        None, "--noise-scale", help="Standard deviation of the --checkpoint model's noise (default: its own, "
                                    "model.noise_scale in its folder; baselines keep theirs).", show_default=False),
    device: str = typer.Option("auto", "--device", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
) -> None:
    """Benchmark image-to-video prediction: condition on frame 0 (or --context C frames) of held-out clips,
    score each horizon."""
    _check_options(k, frames, max_clips, seed, batch_size, context, protocol)
    check_noise_scale(noise_scale)
    from vgpred.metrics import METRICS

    names = None
    if metrics is not None:
        names = [n.strip() for n in metrics.split(",") if n.strip()]
        unknown = [n for n in names if n not in METRICS]
        if not names or unknown:
            raise UsageError(f"--metrics {metrics}: unknown {', '.join(unknown) or 'empty list'} "
                             f"(known: {', '.join(METRICS.names())})")
    if not data.exists():
        raise UsageError(f"--data {data}: no such folder (give a clip cache made by `vgpred data`)")
    models = parse_models(checkpoint, baseline or [])
    from vgpred.evaluation import evaluate_models, markdown_summary, write_report
    from vgpred.evaluation.report import report_paths

    if json_out is not None:
        report_paths(json_out)  # fail before the run, not after it
    result = evaluate_models(
        models, data, k=k, frames=frames, context=context, protocol=protocol, max_clips=max_clips, seed=seed, metrics=names, batch_size=batch_size,
        device=device, progress=progress, i3d=i3d, feature_net=feature_net, lpips_backbone=alexnet,
        noise_scales=None if noise_scale is None else {next(iter(models)): noise_scale},
        command=_command_line([
            ("--checkpoint", checkpoint), ("--data", data), ("--protocol", protocol), ("--context", context),
            ("--frames", frames), ("-k", k), ("--json", json_out),
            *(("--baseline", b) for b in baseline or []), ("--max-clips", max_clips), ("--seed", seed),
            ("--metrics", metrics), ("--i3d", i3d), ("--feature-net", feature_net), ("--alexnet", alexnet),
            ("--batch-size", batch_size), ("--noise-scale", noise_scale), ("--device", device),
        ]),
    )
    typer.echo(markdown_summary(result), nl=False)
    if json_out is not None:
        for path in write_report(result, json_out):
            typer.echo(f"wrote {path}", err=True)

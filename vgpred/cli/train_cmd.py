"""``vgpred train``."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

MODES = ("unconditional", "label", "image")


def train(
    overrides: Optional[List[str]] = typer.Argument(
        None, help="Config overrides as key=value (e.g. width=0.5 train.batch_size=16 loss=l1).", show_default=False
    ),
    mode: Optional[str] = typer.Option(None, "--mode", "-m", help="unconditional | label | image (default: the config's, image)."),
    data: Optional[Path] = typer.Option(
        None, "--data", "-d", help="A clip cache from `vgpred data ...`, or a raw video folder (prepared first into DATA.cache)."
    ),
    config: Optional[str] = typer.Option(None, "--config", help="YAML preset: a path or a bundled name (paper, cpu-small, tiny)."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder that receives the numbered run folder."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Total generator steps (same as train.steps=N)."),
    resume: Optional[Path] = typer.Option(
        None, "--resume", help="Continue a run folder from its latest checkpoint (refused while another process "
        "trains it, and for a run without a checkpoint unless --restart is given)."),
    restart: bool = typer.Option(
        False, "--restart", help="With --resume, for a run without any checkpoint (stopped before its first was "
        "written): begin it again from step 0 with its config.yaml, deleting its metrics.jsonl, samples/, export/ "
        "and loss.png (config.yaml, run.json and log.txt keep their history). Refused for a run with a checkpoint."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N or mps (same as train.device=...)."),
    init_from: Optional[str] = typer.Option(
        None, "--init-from", metavar="MODEL",
        help="Fine-tune: start the generator from a model folder or bundled model (e.g. scenes-64); its network "
        "settings become the defaults, the discriminator starts fresh (same as train.init_from=MODEL).",
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Train a VideoGAN on a clip cache; the run folder ends with export/ for `vgpred predict`.

    Config precedence: defaults < --config YAML < key=value overrides (and --mode,
    --steps, --device); with --init-from, the initial model's network settings come
    before the YAML. Every value's range, the memory the network needs and the data
    are checked before the run folder is made; a new run that fails before its first
    checkpoint, metrics row or sample is removed again, so it takes no run number. One
    process trains a run at a time (a second --resume is refused; RUN/.lock names the
    process that holds it). Label mode needs a label on every clip (classes are the
    source folder's sub-folders): a cache with unlabelled clips, from videos at the top
    level of the source folder, is refused rather than trained on in part.
    Multi-process: torchrun --nproc_per_node K -m vgpred train ...
    """
    from vgpred.config import build_config, preset_path
    from vgpred.errors import UsageError, VgpredError

    extra = list(overrides or [])
    if mode is not None:
        if mode not in MODES:
            raise UsageError(f"--mode {mode}: must be one of {', '.join(MODES)}")
        extra.append(f"model.mode={mode}")
    if steps is not None:
        if steps < 1:
            raise UsageError(f"--steps {steps}: must be at least 1")
        extra.append(f"train.steps={steps}")
    if device is not None:
        extra.append(f"train.device={device}")
    if init_from is not None:
        if resume is not None:
            raise UsageError("--init-from: not allowed with --resume (the run's checkpoint holds its weights)")
        extra.append(f"train.init_from={init_from}")
    if restart and resume is None:
        raise UsageError("--restart: only with --resume RUN (a new run starts from step 0 anyway)")
    if resume is not None:
        from vgpred.train.rundir import RunDir

        run = RunDir.resume(resume)
        if config is not None:
            raise UsageError("--config: not allowed with --resume (the run folder's config.yaml is used)")
        cfg = build_config(run.path / "config.yaml", extra)
        _check_resumed_network(resume, build_config(run.path / "config.yaml").model, cfg.model)
        data = data or (Path(RunDir.data_path(run.path)) if RunDir.data_path(run.path) else None)
    else:
        preset = preset_path(config) if config else None
        cfg = build_config(preset, extra)
        if cfg.train.init_from:  # the initial model's network is the default; the YAML and overrides still win
            from vgpred.modelfile import read_model_config, resolve_model_dir

            initial, _ = read_model_config(resolve_model_dir(cfg.train.init_from))
            cfg = build_config(preset, extra, model=initial)
    if data is None:
        raise UsageError("--data: required (a clip cache or a folder of videos)")
    if not data.exists():
        raise VgpredError(f"{data}: no such file or folder")

    from vgpred.models.videogan import check_model_config

    _check_memory(cfg, check_model_config_for_training(cfg, check_model_config))
    data = _ensure_cache(data, cfg, show_progress=not no_progress)
    _check_data(data, cfg)
    from vgpred.train.loop import train as run_training

    path = run_training(cfg, data, out=out, resume=resume, progress=not no_progress, restart=restart)
    typer.echo(str(path))


def _check_resumed_network(run: Path, saved, wanted) -> None:
    """A resumed run keeps its network: refuse (one line, before anything is written) a setting its
    checkpoint's weights would not fit."""
    from vgpred.errors import UsageError
    from vgpred.modelfile import RESUME_FREE, architecture_differences

    changed = architecture_differences(saved, wanted, free=RESUME_FREE, holder="the run")
    if changed:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise UsageError(f"--resume {run}: {changed[0]}{more}; a run keeps its network: start a new run "
                         f"(--init-from {run}/export begins from its generator)")


def check_model_config_for_training(cfg, check):
    """Label counts are filled in from the data, so only check sizes and widths here; returns the
    model config checked (with at least 2 classes standing in for the data's)."""
    from dataclasses import replace

    model = replace(cfg.model, num_classes=max(cfg.model.num_classes, 2), class_names=[])
    check(model)
    return model


def _memory_of(device) -> int | None:
    """Bytes of memory ``device`` has: a GPU's own, else the machine's (or its cgroup's limit, if lower);
    None where the platform does not say."""
    import os

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def _check_memory(cfg, model) -> None:
    """Refuse, with the estimate, a network and batch whose training cannot fit in the device's memory.

    The estimate is a lower bound (weights, gradients, Adam and EMA copies, one feature map
    per layer), so whatever it refuses would fail anyway, only later and after allocating.
    """
    from vgpred.data.disk import human
    from vgpred.device import resolve_device
    from vgpred.errors import UsageError
    from vgpred.models.videogan import training_memory
    from vgpred.train.losses import OBJECTIVES

    device = resolve_device(cfg.train.device)
    per_element = 4 if cfg.train.precision == "fp32" else 2
    params, weights, activations = training_memory(
        model, cfg.train.batch_size, OBJECTIVES.get(cfg.loss.loss).uses_discriminator, per_element)
    available = _memory_of(device)
    if available is None or weights + activations <= available:
        return
    lower = "model.width" if weights > available else "train.batch_size or model.width"
    raise UsageError(
        f"model.width={cfg.model.width:g} with train.batch_size={cfg.train.batch_size}: training needs at least "
        f"{human(weights + activations)} ({params / 1e6:,.1f} M parameters take {human(weights)} with gradients, Adam "
        f"and EMA copies; activations {human(activations)}), more than the {human(available)} of memory of "
        f"{device.type}; lower {lower}")


def _check_data(data: Path, cfg) -> None:
    """Fail before a run folder is made when the cache is damaged (checked when opened), cannot fill one
    batch on every process, or lacks the labels label mode needs."""
    import os

    from vgpred.data import open_dataset
    from vgpred.errors import VgpredError

    dataset = open_dataset(data)
    clips = len(dataset)
    processes = max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))
    needed = cfg.train.batch_size * processes
    if clips == 0:
        raise VgpredError(f"{data}: the dataset holds no usable clips")
    if clips < needed:
        raise VgpredError(
            f"{data}: {clips} clips, fewer than one batch (train.batch_size={cfg.train.batch_size} x {processes} "
            f"process{'es' if processes > 1 else ''}); add clips or lower train.batch_size"
        )
    if cfg.model.mode == "label":
        _check_labels(data, dataset)


def _check_labels(data: Path, dataset) -> None:
    """Label mode trains on labelled clips only: every clip needs a label, and there must be two classes."""
    from vgpred.errors import VgpredError

    classes = len(dataset.class_names)
    if classes < 2:
        found = f"one class ({dataset.class_names[0]!r})" if classes else "no classes"
        raise VgpredError(f"{data}: label mode needs clips of at least 2 classes (class sub-folders of the "
                          f"source folder); this cache has {found}")
    if dataset.unlabelled:
        raise VgpredError(
            f"{data}: label mode needs a label on every clip, but {dataset.unlabelled} of {len(dataset)} clips have "
            f"none (videos at the top level of the source folder, beside its class sub-folders); move them into "
            f"a class sub-folder and prepare the cache again, or train another mode")


def _ensure_cache(data: Path, cfg, show_progress: bool) -> Path:
    """A raw folder of videos is prepared once into ``<data>.cache`` at the model's size."""
    from vgpred.data import is_cache

    if is_cache(data):  # a cache trains without PyAV or kornia being imported
        return data
    from vgpred.data import prepare

    cache = data.with_name(data.name + f".cache-{cfg.model.resolution}x{cfg.model.frames}")
    summary = prepare(data, cache, size=cfg.model.resolution, frames=cfg.model.frames, progress=show_progress)
    typer.echo(f"vgpred: prepared {cache} ({summary.clips_written} clips)", err=True)
    return cache

"""The training loop: one D step then one G step per batch, as in the paper.

Read top to bottom: set-up (device, precision, data, networks, optimizers, EMA),
resume, fixed sample inputs, the loop, and the end (checkpoint, export, plot).
Everything a run writes lives in its numbered run folder:

    runs/00003-image-mfmnist/
        config.yaml        the resolved configuration (reusable with --config)
        metrics.jsonl      one row per log interval: losses, D outputs, samples/s, ...
        samples/           step-0000500.mp4 + .png at fixed seeds and conditioning frames
        checkpoints/       step-0000500/ (tensors.safetensors + meta.json), newest K kept
        export/            the inference model folder that `vgpred predict` loads
        loss.png           loss curves, drawn at the end
        .lock              held by the process training the run (its PID and host inside)
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

import torch

from vgpred.config import Config, ModelConfig
from vgpred.device import describe_device, resolve_device
from vgpred.errors import VgpredError
from vgpred.models.layout import make_layout
from vgpred.models.videogan import VideoGenerator, build_discriminator, count_parameters
from vgpred.train import checkpoint as ckpt
from vgpred.train import rng
from vgpred.train.distributed import Distributed
from vgpred.train.ema import EMA, recalibrate_batchnorm
from vgpred.train.latent import PosteriorEncoder, check_latent_terms, uses_posterior
from vgpred.train.losses import OBJECTIVES
from vgpred.train.precision import (align_optimizer_state, autocast, configure_backends,
                                    fused_optimizer, grad_scaler, maybe_compile, resolve_precision,
                                    to_channels_last, use_channels_last)
from vgpred.train.rundir import RunDir
from vgpred.train.step import GanStep


class NonFiniteLoss(VgpredError):
    pass


BN_SEED = 4321  # the clips and noise that re-estimate the EMA generator's BatchNorm statistics


def _standing_inputs(dataset, model: VideoGenerator, cfg: Config, device: torch.device):
    """Forward inputs ``(z, label, image)`` from a fixed, seeded set of training clips.

    Reads the dataset directly (not the training loader) with its own generator, so
    the data order and the global RNG of training are untouched.
    """
    gen = torch.Generator().manual_seed(BN_SEED)
    n = min(cfg.train.bn_recalibrate, len(dataset))
    order = torch.randperm(len(dataset), generator=gen)[:n].tolist()
    for start in range(0, n, cfg.train.batch_size):
        part = order[start:start + cfg.train.batch_size]
        items = [dataset[i] for i in part] if model.needs_image or model.needs_label else []
        z = torch.randn(len(part), cfg.model.latent_dim, generator=gen).to(device)
        label = torch.tensor([it[1] for it in items], device=device) if model.needs_label else None
        image = torch.stack([model.context_from(it[0][None])[0] for it in items]).to(device) if model.needs_image else None
        yield z, label, image


class _StopRequest:
    """SIGINT (Ctrl-C) and SIGTERM (``timeout``, schedulers) during the loop stop the run with a checkpoint, exit 0.

    In one process the first signal is only noted, and the loop stops before its next
    step: never in the middle of receiving a batch from the loader workers, whose
    hand-over would break and print a traceback. A second signal stops at once. With
    several processes every signal stops at once (each rank reaching its own step
    boundary could leave the others waiting in a collective). Signals that arrive while
    the interrupt checkpoint is written are ignored.
    """

    def __init__(self, graceful: bool) -> None:
        self.graceful, self.requested, self.saving, self._previous = graceful, False, False, {}

    def _handler(self, signum, frame) -> None:
        if self.saving:
            return
        if self.requested or not self.graceful:
            raise KeyboardInterrupt
        self.requested = True
        print("vgpred: stopping after this step with a checkpoint (a second Ctrl-C stops at once)", file=sys.stderr,
              flush=True)

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def _make_batches(dataset, cfg: Config, dist: Distributed, epoch: int, batch: int):
    """The loader (deterministic, resumable at ``(epoch, batch)``) and an endless batch stream."""
    from vgpred.data import ClipAugment, make_loader

    augment = None
    if cfg.train.flip or cfg.train.crop < 1:
        augment = ClipAugment(crop_scale=(cfg.train.crop, 1.0), flip_p=0.5 if cfg.train.flip else 0.0)
    loader = make_loader(dataset, cfg.train.batch_size, shuffle=True, seed=cfg.train.seed, rank=dist.rank,
                         world_size=dist.world_size, num_workers=cfg.train.num_workers, drop_last=True, augment=augment)
    loader.load_state_dict({"epoch": epoch, "batch": batch})

    def stream():
        while True:
            yield from loader

    return loader, stream()


def lr_g_at(cfg: Config, step: int) -> float:
    """The generator's learning rate for the step after ``step`` steps: 0 while ``optim.freeze_g_steps`` holds it."""
    return 0.0 if step < cfg.optim.freeze_g_steps else cfg.optim.lr_g


def initial_generator(source: str, wanted: ModelConfig) -> tuple[VideoGenerator, Path]:
    """The generator of the model folder (or bundled model) ``source``, checked against ``wanted``, and its folder.

    Fine-tuning keeps the network: every setting that shapes the generator must match
    (:data:`vgpred.modelfile.FINE_TUNE_FREE` lists the ones that may change).
    """
    from vgpred.modelfile import architecture_differences, load_model, resolve_model_dir

    folder = resolve_model_dir(source)
    model = load_model(folder)
    differences = architecture_differences(model.cfg, wanted)
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        raise VgpredError(f"train.init_from={source}: {differences[0]}{more}; "
                          "fine-tuning keeps the initial model's network, so drop the setting or start from scratch")
    return model, folder


def train(cfg: Config, data: str | Path, out: str | Path = "runs", resume: str | Path | None = None,
          progress: bool = True, restart: bool = False) -> Path:
    """Train ``cfg`` on the clip cache ``data``; returns the run folder.

    ``resume`` continues a run folder from its newest checkpoint; with ``restart`` a run that
    has none begins again from step 0. The main process holds the run's lock throughout (see
    :mod:`vgpred.train.rundir`); a run folder this call made is removed again when training
    fails before it holds a checkpoint, a metrics row or a sample.
    """
    with contextlib.ExitStack() as guard:  # the run's lock, and the removal of a new folder that failed at once
        return _train(cfg, data, out, resume, progress, restart, guard)


def _train(cfg: Config, data: str | Path, out: str | Path, resume: str | Path | None, progress: bool, restart: bool,
           guard: contextlib.ExitStack) -> Path:
    from vgpred.data import open_dataset

    dist = Distributed.from_env(cfg.train.device)
    device = dist.device if dist.enabled else resolve_device(cfg.train.device)
    precision = resolve_precision(cfg.train.precision, device)
    objective = OBJECTIVES.get(cfg.loss.loss)
    if cfg.optim.freeze_g_steps < 0:
        raise VgpredError(f"optim.freeze_g_steps={cfg.optim.freeze_g_steps}: must be >= 0")
    check_latent_terms(cfg, objective.uses_discriminator)
    dataset = open_dataset(data, channels=cfg.model.channels)
    if len(dataset) == 0:
        raise VgpredError(f"{data}: the dataset holds no usable clips")
    if (dataset.frames, dataset.size) != (cfg.model.frames, cfg.model.resolution):
        raise VgpredError(
            f"{data}: clips are {dataset.size}x{dataset.size}x{dataset.frames} but the model is "
            f"{cfg.model.resolution}x{cfg.model.resolution}x{cfg.model.frames}; prepare the data with "
            f"--size {cfg.model.resolution} --frames {cfg.model.frames} or set model.resolution/model.frames"
        )
    if cfg.model.mode == "label":
        if not dataset.class_names:
            raise VgpredError(f"{data}: label mode needs labelled clips (class sub-folders or label columns)")
        cfg.model.num_classes, cfg.model.class_names = len(dataset.class_names), list(dataset.class_names)
    if not objective.uses_noise and cfg.model.mode == "image":
        cfg.model.latent_dim = 0  # the regression baseline is deterministic
    run = guard.enter_context(RunDir.resume(resume, enabled=dist.is_main)) if resume else None  # locked
    if run is not None:
        run.check_start(restart)
    initial, initial_folder = None, None  # fine-tuning: the generator to start from (a resumed run's checkpoint wins)
    if cfg.train.init_from and not (run is not None and ckpt.list_checkpoints(run.checkpoints)):
        initial, initial_folder = initial_generator(cfg.train.init_from, cfg.model)
    if run is None:
        run = guard.enter_context(RunDir.create(out, cfg, Path(data), enabled=dist.is_main))

    rng.seed_everything(cfg.train.seed + dist.rank)
    gen_model = VideoGenerator(cfg.model).to(device)
    if initial is not None:
        gen_model.load_state_dict(initial.state_dict())
        del initial  # the run's generator holds the weights now; no second copy for the whole run
        run.log_event(f"generator initialised from {initial_folder} (fine-tuning; the discriminator starts fresh)")
    disc = build_discriminator(cfg.model).to(device) if objective.uses_discriminator else None
    posterior = PosteriorEncoder(cfg.model, make_layout(cfg.model)).to(device) if uses_posterior(cfg) else None
    configure_backends(device)
    if use_channels_last(device):  # before EMA and optimizers, so their copies share the layout
        for module in (gen_model, disc, posterior):
            if module is not None:
                to_channels_last(module)
    ema = EMA(gen_model, cfg.train.ema_decay, cfg.train.ema_warmup) if cfg.train.ema_decay > 0 else None
    betas = (cfg.optim.beta1, cfg.optim.beta2)
    fused = fused_optimizer(device)
    g_params = [*gen_model.parameters(), *(posterior.parameters() if posterior is not None else ())]
    optimizers = {"g": torch.optim.Adam(g_params, lr=lr_g_at(cfg, 0), betas=betas, fused=fused)}
    if disc is not None:
        optimizers["d"] = torch.optim.Adam(disc.parameters(), lr=cfg.optim.lr_d, betas=betas, fused=fused)
    modules = {"generator": gen_model, **({"discriminator": disc} if disc else {}), **({"ema": ema.shadow} if ema else {}),
               **({"posterior": posterior} if posterior is not None else {})}
    noise_gen = rng.noise_generator(cfg.train.seed, dist.rank)

    step, epoch, batch_index, scaler_state = 0, 0, 0, None
    trained_before = 0.0  # seconds the run trained in earlier processes (from its checkpoint), for the export's info
    latest = ckpt.list_checkpoints(run.checkpoints)
    if resume and latest:
        tensors, meta = ckpt.load_checkpoint(latest[-1])
        if any(k.startswith("posterior/") for k in tensors) != (posterior is not None):
            held = "holds" if posterior is None else "holds no"
            raise VgpredError(f"--resume {run.path}: loss.kl={cfg.loss.kl}, but the run's checkpoint {held} a posterior "
                              "encoder (loss.kl > 0 trains one); a run keeps it: resume with the run's loss.kl")
        rng_entries = ckpt.restore(tensors, meta, modules, optimizers, source=latest[-1])
        # One data position serves every rank: each reads its own part of an epoch in as many batches.
        step, epoch, batch_index = meta["step"], meta["epoch"], meta["batch"]
        rng.restore(rng_entries, dist.rank, noise_gen, cfg.train.seed, step)
        scaler_state = meta.get("scaler")
        seconds = meta.get("train_seconds")
        trained_before = float(seconds) if isinstance(seconds, (int, float)) and 0 <= seconds < 1e9 else 0.0
        run.log_event(f"resumed from {latest[-1].name}")
        dropped = run.drop_metrics_after(step)
        if dropped:
            run.log_event(f"{dropped} metrics rows after step {step} removed (those steps are trained again)")
        fresh = rng.ranks_without_noise(rng_entries, dist.world_size)
        if fresh:
            run.log_event(f"the checkpoint holds no noise state of rank(s) {', '.join(map(str, fresh))} (written by fewer "
                          "processes, or on an interrupt); they go on with fresh noise streams")
        for opt in optimizers.values():
            align_optimizer_state(opt)  # saved state is contiguous; parameters may be channels-last
        # The checkpoint's optimizer state carries the learning rate it was saved with; the
        # configuration wins, so `--resume RUN optim.lr_g=...` changes it (and the logged rate is the one used).
        for name, lr in (("g", lr_g_at(cfg, step)), ("d", cfg.optim.lr_d)):
            groups = optimizers[name].param_groups if name in optimizers else []
            if any(group["lr"] != lr for group in groups):
                run.log_event(f"optim.lr_{name}: {groups[0]['lr']:g} -> {lr:g} (this segment's configuration)")
                for group in groups:
                    group["lr"] = lr
    if restart:
        run.clear_for_restart()
    if resume and dist.is_main:  # after the checkpoint loaded: a setting it refuses never reaches config.yaml
        changes = run.record_config(cfg)
        if changes:
            run.log_event("config.yaml updated for the resumed steps: " + ", ".join(changes))
    g_train = maybe_compile(dist.wrap(gen_model), cfg.train.compile)
    d_train = maybe_compile(dist.wrap(disc), cfg.train.compile) if disc is not None else None
    d_critic = maybe_compile(disc, cfg.train.compile) if disc is not None else None
    scaler = grad_scaler(precision, device)
    if resume and latest and scaler_state:
        scaler.load_state_dict(scaler_state)
    posterior_train = maybe_compile(dist.wrap(posterior), cfg.train.compile) if posterior is not None else None
    gan_step = GanStep(cfg, gen_model, g_train, disc, d_train, d_critic, optimizers, scaler, objective, precision,
                       device, noise_gen, memory_channels_last=use_channels_last(device), posterior=posterior_train)
    run.log_event(
        f"mode={cfg.model.mode} loss={cfg.loss.loss} device={device} precision={precision} world={dist.world_size} "
        f"G={count_parameters(gen_model)/1e6:.2f}M D={count_parameters(disc)/1e6 if disc else 0:.2f}M clips={len(dataset)}"
    )

    run.add_segment(describe_device(device))
    fixed = run.fixed_inputs(dataset, gen_model, cfg)

    def save_checkpoint(every_rank: bool = True) -> Path | None:
        """Rank 0 writes the checkpoint. With ``every_rank`` all ranks call this at the same step and
        their RNG states are gathered into it; otherwise it holds rank 0's alone."""
        own = rng.states(noise_gen)
        per_rank = dist.gather(own) if every_rank else [own]
        if not dist.is_main:
            return None
        meta = {**loader.state_dict(), "world_size": dist.world_size,
                "scaler": scaler.state_dict(), "train_seconds": round(trained_before + time.perf_counter() - started, 1)}
        return ckpt.save_checkpoint(run.checkpoints, step, modules, optimizers, rng.checkpoint_entries(per_rank), meta,
                                    cfg.train.keep_checkpoints)

    def standing() -> torch.nn.Module:
        """The model that samples and export use: the EMA generator with re-estimated BatchNorm statistics."""
        if ema is None:
            return gen_model
        if dist.is_main and cfg.train.bn_recalibrate > 0:
            recalibrate_batchnorm(ema.shadow, _standing_inputs(dataset, gen_model, cfg, device),
                                  autocast(precision, device))
        return ema.shadow

    loader, data_iter = _make_batches(dataset, cfg, dist, epoch, batch_index)
    bar = run.progress(cfg.train.steps, step, enabled=progress and dist.is_main)
    sums: dict[str, torch.Tensor] = {}
    count, window_work = 0, 0.0
    started = time.perf_counter()
    stop = _StopRequest(graceful=dist.world_size == 1)
    stop.install()
    try:
        while step < cfg.train.steps:
            if stop.requested:
                raise KeyboardInterrupt
            t0 = time.perf_counter()
            clips, labels = next(data_iter)
            if step == cfg.optim.freeze_g_steps > 0:  # the generator's updates start with this step
                for group in optimizers["g"].param_groups:
                    group["lr"] = cfg.optim.lr_g
                run.log_event(f"step {step}: the generator's learning rate {cfg.optim.lr_g:g} starts "
                              f"(optim.freeze_g_steps)")
            stats = gan_step(clips, labels)
            step += 1
            if ema is not None:
                ema.update(gen_model, step)

            for k, v in stats.items():
                sums[k] = sums.get(k, 0) + v.float()
            count += 1
            if device.type == "cpu" or step % cfg.train.log_every == 0:
                total = sum(v for k, v in stats.items() if k.startswith("loss"))
                if not torch.isfinite(total):
                    good = ckpt.list_checkpoints(run.checkpoints)
                    where = f"last good checkpoint: {good[-1]}" if good else "no checkpoint was written yet"
                    raise NonFiniteLoss(f"step {step}: loss is not finite (NaN or inf); training stopped; {where}")
            log_now = step % cfg.train.log_every == 0 or step == cfg.train.steps
            row = {k: (v / count).item() for k, v in sums.items()} if log_now else {}  # waits for the device
            window_work += time.perf_counter() - t0  # data + step, not sample/checkpoint writing
            if log_now:
                global_batch = cfg.train.batch_size * dist.world_size
                row.update(step=step, batch_size=global_batch, lr_g=lr_g_at(cfg, step - 1), lr_d=cfg.optim.lr_d,
                           samples_per_s=global_batch * count / max(window_work, 1e-9),
                           seconds=time.perf_counter() - started, epoch=loader.state_dict()["epoch"])
                run.log_metrics(row)
                bar.set_postfix_str(" ".join(f"{k}={row[k]:.3g}" for k in ("loss_d", "loss_g", "samples_per_s") if k in row))
                sums, count, window_work = {}, 0, 0.0
            bar.update(1)
            if cfg.train.sample_every and step % cfg.train.sample_every == 0 and step < cfg.train.steps:
                run.write_samples(standing(), fixed, step)
            if cfg.train.checkpoint_every and step % cfg.train.checkpoint_every == 0 and step < cfg.train.steps:
                save_checkpoint()
    except KeyboardInterrupt:
        stop.saving = True  # more signals wait until the interrupt checkpoint is written
        bar.close()
        try:
            # Other ranks may have stopped anywhere, even inside a collective: no gather with them.
            path = save_checkpoint(every_rank=not dist.enabled)
        finally:
            stop.restore()
        run.log_event(f"interrupted at step {step}; checkpoint {path}; continue with --resume {run.path}")
        dist.close()
        return run.path
    stop.restore()
    bar.close()
    save_checkpoint()
    export = standing()
    run.write_samples(export, fixed, step)
    # seconds: every process of the run laid end to end (a resumed run adds its checkpoint's count)
    info = {"steps": step, "data": str(data), "loss": cfg.loss.loss,
            "seconds": round(trained_before + time.perf_counter() - started, 1)}
    if cfg.train.init_from:
        info["init_from"] = cfg.train.init_from
    run.export(export, info=info)
    run.plot_losses()
    dist.close()
    return run.path

"""The image-to-video benchmark: condition on frame 0 (or the first c frames) of held-out clips, predict the rest.

:func:`evaluate_models` scores every model on the same clips in one pass over the
data (the clips are streamed in batches, never all held in memory), together with
the copy-first-frame baseline. Image models draw K futures per clip from a
``torch.Generator`` seeded from ``(seed, clip index)``, so the numbers do not depend
on the batch size; models without noise (``latent_dim = 0``) and the copy baseline
are run once (K = 1). Unconditional and label models do not start from the clip's
frame 0, so they are compared through distributional metrics only. Statistics
(``sharpness``) describe each video against its input frame and are reported for every
model and for the real clips themselves, the reference a model is read against.

With ``context = c`` the clips' frames 0 .. c-1 are given and horizons c .. T-1 are scored;
a model that conditions on k < c frames gets the last k of them. ``frames`` longer than a
model makes rolls it out (:func:`vgpred.models.rollout.rollout`), so the decay with length is
measured. A named ``protocol`` (:mod:`vgpred.evaluation.protocols`) fixes c, T, K and the
metrics and checks the data against its own.

The conventions are stated in :data:`CONVENTIONS` and copied into every result.
"""
from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from vgpred import __version__
from vgpred.device import resolve_device
from vgpred.errors import VgpredError
from vgpred.evaluation.features import DistributionalMetric, load_distributional
from vgpred.limits import MAX_SAMPLES, MAX_VIDEO_FRAMES
from vgpred.metrics import METRICS, MetricUnavailable
from vgpred.metrics.frechet import FeatureStats
from vgpred.metrics.stochastic import best_of_k, mean_of_k
from vgpred.predictor import VideoPredictor

COPY_BASELINE = "copy-first-frame"  # the copy baseline's name with one context frame
COPY_LAST = "copy-last-frame"  # ... and with several: it repeats the last context frame
DEFAULT_K = 10
DEFAULT_METRICS = ("psnr", "ssim", "mse", "mae", "sharpness", "lpips", "fvd", "frechet_projectnet")

CONVENTIONS = {
    "pixels": "videos in [-1, 1]; pixel metrics, motion, diversity and sharpness map them to [0, 1]",
    "horizon": "horizon t is frame index t of the clip, t = c .. T-1, predicted from the c context frames "
               "0 .. c-1 (c = settings.context, 1 by default: frame 0); frame c-1 is the model's "
               "reconstruction of its last input frame (the frame itself for the motion foreground and for "
               "models with several context frames) and is reported apart as frame0 (mean over the K samples)",
    "context": "a model that conditions on k frames gets the last k of the c context frames (k <= c); "
               "the copy baseline repeats frame c-1",
    "rollout": "frames past a model's length come from rolling it out: its last k frames become the next "
               "context and each further pass adds only new frames (vgpred.models.rollout)",
    "best_of_k": "per video, the sample whose per-frame score averaged over horizons 1 .. T-1 is "
                 "best is chosen and all its frames are reported (vgpred.metrics.stochastic.best_of_k, "
                 "per_frame=False); then averaged over videos. Its average over horizons is never below "
                 "mean-of-K; at a single horizon it can be",
    "mean_of_k": "per-frame scores averaged over the K samples, then over videos",
    "average": "the mean of the per-horizon values (each horizon weighs the same)",
    "cap": "per-frame values are clamped at the metric's cap before any selection or mean "
           "(PSNR: identical frames give +inf dB and count as 100 dB)",
    "deterministic": "models without noise (latent_dim 0) and the copy-first-frame baseline "
                     "are run once: K = 1 and best-of-K = mean-of-K",
    "noise": "the K noise vectors of clip i come from a torch.Generator seeded from (seed, i), "
             "so results do not depend on the batch size",
    "motion": "mean absolute difference between the first and the last frame of each video "
              "(frames 0 and T-1), averaged over samples and videos; the data row is the real clips",
    "real clips": "the data row: motion and statistics (sharpness) of the evaluated clips themselves, "
                  "frame t against the clip's frame 0",
    "diversity": "mean over the pairs of the K futures of one clip of their mean absolute "
                 "difference over frames 1 .. T-1, averaged over clips; 0 for deterministic models",
    "distributional": "real set: frames 0 .. T-1 of each evaluated clip; generated set: one video "
                      "per clip (the first of the K samples; unconditional and label models: one "
                      "sample, label models given the clip's label)",
}


def clip_generator(seed: int, index: int) -> torch.Generator:
    """The CPU generator that draws the noise of clip ``index`` for ``seed``."""
    state = np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def _check_int(value: int | None, name: str, low: int, high: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise VgpredError(f"{name}={value!r}: must be an integer {bound}")


@dataclass
class _Model:
    """One model under evaluation and its running sums (float64, CPU)."""

    name: str
    source: str
    predictor: VideoPredictor | None  # None: the copy-first-frame baseline
    k: int
    per_frame: bool
    sums: dict[str, Tensor] = field(default_factory=dict)
    clips: int = 0
    fake_stats: dict[str, FeatureStats] = field(default_factory=dict)

    def add(self, key: str, values: Tensor) -> None:
        """Add per-video values ``(B, ...)`` to the sum kept under ``key``."""
        total = values.detach().double().sum(dim=0).cpu()
        self.sums[key] = self.sums[key] + total if key in self.sums else total

    def mean(self, key: str) -> Tensor:
        return self.sums[key] / max(self.clips, 1)

    def describe(self) -> dict[str, Any]:
        if self.predictor is None:
            return {"source": self.source, "mode": "baseline", "latent_dim": 0}
        cfg = self.predictor.cfg
        return {"source": self.source, "mode": cfg.mode, "latent_dim": cfg.latent_dim, "noise_scale": cfg.noise_scale,
                "resolution": cfg.resolution, "frames": cfg.frames, "channels": cfg.channels}


def _load_models(
    models: Mapping[str, str | os.PathLike | VideoPredictor], k: int, device: torch.device, context: int | None,
    noise_scales: Mapping[str, float] | None = None,
) -> tuple[list[_Model], int]:
    """The models (the copy baseline first) and c, the context frames given (checked against each model)."""
    for reserved in (COPY_BASELINE, COPY_LAST):
        if reserved in models:
            raise VgpredError(f"model name {reserved!r} is reserved for the built-in baseline; choose another")
    loaded = [_Model(COPY_BASELINE, "built-in: every frame is the input frame 0", None, 1, True)]
    for name, model in models.items():
        if isinstance(model, VideoPredictor):
            predictor, source = model, "VideoPredictor object"
        else:
            predictor, source = VideoPredictor.from_pretrained(model, device=str(device)), str(model)
        if noise_scales and name in noise_scales:
            predictor.noise_scale = noise_scales[name]
        deterministic = predictor.model.needs_image and predictor.cfg.latent_dim == 0
        per_frame = predictor.model.needs_image
        loaded.append(_Model(name, source, predictor, 1 if deterministic or not per_frame else k, per_frame))
    needs = {m.source: m.predictor.cfg.context_frames for m in loaded[1:] if m.per_frame}
    c = max([1, *needs.values()]) if context is None else context
    for source, frames in needs.items():
        if frames > c:
            raise VgpredError(f"{source}: conditions on {frames} context frames; --context {c} gives fewer "
                              f"(pass --context {frames} or more)")
    if c > 1:
        loaded[0].name, loaded[0].source = COPY_LAST, f"built-in: every predicted frame is the last context frame {c - 1}"
    return loaded, c


def _open_data(data: Any, channels: int | None):
    """A clip data set: a cache path (opened converting to ``channels``) or a Dataset object."""
    if not isinstance(data, (str, os.PathLike)):
        return data, getattr(data, "path", type(data).__name__)
    from vgpred.data import open_dataset

    path = Path(data)
    if not path.exists():
        raise VgpredError(f"{path}: no such data folder (give a clip cache made by `vgpred data`)")
    return open_dataset(path, channels=channels), str(path)


def _horizon(models: list[_Model], dataset, data_name: str, frames: int | None, context: int) -> int:
    """Check sizes against the data and return T, the frames scored per clip (image models roll out
    past their length; the others cannot)."""
    size, data_frames = int(dataset.size), int(dataset.frames)
    if context >= data_frames:
        raise VgpredError(f"--context {context}: the clips of {data_name} have {data_frames} frames; the context "
                          "must leave at least one to predict")
    made = {}
    for m in models[1:]:
        cfg = m.predictor.cfg
        if cfg.resolution != size:
            raise VgpredError(
                f"{m.source}: makes {cfg.resolution}x{cfg.resolution} videos but the clips of "
                f"{data_name} are {size}x{size}; evaluate on data prepared at --size {cfg.resolution}"
            )
        made[m.name] = cfg.frames
    if frames is None:
        if len(set(made.values())) > 1:
            listed = ", ".join(f"{n}: {t}" for n, t in made.items())
            raise VgpredError(f"--frames: the models make different numbers of frames ({listed}); "
                              f"pass --frames {min(made.values())} to compare them")
        frames = min([*made.values(), data_frames])
        if made and frames < min(made.values()):
            raise VgpredError(
                f"{data_name}: clips have {data_frames} frames but the models make {min(made.values())}; "
                f"pass --frames {data_frames} or use longer clips"
            )
        if frames <= context:
            raise VgpredError(f"--context {context}: the models make {frames} frames, no more than the context; "
                              f"pass --frames N (up to {data_frames}, the clips' length) to roll them out")
    fixed = [m.predictor.cfg.frames for m in models[1:] if not m.per_frame]  # no rollout without an input
    shortest = min([*fixed, data_frames, MAX_VIDEO_FRAMES])
    if not context + 1 <= frames <= shortest:
        what = "the data clips" + (" and the unconditional or label models' videos" if fixed else "")
        raise VgpredError(f"--frames {frames}: must be from {context + 1} (the {context} context frame(s) and one "
                          f"horizon) to {shortest} (the shortest of {what})")
    return frames


def _per_frame_metrics(
    names: Sequence[str], lpips_backbone: str | os.PathLike | None, shape: tuple[int, ...],
    device: torch.device, unavailable: dict[str, str],
) -> dict[str, Callable[[Tensor, Tensor], Tensor]]:
    """Load the requested per-frame metrics, probing each on a blank video of ``shape``."""
    if lpips_backbone is not None and not Path(lpips_backbone).is_file():
        raise VgpredError(f"{lpips_backbone}: no such file (AlexNet weights for lpips)")
    loaded = {}
    for name in names:
        spec = METRICS.get(name)
        try:
            fn = spec.load()
            if spec.needs_weights:
                fn = fn.load(lpips_backbone, device=device)
            blank = torch.zeros(1, *shape, device=device)
            fn(blank, blank)
        except MetricUnavailable as err:
            unavailable[name] = err.reason
            continue
        except VgpredError as err:  # e.g. frames too small for the metric's window or network
            if spec.needs_weights and lpips_backbone is not None:
                raise
            unavailable[name] = str(err)
            continue
        loaded[name] = fn
    return loaded


def _statistics(names: Sequence[str], shape: tuple[int, ...], device: torch.device,
                unavailable: dict[str, str]) -> dict[str, Callable[[Tensor, Tensor], Tensor]]:
    """Load the requested statistics, probing each on a blank video of ``shape`` and its frame 0."""
    loaded = {}
    for name in names:
        fn = METRICS.get(name).load()
        blank = torch.zeros(1, *shape, device=device)
        try:
            fn(blank, blank[:, :, 0])
        except VgpredError as err:  # e.g. frames too small
            unavailable[name] = str(err)
            continue
        loaded[name] = fn
    return loaded


def _generate(m: _Model, clips: Tensor, labels: Tensor, indices: range, seed: int, frames: int,
              context: int) -> Tensor:
    """K videos per clip, ``(K, B, C, T, H, W)`` on the clips' device; they start with the c given frames."""
    b = clips.shape[0]
    if m.predictor is None:
        still = clips[:, :, context - 1:context].expand(-1, -1, frames - context, -1, -1)
        return torch.cat([clips[:, :, :context], still], dim=2).unsqueeze(0)
    model, dev = m.predictor.model, m.predictor.device
    generators = [clip_generator(seed, i) for i in indices]

    def noise(scale: float | None = None) -> Tensor:  # (K * B, latent_dim), sample-major as the inputs
        return torch.stack([model.sample_noise(m.k, generator=g, device=dev, scale=scale) for g in generators],
                           1).flatten(0, 1)

    if model.needs_image:
        from vgpred.models.rollout import rollout

        k = m.predictor.cfg.context_frames
        given = clips[:, :, context - k:context].to(dev)  # the last k of the c context frames
        image = given.unsqueeze(0).expand(m.k, *given.shape).flatten(0, 1)
        # the first pass at the model's noise scale, later ones from N(0, I), as VideoPredictor rolls out
        video = rollout(model, image[:, :, 0] if k == 1 else image, frames - (context - k), noise,
                        later_noise=lambda: noise(1.0)).video.float()
        video = video.to(clips.device).reshape(m.k, b, *video.shape[1:])
        before = clips[:, :, :context - k].unsqueeze(0).expand(m.k, -1, -1, -1, -1, -1)
        return torch.cat([before.to(video.dtype), video], dim=3)
    label = None
    if model.needs_label:
        bad = [(i, int(y)) for i, y in zip(indices, labels) if not 0 <= y < m.predictor.cfg.num_classes]
        if bad:
            raise VgpredError(f"clip {bad[0][0]} has label {bad[0][1]}; {m.source} knows "
                              f"{m.predictor.cfg.num_classes} classes (labels 0 .. {m.predictor.cfg.num_classes - 1})")
        label = labels.to(dev).unsqueeze(0).expand(m.k, b).flatten()
    video = model(noise(), label, None).video[:, :, :frames].float()
    return video.to(clips.device).reshape(m.k, b, *video.shape[1:])


def _score(m: _Model, videos: Tensor, clips: Tensor, metrics: Mapping[str, Callable],
           statistics: Mapping[str, Callable], context: int) -> None:
    """Add the per-frame scores, statistics, motion and diversity of one batch to ``m``'s sums."""
    k, b = videos.shape[:2]
    c = context
    flat = videos.flatten(0, 1)
    target = clips.unsqueeze(0).expand_as(videos).flatten(0, 1)
    inputs = target[:, :, c - 1]  # each video's input frame: its clip's last context frame
    for name, fn in statistics.items():
        m.add(f"{name}/statistic", fn(flat, inputs).reshape(k, b, -1).float().mean(dim=0))
    for name, fn in metrics.items():
        spec = METRICS.get(name)
        scores = fn(flat, target).reshape(k, b, -1).float()
        if spec.cap is not None:
            scores = scores.clamp(max=spec.cap)
        m.add(f"{name}/frame0", scores[:, :, c - 1].mean(dim=0))
        m.add(f"{name}/best_of_k", best_of_k(scores[:, :, c:], spec.higher_is_better))
        m.add(f"{name}/mean_of_k", mean_of_k(scores[:, :, c:]))
    m.add("motion", (videos[:, :, :, -1] - videos[:, :, :, c - 1]).abs().mean(dim=(2, 3, 4)).mean(dim=0) / 2)
    if k > 1:
        pairs = torch.zeros(b, device=videos.device)
        for i in range(k - 1):
            pairs += (videos[i + 1:, :, :, c:] - videos[i, :, :, c:]).abs().mean(dim=(2, 3, 4, 5)).sum(dim=0) / 2
        m.add("diversity", pairs / (k * (k - 1) / 2))
    else:
        m.add("diversity", torch.zeros(b))


def _machine(device: torch.device) -> dict[str, Any]:
    info = {"host": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "cpu_count": os.cpu_count(), "device": str(device)}
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
    return info


def _curve(values: Tensor, context: int) -> dict[str, Any]:
    """A statistic's mean per frame ``(T,)`` -> the last context frame c-1 (``frame0``), horizons c .. T-1
    and their average."""
    c = context
    return {"frame0": float(values[c - 1]), "per_horizon": values[c:].tolist(), "average": float(values[c:].mean())}


def _model_result(m: _Model, metric_names: Sequence[str], statistic_names: Sequence[str], context: int,
                  dist: Mapping[str, DistributionalMetric], real: Mapping[str, FeatureStats]) -> dict[str, Any]:
    out: dict[str, Any] = {**m.describe(), "k": m.k}
    if m.per_frame:
        out["frame0"] = {name: float(m.mean(f"{name}/frame0")) for name in metric_names}
        out["metrics"] = {}
        for name in metric_names:
            entry = {}
            for agg in ("best_of_k", "mean_of_k"):
                values = m.mean(f"{name}/{agg}")
                entry[agg] = {"per_horizon": values.tolist(), "average": float(values.mean())}
            out["metrics"][name] = entry
        out["motion"] = float(m.mean("motion"))
        out["diversity"] = float(m.mean("diversity"))
    else:
        out["note"] = (f"{m.predictor.cfg.mode} model: its videos do not start from the clip's frame 0, "
                       "so only distributional metrics compare it")
        out["motion"] = float(m.mean("motion"))
    out["statistics"] = {name: _curve(m.mean(f"{name}/statistic"), context if m.per_frame else 1)
                         for name in statistic_names}
    out["distributional"] = {name: metric.result(real[name], m.fake_stats[name]).to_dict()
                             for name, metric in dist.items()}
    return out


def _protocol(name: str, data: Any, context: int | None, frames: int | None, k: int | None,
              metrics: Sequence[str] | None):
    """The protocol called ``name``, after checking that the options given agree with it and that a
    cache's clips are its own (length, size, channels, data set and split where the cache records them)."""
    from vgpred.evaluation.protocols import get_protocol

    fixed = get_protocol(name)
    for option, given, wanted in (("--context", context, fixed.context), ("--frames", frames, fixed.frames),
                                  ("-k", k, fixed.samples)):
        if given is not None and given != wanted:
            raise VgpredError(f"{option} {given}: protocol {fixed.name} fixes it at {wanted}; leave it out")
    if metrics is not None and list(metrics) != list(fixed.metrics):
        raise VgpredError(f"--metrics: protocol {fixed.name} fixes them ({', '.join(fixed.metrics)}); leave it out")
    if isinstance(data, (str, os.PathLike)):
        fixed.check_cache(data)
    return fixed


def evaluate_models(
    models: Mapping[str, str | os.PathLike | VideoPredictor],
    data: str | os.PathLike | Any,
    k: int | None = None,
    frames: int | None = None,
    max_clips: int | None = None,
    seed: int = 0,
    metrics: Sequence[str] | None = None,
    batch_size: int = 4,
    device: str = "auto",
    progress: bool = False,
    i3d: str | os.PathLike | None = None,
    feature_net: str | os.PathLike | None = None,
    lpips_backbone: str | os.PathLike | None = None,
    command: str | None = None,
    context: int | None = None,
    protocol: str | None = None,
    noise_scales: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Score models on held-out clips, per horizon, with the copy-first-frame baseline.

    Args:
        models: name -> model folder / bundled model name / :class:`VideoPredictor`.
        data: a clip cache folder (clips converted to the models' channels) or a
            data set yielding ``(clip (C, T, H, W) in [-1, 1], label)`` with
            ``.frames`` and ``.size`` attributes.
        k: futures sampled per clip for noisy image models (1 .. 1024; default 10).
        frames: score the first ``frames`` frames (default: the models' length); image models
            roll out past their length.
        max_clips: use only the first ``max_clips`` clips.
        seed: noise seed; clip i draws from ``(seed, i)``.
        metrics: metric names (default :data:`DEFAULT_METRICS`); per-frame ones are
            reported best-of-K and mean-of-K, statistics as the mean over samples for
            every model and the real clips, distributional ones only with weights.
        batch_size: clips per step (each step generates ``batch_size * k`` videos).
        i3d, feature_net, lpips_backbone: weights of the FVD network, of the project's
            feature network and of LPIPS's AlexNet (default locations where they have one).
        command: the command line recorded in the settings (default: ``sys.argv``).
        context: c, the clips' frames given to the models (default: the most any model
            conditions on, 1 for photo models); horizons c .. frames-1 are scored.
        protocol: a name of :data:`vgpred.evaluation.protocols.PROTOCOLS`: it fixes ``context``,
            ``frames``, ``k`` and ``metrics`` (those given must agree) and checks a cache's clips.
        noise_scales: name -> the standard deviation of that model's noise, in place of its
            folder's ``model.noise_scale`` (a model given as an object is changed in place).
    Returns:
        ``{"settings": ..., "data": ..., "models": {name: ...}}``, JSON-ready;
        see :func:`vgpred.evaluation.write_report`.
    """
    _check_int(k, "k", 1, MAX_SAMPLES)
    _check_int(frames, "frames", 2)
    _check_int(context, "context", 1, MAX_VIDEO_FRAMES - 1)
    _check_int(max_clips, "max_clips", 1)
    _check_int(seed, "seed", 0)
    _check_int(batch_size, "batch_size", 1)
    fixed = None
    if protocol is not None:
        fixed = _protocol(protocol, data, context, frames, k, metrics)
        context, frames, k, metrics = fixed.context, fixed.frames, fixed.samples, list(fixed.metrics)
    k = DEFAULT_K if k is None else k
    names = list(dict.fromkeys(metrics if metrics is not None else DEFAULT_METRICS))
    specs = {name: METRICS.get(name) for name in names}
    dev = resolve_device(device)
    loaded, context = _load_models(models, k, dev, context, noise_scales)
    channels = {m.predictor.cfg.channels for m in loaded[1:]}
    if len(channels) > 1:
        raise VgpredError("the models make videos with different numbers of channels; evaluate them separately")
    model_channels = channels.pop() if channels else None
    dataset, data_name = _open_data(data, model_channels)
    if model_channels is not None and int(dataset.channels) != model_channels:
        raise VgpredError(f"{data_name}: clips have {dataset.channels} channels, the models {model_channels}")
    frames = _horizon(loaded, dataset, data_name, frames, context)
    num_clips = min(len(dataset), max_clips or len(dataset))
    if num_clips < 1:
        raise VgpredError(f"{data_name}: holds no clips")
    shape = (int(dataset.channels), frames, int(dataset.size), int(dataset.size))

    unavailable: dict[str, str] = {}
    per_frame = _per_frame_metrics([n for n in names if specs[n].kind == "per_frame"],
                                   lpips_backbone, shape, dev, unavailable)
    statistics = _statistics([n for n in names if specs[n].kind == "statistic"], shape, dev, unavailable)
    weights = {"fvd": i3d, "frechet_projectnet": feature_net}
    dist = {}
    for name in (n for n in names if specs[n].kind == "distributional"):
        try:
            dist[name] = load_distributional(name, weights.get(name), shape, num_clips, dev)
        except MetricUnavailable as err:
            unavailable[name] = err.reason
    for m in loaded[1:]:
        if not m.per_frame and not dist:
            raise VgpredError(
                f"{m.source}: this {m.predictor.cfg.mode} model's videos do not start from the clip's "
                "frame 0, so per-frame metrics do not apply and it can be compared only through a "
                "distributional metric (fvd with --i3d, frechet_projectnet with --feature-net), none available"
            )
    for m in loaded:
        m.fake_stats = {name: FeatureStats() for name in dist}
    real = {name: FeatureStats() for name in dist}
    data_motion = 0.0
    data_statistics = {name: torch.zeros(frames, dtype=torch.float64) for name in statistics}

    from tqdm import tqdm

    with torch.inference_mode(), tqdm(total=num_clips, desc="evaluate", unit="clip", file=sys.stderr,
                                      disable=not progress, dynamic_ncols=True) as bar:
        for start in range(0, num_clips, batch_size):
            indices = range(start, min(num_clips, start + batch_size))
            items = [dataset[i] for i in indices]
            clips = torch.stack([clip[:, :frames] for clip, _ in items]).to(dev).float()
            if tuple(clips.shape[1:]) != shape:
                raise VgpredError(f"{data_name}: clip {start} has shape {tuple(clips.shape[1:])}, expected {shape}")
            labels = torch.tensor([int(label) for _, label in items])
            last_given = clips[:, :, context - 1]
            data_motion += float((clips[:, :, -1] - last_given).abs().mean(dim=(1, 2, 3)).sum() / 2)
            for name, fn in statistics.items():
                data_statistics[name] += fn(clips, last_given).double().sum(dim=0).cpu()
            for name, metric in dist.items():
                real[name].add(metric.features(clips))
            for m in loaded:
                videos = _generate(m, clips, labels, indices, seed, frames, context)
                if m.per_frame:
                    _score(m, videos, clips, per_frame, statistics, context)
                else:  # no input frame: statistics against the video's own frame 0
                    m.add("motion", (videos[0, :, :, -1] - videos[0, :, :, 0]).abs().mean(dim=(1, 2, 3)) / 2)
                    for name, fn in statistics.items():
                        m.add(f"{name}/statistic", fn(videos[0], videos[0, :, :, 0]).float())
                for name, metric in dist.items():
                    m.fake_stats[name].add(metric.features(videos[0]))
                m.clips += len(indices)
            bar.update(len(indices))

    conventions = {**CONVENTIONS, **{n: specs[n].description for n in (*per_frame, *statistics)}}
    conventions.update({n: metric.description for n, metric in dist.items()})
    settings = {
        "data": str(Path(data_name).resolve()) if isinstance(data, (str, os.PathLike)) else str(data_name),
        "num_clips": num_clips, "k": k, "seed": seed, "frames": frames, "context": context,
        "horizons": list(range(context, frames)), "batch_size": batch_size,
        "metrics": [n for n in names if n in per_frame or n in statistics or n in dist],
        "unavailable": unavailable, "conventions": conventions, "vgpred_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(dev), "command": command if command is not None else shlex.join(sys.argv),
    }
    if fixed is not None:
        settings["protocol"] = {"name": fixed.name, "context": fixed.context, "horizon": fixed.horizon,
                                "samples": fixed.samples, "size": fixed.size, "conventions": fixed.conventions,
                                "reference": fixed.reference}
    return {
        "settings": settings,
        "data": {"motion": data_motion / num_clips,
                 "statistics": {name: _curve(total / num_clips, context) for name, total in data_statistics.items()},
                 "frames": int(dataset.frames), "size": int(dataset.size), "channels": int(dataset.channels)},
        "models": {m.name: _model_result(m, list(per_frame), list(statistics), context, dist, real) for m in loaded},
    }

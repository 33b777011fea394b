"""Configuration: dataclasses are the schema.

One precedence rule: dataclass defaults < YAML preset < command-line ``key=value``.
Keys are ``section.key`` (``model.width=0.5``) or a bare ``key`` when the name is
unique across sections (``width=0.5``). Unknown keys and values of the wrong type
are errors that name the key. This module imports no torch, so the CLI can parse
options before deciding whether the command needs the network at all.
"""
from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgpred.errors import VgpredError
from vgpred.limits import MAX_CONTEXT_FRAMES, MAX_FPS, MAX_NOISE_SCALE, MAX_SAMPLES, MAX_WORKERS, MIN_FPS
from vgpred.paths import CONFIG_DIR


@dataclass
class ModelConfig:
    """The network. Paper defaults: 64x64 pixels, 32 frames, latent 100, widths 512..64."""

    mode: str = "image"  # unconditional | label | image (see vgpred/models/modes.py)
    resolution: int = 64  # H = W = 4 * 2**k, k >= 1 (32, 64, 128, ...)
    frames: int = 32  # T = 2**j, 2 <= T <= resolution / 2
    channels: int = 3  # 3 = RGB, 1 = grayscale (Moving MNIST)
    latent_dim: int = 100  # noise vector z; in image mode 0 = deterministic regressor
    width: float = 1.0  # channel multiplier; 1.0 = the paper's 512..64 (G) and 64..512 (D)
    d_width: float = 0.0  # the discriminator's own multiplier (0 = model.width; not in the paper)
    two_stream: bool = True  # False = one-stream ablation (no mask, no background)
    skips: bool = False  # image mode: U-Net skips from the frame encoder into both streams (not in the paper)
    time_padding: str = "zeros"  # zeros (the paper) | replicate: layers that double or halve time repeat the edge frames
    foreground: str = "pixels"  # pixels (the paper: the video stream synthesises every pixel) | motion (image mode:
                                # it predicts where each pixel comes from in the photo; vgpred/models/motion.py)
    max_flow: float = 0.5  # motion: largest displacement from the photo, in grid_sample units (2 = the image's width);
                           # with flow_param=velocity, the largest mean displacement per frame
    flow_param: str = "offset"  # motion: offset (the head gives each frame's displacement) | velocity (it gives the
                                # mean velocity since the photo: frame t's displacement is t times it)
    noise_scale: float = 1.0  # standard deviation of the noise drawn to predict or evaluate (training always draws
                              # N(0, I)); chosen per model on held-out clips (docs/model-notes.md)
    context_frames: int = 1  # image mode: frames the encoder conditions on; the video starts with them (1 = a photo)
    num_classes: int = 0  # label mode: number of classes
    class_names: list[str] = field(default_factory=list)  # label names, kept in the model folder
    embed_dim: int = 10  # label mode: size of the class embedding joined to z
    fps: float = 8.0  # playback rate of generated videos


@dataclass
class OptimConfig:
    """Adam as in the paper (lr 2e-4, beta1 0.5)."""

    lr_g: float = 2e-4  # generator (and encoder) learning rate
    lr_d: float = 2e-4  # discriminator learning rate
    beta1: float = 0.5
    beta2: float = 0.999
    grad_clip: float = 0.0  # > 0: the generator's (and posterior encoder's) gradients are clipped to this
                            # global L2 norm before each step (a spike cannot throw the weights far); 0 = off
    freeze_g_steps: int = 0  # the first N steps run with the generator's lr at 0 (its Adam moments still
                             # accumulate): a fresh discriminator catches up with a fine-tuned generator first


@dataclass
class LossConfig:
    """Objective. ``gan`` is the paper's non-saturating loss; ``l1`` trains a regressor."""

    loss: str = "gan"  # gan (non-saturating) | hinge | l1 (no discriminator)
    mask_l1: float = 0.1  # L1 penalty on the foreground mask (unconditional/label, paper)
    recon_l1: float = 10.0  # image mode: L1 between generated frame 0 and the input frame (one context frame only)
    video_l1: float = 0.0  # image mode with a discriminator: L1 between generated and real frames k..T-1 (k = context_frames; not in the paper)
    video_l1_decay: float = 1.0  # each predicted frame's weight in video_l1 is this times the one before (1 = all
                                 # alike, < 1 = the early frames count more); the weights average to 1
    r1: float = 0.0  # R1 gradient penalty on real videos (0 = off, as in the paper)
    kl: float = 0.0  # image mode: > 0 trains a posterior encoder q(z | clip) (SAVP/SVG); video_l1 then scores videos
                     # made from the posterior's z, this weighs their KL to N(0, I), the GAN sees the prior's z
    diversity: float = 0.0  # mode seeking (MSGAN): weight of 1 / (|G(z1) - G(z2)| / |z1 - z2|) for two prior z per photo


@dataclass
class TrainConfig:
    """The loop: steps, batch, EMA, precision, logging and checkpoint cadence."""

    steps: int = 10000  # generator steps (one D step then one G step per batch)
    batch_size: int = 64  # per process
    seed: int = 0
    ema_decay: float = 0.999  # EMA of generator weights exported for inference (0 = off)
    ema_warmup: int = 100  # steps before the EMA starts averaging (copies weights until then)
    bn_recalibrate: int = 512  # clips re-estimating the EMA generator's BatchNorm stats before use (0 = off)
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (auto: bf16 where supported)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    compile: bool = False  # torch.compile the networks
    num_workers: int = 1  # data loader worker processes
    flip: bool = True  # random horizontal flip, the same for every frame of a clip
    crop: float = 1.0  # random crop keeping this fraction of the area or more (1 = no crop)
    log_every: int = 10  # steps between metrics.jsonl rows
    sample_every: int = 500  # steps between sample videos (0 = only at the end)
    checkpoint_every: int = 500  # steps between checkpoints (0 = only at the end)
    keep_checkpoints: int = 2  # how many recent checkpoints to keep
    num_samples: int = 8  # videos in each sample grid
    init_from: str = ""  # a model folder or bundled model whose generator starts the run (fine-tuning)


@dataclass
class Config:
    """Everything a run needs; saved resolved in the run folder."""

    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class Range:
    """Values a numeric setting may take: ``low``/``high`` bounds (None: unbounded), each closed unless marked open.

    Floats must also be finite: NaN and infinity pass no range.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    unit: str = ""
    text: str = ""  # says the range in words instead (it must agree with the bounds)

    def holds(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        def num(x: float) -> str:
            return str(x) if isinstance(x, int) else f"{x:g}"

        if self.text:
            return self.text
        if self.low is not None and self.high is not None and not (self.low_open or self.high_open):
            return f"from {num(self.low)} to {num(self.high)}{self.unit}"
        parts = [f"{'>' if self.low_open else '>='} {num(self.low)}"] if self.low is not None else []
        parts += [f"{'<' if self.high_open else '<='} {num(self.high)}"] if self.high is not None else []
        return " and ".join(parts) + self.unit


_NON_NEGATIVE, _AT_LEAST_1 = Range(0), Range(1)
_FRACTION = Range(0, 1, high_open=True)

# The range of every numeric setting, checked after all presets and overrides are applied
# (build_config) and when a model folder's config.json is read, so nothing out of range
# reaches a run folder or a network. Shapes (resolution, frames, channels) and what each
# mode needs are checked with the network layout (vgpred.models.videogan.check_model_config);
# whether a width fits in memory is estimated before training (vgpred train).
RANGES: dict[str, Range] = {
    "model.latent_dim": Range(0, 4096),
    "model.width": Range(0, 1024, low_open=True, text="a positive multiplier, at most 1024"),
    "model.d_width": Range(0, 1024, text="a positive multiplier (0 = model.width), at most 1024"),
    "model.num_classes": Range(0, 100_000),
    "model.embed_dim": Range(0, 4096),
    "model.fps": Range(MIN_FPS, MAX_FPS, unit=" frames per second"),
    "model.context_frames": Range(1, MAX_CONTEXT_FRAMES),
    "model.noise_scale": Range(0, MAX_NOISE_SCALE, low_open=True),
    "model.max_flow": Range(0, 2, low_open=True, text="> 0 and at most 2 (the image's width in grid_sample units)"),
    "optim.lr_g": _NON_NEGATIVE,
    "optim.lr_d": _NON_NEGATIVE,
    "optim.beta1": _FRACTION,
    "optim.beta2": _FRACTION,
    "optim.freeze_g_steps": _NON_NEGATIVE,
    "optim.grad_clip": _NON_NEGATIVE,
    "loss.mask_l1": _NON_NEGATIVE,
    "loss.recon_l1": _NON_NEGATIVE,
    "loss.video_l1": _NON_NEGATIVE,
    "loss.video_l1_decay": Range(0, 1, low_open=True),
    "loss.r1": _NON_NEGATIVE,
    "loss.kl": _NON_NEGATIVE,
    "loss.diversity": _NON_NEGATIVE,
    "train.steps": _AT_LEAST_1,
    "train.batch_size": _AT_LEAST_1,
    "train.seed": Range(0, 2**63 - 1),
    "train.ema_decay": _FRACTION,
    "train.ema_warmup": _NON_NEGATIVE,
    "train.bn_recalibrate": _NON_NEGATIVE,
    "train.num_workers": Range(0, MAX_WORKERS),
    "train.crop": Range(0, 1, low_open=True),
    "train.log_every": _AT_LEAST_1,
    "train.sample_every": _NON_NEGATIVE,
    "train.checkpoint_every": _NON_NEGATIVE,
    "train.keep_checkpoints": _NON_NEGATIVE,
    "train.num_samples": Range(1, MAX_SAMPLES),
}


def check_section(section: str, obj: Any) -> None:
    """Raise a one-line error naming ``section.key=value`` for the first value of ``obj`` out of its range."""
    for f in dataclasses.fields(obj):
        key = f"{section}.{f.name}"
        value = getattr(obj, f.name)
        if key in RANGES and not RANGES[key].holds(value):
            if isinstance(value, float) and not math.isfinite(value):
                raise VgpredError(f"{key}={value}: must be a finite number ({RANGES[key].describe()})")
            raise VgpredError(f"{key}={value}: must be {RANGES[key].describe()}")


def check_ranges(cfg: Config) -> Config:
    """Check every numeric setting of ``cfg`` against :data:`RANGES`; returns ``cfg``."""
    for section, obj in _sections(cfg).items():
        check_section(section, obj)
    return cfg


def _sections(cfg: Config) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}


def _field_types(obj: Any) -> dict[str, Any]:
    return typing.get_type_hints(type(obj))


def _convert(value: Any, annotation: Any, key: str) -> Any:
    """Coerce ``value`` (from YAML, JSON or a command-line string) to ``annotation``."""
    origin = typing.get_origin(annotation)
    if origin in (list, typing.List):
        (item_type,) = typing.get_args(annotation) or (str,)
        if isinstance(value, str):
            value = [v for v in (s.strip() for s in value.split(",")) if v]
        if not isinstance(value, (list, tuple)):
            raise VgpredError(f"config key {key!r}: expected a list, got {value!r}")
        return [_convert(v, item_type, key) for v in value]
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported annotation for {key}")  # the schema uses none
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise VgpredError(f"config key {key!r}: expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool):
            raise VgpredError(f"config key {key!r}: expected an integer, got {value!r}")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise VgpredError(f"config key {key!r}: expected an integer, got {value!r}") from None
    if annotation is float:
        if isinstance(value, bool):
            raise VgpredError(f"config key {key!r}: expected a number, got {value!r}")
        try:
            return float(str(value).strip())
        except ValueError:
            raise VgpredError(f"config key {key!r}: expected a number, got {value!r}") from None
    if annotation is str:
        if isinstance(value, (dict, list)):
            raise VgpredError(f"config key {key!r}: expected a string, got {value!r}")
        return str(value)
    raise TypeError(f"unsupported annotation {annotation!r} for {key}")


def _resolve_key(cfg: Config, key: str) -> tuple[str, str]:
    """``model.width`` or ``width`` -> ("model", "width"); errors name the key."""
    sections = _sections(cfg)
    if "." in key:
        section, name = key.split(".", 1)
        if section not in sections or name not in _field_types(sections[section]):
            raise VgpredError(f"unknown config key {key!r}")
        return section, name
    owners = [s for s, obj in sections.items() if key in _field_types(obj)]
    if not owners:
        raise VgpredError(f"unknown config key {key!r}")
    if len(owners) > 1:
        choices = ", ".join(f"{s}.{key}" for s in owners)
        raise VgpredError(f"config key {key!r} is ambiguous: use one of {choices}")
    return owners[0], key


def set_value(cfg: Config, key: str, value: Any) -> None:
    """Set one option, converting the value to the schema's type."""
    section, name = _resolve_key(cfg, key)
    obj = getattr(cfg, section)
    setattr(obj, name, _convert(value, _field_types(obj)[name], f"{section}.{name}"))


def apply_dict(cfg: Config, data: dict[str, Any], source: str = "config") -> Config:
    """Apply a nested ``{section: {key: value}}`` mapping (a YAML preset or a saved run)."""
    if not isinstance(data, dict):
        raise VgpredError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    for section, values in data.items():
        if section not in _sections(cfg):
            raise VgpredError(f"{source}: unknown config section {section!r}")
        if not isinstance(values, dict):
            raise VgpredError(f"{source}: section {section!r} must be a mapping")
        for name, value in values.items():
            try:
                set_value(cfg, f"{section}.{name}", value)
            except VgpredError as err:
                raise VgpredError(f"{source}: {err}") from None
    return cfg


def preset_path(name_or_path: str | Path) -> Path:
    """A YAML path, or the name of a bundled preset (``paper``, ``cpu-small``, ``tiny``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = CONFIG_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    if path.exists():
        raise VgpredError(f"{path}: is not a file")
    known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise VgpredError(f"{path}: no such config file or preset (presets: {known})")


def load_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    path = preset_path(path)
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8")) or {}
    except UnicodeDecodeError as err:
        raise VgpredError(f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}); "
                          "save the config as UTF-8") from None
    except RecursionError:
        raise VgpredError(f"{path}: cannot read YAML (nested too deeply)") from None
    except (OSError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise VgpredError(f"{path}: cannot read YAML ({first})") from None
    return data


def build_config(preset: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                 model: ModelConfig | None = None) -> Config:
    """Defaults < ``model`` (an initial model's network) < YAML preset < ``key=value`` overrides."""
    cfg = Config(model=dataclasses.replace(model)) if model is not None else Config()
    if preset is not None:
        apply_dict(cfg, load_yaml(preset), source=str(preset_path(preset)))
    for item in overrides:
        if "=" not in item:
            raise VgpredError(f"override {item!r}: expected key=value")
        key, value = item.split("=", 1)
        set_value(cfg, key.strip(), value)
    return check_ranges(cfg)


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def model_config_from_dict(data: dict[str, Any], source: str) -> ModelConfig:
    """Build a :class:`ModelConfig` from a saved mapping, checking keys and types."""
    cfg = ModelConfig()
    types_ = _field_types(cfg)
    for name, value in data.items():
        if name not in types_:
            raise VgpredError(f"{source}: unknown model config key {name!r}")
        try:
            setattr(cfg, name, _convert(value, types_[name], f"model.{name}"))
        except VgpredError as err:
            raise VgpredError(f"{source}: {err}") from None
    try:
        check_section("model", cfg)
    except VgpredError as err:
        raise VgpredError(f"{source}: {err}") from None
    return cfg


def dumps(cfg: Config) -> str:
    return json.dumps(to_dict(cfg), indent=2)

"""Inference model folders: ``config.json`` + ``model.safetensors``; loading never unpickles.

``config.json`` holds every hyper-parameter of the network (mode, sizes, class
names, fps), the value range and tensor layout, the vgpred version that wrote it
and a format version. A folder written by an older format version is upgraded by
the steps in :data:`MIGRATIONS`; a newer one fails with a message to upgrade.
Weights may be stored in any of :data:`WEIGHT_DTYPES` and load as float32; tensor
names, shapes, dtypes and values (finite) are checked before the model is built.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from vgpred import __version__
from vgpred.config import ModelConfig, model_config_from_dict, to_dict
from vgpred.errors import VgpredError
from vgpred.io.atomic import atomic_write_bytes
from vgpred.paths import ASSETS_DIR

FORMAT = "vgpred-model"
FORMAT_VERSION = 2
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODELS_DIR = ASSETS_DIR / "models"
DEFAULT_MODEL = "scenes-motion"
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar"}
# Floating-point types a model folder's weights may be stored in; all load as float32.
WEIGHT_DTYPES = ("float32", "float16", "bfloat16", "float64")
# A discriminator alone (``vgpred convert torch7 --discriminator``): config.json + discriminator.safetensors.
DISCRIMINATOR_FORMAT = "vgpred-discriminator"
DISCRIMINATOR_FORMAT_VERSION = 1
DISCRIMINATOR_WEIGHTS = "discriminator.safetensors"


def _name_the_foreground(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 names how the generator makes the foreground (``model.foreground``); a version-1
    folder predates the motion foreground, so its generator synthesises pixels."""
    model = data.get("model")
    if isinstance(model, dict):
        data = {**data, "model": {"foreground": "pixels", **model}}
    return {**data, "format_version": 2}


# Upgrade steps: MIGRATIONS[v] turns a version-v config mapping into version v + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _name_the_foreground}


def bundled_models() -> dict[str, Path]:
    """Names and folders of the models shipped in ``assets/models``."""
    if not MODELS_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(MODELS_DIR.iterdir()) if (p / CONFIG_NAME).is_file()}


def resolve_model_dir(path: str | os.PathLike | None) -> Path:
    """A model folder, a bundled model's name, or None for the default bundled model."""
    if path is None:
        models = bundled_models()
        if DEFAULT_MODEL not in models:
            raise VgpredError(
                f"no bundled default model ({DEFAULT_MODEL}) in {MODELS_DIR}; pass --checkpoint DIR "
                "with a model folder exported by `vgpred train`"
            )
        return models[DEFAULT_MODEL]
    path = Path(path)
    if not path.exists() and str(path) in bundled_models():
        return bundled_models()[str(path)]
    if not path.exists():
        raise VgpredError(f"{path}: no such model folder or bundled model (bundled: {', '.join(bundled_models()) or 'none'})")
    if path.is_file():
        if path.name in (CONFIG_NAME, WEIGHTS_NAME):
            return path.parent
        if path.suffix.lower() in PICKLE_SUFFIXES or _looks_like_pickle(path):
            raise VgpredError(
                f"{path}: is a pickle/torch file; vgpred loads only model folders "
                f"({CONFIG_NAME} + {WEIGHTS_NAME}) and never unpickles"
            )
        raise VgpredError(f"{path}: is a file; expected a model folder with {CONFIG_NAME} and {WEIGHTS_NAME}")
    return path


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    return head[:1] == b"\x80" or head[:2] == b"PK"  # pickle protocol 2+, torch zip


def save_model(model, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (a :class:`~vgpred.models.videogan.VideoGenerator`) to a model folder.

    Weights first, config last, each written atomically, so a folder with a config
    always has complete weights. ``extra`` (e.g. training info) is stored in the JSON.
    """
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights = save(tensors, metadata={"format": FORMAT})
    atomic_write_bytes(directory / WEIGHTS_NAME, lambda f: f.write(weights))
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "vgpred_version": __version__,
        "layout": "BCTHW",
        "value_range": [-1.0, 1.0],
        "model": to_dict(model.cfg),
    }
    if extra:
        config["info"] = extra
    text = (json.dumps(config, indent=2) + "\n").encode()
    atomic_write_bytes(directory / CONFIG_NAME, lambda f: f.write(text))
    return directory


def read_model_config(directory: Path) -> tuple[ModelConfig, dict[str, Any]]:
    """Parse and upgrade ``config.json``; returns the model config and the whole mapping."""
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise VgpredError(f"{directory}: not a vgpred model folder (no {CONFIG_NAME})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise VgpredError(f"{path}: invalid JSON ({err})") from None
    except RecursionError:
        raise VgpredError(f"{path}: invalid JSON (nested too deeply)") from None
    if isinstance(data, dict) and data.get("format") == DISCRIMINATOR_FORMAT:
        raise VgpredError(f"{path}: holds a discriminator (converted by `vgpred convert torch7 --discriminator`), "
                          "not a generator; the representation probe reads it "
                          "(benchmarks/table4_representation.py --discriminator)")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise VgpredError(f"{path}: not a vgpred model config (format must be {FORMAT!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise VgpredError(f"{path}: format_version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise VgpredError(
            f"{path}: format version {version} is newer than this vgpred supports ({FORMAT_VERSION}); upgrade vgpred"
        )
    while version < FORMAT_VERSION:
        if version not in MIGRATIONS:
            raise VgpredError(f"{path}: format version {version} is too old to load (no upgrade step)")
        data = MIGRATIONS[version](data)
        version += 1
    return _model_section(data, path), data


def _model_section(data: dict, path: Path) -> ModelConfig:
    """The checked network settings of a model or discriminator folder's ``config.json``."""
    from vgpred.models.videogan import check_model_config

    if not isinstance(data.get("model"), dict):
        raise VgpredError(f"{path}: missing the 'model' section")
    cfg = model_config_from_dict(data["model"], str(path))
    try:
        check_model_config(cfg)
    except VgpredError as err:
        raise VgpredError(f"{path}: {err}") from None
    return cfg


def _to_model_dtypes(state: dict, expected: dict, weights: Path) -> dict:
    """``state`` with every weight in the model's dtype: float32 from any of :data:`WEIGHT_DTYPES`.

    Anything else (integer or complex weights, float8, integer counters in another type)
    is one error line naming the dtype and the first few tensors.
    """
    wrong: dict[str, list[str]] = {}
    for key, tensor in expected.items():
        have = str(state[key].dtype).removeprefix("torch.")
        fits = have in WEIGHT_DTYPES if tensor.is_floating_point() else state[key].dtype == tensor.dtype
        if not fits:
            wrong.setdefault(have, []).append(key)
    if wrong:
        dtype, keys = next(iter(wrong.items()))
        count = sum(len(k) for k in wrong.values())
        names = ", ".join(repr(k) for k in keys[:3]) + (f" and {count - 3} more" if count > 3 else "")
        raise VgpredError(f"{weights}: {count} tensor{'s' if count > 1 else ''} stored as {dtype} ({names}); "
                          f"weights must be one of {', '.join(WEIGHT_DTYPES)} (loaded as float32)")
    return {key: tensor.to(expected[key].dtype) for key, tensor in state.items()}


def load_model(path: str | os.PathLike | None = None, device: str = "cpu"):
    """Load a model folder (or bundled model name) into an eval-mode VideoGenerator.

    Weights saved in float16, bfloat16 or float64 (e.g. by ``model.half()``) are
    converted to float32 on load; other dtypes are refused with one line.
    """
    import torch

    from vgpred.models.videogan import VideoGenerator

    directory = resolve_model_dir(path)
    cfg, _ = read_model_config(directory)
    with torch.device("meta"):  # shapes only: the weights come from the file, no random init
        model = VideoGenerator(cfg)
    model.load_state_dict(_checked_state(directory / WEIGHTS_NAME, model.state_dict()), assign=True)
    return model.to(device).eval()


def _checked_state(weights: Path, expected: dict) -> dict:
    """The tensors of ``weights`` (safetensors) as float32, checked against ``expected``'s names,
    shapes and dtypes, and finite; one error line naming the file otherwise."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not weights.is_file():
        raise VgpredError(f"{weights.parent}: no {weights.name}")
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise VgpredError(f"{weights}: unreadable safetensors file ({first})") from None
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}"
        raise VgpredError(
            f"{weights}: weights do not match {CONFIG_NAME} ({len(missing)} missing, "
            f"{len(unexpected)} unexpected tensors; {what})"
        )
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise VgpredError(
                f"{weights}: tensor {key!r} has shape {tuple(state[key].shape)}, "
                f"the config needs {tuple(tensor.shape)}"
            )
    state = _to_model_dtypes(state, expected, weights)
    for key, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise VgpredError(f"{weights}: tensor {key!r} holds NaN or infinite values")
    return state


def save_discriminator(disc, cfg: ModelConfig, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Write a discriminator alone (``config.json`` in :data:`DISCRIMINATOR_FORMAT` + its weights)."""
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in disc.state_dict().items()}
    weights = save(tensors, metadata={"format": DISCRIMINATOR_FORMAT})
    atomic_write_bytes(directory / DISCRIMINATOR_WEIGHTS, lambda f: f.write(weights))
    config = {"format": DISCRIMINATOR_FORMAT, "format_version": DISCRIMINATOR_FORMAT_VERSION,
              "vgpred_version": __version__, "layout": "BCTHW", "value_range": [-1.0, 1.0], "model": to_dict(cfg)}
    if extra:
        config["info"] = extra
    text = (json.dumps(config, indent=2) + "\n").encode()
    atomic_write_bytes(directory / CONFIG_NAME, lambda f: f.write(text))
    return directory


def load_discriminator(path: str | os.PathLike, device: str = "cpu"):
    """A discriminator folder written by :func:`save_discriminator`: ``(discriminator in eval mode, ModelConfig)``."""
    import torch

    from vgpred.models.videogan import build_discriminator

    directory = Path(path)
    config = directory / CONFIG_NAME
    if not config.is_file():
        raise VgpredError(f"{directory}: not a discriminator folder (no {CONFIG_NAME})")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise VgpredError(f"{config}: invalid JSON ({type(err).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != DISCRIMINATOR_FORMAT:
        raise VgpredError(f"{config}: not a discriminator folder (format must be {DISCRIMINATOR_FORMAT!r}; "
                          "`vgpred convert torch7 --discriminator` writes one)")
    if data.get("format_version") != DISCRIMINATOR_FORMAT_VERSION:
        raise VgpredError(f"{config}: format version {data.get('format_version')!r} is not "
                          f"{DISCRIMINATOR_FORMAT_VERSION}; convert the file again with this vgpred")
    cfg = _model_section(data, config)
    with torch.device("meta"):
        disc = build_discriminator(cfg)
    disc.load_state_dict(_checked_state(directory / DISCRIMINATOR_WEIGHTS, disc.state_dict()), assign=True)
    return disc.to(device).eval(), cfg


# Model settings a fine-tuned run may change: playback rate, the (fresh) discriminator's
# width, the label names (the label count must stay, it shapes the class embedding) and
# the time padding (the same weights; only the edge frames' taps change).
FINE_TUNE_FREE = ("fps", "d_width", "class_names", "time_padding")


# Settings a resumed run may change: its checkpoint holds the discriminator too, so d_width is fixed.
RESUME_FREE = tuple(name for name in FINE_TUNE_FREE if name != "d_width")


def architecture_differences(initial: ModelConfig, wanted: ModelConfig, free: tuple[str, ...] = FINE_TUNE_FREE,
                             holder: str = "the initial model") -> list[str]:
    """``model.key=wanted (the initial model has value)`` for each setting outside ``free`` that differs."""
    differences = []
    for name, value in to_dict(initial).items():
        if name not in free and getattr(wanted, name) != value:
            differences.append(f"model.{name}={getattr(wanted, name)!r} ({holder} has {value!r})")
    return differences

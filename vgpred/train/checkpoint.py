"""Training checkpoints: tensors in safetensors, everything else in JSON; never pickle.

A checkpoint is a folder ``checkpoints/step-0000500/`` holding
``tensors.safetensors`` (weights, EMA, BatchNorm statistics, optimizer moments, each
rank's torch RNG states as :mod:`vgpred.train.rng` lays them out) and ``meta.json``
(step, data position, optimizer hyper-parameters, gradient-scaler state). Python's and
NumPy's RNG states are not saved: training draws nothing from them. It is written into
a hidden temporary folder that is renamed into place only when complete, so a crash or
a full disk at any moment leaves the previous checkpoints intact and never a
half-written one under a real name. A failed write (a full disk, say) raises
:class:`VgpredError` naming the checkpoint; hidden leftovers of a killed process are
removed by the next save.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from vgpred.errors import VgpredError

TENSORS = "tensors.safetensors"
META = "meta.json"
PREFIX = "step-"


def _flatten_optimizer(name: str, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Move an optimizer state dict's tensors into ``tensors``; return the JSON rest."""
    json_state: dict[str, Any] = {}
    for pid, values in state["state"].items():
        entry = {}
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{name}/{pid}/{key}"] = value.detach().cpu().contiguous()
                entry[key] = {"tensor": f"{name}/{pid}/{key}"}
            else:
                entry[key] = value
        json_state[str(pid)] = entry
    return {"state": json_state, "param_groups": state["param_groups"]}


def _unflatten_optimizer(data: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state = {}
    for pid, values in data["state"].items():
        state[int(pid)] = {
            k: tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v else v for k, v in values.items()
        }
    return {"state": state, "param_groups": data["param_groups"]}


def checkpoint_name(step: int) -> str:
    return f"{PREFIX}{step:07d}"


def save_checkpoint(
    directory: Path,
    step: int,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    rng_tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write a complete checkpoint for ``step`` atomically; keep the ``keep`` newest."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".tmp-*"):  # left by a process killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    final = directory / checkpoint_name(step)
    tmp = directory / f".tmp-{checkpoint_name(step)}-{os.getpid()}"
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}/{key}"] = value.detach().cpu().contiguous()
    optim_json = {name: _flatten_optimizer(f"optim.{name}", opt.state_dict(), tensors) for name, opt in optimizers.items()}
    for name, value in rng_tensors.items():
        tensors[f"rng/{name}"] = value.detach().cpu().contiguous()
    try:
        tmp.mkdir()
        save_file(tensors, str(tmp / TENSORS))
        _fsync(tmp / TENSORS)
        body = {"step": step, "optimizers": optim_json, **meta}
        with open(tmp / META, "w") as f:
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        if final.exists():  # the same step again: the state is the same, keep the one on disk
            shutil.rmtree(tmp)
        else:
            os.rename(tmp, final)
    except (OSError, SafetensorError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        previous = [p.name for p in list_checkpoints(directory)]
        kept = f"the previous checkpoint {previous[-1]} is intact" if previous else "no earlier checkpoint exists"
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise VgpredError(f"{final}: could not write the checkpoint ({reason}); {kept}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        _discard(old)
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(path: Path) -> None:
    """Hide a checkpoint folder first, then delete it: a kill midway leaves only a hidden leftover."""
    hidden = path.with_name(f".tmp-old-{path.name}-{os.getpid()}")
    os.rename(path, hidden)
    shutil.rmtree(hidden, ignore_errors=True)


def list_checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temporary folders are ignored)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir()
             if p.is_dir() and p.name.startswith(PREFIX) and (p / META).is_file() and (p / TENSORS).is_file()]
    return sorted(found, key=lambda p: p.name)


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint folder -> (tensors, meta); errors name the folder."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        meta = json.loads((path / META).read_text())
        tensors = load_file(str(path / TENSORS))
    except (OSError, ValueError, SafetensorError) as err:
        raise VgpredError(f"{path}: unreadable checkpoint ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    return tensors, meta


def restore(
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> dict[str, torch.Tensor]:
    """Load modules and optimizers in place; return the RNG state tensors."""
    for name, module in modules.items():
        prefix = f"{name}/"
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, opt in optimizers.items():
        opt.load_state_dict(_unflatten_optimizer(meta["optimizers"][name], tensors))
    return {k[len("rng/"):]: v for k, v in tensors.items() if k.startswith("rng/")}

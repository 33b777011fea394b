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
removed by the next save. Loading checks ``meta.json`` (an object with whole-number
``step``/``epoch``/``batch`` and well-formed optimizer states) and refuses a damaged
checkpoint with one line naming the file; it does not fall back to an older one by
itself (that would lose steps unseen, and the damaged folder would shadow the same
step when it is written again), but names the newest earlier one that looks intact.
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


def _kind(value: Any) -> str:
    """A JSON value's type in words."""
    if isinstance(value, bool):
        return "true/false"
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(type(value), "a number")


def _whole(value: Any) -> bool:
    return type(value) is int and value >= 0


def _setting(value: Any) -> bool:
    """An optimizer hyper-parameter: a number, true/false, null or a list of numbers (betas, params)."""
    if isinstance(value, list):
        return all(type(v) in (int, float) for v in value)
    return value is None or type(value) in (int, float, bool)


def _optimizer_problem(name: str, data: Any, tensors: set[str] | None) -> str | None:
    where = f"optimizers.{name}"
    if not (isinstance(data, dict) and isinstance(data.get("state"), dict)
            and isinstance(data.get("param_groups"), list)):
        return f"'{where}' is not an object with a 'state' object and a 'param_groups' list"
    for k, group in enumerate(data["param_groups"]):
        if not (isinstance(group, dict) and isinstance(group.get("params"), list)
                and all(_whole(p) for p in group["params"]) and all(map(_setting, group.values()))):
            return f"'{where}.param_groups.{k}' is not an object of parameter numbers and numeric settings"
    for pid, values in data["state"].items():
        if not (pid.isdigit() and isinstance(values, dict)):
            return f"'{where}.state.{pid}' is not an object under a parameter number"
        for key, value in values.items():
            if isinstance(value, dict):
                if not isinstance(value.get("tensor"), str):
                    return f"'{where}.state.{pid}.{key}' is an object without a 'tensor' name"
                if tensors is not None and value["tensor"] not in tensors:
                    return f"'{where}.state.{pid}.{key}' names the tensor {value['tensor']!r}, which {TENSORS} lacks"
            elif not _setting(value):
                return f"'{where}.state.{pid}.{key}' is {_kind(value)}"
    return None


def meta_problem(meta: Any, step: int | None, tensors: set[str] | None = None) -> str | None:
    """What is wrong with a checkpoint's ``meta.json`` (already parsed), or None.

    ``step``: the step its folder name gives (None: not checked); ``tensors``: the names
    ``tensors.safetensors`` holds (None: references to them not checked).
    """
    if not isinstance(meta, dict):
        return f"holds {_kind(meta)}, not an object"
    missing = [key for key in ("step", "epoch", "batch", "optimizers") if key not in meta]
    if missing:
        return f"no {', '.join(map(repr, missing))}"
    for key in ("step", "epoch", "batch"):
        if not _whole(meta[key]):
            return f"{key!r} is {_kind(meta[key])} ({json.dumps(meta[key])[:40]}), not a whole number >= 0"
    if step is not None and meta["step"] != step:
        return f"'step' is {meta['step']}, but the folder is {checkpoint_name(step)}"
    if not isinstance(meta["optimizers"], dict):
        return f"'optimizers' is {_kind(meta['optimizers'])}, not an object"
    if meta.get("scaler") is not None and not isinstance(meta["scaler"], dict):
        return f"'scaler' is {_kind(meta['scaler'])}, not an object"
    for name, data in meta["optimizers"].items():
        problem = _optimizer_problem(name, data, tensors)
        if problem:
            return problem
    return None


def _folder_step(path: Path) -> int | None:
    digits = path.name[len(PREFIX):]
    return int(digits) if path.name.startswith(PREFIX) and digits.isdigit() else None


def _read_meta(path: Path) -> Any:
    return json.loads((path / META).read_text())


def _damaged(path: Path, file: str, problem: str) -> VgpredError:
    """The one-line error for a damaged checkpoint, naming the file and the newest earlier one whose meta.json reads."""
    def intact(earlier: Path) -> bool:
        try:
            return meta_problem(_read_meta(earlier), _folder_step(earlier)) is None
        except (OSError, ValueError, RecursionError):
            return False

    earlier = [p for p in list_checkpoints(path.parent) if p.name < path.name]
    good = next((p for p in reversed(earlier) if intact(p)), None)
    if good is not None:
        hint = (f"the previous checkpoint {good.name} looks intact: move {path.name} out of {path.parent} to resume "
                "from it")
    else:
        hint = (f"no earlier checkpoint is intact (to begin the run again from step 0, remove {path.parent} and add "
                "--restart)")
    return VgpredError(f"{path / file}: damaged checkpoint ({problem}); nothing was changed; {hint}")


def _first_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return (text[:200] + "...") if len(text) > 200 else (text or type(err).__name__)


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint folder -> (tensors, meta); a damaged one raises an error naming the file and the newest
    earlier checkpoint that looks intact."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        meta = _read_meta(path)
    except (OSError, ValueError, RecursionError) as err:
        what = "invalid JSON: " if isinstance(err, ValueError) else ""
        raise _damaged(path, META, what + (str(err).splitlines()[0] if str(err) else type(err).__name__)) from None
    problem = meta_problem(meta, _folder_step(path))
    if problem:
        raise _damaged(path, META, problem)
    try:
        tensors = load_file(str(path / TENSORS))
    except (OSError, ValueError, SafetensorError) as err:
        raise _damaged(path, TENSORS, _first_line(err)) from None
    problem = meta_problem(meta, None, set(tensors))
    if problem:
        raise _damaged(path, META, problem)
    return tensors, meta


def restore(
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    source: Path | None = None,
) -> dict[str, torch.Tensor]:
    """Load modules and optimizers in place; return the RNG state tensors. Errors name ``source``'s files."""
    source = source or Path("checkpoint")
    for name, module in modules.items():
        prefix = f"{name}/"
        try:
            module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        except RuntimeError as err:
            raise VgpredError(f"{source / TENSORS}: the {name} weights do not fit the run's network "
                              f"({_first_line(err)})") from None
    for name, opt in optimizers.items():
        if name not in meta["optimizers"]:
            raise _damaged(source, META, f"no 'optimizers.{name}'")
        try:
            opt.load_state_dict(_unflatten_optimizer(meta["optimizers"][name], tensors))
        except (ValueError, KeyError, TypeError, RuntimeError) as err:
            raise _damaged(source, META, f"'optimizers.{name}' does not fit the run's optimizer: {_first_line(err)}")
    return {k[len("rng/"):]: v for k, v in tensors.items() if k.startswith("rng/")}

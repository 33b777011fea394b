"""Numbered run folders: config, metrics, samples, checkpoints, export, plots.

Only the main process writes; on other ranks every method is a no-op.

One process trains a run at a time. A new run's number is claimed exclusively (two
runs started at once never share one), and the process training a run holds an
advisory lock on ``RUN/.lock`` (with its PID and host written inside) until it ends;
the kernel releases it when the process dies, however it dies. Used as a context
manager, a :class:`RunDir` holds that lock, and removes a folder it made itself when
training fails before leaving anything to keep (a checkpoint, a metrics row, a sample).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

from vgpred import __version__
from vgpred.config import Config, to_dict
from vgpred.errors import UsageError, VgpredError
from vgpred.train.checkpoint import list_checkpoints

try:
    import fcntl
except ImportError:  # Windows: no advisory locks there, runs train unguarded
    fcntl = None

RUN_PATTERN = re.compile(r"^(\d{5})-")
SAMPLE_SEED = 1234
LOCK = ".lock"  # held by the process training the run; holds {"pid", "host", "since"}
CLAIM = ".claim-"  # ``root/.claim-00007``: a process is making run 00007 (for microseconds)
RESTART_CLEARS = ("metrics.jsonl", "samples", "export", "loss.png", "checkpoints")


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()[:40] or "data"


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix_str(self, s: str) -> None: ...
    def close(self) -> None: ...


def _numbers(root: Path) -> set[int]:
    """The run numbers taken in ``root``."""
    return {int(m.group(1)) for p in root.iterdir() if (m := RUN_PATTERN.match(p.name))}


def _make_numbered(root: Path, name: Callable[[int], str]) -> Path:
    """``mkdir root/name(N)`` for the lowest number N above the taken ones that no other process takes.

    A number is claimed by making ``root/.claim-NNNNN`` (``mkdir`` is exclusive, on NFS
    too); the claimer lists again (a run made since the first listing wins its number),
    makes its folder and drops the claim. A number that is claimed or taken is skipped.
    """
    number = max(_numbers(root), default=-1) + 1
    while True:
        claim = root / f"{CLAIM}{number:05d}"
        try:
            claim.mkdir()
        except FileExistsError:  # another process is making this number's run
            number += 1
            continue
        try:
            if number not in _numbers(root):
                path = root / name(number)
                path.mkdir()  # exists only when made outside vgpred: then the next number
                return path
        except FileExistsError:
            pass
        finally:
            claim.rmdir()
        number += 1


def _holder(lock: Path) -> str:
    """Who holds a run's lock, as its ``.lock`` file says."""
    try:
        info = json.loads(lock.read_text())
        return f"process {int(info['pid'])} on {info['host']} (since {info['since']})"
    except (OSError, ValueError, TypeError, KeyError):  # being written, or written by something else
        return "another process"


def _row_step(line: str) -> float:
    """The step of one metrics.jsonl row (a damaged row counts as kept: it is not ours to judge)."""
    try:
        step = json.loads(line).get("step")
    except (ValueError, AttributeError):
        return float("-inf")
    return step if isinstance(step, (int, float)) else float("-inf")


class RunDir:
    def __init__(self, path: Path, enabled: bool = True):
        self.path, self.enabled = Path(path), enabled
        self.checkpoints = self.path / "checkpoints"
        self.made = False  # made by this process: removed again if training fails before it holds anything
        self._lock: int | None = None  # the descriptor of RUN/.lock while this process holds it

    # --- creation -------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, cfg: Config, data: Path, enabled: bool = True) -> "RunDir":
        """A new folder ``root/NNNNN-<mode>-<data name>`` holding the resolved config, locked by this process."""
        import yaml

        root = Path(root)
        if not enabled:
            return cls(root / "_not_main", enabled=False)
        try:
            root.mkdir(parents=True, exist_ok=True)
            run = cls(_make_numbered(root, lambda n: f"{n:05d}-{cfg.model.mode}-{_slug(data.resolve().name)}"))
        except OSError as err:
            raise VgpredError(f"--out {root}: cannot make a run folder there ({err.strerror or err})") from None
        run.made = True
        try:
            run.lock()
            (run.path / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
            info = {"data": str(data.resolve()), "vgpred_version": __version__,
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}
            (run.path / "run.json").write_text(json.dumps(info, indent=2) + "\n")
        except BaseException as err:
            run.__exit__(type(err), err, None)
            if isinstance(err, OSError):
                raise VgpredError(f"{run.path}: could not write the run folder ({err.strerror or err})") from None
            raise
        return run

    @classmethod
    def resume(cls, path: str | Path, enabled: bool = True) -> "RunDir":
        path = Path(path)
        if not (path / "config.yaml").is_file():
            raise VgpredError(f"{path}: not a vgpred run folder (no config.yaml)")
        return cls(path, enabled=enabled)

    # --- one process per run ----------------------------------------------------------
    def lock(self) -> None:
        """Hold ``RUN/.lock`` until :meth:`release` or the end of the process; refuse a run another process trains."""
        if not self.enabled or self._lock is not None or fcntl is None:
            return
        path = self.path / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # no O_TRUNC: the holder's PID stays readable
        except OSError as err:
            raise VgpredError(f"{path}: cannot open the run's lock file ({err.strerror or err})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise VgpredError(f"{self.path}: the run is being trained by {_holder(path)}, which holds {path}; one "
                              "process trains a run at a time: wait for it to end, or stop it first") from None
        except OSError as err:  # a file system without locks (some network mounts): train, but say so
            os.close(fd)
            self.log_event(f"warning: {path}: the file system does not lock files ({err.strerror}); nothing stops "
                           "a second process from training this run at the same time")
            return
        self._lock = fd
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n").encode())

    def release(self) -> None:
        """Let another process train the run (the lock file is emptied: it names no holder)."""
        if self._lock is not None:
            try:
                os.ftruncate(self._lock, 0)
            except OSError:
                pass
            os.close(self._lock)
            self._lock = None

    def holds_results(self) -> bool:
        """Whether training left something to keep here: a checkpoint, a metrics row or a sample."""
        return bool(list_checkpoints(self.checkpoints)) or any(
            (self.path / name).exists() for name in ("metrics.jsonl", "samples"))

    def __enter__(self) -> "RunDir":
        self.lock()
        return self

    def __exit__(self, kind, error, trace) -> None:
        """Release the lock; a folder this process made is removed when training failed before holding anything."""
        try:
            if kind is not None and self.made and self.enabled and not self.holds_results():
                shutil.rmtree(self.path, ignore_errors=True)
        finally:
            self.release()

    def check_start(self, restart: bool) -> None:
        """``--resume`` continues from the newest checkpoint; a run without one is refused unless ``restart``,
        which is refused for a run with one (it would be lost)."""
        found = list_checkpoints(self.checkpoints)
        if found and restart:
            raise UsageError(f"--restart: {self.path} has the checkpoint {found[-1].name}, which --resume continues "
                             "from; --restart only begins again a run without any checkpoint")
        if not found and not restart:
            raise UsageError(f"--resume {self.path}: the run has no checkpoint in {self.checkpoints} to continue "
                             "from; add --restart to begin it again from step 0 (its metrics.jsonl, samples/ and "
                             "export/ are deleted)")

    def clear_for_restart(self) -> None:
        """``--restart``: delete what an earlier start wrote (metrics, samples, export, plot, checkpoint leftovers);
        config.yaml, run.json and log.txt stay."""
        if not self.enabled:
            return
        removed = []
        for name in RESTART_CLEARS:
            target = self.path / name
            if target.is_dir():
                if any(target.iterdir()):  # an empty one (checkpoints/ emptied by hand) goes unmentioned
                    removed.append(f"{name}/")
                shutil.rmtree(target)
            elif target.exists():
                removed.append(name)
                target.unlink()
        self.log_event(f"restarted from step 0 (--restart); removed {', '.join(removed) or 'nothing'}")

    def record_config(self, cfg: Config) -> list[str]:
        """Rewrite ``config.yaml`` with a resumed segment's settings, so that a later plain ``--resume``
        continues with them; returns the changes (``train.steps: 2000 -> 4000``), empty when none."""
        import yaml

        path = self.path / "config.yaml"
        old, new = yaml.safe_load(path.read_text()) or {}, to_dict(cfg)
        changes = [f"{section}.{key}: {old.get(section, {}).get(key)!r} -> {value!r}"
                   for section, values in new.items() for key, value in values.items()
                   if old.get(section, {}).get(key) != value]
        if changes and self.enabled:
            temp = path.with_name(path.name + ".tmp")
            temp.write_text(yaml.safe_dump(new, sort_keys=False))
            temp.replace(path)
        return changes

    def add_segment(self, hardware: str) -> None:
        """Append this process's hardware to ``run.json``'s ``segments`` (one per start or resume)."""
        if not self.enabled:
            return
        info_path = self.path / "run.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        info.setdefault("segments", []).append({"started": time.strftime("%Y-%m-%d %H:%M:%S"), "hardware": hardware})
        temp = info_path.with_name(info_path.name + ".tmp")
        temp.write_text(json.dumps(info, indent=2) + "\n")
        temp.replace(info_path)

    @staticmethod
    def data_path(path: str | Path) -> str | None:
        info = Path(path) / "run.json"
        return json.loads(info.read_text()).get("data") if info.is_file() else None

    # --- logging --------------------------------------------------------------------
    def log_event(self, message: str) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        tqdm.write(f"vgpred: {message}", file=sys.stderr)
        with open(self.path / "log.txt", "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def log_metrics(self, row: dict[str, Any]) -> None:
        if self.enabled:
            with open(self.path / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")

    def drop_metrics_after(self, step: int) -> int:
        """Remove the metrics rows of steps after ``step``; returns how many were removed.

        A run resumed from a checkpoint older than its last logged step (it crashed, or was
        killed, between checkpoints) trains those steps again: their old rows go, so each
        step is logged once.
        """
        metrics = self.path / "metrics.jsonl"
        if not self.enabled or not metrics.is_file():
            return 0
        lines = [line for line in metrics.read_text().splitlines() if line.strip()]
        kept = [line for line in lines if _row_step(line) <= step]
        if len(kept) < len(lines):
            from vgpred.io.atomic import atomic_write_bytes

            atomic_write_bytes(metrics, lambda f: f.write("".join(line + "\n" for line in kept).encode()))
        return len(lines) - len(kept)

    def progress(self, total: int, initial: int, enabled: bool):
        if not (enabled and self.enabled):
            return _NoBar()
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True, file=sys.stderr)

    # --- samples and export ---------------------------------------------------------
    def fixed_inputs(self, dataset, model, cfg: Config) -> dict[str, torch.Tensor | None]:
        """The same noise, labels and conditioning frames for every sample grid of a run."""
        n = min(cfg.train.num_samples, len(dataset))
        gen = torch.Generator().manual_seed(SAMPLE_SEED)
        idx = torch.linspace(0, len(dataset) - 1, n).round().long().tolist()
        clips = [dataset[i] for i in idx] if model.needs_image or model.needs_label else []
        z = torch.randn(n, cfg.model.latent_dim, generator=gen)
        labels = None
        if model.needs_label:
            labels = torch.arange(n) % cfg.model.num_classes
        images = torch.stack([model.context_from(c[0][None])[0] for c in clips]) if model.needs_image else None
        return {"z": z, "label": labels, "image": images}

    @torch.no_grad()
    def write_samples(self, model, fixed: dict[str, torch.Tensor | None], step: int) -> None:
        """``samples/step-NNNNNNN.mp4`` (a grid) and a PNG contact sheet of the same videos."""
        if not self.enabled:
            return
        from vgpred.io.video import make_grid, save_frames_png, write_video

        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        as_dev = {k: (v.to(device) if v is not None else None) for k, v in fixed.items()}
        videos = model(as_dev["z"], as_dev["label"], as_dev["image"]).video.float().cpu()
        model.train(was_training)
        folder = self.path / "samples"
        folder.mkdir(exist_ok=True)
        save_frames_png(folder / f"step-{step:07d}.png", videos)
        try:  # a sample that cannot be encoded (no PyAV, a full disk) must not end the run
            write_video(folder / f"step-{step:07d}.mp4", make_grid(videos), fps=model.cfg.fps, scale=2)
        except VgpredError as e:
            self.log_event(f"warning: sample video not written ({e}); training goes on")

    def export(self, model, info: dict[str, Any]) -> Path | None:
        if not self.enabled:
            return None
        from vgpred.modelfile import save_model

        path = save_model(model, self.path / "export", extra=info)
        self.log_event(f"exported {path}")
        return path

    def plot_losses(self) -> Path | None:
        """``loss.png``: every loss and D output in metrics.jsonl against the step."""
        metrics = self.path / "metrics.jsonl"
        if not self.enabled or not metrics.is_file():
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
        keys = [k for k in ("loss_d", "loss_g", "recon_l1", "video_l1", "d_real", "d_fake") if any(k in r for r in rows)]
        fig, ax = plt.subplots(figsize=(7, 4))
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if k in r]
            ax.plot(*zip(*pts), label=k)
        ax.set_xlabel("step")
        ax.set_title(self.path.name)
        ax.legend()
        ax.grid(alpha=0.3)
        out = self.path / "loss.png"
        fig.tight_layout()
        fig.savefig(out, dpi=100)
        plt.close(fig)
        return out

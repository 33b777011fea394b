"""Numbered run folders: config, metrics, samples, checkpoints, export, plots.

Only the main process writes; on other ranks every method is a no-op.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch

from vgpred import __version__
from vgpred.config import Config, to_dict
from vgpred.errors import VgpredError

RUN_PATTERN = re.compile(r"^(\d{5})-")
SAMPLE_SEED = 1234


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()[:40] or "data"


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix_str(self, s: str) -> None: ...
    def close(self) -> None: ...


class RunDir:
    def __init__(self, path: Path, enabled: bool = True):
        self.path, self.enabled = Path(path), enabled
        self.checkpoints = self.path / "checkpoints"

    # --- creation -------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, cfg: Config, data: Path, enabled: bool = True) -> "RunDir":
        """A new folder ``root/NNNNN-<mode>-<data name>`` holding the resolved config."""
        import yaml

        root = Path(root)
        if not enabled:
            return cls(root / "_not_main", enabled=False)
        root.mkdir(parents=True, exist_ok=True)
        numbers = [int(m.group(1)) for p in root.iterdir() if (m := RUN_PATTERN.match(p.name))]
        path = root / f"{max(numbers, default=-1) + 1:05d}-{cfg.model.mode}-{_slug(data.resolve().name)}"
        path.mkdir()
        (path / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        info = {"data": str(data.resolve()), "vgpred_version": __version__, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join(sys.argv)}
        (path / "run.json").write_text(json.dumps(info, indent=2) + "\n")
        return cls(path)

    @classmethod
    def resume(cls, path: str | Path, enabled: bool = True) -> "RunDir":
        path = Path(path)
        if not (path / "config.yaml").is_file():
            raise VgpredError(f"{path}: not a vgpred run folder (no config.yaml)")
        return cls(path, enabled=enabled)

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
        images = torch.stack([c[0][:, 0] for c in clips]) if model.needs_image else None
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

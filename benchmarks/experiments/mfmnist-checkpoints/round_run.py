"""Cut a run folder back to one of its checkpoints, so that it reads as a run of that many steps.

    python benchmarks/experiments/mfmnist-checkpoints/round_run.py RUN MULTIPLE REASON
    # keeps the last checkpoint at a multiple of MULTIPLE

The checkpoints after the kept one, the metrics rows after its step and any export
(made at a later step) are dropped, ``train.steps`` in config.yaml is set to its step
and log.txt says why. The recipes'
learning rates are constant, so the folder then equals a run trained for that many
steps; ``vgpred train --resume RUN --steps N`` exports it. Used by
``gpu_variants.sh`` (runs stopped by a wall-clock deadline) and
``mfmnist_checkpoints.py`` (one copy of a run per scored checkpoint).
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path


def checkpoints(run: Path) -> dict[int, Path]:
    """The run's checkpoint folders (``checkpoints/step-NNNNNNN``) by step, in order."""
    found = {int(p.name[5:]): p for p in (run / "checkpoints").glob("step-*")
             if p.is_dir() and re.fullmatch(r"step-\d+", p.name)}
    return dict(sorted(found.items()))


def keep_checkpoint(run: Path, keep: int, reason: str) -> None:
    """Cut ``run`` back to its checkpoint of step ``keep`` (which must exist)."""
    import yaml

    found = checkpoints(run)
    if keep not in found:
        raise SystemExit(f"{run}: no checkpoint of step {keep} (it has {', '.join(map(str, found)) or 'none'})")
    for step, folder in found.items():
        if step > keep:
            shutil.rmtree(folder)
    if (run / "export").exists():  # the model of the run's last step; `vgpred train --resume` exports the kept one
        shutil.rmtree(run / "export")
    metrics = run / "metrics.jsonl"
    if metrics.is_file():  # absent before the first train.log_every steps
        rows = [line for line in metrics.read_text().splitlines() if line.strip()]
        metrics.write_text("".join(f"{line}\n" for line in rows if json.loads(line).get("step", 0) <= keep))
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["train"]["steps"] = keep
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    with open(run / "log.txt", "a") as f:
        f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {reason}; kept the checkpoint of step {keep}; "
                f"train.steps set to {keep}\n")


def main(argv: list[str]) -> None:
    if len(argv) != 3 or not argv[1].isdigit() or int(argv[1]) < 1:
        raise SystemExit("usage: python benchmarks/experiments/mfmnist-checkpoints/round_run.py RUN MULTIPLE REASON")
    run, multiple, reason = Path(argv[0]), int(argv[1]), argv[2]
    steps = list(checkpoints(run))
    kept = [s for s in steps if s % multiple == 0]
    if not kept:
        raise SystemExit(f"{run}: no checkpoint at a multiple of {multiple} steps")
    keep_checkpoint(run, kept[-1], f"{reason} at step {steps[-1]}")
    print(kept[-1])


if __name__ == "__main__":
    main(sys.argv[1:])

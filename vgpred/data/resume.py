"""Resumable cache writing: a state file of finished shards, shard sizing, progress bars.

While a cache is being written its folder holds ``prepare-state.json``: the settings,
the shards finished so far and where the input stood after the last one. A re-run
with the same settings continues after the last finished shard (first deleting the
temporary file of the shard a killed run was writing); the state file is removed
once ``index.json`` is written.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgpred.data.cache import INDEX_NAME, atomic_write_json
from vgpred.errors import VgpredError
from vgpred.io.atomic import remove_stale_temps

STATE_NAME = "prepare-state.json"
CACHE_FILES = re.compile(r"shard-\d+\.(clips|labels|digits)\.npy|index\.json|prepare-state\.json")
SHARD_BYTES = 256 * 2**20


def shard_size_for(frames: int, size: int, channels: int) -> int:
    """Clips per shard so that a shard holds about 256 MiB."""
    return max(1, SHARD_BYTES // (frames * size * size * channels))


@dataclass
class ResumeState:
    """Finished shards and input position of a partly written cache folder."""

    dst: Path
    settings: dict
    shards: list[dict] = field(default_factory=list)
    position: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, dst: Path, settings: dict) -> "ResumeState":
        """State of ``dst`` for ``settings``: empty for a new or empty folder, else the saved one."""
        dst = Path(dst)
        remove_stale_temps(dst, CACHE_FILES)  # shards a killed run was writing (up to 256 MiB each)
        path = dst / STATE_NAME
        if path.is_file():
            try:
                saved = json.loads(path.read_bytes().decode("utf-8"))
                shard_names = [s["clips"] for s in saved["shards"]]
                if not all(isinstance(name, str) for name in shard_names):
                    raise ValueError("shard file names must be strings")
            except (OSError, ValueError, RecursionError, KeyError, TypeError) as err:
                raise VgpredError(f"{path}: unreadable preparation state ({type(err).__name__}: {err}); "
                                  "delete the folder") from None
            if saved.get("settings") != settings:
                raise VgpredError(f"{dst}: holds an unfinished cache prepared with other settings; "
                                  "use another folder or delete it")
            shards = [s for s in saved["shards"] if (dst / s["clips"]).is_file()]
            if len(shards) == len(saved["shards"]):
                return cls(dst, settings, shards, saved.get("position", {}))
            return cls(dst, settings)
        if dst.exists() and (not dst.is_dir() or any(p.name != INDEX_NAME for p in dst.iterdir())):
            raise VgpredError(f"{dst}: exists and is not an empty folder or a clip cache")
        return cls(dst, settings)

    def save(self, shards: list[dict], position: dict[str, Any]) -> None:
        """Record the finished ``shards`` and the input ``position`` after them."""
        self.shards, self.position = list(shards), dict(position)
        atomic_write_json(self.dst / STATE_NAME,
                          {"settings": self.settings, "shards": self.shards, "position": self.position})

    def clear(self) -> None:
        (self.dst / STATE_NAME).unlink(missing_ok=True)


def progress_bar(total: int | None, desc: str, enabled: bool, initial: int = 0, unit: str = "clip"):
    """A tqdm bar on stderr (silent when disabled or when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, initial=initial, unit=unit, file=sys.stderr,
                disable=not enabled or None, dynamic_ncols=True)

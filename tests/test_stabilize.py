"""Stabilisation: known camera motion is removed to under a pixel; failures are dropped and counted."""
from __future__ import annotations

from pathlib import Path

import math

import numpy as np
import pytest
import torch
from kornia.geometry.transform import warp_perspective
from PIL import Image

from conftest import skimage_photo
from vgpred.data import open_dataset, prepare
from vgpred.data.stabilize import StabilizationFailed, Stabilizer, residual_motion
from vgpred.errors import VgpredError


def _shaky_clip(frames: int = 8, side: int = 128) -> tuple[np.ndarray, torch.Tensor]:
    """A clip of a photo filmed by a moving camera, and the true motion (frame 0 -> frame t)."""
    photo = Image.open(skimage_photo("astronaut.png")).convert("RGB").resize((256, 256))
    scene = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float()[None] / 255
    motion = []
    for t in range(frames):  # pan, rotate and tilt a little more each frame
        a = 0.01 * t
        motion.append(torch.tensor([[math.cos(a), -math.sin(a), 2.3 * t],
                                    [math.sin(a), math.cos(a), -1.7 * t],
                                    [1e-4 * t, 0.0, 1.0]]))
    motion = torch.stack(motion)
    to_view = torch.tensor([[1.0, 0, -64], [0, 1.0, -64], [0, 0, 1.0]])
    views = warp_perspective(scene.expand(frames, -1, -1, -1), motion @ to_view, (side, side))
    clip = (views * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return clip, motion


def test_known_camera_motion_leaves_under_one_pixel() -> None:
    clip, motion = _shaky_clip(frames=5)
    stab = Stabilizer()
    homs = stab.homographies(torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255)
    residual = residual_motion(homs, motion, 128, 128)
    assert residual < 1.0, residual
    assert residual_motion(torch.eye(3).expand(5, 3, 3), motion, 128, 128) > 3  # the camera moved
    out = stab(clip)
    assert out.shape == clip.shape and out.dtype == np.uint8
    inner = (slice(None), slice(32, 96), slice(32, 96))  # away from the borders that enter the view
    before = np.abs(clip[1:].astype(int) - clip[:1])[inner].mean()
    after = np.abs(out[1:].astype(int) - out[:1])[inner].mean()
    assert after < before / 4


def test_featureless_clip_fails() -> None:
    flat = np.full((2, 64, 64, 3), 128, np.uint8)
    with pytest.raises(StabilizationFailed):
        Stabilizer()(flat)


def test_prepare_drops_and_counts_failed_clips(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for name, clip in (("shaky", _shaky_clip(frames=3)[0]), ("flat", np.full((3, 64, 64, 3), 90, np.uint8))):
        (src / name).mkdir(parents=True)
        for t, frame in enumerate(clip):
            Image.fromarray(frame).save(src / name / f"{t}.png")
    summary = prepare(src, tmp_path / "cache", 32, 3, stabilize=True, progress=False)
    assert (summary.clips_written, summary.stabilization_failures) == (1, 1)
    assert "dropped 1 clips whose stabilisation failed" in summary.report()
    assert open_dataset(tmp_path / "cache").uint8(0).shape == (3, 32, 32, 3)
    with pytest.raises(VgpredError, match="failed stabilisation"):
        prepare(src / "flat", tmp_path / "none", 32, 3, stabilize=True, progress=False)

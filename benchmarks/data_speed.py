"""Data pipeline figures: loader clips/s, `data prepare` clips/s with and without
--stabilize, and the residual motion left by stabilisation.

    python benchmarks/data_speed.py            # writes benchmarks/results/data_speed.{md,json}
    python benchmarks/data_speed.py --quick    # seconds, tiny sizes

* loader: a 64x64x32 RGB clip cache (random content, 512 clips) read by the training
  loader (`vgpred.data.make_loader`, batch 32) with 0/1/2 workers, with and without
  crop+flip augmentation; two epochs after one warm-up batch;
* prepare: `vgpred data prepare` on opencv-doc's vtest.avi (768x576, 10 fps,
  static camera) at 64x64x32, all clips and 8 clips, and 8 clips with --stabilize;
* residual motion: a 128x128, 16-frame clip made from scikit-image's astronaut photo
  under a known camera pan + rotation + tilt (:func:`shaky_clip`, the same motion as
  the clip of ``tests/test_stabilize.py``), stabilised, and
  the mean/worst distance in pixels between where the known motion and the estimated
  homography send the frame's corners.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vgpred.data import ClipAugment, make_loader, open_dataset  # noqa: E402
from vgpred.data.cache import ShardWriter  # noqa: E402
from vgpred.io.atomic import atomic_write  # noqa: E402

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def loader_speed(work: Path, clips: int, frames: int) -> list[dict]:
    writer = ShardWriter(work / "cache", frames, 64, 3, 128)
    rng = np.random.default_rng(0)
    for i in range(clips):
        writer.add(rng.integers(0, 256, (frames, 64, 64, 3), dtype=np.uint8), i % 4)
    writer.finish([str(i) for i in range(4)], "random", {})
    ds = open_dataset(work / "cache")
    rows = []
    for workers in (0, 1, 2):
        for aug in (None, ClipAugment()):
            loader = make_loader(ds, 32, seed=0, num_workers=workers, augment=aug)
            it = iter(loader)
            next(it)
            start, n = time.perf_counter(), 0
            for batch, _ in it:
                n += batch.shape[0]
            for batch, _ in loader:
                n += batch.shape[0]
            rows.append({"workers": workers, "augment": "crop+flip" if aug else "none",
                         "clips_per_s": n / (time.perf_counter() - start)})
    return rows


def prepare_speed(work: Path, quick: bool) -> list[dict]:
    runs = [("all clips", []), ("8 clips", ["--clips-per-video", "8"]),
            ("8 clips, --stabilize", ["--clips-per-video", "8", "--stabilize"])]
    if quick:
        runs = [("2 clips", ["--clips-per-video", "2"]), ("1 clip, --stabilize", ["--clips-per-video", "1", "--stabilize"])]
    rows = []
    for i, (name, extra) in enumerate(runs):
        dst = work / f"prep{i}"
        cmd = [sys.executable, "-m", "vgpred", "data", "prepare", str(VTEST), str(dst), "--size", "64", "--frames", "32",
               "--no-progress", *extra]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        written = json.loads((dst / "index.json").read_text())["num_clips"]
        rows.append({"run": name, "clips": written, "seconds": seconds, "clips_per_s": written / seconds})
    return rows


def shaky_clip(frames: int, side: int = 128) -> tuple[np.ndarray, torch.Tensor]:
    """scikit-image's astronaut photo filmed by a camera that pans, rotates and tilts a little
    more each frame: the clip ``(T, side, side, 3)`` uint8 and the true motion ``(T, 3, 3)`` (frame 0 -> t)."""
    import skimage.data
    from kornia.geometry.transform import warp_perspective
    from PIL import Image

    photo = Image.open(Path(skimage.data.__file__).parent / "astronaut.png").convert("RGB").resize((256, 256))
    scene = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float()[None] / 255
    motion = torch.stack([torch.tensor([[math.cos(0.01 * t), -math.sin(0.01 * t), 2.3 * t],
                                        [math.sin(0.01 * t), math.cos(0.01 * t), -1.7 * t],
                                        [1e-4 * t, 0.0, 1.0]]) for t in range(frames)])
    to_view = torch.tensor([[1.0, 0, -64], [0, 1.0, -64], [0, 0, 1.0]])
    views = warp_perspective(scene.expand(frames, -1, -1, -1), motion @ to_view, (side, side))
    return (views * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy(), motion


def residual() -> dict:
    from vgpred.data.stabilize import Stabilizer, residual_motion

    clip, motion = shaky_clip(frames=16)
    x = torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255
    homs = Stabilizer().homographies(x)
    per_frame = [residual_motion(homs[t:t + 1], motion[t:t + 1], 128, 128) for t in range(16)]
    before = residual_motion(torch.eye(3).expand(16, 3, 3), motion, 128, 128)
    return {"camera_motion_px": float(before), "residual_mean_px": float(sum(per_frame) / 16),
            "residual_worst_px": float(max(per_frame))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, seconds")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    command = shlex.join(["python", "benchmarks/data_speed.py", *sys.argv[1:]])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = {"command": command, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "torch_threads": torch.get_num_threads(),
                  "loader": loader_speed(work, 64 if args.quick else 512, 8 if args.quick else 32),
                  "prepare": prepare_speed(work, args.quick), "stabilisation": residual()}
    lines = ["# Data pipeline speed", "", f"Command: `{command}` ({result['date']}, 2 CPU cores, shared machine)", "",
             "## Training loader, clip cache 64x64x32 RGB, batch 32", "", "| workers | augmentation | clips/s |",
             "|---|---|---|"]
    lines += [f"| {r['workers']} | {r['augment']} | {r['clips_per_s']:.0f} |" for r in result["loader"]]
    lines += ["", "## `vgpred data prepare` on vtest.avi (768x576) to 64x64x32", "", "| run | clips | seconds | clips/s |",
              "|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['clips']} | {r['seconds']:.1f} | {r['clips_per_s']:.2f} |" for r in result["prepare"]]
    s = result["stabilisation"]
    lines += ["", "## Stabilisation residual", "",
              f"Known camera motion {s['camera_motion_px']:.2f} px on average; after stabilisation "
              f"{s['residual_mean_px']:.3f} px on average, worst frame {s['residual_worst_px']:.3f} px "
              "(16 frames, 128x128).", ""]
    out = args.out / ("smoke" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "data_speed.md", lambda p: p.write_text("\n".join(lines)))
    atomic_write(out / "data_speed.json", lambda p: p.write_text(json.dumps(result, indent=1)))
    print("\n".join(lines))
    print(f"reproduce: {command}")


if __name__ == "__main__":
    main()

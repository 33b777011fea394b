"""BAIR robot pushing (``softmotion30_44k``) from its TFRecord shards, without TensorFlow.

Layout: ``SRC/train/*.tfrecords`` and ``SRC/test/*.tfrecords`` (e.g.
``traj_0_to_255.tfrecords``), read in natural name order. Each record is a
``tf.train.Example`` of one trajectory; frame ``t`` is the bytes feature
``{t}/image_aux1/encoded`` holding raw uint8 64x64x3 pixels (not an encoded image),
t = 0..29, as the SAVP and SV2P data loaders read it. The other features
(``{t}/image_main/encoded``, ``{t}/action``, ``{t}/endeffector_pos``) are not used.
Every shard's framing is checked before anything is written; each record's data
checksum is checked as it is read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from vgpred.data.sources import natural_key, shown
from vgpred.data.standard.base import Item, Split
from vgpred.data.standard.tfrecord import bytes_values, parse_example, read_record, scan_records
from vgpred.data.video_folder import ClipSpec
from vgpred.errors import VgpredError

IMAGE_KEY = "{t}/image_aux1/encoded"
FRAME_SHAPE = (64, 64, 3)


def decode_frames(data: bytes, where: str) -> np.ndarray:
    """uint8 ``(T, 64, 64, 3)``: the frames ``0/image_aux1/encoded``, ``1/...``, ... of one Example."""
    features = parse_example(data, where)
    frames = []
    size = int(np.prod(FRAME_SHAPE))
    while (key := IMAGE_KEY.format(t=len(frames))) in features:
        kind, payload = features[key]
        values = bytes_values(payload, where) if kind == "bytes" else []
        if len(values) != 1 or len(values[0]) != size:
            got = f"{len(values)} values" if len(values) != 1 else f"{len(values[0])} bytes"
            raise VgpredError(f"{where}: feature {key!r} must hold one raw 64x64x3 image ({size} bytes); got {got}")
        frames.append(np.frombuffer(values[0], dtype=np.uint8).reshape(FRAME_SHAPE))
    if not frames:
        raise VgpredError(f"{where}: no BAIR frames (feature {IMAGE_KEY.format(t=0)!r} is missing)")
    return np.stack(frames)


def _shard_item(path: Path) -> Item:
    records = scan_records(path)

    def clips(spec: ClipSpec) -> Iterator[np.ndarray]:
        with open(path, "rb") as f:
            for i, (offset, length) in enumerate(records):
                where = f"{shown(path)}: record {i}"
                frames = decode_frames(read_record(f, path, i, offset, length), where)
                if spec.frames > len(frames):
                    raise VgpredError(f"{where}: holds {len(frames)} frames, fewer than --frames {spec.frames}")
                yield frames[: spec.frames]

    return Item(shown(path), -1, clips, lambda spec: len(records))


def read_split(src: Path, split: str, fold: int) -> Split:
    """The shards of ``SRC/<split>/``, their framing checked (a truncated shard fails here)."""
    folder = src / split
    if not folder.is_dir():
        raise VgpredError(f"{shown(src)}: no {split}/ folder (expected the softmotion30_44k folder with "
                          "train/ and test/ TFRecord shards)")
    paths = sorted((p for p in folder.iterdir() if p.suffix == ".tfrecords" and p.is_file()),
                   key=lambda p: natural_key(p.name))
    if not paths:
        raise VgpredError(f"{shown(folder)}: no .tfrecords files")
    items = [_shard_item(p) for p in paths]
    return Split(items, [], f"BAIR robot pushing {split} split, {len(paths)} shards in {shown(folder.resolve())}")

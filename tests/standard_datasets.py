"""Tiny standard data sets written in their distributed formats, for the readers' tests.

The real files cannot be downloaded here; these writers produce the same layouts at a
few kilobytes: a ``mnist_test_seq.npy``, a KTH folder of ``.avi`` files, a UCF-101
folder with its split lists, and BAIR ``softmotion30_44k`` TFRecord shards written byte
for byte (TFRecord framing with a bitwise CRC-32C, ``tf.train.Example`` protobuf
encoded by hand), independent of vgpred's reader.
"""
from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np


# --- Moving MNIST ------------------------------------------------------------------------------

def write_mmnist(path: Path, num: int = 5, frames: int = 20, size: int = 64, seed: int = 0) -> np.ndarray:
    """A ``mnist_test_seq.npy``-format file: uint8 ``(frames, num, size, size)``; returns the array."""
    array = np.random.default_rng(seed).integers(0, 256, (frames, num, size, size), dtype=np.uint8)
    np.save(path, array)
    return array


# --- videos (KTH, UCF-101) ---------------------------------------------------------------------

def write_avi(path: Path, level: int, frames: int = 12, width: int = 40, height: int = 30) -> None:
    """A lossless (FFV1) .avi of ``frames`` gray frames of brightness ``level``, 25 fps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((height, width, 3), level, dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def kth_level(person: int, action: str) -> int:
    """The brightness of the fixture video of ``person`` doing ``action`` (tells clips apart)."""
    return 8 * person + ("boxing", "walking").index(action) * 3


def write_kth(root: Path, persons=(1, 16, 17, 25), actions=("boxing", "walking"), frames: int = 12) -> Path:
    """``root/<action>/personXX_<action>_d1_uncomp.avi`` plus the ``00sequences.txt`` KTH ships."""
    for action in actions:
        for person in persons:
            write_avi(root / action / f"person{person:02d}_{action}_d1_uncomp.avi", kth_level(person, action), frames)
    (root / "00sequences.txt").write_text("person01_boxing_d1\t\tframes\t1-95, 96-185\n")
    return root


def write_ucf101(root: Path) -> Path:
    """``root/UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` and ``root/ucfTrainTestlist`` (fold 1); returns UCF-101/."""
    classes = ["ApplyEyeMakeup", "Archery"]
    videos = root / "UCF-101"
    train, test = [], []
    for c, name in enumerate(classes):
        for group in (1, 8):
            rel = f"{name}/v_{name}_g{group:02d}_c01.avi"
            write_avi(videos / rel, 40 + 100 * c + group, frames=6)
            (test if group < 8 else train).append(rel + (f" {c + 1}" if group >= 8 else ""))
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {n}\r\n" for i, n in enumerate(classes)))
    (lists / "trainlist01.txt").write_text("".join(line + "\r\n" for line in train))
    (lists / "testlist01.txt").write_text("".join(line + "\r\n" for line in test))
    return videos


# --- BAIR TFRecord -----------------------------------------------------------------------------

def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        for _ in range(8):
            n = (n >> 1) ^ (0x82F63B78 if n & 1 else 0)
        table.append(n)
    return table


_TABLE = _crc_table()


def crc32c_plain(data: bytes) -> int:
    """CRC-32C, one byte at a time (the textbook loop; slow, obviously right)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def example(features: dict[str, bytes | list[float]]) -> bytes:
    """A serialized ``tf.train.Example``: bytes values become a BytesList, float lists a packed FloatList."""
    entries = b""
    for key, value in features.items():
        if isinstance(value, bytes):
            feature = _field(1, _field(1, value))  # Feature.bytes_list { value }
        else:
            feature = _field(2, _field(1, struct.pack(f"<{len(value)}f", *value)))  # float_list, packed
        entries += _field(1, _field(1, key.encode()) + _field(2, feature))  # map entry {key, value}
    return _field(1, entries)  # Example.features


def bair_example(frames: np.ndarray) -> bytes:
    """One trajectory the way softmotion30_44k stores it (the frames also as the main camera)."""
    features: dict[str, bytes | list[float]] = {}
    for t, frame in enumerate(frames):
        features[f"{t}/action"] = [0.1 * t, -0.2, 0.0, 1.0]
        features[f"{t}/endeffector_pos"] = [0.5, 0.25, float(t)]
        features[f"{t}/image_aux1/encoded"] = frame.tobytes()
        features[f"{t}/image_main/encoded"] = frame[::-1].tobytes()
    return example(features)


def write_tfrecord(path: Path, records: list[bytes]) -> None:
    """TFRecord framing: length, masked CRC of the length, data, masked CRC of the data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for data in records:
            length = struct.pack("<Q", len(data))
            f.write(length + struct.pack("<I", masked(crc32c_plain(length))))
            f.write(data + struct.pack("<I", masked(crc32c_plain(data))))


def write_bair(root: Path, shards: dict[str, list[int]], frames: int = 30,
               seed: int = 0) -> dict[str, list[np.ndarray]]:
    """``root/<split>/traj_A_to_B.tfrecords`` with the given trajectories per shard, per split.

    ``shards`` maps a split to the number of trajectories in each of its shards; returns
    the trajectories, uint8 ``(frames, 64, 64, 3)``, per split in reading order.
    """
    rng = np.random.default_rng(seed)
    written: dict[str, list[np.ndarray]] = {}
    for split, counts in shards.items():
        written[split] = []
        start = 0
        for count in counts:
            trajs = [rng.integers(0, 256, (frames, 64, 64, 3), dtype=np.uint8) for _ in range(count)]
            name = f"traj_{start}_to_{start + count - 1}.tfrecords"
            write_tfrecord(root / split / name, [bair_example(x) for x in trajs])
            written[split] += trajs
            start += count
    return written

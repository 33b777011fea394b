"""Standard data sets read from their distributed formats, and the named evaluation protocols.

The fixtures (tests/standard_datasets.py) write tiny files in the real layouts; the
tests run the real CLI (``vgpred data prepare --format NAME``) and read the caches back.
"""
from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import FASHION_MNIST, assert_one_line_error, call_cli, run_cli
from standard_datasets import (bair_example, crc32c_plain, kth_level, write_bair, write_kth, write_mmnist,
                               write_tfrecord, write_ucf101)
from vgpred.data import open_dataset
from vgpred.errors import VgpredError

NO_BAR = "--no-progress"


def prepare(*args) -> None:
    result = call_cli("data", "prepare", *map(str, args), NO_BAR)
    assert result.code == 0, result.err


# --- TFRecord and CRC-32C ----------------------------------------------------------------------

def test_crc32c_matches_the_standard_check_value_and_a_plain_loop() -> None:
    from vgpred.data.standard.tfrecord import crc32c, masked_crc32c

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)
    assert crc32c(b"") == 0
    rng = np.random.default_rng(0)
    for n in (1, 255, 256, 1000, 4099, 40_000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c(data) == crc32c_plain(data), n
    assert masked_crc32c(b"\x00" * 8) == ((((crc32c_plain(b"\x00" * 8) >> 15) | (crc32c_plain(b"\x00" * 8) << 17))
                                          + 0xA282EAD8) & 0xFFFFFFFF)


# --- Moving MNIST ------------------------------------------------------------------------------

def test_mmnist_npy_becomes_a_gray_cache_of_its_sequences(tmp_path: Path) -> None:
    from vgpred.evaluation.protocols import get_protocol

    array = write_mmnist(tmp_path / "mnist_test_seq.npy", num=5)
    prepare(tmp_path / "mnist_test_seq.npy", tmp_path / "mm", "--format", "mmnist")
    ds = open_dataset(tmp_path / "mm")
    assert (len(ds), ds.frames, ds.size, ds.channels) == (5, 20, 64, 1)
    assert all(np.array_equal(ds.uint8(i)[..., 0], array[:, i]) for i in range(5))
    assert ds.meta["settings"]["split"] == "test" and ds.label(0) == -1
    assert get_protocol("mmnist-10-10").check_cache(tmp_path / "mm")["num_clips"] == 5
    prepare(tmp_path / "mnist_test_seq.npy", tmp_path / "mm10", "--format", "mmnist", "--frames", "10",
            "--size", "32")
    again = call_cli("data", "prepare", tmp_path / "mnist_test_seq.npy", tmp_path / "mm10", "--format", "mmnist",
                     "--frames", "10", "--size", "32", NO_BAR)
    assert again.code == 0 and "already complete (5 clips)" in again.out
    other = call_cli("data", "prepare", tmp_path / "mnist_test_seq.npy", tmp_path / "mm10", "--format", "mmnist", NO_BAR)
    assert_one_line_error(other, "already holds a clip cache prepared with other settings")
    small = open_dataset(tmp_path / "mm10")
    assert small.uint8(3).shape == (10, 32, 32, 1)
    with pytest.raises(VgpredError, match="needs clips of 20 frames"):
        get_protocol("mmnist-10-10").check_cache(tmp_path / "mm10")


@pytest.mark.parametrize("shape,dtype", [((20, 3, 64, 32), np.uint8), ((20, 3, 64), np.uint8),
                                         ((20, 3, 64, 64), np.float32)])
def test_mmnist_npy_of_the_wrong_shape_fails_with_one_line(tmp_path: Path, shape, dtype) -> None:
    np.save(tmp_path / "bad.npy", np.zeros(shape, dtype=dtype))
    result = call_cli("data", "prepare", tmp_path / "bad.npy", tmp_path / "out", "--format", "mmnist", NO_BAR)
    assert_one_line_error(result, "bad.npy", "(20, 10000, 64, 64)", str(shape))
    assert not (tmp_path / "out").exists()


def test_mmnist_options_that_do_not_apply_are_refused(tmp_path: Path) -> None:
    write_mmnist(tmp_path / "m.npy", num=2)
    for args, fragment in ((["--split", "train"], "test"), (["--hop", "5"], "--hop"), (["--frames", "21"], "20 frames"),
                           (["--fold", "2"], "--fold 2"), (["--stabilize"], "--stabilize")):
        result = call_cli("data", "prepare", tmp_path / "m.npy", tmp_path / "out", "--format", "mmnist", *args, NO_BAR)
        assert_one_line_error(result, fragment)
        assert not (tmp_path / "out").exists()


# --- KTH ---------------------------------------------------------------------------------------

def test_kth_keeps_the_person_split_labels_and_grayscale(tmp_path: Path) -> None:
    write_kth(tmp_path / "kth")
    for split, persons in (("test", (17, 25)), ("train", (1, 16))):
        prepare(tmp_path / "kth", tmp_path / split, "--format", "kth", "--split", split, "--frames", "4",
                "--size", "16")
        ds = open_dataset(tmp_path / split)
        assert (ds.frames, ds.size, ds.channels, len(ds)) == (4, 16, 1, 2 * 2 * 3)  # 2 actions x 2 persons x 3 clips
        assert ds.class_names == ["boxing", "handclapping", "handwaving", "jogging", "running", "walking"]
        found = {(int(ds.uint8(i).mean()), ds.label(i)) for i in range(len(ds))}
        assert found == {(kth_level(p, a), label) for p in persons for a, label in (("boxing", 0), ("walking", 5))}
        assert ds.meta["settings"]["split"] == split


def test_kth_protocol_prepare_command_gives_a_cache_the_protocol_accepts(tmp_path: Path) -> None:
    from vgpred.evaluation.protocols import get_protocol

    write_kth(tmp_path / "kth", persons=(17,), actions=("walking",), frames=40)
    protocol = get_protocol("kth-10-30-best100")
    args = protocol.prepare_command.replace("KTH_FOLDER", str(tmp_path / "kth")).replace(
        "data/kth-test", str(tmp_path / "cache")).split()
    assert args[:3] == ["vgpred", "data", "prepare"]
    prepare(*args[3:])
    assert protocol.check_cache(tmp_path / "cache")["num_clips"] == 1
    with pytest.raises(VgpredError, match=r"kth-10-20 needs clips of 30 frames .* 128x128"):
        get_protocol("kth-10-20").check_cache(tmp_path / "cache")
    result = call_cli("data", "prepare", tmp_path / "kth", tmp_path / "train", "--format", "kth", "--split", "train",
                      NO_BAR)
    assert_one_line_error(result, "no KTH videos of the train split (persons 1-16)")
    assert not (tmp_path / "train").exists()


@pytest.mark.parametrize("name", ["person1_boxing_d1_uncomp.avi", "person03_walking_d1_uncomp.avi",
                                  "person30_boxing_d1_uncomp.avi", "notes.doc"])
def test_kth_file_with_an_unexpected_name_fails_before_writing(tmp_path: Path, name: str) -> None:
    write_kth(tmp_path / "kth", persons=(17,))
    (tmp_path / "kth" / "boxing" / name).write_bytes(b"x")
    result = call_cli("data", "prepare", tmp_path / "kth", tmp_path / "out", "--format", "kth", NO_BAR)
    assert_one_line_error(result, name, "unexpected file name in a KTH folder")
    assert not (tmp_path / "out").exists()
    (tmp_path / "kth" / "boxing" / name).unlink()
    (tmp_path / "kth" / "swimming").mkdir()
    result = call_cli("data", "prepare", tmp_path / "kth", tmp_path / "out", "--format", "kth", NO_BAR)
    assert_one_line_error(result, "swimming", "expected only the action folders")
    (tmp_path / "kth" / "swimming").rmdir()
    result = call_cli("data", "prepare", tmp_path / "kth", tmp_path / "out", "--format", "kth", "--hop", "0", NO_BAR)
    assert_one_line_error(result, "--hop: must be at least 1")
    assert not (tmp_path / "out").exists()


# --- UCF-101 -----------------------------------------------------------------------------------

def test_ucf101_follows_the_official_lists(tmp_path: Path) -> None:
    videos = write_ucf101(tmp_path)
    prepare(videos, tmp_path / "train", "--format", "ucf101", "--split", "train", "--frames", "6", "--size", "16")
    ds = open_dataset(tmp_path / "train")
    assert (len(ds), ds.channels, ds.class_names) == (2, 3, ["ApplyEyeMakeup", "Archery"])
    assert [(int(ds.uint8(i).mean()), ds.label(i)) for i in range(2)] == [(48, 0), (148, 1)]  # group 8 of each class
    prepare(videos, tmp_path / "test", "--format", "ucf101", "--fold", "1", "--frames", "6", "--size", "16")
    assert [int(open_dataset(tmp_path / "test").uint8(i).mean()) for i in range(2)] == [41, 141]
    result = call_cli("data", "prepare", videos, tmp_path / "f2", "--format", "ucf101", "--fold", "2", NO_BAR)
    assert_one_line_error(result, "testlist02.txt", "not found")
    (videos / "Archery" / "v_Archery_g01_c01.avi").unlink()
    result = call_cli("data", "prepare", videos, tmp_path / "out", "--format", "ucf101", NO_BAR)
    assert_one_line_error(result, "1 videos of testlist01.txt are missing", "Archery/v_Archery_g01_c01.avi")
    assert not (tmp_path / "out").exists()


# --- BAIR --------------------------------------------------------------------------------------

def test_bair_shards_become_rgb_clips_without_tensorflow(tmp_path: Path) -> None:
    from vgpred.evaluation.protocols import get_protocol

    trajs = write_bair(tmp_path / "softmotion30_44k", {"test": [2, 1], "train": [1]})
    prepare(tmp_path / "softmotion30_44k", tmp_path / "test", "--format", "bair")
    ds = open_dataset(tmp_path / "test")
    assert (len(ds), ds.frames, ds.size, ds.channels) == (3, 30, 64, 3)
    assert all(np.array_equal(ds.uint8(i), trajs["test"][i]) for i in range(3))
    clip, label = ds[1]
    assert clip.shape == (3, 30, 64, 64) and label == -1
    torch.testing.assert_close(clip[:, 0], torch.from_numpy(trajs["test"][1][0]).permute(2, 0, 1).float() / 127.5 - 1)
    get_protocol("bair-2-28-best100").check_cache(tmp_path / "test")
    prepare(tmp_path / "softmotion30_44k", tmp_path / "train", "--format", "bair", "--split", "train")
    with pytest.raises(VgpredError, match="holds the train split; the protocol evaluates on the test split"):
        get_protocol("bair-2-28-best100").check_cache(tmp_path / "train")


def _bair_folder(tmp_path: Path) -> tuple[Path, Path]:
    write_bair(tmp_path / "bair", {"test": [1, 2]}, frames=3)
    return tmp_path / "bair", tmp_path / "bair" / "test" / "traj_1_to_2.tfrecords"


def test_truncated_bair_shard_fails_before_writing(tmp_path: Path) -> None:
    src, shard = _bair_folder(tmp_path)
    data = shard.read_bytes()
    shard.write_bytes(data[:-100])
    result = call_cli("data", "prepare", src, tmp_path / "out", "--format", "bair", "--frames", "3", NO_BAR)
    assert_one_line_error(result, "traj_1_to_2.tfrecords", "truncated TFRecord file")
    assert not (tmp_path / "out").exists()


def test_bair_shard_with_a_bad_checksum_leaves_no_cache(tmp_path: Path) -> None:
    src, shard = _bair_folder(tmp_path)
    data = bytearray(shard.read_bytes())
    data[12 + len(data) // 4] ^= 0x01  # inside the data of the first record of the second shard
    shard.write_bytes(bytes(data))
    (tmp_path / "out").mkdir()  # an empty folder given as the destination stays an empty folder
    result = call_cli("data", "prepare", src, tmp_path / "out", "--format", "bair", "--frames", "3", NO_BAR)
    assert_one_line_error(result, "traj_1_to_2.tfrecords", "record 0", "checksum does not match")
    assert list((tmp_path / "out").iterdir()) == []
    result = call_cli("data", "prepare", src, tmp_path / "new", "--format", "bair", "--frames", "3", NO_BAR)
    assert_one_line_error(result, "checksum")
    assert not (tmp_path / "new").exists()


def test_bair_record_that_is_not_an_example_or_lacks_frames(tmp_path: Path) -> None:
    write_tfrecord(tmp_path / "b" / "test" / "x.tfrecords", [b"\x0a\xff\xff\xff"])
    result = call_cli("data", "prepare", tmp_path / "b", tmp_path / "out", "--format", "bair", NO_BAR)
    assert_one_line_error(result, "x.tfrecords: record 0", "not a tf.train.Example")
    write_tfrecord(tmp_path / "b" / "test" / "x.tfrecords", [bair_example(np.zeros((2, 64, 64, 3), np.uint8))])
    result = call_cli("data", "prepare", tmp_path / "b", tmp_path / "out", "--format", "bair", NO_BAR)
    assert_one_line_error(result, "holds 2 frames, fewer than --frames 30")
    (tmp_path / "b" / "test" / "x.tfrecords").write_bytes(struct.pack("<QI", 5, 0) + b"hello" + b"\0" * 4)
    result = call_cli("data", "prepare", tmp_path / "b", tmp_path / "out", "--format", "bair", NO_BAR)
    assert_one_line_error(result, "not a TFRecord file or damaged")
    assert not (tmp_path / "out").exists()


# --- formats and protocols ---------------------------------------------------------------------

def test_formats_are_listed_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    result = run_cli("data", "formats")
    assert result.code == 0, result.err
    for name in ("mmnist", "kth", "bair", "ucf101", "kth-10-30-best100", "mnist_test_seq.npy"):
        assert name in result.out
    result = call_cli("data", "prepare", tmp_path, tmp_path / "out", "--format", "kinetics", NO_BAR)
    assert_one_line_error(result, "unknown data format 'kinetics'", "bair, kth, mmnist, ucf101")
    result = call_cli("data", "prepare", tmp_path, tmp_path / "out", "--split", "test", NO_BAR)
    assert_one_line_error(result, "--split", "only with --format")
    assert "--format" in call_cli("data", "prepare", "--help").out


def test_protocols_fix_their_numbers_and_refuse_unknown_names() -> None:
    from vgpred.data.standard import FORMATS
    from vgpred.evaluation.protocols import PROTOCOLS, get_protocol
    from vgpred.metrics import METRICS

    numbers = {name: (p.context, p.horizon, p.samples, p.size, p.channels)
               for name in PROTOCOLS for p in [get_protocol(name)]}
    assert numbers == {"mmnist-10-10": (10, 10, 1, 64, 1), "kth-10-20": (10, 20, 1, 128, 1),
                       "kth-10-30-best100": (10, 30, 100, 64, 1), "bair-2-28-best100": (2, 28, 100, 64, 3)}
    for name in PROTOCOLS:
        p = get_protocol(name)
        assert p.dataset in FORMATS and all(m in METRICS for m in p.metrics)
        assert f"--format {p.dataset}" in p.prepare_command
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.samples = 2  # type: ignore[misc]
    with pytest.raises(VgpredError, match=r"unknown protocol 'kth-10-40' \(known: .*bair-2-28-best100.*kth-10-20"):
        get_protocol("kth-10-40")
    with pytest.raises(VgpredError) as err:
        get_protocol("bair-2-28-best100").check_clips(30, 64, 1, "data/bair")
    assert "\n" not in str(err.value) and "3 channel(s); got 30 frames of 64x64 with 1" in str(err.value)


def test_mse_frame_sum_and_mae_frame_sum_are_openstl_mse_and_mae() -> None:
    from vgpred.metrics import METRICS
    from vgpred.metrics.pixel import average_scores

    rng = np.random.default_rng(0)
    shape = (3, 10, 1, 16, 16)  # OpenSTL's layout (B, T, C, H, W), pixels in [0, 1]
    pred01, true01 = rng.random(shape), rng.random(shape)
    openstl_mse = np.mean((pred01 - true01) ** 2, axis=(0, 1)).sum()
    openstl_mae = np.mean(np.abs(pred01 - true01), axis=(0, 1)).sum()

    def ours(x: np.ndarray) -> torch.Tensor:  # (B, C, T, H, W) in [-1, 1]
        return torch.from_numpy(x).permute(0, 2, 1, 3, 4) * 2 - 1

    for name, want in (("mse_frame_sum", openstl_mse), ("mae_frame_sum", openstl_mae)):
        got = average_scores(METRICS.get(name).load()(ours(pred01), ours(true01))).mean().item()
        assert got == pytest.approx(want, rel=1e-6), name


# --- Moving MNIST with the standard motion -----------------------------------------------------

def srivastava_trajectory(rng: np.random.Generator, batch: int, length: int, canvas: int) -> np.ndarray:
    """Srivastava et al.'s ``GetRandomTrajectory`` (step_length 0.1), transcribed; ``(T, batch, 2)`` of (y, x)."""
    y, x = rng.random(batch), rng.random(batch)
    theta = rng.random(batch) * 2 * np.pi
    v_y, v_x = np.sin(theta), np.cos(theta)
    start_y, start_x = np.zeros((length, batch)), np.zeros((length, batch))
    for i in range(length):
        y += v_y * 0.1
        x += v_x * 0.1
        for j in range(batch):
            if x[j] <= 0:
                x[j] = 0
                v_x[j] = -v_x[j]
            if x[j] >= 1.0:
                x[j] = 1.0
                v_x[j] = -v_x[j]
            if y[j] <= 0:
                y[j] = 0
                v_y[j] = -v_y[j]
            if y[j] >= 1.0:
                y[j] = 1.0
                v_y[j] = -v_y[j]
        start_y[i, :], start_x[i, :] = y, x
    return np.stack([(canvas * start_y).astype(np.int32), (canvas * start_x).astype(np.int32)], axis=-1)


def test_srivastava_motion_is_the_standard_generator() -> None:
    from vgpred.data.moving_mnist import MOTIONS

    for seed in range(20):
        ours = MOTIONS.get("srivastava")(np.random.default_rng(seed), 2, 40, 36, (2.0, 5.0))
        assert np.array_equal(ours, srivastava_trajectory(np.random.default_rng(seed), 2, 40, 36)), seed
    steps = np.abs(np.diff(ours, axis=0)).max()
    assert steps <= 4 and ours.min() >= 0 and ours.max() <= 36  # 3.6 px a frame, inside the 64 px canvas


@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="needs Debian's dataset-fashion-mnist")
def test_moving_fashion_mnist_with_standard_motion_follows_mmnist_10_10(tmp_path: Path) -> None:
    from vgpred.evaluation.protocols import get_protocol

    common = ["--idx", FASHION_MNIST, "--split", "test", "--digits", "2", "--num", "3", "--frames", "20", NO_BAR]
    assert call_cli("data", "moving-mnist", tmp_path / "std", *common, "--motion", "srivastava").code == 0
    assert call_cli("data", "moving-mnist", tmp_path / "own", *common).code == 0
    protocol = get_protocol("mmnist-10-10")
    assert protocol.check_cache(tmp_path / "std")["settings"]["motion"] == "srivastava"
    with pytest.raises(VgpredError, match="--motion srivastava"):
        protocol.check_cache(tmp_path / "own")
    assert not np.array_equal(open_dataset(tmp_path / "std").uint8(0), open_dataset(tmp_path / "own").uint8(0))
    result = call_cli("data", "moving-mnist", tmp_path / "x", *common, "--motion", "zigzag")
    assert_one_line_error(result, "unknown Moving MNIST motion 'zigzag'", "srivastava, vgpred")
    assert not (tmp_path / "x").exists()
    assert "--motion" in call_cli("data", "moving-mnist", "--help").out

"""Moving MNIST from the Debian Fashion-MNIST IDX files."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FASHION_MNIST
from vgpred.cli.data_cmd import app
from vgpred.data import MovingMNIST, open_dataset
from vgpred.errors import VgpredError


def test_deterministic_per_seed() -> None:
    a = MovingMNIST(FASHION_MNIST, num=5, size=32, frames=6, seed=1)
    b = MovingMNIST(FASHION_MNIST, num=5, size=32, frames=6, seed=1)
    c = MovingMNIST(FASHION_MNIST, num=5, size=32, frames=6, seed=2)
    assert all(np.array_equal(a.uint8(i), b.uint8(i)) for i in range(5))
    assert not np.array_equal(a.uint8(3), c.uint8(3))
    assert not np.array_equal(a.uint8(3), a.uint8(4))
    clip, label = a[0]
    assert clip.shape == (1, 6, 32, 32) and clip.min() >= -1 and clip.max() <= 1 and label == -1


@pytest.mark.parametrize("size", [32, 64])
def test_digits_stay_inside_the_frame_and_keep_their_class(size: int) -> None:
    ds = MovingMNIST(FASHION_MNIST, digits=1, num=20, size=size, frames=24, seed=0, split="test")
    assert ds.class_names[0] == "T-shirt/top" and ds.digit_size == round(28 * size / 64)
    for i in range(20):
        clip, classes = ds.sample(i)
        sums = clip.reshape(24, -1).astype(np.int64).sum(1)
        assert (sums == sums[0]).all() and sums[0] > 0  # the whole digit is visible in every frame
        assert not np.array_equal(clip[0], clip[-1])  # and it moves
        assert ds[i][1] == int(classes[0]) and 0 <= classes[0] < 10


def test_two_digits_overlay_and_split_comes_from_source() -> None:
    train = MovingMNIST(FASHION_MNIST, digits=2, num=3, size=64, frames=4, seed=0, split="train")
    test = MovingMNIST(FASHION_MNIST, digits=2, num=3, size=64, frames=4, seed=0, split="test")
    assert len(train.images) == 60000 and len(test.images) == 10000
    assert train.digit_classes(0).shape == (2,)
    assert not np.array_equal(train.uint8(0), test.uint8(0))


def test_uncompressed_idx_with_mnist_naming(tmp_path: Path) -> None:
    for kind, rank in (("images", "idx3"), ("labels", "idx1")):
        raw = gzip.decompress((FASHION_MNIST / f"t10k-{kind}-{rank}-ubyte.gz").read_bytes())
        (tmp_path / f"t10k-{kind}.{rank}-ubyte").write_bytes(raw)
    plain = MovingMNIST(tmp_path, num=2, size=32, frames=4, split="test")
    packed = MovingMNIST(FASHION_MNIST, num=2, size=32, frames=4, split="test")
    assert np.array_equal(plain.uint8(1), packed.uint8(1))
    assert plain.all_class_names == [str(i) for i in range(10)]  # no Fashion names without the folder name
    with pytest.raises(VgpredError, match="no train images IDX file"):
        MovingMNIST(tmp_path, split="train")


def test_cli_writes_a_gray_cache_equal_to_the_generator(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["moving-mnist", str(tmp_path / "mm"), "--idx", str(FASHION_MNIST),
                                      "--digits", "1", "--num", "6", "--size", "32", "--frames", "5",
                                      "--split", "test", "--seed", "4", "--no-progress"])
    assert result.exit_code == 0, result.output
    ds = open_dataset(tmp_path / "mm")
    ref = MovingMNIST(FASHION_MNIST, digits=1, num=6, size=32, frames=5, split="test", seed=4)
    assert (len(ds), ds.channels, ds.class_names) == (6, 1, ref.class_names)
    assert all(np.array_equal(ds.uint8(i), ref.uint8(i)) and ds[i][1] == ref[i][1] for i in range(6))
    assert open_dataset(tmp_path / "mm", channels=3)[0][0].shape == (3, 5, 32, 32)
    bad = CliRunner().invoke(app, ["moving-mnist", str(tmp_path / "x"), "--idx", str(tmp_path / "none")])
    assert isinstance(bad.exception, VgpredError) and "IDX folder not found" in str(bad.exception)

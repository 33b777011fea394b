"""Standard video-prediction data sets, read from the files their authors distribute.

``FORMATS`` maps a name (``vgpred data prepare SRC DST --format NAME``) to a
:class:`StandardFormat`: what SRC is, which splits exist, the clip shape a cache gets
by default, and the reader that lists a split's files. Importing this module is cheap;
readers load on use.

=========  =======================================================================
mmnist     Moving MNIST test set ``mnist_test_seq.npy`` (Srivastava et al. 2015):
           uint8 (20, 10000, 64, 64), frames first; one split, test.
kth        KTH actions: ``SRC/<action>/personXX_<action>_dX_uncomp.avi``; persons
           1-16 train, 17-25 test; grayscale.
bair       BAIR robot pushing ``softmotion30_44k``: ``SRC/{train,test}/*.tfrecords``,
           frames under ``{t}/image_aux1/encoded`` (raw 64x64x3 bytes, t = 0..29).
ucf101     UCF-101: ``SRC/<Class>/v_<Class>_gXX_cYY.avi`` and the official
           ``ucfTrainTestlist/`` (``classInd.txt``, ``trainlist0N.txt``,
           ``testlist0N.txt``), in SRC or beside it; folds 1-3.
=========  =======================================================================
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vgpred.registry import Registry


@dataclass(frozen=True)
class StandardFormat:
    """One standard data set's file layout and the clips a cache of it gets by default.

    Attributes:
        name: the ``--format`` name.
        title: the data set, with its reference.
        src: what SRC must be.
        splits: split names in the data's own division.
        frames, size, channels: default clip length, frame side and channels of the cache.
        videos: True when the files are videos (``--hop``, ``--stride``, ``--fps``,
            ``--clips-per-video`` and ``--skip-short`` apply); False for fixed-length
            sequences, whose clips are their first ``frames`` frames.
        folds: number of official train/test divisions (``--fold``).
        reader: ``"module:function"``, ``function(src, split, fold) -> Split``.
    """

    name: str
    title: str
    src: str
    splits: tuple[str, ...]
    frames: int
    size: int
    channels: int
    videos: bool
    reader: str
    folds: int = 1

    def read(self, src: Path, split: str, fold: int):
        """The :class:`vgpred.data.standard.base.Split` of ``src`` for ``split`` (and ``fold``)."""
        module, attribute = self.reader.split(":")
        function: Callable = getattr(importlib.import_module(module), attribute)
        return function(Path(src), split, fold)


FORMATS = Registry[StandardFormat]("data format")

for _format in (
    StandardFormat("mmnist", "Moving MNIST test set (Srivastava et al. 2015)",
                   "the file mnist_test_seq.npy (uint8, frames x sequences x 64 x 64)", ("test",),
                   frames=20, size=64, channels=1, videos=False,
                   reader="vgpred.data.standard.mmnist:read_split"),
    StandardFormat("kth", "KTH human actions (Schuldt et al. 2004)",
                   "a folder of <action>/personXX_<action>_dX_uncomp.avi; persons 1-16 train, 17-25 test",
                   ("train", "test"), frames=40, size=64, channels=1, videos=True,
                   reader="vgpred.data.standard.kth:read_split"),
    StandardFormat("bair", "BAIR robot pushing, softmotion30_44k (Ebert et al. 2017)",
                   "the softmotion30_44k folder with train/ and test/ TFRecord shards", ("train", "test"),
                   frames=30, size=64, channels=3, videos=False,
                   reader="vgpred.data.standard.bair:read_split"),
    StandardFormat("ucf101", "UCF-101 action videos (Soomro et al. 2012)",
                   "the UCF-101 folder of <Class>/v_<Class>_gXX_cYY.avi, with ucfTrainTestlist/ inside or "
                   "beside it", ("train", "test"), frames=32, size=64, channels=3, videos=True,
                   reader="vgpred.data.standard.ucf101:read_split", folds=3),
):
    FORMATS.register(_format.name)(_format)
del _format

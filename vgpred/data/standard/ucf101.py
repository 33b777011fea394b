"""UCF-101 from its distributed layout and official split lists.

Videos: ``SRC/<Class>/v_<Class>_gXX_cYY.avi``. Lists: the folder ``ucfTrainTestlist``
(from ``UCF101TrainTestSplits-RecognitionTask.zip``) inside SRC or beside it, holding
``classInd.txt`` (``1 ApplyEyeMakeup``: labels 1-101, stored here as 0-100),
``trainlist0N.txt`` (``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``) and
``testlist0N.txt`` (``ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi``) for the folds
N = 1, 2, 3. The split is exactly the list: a list entry whose video is missing, or
whose class is not in ``classInd.txt``, fails with one line before anything is written.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from vgpred.data.sources import shown
from vgpred.data.standard.base import Split, video_item
from vgpred.errors import VgpredError

LISTS = "ucfTrainTestlist"


def _lists_folder(src: Path) -> Path:
    for folder in (src / LISTS, src.parent / LISTS, src):
        if (folder / "classInd.txt").is_file():
            return folder
    raise VgpredError(f"{shown(src)}: no {LISTS}/classInd.txt inside or beside it (the official UCF-101 split "
                      "lists, UCF101TrainTestSplits-RecognitionTask.zip)")


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise VgpredError(f"{shown(path)}: unreadable ({err})") from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _classes(path: Path) -> list[str]:
    names: list[str] = []
    for n, line in _lines(path):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) != len(names) + 1:
            raise VgpredError(f"{shown(path)}: line {n}: expected '{len(names) + 1} ClassName', got {line!r}")
        names.append(parts[1])
    return names


def read_split(src: Path, split: str, fold: int) -> Split:
    """The videos that ``trainlist0{fold}.txt`` or ``testlist0{fold}.txt`` names, labelled by class."""
    if not src.is_dir():
        raise VgpredError(f"{shown(src)}: not a folder (expected the UCF-101 folder of class sub-folders)")
    lists = _lists_folder(src)
    class_names = _classes(lists / "classInd.txt")
    label_of = {name: i for i, name in enumerate(class_names)}
    list_file = lists / f"{split}list{fold:02d}.txt"
    if not list_file.is_file():
        raise VgpredError(f"{shown(list_file)}: not found (the official list of fold {fold}'s {split} split)")
    items, missing = [], []
    for n, line in _lines(list_file):
        entry = PurePosixPath(line.split()[0])
        if len(entry.parts) != 2 or entry.suffix.lower() != ".avi" or entry.parts[0] not in label_of:
            raise VgpredError(f"{shown(list_file)}: line {n}: expected '<Class>/<video>.avi' with a class of "
                              f"classInd.txt, got {line!r}")
        path = src / entry.parts[0] / entry.parts[1]
        if not path.is_file():
            missing.append(entry)
            continue
        items.append(video_item(path, label_of[entry.parts[0]]))
    if missing:
        raise VgpredError(f"{shown(src)}: {len(missing)} videos of {list_file.name} are missing (first: "
                          f"{missing[0]}); the split would be incomplete")
    if not items:
        raise VgpredError(f"{shown(list_file)}: lists no videos")
    return Split(items, class_names, f"UCF-101 fold {fold} {split} split ({list_file.name}) of {shown(src.resolve())}")

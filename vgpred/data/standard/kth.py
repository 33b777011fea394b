"""KTH human actions from its distributed layout: ``SRC/<action>/personXX_<action>_dX_uncomp.avi``.

Six actions (labels in this order): boxing, handclapping, handwaving, jogging,
running, walking; 25 persons, 4 scenarios (d1-d4). The standard person split:
persons 1-16 train, 17-25 test. Every name is checked before anything is written:
a folder that is not an action, or a file that does not follow the pattern (or
names another action than its folder), fails with one line. Text files (such as
``00sequences.txt``) and hidden files are passed over. Missing actions or persons
are allowed (the labels stay those of the six actions).
"""
from __future__ import annotations

import re
from pathlib import Path

from vgpred.data.sources import natural_key, shown
from vgpred.data.standard.base import Split, video_item
from vgpred.errors import VgpredError

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
PERSONS = {"train": range(1, 17), "test": range(17, 26)}
NAME = re.compile(r"person(?P<person>\d\d)_(?P<action>[a-z]+)_d(?P<scenario>[1-4])_uncomp\.avi")


def _ignored(path: Path) -> bool:
    return path.name.startswith(".") or (path.is_file() and path.suffix.lower() == ".txt")


def read_split(src: Path, split: str, fold: int) -> Split:
    """The videos of the persons of ``split``, labelled by action."""
    if not src.is_dir():
        raise VgpredError(f"{shown(src)}: not a folder (expected the KTH folder of <action>/ sub-folders)")
    persons = PERSONS[split]
    items = []
    for folder in sorted(src.iterdir(), key=lambda p: natural_key(p.name)):
        if _ignored(folder):
            continue
        if not folder.is_dir() or folder.name not in ACTIONS:
            raise VgpredError(f"{shown(folder)}: unexpected in a KTH folder (expected only the action folders "
                              f"{', '.join(ACTIONS)})")
        for path in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
            if _ignored(path):
                continue
            match = NAME.fullmatch(path.name)
            if not match or match["action"] != folder.name or not 1 <= int(match["person"]) <= 25:
                raise VgpredError(f"{shown(path)}: unexpected file name in a KTH folder (expected "
                                  f"personXX_{folder.name}_dX_uncomp.avi with XX from 01 to 25, X from 1 to 4)")
            if int(match["person"]) in persons:
                items.append(video_item(path, ACTIONS.index(folder.name)))
    if not items:
        raise VgpredError(f"{shown(src)}: no KTH videos of the {split} split (persons {persons.start}-"
                          f"{persons.stop - 1})")
    return Split(items, list(ACTIONS), f"KTH {split} split (persons {persons.start}-{persons.stop - 1}) "
                                       f"of {shown(src.resolve())}")

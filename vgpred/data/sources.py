"""Finding clip sources: video files, folders of frame images, and strip-JPEG lists.

``discover(src)`` accepts a folder (searched recursively), a single video file, or a
``.txt`` list file in the original VideoGAN format (see :mod:`vgpred.data.strip_jpeg`).
In a folder, class labels come from the first sub-folder level (``src/<class>/...``);
a folder that directly holds image files is one clip whose frames are those images
in natural order (``f2.png`` before ``f10.png``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from vgpred.data.strip_jpeg import labels_from_texts, read_list_file
from vgpred.errors import VgpredError

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif", ".m4v", ".mpg", ".mpeg", ".ogv"})
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class Source:
    """One clip source: ``kind`` is 'video', 'frames' (a folder of images) or 'strip' (a strip JPEG)."""

    path: Path
    kind: str
    label: int = -1
    frame_files: tuple[Path, ...] = ()


@dataclass
class SourceList:
    """Sources found under a path, their class names, and entries that were passed over."""

    sources: list[Source]
    class_names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers by value (``f2`` before ``f10``)."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


def _visible(name: str) -> bool:
    return not name.startswith(".")


def _scan(top: Path, label: int, found: list[Source], skipped: list[tuple[str, str]]) -> None:
    """Add the sources under ``top`` (recursively) with ``label``."""
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted((d for d in dirs if _visible(d)), key=natural_key)
        folder_path = Path(folder)
        images = []
        for name in sorted(filter(_visible, files), key=natural_key):
            path = folder_path / name
            ext = path.suffix.lower()
            if ext in VIDEO_EXTENSIONS:
                found.append(Source(path, "video", label))
            elif ext in IMAGE_EXTENSIONS:
                images.append(path)
            else:
                skipped.append((str(path), "not a video or image file"))
        if images:
            found.append(Source(folder_path, "frames", label, tuple(images)))


def _discover_folder(root: Path) -> SourceList:
    found: list[Source] = []
    skipped: list[tuple[str, str]] = []
    entries = sorted(filter(_visible, os.listdir(root)), key=natural_key)
    top_images = [root / e for e in entries if (root / e).is_file() and (root / e).suffix.lower() in IMAGE_EXTENSIONS]
    if top_images:
        found.append(Source(root, "frames", -1, tuple(top_images)))
    classes: list[str] = []
    for name in entries:
        path = root / name
        if path.is_file():
            ext = path.suffix.lower()
            if ext in VIDEO_EXTENSIONS:
                found.append(Source(path, "video", -1))
            elif ext not in IMAGE_EXTENSIONS:
                skipped.append((str(path), "not a video or image file"))
            continue
        if not path.is_dir():
            continue
        holds_images = any(Path(name, f).suffix.lower() in IMAGE_EXTENSIONS for f in os.listdir(path))
        if holds_images:  # a frame folder directly under the root is a clip, not a class
            _scan(path, -1, found, skipped)
            continue
        before = len(found)
        _scan(path, len(classes), found, skipped)
        if len(found) > before:
            classes.append(name)
    return SourceList(found, classes, skipped, f"folder {root}")


def _discover_list(list_file: Path) -> SourceList:
    entries, bad = read_list_file(list_file)
    labels, class_names = labels_from_texts([text for _, text in entries])
    sources = [Source(path, "strip", label) for (path, _), label in zip(entries, labels)]
    return SourceList(sources, class_names, list(bad), f"strip-JPEG list {list_file}")


def discover(src: str | Path) -> SourceList:
    """Find the clip sources under ``src`` (folder, video file, or strip-JPEG ``.txt`` list)."""
    src = Path(src)
    if not src.exists():
        raise VgpredError(f"{src}: source not found")
    if src.is_dir():
        result = _discover_folder(src)
    elif src.suffix.lower() == ".txt":
        result = _discover_list(src)
    elif src.suffix.lower() in VIDEO_EXTENSIONS:
        result = SourceList([Source(src, "video", -1)], [], [], f"video {src}")
    else:
        raise VgpredError(f"{src}: not a folder, a video file ({', '.join(sorted(VIDEO_EXTENSIONS))}) "
                          "or a strip-JPEG list (.txt)")
    return result

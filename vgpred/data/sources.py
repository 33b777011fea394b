"""Finding clip sources: video files, folders of frame images, and strip-JPEG lists.

``discover(src)`` accepts a folder (searched recursively), a single video file, or a
``.txt`` list file in the original VideoGAN format (see :mod:`vgpred.data.strip_jpeg`).
In a folder, class labels come from the first sub-folder level (``src/<class>/...``);
a folder that directly holds image files is one clip whose frames are those images
in natural order (``f2.png`` before ``f10.png``). Entries whose names are not valid
UTF-8, symbolic links to folders (the walk never leaves the source folder, nor
repeats part of it) and anything that is not a regular file are passed over with a
reason (listed as skipped, the name shown with escapes); links to video files are read.
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


def shown(path: str | Path) -> str:
    """``path`` as printable UTF-8 text: bytes that are not UTF-8 appear escaped (``caf\\xe9.mp4``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _passed_over(path: Path, root: Path) -> str | None:
    """Why the entry ``path`` under the source folder ``root`` (resolved) is not read (None: it is read).

    Names that are not valid UTF-8 cannot be recorded in a cache index. Symbolic links to
    folders are never followed: one out of ``root`` would read what the user did not hand
    over, one inside it (``self -> .``) would repeat that folder's clips. A link to a
    video file is read wherever the file lies: linking chosen videos into a folder is how
    one assembles a data set without copying them. FIFOs, sockets and devices are not
    read (reading one could block forever).
    """
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not valid UTF-8"
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return "a symbolic link that does not resolve"
        if target.is_dir():
            if target.is_relative_to(root):
                return "a symbolic link to a folder inside the source folder (its clips are read there)"
            return f"a symbolic link to the folder {shown(target)}, outside the source folder (not followed)"
    if not path.is_dir() and not path.is_file():
        return "not a regular file"
    return None


def _keep(path: Path, root: Path, skipped: list[tuple[str, str]]) -> bool:
    """True when ``path`` is read; otherwise it is listed in ``skipped`` with the reason."""
    reason = _passed_over(path, root)
    if reason is not None:
        skipped.append((shown(path), reason))
    return reason is None


def _scan(top: Path, label: int, found: list[Source], skipped: list[tuple[str, str]], root: Path) -> None:
    """Add the sources under ``top`` (recursively) with ``label``; ``root`` is the source folder."""
    for folder, dirs, files in os.walk(top):  # symbolic links to folders are listed, never descended
        folder_path = Path(folder)
        dirs[:] = sorted((d for d in dirs if _visible(d) and _keep(folder_path / d, root, skipped)), key=natural_key)
        images = []
        for name in sorted(filter(_visible, files), key=natural_key):
            path = folder_path / name
            if not _keep(path, root, skipped):
                continue
            ext = path.suffix.lower()
            if ext in VIDEO_EXTENSIONS:
                found.append(Source(path, "video", label))
            elif ext in IMAGE_EXTENSIONS:
                images.append(path)
            else:
                skipped.append((shown(path), "not a video or image file"))
        if images:
            found.append(Source(folder_path, "frames", label, tuple(images)))


def _discover_folder(root: Path) -> SourceList:
    found: list[Source] = []
    skipped: list[tuple[str, str]] = []
    real_root = root.resolve()
    entries = sorted((e for e in os.listdir(root) if _visible(e) and _keep(root / e, real_root, skipped)),
                     key=natural_key)
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
                skipped.append((shown(path), "not a video or image file"))
            continue
        if not path.is_dir():
            continue
        holds_images = any(Path(name, f).suffix.lower() in IMAGE_EXTENSIONS for f in os.listdir(path))
        if holds_images:  # a frame folder directly under the root is a clip, not a class
            _scan(path, -1, found, skipped, real_root)
            continue
        before = len(found)
        _scan(path, len(classes), found, skipped, real_root)
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

"""The models a demo page offers: folders given on the command line, then the bundled image models.

Models named on the command line are loaded when the page starts (so a bad folder fails
there, with one line); bundled ones are loaded on first use. Each is loaded once and
shared by every request: inference runs in eval mode without gradients, so concurrent
requests only read it.
"""
from __future__ import annotations

import threading
from pathlib import Path

from vgpred.errors import UsageError, VgpredError
from vgpred.modelfile import DEFAULT_MODEL, bundled_models, read_model_config, resolve_model_dir


def _bundled_image_models() -> dict[str, Path]:
    """Bundled models that animate a photo, the default one first."""
    found = {}
    for name, folder in bundled_models().items():
        try:
            cfg, _ = read_model_config(folder)
        except VgpredError:
            continue  # a broken bundled folder is not offered; `vgpred predict -c NAME` reports it
        if cfg.mode == "image" and cfg.context_frames == 1:  # the page animates single photos
            found[name] = folder
    return dict(sorted(found.items(), key=lambda item: item[0] != DEFAULT_MODEL))


class ModelShelf:
    """Names shown in the page's model menu -> model folders, loaded once on first use.

    Args:
        sources: model folders or bundled names from ``-c``; each must be an image-to-video
            model. They come first in the menu (the first one is preselected), followed by
            the bundled image models.
        device: where models run (``auto``, ``cpu``, ``cuda``, ...).
    """

    def __init__(self, sources: list[str], device: str = "auto"):
        from vgpred.device import resolve_device

        self.device = str(resolve_device(device))
        self._folders: dict[str, Path] = {}
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()
        for source in sources:
            self._folders[source] = resolve_model_dir(source)
            self._check_image_model(source, self.get(source))
        for name, folder in _bundled_image_models().items():
            if all(folder.resolve() != known.resolve() for known in self._folders.values()):
                self._folders.setdefault(name, folder)
        if not self._folders:
            raise VgpredError("no image-to-video model to offer: pass -c DIR with a model folder exported by "
                              "`vgpred train`")

    @staticmethod
    def _check_image_model(source: str, predictor) -> None:
        if not predictor.model.needs_image:
            raise UsageError(f"-c {source}: is a {predictor.mode} model; the demo animates photos and needs an "
                             "image-to-video model")
        if predictor.cfg.context_frames > 1:
            raise UsageError(f"-c {source}: conditions on {predictor.cfg.context_frames} context frames; the demo "
                             "animates single photos (continue videos with `vgpred predict CLIP`)")

    @property
    def names(self) -> list[str]:
        """Menu entries, the preselected one first."""
        return list(self._folders)

    def frames(self, name: str) -> int:
        """How many frames the model ``name`` makes (read from its config, without loading it)."""
        if name in self._loaded:
            return self._loaded[name].cfg.frames
        cfg, _ = read_model_config(self._folder(name))
        return cfg.frames

    def _folder(self, name: str) -> Path:
        if name not in self._folders:
            raise VgpredError(f"model {name!r}: not offered by this page (offered: {', '.join(self._folders)})")
        return self._folders[name]

    def get(self, name: str):
        """The :class:`~vgpred.predictor.VideoPredictor` for ``name``, loaded on first use."""
        from vgpred.predictor import VideoPredictor

        folder = self._folder(name)
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = VideoPredictor.from_pretrained(folder, device=self.device)
            return self._loaded[name]

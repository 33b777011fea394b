"""The generator's foregrounds, by the name in ``model.foreground``; the network is chosen here.

* ``pixels`` (the paper): the video stream synthesises every pixel of every frame
  (:class:`vgpred.models.networks.TwoStreamGenerator`); every mode.
* ``motion`` (image mode): the video stream predicts where each pixel comes from in the
  photo and the photo is moved (:class:`vgpred.models.motion.MotionGenerator`).

An entry is a generator class built as ``(cfg, layout, fg_context, bg_context,
context_is_map)``, called as ``(fg_context, bg_context, skips, photo)``, with a
``check_config(cfg, needs_image)`` classmethod.
"""
from __future__ import annotations

from vgpred.config import ModelConfig
from vgpred.errors import VgpredError
from vgpred.models.modes import get_mode
from vgpred.models.motion import MotionGenerator
from vgpred.models.networks import TwoStreamGenerator
from vgpred.registry import Registry

FOREGROUNDS: Registry[type[TwoStreamGenerator]] = Registry("foreground")
FOREGROUNDS.register("pixels")(TwoStreamGenerator)
FOREGROUNDS.register("motion")(MotionGenerator)


def get_foreground(cfg: ModelConfig) -> type[TwoStreamGenerator]:
    """The generator class of ``cfg.foreground``, checked against ``cfg``; errors name the option."""
    if cfg.foreground not in FOREGROUNDS:
        raise VgpredError(f"model.foreground={cfg.foreground!r}: unknown (known: {', '.join(FOREGROUNDS.names())})")
    generator = FOREGROUNDS.get(cfg.foreground)
    generator.check_config(cfg, get_mode(cfg.mode).needs_image)
    return generator

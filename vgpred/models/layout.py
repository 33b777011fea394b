"""The layer plan shared by generator, discriminator and encoder, derived from config.

VideoGAN grows a 2 x 4 x 4 seed by doubling (T, H, W) with 4x4x4 stride-2 transposed
convolutions; the discriminator mirrors it. For other sizes the number of doublings
follows from the resolution, and when there are fewer frames than the spatial
doublings would give, the first layers double space only (kernel 3x4x4, stride 1x2x2).
Channels halve at each doubling and end at ``64 * width`` next to the pixels, so the
paper's 64x64x32 model has 512 -> 256 -> 128 -> 64 in the generator and
64 -> 128 -> 256 -> 512 in the discriminator (``d_width``, when set, scales the
discriminator alone).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from vgpred.config import ModelConfig
from vgpred.errors import VgpredError

SEED_T, SEED_HW = 2, 4  # spatio-temporal size of the first generator map / last critic map


@dataclass(frozen=True)
class Layout:
    """Per doubling (from the seed towards the pixels): channels in and whether time doubles."""

    doublings: int  # stride-2 layers between the 4x4 seed and the pixels (head included)
    channels: tuple[int, ...]  # generator feature widths, seed first; len == doublings
    time_doubles: tuple[bool, ...]  # per doubling, seed side first
    encoder_channels: tuple[int, ...]  # image encoder widths, pixels first
    critic_channels: tuple[int, ...]  # discriminator widths, pixels first

    @property
    def seed_channels(self) -> int:
        return self.channels[0]


def _power_of_two(x: int) -> bool:
    return x > 0 and (x & (x - 1)) == 0


def make_layout(cfg: ModelConfig) -> Layout:
    """Check ``cfg``'s sizes and return the layer plan; errors name the bad option."""
    res, frames = cfg.resolution, cfg.frames
    if res < 8 or not _power_of_two(res):
        raise VgpredError(f"model.resolution={res}: must be a power of two >= 8 (32, 64, 128, ...)")
    doublings = int(math.log2(res // SEED_HW))
    if frames < SEED_T or not _power_of_two(frames) or frames > SEED_T << doublings:
        raise VgpredError(
            f"model.frames={frames}: must be a power of two between {SEED_T} and "
            f"{SEED_T << doublings} for resolution {res}"
        )
    if cfg.width <= 0 or round(64 * cfg.width) < 1:
        raise VgpredError(f"model.width={cfg.width}: must be a positive multiplier")
    if cfg.channels not in (1, 3):
        raise VgpredError(f"model.channels={cfg.channels}: must be 1 or 3")
    d_width = cfg.d_width or cfg.width
    if cfg.d_width < 0 or round(64 * d_width) < 1:
        raise VgpredError(f"model.d_width={cfg.d_width}: must be a positive multiplier (0 = model.width)")
    base = max(1, round(64 * cfg.width))
    channels = tuple(base << (doublings - 1 - i) for i in range(doublings))
    time_steps = int(math.log2(frames // SEED_T))
    # Space doubles every layer; time doubles on the last `time_steps` layers.
    time_doubles = tuple(i >= doublings - time_steps for i in range(doublings))
    enc_base = max(1, round(128 * cfg.width))
    encoder_channels = tuple(enc_base << i for i in range(doublings))
    critic_channels = tuple(max(1, round(64 * d_width)) << i for i in range(doublings))
    return Layout(doublings, channels, time_doubles, encoder_channels, critic_channels)

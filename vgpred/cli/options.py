"""Option checks shared by commands (no heavy imports here)."""
from __future__ import annotations

from vgpred.errors import UsageError
from vgpred.limits import MAX_FPS, MAX_NOISE_SCALE, MAX_SAMPLES, MAX_VIDEO_FRAMES, MIN_FPS


def check_num_samples(n: int) -> int:
    if not 1 <= n <= MAX_SAMPLES:
        raise UsageError(f"--num-samples {n}: must be between 1 and {MAX_SAMPLES}")
    return n


def check_fps(fps: float | None) -> float | None:
    """``--fps``: None (the model's rate) or a playback rate from MIN_FPS to MAX_FPS frames per second."""
    if fps is not None and not MIN_FPS <= fps <= MAX_FPS:  # NaN fails every comparison
        raise UsageError(f"--fps {fps:g}: must be from {MIN_FPS:g} to {MAX_FPS:g} frames per second")
    return fps


def check_frames(frames: int | None, available: int) -> int:
    """``--frames``: how many of the model's ``available`` frames to keep (None = all)."""
    if frames is None:
        return available
    if not 1 <= frames <= available:
        raise UsageError(f"--frames {frames}: this model makes {available} frames; choose 1 to {available}")
    return frames


def check_video_frames(frames: int | None) -> int | None:
    """``--frames`` of an image model: None (the model's length) or 1 to MAX_VIDEO_FRAMES (longer rolls out)."""
    if frames is not None and not 1 <= frames <= MAX_VIDEO_FRAMES:
        raise UsageError(f"--frames {frames}: must be from 1 to {MAX_VIDEO_FRAMES} (more than the model makes "
                         "continues the video autoregressively)")
    return frames


def check_scale(scale: int) -> int:
    if not 1 <= scale <= 16:
        raise UsageError(f"--scale {scale}: must be between 1 and 16")
    return scale


NOISE_SCALE_HELP = ("Standard deviation of the noise the futures are drawn from (default: the model's own, "
                    "model.noise_scale in its folder; training draws 1). Larger: futures that differ more.")


def check_noise_scale(noise_scale: float | None) -> float | None:
    if noise_scale is not None and not 0 < noise_scale <= MAX_NOISE_SCALE:  # NaN fails both comparisons
        raise UsageError(f"--noise-scale {noise_scale}: must be > 0 and at most {MAX_NOISE_SCALE:g}")
    return noise_scale


def apply_noise_scale(predictor, noise_scale: float | None, name: str) -> None:
    """Set a loaded model's noise scale from --noise-scale (None: keep its own)."""
    if noise_scale is not None:
        if predictor.cfg.latent_dim == 0:
            raise UsageError(f"--noise-scale {noise_scale}: {name} draws no noise (latent_dim 0)")
        predictor.noise_scale = noise_scale

"""``vgpred predict``, ``vgpred sample`` and ``vgpred models``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vgpred.cli.options import (
    NOISE_SCALE_HELP, apply_noise_scale, check_fps, check_frames, check_noise_scale, check_num_samples, check_scale,
    check_video_frames,
)
from vgpred.limits import MAX_RENDER_SIZE, MAX_VIDEO_FRAMES, RENDER_SIZE

CHECKPOINT_HELP = "Model folder (config.json + model.safetensors) or a bundled model's name."
DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps."
OUT_HELP = "Output video: .mp4 (H.264), .webm (VP9), .gif, or a folder name (PNG frames)."


def _generate_and_save(
    predictor, out: Path, image, label, num_samples, seed, fps, frames, layers, grid, scale, fit=None, size=None
) -> None:
    result = predictor(image=image, label=label, num_samples=num_samples, seed=seed, fit=fit, size=size, frames=frames)
    for path in result.save(out, fps=fps, layers=layers, grid=grid, scale=scale):
        typer.echo(str(path))


def predict(
    image: Path = typer.Argument(
        ..., help="The photo to animate (JPEG, PNG, WebP, ...), or a video to continue (.mp4, .webm, .avi, ... or a "
                  "folder of PNG frames): its last k frames are the context, k = the model's context_frames.",
        show_default=False),
    out: Path = typer.Option(..., "-o", "--out", help=OUT_HELP, show_default=False),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", "-c", help=CHECKPOINT_HELP + " Default: the bundled scenes-motion."),
    num_samples: int = typer.Option(1, "--num-samples", "-n", help="How many futures to draw; N > 1 writes OUT-0, OUT-1, ..."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed for reproducible futures (default: random)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Playback rate, 0.1 to 240 frames per second (default: the model's)."),
    frames: Optional[int] = typer.Option(
        None, "--frames", help=f"Frames to write, the context frames included (default: the model's length). More "
                               f"than the model makes continues autoregressively: its last k frames become the next "
                               f"context (up to {MAX_VIDEO_FRAMES})."),
    layers: bool = typer.Option(
        False, "--layers", help="Also write the foreground, background and mask videos (and the flow, for motion models)."),
    grid: bool = typer.Option(False, "--grid", help="Tile all samples into one video instead of one file each."),
    size: Optional[int] = typer.Option(
        None, "--size", help=f"Motion models: the video's long side in pixels; smaller photos keep their size. "
                             f"[default: {RENDER_SIZE}]", show_default=False),
    fit: Optional[str] = typer.Option(
        None, "--fit", help="crop: centre square; pad: letterbox into a square; whole: the photo as it is "
                            "(motion models only). [default: whole for motion models, crop for the others]",
        show_default=False),
    scale: int = typer.Option(1, "--scale", help="Upscale the written video by this integer factor (nearest)."),
    noise_scale: Optional[float] = typer.Option(None, "--noise-scale", help=NOISE_SCALE_HELP, show_default=False),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
) -> None:
    """Animate a photo or continue a video: write NUM_SAMPLES plausible futures of IMAGE to OUT.

    Motion models move the photo's own pixels and write the video at the photo's size and
    aspect ratio (its long side capped by --size); pixel models write their network's size.
    The video starts with the context frames (the photo, or the input video's last k frames).
    """
    from vgpred.errors import UsageError

    check_num_samples(num_samples), check_fps(fps), check_scale(scale), check_video_frames(frames)
    check_noise_scale(noise_scale)
    if size is not None and not 1 <= size <= MAX_RENDER_SIZE:
        raise UsageError(f"--size {size}: must be from 1 to {MAX_RENDER_SIZE} pixels")
    if fit not in (None, "crop", "pad", "whole"):
        raise UsageError(f"--fit {fit}: must be crop, pad or whole")
    from vgpred.io.video import check_output_path
    from vgpred.predictor import VideoPredictor

    check_output_path(out)
    predictor = VideoPredictor.from_pretrained(checkpoint, device=device)
    if not predictor.model.needs_image:
        raise UsageError(f"{checkpoint}: is a {predictor.mode} model; use `vgpred sample` for it")
    name = checkpoint or "the default model"
    apply_noise_scale(predictor, noise_scale, name)
    if size is not None and not predictor.renders_photo:
        res = predictor.cfg.resolution
        raise UsageError(f"--size {size}: {name} paints {res}x{res} frames (a pixel model); use --scale to enlarge them")
    if fit == "whole" and not predictor.renders_photo:
        raise UsageError(f"--fit whole: {name} is a pixel model and needs a square photo (crop or pad)")
    context = predictor.prepare_context(image, fit=fit, size=size)  # fails fast on a bad photo or video
    _generate_and_save(predictor, out, context, None, num_samples, seed, fps, frames, layers, grid, scale, fit, size)


def sample(
    out: Path = typer.Option(..., "-o", "--out", help=OUT_HELP, show_default=False),
    checkpoint: str = typer.Option(..., "--checkpoint", "-c", help=CHECKPOINT_HELP, show_default=False),
    label: Optional[str] = typer.Option(None, "--label", "-l", help="Class name or index (label models)."),
    num_samples: int = typer.Option(1, "--num-samples", "-n", help="How many videos; N > 1 writes OUT-0, OUT-1, ..."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (default: random)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Playback rate, 0.1 to 240 frames per second (default: the model's)."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Keep only the first N frames (default: all)."),
    layers: bool = typer.Option(False, "--layers", help="Also write the foreground, background and mask videos."),
    grid: bool = typer.Option(False, "--grid", help="Tile all samples into one video instead of one file each."),
    scale: int = typer.Option(1, "--scale", help="Upscale the written video by this integer factor (nearest)."),
    noise_scale: Optional[float] = typer.Option(None, "--noise-scale", help=NOISE_SCALE_HELP, show_default=False),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
) -> None:
    """Generate videos from an unconditional or label-conditioned model."""
    from vgpred.errors import UsageError, VgpredError

    check_num_samples(num_samples), check_fps(fps), check_scale(scale), check_noise_scale(noise_scale)
    from vgpred.io.video import check_output_path
    from vgpred.predictor import VideoPredictor

    check_output_path(out)
    predictor = VideoPredictor.from_pretrained(checkpoint, device=device)
    check_frames(frames, predictor.cfg.frames)
    apply_noise_scale(predictor, noise_scale, checkpoint)
    if predictor.model.needs_image:
        raise UsageError(f"{checkpoint}: is an image-to-video model; use `vgpred predict PHOTO` for it")
    if predictor.model.needs_label:
        if label is None:
            raise UsageError(f"--label: required for this label model (one of {', '.join(predictor.class_names)})")
        try:
            predictor.label_index(label)
        except VgpredError:
            raise UsageError(f"--label {label!r}: not known to this model (known: {', '.join(predictor.class_names)})") from None
    elif label is not None:
        raise UsageError(f"--label {label}: {checkpoint} is an unconditional model and takes no label")
    _generate_and_save(predictor, out, None, label, num_samples, seed, fps, frames, layers, grid, scale)


def models() -> None:
    """List the bundled pretrained models, one line each."""
    import json

    from vgpred.modelfile import CONFIG_NAME, DEFAULT_MODEL, bundled_models

    found = bundled_models()
    if not found:
        typer.echo("no bundled models")
        return
    for name, folder in found.items():
        data = json.loads((folder / CONFIG_NAME).read_text())
        m = data.get("model", {})
        about = data.get("info", {}).get("description", "")
        default = " (default)" if name == DEFAULT_MODEL else ""
        size = f"{m.get('resolution')}x{m.get('resolution')}x{m.get('frames')}"
        typer.echo(f"{name}{default}: {m.get('mode')} {size} - {about}".rstrip(" -"))

"""The inference API: a photo or a video (and/or a label) in, K plausible futures out.

Example:
    >>> from vgpred import VideoPredictor
    >>> predictor = VideoPredictor.from_pretrained()            # bundled scenes-motion (the default)
    >>> out = predictor("photo.jpg", num_samples=4, seed=0)
    >>> out.frames.shape                                        # (4, 3, T, H, W) in [-1, 1]
    >>> out.save("future.mp4")                                  # future-0.mp4 ... future-3.mp4
    >>> predictor("clip.mp4", frames=64).frames.shape           # its last frame(s) continued, rolled out
    torch.Size([1, 3, 64, 64, 64])

An image-mode model conditions on ``model.context_frames = k`` frames (1: a photo). It takes
a photo (k = 1 only) or a video: a file (``.mp4 .webm .avi .mov .mkv .m4v .mpg .mpeg``; a
``.gif`` is read as a photo), a folder of PNG frames, a list of frames (each anything a photo
can be) or a ``(C, T, H, W)`` tensor; its last k frames are the context. The output starts with
them. ``frames`` longer than the model's length rolls the model out on its own last k frames
(:func:`vgpred.models.rollout.rollout`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from vgpred.device import resolve_device
from vgpred.errors import VgpredError
from vgpred.limits import MAX_NOISE_SCALE, MAX_RENDER_SIZE, MAX_SAMPLES, MAX_VIDEO_FRAMES, RENDER_SIZE
from vgpred.modelfile import load_model
from vgpred.models.networks import GeneratorOutput


VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg")  # read as videos, not photos


def is_video(source) -> bool:
    """Whether a predictor input is a video: a video file or a folder of PNG frames, a list of frames,
    or a ``(C, T, H, W)`` tensor (a photo is a path to an image, a PIL image, an array or ``(C, H, W)``)."""
    if isinstance(source, (list, tuple)):
        return True
    if isinstance(source, torch.Tensor):
        return source.dim() == 4
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return path.suffix.lower() in VIDEO_SUFFIXES or (path.is_dir() and any(path.glob("*.png")))
    return False


def _video_frames(source, k: int) -> list:
    """The last ``k`` frames of a video input (each something :func:`load_image` takes)."""
    if isinstance(source, (list, tuple)):
        frames = list(source[-k:])
    elif isinstance(source, torch.Tensor):
        frames = list(source[:, -k:].unbind(1))
    else:
        from vgpred.io.video import read_last_frames

        frames = list(read_last_frames(source, k).numpy())
    return frames


def tagged_path(path: str | os.PathLike, tag: str) -> Path:
    """``out.mp4`` + ``0`` -> ``out-0.mp4``; a frame folder ``out`` -> ``out-0``."""
    path = Path(path)
    if path.suffix:
        return path.with_name(f"{path.stem}-{tag}{path.suffix}")
    return path.with_name(f"{path.name}-{tag}")


@dataclass
class PredictionOutput:
    """Generated videos and their layers, all ``(B, C, T, H, W)`` on the model's device.

    ``frames``, ``foreground`` and ``background`` are in [-1, 1]; ``mask`` is the
    foreground weight in [0, 1] with C = 1 (``frames = mask*fg + (1-mask)*bg``).
    ``flow`` (motion models, else None): ``(B, 2, T, H, W)``, where each pixel comes from
    in the photo (see :func:`vgpred.models.motion.animate_photo`).
    """

    frames: torch.Tensor
    foreground: torch.Tensor
    background: torch.Tensor
    mask: torch.Tensor
    fps: float
    flow: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.frames.shape[0]

    def layers(self) -> dict[str, torch.Tensor]:
        """The layers as videos in [-1, 1]: foreground, background, mask, and flow for motion models."""
        layers = {"foreground": self.foreground, "background": self.background, "mask": self.mask * 2 - 1}
        if self.flow is not None:
            from vgpred.models.motion import flow_to_rgb

            layers["flow"] = flow_to_rgb(self.flow)
        return layers

    def save(
        self, path: str | os.PathLike, fps: float | None = None, layers: bool = False, grid: bool = False, scale: int = 1
    ) -> list[Path]:
        """Write the videos; the name's extension picks the format (.mp4 .webm .gif or a folder).

        One video goes to ``path``; several get ``-0``, ``-1``, ... before the extension,
        or one tiled video with ``grid=True``. ``layers=True`` also writes
        ``-foreground``, ``-background`` and ``-mask`` videos next to each. Files are
        written atomically; if one fails, those already written by this call are removed.
        """
        from vgpred.io.video import check_output_path, make_grid, write_video

        fps = self.fps if fps is None else fps
        check_output_path(path)
        streams = {"": self.frames, **(self.layers() if layers else {})}
        if grid or len(self) == 1:
            targets = [(Path(path), lambda v: make_grid(v) if len(v) > 1 else v[0])]
        else:
            targets = [(tagged_path(path, str(i)), lambda v, i=i: v[i]) for i in range(len(self))]
        jobs = [
            (tagged_path(base, name) if name else base, pick(videos))
            for base, pick in targets
            for name, videos in streams.items()
        ]
        written: list[Path] = []
        try:
            for target, video in jobs:
                written.append(write_video(target, video.detach().float().cpu(), fps=fps, scale=scale))
        except BaseException:
            for p in written:
                _remove(p)
            raise
        return written


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class VideoPredictor:
    """Wraps a trained :class:`~vgpred.models.videogan.VideoGenerator` for sampling."""

    def __init__(self, model, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.cfg = model.cfg

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, device: str = "auto") -> "VideoPredictor":
        """Load a model folder, a bundled model name, or (None) the default bundled model."""
        dev = resolve_device(device)
        return cls(load_model(path, device=str(dev)), dev)

    @property
    def mode(self) -> str:
        return self.cfg.mode

    @property
    def class_names(self) -> list[str]:
        return list(self.cfg.class_names) or [str(i) for i in range(self.cfg.num_classes)]

    def label_index(self, label: int | str) -> int:
        """A class name or index -> index; unknown labels list the known ones."""
        names = self.class_names
        if isinstance(label, str) and label in names:
            return names.index(label)
        if isinstance(label, str) and label.lstrip("-").isdigit():
            label = int(label)
        if isinstance(label, int) and 0 <= label < len(names):
            return label
        raise VgpredError(f"label {label!r}: not known to this model (known: {', '.join(names)})")

    @property
    def noise_scale(self) -> float:
        """Standard deviation of the noise the futures are drawn from (the folder's ``model.noise_scale``)."""
        return self.cfg.noise_scale

    @noise_scale.setter
    def noise_scale(self, value: float) -> None:
        self.cfg.noise_scale = self.check_noise_scale(value)

    def check_noise_scale(self, value) -> float:
        """A usable noise scale for this model, or a one-line error."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_NOISE_SCALE:
            raise VgpredError(f"noise_scale={value!r}: must be a number > 0 and at most {MAX_NOISE_SCALE:g}")
        if self.cfg.latent_dim == 0:
            raise VgpredError(f"noise_scale={value!r}: this model draws no noise (latent_dim 0), so it has none to scale")
        return float(value)

    @property
    def context_frames(self) -> int:
        """k: the frames an image-mode model conditions on (1: a photo); 0 for the other modes."""
        return self.cfg.context_frames if self.model.needs_image else 0

    def _check_inputs(self, image, label, num_samples: int, frames: int | None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or not 1 <= num_samples <= MAX_SAMPLES:
            raise VgpredError(f"num_samples={num_samples!r}: must be an integer from 1 to {MAX_SAMPLES}")
        if frames is not None:
            high = MAX_VIDEO_FRAMES if self.model.needs_image else self.cfg.frames
            if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= high:
                why = "" if self.model.needs_image else f" (a {self.mode} model makes {high} and cannot roll out)"
                raise VgpredError(f"frames={frames!r}: must be a whole number from 1 to {high}{why}")
        if self.model.needs_image and image is None:
            raise VgpredError("this is an image-to-video model: give an image (path, PIL image or (C, H, W) tensor)"
                              + (f" or a video of at least {self.cfg.context_frames} frames"
                                 if self.cfg.context_frames > 1 else ""))
        if not self.model.needs_image and image is not None:
            raise VgpredError(f"this is a {self.mode} model: it takes no image (use an image-mode model to animate a photo)")
        if self.model.needs_label and label is None:
            raise VgpredError(f"this is a label model: give a label (one of {', '.join(self.class_names)})")
        if not self.model.needs_label and label is not None:
            raise VgpredError(f"this is a {self.mode} model: it takes no label")

    @property
    def renders_photo(self) -> bool:
        """True for motion models: their videos move the photo at its own size and aspect ratio."""
        return self.model.renders_photo

    def check_size(self, size: int | None) -> int | None:
        """The long side a motion model renders at (``None``: the default); pixel models take none."""
        if size is None:
            return RENDER_SIZE if self.renders_photo else None
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_RENDER_SIZE:
            raise VgpredError(f"size={size!r}: must be a whole number of pixels from 1 to {MAX_RENDER_SIZE}")
        if not self.renders_photo:
            res = self.cfg.resolution
            raise VgpredError(f"size={size}: this {self.cfg.foreground} model paints {res}x{res} frames and cannot "
                              "render at another size (enlarge its videos with scale instead)")
        return size

    def prepare_image(self, image, fit: str | None = None, size: int | None = None) -> torch.Tensor:
        """Path / PIL image / array / (C, H, W) tensor -> the photo to animate, in [-1, 1].

        Pixel models: ``(C, S, S)`` at the network's size ``S`` (``fit`` crop, the default, or
        pad). Motion models: the photo at its own aspect ratio, its long side shrunk to
        ``size`` (default 512) when larger (``fit`` whole, the default; crop or pad give a
        ``size`` x ``size`` square).
        """
        from vgpred.io.image import load_image

        size = self.check_size(size)
        if size is None:
            return load_image(image, size=self.cfg.resolution, channels=self.cfg.channels, fit=fit or "crop")
        return load_image(image, size=size, channels=self.cfg.channels, fit=fit or "whole")

    def prepare_context(self, source, fit: str | None = None, size: int | None = None) -> torch.Tensor:
        """A photo or a video -> the ``(C, k, H, W)`` context frames in [-1, 1], oldest first.

        A video's last k frames (k = ``model.context_frames``) are each prepared as
        :meth:`prepare_image` prepares a photo; a photo is the single context frame of a k = 1
        model. A video with fewer than k frames, or a photo for k > 1, fails with one line.
        """
        k = self.cfg.context_frames
        if not is_video(source):
            if k > 1:
                raise VgpredError(f"this model conditions on {k} context frames: give a video (a file, a folder of "
                                  "PNG frames, a list of frames or a (C, T, H, W) tensor), not one photo")
            return self.prepare_image(source, fit=fit, size=size).unsqueeze(1)
        name = str(source) if isinstance(source, (str, os.PathLike)) else "the video"
        frames = _video_frames(source, k)
        if len(frames) < k:
            raise VgpredError(f"{name}: has {len(frames)} frame(s); this model conditions on {k} context frames")
        prepared = [self.prepare_image(frame, fit=fit, size=size) for frame in frames]
        if len({tuple(f.shape) for f in prepared}) > 1:
            raise VgpredError(f"{name}: the frames differ in size; give frames of one size (or fit=crop or pad)")
        return torch.stack(prepared, dim=1)

    def network_input(self, photo: torch.Tensor) -> torch.Tensor:
        """``(C, H, W)`` photo from :meth:`prepare_image` -> ``(C, S, S)`` at the network's size.

        A motion model sees the whole photo resized to its square (stretched where the
        aspect ratio differs); the motion it predicts is relative to the photo's width and
        height, so it moves the photo at its own shape.
        """
        from vgpred.models.rollout import network_frames

        return network_frames(photo[None], self.cfg.resolution)[0]

    @torch.no_grad()
    def __call__(
        self,
        image=None,
        label: int | str | None = None,
        num_samples: int = 1,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        fit: str | None = None,
        size: int | None = None,
        frames: int | None = None,
        noise_scale: float | None = None,
    ) -> PredictionOutput:
        """Sample ``num_samples`` videos for one image and/or label.

        Args:
            image: the conditioning photo, or a video whose last ``model.context_frames`` frames
                are the context (image mode; see the module's docstring for the forms taken).
            label: class name or index (label mode).
            num_samples: how many futures to draw.
            seed / generator: reproducible noise; ``generator`` wins when both are given.
            fit: how a photo of another aspect ratio is fitted: ``crop`` (centre square) or
                ``pad`` (letterbox); motion models also ``whole`` (their default: the photo
                as it is). Pixel models default to ``crop``.
            size: motion models: the long side of the video in pixels (default 512; smaller
                photos keep their size). Pixel models write their network's size.
            frames: the video's length T, counting the context frames it starts with (default:
                the model's). Image models roll out past their length, up to 1024 frames: the last
                k frames become the next context, each further pass adds new frames only.
            noise_scale: standard deviation of the noise (default: the model's ``model.noise_scale``).
        Returns:
            :class:`PredictionOutput` with ``(num_samples, C, T, H, W)`` tensors: ``H, W``
            the network's size, or the photo's (capped at ``size``) for motion models.
        """
        self._check_inputs(image, label, num_samples, frames)
        self.check_size(size)
        scale = None if noise_scale is None else self.check_noise_scale(noise_scale)
        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(seed if seed is not None else torch.seed())
        length = self.cfg.frames if frames is None else frames

        def noise(at: float | None = scale) -> torch.Tensor:
            return self.model.sample_noise(num_samples, generator=generator, device=self.device, scale=at)

        if image is None:
            cond_label = None
            if label is not None:
                index = self.label_index(label)
                cond_label = torch.full((num_samples,), index, dtype=torch.long, device=self.device)
            out = self.model(noise(), cond_label, None)
            out = GeneratorOutput(*(None if x is None else x[:, :, :length] for x in out))
        else:
            from vgpred.models.rollout import rollout

            context = self.prepare_context(image, fit=fit, size=size)  # (C, k, H, W)
            self._check_memory(num_samples, length, *context.shape[-2:])
            small = torch.stack([self.network_input(f) for f in context.unbind(1)], dim=1)
            cond_image = self._batch(small, num_samples)
            render = self._batch(context, num_samples) if self.renders_photo else None
            # a rollout's later pieces draw from the trained prior N(0, I) (see rollout())
            out = rollout(self.model, cond_image, length, noise, render, later_noise=lambda: noise(1.0))
        return PredictionOutput(out.video, out.foreground, out.background, out.mask, float(self.cfg.fps), out.flow)

    def _check_memory(self, num_samples: int, frames: int, height: int, width: int) -> None:
        """Refuse, in one line and before any pass, videos whose frames and layers would not fit in memory.

        The output holds ``num_samples x frames`` float32 frames of the video, foreground and
        background (C channels each), mask (1) and flow (2, motion models), which is a lower bound
        on what predicting them takes; checked against the free memory of the model's device
        (MemAvailable on Linux CPUs; not checked where that is unknown).
        """
        c = self.cfg.channels
        needed = 4 * num_samples * frames * height * width * (3 * c + 1 + (2 if self.renders_photo else 0))
        free = available_memory(self.device)
        if free is not None and needed > free:
            gib = 1024 ** 3
            raise VgpredError(f"{num_samples} video(s) of {frames} frames at {width}x{height} need about "
                              f"{needed / gib:.1f} GiB for their frames and layers, more than the {free / gib:.1f} GiB "
                              "free: ask for fewer frames, fewer samples or a smaller size (--frames, -n, --size)")

    def _batch(self, context: torch.Tensor, n: int) -> torch.Tensor:
        """``(C, k, H, W)`` -> the model's ``image`` for n samples: ``(n, C, H, W)`` when k = 1, else ``(n, C, k, H, W)``."""
        x = context.to(self.device).unsqueeze(0).expand(n, -1, -1, -1, -1)
        return x[:, :, 0] if x.shape[2] == 1 else x


def available_memory(device: torch.device) -> int | None:
    """Bytes free for new tensors on ``device``: MemAvailable of /proc/meminfo for the CPU (Linux),
    the driver's free memory for CUDA; None where neither is known."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None

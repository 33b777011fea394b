"""Frechet Video Distance with the Kinetics-400 I3D network loaded from TorchScript.

Protocol: the first 16 frames of each video (grey videos repeated to 3 channels),
frames resized to 224x224 with bilinear interpolation, the network's outputs
fitted with a Gaussian per set, and the Frechet distance of the two Gaussians.

The network comes from a TorchScript file the user gives (``torch.jit.load``;
default ``torch.hub.get_dir()/checkpoints/i3d_torchscript.pt``). Two input
conventions are supported:

* ``"stylegan-v"`` (default): the ``i3d_torchscript.pt`` released with StyleGAN-V
  and used by most recent video GAN papers. Videos go in as ``(B, 3, T, H, W)``
  float32 holding integers 0..255 (pixels quantised as when saving 8-bit video),
  called as ``net(x, rescale=True, resize=True, return_features=True)``: the
  network scales to [-1, 1] and resizes to 224x224 (bilinear) itself, and returns
  the 400-d Kinetics logits before the softmax, which is what FVD is defined on.
* ``"plain"``: a module called as ``net(x)`` with ``x`` of shape
  ``(B, 3, T, 224, 224)`` in [-1, 1] (resized here), returning ``(B, D)``.

The result names the feature space by its size: 400-d is reported as the
Kinetics-400 logits, 1024-d as the I3D pool features. When no file is present,
:meth:`I3DDetector.load` raises :class:`~vgpred.metrics.MetricUnavailable`.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

from vgpred.errors import VgpredError
from vgpred.metrics import MetricUnavailable
from vgpred.metrics.frechet import FrechetResult, collect_stats, frechet_of_stats
from vgpred.registry import Registry

I3D_FILE = "i3d_torchscript.pt"
CLIP_FRAMES = 16
I3D_SIZE = 224

_CONVENTIONS = Registry[Callable[[torch.jit.ScriptModule, Tensor], Tensor]]("I3D input convention")


@_CONVENTIONS.register("stylegan-v")
def _call_stylegan_v(net: torch.jit.ScriptModule, video: Tensor) -> Tensor:
    x = ((video + 1.0) * 127.5).round().clamp(0.0, 255.0).contiguous()
    return net(x, rescale=True, resize=True, return_features=True)


@_CONVENTIONS.register("plain")
def _call_plain(net: torch.jit.ScriptModule, video: Tensor) -> Tensor:
    b, c, t, h, w = video.shape
    frames = video.transpose(1, 2).reshape(b * t, c, h, w)
    frames = F.interpolate(frames, size=(I3D_SIZE, I3D_SIZE), mode="bilinear", align_corners=False)
    return net(frames.reshape(b, t, c, I3D_SIZE, I3D_SIZE).transpose(1, 2).contiguous())


def default_i3d_path() -> Path:
    """The default place of the I3D TorchScript file: the torch hub checkpoints folder."""
    return Path(torch.hub.get_dir()) / "checkpoints" / I3D_FILE


def feature_space(dim: int) -> str:
    """Name the I3D feature space of a ``dim``-d output."""
    if dim == 400:
        return "I3D Kinetics-400 logits (400-d, before softmax)"
    if dim == 1024:
        return "I3D pool features (1024-d)"
    return f"I3D output ({dim}-d)"


class I3DDetector:
    """The FVD feature network; build it with :meth:`load`."""

    def __init__(
        self, net: torch.jit.ScriptModule, path: Path, convention: str, device: torch.device,
        clip_frames: int = CLIP_FRAMES,
    ) -> None:
        self.net = net
        self.path = path
        self.convention = convention
        self.device = device
        self.clip_frames = clip_frames
        self._call = _CONVENTIONS.get(convention)

    @classmethod
    def load(
        cls, path: str | Path | None = None, convention: str = "stylegan-v",
        device: str | torch.device = "cpu", clip_frames: int = CLIP_FRAMES,
    ) -> I3DDetector:
        """Load the I3D TorchScript file.

        Args:
            path: TorchScript file; default ``torch.hub.get_dir()/checkpoints/i3d_torchscript.pt``.
            convention: ``"stylegan-v"`` or ``"plain"`` (see the module docstring).
            device: where the network runs.
            clip_frames: frames per clip (16 is the standard; other values are not FVD
                as published).
        Raises:
            MetricUnavailable: the file does not exist.
        """
        _CONVENTIONS.get(convention)
        file = Path(path) if path is not None else default_i3d_path()
        if not file.is_file():
            raise MetricUnavailable(
                "fvd", f"I3D TorchScript not found at {file} (give the Kinetics-400 "
                f"{I3D_FILE}); no substitute network is used"
            )
        device = torch.device(device)
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format I3D ships in
                warnings.filterwarnings("ignore", message=".*torch.jit.load.*is deprecated")
                net = torch.jit.load(str(file), map_location=device)
        except (RuntimeError, ValueError) as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise VgpredError(f"{file}: not a TorchScript file ({first_line})") from None
        return cls(net.eval(), file, convention, device, clip_frames)

    @torch.no_grad()
    def features(self, videos: Tensor) -> Tensor:
        """Features of the first ``clip_frames`` frames of each video.

        Args:
            videos: ``(B, C, T, H, W)`` in [-1, 1], C in {1, 3}, T >= clip_frames.
        Returns:
            ``(B, D)`` float32 on the detector's device.
        """
        if videos.dim() != 5 or videos.shape[1] not in (1, 3) or videos.shape[2] < self.clip_frames:
            raise VgpredError(
                f"fvd: videos must be (B, C, T, H, W) with C = 1 or 3 and T >= {self.clip_frames}; "
                f"got {tuple(videos.shape)}"
            )
        clip = videos[:, :, : self.clip_frames].to(self.device, torch.float32).expand(-1, 3, -1, -1, -1)
        # TorchScript's fuser would recompile for every new batch shape (seconds each on a CPU).
        with torch.jit.fuser("none"):
            out = self._call(self.net, clip)
        if out.dim() != 2 or out.shape[0] != videos.shape[0]:
            raise VgpredError(f"{self.path}: the network returned {tuple(out.shape)}, expected (B, D)")
        return out.float()


def frechet_video_distance(
    detector: I3DDetector,
    real: Tensor | Iterable[Tensor],
    fake: Tensor | Iterable[Tensor],
    batch_size: int = 8,
) -> FrechetResult:
    """FVD between two sets of videos.

    Args:
        detector: from :meth:`I3DDetector.load`.
        real, fake: ``(N, C, T, H, W)`` tensors in [-1, 1] or iterables of such
            batches; at least 2 videos each (FVD papers use 2048 or more).
    Returns:
        A :class:`~vgpred.metrics.frechet.FrechetResult` named ``"fvd"`` whose
        ``features`` says which layer was used.
    """
    real_stats = collect_stats(real, detector.features, batch_size)
    fake_stats = collect_stats(fake, detector.features, batch_size)
    space = feature_space(real_stats.dim)
    description = (
        f"Frechet distance of {space} from {detector.path.name} ({detector.convention} input "
        f"convention), first {detector.clip_frames} frames resized to {I3D_SIZE}x{I3D_SIZE}"
    )
    value = frechet_of_stats(real_stats, fake_stats)
    return FrechetResult("fvd", value, space, real_stats.count, fake_stats.count, description)

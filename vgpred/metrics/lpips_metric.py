"""LPIPS per frame (v0.1, AlexNet trunk) through the ``lpips`` package.

Two sets of weights are needed. The linear layers calibrated on human judgements
ship inside the ``lpips`` package (``lpips/weights/v0.1/alex.pth``). The AlexNet
trunk uses torchvision's ImageNet weights, read from the torch hub cache
(``torch.hub.get_dir()/checkpoints/alexnet-owt-7be5be79.pth``) or from a path the
user gives. When that file is absent, :meth:`LPIPSMetric.load` raises
:class:`~vgpred.metrics.MetricUnavailable`: the metric is never computed with a
random trunk and nothing is downloaded (the trunk is built without weights and
the file is loaded here).

Example::

    metric = LPIPSMetric.load()  # or LPIPSMetric.load("/path/alexnet-owt-7be5be79.pth")
    scores = metric(pred, target)  # (B, 3, T, H, W) in [-1, 1] -> (B, T)
"""
from __future__ import annotations

import warnings
from pathlib import Path

import lpips
import torch
from torch import Tensor, nn

from vgpred.errors import VgpredError
from vgpred.metrics import MetricUnavailable
from vgpred.metrics.pixel import frames_of

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
LINEAR_WEIGHTS = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
MIN_SIZE = 31  # smaller frames vanish in AlexNet's pooling layers
# torchvision alexnet.features index -> lpips trunk slice holding that layer
_SLICE_OF_LAYER = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


def default_backbone_path() -> Path:
    """Where torchvision keeps the ImageNet AlexNet weights: the torch hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE


def _trunk_state(path: Path) -> dict[str, Tensor]:
    """Read a torchvision AlexNet state dict (no unpickling of code) as lpips trunk keys."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return {
            f"slice{slice_}.{layer}.{param}": state[f"features.{layer}.{param}"]
            for layer, slice_ in _SLICE_OF_LAYER.items()
            for param in ("weight", "bias")
        }
    except (KeyError, TypeError) as err:
        raise VgpredError(f"{path}: not a torchvision AlexNet state dict (missing {err})") from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise VgpredError(f"{path}: cannot read AlexNet weights ({err})") from None


class LPIPSMetric(nn.Module):
    """LPIPS distance per frame; lower is more similar. Build it with :meth:`load`.

    Calling it with ``pred`` and ``target`` ``(B, C, T, H, W)`` or ``(B, C, H, W)``
    in [-1, 1] (C = 3, or 1 repeated to 3; H, W >= 31) returns ``(B, T)`` or ``(B,)``.
    """

    def __init__(self, model: lpips.LPIPS, backbone: Path, chunk: int = 64) -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.backbone = backbone
        self.chunk = chunk  # frames per forward pass

    @classmethod
    def load(
        cls, backbone: str | Path | None = None, device: str | torch.device = "cpu", chunk: int = 64
    ) -> LPIPSMetric:
        """Build LPIPS from local weights only.

        Args:
            backbone: a torchvision AlexNet state dict (``alexnet-owt-7be5be79.pth``);
                default: the torch hub cache (``$TORCH_HOME/hub/checkpoints``).
            device: where the network runs.
            chunk: frames per forward pass.
        Raises:
            MetricUnavailable: the trunk or the lpips linear weights are absent.
        """
        path = Path(backbone) if backbone is not None else default_backbone_path()
        if not path.is_file():
            raise MetricUnavailable(
                "lpips", f"AlexNet ImageNet weights not found at {path} (copy {ALEXNET_FILE} there "
                "or pass its path); no random or downloaded substitute is used"
            )
        if not LINEAR_WEIGHTS.is_file():
            raise MetricUnavailable("lpips", f"the lpips package lacks its linear weights {LINEAR_WEIGHTS}")
        trunk = _trunk_state(path)
        with warnings.catch_warnings():  # torchvision's deprecation notice for `pretrained=`
            warnings.simplefilter("ignore")
            model = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
        model.net.load_state_dict(trunk, strict=True)
        return cls(model, path, chunk).to(device)

    @torch.no_grad()
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        p, q, shape = frames_of(pred, target, "lpips")
        if min(p.shape[-2:]) < MIN_SIZE:
            raise VgpredError(
                f"lpips: frames must be at least {MIN_SIZE}x{MIN_SIZE} pixels for AlexNet; "
                f"got {p.shape[-2]}x{p.shape[-1]}"
            )
        if p.shape[1] not in (1, 3):
            raise VgpredError(f"lpips: frames must have 1 or 3 channels; got {p.shape[1]}")
        device = next(self.model.parameters()).device
        out = []
        for a, b in zip(p.split(self.chunk), q.split(self.chunk)):
            a, b = (x.to(device, torch.float32).expand(-1, 3, -1, -1) for x in (a, b))
            out.append(self.model(a, b).flatten())
        return torch.cat(out).to(pred.device).reshape(shape)

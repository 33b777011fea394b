"""vgpred's own video classifier, a feature space for a Frechet distance without I3D.

Where the Kinetics-400 I3D weights are absent, ``frechet_projectnet`` measures
the Frechet distance of the features of :class:`VideoFeatureNet`, a small 3-D
conv classifier (about 0.3 M parameters) trained by :func:`train_feature_net` on
labelled clips of the evaluation data. It is not FVD and its values are
comparable only between runs scored with the same saved network. The same
network scores label-conditioned generation through :meth:`VideoFeatureNet.predict_labels`.

A trained network is a folder with ``config.json`` and ``model.safetensors``
(loading never unpickles).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, IterableDataset

from vgpred.errors import VgpredError
from vgpred.metrics import MetricUnavailable
from vgpred.metrics.frechet import FrechetResult, collect_stats, frechet_of_stats

FORMAT = "vgpred-feature-net"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_CONFIG_KEYS = ("channels", "frames", "size", "num_classes", "feat_dim", "width", "data")


class VideoFeatureNet(nn.Module):
    """3-D conv clip classifier: 3 stride-2 conv blocks, global pooling, 2 linear layers.

    Args:
        channels, frames, size: input clips are ``(B, channels, frames, size, size)`` in [-1, 1].
        num_classes: number of labels.
        feat_dim: size of the feature vector (the penultimate layer).
        width: channels of the first conv block (a multiple of 8); doubled twice.
        data: one line naming the training data, quoted in metric descriptions.
    """

    def __init__(
        self, channels: int, frames: int, size: int, num_classes: int,
        feat_dim: int = 128, width: int = 32, data: str = "",
    ) -> None:
        super().__init__()
        self.channels, self.frames, self.size = channels, frames, size
        self.num_classes, self.feat_dim, self.width, self.data = num_classes, feat_dim, width, data
        blocks: list[nn.Module] = []
        c_in = channels
        for c_out in (width, 2 * width, 4 * width):
            blocks += [nn.Conv3d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(8, c_out), nn.SiLU()]
            c_in = c_out
        self.trunk = nn.Sequential(*blocks, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(c_in, feat_dim), nn.ReLU())
        self.head = nn.Linear(feat_dim, num_classes)

    def config(self) -> dict[str, Any]:
        """The constructor arguments, as saved in ``config.json``."""
        return {key: getattr(self, key) for key in _CONFIG_KEYS}

    def _checked(self, video: Tensor) -> Tensor:
        expected = (self.channels, self.frames, self.size, self.size)
        if video.dim() != 5 or tuple(video.shape[1:]) != expected:
            raise VgpredError(
                f"feature network: videos must be (B, {', '.join(map(str, expected))}); "
                f"got {tuple(video.shape)}"
            )
        param = self.head.weight
        return video.to(param.device, param.dtype)

    def features(self, video: Tensor) -> Tensor:
        """``(B, C, T, H, W)`` in [-1, 1] -> ``(B, feat_dim)`` features (after ReLU)."""
        return self.embed(self.trunk(self._checked(video)))

    def forward(self, video: Tensor) -> Tensor:
        """``(B, C, T, H, W)`` in [-1, 1] -> ``(B, num_classes)`` logits."""
        return self.head(self.features(video))

    @torch.no_grad()
    def predict_labels(self, video: Tensor) -> Tensor:
        """``(B, C, T, H, W)`` in [-1, 1] -> ``(B,)`` predicted labels (long)."""
        return self(video).argmax(dim=1)


def train_feature_net(
    dataset: Dataset | IterableDataset,
    num_classes: int,
    data: str,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 2e-3,
    feat_dim: int = 128,
    width: int = 32,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> VideoFeatureNet:
    """Train a :class:`VideoFeatureNet` as a clip classifier.

    Args:
        dataset: yields ``(clip (C, T, H, W) in [-1, 1], label int)`` pairs with square frames.
        num_classes: labels are in ``[0, num_classes)``.
        data: one line naming the data (kept in the saved config and metric descriptions).
        epochs, batch_size, lr: AdamW training with cross-entropy.
        device, seed: where to train; the seed fixes initialisation and shuffling.
    Returns:
        The trained network, in eval mode.
    """
    generator = torch.Generator().manual_seed(seed)
    shuffle = not isinstance(dataset, IterableDataset)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
    first_clips, _ = next(iter(loader))
    if first_clips.dim() != 5 or first_clips.shape[-1] != first_clips.shape[-2]:
        raise VgpredError(f"feature network data: clips must be (C, T, S, S); got {tuple(first_clips.shape[1:])}")
    _, channels, frames, size, _ = first_clips.shape
    torch.manual_seed(seed)
    net = VideoFeatureNet(channels, frames, size, num_classes, feat_dim, width, data).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr)
    net.train()
    for _ in range(epochs):
        for clips, labels in loader:
            loss = nn.functional.cross_entropy(net(clips), labels.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net.eval()


def save_feature_net(net: VideoFeatureNet, folder: str | Path) -> None:
    """Write ``config.json`` and ``model.safetensors`` into ``folder`` (each atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, **net.config()}
    tmp_config, tmp_weights = folder / f".{CONFIG_FILE}.tmp", folder / f".{WEIGHTS_FILE}.tmp"
    tmp_config.write_text(json.dumps(config, indent=2) + "\n")
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(tmp_weights), metadata={"format": FORMAT})
    os.replace(tmp_weights, folder / WEIGHTS_FILE)
    os.replace(tmp_config, folder / CONFIG_FILE)


def load_feature_net(folder: str | Path, device: str | torch.device = "cpu") -> VideoFeatureNet:
    """Load a network written by :func:`save_feature_net`, in eval mode.

    Raises:
        MetricUnavailable: the folder holds no saved network.
        VgpredError: the files are of another format or version, or inconsistent.
    """
    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not (config_path.is_file() and weights_path.is_file()):
        raise MetricUnavailable(
            "frechet_projectnet", f"no trained feature network in {folder} ({CONFIG_FILE} and {WEIGHTS_FILE})"
        )
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as err:
        raise VgpredError(f"{config_path}: not valid JSON ({err})") from None
    if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
        raise VgpredError(
            f"{config_path}: expected format {FORMAT!r} version {FORMAT_VERSION}; "
            f"got {config.get('format')!r} version {config.get('format_version')!r}"
        )
    missing = [k for k in _CONFIG_KEYS if k not in config]
    if missing:
        raise VgpredError(f"{config_path}: missing keys {', '.join(missing)}")
    try:
        net = VideoFeatureNet(**{k: config[k] for k in _CONFIG_KEYS})
        net.load_state_dict(load_file(str(weights_path)))
    except (TypeError, RuntimeError) as err:
        raise VgpredError(f"{folder}: weights do not match {CONFIG_FILE} ({str(err).splitlines()[0]})") from None
    return net.to(device).eval()


def frechet_projectnet(
    net: VideoFeatureNet,
    real: Tensor | Iterable[Tensor],
    fake: Tensor | Iterable[Tensor],
    batch_size: int = 16,
) -> FrechetResult:
    """Frechet distance of :class:`VideoFeatureNet` features of two sets of videos.

    Args:
        net: a trained network (:func:`train_feature_net` or :func:`load_feature_net`).
        real, fake: ``(N, C, T, H, W)`` in [-1, 1] matching the network's input shape,
            or iterables of such batches; at least 2 videos each.
    """
    real_stats = collect_stats(real, net.features, batch_size)
    fake_stats = collect_stats(fake, net.features, batch_size)
    data = net.data or "unnamed data"
    return FrechetResult(
        "frechet_projectnet",
        frechet_of_stats(real_stats, fake_stats),
        f"vgpred VideoFeatureNet features ({net.feat_dim}-d)",
        real_stats.count,
        fake_stats.count,
        f"Frechet distance of features of vgpred's own classifier trained on {data}; not FVD",
    )

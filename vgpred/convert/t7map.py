"""The VideoGAN authors' Torch7 networks mapped onto vgpred's unconditional model, layer by layer.

The authors' ``main.lua`` (github.com/cvondrick/videogan) builds, in Torch7 ``nn``:

* the generator (``iter*_net.t7``): a ``ConcatTable`` of the video stream (``View``, then
  ``VolumetricFullConvolution`` 100 -> 512 with kernel 2x4x4 and three 4x4x4 stride-2
  layers, each with ``VolumetricBatchNormalization`` + ``ReLU``, ending in a ``ConcatTable``
  of the video head 64 -> 3 + ``Tanh`` and the mask head 64 -> 1 + ``Sigmoid`` +
  ``L1Penalty``) and the static stream (``View``, ``SpatialFullConvolution`` 100 -> 512,
  4x4, then four stride-2 layers to 3 channels and ``Tanh``); then the composition
  ``mask * video + (1 - mask) * static`` from ``FlattenTable``, ``SelectTable``,
  ``Squeeze``, ``Replicate``, ``MulConstant``, ``AddConstant``, ``CMulTable``, ``CAddTable``;
* the discriminator (``iter*_netD.t7``): ``VolumetricConvolution`` 3 -> 64 -> 128 -> 256
  -> 512 (4x4x4, stride 2) with ``LeakyReLU`` 0.2 and ``VolumetricBatchNormalization``
  (eps 1e-3) from the second layer, then a 2x4x4 convolution to two logits for a
  two-class cross-entropy (real = class 1) and a ``View``.

That is vgpred's unconditional model (``model.mode=unconditional``, the pixel
foreground, zero time padding) layer for layer. The released files were saved after
``cudnn.convert``: ``cudnn.`` module types and CUDA tensors read like ``nn.`` and float
ones. What differs is folded in exactly (inference uses the running statistics):

* Torch7 convolutions carry a bias; vgpred's layers before a BatchNorm have none, so the
  bias moves into the BatchNorm's running mean (``mean - bias``);
* each BatchNorm's own eps (read from the file) moves into its running variance
  (``var + eps - 1e-5``, vgpred's BatchNorm eps); files written before nn's BatchNorm
  version 2 hold ``running_std = 1 / sqrt(var + eps)`` instead of ``running_var``;
* transposed-convolution weights are ``(in, out, kT, kH, kW)`` in Torch7 and PyTorch
  alike; ``VolumetricFullConvolution`` files older than nn's February 2016 rewrite (no
  ``adjW`` field) hold ``(out, in, ...)`` and are transposed as nn itself does on load;
* the discriminator's two logits become vgpred's one: ``logit_real - logit_fake``
  (the log-odds of "real"), from the difference of the last layer's two filters.

Sizes are read from the file (the paper's 64x64x32 model, or any other size vgpred can
build); every layer's channels, kernel, stride and padding are checked against the
vgpred model of those sizes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from vgpred.convert.t7file import T7Module
from vgpred.errors import VgpredError

AUTHORS = "github.com/cvondrick/videogan main.lua"


class _Cursor:
    """Walks a network's modules in the order they run, expecting the authors' sequence."""

    def __init__(self, leaves: list[T7Module], source: Path, what: str):
        self.leaves, self.source, self.what, self.pos = leaves, source, what, 0

    def peek(self) -> str | None:
        return self.leaves[self.pos].kind if self.pos < len(self.leaves) else None

    def fail(self, expected: str) -> VgpredError:
        here = (self.leaves[self.pos].describe() if self.pos < len(self.leaves)
                else f"the end of the network (after {self.leaves[-1].describe()})" if self.leaves else "an empty network")
        return VgpredError(f"{self.source}: not the authors' VideoGAN {self.what}: {here} where {AUTHORS} has {expected}")

    def take(self, *kinds: str) -> T7Module:
        if self.peek() not in kinds:
            raise self.fail(" or ".join(kinds))
        self.pos += 1
        return self.leaves[self.pos - 1]

    def optional(self, *kinds: str) -> T7Module | None:
        return self.take(*kinds) if self.peek() in kinds else None

    def rest(self) -> list[T7Module]:
        rest, self.pos = self.leaves[self.pos:], len(self.leaves)
        return rest


def _array(module: T7Module, name: str, source: Path, required: bool = True) -> np.ndarray | None:
    value = module.get(name)
    if value is None or (isinstance(value, np.ndarray) and value.size == 0 and not required):
        if required:
            raise VgpredError(f"{source}: {module.describe()} has no {name} tensor")
        return None
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        raise VgpredError(f"{source}: {module.describe()}: {name} is not a float tensor")
    value = value.astype(np.float64)
    if not np.isfinite(value).all():
        raise VgpredError(f"{source}: {module.describe()}: {name} holds NaN or infinite values")
    return value


def _int_field(module: T7Module, names: tuple[str, ...], default: int | None, source: Path) -> int:
    for name in names:
        value = module.get(name)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool):
                raise VgpredError(f"{source}: {module.describe()}: {name}={value!r} is not an integer")
            return value
    if default is None:
        raise VgpredError(f"{source}: {module.describe()} has no {names[0]} field")
    return default


def _geometry(module: T7Module, dims: int, source: Path) -> dict[str, Any]:
    """Planes, kernel, stride, padding and output adjustment of a Torch7 (full) convolution."""
    axes = ("T", "H", "W")[-dims:]
    get = lambda prefix, default, old=None: tuple(  # noqa: E731
        _int_field(module, (prefix + a,) + ((old + a,) if old else ()), default, source) for a in axes)
    return {"planes": (_int_field(module, ("nInputPlane",), None, source),
                       _int_field(module, ("nOutputPlane",), None, source)),
            "kernel": get("k", None), "stride": get("d", 1), "padding": get("pad", 0, "p"), "adj": get("adj", 0)}


def _copy_conv(module: T7Module, target, role: str, model_text: str, source: Path) -> np.ndarray | None:
    """Copy a Torch7 convolution into the PyTorch layer ``target``; returns its bias when ``target``
    has none (to be folded into the BatchNorm that follows)."""
    transposed = "FullConvolution" in module.kind
    dims = 3 if module.kind.startswith("Volumetric") else 2
    g = _geometry(module, dims, source)
    cin, cout = (target.in_channels, target.out_channels)
    want = {"planes": (cin, cout), "kernel": tuple(target.kernel_size), "stride": tuple(target.stride),
            "padding": tuple(target.padding), "adj": (0,) * dims}
    if g != want:
        def text(d):
            return (f"{d['planes'][0]}->{d['planes'][1]} channels, kernel {'x'.join(map(str, d['kernel']))}, stride "
                    f"{'x'.join(map(str, d['stride']))}, padding {'x'.join(map(str, d['padding']))}"
                    + (f", adj {'x'.join(map(str, d['adj']))}" if any(d["adj"]) else ""))
        raise VgpredError(f"{source}: {module.describe()} is {text(g)}; {role} of {model_text} needs {text(want)} there")
    weight = _array(module, "weight", source)
    if transposed and dims == 3 and module.get("adjW") is None:
        weight = weight.swapaxes(0, 1)  # nn's VolumetricFullConvolution before 2016-02: (out, in, kT, kH, kW)
    if weight.shape != tuple(target.weight.shape):
        raise VgpredError(f"{source}: {module.describe()}: weight has shape {weight.shape}, "
                          f"{tuple(target.weight.shape)} expected for its planes and kernel")
    target.weight.data.copy_(_tensor(weight))
    bias = _array(module, "bias", source, required=False)
    if bias is not None and bias.shape != (cout,):
        raise VgpredError(f"{source}: {module.describe()}: bias has shape {bias.shape}, ({cout},) expected")
    if target.bias is not None:
        target.bias.data.copy_(_tensor(bias if bias is not None else np.zeros(cout)))
        return None
    return bias


def _tensor(array: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _copy_norm(module: T7Module, target, conv_bias: np.ndarray | None, source: Path) -> float:
    """Copy a Torch7 BatchNorm into ``target``, folding the preceding convolution's bias and the
    file's eps into the running statistics; returns the file's eps."""
    n = target.num_features
    eps = module.get("eps", 1e-5)
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 <= eps < 1:
        raise VgpredError(f"{source}: {module.describe()}: eps={eps!r} is not a small non-negative number")
    mean = _array(module, "running_mean", source)
    var = _array(module, "running_var", source, required=False)
    if var is None:  # nn/cudnn BatchNorm version 1: running_std = 1 / sqrt(var + eps)
        std = _array(module, "running_std", source, required=False)
        if std is None:
            raise VgpredError(f"{source}: {module.describe()} has neither running_var nor running_std")
        if (std <= 0).any():
            raise VgpredError(f"{source}: {module.describe()}: running_std holds values <= 0")
        var = std ** -2.0 - eps
    weight = _array(module, "weight", source, required=False)
    bias = _array(module, "bias", source, required=False)
    weight = np.ones(n) if weight is None else weight  # affine = false
    bias = np.zeros(n) if bias is None else bias
    for name, value in (("running_mean", mean), ("running_var", var), ("weight", weight), ("bias", bias)):
        if value.shape != (n,):
            raise VgpredError(f"{source}: {module.describe()}: {name} has shape {value.shape}, ({n},) expected")
    if (var + eps <= 0).any():
        raise VgpredError(f"{source}: {module.describe()}: running variance + eps is not positive")
    if conv_bias is not None:
        mean = mean - conv_bias
    target.weight.data.copy_(_tensor(weight))
    target.bias.data.copy_(_tensor(bias))
    target.running_mean.copy_(_tensor(mean))
    target.running_var.copy_(_tensor(var + eps - target.eps))
    return float(eps)


def _describe(cfg) -> str:
    return (f"vgpred's unconditional {cfg.resolution}x{cfg.resolution}x{cfg.frames} model "
            f"({cfg.channels} channels, latent {cfg.latent_dim}, width {cfg.width:g})")


def _make_config(source: Path, what: str, **values):
    from vgpred.config import ModelConfig
    from vgpred.models.videogan import check_model_config

    cfg = ModelConfig(mode="unconditional", foreground="pixels", time_padding="zeros", two_stream=True, **values)
    try:
        check_model_config(cfg)
    except VgpredError as err:
        raise VgpredError(f"{source}: the {what} has sizes vgpred cannot build ({err})") from None
    return cfg


def kind_of(tree: T7Module) -> str:
    kinds = {m.kind for m in tree.leaves()}
    if "VolumetricFullConvolution" in kinds:
        return "generator"
    if "VolumetricConvolution" in kinds:
        return "discriminator"
    return "network"


def _composition(channels: int, frames: int) -> list[tuple]:
    """The modules after the two streams in main.lua, with their settings, in the order they run."""
    return [("FlattenTable",), ("SelectTable", 1), ("SelectTable", 2), ("Squeeze",), ("Replicate", channels, 2),
            ("CMulTable",), ("SelectTable", 3), ("Replicate", frames, 3), ("SelectTable", 2), ("Squeeze",),
            ("MulConstant", -1), ("AddConstant", 1), ("Replicate", channels, 2), ("CMulTable",), ("CAddTable",)]


def _settings(m: T7Module) -> tuple:
    extra = {"SelectTable": ("index",), "Replicate": ("nfeatures", "dim"), "MulConstant": ("constant_scalar",),
             "AddConstant": ("constant_scalar",)}.get(m.kind, ())
    return (m.kind, *(m.get(name) for name in extra))


def convert_generator(tree: T7Module, source: Path, fps: float):
    """The authors' generator as an eval-mode :class:`~vgpred.models.videogan.VideoGenerator`; also the eps values."""
    from vgpred.models.videogan import VideoGenerator

    c = _Cursor(list(tree.leaves()), source, "generator")
    c.optional("View", "Reshape")
    trunk, heads = [], {}
    while True:
        conv = c.take("VolumetricFullConvolution")
        if c.peek() in ("Tanh", "Sigmoid"):
            break
        trunk.append((conv, c.take("VolumetricBatchNormalization")))
        c.take("ReLU")
    for _ in range(2):
        act = c.take(*[k for k in ("Tanh", "Sigmoid") if k not in heads])
        heads[act.kind] = conv
        if act.kind == "Sigmoid":
            penalty = c.optional("L1Penalty")
            if penalty is not None and penalty.get("provideOutput") is False:
                raise VgpredError(f"{source}: {penalty.describe()} passes no output (provideOutput=false); "
                                  f"{AUTHORS} passes the mask on")
        if len(heads) < 2:
            conv = c.take("VolumetricFullConvolution")
    c.optional("View", "Reshape")
    static = []
    while True:
        conv = c.take("SpatialFullConvolution")
        if c.peek() == "Tanh":
            c.take("Tanh")
            static_head = conv
            break
        static.append((conv, c.take("SpatialBatchNormalization")))
        c.take("ReLU")
    tail = c.rest()
    if not trunk:
        raise VgpredError(f"{source}: not the authors' VideoGAN generator: its video stream has no "
                          "VolumetricBatchNormalization layers")

    stem = _geometry(trunk[0][0], 3, source)
    video = _geometry(heads["Tanh"], 3, source)
    time_stride = math.prod(_geometry(m, 3, source)["stride"][0] for m, _ in trunk[1:]) * video["stride"][0]
    base = _geometry(trunk[-1][0], 3, source)["planes"][1]
    cfg = _make_config(source, "generator", resolution=4 << len(trunk), frames=stem["kernel"][0] * time_stride,
                       channels=video["planes"][1], latent_dim=stem["planes"][0], width=base / 64, fps=fps)
    text = _describe(cfg)
    if len(static) != len(trunk):
        raise VgpredError(f"{source}: the static stream has {len(static)} BatchNorm layers, the video stream "
                          f"{len(trunk)}; {text} has {len(trunk)} in each")
    if [_settings(m) for m in tail] != _composition(cfg.channels, cfg.frames):
        raise VgpredError(f"{source}: the generator's last modules ({', '.join(m.kind for m in tail) or 'none'}) "
                          f"do not compose mask * video + (1 - mask) * static as {AUTHORS} does")

    model = VideoGenerator(cfg)
    g = model.generator
    eps = set()
    for i, (conv, norm) in enumerate(trunk):
        bias = _copy_conv(conv, g.foreground[3 * i], f"video layer {i + 1}", text, source)
        eps.add(_copy_norm(norm, g.foreground[3 * i + 1], bias, source))
    _copy_conv(heads["Tanh"], g.video_head[0], "the video head", text, source)
    _copy_conv(heads["Sigmoid"], g.mask_head[0], "the mask head", text, source)
    for i, (conv, norm) in enumerate(static):
        bias = _copy_conv(conv, g.background[3 * i], f"static layer {i + 1}", text, source)
        eps.add(_copy_norm(norm, g.background[3 * i + 1], bias, source))
    _copy_conv(static_head, g.background[3 * len(static)], "the static head", text, source)
    return model.eval(), sorted(eps)


def convert_discriminator(tree: T7Module, source: Path, fps: float):
    """The authors' discriminator as an eval-mode :class:`~vgpred.models.networks.Discriminator`
    with one logit (``logit_real - logit_fake``); returns it, its config and the eps values."""
    from vgpred.models.videogan import build_discriminator

    c = _Cursor(list(tree.leaves()), source, "discriminator")
    blocks = [(c.take("VolumetricConvolution"), None)]
    relus = [c.take("LeakyReLU")]
    while True:
        conv = c.take("VolumetricConvolution")
        if c.peek() in (None, "View", "Reshape"):
            c.optional("View", "Reshape")
            break
        blocks.append((conv, c.take("VolumetricBatchNormalization")))
        relus.append(c.take("LeakyReLU"))
    if c.peek() is not None:
        raise c.fail("nothing after the last convolution but a View")
    for relu in relus:
        slope = relu.get("negval", 0.01)
        if not isinstance(slope, (int, float)) or abs(slope - 0.2) > 1e-9:
            raise VgpredError(f"{source}: {relu.describe()} has slope {slope!r}; {AUTHORS} (and vgpred) use 0.2")
    first = _geometry(blocks[0][0], 3, source)
    time_stride = math.prod(_geometry(m, 3, source)["stride"][0] for m, _ in blocks)
    last = _geometry(conv, 3, source)
    if last["planes"][1] != 2:
        raise VgpredError(f"{source}: {conv.describe()} gives {last['planes'][1]} logits; the authors' "
                          "discriminator ends in 2 (a two-class cross-entropy, real = class 1)")
    cfg = _make_config(source, "discriminator", resolution=4 << len(blocks), frames=last["kernel"][0] * time_stride,
                       channels=first["planes"][0], latent_dim=100, width=first["planes"][1] / 64, fps=fps)
    text = (f"vgpred's {cfg.resolution}x{cfg.resolution}x{cfg.frames} discriminator ({cfg.channels} channels, "
            f"width {cfg.width:g})")
    disc = build_discriminator(cfg)
    eps = set()
    for i, (conv_i, norm) in enumerate(blocks):
        block = disc.blocks[i]
        bias = _copy_conv(conv_i, block[0], f"layer {i + 1}", text, source)
        if norm is not None:
            eps.add(_copy_norm(norm, block[1], bias, source))
    # two logits (real = class 1, fake = class 2) -> one: their difference, the log-odds of "real"
    _check_logit_geometry(conv, disc.logit, text, source)
    weight, bias = _array(conv, "weight", source), _array(conv, "bias", source, required=False)
    if weight.shape != (2, *disc.logit.weight.shape[1:]):
        raise VgpredError(f"{source}: {conv.describe()}: weight has shape {weight.shape}, "
                          f"{(2, *disc.logit.weight.shape[1:])} expected")
    bias = np.zeros(2) if bias is None else bias
    if bias.shape != (2,):
        raise VgpredError(f"{source}: {conv.describe()}: bias has shape {bias.shape}, (2,) expected")
    disc.logit.weight.data.copy_(_tensor(weight[:1] - weight[1:]))
    disc.logit.bias.data.copy_(_tensor(bias[:1] - bias[1:]))
    return disc.eval(), cfg, sorted(eps)


def _check_logit_geometry(conv: T7Module, target, text: str, source: Path) -> None:
    g = _geometry(conv, 3, source)
    want = (tuple(target.kernel_size), tuple(target.stride), tuple(target.padding), (0, 0, 0))
    if (g["kernel"], g["stride"], g["padding"], g["adj"]) != want or g["planes"][0] != target.in_channels:
        raise VgpredError(f"{source}: {conv.describe()} is {g['planes'][0]}->2 with kernel "
                          f"{'x'.join(map(str, g['kernel']))}; the last layer of {text} needs {target.in_channels}->2 "
                          f"with kernel {'x'.join(map(str, want[0]))}, stride 1, no padding")

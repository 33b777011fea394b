"""A small writer of the Torch7 binary format and the VideoGAN authors' networks in it (tests only).

The format (torch7's File.lua, binary mode, 64-bit Linux): a type tag (int32: 0 nil,
1 number, 2 string, 3 table, 4 Torch object, 5 boolean), then for numbers a float64, for
strings an int32 length and the bytes, for booleans an int32; tables and Torch objects
carry an int32 reference index (a repeated index refers to the object written before),
tables an int32 entry count and key/value objects, Torch objects a version string
("V 1"), the class name, then tensors: ndim int32, sizes and strides int64, the 1-based
storage offset int64 and the storage object (element count int64 and the raw elements);
any other class (an nn module): the table of its fields.

:func:`authors_generator` and :func:`authors_discriminator` build main.lua's module trees
(github.com/cvondrick/videogan) from a vgpred model's weights, with Torch7's conventions:
biases on every convolution (for a layer vgpred has without one, a random bias is written
and the BatchNorm's running mean shifted by it), BatchNorm eps of the file's own
(running variance shifted to match), and for the discriminator two logits whose
difference is vgpred's one.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Obj:
    """A Torch class instance written as the table of its fields."""

    typename: str
    fields: dict = field(default_factory=dict)
    version: int = 1


@dataclass
class Tensor:
    data: np.ndarray
    typename: str = "torch.FloatTensor"


@dataclass
class Storage:
    data: np.ndarray
    typename: str = "torch.LongStorage"


_STORAGE = {"torch.FloatTensor": ("torch.FloatStorage", np.float32), "torch.CudaTensor": ("torch.CudaStorage", np.float32),
            "torch.DoubleTensor": ("torch.DoubleStorage", np.float64)}


def write_t7(path: Path, obj) -> None:
    out: list[bytes] = []
    seen: dict[int, int] = {}

    def i32(v):
        out.append(struct.pack("<i", v))

    def i64(v):
        out.append(struct.pack("<q", v))

    def string(s: str):
        b = s.encode()
        i32(len(b))
        out.append(b)

    def ref(o, tag) -> bool:
        i32(tag)
        if id(o) in seen:
            i32(seen[id(o)])
            return True
        seen[id(o)] = len(seen) + 1
        i32(seen[id(o)])
        return False

    def storage(typename: str, data: np.ndarray, keep):
        if not ref(keep, 4):
            string("V 1"), string(typename), i64(data.size)
            out.append(data.tobytes())

    def obj_(o):
        if o is None:
            i32(0)
        elif isinstance(o, bool):
            i32(5), i32(int(o))
        elif isinstance(o, (int, float)):
            i32(1)
            out.append(struct.pack("<d", float(o)))
        elif isinstance(o, str):
            i32(2), string(o)
        elif isinstance(o, Tensor):
            if ref(o, 4):
                return
            string("V 1"), string(o.typename)
            name, dtype = _STORAGE[o.typename]
            data = np.ascontiguousarray(o.data, dtype=dtype)
            if data.size == 0:  # an empty tensor: no dimensions, no storage
                i32(0), i64(1), i32(0)
                return
            i32(data.ndim)
            for n in data.shape:
                i64(n)
            for s in data.strides:
                i64(s // data.itemsize)
            i64(1)
            storage(name, data.reshape(-1), o.data)
        elif isinstance(o, Storage):
            storage(o.typename, np.ascontiguousarray(o.data, dtype=np.int64), o)
        elif isinstance(o, Obj):
            if not ref(o, 4):
                string(f"V {o.version}"), string(o.typename)
                obj_(o.fields)
        elif isinstance(o, (list, dict)):
            if ref(o, 3):
                return
            items = list(enumerate(o, 1)) if isinstance(o, list) else list(o.items())
            i32(len(items))
            for k, v in items:
                obj_(k), obj_(v)
        else:
            raise TypeError(type(o))

    obj_(obj)
    Path(path).write_bytes(b"".join(out))


class Style:
    """How a file was saved: ``nn.`` or ``cudnn.`` types, float or CUDA tensors, BatchNorm eps/version."""

    def __init__(self, cudnn: bool = False, eps: float = 1e-5, bn_version: int = 2, old_full_conv: bool = False,
                 seed: int = 0):
        self.layer = "cudnn." if cudnn else "nn."
        self.tensor = "torch.CudaTensor" if cudnn else "torch.FloatTensor"
        self.eps, self.bn_version, self.old_full_conv = eps, bn_version, old_full_conv
        self.rng = np.random.default_rng(seed)

    def t(self, array) -> Tensor:
        return Tensor(np.asarray(array, dtype=np.float32), self.tensor)

    def module(self, kind: str, cudnn_able: bool = True, **fields) -> Obj:
        prefix = self.layer if cudnn_able else "nn."
        return Obj(prefix + kind, {"output": self.t(np.empty(0)), "gradInput": self.t(np.empty(0)), "train": False,
                                   **fields})

    def conv(self, kind: str, conv, cout_override=None, weight=None, bias=None) -> tuple[Obj, np.ndarray]:
        """A Torch7 (full) convolution from a PyTorch layer; returns it and the bias it carries."""
        w = conv.weight.detach().numpy() if weight is None else weight
        dims = w.ndim - 2
        cin, cout = conv.in_channels, conv.out_channels if cout_override is None else cout_override
        if bias is None:
            bias = conv.bias.detach().numpy() if conv.bias is not None else self.rng.normal(0, 0.1, cout)
        axes = ("T", "H", "W")[-dims:]
        fields = {"nInputPlane": cin, "nOutputPlane": cout}
        for a, k, s, p in zip(axes, conv.kernel_size, conv.stride, conv.padding):
            fields.update({f"k{a}": k, f"d{a}": s})
            if kind.endswith("FullConvolution") and self.old_full_conv and dims == 3:
                fields[f"p{a}"] = p  # nn before 2016-02: pT/pH/pW, no adj*, weight (out, in, ...)
            else:
                fields[f"pad{a}"] = p
                if kind.endswith("FullConvolution"):
                    fields[f"adj{a}"] = 0
        if kind.endswith("FullConvolution") and self.old_full_conv and dims == 3:
            w = w.swapaxes(0, 1)
        fields.update(weight=self.t(w), bias=self.t(bias))
        return self.module(kind, **fields), bias

    def norm(self, kind: str, bn, conv_bias) -> Obj:
        """A Torch7 BatchNorm computing what ``bn`` (eps 1e-5) computes on the convolution's output without its bias."""
        mean = bn.running_mean.numpy().astype(np.float64) + conv_bias
        var = bn.running_var.numpy().astype(np.float64) + bn.eps - self.eps
        fields = {"eps": self.eps, "momentum": 0.1, "affine": True, "running_mean": self.t(mean),
                  "weight": self.t(bn.weight.detach().numpy()), "bias": self.t(bn.bias.detach().numpy())}
        if self.bn_version < 2:
            fields["running_std"] = self.t(1 / np.sqrt(var + self.eps))
        else:
            fields["running_var"] = self.t(var)
        m = self.module(kind, **fields)
        m.version = self.bn_version
        return m


def seq(*modules) -> Obj:
    return Obj("nn.Sequential", {"modules": list(modules), "train": False})


def concat(*modules) -> Obj:
    return Obj("nn.ConcatTable", {"modules": list(modules), "train": False})


def authors_generator(model, style: Style) -> Obj:
    """main.lua's generator holding ``model``'s weights (a vgpred unconditional VideoGenerator)."""
    g, cfg = model.generator, model.cfg
    layers = list(g.foreground)
    video = [Obj("nn.View", {"size": Storage(np.array([cfg.latent_dim, 1, 1, 1])), "numElements": cfg.latent_dim,
                             "numInputDims": None})]
    for i in range(0, len(layers), 3):
        conv, bias = style.conv("VolumetricFullConvolution", layers[i])
        video += [conv, style.norm("VolumetricBatchNormalization", layers[i + 1], bias), style.module("ReLU")]
    gen = seq(style.conv("VolumetricFullConvolution", g.video_head[0])[0], style.module("Tanh"))
    mask = seq(style.conv("VolumetricFullConvolution", g.mask_head[0])[0], style.module("Sigmoid"),
               Obj("nn.L1Penalty", {"l1weight": 0.1, "sizeAverage": True, "provideOutput": True}))
    net_video = seq(*video, concat(gen, mask))
    layers = list(g.background)
    static = [Obj("nn.View", {"size": Storage(np.array([cfg.latent_dim, 1, 1])), "numElements": cfg.latent_dim})]
    for i in range(0, len(layers) - 2, 3):
        conv, bias = style.conv("SpatialFullConvolution", layers[i])
        static += [conv, style.norm("SpatialBatchNormalization", layers[i + 1], bias), style.module("ReLU")]
    static += [style.conv("SpatialFullConvolution", layers[-2])[0], style.module("Tanh")]

    def nn(kind, **fields):
        return Obj("nn." + kind, fields)

    c = cfg.channels
    motion = seq(concat(nn("SelectTable", index=1), seq(nn("SelectTable", index=2), nn("Squeeze"),
                                                         nn("Replicate", nfeatures=c, dim=2))), nn("CMulTable"))
    static_part = seq(concat(seq(nn("SelectTable", index=3), nn("Replicate", nfeatures=cfg.frames, dim=3)),
                             seq(nn("SelectTable", index=2), nn("Squeeze"), nn("MulConstant", constant_scalar=-1),
                                 nn("AddConstant", constant_scalar=1), nn("Replicate", nfeatures=c, dim=2))),
                      nn("CMulTable"))
    return seq(concat(net_video, seq(*static)), nn("FlattenTable"), concat(motion, static_part), nn("CAddTable"))


def authors_discriminator(disc, style: Style) -> Obj:
    """main.lua's discriminator whose two logits differ by ``disc``'s one logit."""
    modules = []
    for i, block in enumerate(disc.blocks):
        conv, bias = style.conv("VolumetricConvolution", block[0])
        modules.append(conv)
        if i > 0:
            modules.append(style.norm("VolumetricBatchNormalization", block[1], bias))
        modules.append(style.module("LeakyReLU", cudnn_able=False, negval=0.2, inplace=True))
    w = disc.logit.weight.detach().numpy()
    b = disc.logit.bias.detach().numpy()
    w_fake = style.rng.normal(0, 0.01, w.shape)
    b_fake = style.rng.normal(0, 0.1, 1)
    two, _ = style.conv("VolumetricConvolution", disc.logit, cout_override=2,
                        weight=np.concatenate([w + w_fake, w_fake]), bias=np.concatenate([b + b_fake, b_fake]))
    modules += [two, Obj("nn.View", {"size": Storage(np.array([2])), "numElements": 2, "numInputDims": 4})]
    return seq(*modules)

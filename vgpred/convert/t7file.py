"""Reading Torch7 binary files (``torch.save`` of an ``nn`` module) without running code.

The parsing is the ``torchfile`` package's (optional extra ``vgpred[torch7]``): it turns
numbers, strings, tables and Torch classes into Python values and keeps Lua functions as
bytes, never running them. Its tensor and storage readers trust the file (a storage
shorter than its tensor's sizes and strides is read past its end); here they are replaced,
for the duration of one read, by readers that check every size against the bytes the file
holds, so a truncated or damaged file is one error line, never a crash or stray memory.

:func:`read_module_tree` returns the file's module as a tree of :class:`T7Module` with
``nn.``/``cudnn.`` type names checked against the kinds the converter understands.
"""
from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vgpred.errors import VgpredError

INSTALL_HINT = 'reading Torch7 files needs the optional extra: pip install "vgpred[torch7]" (the torchfile package)'
TYPE_TORCH = 4  # torch.save of an object starts with this type tag, then "V <version>" and the class name
MAX_DIMS = 8

CONTAINERS = ("Sequential", "ConcatTable", "ParallelTable")
LAYERS = (
    "VolumetricFullConvolution", "SpatialFullConvolution", "VolumetricConvolution",
    "VolumetricBatchNormalization", "SpatialBatchNormalization",
)
FUNCTIONS = (
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "L1Penalty", "View", "Reshape", "FlattenTable", "SelectTable",
    "Squeeze", "Replicate", "MulConstant", "AddConstant", "CMulTable", "CAddTable",
)
KINDS = CONTAINERS + LAYERS + FUNCTIONS
PREFIXES = ("nn.", "cudnn.")

_FLOAT_TYPES = {"Float": np.float32, "Double": np.float64, "Cuda": np.float32, "CudaDouble": np.float64}
_INT_TYPES = {"Byte": np.uint8, "Char": np.int8, "Short": np.int16, "Int": np.int32, "Long": np.int64,
              "CudaByte": np.uint8, "CudaChar": np.int8, "CudaShort": np.int16, "CudaInt": np.int32,
              "CudaLong": np.int64}


class Damaged(Exception):
    """The file's bytes contradict themselves (turned into a :class:`VgpredError` by the caller)."""


@dataclass
class T7Module:
    """One module of the file: ``kind`` without its prefix (``VolumetricFullConvolution``),
    ``type_name`` as stored (``cudnn.VolumetricFullConvolution``), ``path`` its position
    (``1.2.3``: module 3 of module 2 of the top module's ``modules``)."""

    kind: str
    type_name: str
    path: str
    fields: dict[str, Any]
    version: int = 0
    children: list["T7Module"] = field(default_factory=list)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def describe(self) -> str:
        return f"module {self.path or 'top'} ({self.type_name})"

    def leaves(self) -> Iterator["T7Module"]:
        """Every non-container module below (or this one), depth first, in the order they run."""
        if self.kind in CONTAINERS:
            for child in self.children:
                yield from child.leaves()
        else:
            yield self


def _remaining(f) -> int:
    return os.fstat(f.fileno()).st_size - f.tell()


def _storage_reader(dtype):
    def read(reader, version):
        size = reader.read_long()
        if size < 0 or size * np.dtype(dtype).itemsize > _remaining(reader.f):
            raise Damaged(f"a storage of {size} elements runs past the end of the file")
        data = np.fromfile(reader.f, dtype=dtype, count=size)
        if data.size != size:
            raise Damaged("a storage ends early")
        return data

    return read


def _tensor_reader(dtype):
    def read(reader, version):
        ndim = reader.read_int()
        if not 0 <= ndim <= MAX_DIMS:
            raise Damaged(f"a tensor with {ndim} dimensions")
        size = [reader.read_long() for _ in range(ndim)]
        stride = [reader.read_long() for _ in range(ndim)]
        offset = reader.read_long() - 1
        storage = reader.read_obj()
        if storage is None or ndim == 0:
            return np.empty(0, dtype=dtype)
        if not isinstance(storage, np.ndarray) or storage.dtype != np.dtype(dtype):
            raise Damaged("a tensor whose storage is not of its type")
        if min(size) < 0 or min(stride) < 0 or offset < 0:
            raise Damaged("a tensor with a negative size, stride or offset")
        if min(size) == 0:
            return np.empty(size, dtype=dtype)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.size or int(np.prod(size, dtype=np.float64)) > storage.size:
            raise Damaged("a tensor larger than its storage")
        itemsize = storage.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=[s * itemsize for s in stride])
        return np.array(view, copy=True)

    return read


def _safe_handlers() -> dict[bytes, Any]:
    handlers: dict[bytes, Any] = {}
    for name, dtype in {**_FLOAT_TYPES, **_INT_TYPES}.items():
        handlers[f"torch.{name}Tensor".encode()] = _tensor_reader(dtype)
        handlers[f"torch.{name}Storage".encode()] = _storage_reader(dtype)
    return handlers


@contextlib.contextmanager
def _checked_readers(torchfile) -> Iterator[None]:
    saved = dict(torchfile.type_handlers)
    torchfile.type_handlers.update(_safe_handlers())
    try:
        yield
    finally:
        torchfile.type_handlers.clear()
        torchfile.type_handlers.update(saved)


def read_torch7(path: Path) -> Any:
    """The object a Torch7 binary file holds (torchfile's values); one error line for anything else."""
    try:
        import torchfile
    except ImportError:
        raise VgpredError(f"{path}: {INSTALL_HINT}") from None

    class Reader(torchfile.T7Reader):
        """Longs are 8 bytes (the files of 64-bit Linux and macOS); strings are checked against the file."""

        def read_long(self):
            return self._read("<q")[0]

        def read_long_array(self, n):
            return [self.read_long() for _ in range(n)]

        def read_string(self, disable_utf8=False):
            size = self.read_int()
            if size < 0 or size > _remaining(self.f):
                raise Damaged(f"a string of {size} bytes runs past the end of the file")
            return self.f.read(size)

    path = Path(path)
    if not path.is_file():
        raise VgpredError(f"{path}: {'is not a file' if path.exists() else 'no such file'}")
    with open(path, "rb") as f:
        head = f.read(14)
        if len(head) < 14 or struct.unpack("<i", head[:4])[0] != TYPE_TORCH or head[12:14] != b"V ":
            raise VgpredError(f"{path}: not a Torch7 file (a binary torch.save of an nn module starts with its "
                              "class, e.g. nn.Sequential)")
        f.seek(0)
        try:
            with _checked_readers(torchfile):
                obj = Reader(f, use_list_heuristic=True, use_int_heuristic=True).read_obj()
        except Damaged as err:
            raise VgpredError(f"{path}: truncated or damaged Torch7 file ({err})") from None
        except (struct.error, EOFError, ValueError, UnicodeDecodeError, OverflowError, MemoryError,
                torchfile.T7ReaderException) as err:
            raise VgpredError(f"{path}: truncated or damaged Torch7 file ({type(err).__name__}: {err})") from None
        except NotImplementedError as err:  # half-precision tensors
            raise VgpredError(f"{path}: {err}; save the model in float or CUDA float tensors") from None
        except RecursionError:
            raise VgpredError(f"{path}: damaged Torch7 file (objects nested too deeply)") from None
    return obj


def _module_tree(obj: Any, path: str, source: Path) -> T7Module:
    typename = getattr(obj, "_typename", None) if type(obj).__name__ == "TorchObject" else None
    if typename is None:
        raise VgpredError(f"{source}: module {path or 'top'} is not a Torch7 nn module (found a {type(obj).__name__})")
    name = typename.decode("latin-1")
    prefix = next((p for p in PREFIXES if name.startswith(p)), None)
    kind = name[len(prefix):] if prefix else name
    if prefix is None or kind not in KINDS:
        raise VgpredError(f"{source}: module {path or 'top'} has type {name}, which the converter does not understand "
                          "(it reads the nn and cudnn modules of the authors' VideoGAN networks; docs/torch7.md "
                          "lists them)")
    raw = {} if obj._obj == [] else obj._obj  # torchfile reads an empty table as an empty list
    if not isinstance(raw, dict):
        raise VgpredError(f"{source}: module {path or 'top'} ({name}) holds no fields (damaged file)")
    fields = {(k.decode("latin-1") if isinstance(k, bytes) else str(k)): v for k, v in raw.items()}
    module = T7Module(kind, name, path, fields, getattr(obj, "_version_number", 0))
    if kind in CONTAINERS:
        children = fields.get("modules")
        if children is None:
            children = []
        if not isinstance(children, list):
            raise VgpredError(f"{source}: {module.describe()}: its modules are not a list (damaged file)")
        module.children = [_module_tree(c, f"{path}.{i + 1}" if path else str(i + 1), source)
                           for i, c in enumerate(children)]
    return module


def read_module_tree(path: Path) -> T7Module:
    """The module a Torch7 file holds, as a :class:`T7Module` tree (the top module's path is empty)."""
    obj = read_torch7(path)
    return _module_tree(obj, "", Path(path))

"""Precision and speed settings of the training step.

Mixed precision: bf16 autocast where the hardware has it, fp16 + grad scaling where
not. Master weights stay fp32 and losses are computed in fp32; only the convolutions
run in reduced precision. ``precision=auto`` resolves to:

* CUDA: bf16 where the GPU supports it, else fp16 (with a GradScaler);
* CPU: bf16 when the CPU has native bf16 matrix instructions (AVX-512 BF16 or AMX),
  else fp32;
* anything else (MPS): fp32.

Speed settings (none changes the math beyond float rounding): channels-last memory
format for the 3-D and 2-D convolutions (oneDNN and cuDNN run their fast kernels on
it), fused Adam, cuDNN autotuning, and an optional ``torch.compile``.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from vgpred.errors import VgpredError

CHOICES = ("auto", "fp32", "bf16", "fp16")


def cpu_has_bf16() -> bool:
    """True when this CPU has native bf16 matrix instructions (AVX-512 BF16 or AMX)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto | fp32 | bf16 | fp16`` -> the precision used on ``device`` (see the module doc)."""
    if name not in CHOICES:
        raise VgpredError(f"train.precision={name}: must be one of {', '.join(CHOICES)}")
    if name != "auto":
        if name == "fp16" and device.type == "cpu":
            raise VgpredError("train.precision=fp16: not supported on the CPU (use bf16 or fp32)")
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def autocast(precision: str, device: torch.device):
    """The autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(precision: str, device: torch.device):
    """A GradScaler for fp16 (disabled otherwise, so ``scale``/``step`` pass through)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


# --- memory format -------------------------------------------------------------------

def use_channels_last(device: torch.device) -> bool:
    """Whether the step runs channels-last on ``device`` (CPU/oneDNN and CUDA/cuDNN)."""
    return device.type in ("cpu", "cuda")


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last layout when it is 5-D (videos) or 4-D (images); same values."""
    if x.dim() == 5:
        return x.contiguous(memory_format=torch.channels_last_3d)
    if x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def to_channels_last(module: nn.Module) -> nn.Module:
    """Store ``module``'s 5-D and 4-D parameters channels-last, in place; returns it.

    (``module.to(memory_format=...)`` refuses modules mixing 2-D and 3-D layers.) The
    state_dict keys and values are unchanged; only the strides differ.
    """
    with torch.no_grad():
        for p in module.parameters():
            p.data = channels_last(p.data)
    return module


def align_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter state tensor its parameter's strides, in place.

    Needed after loading an optimizer state into channels-last parameters: fused
    optimizers walk parameter and state memory in the same order, so mismatched
    layouts would mix up elements.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


# --- other settings ------------------------------------------------------------------

def fused_optimizer(device: torch.device) -> bool:
    """Whether Adam's fused kernel (one pass over all parameters) exists on ``device``."""
    return device.type in ("cpu", "cuda")


def configure_backends(device: torch.device) -> None:
    """Process-wide settings for a training run on ``device`` (fixed input sizes)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def maybe_compile(module: nn.Module, enabled: bool) -> nn.Module:
    """``torch.compile(module)`` when ``enabled`` (``train.compile``), else ``module``."""
    return torch.compile(module) if enabled else module

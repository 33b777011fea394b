"""Mixed precision: bf16 autocast where the hardware has it, fp16 + grad scaling where not.

Master weights stay fp32 and losses are computed in fp32; only the convolutions run
in reduced precision.
"""
from __future__ import annotations

import contextlib

import torch

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

"""Device selection: CUDA, then Apple MPS, then CPU, unless the user names one."""
from __future__ import annotations

from vgpred.errors import VgpredError


def resolve_device(name: str = "auto"):
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps`` -> a usable ``torch.device``."""
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise VgpredError(f"--device {name}: unknown device (use auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise VgpredError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise VgpredError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) present")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise VgpredError(f"--device {name}: Apple MPS is not available on this machine")
    if device.type not in ("cpu", "cuda", "mps"):
        raise VgpredError(f"--device {name}: unsupported device type (use auto, cpu, cuda or mps)")
    return device


def describe_device(device) -> str:
    """``cuda (NVIDIA H100 80GB HBM3)``, ``cpu (2 threads)`` or ``mps``: what a run's speed was measured on."""
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''})"
    return device.type

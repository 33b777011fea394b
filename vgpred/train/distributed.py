"""Multi-process training with PyTorch's own engine: torchrun + DistributedDataParallel.

``torchrun --nproc_per_node K -m vgpred train ...`` sets RANK / WORLD_SIZE /
LOCAL_RANK; this module then joins the process group (gloo on the CPU, NCCL on
CUDA), pins each rank to its GPU and wraps the networks in DDP. Without those
variables everything is a no-op and training runs in one process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from vgpred.errors import VgpredError


@dataclass
class Distributed:
    enabled: bool = False
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device_name: str = "auto") -> "Distributed":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch.distributed as tdist

        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        want_cuda = device_name in ("auto", "cuda") and torch.cuda.is_available()
        if device_name.startswith("cuda") and not torch.cuda.is_available():
            raise VgpredError(f"--device {device_name}: CUDA is not available on this machine")
        if want_cuda or device_name.startswith("cuda"):
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
            backend = "nccl"
        else:
            device, backend = torch.device("cpu"), "gloo"
        if not tdist.is_initialized():
            tdist.init_process_group(backend=backend)
        return cls(True, rank, world, device)

    def wrap(self, module: nn.Module) -> nn.Module:
        """DDP around ``module`` (BatchNorm statistics stay per process)."""
        if not self.enabled:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)

    def gather(self, value: object) -> list[object] | None:
        """Every rank's ``value`` in rank order on the main process, ``None`` on the others (a collective:
        every rank must call it at the same point)."""
        if not self.enabled:
            return [value]
        values = [None] * self.world_size if self.is_main else None
        torch.distributed.gather_object(value, values, dst=0)
        return values

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()

"""Data-parallel training across processes started by ``torchrun``.

``torchrun --nproc_per_node N -m lowlight train recipe.yaml`` sets ``RANK``, ``WORLD_SIZE``
and ``LOCAL_RANK``; :func:`init_distributed` reads them and joins the process group (gloo on
CPU, nccl on CUDA). Without them the run is a single process and every helper here is a
no-op.

Gradients are averaged explicitly after ``backward`` (:func:`average_gradients`: one
``all_reduce`` per flattened bucket) rather than through ``DistributedDataParallel``. The
result is the same — every rank applies the mean gradient of the global batch, so the
parameters stay identical — but objectives may call the model any number of times per
step, through ``forward_train`` or ``__call__``, and parameters unused in a step need no
special flag. The cost is no overlap of communication with the backward pass, small for
the compact models of low-light enhancement.
"""

from __future__ import annotations

import datetime
import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from lowlight.errors import LowlightError

BUCKET_BYTES = 32 << 20
"""Gradients are all-reduced in flattened buckets of about this many bytes."""

TIMEOUT = datetime.timedelta(minutes=60)
"""How long a rank waits at a collective: long enough for rank 0 to validate and write
checkpoints while the others wait."""


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_info() -> DistInfo:
    """Rank, world size and local rank from the ``torchrun`` environment (defaults: one process)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise LowlightError(f"invalid RANK/WORLD_SIZE/LOCAL_RANK environment: {exc}") from exc
    if world < 1 or not 0 <= rank < world:
        raise LowlightError(f"invalid distributed environment: RANK={rank}, WORLD_SIZE={world}")
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when ``WORLD_SIZE > 1`` (gloo on CPU, nccl on CUDA)."""
    info = env_info()
    if not info.enabled or dist.is_initialized():
        return info
    if not dist.is_available():
        raise LowlightError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = "nccl" if device.type == "cuda" else "gloo"
    kwargs: dict[str, Any] = {"backend": backend, "timeout": TIMEOUT}
    if (
        device.type == "cuda"
        and "device_id" in inspect.signature(dist.init_process_group).parameters
    ):
        kwargs["device_id"] = device  # binds the communicator to this process's GPU (torch >= 2.3)
    dist.init_process_group(**kwargs)
    return info


def local_device(device: torch.device, info: DistInfo) -> torch.device:
    """Under ``torchrun`` on CUDA each process takes ``cuda:LOCAL_RANK``."""
    if device.type == "cuda" and info.enabled:
        torch.cuda.set_device(info.local_rank)
        return torch.device("cuda", info.local_rank)
    return device


def shutdown() -> None:
    """Leave the process group if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if active():
        dist.barrier()


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy ``src``'s parameters and buffers to every rank."""
    if not active():
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src)


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """Replace each gradient by its mean over ranks.

    A parameter with a gradient on some ranks only counts as zero on the others; one with
    no gradient on any rank keeps ``grad = None`` (as in a single process, the optimiser
    then skips it). Gradients are flattened into buckets by dtype and device, one
    ``all_reduce`` each.
    """
    if not active():
        return
    world = dist.get_world_size()
    params = [p for p in params if p.requires_grad]
    if not params:
        return
    device = params[0].device
    has_grad = torch.tensor([p.grad is not None for p in params], dtype=torch.int32, device=device)
    dist.all_reduce(has_grad, op=dist.ReduceOp.SUM)
    groups: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
    for p, count in zip(params, has_grad.tolist(), strict=True):
        if count == 0:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        groups.setdefault((p.grad.dtype, p.grad.device), []).append(p.grad)
    for grads in groups.values():
        bucket: list[Tensor] = []
        size = 0
        for g in grads:
            bucket.append(g)
            size += g.numel() * g.element_size()
            if size >= BUCKET_BYTES:
                _reduce_bucket(bucket, world)
                bucket, size = [], 0
        if bucket:
            _reduce_bucket(bucket, world)


def _reduce_bucket(grads: list[Tensor], world: int) -> None:
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(world)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def mean_over_ranks(values: Mapping[str, float], device: torch.device) -> dict[str, float]:
    """Average scalar logs over ranks (every rank must call with the same keys)."""
    if not active() or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist(), strict=True))


def gather_objects(obj: Any) -> list[Any]:
    """``obj`` from every rank, in rank order (a one-element list in a single process)."""
    if not active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``src``'s ``obj`` on every rank."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src)
    return box[0]


__all__ = [
    "DistInfo",
    "active",
    "average_gradients",
    "barrier",
    "broadcast_module",
    "broadcast_object",
    "env_info",
    "gather_objects",
    "init_distributed",
    "local_device",
    "mean_over_ranks",
    "shutdown",
]

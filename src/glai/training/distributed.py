"""Data-parallel training on ``torch.distributed``: who this process is, and what it shares.

``glai.fit`` trains under DDP when a process group is initialised (for example by
``torchrun``): every process draws the same permutation, takes its share of each global
batch, and DDP averages the gradients, so the run follows the single-process one with the
same global batch. Mask caches are built in shards (``DistributedSampler``) and gathered.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler


def world() -> tuple[int, int]:
    """(rank, number of processes); (0, 1) without an initialised process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return world()[0] == 0


def data_parallel(model: nn.Module, unused_parameters: bool = False) -> nn.Module:
    """``model`` wrapped in DDP when there are several processes, else ``model`` itself.

    Wrap again whenever the set of trainable parameters changes (at GLAI's switch).

    Args:
        model: the module whose forward is called.
        unused_parameters: some trainable parameters take no part in the forward pass
            (GLAI's paths before the switch); DDP then looks for them every step.
    """
    if world()[1] == 1:
        return model
    device = next(model.parameters()).device
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=unused_parameters
    )


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """Element-wise sum of ``tensor`` over processes (itself with one process)."""
    if world()[1] > 1:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
    return tensor


def shard_indices(count: int) -> torch.Tensor:
    """This process's share of ``range(count)`` as ``DistributedSampler`` deals it
    (in order, padded with repeats so that every process has as many)."""
    rank, size = world()
    sampler = DistributedSampler(range(count), num_replicas=size, rank=rank, shuffle=False)
    return torch.tensor(list(sampler), dtype=torch.long)


def gather_rows(local: torch.Tensor, indices: torch.Tensor, count: int) -> torch.Tensor:
    """Assemble per-process rows into the full (count, ...) tensor.

    Args:
        local: this process's rows, for ``indices`` (from :func:`shard_indices`).
        indices: which rows of the whole ``local`` holds.
        count: number of rows of the whole.
    """
    size = world()[1]
    if size == 1:
        return local
    parts = [torch.empty_like(local) for _ in range(size)]
    all_indices = [torch.empty_like(indices) for _ in range(size)]
    dist.all_gather(parts, local.contiguous())
    dist.all_gather(all_indices, indices)
    whole = local.new_empty((count, *local.shape[1:]))
    for part, index in zip(parts, all_indices):
        whole[index] = part
    return whole

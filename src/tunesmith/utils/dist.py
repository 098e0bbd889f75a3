"""Where this process stands in a multi-process run (``tunesmith train --nproc N``).

torchrun sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` in each worker; outside one, this
process is rank 0 of 1. The Trainer does the distributed work itself (DDP, DeepSpeed, FSDP
through accelerate); tunesmith only needs to know who writes the files every rank would
otherwise write, and to wait for that writer.
"""

from __future__ import annotations

import os


def world_size() -> int:
    """Processes in the run: ``WORLD_SIZE`` under torchrun or accelerate, else 1."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))


def rank() -> int:
    """This process's global rank: ``RANK`` under torchrun or accelerate, else 0."""
    return int(os.environ.get("RANK", "0") or 0)


def is_main_process() -> bool:
    """Whether this process writes the run's files (manifests, the adapter, the report)."""
    return rank() == 0


def is_distributed() -> bool:
    return world_size() > 1


def init_process_group() -> None:
    """Join the run's process group (gloo on a CPU, NCCL on CUDA), once.

    Done before anything else, so tunesmith's own barriers work from the start; accelerate
    (inside the Trainer) finds the group initialised and uses it.
    """
    import torch
    import torch.distributed as dist

    if not is_distributed() or dist.is_initialized():
        return
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    import torch.distributed as dist

    if is_distributed() and dist.is_available() and dist.is_initialized():
        dist.barrier()

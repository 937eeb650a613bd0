"""Process-group helpers: shard work lists, gather (id, embedding) pairs, de-duplicate by id,
check that every process planned the same units.

Works the same on one process (plain `vidret evaluate`), under `accelerate launch` and under
`torchrun`: accelerate's `PartialState` reads the launcher's environment and, on a CPU-only
machine, joins a gloo process group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from vidret.evaluation.planning.tasks import TaskPlan

T = TypeVar("T")


@dataclass(frozen=True)
class ProcessInfo:
    """Where this process stands in the run.

    Attributes:
        rank: this process's index (0 on the main process).
        world_size: the real number of processes in the group.
        device: the torch device string the model should use.
    """

    rank: int
    world_size: int
    device: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_processes(cpu: bool = False) -> ProcessInfo:
    """Join the launcher's process group (if any) and describe this process.

    Args:
        cpu: force the CPU even when an accelerator is visible.

    Returns:
        The process's rank, the world size and its device.
    """
    import torch
    from accelerate import PartialState

    # Without CUDA, accelerate joins the launcher's group (gloo) only when asked for the CPU:
    # `accelerate launch --multi_gpu` / `torchrun` set WORLD_SIZE=2, yet a plain PartialState()
    # on a CPU-only machine reports one process per rank.
    state = PartialState(cpu=cpu or not torch.cuda.is_available())
    device = state.device
    return ProcessInfo(
        rank=state.process_index,
        world_size=state.num_processes,
        device="cpu" if device.type == "cpu" else str(device),
    )


def finish_processes() -> None:
    """Leave the launcher's process group, if this process joined one (no-op otherwise).

    Call it once the run is over on every process. A gloo group left to the interpreter's
    teardown aborts the process now and then ("terminate called without an active exception":
    its threads outlive Python), which fails a run that finished correctly.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(items: Sequence[T], rank: int, world_size: int) -> list[T]:
    """This rank's contiguous share of `items`; shares differ in size by at most one.

    Nothing is padded: gathering carries ids, so uneven shard ends lose and repeat nothing.

    Args:
        items: the full, identically ordered work list every process computed.
        rank: this process's index.
        world_size: number of processes.

    Returns:
        The slice of `items` for `rank`.

    Raises:
        ValueError: if `rank` is not in [0, world_size).
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not within a world of {world_size} processes")
    base, extra = divmod(len(items), world_size)
    start = rank * base + min(rank, extra)
    stop = start + base + (1 if rank < extra else 0)
    return list(items[start:stop])


def barrier(info: ProcessInfo) -> None:
    """Wait for every process (no-op on one process)."""
    if info.world_size > 1:
        from accelerate import PartialState

        PartialState().wait_for_everyone()


def gather_objects(obj: Any, info: ProcessInfo) -> list[Any]:
    """Every process's `obj`, in rank order, on every process (``[obj]`` on one process)."""
    if info.world_size == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def gather_embeddings(
    ids: list[str], embeddings: np.ndarray | None, info: ProcessInfo, extra: Any = None
) -> tuple[dict[str, np.ndarray], list[Any]]:
    """Gather each process's (ids, embeddings) and merge them into one id → row mapping.

    Ids travel next to their rows, so padding or an item done by two processes can't shift
    anything: the first row seen for an id (lowest rank) wins.

    Args:
        ids: ids of this process's rows.
        embeddings: float32 array (len(ids) x D), or None when `ids` is empty.
        info: this process.
        extra: any picklable per-process payload gathered alongside (e.g. failures).

    Returns:
        (mapping id → embedding row, list of every process's `extra` in rank order).

    Raises:
        ValueError: if a process's id count and row count differ.
    """
    if embeddings is not None and len(ids) != len(embeddings):
        raise ValueError(f"rank {info.rank}: {len(ids)} ids but {len(embeddings)} embedding rows")
    gathered = gather_objects((ids, embeddings, extra), info)
    merged: dict[str, np.ndarray] = {}
    extras: list[Any] = []
    for rank_ids, rank_emb, rank_extra in gathered:
        extras.append(rank_extra)
        if rank_emb is None:
            continue
        for item_id, row in zip(rank_ids, rank_emb):
            merged.setdefault(item_id, row)
    return merged, extras


def check_same_plan(plan: TaskPlan, info: ProcessInfo) -> None:
    """Fail on every process when the processes planned different units (no-op on one process).

    Units are sharded by position and gathered by id, and a video's id holds its resolved path:
    a node with the dataset (or --video-root) at another path would embed nothing the main process
    asked for, and its share would be scored as failed videos.

    Raises:
        ValueError: naming the processes that differ from process 0 and what each node needs.
    """
    if info.world_size == 1:
        return
    ids = [*plan.texts, *(segment.item_id for segment in plan.segments)]
    digests = gather_objects(hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest(), info)
    differ = [rank for rank, digest in enumerate(digests) if digest != digests[0]]
    if differ:
        raise ValueError(
            f"process(es) {differ} read other texts or videos than process 0: every node needs the same dataset "
            "revision (--revision) at the same absolute path (--data, --video-root), since a video is identified by its path"
        )

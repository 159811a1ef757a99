"""``torch.distributed`` on tapegrad's MPI core (``tapegrad.distributed``): the process group of
``mpiexec``'s ranks and the collectives of PyTorch's API, in place on the dialect's tensors.

Launch with the MPI launcher (``mpiexec -n 4 python train.py``); ``init_process_group("mpi")``
(or ``"nccl"`` for CuPy tensors, the communicator set up over MPI) joins it. Rank and world size are
MPI's: a ``rank``/``world_size`` argument, or ``RANK``/``WORLD_SIZE`` in the environment, must agree.
"""
from __future__ import annotations

import datetime
import os
from typing import Any

from .tensor import Tensor

__all__ = ["ReduceOp", "is_available", "init_process_group", "is_initialized", "destroy_process_group",
           "get_rank", "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather", "barrier"]

_NOT_INIT = "Default process group has not been initialized, please make sure to call init_process_group."
_BACKEND: list = [None]


class ReduceOp:
    """The reductions ``all_reduce`` takes (``ReduceOp.SUM``, ``AVG``, ``MAX``, ``MIN``)."""

    SUM = "sum"
    AVG = "mean"
    MAX = "max"
    MIN = "min"


def _core() -> Any:
    from .. import distributed  # noqa: PLC0415 - mpi4py loads only when a process group is used
    return distributed


def is_available() -> bool:
    """Whether collectives can run here (mpi4py and an MPI library are installed)."""
    try:
        import mpi4py  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _env_int(name: str) -> int | None:
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else None


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store: Any = None, group_name: str = "", pg_options: Any = None,
                       device_id: Any = None) -> None:
    """Join the process group of the MPI job this process belongs to (``backend`` "mpi", or "nccl"
    for GPU tensors; None picks "mpi")."""
    if backend is None:
        backend = "mpi"
    backend = str(backend).lower()
    if backend not in ("mpi", "nccl"):
        raise ValueError(f"backend {backend!r} is not supported: tapegrad's process groups run on MPI; use "
                         "init_process_group('mpi') (or 'nccl' for GPU tensors) and launch with mpiexec -n N")
    if store is not None or (init_method is not None and not str(init_method).startswith("env://")):
        raise ValueError("init_method and store are not used: the MPI launcher (mpiexec -n N python ...) "
                         "connects the processes; drop these arguments")
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    core = _core()
    core.init(timeout=None if timeout is None else timeout.total_seconds())
    n, r = core.world_size(), core.rank()
    for what, given, env in (("world_size", world_size, "WORLD_SIZE"), ("rank", rank, "RANK")):
        actual = n if what == "world_size" else r
        want = given if given is not None and given >= 0 else _env_int(env)
        if want is not None and want != actual:
            core.finalize()
            src = f"{what}={given}" if given is not None and given >= 0 else f"{env}={want} in the environment"
            raise ValueError(f"{src} does not match the MPI job: this process is rank {r} of {n} (mpiexec -n "
                             f"{n}); launch with mpiexec -n {want if what == 'world_size' else n} or drop {what}")
    _BACKEND[0] = backend


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (and ``destroy_process_group`` has not)."""
    return _BACKEND[0] is not None


def _check() -> Any:
    if _BACKEND[0] is None:
        raise ValueError(_NOT_INIT)
    return _core()


def destroy_process_group(group: Any = None) -> None:
    """Leave the process group (the MPI job goes on; ``init_process_group`` may join it again)."""
    _check().finalize()
    _BACKEND[0] = None


def get_rank(group: Any = None) -> int:
    """This process's rank in the group (0 ... world size - 1)."""
    return _check().rank()


def get_world_size(group: Any = None) -> int:
    """How many processes the group has."""
    return _check().world_size()


def get_backend(group: Any = None) -> str:
    """The group's backend: "mpi" or "nccl"."""
    _check()
    return _BACKEND[0]


def _op(op: Any) -> str:
    if op not in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX, ReduceOp.MIN):
        raise ValueError(f"unsupported reduction {op!r}: use ReduceOp.SUM, AVG, MAX or MIN")
    return op


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Any:
    """Reduce ``tensor`` over all ranks, in place (every rank gets the result); with ``async_op``, a
    work handle to ``wait()`` on."""
    return _check().all_reduce_(tensor, _op(op), async_op=async_op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False) -> Any:
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place."""
    return _check().broadcast_(tensor, src, async_op=async_op)


def all_gather(tensor_list: list, tensor: Tensor, group: Any = None, async_op: bool = False) -> Any:
    """Fill ``tensor_list[k]`` with rank k's ``tensor``, on every rank."""
    core = _check()
    if len(tensor_list) != core.world_size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for {core.world_size()} ranks; "
                         "pass one tensor per rank")
    return core.all_gather_into(tensor_list, tensor, async_op=async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Any:
    """Wait until every rank has reached this call."""
    _check().barrier()
    return _Done() if async_op else None


class _Done:
    """The handle of a collective that has already finished."""

    def wait(self, timeout: Any = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

"""The host backend: collectives on NumPy buffers through mpi4py's non-blocking calls.

Each function starts one operation on contiguous buffers, passed to MPI as they are (no copy),
and returns its ``MPI.Request``; ``_nccl`` has the same functions for CuPy buffers."""
from __future__ import annotations

from typing import Any

from ._runtime import STATE


def _op(op: str, dtype: Any = None) -> Any:
    MPI = STATE.mpi
    if dtype is not None and dtype.kind == "b":  # (MPI sums no booleans: "or" and "and", as PyTorch's bool reductions)
        return MPI.LAND if op == "min" else MPI.LOR
    return MPI.MAX if op == "max" else MPI.MIN if op == "min" else MPI.SUM  # (a mean is a sum, divided after)


def allreduce(buf: Any, op: str) -> Any:
    return STATE.comm.Iallreduce(STATE.mpi.IN_PLACE, buf, _op(op, buf.dtype))


def bcast(buf: Any, root: int) -> Any:
    return STATE.comm.Ibcast(buf, root)


def allgather(send: Any, recv: Any) -> Any:
    return STATE.comm.Iallgather(send, recv)


def reduce_scatter(send: Any, recv: Any, op: str) -> Any:
    return STATE.comm.Ireduce_scatter_block(send, recv, _op(op, send.dtype))


def reduce(send: Any, recv: Any, root: int) -> Any:
    """The sum of ``send`` over ranks into ``recv`` on ``root`` (``recv`` is ignored elsewhere)."""
    return STATE.comm.Ireduce(send, recv if STATE.rank == root else None, _op("sum"), root)

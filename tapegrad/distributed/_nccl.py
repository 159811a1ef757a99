"""The GPU backend: collectives on CuPy buffers through NCCL (``cupy.cuda.nccl``).

UNTESTED HERE: written against CuPy's NCCL bindings but never run on a GPU in this project's CI.
Same functions as ``_mpi``; each enqueues one NCCL call on the current stream and returns a request
whose ``Test()`` polls a CUDA event. The NCCL communicator is made on the first GPU collective, from a
unique id that rank 0 creates and broadcasts over MPI; each rank must have picked its GPU before that
(``cupy.cuda.Device(local_rank).use()``).
"""
from __future__ import annotations

from typing import Any

from ._runtime import STATE


class _Event:
    """A request done when the GPU has run everything enqueued before it."""

    __slots__ = ("event",)

    def __init__(self, stream: Any) -> None:
        import cupy  # noqa: PLC0415 - optional dependency
        self.event = cupy.cuda.Event(block=False, disable_timing=True)
        self.event.record(stream)

    def Test(self) -> bool:  # noqa: N802 - MPI's name, so that one wait loop serves both backends
        return bool(self.event.done)


def _comm() -> tuple:
    import cupy  # noqa: PLC0415
    from cupy.cuda import nccl  # noqa: PLC0415
    if STATE.nccl is None:
        uid = nccl.get_unique_id() if STATE.rank == 0 else None
        uid = STATE.comm.bcast(uid, root=0)
        STATE.nccl = nccl.NcclCommunicator(STATE.size, uid, STATE.rank)
    return STATE.nccl, nccl, cupy.cuda.get_current_stream()


_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "int32": "NCCL_INT32",
          "int64": "NCCL_INT64", "uint8": "NCCL_UINT8", "int8": "NCCL_INT8", "bfloat16": "NCCL_BFLOAT16"}


def _type(nccl: Any, buf: Any) -> Any:
    name = _TYPES.get(buf.dtype.name)
    if name is None:
        raise TypeError(f"NCCL has no type for {buf.dtype}; cast the array to float32 or float64 first")
    return getattr(nccl, name)


def _op(nccl: Any, op: str) -> Any:
    return {"max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}.get(op, nccl.NCCL_SUM)


def allreduce(buf: Any, op: str) -> Any:
    comm, nccl, s = _comm()
    comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, _type(nccl, buf), _op(nccl, op), s.ptr)
    return _Event(s)


def bcast(buf: Any, root: int) -> Any:
    comm, nccl, s = _comm()
    comm.bcast(buf.data.ptr, buf.size, _type(nccl, buf), root, s.ptr)
    return _Event(s)


def allgather(send: Any, recv: Any) -> Any:
    comm, nccl, s = _comm()
    comm.allGather(send.data.ptr, recv.data.ptr, send.size, _type(nccl, send), s.ptr)
    return _Event(s)


def reduce_scatter(send: Any, recv: Any, op: str) -> Any:
    comm, nccl, s = _comm()
    comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, _type(nccl, send), _op(nccl, op), s.ptr)
    return _Event(s)


def reduce(send: Any, recv: Any, root: int) -> Any:
    comm, nccl, s = _comm()
    comm.reduce(send.data.ptr, recv.data.ptr, send.size, _type(nccl, send), nccl.NCCL_SUM, root, s.ptr)
    return _Event(s)

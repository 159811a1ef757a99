"""Collectives on arrays of either dialect, on NumPy arrays and (through NCCL) on CuPy arrays.

In place (PyTorch's style): ``all_reduce_``, ``broadcast_``, ``all_gather_into``, ``reduce_scatter_into``.
Functional, recorded on the tape with their VJPs: ``all_reduce``, ``all_gather``, ``broadcast``,
``reduce_scatter``. Every call is counted and checked across ranks (see ``_runtime.check_call``).
"""
from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, Sequence, TypeVar

import numpy

from .._core.array import OPS, Array
from .._core.custom import record_custom
from .._core.mode import RECORDER
from ..backend import is_device_buffer, xp_of
from . import _mpi
from ._runtime import STATE, DistributedError, Work, check_call, need, wait

__all__ = ["all_reduce_", "broadcast_", "all_gather_into", "reduce_scatter_into", "all_reduce", "all_gather",
           "broadcast", "reduce_scatter"]

_T = TypeVar("_T")
REDUCE_OPS = ("sum", "mean", "max", "min")


def seam(buf: Any) -> ModuleType:
    """The backend module for a raw buffer: ``_mpi`` on the host, ``_nccl`` for a CuPy array."""
    if is_device_buffer(buf):
        from . import _nccl  # noqa: PLC0415 - CuPy and NCCL only when a GPU array comes
        return _nccl
    return _mpi


def raw(x: Any, what: str, inplace: bool = False) -> Any:
    """The raw buffer of ``x`` (a tapegrad array's ``_data``, a NumPy or CuPy array as it is)."""
    rec = RECORDER.get()
    if rec is not None:
        rec.refuse(f"tapegrad.distributed.{what} inside a compiled function: call collectives outside "
                   "tapegrad.compile")
    if isinstance(x, Array):
        return x._data
    if isinstance(x, numpy.ndarray) or is_device_buffer(x):
        return x
    if inplace:
        raise TypeError(f"{what} works in place on an array (tapegrad's, NumPy's or CuPy's), got "
                        f"{type(x).__name__}; use the functional form for other values")
    return numpy.asarray(x)


def _check_op(op: str, dtype: Any, what: str) -> None:
    if op not in REDUCE_OPS:
        raise ValueError(f"{what}: op must be one of {', '.join(map(repr, REDUCE_OPS))}, got {op!r}")
    kind = numpy.dtype(dtype).kind
    if op == "mean" and kind not in "fc":
        raise TypeError(f"{what}: op='mean' of {numpy.dtype(dtype)} values would round; use op='sum' and divide, "
                        "or cast to a float dtype first")
    if op in ("max", "min") and kind == "c":
        raise TypeError(f"{what}: op={op!r} is not defined for {numpy.dtype(dtype)}; use 'sum'")


def _check_root(root: int) -> None:
    if not 0 <= root < STATE.size:
        raise ValueError(f"root={root} is not a rank of this group of {STATE.size}; pick 0..{STATE.size - 1}")


def _writable(x: Any, buf: Any, what: str) -> tuple:
    """(``buf`` itself, or a contiguous copy of it; what copies it back once the collective is done)."""
    if isinstance(x, Array):
        x._version += 1  # (a saved array changed in place: the PyTorch dialect's check sees it)
    _refuse_readonly(buf, what)
    if buf.flags.c_contiguous:
        return buf, None
    tmp = xp_of([buf]).ascontiguousarray(buf)

    def back() -> None:
        buf[...] = tmp
    return tmp, back


def _refuse_readonly(buf: Any, what: str) -> None:
    if not buf.flags.writeable:
        raise ValueError(f"{what} writes into its array, which is read-only (a broadcast view?); pass a "
                         "writable copy")


def _run(req: Any, what: Any, finish: Callable[[], None] | None, async_op: bool) -> Work | None:
    work = Work([req], what, finish)
    if async_op:
        return work
    work.wait()
    return None


def _then(*steps: Callable[[], None] | None) -> Callable[[], None] | None:
    todo = [s for s in steps if s is not None]
    if not todo:
        return None

    def run() -> None:
        for s in todo:
            s()
    return run


def _divide(buf: Any) -> Callable[[], None]:
    def run() -> None:
        xp_of([buf]).divide(buf, STATE.size, out=buf)
    return run


# -- in place ----------------------------------------------------------------------------------

def all_reduce_(x: Any, op: str = "sum", *, async_op: bool = False) -> Work | None:
    """Reduce ``x`` over all ranks (``op``: "sum", "mean", "max" or "min") into ``x`` itself, on every rank.

    A contiguous host array goes to MPI as it is; a non-contiguous one is copied and copied back.
    ``async_op=True`` returns a ``Work`` to ``wait()`` on (``x`` holds the result only then)."""
    buf = raw(x, "all_reduce_", inplace=True)
    need()
    _check_op(op, buf.dtype, "all_reduce_")
    what = check_call("all_reduce", buf.shape, buf.dtype, op)
    if STATE.size == 1:  # (one rank: x is its own reduction)
        _refuse_readonly(buf, "all_reduce_")
        return Work([], what) if async_op else None
    work, back = _writable(x, buf, "all_reduce_")
    return _run(seam(work).allreduce(work, op), what, _then(_divide(work) if op == "mean" else None, back), async_op)


def broadcast_(x: Any, root: int = 0, *, async_op: bool = False) -> Work | None:
    """Overwrite ``x`` on every rank with its value on ``root`` (same shape and dtype on every rank).

    A contiguous host array goes to MPI as it is; a non-contiguous one is copied and copied back."""
    buf = raw(x, "broadcast_", inplace=True)
    need()
    _check_root(root)
    what = check_call("broadcast", buf.shape, buf.dtype, root=root)
    if STATE.size == 1:
        _refuse_readonly(buf, "broadcast_")
        return Work([], what) if async_op else None
    work, back = _writable(x, buf, "broadcast_")
    return _run(seam(work).bcast(work, root), what, back, async_op)


def all_gather_into(out_list: Sequence[Any], x: Any, *, async_op: bool = False) -> Work | None:
    """Put rank i's ``x`` into ``out_list[i]`` (one array of ``x``'s shape per rank) on every rank."""
    buf = raw(x, "all_gather_into")
    need()
    outs = [raw(o, "all_gather_into", inplace=True) for o in out_list]
    if len(outs) != STATE.size or any(o.shape != buf.shape for o in outs):
        raise ValueError(f"all_gather_into needs a list of {STATE.size} arrays of shape {tuple(buf.shape)} (one per "
                         f"rank), got {len(outs)} of shapes {[tuple(o.shape) for o in outs]}")
    what = check_call("all_gather", buf.shape, buf.dtype)
    xp = xp_of([buf])
    send = xp.ascontiguousarray(buf)
    recv = xp.empty((STATE.size, *buf.shape), buf.dtype)
    for o in out_list:
        if isinstance(o, Array):
            o._version += 1

    def back() -> None:
        for i, o in enumerate(outs):
            o[...] = recv[i]
    return _run(seam(send).allgather(send, recv), what, back, async_op)


def _chunk(shape: tuple, what: str) -> tuple:
    """The shape of one rank's part of an array of ``shape`` split along axis 0."""
    if len(shape) == 0 or shape[0] % STATE.size:
        n = "a 0-d array" if len(shape) == 0 else f"axis 0 of length {shape[0]}"
        raise ValueError(f"{what} splits axis 0 into {STATE.size} equal parts (one per rank), but the array has "
                         f"{n}; pad axis 0 to a multiple of {STATE.size}")
    return (shape[0] // STATE.size, *shape[1:])


def reduce_scatter_into(out: Any, x: Any, op: str = "sum", *, async_op: bool = False) -> Work | None:
    """Reduce ``x`` over ranks and put part i of the result (``x`` split along axis 0 into world_size
    equal parts) into ``out`` on rank i."""
    buf = raw(x, "reduce_scatter_into")
    dst = raw(out, "reduce_scatter_into", inplace=True)
    need()
    _check_op(op, buf.dtype, "reduce_scatter_into")
    part = _chunk(tuple(buf.shape), "reduce_scatter_into")
    if tuple(dst.shape) != part or dst.dtype != buf.dtype:
        raise ValueError(f"reduce_scatter_into: out must have shape {part} and dtype {buf.dtype} (x's part), got "
                         f"{tuple(dst.shape)} {dst.dtype}")
    what = check_call("reduce_scatter", buf.shape, buf.dtype, op)
    xp = xp_of([buf])
    send = xp.ascontiguousarray(buf)
    recv, back = _writable(out, dst, "reduce_scatter_into")
    if xp.may_share_memory(send, recv):  # (in place: out is a part of x; MPI refuses aliased buffers)
        send = send.copy()
    return _run(seam(send).reduce_scatter(send, recv, op), what,
                _then(_divide(recv) if op == "mean" else None, back), async_op)


# -- functional (differentiable) ---------------------------------------------------------------

def _copy(buf: Any) -> Any:
    return xp_of([buf]).array(buf, order="C", copy=True)


def _result(x: Any, buf: Any, name: str, backward: Callable) -> Any:
    """``buf`` as an array of ``x``'s class, on the tape (with ``backward``) where ``x`` is recorded."""
    if not isinstance(x, Array):
        return buf
    out = type(x)._make(buf)
    if x._node is not None and type(x)._recording_flag.get():
        out = record_custom(name, [x], [out], backward, True)[0]
    return out


def all_reduce(x: _T, op: str = "sum") -> _T:
    """A new array: ``x`` reduced over all ranks (``op``: "sum", "mean", "max" or "min").

    Differentiable for "sum" (the gradient is the sum of the ranks' cotangents) and "mean"."""
    buf = raw(x, "all_reduce")
    need()
    _check_op(op, buf.dtype, "all_reduce")
    what = check_call("all_reduce", buf.shape, buf.dtype, op)
    out = _copy(buf)
    wait([seam(out).allreduce(out, op)], what)
    if op == "mean":
        out /= STATE.size

    def backward(g: Any) -> Any:
        if op in ("max", "min"):
            raise DistributedError(f"all_reduce(op={op!r}) has no gradient; reduce with 'sum' or 'mean' where "
                                   "a gradient must flow, or detach its input")
        return all_reduce(g, op)
    return _result(x, out, f"all_reduce_{op}", backward)


def all_gather(x: _T) -> _T:
    """A new array of shape ``(world_size, *x.shape)``: row i is rank i's ``x``.

    Differentiable: each rank's gradient is the sum over ranks of the cotangent's row for it."""
    buf = raw(x, "all_gather")
    need()
    what = check_call("all_gather", buf.shape, buf.dtype)
    send = xp_of([buf]).ascontiguousarray(buf)
    out = xp_of([buf]).empty((STATE.size, *buf.shape), buf.dtype)
    wait([seam(send).allgather(send, out)], what)
    shape = tuple(buf.shape)
    return _result(x, out, "all_gather", lambda g: OPS.reshape(reduce_scatter(g), shape))


def broadcast(x: _T, root: int = 0) -> _T:
    """A new array: ``x`` as it is on ``root``, on every rank (same shape and dtype on every rank).

    Differentiable: root's gradient is the sum of the ranks' cotangents, the others' zero."""
    buf = raw(x, "broadcast")
    need()
    _check_root(root)
    what = check_call("broadcast", buf.shape, buf.dtype, root=root)
    out = _copy(buf)
    wait([seam(out).bcast(out, root)], what)
    return _result(x, out, "broadcast", lambda g: _reduce(g, root))


def _reduce(x: Any, root: int) -> Any:
    """The sum of ``x`` over ranks on ``root``, zeros elsewhere (broadcast's VJP; its own VJP is broadcast)."""
    buf = raw(x, "reduce")
    what = check_call("reduce", buf.shape, buf.dtype, "sum", root)
    xp = xp_of([buf])
    send = xp.ascontiguousarray(buf)
    out = xp.zeros(buf.shape, buf.dtype)
    wait([seam(send).reduce(send, out, root)], what)
    return _result(x, out, "reduce", lambda g: broadcast(g, root))


def reduce_scatter(x: _T, op: str = "sum") -> _T:
    """A new array: ``x`` reduced over ranks, split along axis 0 into world_size equal parts; rank i
    gets part i (shape ``(x.shape[0] // world_size, *x.shape[1:])``).

    Differentiable for "sum" and "mean" (the gradient is the all-gather of the cotangents)."""
    buf = raw(x, "reduce_scatter")
    need()
    _check_op(op, buf.dtype, "reduce_scatter")
    part = _chunk(tuple(buf.shape), "reduce_scatter")
    what = check_call("reduce_scatter", buf.shape, buf.dtype, op)
    xp = xp_of([buf])
    send = xp.ascontiguousarray(buf)
    out = xp.empty(part, buf.dtype)
    wait([seam(send).reduce_scatter(send, out, op)], what)
    if op == "mean":
        out /= STATE.size
    shape = tuple(buf.shape)

    def backward(g: Any) -> Any:
        if op in ("max", "min"):
            raise DistributedError(f"reduce_scatter(op={op!r}) has no gradient; reduce with 'sum' or 'mean' where "
                                   "a gradient must flow, or detach its input")
        full = OPS.reshape(all_gather(g), shape)
        return full * (1.0 / STATE.size) if op == "mean" else full
    return _result(x, out, f"reduce_scatter_{op}", backward)

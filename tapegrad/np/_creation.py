"""Array creation in the MXNet dialect: float32 unless told otherwise."""
from __future__ import annotations

from typing import Any

import numpy

from .._core.capture import constant as _constant
from .._core.array import OPS, Array, sequence_dtype
from ..backend import Device, to_device
from ..backend import dlpack as _dlpack
from ..ndarray import ndarray
from ..ops.registry import holds_array, pack_sequence

__all__ = ["array", "asarray", "arange", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
           "full_like", "empty_like", "eye", "identity", "linspace", "meshgrid", "genfromtxt", "from_dlpack"]

_F32 = numpy.float32


def _place(data: numpy.ndarray, ctx: Device | None) -> ndarray:
    if ctx is not None and ctx.device_type != "cpu":
        data = to_device(data, ctx)
    return ndarray._make(data)


@_constant
def array(object: Any, dtype: Any = None, ctx: Device | None = None, copy: bool = True) -> ndarray:  # noqa: A002
    """An array from nested sequences, scalars or arrays. Python data becomes float32 unless
    ``dtype`` says otherwise; NumPy and tapegrad arrays keep their dtype. A copy of an ndarray, or a
    sequence holding ndarrays, is differentiable in every element."""
    if isinstance(object, ndarray):
        out = OPS.clone(object) if dtype is None or numpy.dtype(dtype) == object.dtype else OPS.astype(object, dtype)
        return out if ctx is None else out.as_in_ctx(ctx)
    if isinstance(object, Array):  # another door's array: its data
        data = object._data.astype(dtype or object.dtype, copy=True)
        return _place(data, ctx) if ctx is not None else ndarray._make(data)
    if isinstance(object, (list, tuple)) and holds_array(object):
        out = pack_sequence(object, dtype)
        return out if ctx is None else out.as_in_ctx(ctx)
    if dtype is None and not isinstance(object, (numpy.ndarray, numpy.generic)):
        dtype = sequence_dtype(object, _F32)  # Python data: float32; NumPy arrays inside keep theirs
    return _place(numpy.array(object, dtype=dtype), ctx)


def asarray(a: Any, dtype: Any = None, ctx: Device | None = None) -> ndarray:
    """``a`` itself when it already is an ndarray of that dtype, else ``array(a, dtype)``."""
    if isinstance(a, ndarray) and (dtype is None or numpy.dtype(dtype) == a.dtype):
        return a
    return array(a, dtype=dtype, ctx=ctx)


@_constant
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None, ctx: Device | None = None) -> ndarray:
    """Evenly spaced values in ``[start, stop)``; float32 by default, even for integer bounds."""
    return _place(numpy.arange(start, stop, step, dtype=dtype or _F32), ctx)


@_constant
def zeros(shape: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """Zeros (float32 by default)."""
    return _place(numpy.zeros(shape, dtype=dtype or _F32), ctx)


@_constant
def ones(shape: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """Ones (float32 by default)."""
    return _place(numpy.ones(shape, dtype=dtype or _F32), ctx)


@_constant
def empty(shape: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """An uninitialised array (float32 by default)."""
    return _place(numpy.empty(shape, dtype=dtype or _F32), ctx)


@_constant
def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """``fill_value`` everywhere (float32 by default; an ndarray fill keeps its dtype, as in MXNet,
    and is differentiable)."""
    if isinstance(fill_value, Array) or (isinstance(fill_value, (list, tuple)) and holds_array(fill_value)):
        # (an array of another class, such as the functional API's traced values, keeps its class)
        fill = fill_value if isinstance(fill_value, Array) else asarray(fill_value)
        if dtype is not None and numpy.dtype(dtype) != fill.dtype:
            fill = OPS.astype(fill, numpy.dtype(dtype))
        out = OPS.clone(OPS.broadcast_to(fill, (shape,) if isinstance(shape, int) else tuple(shape)))
        return out if ctx is None else out.as_in_ctx(ctx)
    return _place(numpy.full(shape, fill_value, dtype=dtype or _F32), ctx)


def _like(a: Any) -> tuple:
    if isinstance(a, Array):
        return a.shape, a.dtype, a.ctx if isinstance(a, ndarray) else None
    a = numpy.asarray(a)
    return a.shape, a.dtype, None


@_constant(like=True)
def zeros_like(a: Any, dtype: Any = None) -> ndarray:
    """Zeros of ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return zeros(shape, dtype or dt, ctx=ctx)


@_constant(like=True)
def ones_like(a: Any, dtype: Any = None) -> ndarray:
    """Ones of ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return ones(shape, dtype or dt, ctx=ctx)


@_constant(like=True)
def empty_like(a: Any, dtype: Any = None) -> ndarray:
    """An uninitialised array of ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return empty(shape, dtype or dt, ctx=ctx)


@_constant(like=True)
def full_like(a: Any, fill_value: Any, dtype: Any = None) -> ndarray:
    """``fill_value`` in ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return full(shape, fill_value, dtype or dt, ctx=ctx)


@_constant
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None, ctx: Device | None = None) -> ndarray:  # noqa: N803
    """Ones on the ``k``-th diagonal (float32 by default)."""
    return _place(numpy.eye(N, M, k, dtype=dtype or _F32), ctx)


@_constant
def identity(n: int, dtype: Any = None, ctx: Device | None = None) -> ndarray:
    """The ``n``×``n`` identity (float32 by default)."""
    return eye(n, dtype=dtype, ctx=ctx)


@_constant
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0, ctx: Device | None = None) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (float32 by default, float64 for a
    float64 array end); differentiable in ``start`` and ``stop`` when they are ndarrays (or hold them)."""
    ends = [asarray(v) if isinstance(v, (list, tuple)) and holds_array(v) else v for v in (start, stop)]
    if any(isinstance(v, Array) for v in ends):
        if dtype is None:
            dtype = numpy.result_type(_F32, *[v.dtype for v in ends if isinstance(v, Array) and v.dtype.kind in "fc"])
        res = OPS.linspace(*ends, num=num, endpoint=endpoint, dtype=dtype, axis=axis)
        res = res if ctx is None else res.as_in_ctx(ctx)
        if retstep:
            step = OPS.astype(OPS.subtract(ends[1], ends[0]), dtype) / (num - 1 if endpoint else num)
            return res, step
        return res
    res = numpy.linspace(start, stop, num, endpoint=endpoint, retstep=retstep,  # type: ignore[call-overload]
                         dtype=dtype or _F32, axis=axis)
    if retstep:
        return _place(res[0], ctx), res[1]
    return _place(res, ctx)


def meshgrid(*xi: Any, indexing: str = "xy", sparse: bool = False, copy: bool = True) -> list:
    """Coordinate grids from 1-D arrays (differentiable: each grid broadcasts one input)."""
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing must be 'xy' or 'ij'")
    xs = [asarray(x).reshape(-1) for x in xi]
    n = len(xs)
    shape = [x.shape[0] for x in xs]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        ax = i
        if indexing == "xy" and n >= 2 and i < 2:
            ax = 1 - i
        s = [1] * n
        s[ax] = x.shape[0]
        g = OPS.reshape(x, tuple(s))
        out.append(g if sparse else OPS.broadcast_to(g, tuple(shape)))
    return out


def genfromtxt(fname: Any, dtype: Any = None, **kwargs: Any) -> ndarray:
    """Data read from a text file (``numpy.genfromtxt``'s arguments), as float32 by default."""
    return ndarray._make(numpy.asarray(numpy.genfromtxt(fname, dtype=dtype or float, **kwargs), dtype=dtype or _F32))


def from_dlpack(x: Any, /, *, device: Device | None = None, copy: bool | None = None) -> ndarray:
    """An array sharing memory with ``x``, an array of any library that implements the DLPack protocol
    (``__dlpack__``: NumPy, PyTorch, CuPy, JAX, tapegrad's doors): writes through either side are seen
    by the other where ``x``'s memory is writable. The array has no gradient buffer and no history.
    ``device`` places it (a copy where it moves); ``copy=True`` always copies. (``npx.from_dlpack``
    also takes the capsules of ``npx.to_dlpack_for_read``/``_for_write``, as in MXNet 1.9.)"""
    buf = _dlpack.import_buffer(x, copy=copy)
    return ndarray._make(buf) if device is None else _place(to_device(buf, device), None)

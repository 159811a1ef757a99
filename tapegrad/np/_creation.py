"""Array creation in the MXNet dialect: float32 unless told otherwise."""
from __future__ import annotations

from typing import Any

import numpy

from .._core.array import OPS, Array
from ..backend import Device, to_device
from ..ndarray import ndarray

__all__ = ["array", "asarray", "arange", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
           "full_like", "empty_like", "eye", "identity", "linspace", "meshgrid", "genfromtxt"]

_F32 = numpy.float32


def _place(data: numpy.ndarray, ctx: Device | None) -> ndarray:
    if ctx is not None and ctx.device_type != "cpu":
        data = to_device(data, ctx)
    return ndarray._make(data)


def array(object: Any, dtype: Any = None, ctx: Device | None = None, copy: bool = True) -> ndarray:  # noqa: A002
    """An array from nested sequences, scalars or arrays. Python data becomes float32 unless
    ``dtype`` says otherwise; NumPy and tapegrad arrays keep their dtype."""
    if isinstance(object, Array):
        data = object._data.astype(dtype or object.dtype, copy=True)
        return _place(data, ctx) if ctx is not None else ndarray._make(data)
    if dtype is None and not isinstance(object, (numpy.ndarray, numpy.generic)):
        if _holds_arrays(object):  # traced values inside: stack them, so gradients flow
            return OPS.stack([o if isinstance(o, Array) else array(o) for o in object])
        dtype = numpy.complex64 if numpy.asarray(object).dtype.kind == "c" else _F32
    return _place(numpy.array(object, dtype=dtype), ctx)


def _holds_arrays(obj: Any) -> bool:
    return isinstance(obj, (list, tuple)) and any(isinstance(o, Array) or _holds_arrays(o) for o in obj)


def asarray(a: Any, dtype: Any = None, ctx: Device | None = None) -> ndarray:
    """``a`` itself when it already is an ndarray of that dtype, else ``array(a, dtype)``."""
    if isinstance(a, ndarray) and (dtype is None or numpy.dtype(dtype) == a.dtype):
        return a
    return array(a, dtype=dtype, ctx=ctx)


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None, ctx: Device | None = None) -> ndarray:
    """Evenly spaced values in ``[start, stop)``; float32 by default, even for integer bounds."""
    return _place(numpy.arange(start, stop, step, dtype=dtype or _F32), ctx)


def zeros(shape: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """Zeros (float32 by default)."""
    return _place(numpy.zeros(shape, dtype=dtype or _F32), ctx)


def ones(shape: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """Ones (float32 by default)."""
    return _place(numpy.ones(shape, dtype=dtype or _F32), ctx)


def empty(shape: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """An uninitialised array (float32 by default)."""
    return _place(numpy.empty(shape, dtype=dtype or _F32), ctx)


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", ctx: Device | None = None) -> ndarray:
    """``fill_value`` everywhere (float32 by default)."""
    if isinstance(fill_value, Array):
        fill_value = fill_value.asnumpy()
    return _place(numpy.full(shape, fill_value, dtype=dtype or _F32), ctx)


def _like(a: Any) -> tuple:
    if isinstance(a, Array):
        return a.shape, a.dtype, a.ctx if isinstance(a, ndarray) else None
    a = numpy.asarray(a)
    return a.shape, a.dtype, None


def zeros_like(a: Any, dtype: Any = None) -> ndarray:
    """Zeros of ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return zeros(shape, dtype or dt, ctx=ctx)


def ones_like(a: Any, dtype: Any = None) -> ndarray:
    """Ones of ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return ones(shape, dtype or dt, ctx=ctx)


def empty_like(a: Any, dtype: Any = None) -> ndarray:
    """An uninitialised array of ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return empty(shape, dtype or dt, ctx=ctx)


def full_like(a: Any, fill_value: Any, dtype: Any = None) -> ndarray:
    """``fill_value`` in ``a``'s shape and dtype."""
    shape, dt, ctx = _like(a)
    return full(shape, fill_value, dtype or dt, ctx=ctx)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None, ctx: Device | None = None) -> ndarray:  # noqa: N803
    """Ones on the ``k``-th diagonal (float32 by default)."""
    return _place(numpy.eye(N, M, k, dtype=dtype or _F32), ctx)


def identity(n: int, dtype: Any = None, ctx: Device | None = None) -> ndarray:
    """The ``n``×``n`` identity (float32 by default)."""
    return eye(n, dtype=dtype, ctx=ctx)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0, ctx: Device | None = None) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (float32 by default)."""
    res = numpy.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype or _F32, axis=axis)
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

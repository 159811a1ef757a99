"""``tapegrad.np.random``: MXNet's random functions.

``normal`` and ``uniform`` reproduce MXNet 1.9.1's CPU streams exactly (a Mersenne Twister seeded as
``std::mt19937(seed)``, libstdc++'s polar method for normals), so seeded D2L code draws the same
numbers as MXNet. The other draws use NumPy's generator seeded alongside.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy

from .._core.capture import refuse as _refuse, source as _source
from ..backend import Device
from ..ndarray import ndarray
from ._creation import _place

__all__ = ["seed", "normal", "uniform", "randn", "rand", "randint", "choice", "shuffle", "permutation",
           "multinomial"]

_F32 = numpy.float32


class _MXStream:
    """MXNet's CPU sampler: one mt19937 engine; each call builds a fresh distribution object."""

    def __init__(self, seed: int) -> None:
        self.bits = numpy.random.MT19937()
        self.bits._legacy_seeding(int(seed) & 0xFFFFFFFF)  # = std::mt19937(seed)
        self.np = numpy.random.Generator(numpy.random.PCG64(int(seed)))

    def canonical(self, n: int, dtype: Any) -> numpy.ndarray:
        """``std::generate_canonical`` of ``n`` draws (one 32-bit word each for float32 and float64)."""
        raw = self.bits.random_raw(n)
        if dtype == numpy.float32:
            u = raw.astype(numpy.float32) / numpy.float32(2.0 ** 32)
            return numpy.where(u >= 1, numpy.nextafter(numpy.float32(1), numpy.float32(0)), u)
        u = raw.astype(numpy.float64) / 2.0 ** 32
        return numpy.where(u >= 1, numpy.nextafter(1.0, 0.0), u)

    def normal(self, n: int, dtype: Any) -> numpy.ndarray:
        """Polar-method normals: each accepted pair yields ``y·m`` then (cached) ``x·m``."""
        pairs_needed = (n + 1) // 2
        out = numpy.empty(0, dtype=dtype)
        xs, ys = [], []
        got = 0
        while got < pairs_needed:
            state = self.bits.state
            batch = max(16, int((pairs_needed - got) * 1.35) + 8)
            u = self.canonical(2 * batch, dtype)
            x = u[0::2] * dtype(2) - dtype(1)
            y = u[1::2] * dtype(2) - dtype(1)
            r2 = x * x + y * y
            ok = numpy.flatnonzero((r2 <= 1) & (r2 != 0))
            take = ok[: pairs_needed - got]
            # rewind, then consume exactly the words the accepted pairs (and rejections before) used
            self.bits.state = state
            used = 2 * (int(take[-1]) + 1) if len(take) else 2 * batch
            self.bits.random_raw(used)
            xs.append(x[take])
            ys.append(y[take])
            got += len(take)
        x = numpy.concatenate(xs)
        y = numpy.concatenate(ys)
        r2 = x * x + y * y
        mult = numpy.sqrt(dtype(-2) * numpy.log(r2) / r2)
        out = numpy.empty(2 * pairs_needed, dtype=dtype)
        out[0::2] = y * mult
        out[1::2] = x * mult
        return out[:n]


_lock = threading.Lock()
_stream = _MXStream(0)


def seed(seed: int, ctx: Any = "all") -> None:  # noqa: A002 - MXNet's name
    """Seed every generator (MXNet's ``np.random.seed``/``npx.random.seed``)."""
    _refuse("seeding the random generator inside a compiled function (seed before calling it)")
    global _stream
    with _lock:
        _stream = _MXStream(seed)


def _size(size: Any) -> tuple:
    if size is None:
        return ()
    if isinstance(size, int):
        return (size,)
    return tuple(size)


def _dt(dtype: Any) -> Any:
    return numpy.dtype(dtype or _F32).type


@_source
def normal(loc: Any = 0.0, scale: Any = 1.0, size: Any = None, dtype: Any = None,
           ctx: Device | None = None, out: Any = None) -> ndarray:
    """Normal samples (float32 by default; MXNet's stream for a given seed)."""
    loc, scale = _host(loc), _host(scale)
    shape = _size(size) if size is not None else numpy.broadcast_shapes(numpy.shape(loc), numpy.shape(scale))
    dt = _dt(dtype)
    n = int(numpy.prod(shape))
    with _lock:
        z = _stream.normal(n, dt).reshape(shape)
    return _place(numpy.asarray(z * dt(1) * scale + loc, dtype=dt), ctx)


@_source
def uniform(low: Any = 0.0, high: Any = 1.0, size: Any = None, dtype: Any = None,
            ctx: Device | None = None, out: Any = None) -> ndarray:
    """Uniform samples in ``[low, high)`` (float32 by default; MXNet's stream for a given seed)."""
    low, high = _host(low), _host(high)
    shape = _size(size) if size is not None else numpy.broadcast_shapes(numpy.shape(low), numpy.shape(high))
    dt = _dt(dtype)
    n = int(numpy.prod(shape))
    with _lock:
        u = _stream.canonical(n, dt).reshape(shape)
    return _place(numpy.asarray(u * (high - low) + low, dtype=dt), ctx)


def randn(*size: int, **kwargs: Any) -> ndarray:
    """Standard normal samples of shape ``size``."""
    return normal(0.0, 1.0, size=size, **kwargs)


def rand(*size: int, **kwargs: Any) -> ndarray:
    """Uniform samples in [0, 1) of shape ``size``."""
    return uniform(0.0, 1.0, size=size, **kwargs)


@_source
def randint(low: int, high: int | None = None, size: Any = None, dtype: Any = None,
            ctx: Device | None = None) -> ndarray:
    """Integers in ``[low, high)`` (int64 by default)."""
    if high is None:
        low, high = 0, low
    with _lock:
        r = _stream.np.integers(low, high, size=_size(size), dtype=numpy.dtype(dtype or numpy.int64))
    return _place(numpy.asarray(r), ctx)


@_source
def choice(a: Any, size: Any = None, replace: bool = True, p: Any = None, ctx: Device | None = None) -> ndarray:
    """Samples from ``a`` (an int means ``arange(a)``), optionally weighted by ``p``."""
    a = _host(a)
    p = None if p is None else _host(p)
    with _lock:
        r = _stream.np.choice(a, size=_size(size) if size is not None else None, replace=replace, p=p)
    r = numpy.asarray(r)
    return _place(r.astype(numpy.int64) if r.dtype.kind in "iu" else r, ctx)


def shuffle(x: ndarray) -> None:
    """Shuffle ``x`` in place along its first axis."""
    _refuse("np.random.shuffle (an in-place random write)")
    with _lock:
        perm = _stream.np.permutation(x.shape[0])
    x._data[...] = x._data[perm]
    x._bump()


@_source
def permutation(x: Any) -> ndarray:
    """A shuffled copy of ``x`` (or of ``arange(x)`` for an int)."""
    if isinstance(x, int):
        with _lock:
            return _place(_stream.np.permutation(x).astype(numpy.int64), None)
    with _lock:
        perm = _stream.np.permutation(len(x))
    return x[perm] if isinstance(x, ndarray) else _place(numpy.asarray(x)[perm], None)


@_source
def multinomial(n: int, pvals: Any, size: Any = None) -> ndarray:
    """Counts from ``n`` draws over categories with probabilities ``pvals`` (int64)."""
    pv = numpy.asarray(_host(pvals), dtype=numpy.float64)
    pv = pv / pv.sum(axis=-1, keepdims=True)
    with _lock:
        r = _stream.np.multinomial(n, pv, size=_size(size) if size is not None else None)
    return _place(numpy.asarray(r, dtype=numpy.int64), None)


def _host(v: Any) -> Any:
    return v.asnumpy() if isinstance(v, ndarray) else v

"""Tensor creation with PyTorch's defaults: integer data -> int64, floating data -> float32."""
from __future__ import annotations

import builtins
from typing import Any

import numpy

from .._core.array import Array
from ..backend import to_device, to_host
from . import _random
from ._dtypes import Size, to_numpy_dtype
from ._functions import _backend_device
from .tensor import Tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "arange", "zeros", "ones", "full", "empty", "eye", "linspace",
           "zeros_like", "ones_like", "full_like", "empty_like", "rand", "randn", "randint", "normal", "randperm",
           "rand_like", "randn_like", "manual_seed", "initial_seed", "seed"]

_F32 = numpy.dtype(numpy.float32)


def _np_dtype(dtype: Any) -> numpy.dtype | None:
    return None if dtype is None else to_numpy_dtype(dtype)


def _finish(data: numpy.ndarray, requires_grad: bool, device: Any = None) -> Tensor:
    """A tensor of host ``data`` placed on ``device`` ('cpu', 'cuda', 'cuda:1', a torch.device, an index)."""
    if device is not None:
        data = to_device(data, _backend_device(device))  # the same host array for the CPU
    t = Tensor._make(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size_kw(fname: str, kw: dict) -> Any:
    """``size=`` given as a keyword (``torch.randn(size=(1,))``); other keywords are errors."""
    size = kw.pop("size", None)
    kw.pop("out", None)
    kw.pop("layout", None)
    kw.pop("pin_memory", None)
    if kw:
        raise TypeError(f"{fname}() got an unexpected keyword argument '{next(iter(kw))}'")
    return size


def _default(a: numpy.ndarray) -> numpy.ndarray:
    """Python data: floats become float32 (the default dtype), ints int64, bools bool."""
    if a.dtype.kind == "f":
        return a.astype(_F32)
    if a.dtype.kind in "iu":
        return a.astype(numpy.int64)
    if a.dtype.kind == "c":
        return a.astype(numpy.complex64)
    return a


def _from_nested(data: Any) -> numpy.ndarray:
    if isinstance(data, Array):
        return numpy.array(to_host(data._data))
    if isinstance(data, (list, tuple)) and any(isinstance(d, Array) for d in _flatten(data)):
        return numpy.array([_from_nested(d) for d in data])
    return numpy.array(data)


def _flatten(data: Any):
    for d in data:
        if isinstance(d, (list, tuple)):
            yield from _flatten(d)
        else:
            yield d


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copying ``data`` (nested lists, scalars, NumPy arrays or tensors)."""
    if isinstance(data, numpy.ndarray):
        a = data.copy()
    else:
        a = _from_nested(data)
        if not isinstance(data, Array):
            a = _default(a)
    if dtype is not None:
        a = a.astype(_np_dtype(dtype))
    if device is None and isinstance(data, Array):
        device = data.device
    return _finish(a, requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` itself when it already is a tensor of that dtype; else a tensor sharing NumPy memory."""
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtype)
        return out if device is None else out.to(device)
    if isinstance(data, numpy.ndarray):
        return _finish(data if dtype is None else data.astype(_np_dtype(dtype), copy=False), False, device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: numpy.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array."""
    return Tensor._make(ndarray)


def _shape(size: tuple, kw: Any = None) -> tuple:
    """The shape from ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``."""
    if kw is not None:
        if size:
            raise TypeError("got the size both positionally and as size=")
        size = (kw,)
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        return tuple(builtins.int(s) for s in size[0])
    return tuple(builtins.int(s) for s in size)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values in ``[start, end)``: int64 for integer bounds, float32 when any bound is a float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Array) else v for v in (start, end, step)]
    if dtype is None:
        dtype = _F32 if any(isinstance(v, builtins.float) for v in vals) else numpy.int64
    return _finish(numpy.arange(*vals, dtype=_np_dtype(dtype)), requires_grad, device)


def _filled(fill, size, dtype, requires_grad, kw=None, device=None) -> Tensor:
    shape = _shape(size, kw)
    dt = _np_dtype(dtype) or _F32
    return _finish(numpy.full(shape, fill, dtype=dt), requires_grad, device)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    """Zeros of shape ``size`` (float32 by default)."""
    return _filled(0, size, dtype, requires_grad, _size_kw("zeros", kw), device)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         **kw: Any) -> Tensor:
    """Ones of shape ``size`` (float32 by default)."""
    return _filled(1, size, dtype, requires_grad, _size_kw("ones", kw), device)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    """An uninitialised tensor (zeros here) of shape ``size``."""
    return _filled(0, size, dtype, requires_grad, _size_kw("empty", kw), device)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere; the dtype follows the value (bool, int64 or float32) unless given."""
    if dtype is None:
        dtype = (numpy.bool_ if isinstance(fill_value, builtins.bool) else
                 numpy.int64 if isinstance(fill_value, builtins.int) else _F32)
    return _filled(fill_value, (size,), dtype, requires_grad, device=device)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (float32 by default)."""
    return _finish(numpy.eye(n, m, dtype=_np_dtype(dtype) or _F32), requires_grad, device)


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (float32 by default)."""
    return _finish(numpy.linspace(start, end, steps, dtype=_np_dtype(dtype) or _F32), requires_grad, device)


def _like(input: Tensor, dtype: Any, device: Any) -> tuple:
    """Shape, dtype and device of a ``*_like`` result: ``input``'s unless given."""
    return tuple(input.shape), (_np_dtype(dtype) or input._data.dtype), (device if device is not None else input.device)


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(input, dtype, device)
    return _finish(numpy.zeros(shape, dtype=dt), requires_grad, dev)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(input, dtype, device)
    return _finish(numpy.ones(shape, dtype=dt), requires_grad, dev)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(input, dtype, device)
    return _finish(numpy.full(shape, fill_value, dtype=dt), requires_grad, dev)


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, **kw: Any) -> Tensor:
    """Uniform samples in [0, 1) (PyTorch's CPU stream for a given seed)."""
    gen = generator or _random.default_generator
    shape = _shape(size, _size_kw("rand", kw))
    return _finish(gen.uniform(shape, 0.0, 1.0, dtype=_np_dtype(dtype) or _F32), requires_grad, device)


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, **kw: Any) -> Tensor:
    """Standard normal samples (PyTorch's CPU stream for a given seed)."""
    gen = generator or _random.default_generator
    shape = _shape(size, _size_kw("randn", kw))
    return _finish(gen.normal(shape, 0.0, 1.0, dtype=_np_dtype(dtype) or _F32), requires_grad, device)


def randint(low: int, high: int | None = None, size: Any = None, *, generator: Any = None, dtype: Any = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers in ``[low, high)`` (int64 by default)."""
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    gen = generator or _random.default_generator
    return _finish(gen.randint(low, high, tuple(size), dtype=_np_dtype(dtype) or numpy.int64), requires_grad, device)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal samples with the given mean and standard deviation (scalars or tensors)."""
    m = numpy.asarray(to_host(mean._data) if isinstance(mean, Array) else mean)
    s = numpy.asarray(to_host(std._data) if isinstance(std, Array) else std)
    if device is None:
        device = next((a.device for a in (mean, std) if isinstance(a, Array)), None)
    shape = tuple(size) if size is not None else numpy.broadcast_shapes(m.shape, s.shape)
    gen = generator or _random.default_generator
    dt = _np_dtype(dtype) or (m.dtype if m.dtype.kind == "f" and m.ndim else _F32)
    z = gen.normal(shape, 0.0, 1.0, dtype=dt)
    return _finish((z * s + m).astype(dt), requires_grad, device)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    gen = generator or _random.default_generator
    return _finish(numpy.asarray(gen.randperm(n)).astype(_np_dtype(dtype) or numpy.int64), requires_grad, device)


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(input, dtype, device)
    return rand(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(input, dtype, device)
    return randn(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def manual_seed(seed: int) -> Any:
    """Seed the default generator; returns it."""
    return _random.manual_seed(seed)


def initial_seed() -> int:
    return _random.default_generator.initial_seed()


def seed() -> int:
    return _random.default_generator.seed()

"""Tensor creation with PyTorch's defaults: integer data -> int64, floating data -> the default dtype
(float32 unless ``set_default_dtype`` changed it). Python data is converted once, straight to the
requested dtype; ``arange``, ``linspace`` and ``logspace`` compute their values as PyTorch's CPU
kernels do, to the bit."""
from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy

from .._core.array import Array
from .._core.capture import constant as _constant
from .._core.capture import source as _source
from ..backend import to_device, to_host
from ..ops.registry import holds_array
from . import _random
from ._device import _backend_device, default_device
from ._dtypes import Size, default_complex, default_float, promote_types, to_numpy_dtype
from .tensor import Tensor
from ._dtypes import from_numpy_dtype

__all__ = ["tensor", "scalar_tensor", "as_tensor", "from_numpy", "arange", "logspace", "zeros", "ones", "full", "empty", "eye", "linspace",
           "zeros_like", "ones_like", "full_like", "empty_like", "rand", "randn", "randint", "normal", "randperm",
           "rand_like", "randn_like", "manual_seed", "initial_seed", "seed"]

_F32, _F64 = numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)
_I64 = numpy.dtype(numpy.int64)
_KIND_NAMES = {"complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _np_dtype(dtype: Any) -> numpy.dtype | None:
    return None if dtype is None else to_numpy_dtype(dtype)


def _finish(data: numpy.ndarray, requires_grad: bool, device: Any = None) -> Tensor:
    """A tensor of host ``data`` placed on ``device`` ('cpu', 'cuda', 'cuda:1', a torch.device, an index;
    None: the default device, see ``set_default_device``)."""
    if device is None:
        device = default_device()
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


# --- Python data to arrays, in the requested dtype --------------------------------------------


def _leaf_dtype(x: Any) -> numpy.dtype:
    """The dtype PyTorch infers for one element of the data."""
    if isinstance(x, Array):
        return x._data.dtype
    if isinstance(x, (numpy.ndarray, numpy.generic)):
        return x.dtype
    if isinstance(x, builtins.bool):
        return numpy.dtype(numpy.bool_)
    if isinstance(x, builtins.int):
        return _I64
    if isinstance(x, builtins.float):
        return default_float()
    if isinstance(x, builtins.complex):
        return default_complex()
    return numpy.asarray(x).dtype  # anything else NumPy reads (it raises on what it cannot)


def _infer_dtype(data: Any) -> numpy.dtype:
    """PyTorch's dtype for ``data``: its elements' dtypes promoted together (an empty list: the default)."""
    dt = None
    for x in _flatten((data,)):
        d = _leaf_dtype(x)
        dt = promote_types(dt, d)
    return default_float() if dt is None else dt


def _convert(data: Any, dt: numpy.dtype) -> numpy.ndarray:
    """A new host array of ``data`` in ``dt``: each Python number converted once, straight to ``dt``
    (never through another floating type first); tensors inside the data contribute their values."""
    if isinstance(data, Array):
        return numpy.array(to_host(data._data), dtype=dt)
    if isinstance(data, (list, tuple)) and any(isinstance(d, (Array, numpy.ndarray)) for d in _flatten(data)):
        parts = [_convert(d, dt) for d in data]
        return numpy.array(parts, dtype=dt) if parts else numpy.zeros((0,), dtype=dt)
    with numpy.errstate(over="ignore"):  # out-of-range floats become inf, as in PyTorch
        return numpy.array(data, dtype=dt)


def _flatten(data: Any):
    for d in data:
        if isinstance(d, (list, tuple)):
            yield from _flatten(d)
        else:
            yield d


@_constant
def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copying ``data`` (nested lists, scalars, NumPy arrays or tensors), converted
    directly to ``dtype``, or to the dtype PyTorch infers (Python floats: the default dtype)."""
    if isinstance(data, Array):
        warnings.warn(_COPY_CONSTRUCT, UserWarning, stacklevel=2)
    elif isinstance(data, (list, tuple)) and holds_array(data):
        if any(getattr(x, "requires_grad", False) for x in _flatten(data)):
            warnings.warn(_GRAD_TO_NUMBER, UserWarning, stacklevel=2)
        data = _tensors_as_numbers(data)
    dt = _np_dtype(dtype) or _infer_dtype(data)
    a = _convert(data, dt)
    if device is None and isinstance(data, Tensor):
        device = default_device() or data.device
    return _finish(a, requires_grad, device)


_COPY_CONSTRUCT = ("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
                   "sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor).")
_GRAD_TO_NUMBER = ("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                   "Consider using tensor.detach() first.")


def _tensors_as_numbers(data: Any) -> Any:
    """Nested data with each tensor in it read as a number, as ``torch.tensor`` reads it (a tensor of
    more than one element raises). The result is a constant: PyTorch keeps gradients with ``torch.stack``."""
    if isinstance(data, (list, tuple)):
        return [_tensors_as_numbers(d) for d in data]
    if not isinstance(data, Array):
        return data
    if data._data.size != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    return numpy.asarray(to_host(data._data)).reshape(())


@_constant
def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s`` (the default dtype unless given)."""
    dt = _np_dtype(dtype) or (default_complex() if isinstance(s, builtins.complex) else default_float())
    return _finish(_convert(s, dt), requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` itself when it already is a tensor of that dtype and device; a tensor sharing memory
    with a NumPy array of that dtype on the CPU (as ``from_numpy``); else a new tensor, as ``tensor``."""
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtype)
        return out if device is None else out.to(device)
    if isinstance(data, numpy.ndarray):
        a = data if dtype is None else data.astype(_np_dtype(dtype), copy=False)
        _check_numpy(a)
        return _finish(a.view() if a is data else a, False, device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: numpy.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array: writes through either are seen by the other (writes
    through the tensor move its version counter; writes through the array do not, as in PyTorch)."""
    if not isinstance(ndarray, numpy.ndarray):
        raise TypeError(f"expected np.ndarray (got {_type_name(ndarray)})")
    _check_numpy(ndarray)
    return Tensor._make(ndarray.view())  # (a view: reshaping the array in place leaves the tensor alone)


def _type_name(obj: Any) -> str:
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__name__}"


def _check_numpy(a: numpy.ndarray) -> None:
    """PyTorch's checks of a NumPy array whose memory a tensor is to share: a dtype a tensor can hold,
    the machine's byte order; a read-only array gets PyTorch's warning (a write through the tensor
    then raises, where PyTorch's would write into it)."""
    dt = a.dtype
    from_numpy_dtype(dt.newbyteorder("="))  # (raises PyTorch's error for a dtype a tensor cannot hold)
    if not dt.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. Conversion "
                         "between byte orders is currently not supported.")
    if not a.flags.writeable:
        warnings.warn("The given NumPy array is not writable, and PyTorch does not support non-writable tensors. "
                      "This means writing to this tensor will result in undefined behavior. You may want to copy "
                      "the array to protect its data or make it writable before converting it to a tensor. This "
                      "type of warning will be suppressed for the rest of this program.", UserWarning, stacklevel=3)


def _shape(size: tuple, kw: Any = None) -> tuple:
    """The shape from ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``."""
    if kw is not None:
        if size:
            raise TypeError("got the size both positionally and as size=")
        size = (kw,)
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        return tuple(builtins.int(s) for s in size[0])
    return tuple(builtins.int(s) for s in size)


def _fma(a: Any, b: Any, c: Any) -> numpy.ndarray:
    """``a * b + c`` in float64 with one rounding, as a fused multiply-add: the product's error is
    recovered exactly (Dekker's split) and added back with the sum's (exact but for ties of the
    final rounding, which the values of a range do not produce)."""
    a, b, c = (numpy.asarray(v, dtype=_F64) for v in (a, b, c))
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    v = s - p
    fix = ((p - (s - v)) + (c - v)) + err
    return numpy.where(fix == 0, s, s + fix)  # keeps the sign of a zero sum (-0.0 + 0 * step)


def _split(a: numpy.ndarray) -> tuple:
    big = a * 134217729.0  # 2**27 + 1
    hi = big - (big - a)
    return hi, a - hi


def _range_dtype(vals: list, dtype: Any) -> numpy.dtype:
    if dtype is not None:
        return to_numpy_dtype(dtype)
    if any(isinstance(v, builtins.complex) for v in vals):
        return default_complex()
    return default_float() if any(isinstance(v, builtins.float) for v in vals) else _I64


def _number(v: Any) -> Any:
    return v.item() if isinstance(v, (Array, numpy.generic)) else v


def _bounds(*vs: Any) -> tuple:
    """A range's bounds as numbers; a tensor among them that requires grad warns, as its gradient is
    lost (PyTorch reads it silently)."""
    if any(getattr(v, "requires_grad", False) for v in vs):
        warnings.warn("a range bound that requires grad is read as a number, so the result does not require "
                      "grad (as in PyTorch); for a differentiable range use start + (end - start) * "
                      "torch.linspace(0, 1, steps)", UserWarning, stacklevel=3)
    return tuple(_number(v) for v in vs)


@_constant
def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values in ``[start, end)``: int64 for integer bounds, the default dtype when any is a float.

    Floating values are PyTorch's CPU kernel's, to the bit: ``start + step * i`` fused in float64,
    where the kernel's 256-bit vector loop starts each vector at such a value and adds ``step * k``.
    """
    if end is None:
        start, end = 0, start
    start, end, step = _bounds(start, end, step)
    dt = _range_dtype([start, end, step], dtype)
    if dt.kind == "c":
        raise NotImplementedError(f'"arange_cpu" not implemented for \'{_KIND_NAMES.get(dt.name, dt.name)}\'')
    if dt.kind in "iub":  # the bounds and the step are cast to the integer type first
        if step == 0:
            raise RuntimeError("step must be nonzero")
        start, end, step = (builtins.int(v) for v in (start, end, step))
        if step == 0:
            raise ValueError("step must be nonzero")
        n = _range_size(start, end, step)
        return _finish((start + step * numpy.arange(n, dtype=_I64)).astype(dt), requires_grad, device)
    n = _range_size(start, end, step)
    idx = numpy.arange(n)
    width = 2 * (32 // dt.itemsize)  # the vector loop covers whole pairs of 256-bit vectors
    k = numpy.where(idx < n - n % width, idx % (width // 2), 0)
    base = _fma(step, idx - k, start).astype(dt)
    out = numpy.where(k > 0, _fma(k, step, base).astype(dt), base)
    return _finish(out, requires_grad, device)


def _range_size(start: float, end: float, step: float) -> int:
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    return builtins.int(math.ceil((end - start) / step))


def _spaced(start: Any, end: Any, steps: int, dt: numpy.dtype) -> numpy.ndarray:
    """PyTorch's linspace kernel: ``start + step * i`` for the first half, ``end - step * (steps - 1 - i)``
    for the rest, each fused in the element type (float64 steps for integer types)."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    if dt.kind == "c":
        parts = [_spaced(getattr(start, "real", start), getattr(end, "real", end), steps, _F64 if dt.itemsize == 16 else _F32),
                 _spaced(getattr(start, "imag", 0.0), getattr(end, "imag", 0.0), steps, _F64 if dt.itemsize == 16 else _F32)]
        return (parts[0] + 1j * parts[1].astype(dt)).astype(dt)
    scalar = dt.type if dt.kind == "f" else (lambda v: numpy.float64(builtins.int(v)))
    lo, hi = scalar(start), scalar(end)
    if steps <= 1:
        return numpy.full((steps,), lo, dtype=dt)
    idx = numpy.arange(steps)
    if dt == numpy.float16:  # half arithmetic rounds each operation (the index too) to half
        step = (hi - lo) / dt.type(steps - 1)
        head = lo + step * idx.astype(dt)
        tail = hi - step * (steps - 1 - idx).astype(dt)
        return numpy.where(idx < steps // 2, head, tail)
    step = (hi - lo) / scalar(steps - 1)
    head = _fma(step, idx, lo)
    tail = _fma(-step, steps - 1 - idx, hi)
    out = numpy.where(idx < steps // 2, head, tail)
    return out.astype(dt) if dt.kind == "f" else numpy.trunc(out).astype(dt)


@_constant
def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (the default dtype unless given), the
    values of PyTorch's CPU kernel to the bit."""
    start, end = _bounds(start, end)
    dt = _range_dtype([start, end, 0.0], dtype)
    return _finish(_spaced(start, end, steps, dt), requires_grad, device)


@_constant
def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)`` (the default dtype unless given)."""
    start, end = _bounds(start, end)
    dt = _range_dtype([start, end, 0.0], dtype)
    if dt.kind == "c":
        raise NotImplementedError("logspace: complex dtypes are not supported")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    lo, hi = (dt.type(v) if dt.kind == "f" else builtins.int(v) for v in (start, end))
    idx = numpy.arange(steps)
    if steps == 1:
        expo = numpy.array([builtins.float(start)])
    else:  # the exponents in float64, from a step computed in the element type
        step = builtins.float(hi - lo) / (steps - 1)
        expo = numpy.where(idx < steps // 2, _fma(step, idx, builtins.float(lo)),
                           _fma(-step, steps - 1 - idx, builtins.float(hi)))
    with numpy.errstate(over="ignore", invalid="ignore"):
        out = numpy.power(numpy.float64(base), expo)
        out = out.astype(dt) if dt.kind == "f" else numpy.trunc(out).astype(dt)
    return _finish(out, requires_grad, device)


def _filled(fill, size, dtype, requires_grad, kw=None, device=None) -> Tensor:
    shape = _shape(size, kw)
    dt = _np_dtype(dtype) or default_float()
    with numpy.errstate(over="ignore"):
        return _finish(numpy.full(shape, fill, dtype=dt), requires_grad, device)


@_constant
def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    """Zeros of shape ``size`` (the default dtype unless given)."""
    return _filled(0, size, dtype, requires_grad, _size_kw("zeros", kw), device)


@_constant
def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         **kw: Any) -> Tensor:
    """Ones of shape ``size`` (the default dtype unless given)."""
    return _filled(1, size, dtype, requires_grad, _size_kw("ones", kw), device)


@_constant
def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    """An uninitialised tensor (zeros here) of shape ``size``."""
    return _filled(0, size, dtype, requires_grad, _size_kw("empty", kw), device)


@_constant
def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere; the dtype follows the value (bool, int64, the default floating or
    complex dtype) unless given."""
    _refuse_grad_fill("full", fill_value)
    if dtype is None:
        dtype = _leaf_dtype(_number(fill_value))
    return _filled(fill_value, (size,), dtype, requires_grad, device=device)


def _refuse_grad_fill(fname: str, fill_value: Any) -> None:
    """PyTorch takes a fill value as a number and refuses a tensor that requires grad (its gradient would be lost)."""
    if getattr(fill_value, "requires_grad", False):
        raise TypeError(f"{fname}(): argument 'fill_value' (position 2) must be Number, not Tensor")


@_constant
def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (the default dtype unless given)."""
    return _finish(numpy.eye(n, m, dtype=_np_dtype(dtype) or default_float()), requires_grad, device)


def _like(input: Tensor, dtype: Any, device: Any) -> tuple:
    """Shape, dtype and device of a ``*_like`` result: ``input``'s unless given."""
    return tuple(input.shape), (_np_dtype(dtype) or input._data.dtype), (device if device is not None else input.device)


@_constant(like=True)
def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(input, dtype, device)
    return _finish(numpy.zeros(shape, dtype=dt), requires_grad, dev)


@_constant(like=True)
def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(input, dtype, device)
    return _finish(numpy.ones(shape, dtype=dt), requires_grad, dev)


@_constant(like=True)
def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


@_constant(like=True)
def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    _refuse_grad_fill("full_like", fill_value)
    shape, dt, dev = _like(input, dtype, device)
    return _finish(numpy.full(shape, fill_value, dtype=dt), requires_grad, dev)


@_source
def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, **kw: Any) -> Tensor:
    """Uniform samples in [0, 1) (PyTorch's CPU stream for a given seed)."""
    gen = generator or _random.default_generator
    shape = _shape(size, _size_kw("rand", kw))
    return _finish(gen.uniform(shape, 0.0, 1.0, dtype=_np_dtype(dtype) or default_float()), requires_grad, device)


@_source
def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, **kw: Any) -> Tensor:
    """Standard normal samples (PyTorch's CPU stream for a given seed)."""
    gen = generator or _random.default_generator
    shape = _shape(size, _size_kw("randn", kw))
    return _finish(gen.normal(shape, 0.0, 1.0, dtype=_np_dtype(dtype) or default_float()), requires_grad, device)


@_source
def randint(low: int, high: int | None = None, size: Any = None, *, generator: Any = None, dtype: Any = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers in ``[low, high)`` (int64 by default)."""
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    gen = generator or _random.default_generator
    return _finish(gen.randint(low, high, tuple(size), dtype=_np_dtype(dtype) or numpy.int64), requires_grad, device)


@_source
def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal samples with the given mean and standard deviation (scalars or tensors)."""
    m = numpy.asarray(to_host(mean._data) if isinstance(mean, Array) else mean)
    s = numpy.asarray(to_host(std._data) if isinstance(std, Array) else std)
    if device is None:
        device = next((a.device for a in (mean, std) if isinstance(a, Tensor)), None)
    shape = tuple(size) if size is not None else numpy.broadcast_shapes(m.shape, s.shape)
    gen = generator or _random.default_generator
    dt = _np_dtype(dtype) or (m.dtype if m.dtype.kind == "f" and m.ndim else default_float())
    z = gen.normal(shape, 0.0, 1.0, dtype=dt)
    return _finish((z * s + m).astype(dt), requires_grad, device)


@_source
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

"""PyTorch's functions and Tensor methods, as thin maps onto the op registry.

Every public function here is also bound as a Tensor method when ``METHODS`` lists it. No function
computes a gradient of its own: each calls registry ops (``OPS.*``), which carry the rules.

Reductions take PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` spellings alike; ``dim``
may be an int, a tuple or a list. In-place methods (``add_``, ``zero_``, ``normal_``...) and augmented
assignment (``+=``...) follow PyTorch through one path (``_inplace``): a leaf that requires grad, or a
view of one, refuses them while grad mode is on; a result type that does not cast to the tensor's dtype
is refused; otherwise the result is written into the same memory, and the version counter that the
tensor shares with its views and detached copies moves, so a backward that needs the old values raises
PyTorch's "modified by an inplace operation" error. An in-place op on a tensor that is on the tape
while grad mode is on is also recorded: the tensor's history (and its base's and views') ends in it.
"""
from __future__ import annotations

import builtins
import collections
import types
import warnings
from typing import Any, Callable

import numpy

from .._core.array import OPS, Array, _any_traced
from .._core.mode import GRAD_ENABLED
from ..backend import CPU, device_of, gpu, to_device, to_host
from ..ops.linalg import einsum as _einsum
from ..ops.registry import holds_array, pack_sequence
from . import _dtypes, _random
from ._dtypes import Size, dtype as _TorchDtype, from_numpy_dtype, to_numpy_dtype
from .tensor import Tensor, _link_views

_bool, _int, _float, _abs, _max, _min, _sum, _any, _all = (builtins.bool, builtins.int, builtins.float,
                                                           builtins.abs, builtins.max, builtins.min,
                                                           builtins.sum, builtins.any, builtins.all)

_I64 = numpy.dtype(numpy.int64)

# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------

#: PyTorch's short type names (error messages: "Got Long") and C type names ("long int != float").
_KIND = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
         "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
         "complex128": "ComplexDouble"}
_CTYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
          "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
          "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _kind(t: Any) -> str:
    d = t._data.dtype if isinstance(t, Array) else numpy.dtype(t)
    return _KIND.get(d.name, d.name)


def _ctype(t: Any) -> str:
    d = t._data.dtype if isinstance(t, Array) else numpy.dtype(t)
    return _CTYPE.get(d.name, d.name)


def _t(x: Any, fname: str, pos: int = 1, argname: str = "input") -> Tensor:
    """``x`` itself when it is a Tensor; PyTorch's TypeError otherwise."""
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{fname}(): argument '{argname}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _np_dtype(d: Any) -> numpy.dtype | None:
    return None if d is None else to_numpy_dtype(d)


def _dim(dim: Any, axis: Any = None) -> Any:
    """PyTorch's ``dim`` or NumPy's ``axis`` (lists become tuples)."""
    d = dim if dim is not None else axis
    if isinstance(d, (list, Size)):
        d = tuple(d)
    if isinstance(d, tuple):
        d = tuple(_int(a) for a in d)
    elif isinstance(d, Array):
        d = _int(d)
    return d


def _kd(keepdim: Any, keepdims: Any) -> bool:
    return _bool(keepdim if keepdims is None else keepdims)


def _norm_dim(dim: int, ndim: int) -> int:
    n = _max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _shape_args(shape: tuple) -> tuple:
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(torch.Size([2, 3]))`` all mean the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    return tuple(_int(s) for s in shape)


def _is_float(t: Tensor) -> bool:
    return t._data.dtype.kind in "fc"


def _cast(x: Tensor, dt: numpy.dtype) -> Tensor:
    """``x`` as dtype ``dt`` (``x`` itself when it already is): differentiable from floating to floating;
    a cast to or from an integer or bool type has no history, as in PyTorch."""
    dt = numpy.dtype(dt)
    if x._data.dtype == dt:
        return x
    return OPS.astype(x if dt.kind in "fc" and x._data.dtype.kind in "fc" else x.detach(), dt)


def _scalar_or(x: Any) -> Any:
    """Python numbers and tensors pass; NumPy scalars and sequences become tensors of PyTorch's dtype."""
    if isinstance(x, (Array, _bool, _int, _float, complex)):
        return x
    if isinstance(x, numpy.generic):
        return x.item()
    if isinstance(x, (list, tuple)) and holds_array(x):  # tensors inside: packed, so gradients flow
        return pack_sequence(x)
    from ._creation import tensor  # noqa: PLC0415
    return tensor(x)


# -- named tuples of values and indices: torch.return_types.max and friends ----------------------

return_types = types.ModuleType("torch.return_types", "Named tuples returned by max(dim), sort, topk...")


def _return_type(name: str, fields: tuple = ("values", "indices")) -> type:
    base = collections.namedtuple(name, fields)

    def __repr__(self: Any) -> str:
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"torch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__,
                               "__module__": "torch.return_types"})
    setattr(return_types, name, cls)
    return cls


_MAX, _MIN, _SORT, _TOPK, _MEDIAN, _KTH, _MODE = (_return_type(n) for n in
                                                  ("max", "min", "sort", "topk", "median", "kthvalue", "mode"))


# ----------------------------------------------------------------------------------------------
# size and shape information
# ----------------------------------------------------------------------------------------------

def _size(self: Tensor, dim: int | None = None) -> Any:
    """``torch.Size`` of the tensor, or the length of one dimension."""
    shape = self._data.shape
    if dim is None:
        return Size(shape)
    if not shape:
        raise IndexError(f"dimension specified as {dim} but tensor has no dimensions")
    return shape[_norm_dim(_int(dim), len(shape))]


def numel(input: Tensor) -> int:
    """The number of elements."""
    return _int(_t(input, "numel")._data.size)


def _dim_method(self: Tensor) -> int:
    return self._data.ndim


def _element_size(self: Tensor) -> int:
    return self._data.dtype.itemsize


def _stride(self: Tensor, dim: int | None = None) -> Any:
    st = tuple(s // self._data.dtype.itemsize for s in self._data.strides)
    return st if dim is None else st[_norm_dim(dim, self._data.ndim)]


def is_floating_point(input: Tensor) -> bool:
    """Whether the dtype is a floating-point type."""
    return _t(input, "is_floating_point")._data.dtype.kind == "f"


def is_complex(input: Tensor) -> bool:
    """Whether the dtype is a complex type."""
    return _t(input, "is_complex")._data.dtype.kind == "c"


def is_nonzero(input: Tensor) -> bool:
    """The truth value of a one-element tensor."""
    x = _t(input, "is_nonzero")
    if x._data.size != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous" if x._data.size else
                           "Boolean value of Tensor with no values is ambiguous")
    return _bool(to_host(x._data).reshape(()))


# ----------------------------------------------------------------------------------------------
# dtype and device conversion
# ----------------------------------------------------------------------------------------------

_TYPE_NAMES = {"torch.FloatTensor": numpy.float32, "torch.DoubleTensor": numpy.float64,
               "torch.HalfTensor": numpy.float16, "torch.LongTensor": numpy.int64, "torch.IntTensor": numpy.int32,
               "torch.ShortTensor": numpy.int16, "torch.CharTensor": numpy.int8, "torch.ByteTensor": numpy.uint8,
               "torch.BoolTensor": numpy.bool_}


def _type(self: Tensor, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
    """Without ``dtype``: the type name (``'torch.FloatTensor'``); with one: the tensor cast to it."""
    if dtype is None:
        prefix = "torch.cuda." if self.is_cuda else "torch."
        return f"{prefix}{_kind(self)}Tensor"
    if isinstance(dtype, str):
        key = dtype.replace("torch.cuda.", "torch.")
        if key not in _TYPE_NAMES:
            raise ValueError(f"invalid type: '{dtype}'")
        return _cast(self, numpy.dtype(_TYPE_NAMES[key]))
    return _cast(self, to_numpy_dtype(dtype))


def _parse_device(d: Any) -> tuple:
    """('cpu' or 'cuda', index or None) from a string, a torch.device or an int (a CUDA index)."""
    if isinstance(d, _int) and not isinstance(d, _bool):
        return "cuda", d
    if isinstance(d, str):
        kind, _, idx = d.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {d}")
        return kind, (_int(idx) if idx else None)
    kind = getattr(d, "type", None)
    if kind in ("cpu", "cuda"):
        return kind, getattr(d, "index", None)
    raise TypeError(f"to() received an invalid combination of arguments: got {d!r}")


def _backend_device(d: Any) -> Any:
    """The backend device of a PyTorch device spec (see ``_parse_device``); 'cuda' is GPU 0."""
    kind, index = _parse_device(d)
    return CPU if kind == "cpu" else gpu(index or 0)


def _move(self: Tensor, kind: str, index: int | None) -> Tensor:
    """The tensor on another device (the same tensor when it is there already); differentiable."""
    src = device_of(self._data)
    if kind == "cpu":
        dst = CPU
    else:
        dst = gpu(index if index is not None else (src.device_id if src.device_type == "gpu" else 0))
    if dst == src:
        return self
    return OPS.device_copy(self, ctx=dst, src=src)


def _to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False,
        copy: bool = False, memory_format: Any = None) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``: the same tensor when nothing changes."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a._data.dtype, a.device
        elif isinstance(a, _TorchDtype) or a in (_float, _int, _bool) or isinstance(a, numpy.dtype):
            dtype = a
        elif a is not None:
            device = a
    out = self
    if device is not None:
        out = _move(out, *_parse_device(device))
    if dtype is not None:
        out = _cast(out, to_numpy_dtype(dtype))
    if copy and out is self:
        out = clone(self)
    return out


def _caster(dt: Any, name: str) -> Callable:
    npdt = numpy.dtype(dt)

    def cast(self: Tensor, memory_format: Any = None) -> Tensor:
        return _cast(self, npdt)
    cast.__name__ = name
    cast.__doc__ = f"The tensor as {from_numpy_dtype(npdt)} (itself when it already is)."
    return cast


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    return _cast(self, other._data.dtype)


def _cpu(self: Tensor, memory_format: Any = None) -> Tensor:
    return _move(self, "cpu", None)


def _cuda(self: Tensor, device: Any = None, non_blocking: bool = False, memory_format: Any = None) -> Tensor:
    return _move(self, "cuda", None if device is None else _parse_device(device)[1])


def _new(self: Tensor, maker: Callable, size: tuple, dtype: Any, requires_grad: bool, **kw: Any) -> Tensor:
    from . import _creation  # noqa: PLC0415
    return getattr(_creation, maker)(*_shape_args(size), **kw, dtype=dtype if dtype is not None else self.dtype,
                                     requires_grad=requires_grad)


def _new_zeros(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(self, "zeros", size, dtype, requires_grad)


def _new_ones(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(self, "ones", size, dtype, requires_grad)


def _new_empty(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(self, "empty", size, dtype, requires_grad)


def _new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    from ._creation import full  # noqa: PLC0415
    return full(tuple(size), fill_value, dtype=dtype if dtype is not None else self.dtype,
                requires_grad=requires_grad)


def _new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
                requires_grad: bool = False) -> Tensor:
    from ._creation import tensor  # noqa: PLC0415
    return tensor(data, dtype=dtype if dtype is not None else self.dtype, requires_grad=requires_grad)


# ----------------------------------------------------------------------------------------------
# elementwise functions
# ----------------------------------------------------------------------------------------------

def _unary(name: str, opname: str) -> Callable:
    op = getattr(OPS, opname)

    def f(input: Tensor) -> Tensor:
        x = _t(input, name)
        if x._data.dtype.kind in "biu" and name in _FLOATING_UNARY:  # computed in the default dtype, as in
            x = _cast(x, _default_float())  # PyTorch (NumPy's reciprocal of an integer is an integer)
        return op(x)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` (the registry op ``{opname}``)."
    return f


#: torch name -> registry op
_UNARY = {
    "abs": "abs", "absolute": "abs", "exp": "exp", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "asin": "arcsin", "arcsin": "arcsin", "acos": "arccos", "arccos": "arccos", "atan": "arctan",
    "arctan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu",
    "neg": "negative", "negative": "negative", "positive": "positive", "reciprocal": "reciprocal",
    "square": "square", "sign": "sign", "sgn": "sign", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
    "fix": "trunc", "isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite", "logical_not": "logical_not",
    "bitwise_not": "invert", "signbit": "signbit", "erf": "erf",
}
_UNARY_FUNCS = {name: _unary(name, op) for name, op in _UNARY.items()}
globals().update(_UNARY_FUNCS)


def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(input)``."""
    return OPS.reciprocal(OPS.sqrt(_t(input, "rsqrt")))


def exp2(input: Tensor) -> Tensor:
    """``2 ** input``."""
    x = _t(input, "exp2")
    return OPS.power(_base_tensor(2.0, x), x)


def frac(input: Tensor) -> Tensor:
    """The fractional part, ``input - trunc(input)``."""
    x = _t(input, "frac")
    return OPS.subtract(x, OPS.trunc(x))


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even (to ``decimals`` places)."""
    return OPS.round(_t(input, "round"), decimals)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Values limited to ``[min, max]`` (either may be None; tensors broadcast)."""
    x = _t(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Array) or isinstance(max, Array):
        out = x if min is None else OPS.maximum(x, min)
        return out if max is None else OPS.minimum(out, max)
    return OPS.clip(x, min, max)


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


def _scaled(other: Any, alpha: Any) -> Any:
    if alpha == 1:
        return other
    return OPS.multiply(other, alpha) if isinstance(other, Array) else other * alpha


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input + alpha * other``."""
    return OPS.add(_scalar_or(input), _scaled(_scalar_or(other), alpha))


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input - alpha * other``."""
    a, b = _scalar_or(input), _scalar_or(other)
    _check_sub(a, b)
    return OPS.subtract(a, _scaled(b, alpha))


subtract = sub


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``."""
    a, b = _scalar_or(other), _scalar_or(input)
    _check_sub(a, b)
    return OPS.subtract(a, _scaled(b, alpha))


def mul(input: Any, other: Any) -> Tensor:
    """``input * other``."""
    return OPS.multiply(_scalar_or(input), _scalar_or(other))


multiply = mul


def _is_int(v: Any) -> bool:
    return v._data.dtype.kind in "iub" if isinstance(v, Array) else isinstance(v, _int)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division; ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient."""
    a, b = _scalar_or(input), _scalar_or(other)
    if rounding_mode is None:
        return OPS.divide(a, b)
    if rounding_mode in ("floor", "trunc"):
        _binary_checks(rounding_mode + "_divide", a, b)
    ints = _is_int(a) and _is_int(b)
    if rounding_mode == "floor":
        return OPS.floor_divide(a, b) if ints else OPS.floor(OPS.divide(a, b))
    if rounding_mode == "trunc":
        q = OPS.trunc(OPS.divide(a, b))
        return _cast(q, numpy.result_type(*(v._data.dtype for v in (a, b) if isinstance(v, Array)))) if ints else q
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                       f"'{rounding_mode}'")


divide = true_divide = div


def floor_divide(input: Any, other: Any) -> Tensor:
    return div(input, other, rounding_mode="floor")


def remainder(input: Any, other: Any) -> Tensor:
    """Python's ``%`` (the result has the divisor's sign)."""
    a, b = _scalar_or(input), _scalar_or(other)
    _binary_checks("remainder", a, b)
    return OPS.remainder(a, b)


def fmod(input: Any, other: Any) -> Tensor:
    """C's ``fmod`` (the result has the dividend's sign)."""
    a, b = _scalar_or(input), _scalar_or(other)
    _binary_checks("fmod", a, b)
    return OPS.fmod(a, b)


def _base_tensor(base: Any, exponent: Tensor) -> Any:
    """A Python-number base as a 0-d tensor of the result's dtype (power's VJP needs an array base)."""
    if isinstance(base, Array) or not isinstance(exponent, Array):
        return base
    return Tensor._make(numpy.asarray(base, dtype=_result_type(base, exponent)))


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """``input ** exponent`` (either may be a Python number)."""
    a, e = _scalar_or(input), _scalar_or(exponent)
    rt = _binary_checks("power", a, e) if isinstance(a, Tensor) or isinstance(e, Tensor) else None
    return _bool_power(OPS.power(_base_tensor(a, e), e), rt)


def float_power(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` computed in double precision (the result is float64)."""
    a, e = _scalar_or(input), _scalar_or(exponent)
    a = _cast(a, numpy.dtype(numpy.float64)) if isinstance(a, Array) else _float(a)
    e = _cast(e, numpy.dtype(numpy.float64)) if isinstance(e, Array) else _float(e)
    return OPS.power(_base_tensor(a, e), e)


def atan2(input: Tensor, other: Tensor) -> Tensor:
    a, b = _t(input, "atan2"), _t(other, "atan2", 2, "other")
    _binary_checks("atan2", a, b)
    return OPS.arctan2(a, b)


arctan2 = atan2


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum (NaN propagates)."""
    a, b = _t(input, "maximum"), _t(other, "maximum", 2, "other")
    _binary_checks("maximum", a, b)
    return OPS.maximum(a, b)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum (NaN propagates)."""
    a, b = _t(input, "minimum"), _t(other, "minimum", 2, "other")
    _binary_checks("minimum", a, b)
    return OPS.minimum(a, b)


def fmax(input: Tensor, other: Tensor) -> Tensor:
    return OPS.fmax(_t(input, "fmax"), _t(other, "fmax", 2, "other"))


def fmin(input: Tensor, other: Tensor) -> Tensor:
    return OPS.fmin(_t(input, "fmin"), _t(other, "fmin", 2, "other"))


def hypot(input: Tensor, other: Tensor) -> Tensor:
    return OPS.hypot(_t(input, "hypot"), _scalar_or(other))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    return OPS.logaddexp(_t(input, "logaddexp"), _scalar_or(other))


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``."""
    x = _t(input, "lerp")
    return OPS.add(x, OPS.multiply(_scalar_or(weight), OPS.subtract(_scalar_or(end), x)))


def _compare(name: str, opname: str) -> Callable:
    op = getattr(OPS, opname)

    def f(input: Tensor, other: Any) -> Tensor:
        a, b = _t(input, name), _scalar_or(other)
        if opname in _NO_KERNEL:
            _binary_checks(opname, a, b)
        return op(a, b)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` as a bool tensor."
    return f


_COMPARE = {"eq": "equal", "ne": "not_equal", "not_equal": "not_equal", "lt": "less", "less": "less",
            "le": "less_equal", "less_equal": "less_equal", "gt": "greater", "greater": "greater",
            "ge": "greater_equal", "greater_equal": "greater_equal", "logical_and": "logical_and",
            "logical_or": "logical_or", "logical_xor": "logical_xor", "bitwise_and": "bitwise_and",
            "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "bitwise_left_shift": "left_shift",
            "bitwise_right_shift": "right_shift"}
_COMPARE_FUNCS = {name: _compare(name, op) for name, op in _COMPARE.items()}
globals().update(_COMPARE_FUNCS)


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    a, b = _t(input, "equal"), _t(other, "equal", 2, "other")
    return a.shape == b.shape and _bool(numpy.array_equal(to_host(a._data), to_host(b._data)))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    a, b = _t(input, "isclose"), _t(other, "isclose", 2, "other")
    return Tensor._make(numpy.isclose(to_host(a._data), to_host(b._data), rtol=rtol, atol=atol,
                                      equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return _bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


# ----------------------------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------------------------

def _int_result(x: Tensor, dtype: Any) -> Any:
    """The dtype to accumulate in: the requested one, or int64 for bool and integer tensors."""
    if dtype is not None:
        return to_numpy_dtype(dtype)
    return _I64 if x._data.dtype.kind in "biu" else None


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, out: Any = None) -> Tensor:
    """Sum over ``dim`` (all elements by default); bool and integer tensors sum to int64."""
    x = _t(input, "sum")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.sum(x, axis=_dim(dim, axis), dtype=dt, keepdims=_kd(keepdim, keepdims))


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """Sum treating NaN as zero."""
    x = _t(input, "nansum")
    return sum(OPS.where(OPS.isnan(x), 0.0, x), dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
         keepdims: bool | None = None, out: Any = None) -> Tensor:
    """Mean over ``dim`` (all elements by default); floating and complex tensors only."""
    x = _t(input, "mean")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    if not _is_float(x):
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_kind(x)}")
    return OPS.mean(x, axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Product over ``dim`` (all elements by default); bool and integer tensors give int64."""
    x = _t(input, "prod")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.prod(x, axis=_dim(dim, axis), dtype=dt, keepdims=_kd(keepdim, keepdims))


def _correction(unbiased: Any, correction: Any, ddof: Any) -> Any:
    if correction is not None:
        return correction
    if ddof is not None:
        return ddof
    return 0 if unbiased is False else 1


def _var_like(name: str, input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, axis: Any,
              keepdims: Any, ddof: Any) -> Tensor:
    x = _t(input, name)
    if isinstance(dim, _bool):  # the legacy form std(unbiased)
        dim, unbiased = None, dim
    if not _is_float(x):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    op = OPS.std if name == "std" else OPS.var
    return op(x, axis=_dim(dim, axis), ddof=_correction(unbiased, correction, ddof), keepdims=_kd(keepdim, keepdims))


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        axis: Any = None, keepdims: bool | None = None, ddof: Any = None) -> Tensor:
    """Variance over ``dim``; unbiased (``correction=1``) by default, as in PyTorch."""
    return _var_like("var", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        axis: Any = None, keepdims: bool | None = None, ddof: Any = None) -> Tensor:
    """Standard deviation over ``dim``; unbiased (``correction=1``) by default, as in PyTorch."""
    return _var_like("std", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    return (var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    return (std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """The vector ``p``-norm of all elements (or over ``dim``); ``'fro'`` and ``'nuc'`` over two dims."""
    x = _t(input, "norm")
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_kind(x)}")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    d, kd = _dim(dim, axis), _kd(keepdim, keepdims)
    if p == "nuc" or (p == "fro" and isinstance(d, tuple) and len(d) == 2):
        return OPS.norm(x, p, d, kd)
    ordp = None if p in ("fro", 2, 2.0, None) else p
    if d is None:
        d = tuple(range(x.ndim))
    if isinstance(d, tuple) and len(d) == 1:
        d = d[0]
    if isinstance(d, tuple):  # a vector norm over several dimensions: merge them into one
        nd = x.ndim
        d = tuple(sorted(_norm_dim(a, nd) for a in d))
        if not d:
            return OPS.abs(x)
        # views linked to x (movedim, reshape), so that the norm's saved input watches x's version counter
        moved = movedim(x, d, tuple(range(nd - len(d), nd)))
        flat = reshape(moved, tuple(moved.shape[:nd - len(d)]) + (-1,))
        res = OPS.norm(flat, ordp, -1, False)
        if kd:
            res = OPS.reshape(res, tuple(1 if i in d else n for i, n in enumerate(x.shape)))
        return res
    if x.ndim == 0:
        return OPS.abs(x)
    return OPS.norm(x, ordp, d, kd)


def dist(input: Tensor, other: Tensor, p: Any = 2) -> Tensor:
    """``norm(input - other, p)``."""
    return norm(OPS.subtract(_t(input, "dist"), other), p)


def _extremum(name: str, input: Tensor, dim: Any, keepdim: bool, axis: Any, keepdims: Any) -> Any:
    x = _t(input, name)
    if isinstance(dim, Array):  # torch.max(x, y): the elementwise form
        return (OPS.maximum if name == "max" else OPS.minimum)(x, dim)
    d = _dim(dim, axis)
    if d is None:
        if x._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                               "the reduction dim with the 'dim' argument.")
        return (OPS.max if name == "max" else OPS.min)(x)
    if isinstance(d, tuple):
        raise TypeError(f"{name}() received an invalid combination of arguments: dim must be an int, got {dim!r}")
    d = _norm_dim(d, x.ndim)
    kd = _kd(keepdim, keepdims)
    if x.ndim == 0:
        return (_MAX if name == "max" else _MIN)(x, Tensor._make(numpy.array(0, dtype=_I64)))
    values = (OPS.max if name == "max" else OPS.min)(x, axis=d, keepdims=kd)
    indices = _cast((OPS.argmax if name == "max" else OPS.argmin)(x, axis=d, keepdims=kd), _I64)
    return (_MAX if name == "max" else _MIN)(values, indices)


def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, other: Any = None) -> Any:
    """The largest element; ``max(dim)`` returns ``(values, indices)``; ``max(x, y)`` is elementwise."""
    return _extremum("max", input, other if other is not None else dim, keepdim, axis, keepdims)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, other: Any = None) -> Any:
    """The smallest element; ``min(dim)`` returns ``(values, indices)``; ``min(x, y)`` is elementwise."""
    return _extremum("min", input, other if other is not None else dim, keepdim, axis, keepdims)


def amax(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """The maximum over ``dim`` (all dims when empty); ties share the gradient."""
    d = _dim(None if dim == () else dim, axis)
    return OPS.amax(_t(input, "amax"), axis=None if d == () else d, keepdims=_kd(keepdim, keepdims))


def amin(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """The minimum over ``dim`` (all dims when empty); ties share the gradient."""
    d = _dim(None if dim == () else dim, axis)
    return OPS.amin(_t(input, "amin"), axis=None if d == () else d, keepdims=_kd(keepdim, keepdims))


def _arg(name: str, input: Tensor, dim: Any, keepdim: bool, axis: Any, keepdims: Any) -> Tensor:
    x = _t(input, name)
    d = _dim(dim, axis)
    if d is None and x._data.size == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
    kd = _kd(keepdim, keepdims)
    op = OPS.argmax if name == "argmax" else OPS.argmin
    if d is None and kd:  # PyTorch keeps every dimension as size 1
        return _cast(OPS.reshape(op(x), (1,) * x.ndim), _I64)
    return _cast(op(x, axis=d, keepdims=kd), _I64)


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the largest element (flat without ``dim``), int64."""
    return _arg("argmax", input, dim, keepdim, axis, keepdims)


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the smallest element (flat without ``dim``), int64."""
    return _arg("argmin", input, dim, keepdim, axis, keepdims)


def all(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None) -> Tensor:
    """Whether every element is nonzero (over ``dim``), as a bool tensor."""
    return OPS.all(_t(input, "all"), axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def any(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None) -> Tensor:
    """Whether some element is nonzero (over ``dim``), as a bool tensor."""
    return OPS.any(_t(input, "any"), axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    x = _t(input, "count_nonzero")
    return Tensor._make(numpy.asarray(numpy.count_nonzero(to_host(x._data), axis=_dim(dim)), dtype=_I64))


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, computed stably."""
    return OPS.logsumexp(_t(input, "logsumexp"), axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def cumsum(input: Tensor, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """Running sum along ``dim``; bool and integer tensors give int64."""
    x = _t(input, "cumsum")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.cumsum(x, axis=_norm_dim(_dim(dim, axis), x.ndim), dtype=dt)


def cumprod(input: Tensor, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """Running product along ``dim``; bool and integer tensors give int64."""
    x = _t(input, "cumprod")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.cumprod(x, axis=_norm_dim(_dim(dim, axis), x.ndim), dtype=dt)


def softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, axis: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    x = _t(input, "softmax")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    d = _dim(dim, axis)
    return OPS.softmax(x, axis=-1 if d is None else d)


def log_softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, axis: Any = None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably."""
    x = _t(input, "log_softmax")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    d = _dim(dim, axis)
    return OPS.log_softmax(x, axis=-1 if d is None else d)


def _sorted_indices(x: Tensor, dim: int, descending: bool) -> numpy.ndarray:
    a = to_host(x._data)
    if descending:  # stable descending order: equal elements keep their input order
        idx = numpy.flip(numpy.argsort(numpy.flip(a, dim), axis=dim, kind="stable"), dim)
        idx = a.shape[dim] - 1 - idx
    else:
        idx = numpy.argsort(a, axis=dim, kind="stable")
    return idx.astype(_I64)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64)."""
    x = _t(input, "argsort")
    if x.ndim == 0:
        return Tensor._make(numpy.array(0, dtype=_I64))
    return Tensor._make(_sorted_indices(x, _norm_dim(dim, x.ndim), descending))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """``(values, indices)`` sorted along ``dim``; values are differentiable."""
    x = _t(input, "sort")
    if x.ndim == 0:
        return _SORT(x, Tensor._make(numpy.array(0, dtype=_I64)))
    idx = argsort(x, dim, descending)
    return _SORT(OPS.gather(x, idx, axis=_norm_dim(dim, x.ndim)), idx)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    """The ``k`` largest (or smallest) ``(values, indices)`` along ``dim``."""
    x = _t(input, "topk")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if x.ndim == 0:
        return _TOPK(x, Tensor._make(numpy.array(0, dtype=_I64)))
    idx = _sorted_indices(x, d, largest)
    idx = Tensor._make(numpy.ascontiguousarray(numpy.take(idx, numpy.arange(k), axis=d)))
    return _TOPK(OPS.gather(x, idx, axis=d), idx)


def _nth(x: Tensor, d: int, k: int, keepdim: bool, cls: type) -> Any:
    idx = numpy.take(_sorted_indices(x, d, False), [k], axis=d)
    it = Tensor._make(idx)
    values = OPS.gather(x, it, axis=d)
    if not keepdim:
        values = OPS.squeeze(values, axis=d)
        it = Tensor._make(numpy.squeeze(idx, d))
    return cls(values, it)


def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median of all elements, or ``(values, indices)`` along ``dim``."""
    x = _t(input, "median")
    if dim is None:
        flat = OPS.reshape(x, (-1,))
        return OPS.squeeze(_nth(flat, 0, (flat.shape[0] - 1) // 2, True, _MEDIAN).values, axis=0)
    d = _norm_dim(_int(dim), x.ndim)
    return _nth(x, d, (x.shape[d] - 1) // 2, keepdim, _MEDIAN)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest ``(values, indices)`` along ``dim`` (``k`` counts from 1)."""
    x = _t(input, "kthvalue")
    d = _norm_dim(dim, x.ndim)
    return _nth(x, d, k - 1, keepdim, _KTH)


# ----------------------------------------------------------------------------------------------
# linear algebra
# ----------------------------------------------------------------------------------------------

def _same_dtype(a: Tensor, b: Tensor) -> None:
    """mm's dtype check (also matmul's where it takes mm's path)."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_ctype(a)} != {_ctype(b)}")


def _mm_check(sa: tuple, sb: tuple, a: Tensor, b: Tensor) -> None:
    """mm's checks on the matrices of shapes ``sa`` and ``sb`` (matmul passes folded shapes)."""
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")
    _same_dtype(a, b)


def _mv_check(sa: tuple, a: Tensor, v: Tensor) -> None:
    """mv's checks on a matrix of shape ``sa`` and vector ``v`` (matmul passes a folded shape)."""
    if sa[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({sa[0]}), mat ({sa[0]}x{sa[1]}), vec ({v.shape[0]})")
    if a._data.dtype != v._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_kind(v)}, {_kind(a)}, "
                           f"and {_kind(v)}")


def _bmm_check(batch: int, k: int, b_first_two: tuple, a: Tensor, b: Tensor) -> None:
    """bmm's checks: ``batch`` and ``k`` (the inner size) of the first operand against the second's
    first two sizes (matmul passes flattened batch sizes)."""
    if tuple(b_first_two) != (batch, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k}] but got: "
                           f"[{b_first_two[0]}, {b_first_two[1]}].")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_kind(a)} but found {_kind(b)}")


def _broadcast_batch(ba: tuple, bb: tuple) -> tuple:
    """PyTorch's broadcast of two batch shapes (its error names the last dimension that clashes)."""
    n = builtins.max(len(ba), len(bb))
    ba, bb = (1,) * (n - len(ba)) + tuple(ba), (1,) * (n - len(bb)) + tuple(bb)
    for i in range(n - 1, -1, -1):
        if ba[i] != bb[i] and ba[i] != 1 and bb[i] != 1:
            raise RuntimeError(f"The size of tensor a ({ba[i]}) must match the size of tensor b ({bb[i]}) at "
                               f"non-singleton dimension {i}")
    return tuple(builtins.max(x, y) for x, y in zip(ba, bb))


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy's rules (1-D operands, broadcast batches); shapes and dtypes are
    checked as PyTorch does, by the product it dispatches to (dot, mv, mm, or bmm on folded shapes)."""
    if input.__class__ is Tensor and other.__class__ is Tensor:  # two matrices that fit: nothing to check
        sa, sb = input._data.shape, other._data.shape
        if len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0] and input._data.dtype is other._data.dtype:
            return OPS.matmul(input, other)
    a, b = _t(input, "matmul"), _t(other, "matmul", 2, "other")
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        return dot(a, b)
    if da >= 2 and db == 1:  # mv, with a's leading axes folded into its rows
        _mv_check((int(numpy.prod(a.shape[:-1])), a.shape[-1]), a, b)
    elif da == 1 and db == 2:
        _mm_check((1, a.shape[0]), b.shape, a, b)
    elif db == 2:  # mm, with a's leading axes folded into its rows
        _mm_check((int(numpy.prod(a.shape[:-1])), a.shape[-1]), b.shape, a, b)
    else:  # bmm over the broadcast batch axes
        sa = a.shape if da >= 2 else (1,) + a.shape
        batch = _broadcast_batch(sa[:-2], b.shape[:-2])
        n = int(numpy.prod(batch))
        _bmm_check(n, sa[-1], (n, b.shape[-2]), a, b)
    return OPS.matmul(a, b)


def _matmul_method(self: Tensor, other: Any) -> Tensor:
    """``a @ b``: torch.matmul, with its checks, for two tensors."""
    return matmul(self, other) if isinstance(other, Tensor) else OPS.matmul(self, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only)."""
    a, b = _t(input, "mm"), _t(mat2, "mm", 2, "mat2")
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _mm_check(a.shape, b.shape, a, b)
    return OPS.matmul(a, b)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Product of a matrix and a vector."""
    a, v = _t(input, "mv"), _t(vec, "mv", 2, "vec")
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    _mv_check(a.shape, a, v)
    return OPS.matmul(a, v)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size."""
    a, b = _t(input, "bmm"), _t(mat2, "bmm", 2, "mat2")
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _bmm_check(a.shape[0], a.shape[2], b.shape[:2], a, b)
    return OPS.matmul(a, b)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of one dtype."""
    a, b = _t(input, "dot"), _t(other, "dot", 2, "tensor")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_kind(a)} and {_kind(b)}")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                           f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively")
    return OPS.dot(a, b)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with the first argument conjugated."""
    dot(input, other)  # PyTorch's checks
    return OPS.vdot(input, other)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum product over the last dimensions."""
    return OPS.inner(_t(input, "inner"), _t(other, "inner", 2, "other"))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors."""
    a, b = _t(input, "outer"), _t(vec2, "outer", 2, "vec2")
    for name, v in (("self", a), ("vec2", b)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return OPS.outer(a, b)


ger = outer


def addmm(input: Any, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    prod_ = _scaled(mm(mat1, mat2), alpha)
    return OPS.add(_scaled(_scalar_or(input), beta), prod_)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contraction over ``dims`` (an int, or two lists of dimensions)."""
    if isinstance(dims, Array):
        dims = dims.tolist()
    if isinstance(dims, (list, tuple)):
        dims = tuple(tuple(d) if isinstance(d, (list, tuple)) else d for d in dims)
    return OPS.tensordot(_t(a, "tensordot"), _t(b, "tensordot", 2, "b"), axes=dims)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation: ``einsum('ij,jk->ik', a, b)`` or ``einsum('ij,jk->ik', [a, b])``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _einsum(equation, *operands)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    x = _t(input, "trace")
    if x.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(x.ndim))
    return OPS.trace(x)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A matrix with ``input`` on a diagonal (1-D), or a diagonal of a matrix (2-D)."""
    return OPS.diag(_t(input, "diag"), diagonal)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal: a view of ``input``, as in PyTorch (an in-place write through it reaches ``input``)."""
    x = _t(input, "diagonal")
    res = OPS.diagonal(x, offset, dim1, dim2)
    view = x._data.diagonal(offset, dim1, dim2)  # the same values, in ``input``'s memory
    if hasattr(view.flags, "writeable"):  # NumPy hands its diagonal out read-only
        view.flags.writeable = x._data.flags.writeable
    res._data = view  # (the op is linear: its node keeps no buffer of its output)
    return res


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return OPS.tril(_t(input, "tril"), diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return OPS.triu(_t(input, "triu"), diagonal)


# ----------------------------------------------------------------------------------------------
# shape functions
# ----------------------------------------------------------------------------------------------

def _check_numel(x: Tensor, shape: tuple) -> tuple:
    """``shape`` with its -1 resolved, or PyTorch's error."""
    n = x._data.size
    known = 1
    free = [i for i, s in enumerate(shape) if s == -1]
    if len(free) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if free:
        if known == 0 or n % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    elif known != n:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return shape


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The elements in a new shape (one dimension may be -1)."""
    x = _t(input, "reshape")
    shp = _check_numel(x, _shape_args(shape))
    return OPS.reshape(x, shp)


def _view(self: Tensor, *shape: Any) -> Tensor:
    """``reshape`` (tensors here are always laid out so that a view is possible); ``view(dtype)`` reinterprets."""
    if len(shape) == 1 and (isinstance(shape[0], _TorchDtype) or shape[0] in (_float, _int, _bool)):
        dt = to_numpy_dtype(shape[0])
        return Tensor._make(numpy.ascontiguousarray(self._data).view(dt))
    return reshape(self, *shape)


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, tuple(other.shape))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dimensions ``start_dim..end_dim`` merged into one."""
    x = _t(input, "flatten")
    if x.ndim == 0:
        return OPS.reshape(x, (1,))
    s, e = _norm_dim(start_dim, x.ndim), _norm_dim(end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return x
    shp = x.shape
    return OPS.reshape(x, tuple(shp[:s]) + (-1 if 0 not in shp[s:e + 1] else 0,) + tuple(shp[e + 1:]))


def unflatten(input: Tensor, dim: int, sizes: Any) -> Tensor:
    """Dimension ``dim`` split into ``sizes``."""
    x = _t(input, "unflatten")
    d = _norm_dim(dim, x.ndim)
    return reshape(x, tuple(x.shape[:d]) + tuple(sizes) + tuple(x.shape[d + 1:]))


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Size-1 dimensions removed (only ``dim`` when given; a ``dim`` of another size is kept)."""
    x = _t(input, "squeeze")
    if dim is None:
        return OPS.squeeze(x)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    keep = tuple(d for d in (_norm_dim(_int(a), x.ndim) for a in dims) if x.ndim and x.shape[d] == 1)
    return OPS.squeeze(x, axis=keep)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A size-1 dimension inserted at ``dim``."""
    x = _t(input, "unsqueeze")
    n = x.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return OPS.expand_dims(x, dim % n)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Dimensions ``dim0`` and ``dim1`` swapped."""
    x = _t(input, "transpose")
    if x.ndim == 0:
        return x
    return OPS.swapaxes(x, _norm_dim(dim0, x.ndim), _norm_dim(dim1, x.ndim))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix (a tensor of at most 2 dimensions)."""
    x = _t(input, "t")
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return OPS.t(x)


def _mT(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return OPS.swapaxes(self, -2, -1)


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Dimensions reordered: ``x.permute(2, 0, 1)``."""
    x = _t(input, "permute")
    d = _shape_args(dims)
    if len(d) != x.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal "
                           f"to len(dims) = {len(d)}")
    norm = tuple(_norm_dim(a, x.ndim) for a in d)
    if len(set(norm)) != len(norm):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return OPS.transpose(x, norm)


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    return OPS.moveaxis(_t(input, "movedim"), source, destination)


moveaxis = movedim


def _expand(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor broadcast to ``sizes`` (-1 keeps a dimension; new dimensions go in front), no copy."""
    target = _shape_args(sizes)
    shp = tuple(self.shape)
    if len(target) < len(shp):
        raise RuntimeError(f"expand({self.type()}{{{list(shp)}}}, size={list(target)}): the number of sizes "
                           f"provided ({len(target)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(shp)})")
    lead = len(target) - len(shp)
    out = []
    for i, s in enumerate(target):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   "non-existing dimension 0")
            out.append(s)
            continue
        cur = shp[i - lead]
        if s == -1:
            s = cur
        elif cur != s and cur != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(target)}.  Tensor sizes: "
                               f"{list(shp)}")
        out.append(s)
    return OPS.broadcast_to(self, tuple(out))


def _expand_as(self: Tensor, other: Tensor) -> Tensor:
    return _expand(self, tuple(other.shape))


def broadcast_to(input: Tensor, size: Any) -> Tensor:
    return _expand(_t(input, "broadcast_to"), tuple(size))


def broadcast_tensors(*tensors: Tensor) -> tuple:
    shape = numpy.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(_expand(t, shape) for t in tensors)


def _repeat(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor tiled ``sizes`` times along each dimension (PyTorch's ``repeat`` is NumPy's ``tile``)."""
    reps = _shape_args(sizes)
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    return OPS.tile(self, reps)


def tile(input: Tensor, dims: Any) -> Tensor:
    x = _t(input, "tile")
    reps = tuple(dims)
    return OPS.tile(x, (1,) * (x.ndim - len(reps)) + reps)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times (along ``dim``, or of the flattened tensor)."""
    x = _t(input, "repeat_interleave")
    if repeats is None:  # repeat_interleave(counts): the indices 0, 0, 1, 2, 2, 2...
        counts = to_host(x._data)
        return Tensor._make(numpy.repeat(numpy.arange(counts.size, dtype=_I64), counts))
    reps = to_host(repeats._data) if isinstance(repeats, Array) else repeats
    if dim is None:
        return OPS.repeat(OPS.reshape(x, (-1,)), reps, axis=0)
    return OPS.repeat(x, reps, axis=_norm_dim(dim, x.ndim))


def flip(input: Tensor, dims: Any) -> Tensor:
    """The elements in reverse order along ``dims``: a copy, as in PyTorch (NumPy's flip is a view)."""
    x = _t(input, "flip")
    d = (dims,) if isinstance(dims, _int) else tuple(dims)
    res = OPS.flip(x, axis=d)
    res._data = res._data.copy()  # (the op is linear: its node keeps no buffer of its output)
    return res


def fliplr(input: Tensor) -> Tensor:
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    return flip(input, (0,))


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Elements shifted cyclically along ``dims`` (of the flattened tensor without ``dims``)."""
    x = _t(input, "roll")
    if dims is None:
        flat = OPS.reshape(x, (-1,))
        n = flat.shape[0]
        idx = (numpy.arange(n) - _int(shifts)) % _max(n, 1)
        return OPS.reshape(OPS.getitem(flat, idx), tuple(x.shape))
    shifts = (shifts,) if isinstance(shifts, _int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, _int) else tuple(dims)
    out = x
    for s, d in zip(shifts, dims):
        d = _norm_dim(d, x.ndim)
        n = x.shape[d]
        idx = (numpy.arange(n) - s) % _max(n, 1)
        out = OPS.getitem(out, (slice(None),) * d + (idx,))
    return out


def _contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    return self


def _is_contiguous(self: Tensor, memory_format: Any = None) -> bool:
    return _bool(getattr(self._data.flags, "c_contiguous", True))


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy in new memory that stays on the graph (gradients flow back to ``input``)."""
    return OPS.clone(_t(input, "clone"))


def _seq_of_tensors(tensors: Any, fname: str) -> list:
    if isinstance(tensors, Array) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fname}() received an invalid combination of arguments - got ({type(tensors).__name__}), "
                        "but expected (tuple of Tensors tensors, int dim)")
    if not tensors:
        raise RuntimeError(f"{fname}() expects a non-empty TensorList")
    for i, t in enumerate(tensors):  # PyTorch takes no numbers or lists here (nor reads them as constants)
        if not isinstance(t, Array):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return list(tensors)


def cat(tensors: Any, dim: int = 0, *, axis: Any = None, out: Any = None) -> Tensor:
    """Tensors joined along an existing dimension."""
    ts = _seq_of_tensors(tensors, "cat")
    d = _dim(dim if axis is None else axis)
    nd = ts[0].ndim
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    for i, t in enumerate(ts):
        if t.ndim != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {t.ndim}")
    d = _norm_dim(d, nd)
    for i, t in enumerate(ts[1:], 1):
        for k in range(nd):
            if k != d and t.shape[k] != ts[0].shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ts[0].shape[k]} but got size {t.shape[k]} for tensor number {i} in the list.")
    return OPS.concatenate(ts, axis=d)


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0, *, axis: Any = None, out: Any = None) -> Tensor:
    """Tensors of one shape joined along a new dimension."""
    ts = _seq_of_tensors(tensors, "stack")
    for i, t in enumerate(ts[1:], 1):
        if tuple(t.shape) != tuple(ts[0].shape):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {i}")
    d = _dim(dim if axis is None else axis)
    n = ts[0].ndim + 1
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return OPS.stack(ts, axis=d % n)


def hstack(tensors: Any) -> Tensor:
    return OPS.hstack(_seq_of_tensors(tensors, "hstack"))


def vstack(tensors: Any) -> Tensor:
    return OPS.vstack(_seq_of_tensors(tensors, "vstack"))


def _slice_along(x: Tensor, d: int, start: int, stop: int) -> Tensor:
    return OPS.getitem(x, (slice(None),) * d + (slice(start, stop),))


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the listed sizes."""
    x = _t(tensor, "split", argname="tensor")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_int(s) for s in split_size_or_sections]
        if _sum(sizes) != n or _any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {d}), but got split_sizes={sizes}")
    else:
        size = _int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
    out, start = [], 0
    for s in sizes:
        out.append(_slice_along(x, d, start, start + s))
        start += s
    return tuple(out)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """NumPy's ``array_split``: ``n`` nearly equal pieces, or pieces cut at the given indices."""
    x = _t(input, "tensor_split")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, _int):
        k = indices_or_sections
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        cuts = list(numpy.cumsum([0] + sizes))
    else:
        cuts = [0] + [_min(_max(_int(i), 0), n) for i in indices_or_sections] + [n]
    return tuple(_slice_along(x, d, cuts[i], _max(cuts[i], cuts[i + 1])) for i in range(len(cuts) - 1))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of ``ceil(size / chunks)`` along ``dim``."""
    x = _t(input, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[_norm_dim(dim, x.ndim)]
    return split(x, _max(-(-n // chunks), 1) if n else 0, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that dimension removed."""
    x = _t(input, "unbind")
    d = _norm_dim(dim, x.ndim)
    return tuple(OPS.getitem(x, (slice(None),) * d + (i, ...)) for i in range(x.shape[d]))  # views, also 0-d


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    x = _t(input, "narrow")
    d = _norm_dim(dim, x.ndim)
    start = _int(start) % x.shape[d] if _int(start) < 0 else _int(start)
    if start + length > x.shape[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({x.shape[d]}).")
    return _slice_along(x, d, start, start + length)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    x = _t(input, "select")
    d = _norm_dim(dim, x.ndim)
    return OPS.getitem(x, (slice(None),) * d + (_int(index), ...))  # a view, also when 0-d


# ----------------------------------------------------------------------------------------------
# indexing functions
# ----------------------------------------------------------------------------------------------

def _index_tensor(index: Any, fname: str) -> Tensor:
    if not isinstance(index, Array):
        raise TypeError(f"{fname}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != _I64:
        raise RuntimeError(f"{fname}(): Expected dtype int64 for index")
    return index


def _check_bounds(idx: numpy.ndarray, n: int, d: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {n}")


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` (``dim=0``): values picked along ``dim``; differentiable."""
    x = _t(input, "gather")
    idx = _index_tensor(index, "gather")
    if idx.ndim != x.ndim and not (x.ndim == 0 and idx.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if x.ndim == 0:
        return OPS.reshape(x, tuple(idx.shape))
    d = _norm_dim(dim, x.ndim)
    for k in range(x.ndim):
        if k != d and idx.shape[k] > x.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(idx.shape)} to be no "
                               f"larger than self {list(x.shape)} apart from dimension {d}")
    _check_bounds(to_host(idx._data), x.shape[d], d)
    return OPS.gather(x, idx, axis=d)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """NumPy's ``take_along_axis`` (``dim=None``: of the flattened tensor)."""
    x = _t(input, "take_along_dim")
    idx = _index_tensor(indices, "take_along_dim")
    return OPS.take_along_axis(x, idx, axis=None if dim is None else _norm_dim(dim, x.ndim))


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries ``index`` (a 1-D or 0-d int tensor) along ``dim``."""
    x = _t(input, "index_select")
    if not isinstance(index, Array) or index._data.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    _check_bounds(to_host(index._data).reshape(-1), n, d)
    if x.ndim == 0:
        return OPS.reshape(x, (1,) * index.ndim) if index.ndim else x
    return OPS.index_select(x, index, axis=d)


def _check_mask(mask: Any, fname: str) -> Tensor:
    if not isinstance(mask, Array) or mask._data.dtype.kind != "b":
        got = _ctype(mask) if isinstance(mask, Array) else type(mask).__name__
        raise RuntimeError(f"{fname} only supports boolean masks, but got mask with dtype {got}")
    return mask


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True (a 0-d tensor ``value`` is differentiable too)."""
    x = _t(input, "masked_fill")
    _check_mask(mask, "masked_fill_")
    if isinstance(value, Array):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
    elif isinstance(value, numpy.generic):
        value = value.item()
    return OPS.masked_fill(x, mask, value)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where ``mask`` is True, as a 1-D tensor."""
    x = _t(input, "masked_select")
    _check_mask(mask, "masked_select:")
    shape = numpy.broadcast_shapes(tuple(x.shape), tuple(mask.shape))
    if tuple(x.shape) != shape:
        x = OPS.broadcast_to(x, shape)
    m = numpy.broadcast_to(to_host(mask._data), shape)
    return OPS.getitem(x, m)


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor or a number) written at ``index`` along ``dim``."""
    x = _t(input, "scatter")
    idx = _index_tensor(index, "scatter")
    if reduce is not None:
        raise NotImplementedError("tapegrad.torch: scatter(reduce=...) is not supported; use scatter_add")
    s = value if src is None else src
    if s is None:
        raise TypeError("scatter() missing the 'src' or 'value' argument")
    if idx.ndim != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    d = _norm_dim(dim, x.ndim)
    _check_bounds(to_host(idx._data), x.shape[d], d)
    return OPS.scatter(x, idx, _scalar_or(s) if not isinstance(s, (_int, _float, _bool)) else s, axis=d)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, ``other`` elsewhere; ``where(condition)`` is ``nonzero(as_tuple=True)``."""
    if not isinstance(condition, Array):
        raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not {type(condition).__name__}")
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition._data.dtype.kind != "b":
        if condition._data.dtype == numpy.uint8:
            condition = _cast(condition, numpy.dtype(numpy.bool_))
        else:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{_kind(condition)}")
    return OPS.where(condition, _scalar_or(input), _scalar_or(other))


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the nonzero elements: an ``(n, ndim)`` int64 tensor, or one 1-D tensor per dimension."""
    a = to_host(_t(input, "nonzero")._data)
    if as_tuple:
        if a.ndim == 0:
            return (Tensor._make(numpy.zeros(_int(a != 0), dtype=_I64)),)
        return tuple(Tensor._make(i.astype(_I64)) for i in numpy.nonzero(a))
    return Tensor._make(numpy.argwhere(a).astype(_I64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors; ``indexing='ij'`` (the default, with PyTorch's warning) or ``'xy'``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("torch.meshgrid expects a non-empty TensorList")
    for t_ in tensors:
        if _t(t_, "meshgrid", argname="tensors").ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t_!r}")
    n = len(tensors)
    swap = indexing == "xy" and n >= 2
    sizes = [_int(t_._data.size) for t_ in tensors]
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t_ in enumerate(tensors):
        pos = (1 - i) if swap and i < 2 else i
        s = [1] * n
        s[pos] = -1
        out.append(OPS.broadcast_to(OPS.reshape(t_, tuple(s)), tuple(sizes)))
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# in-place methods
# ----------------------------------------------------------------------------------------------

_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.")


def _taped(v: Any) -> bool:
    return isinstance(v, Array) and v._node is not None


# -- PyTorch's result type and casting rule (c10's promoteTypes, combine_categories, canCast) ------------

_default_float = _dtypes.default_float
_result_type = _dtypes.result_type_of


def _can_cast(frm: numpy.dtype, to: numpy.dtype) -> bool:
    """PyTorch's ``canCast``: no complex to real, no floating to integer or bool, nothing but bool to bool."""
    k, t = frm.kind, to.kind
    return not ((k == "c" and t != "c") or (k == "f" and t in "biu") or (k != "b" and t == "b"))


def _check_cast(self: Tensor, rt: numpy.dtype, ctype: bool = False) -> None:
    if not _can_cast(rt, self._data.dtype):
        raise RuntimeError(f"result type {_kind(rt)} can't be cast to the desired output type "
                           f"{_ctype(self) if ctype else _kind(self)}")


# -- the one in-place path ---------------------------------------------------------------------------

def _inplace(self: Tensor, fn: Callable, *inputs: Any, check: bool = True, saves_result: bool = False) -> Tensor:
    """Replace ``self``'s values by ``fn(self)`` (computed with registry ops) in place; returns ``self``.

    ``check``: the result's dtype must cast to ``self``'s by PyTorch's rule (an integer tensor takes no
    float result); callers that checked PyTorch's result type of the update beforehand, or whose op
    casts silently (``fill_``, ``copy_``...), pass False. ``saves_result``: PyTorch's rule for the update
    reads its result (``exp_``), so a later write to ``self`` fails its backward. The result is written
    into ``self``'s memory,
    so its views and detached copies see it, and the version counter they share moves on. Grad mode on
    and ``self``, its base or an input on the tape: the update is recorded, ``self``'s history ends in
    it, and the histories of the tensor it is a view of and of that tensor's other views are recomputed
    to match (what PyTorch's CopySlices does).
    """
    self._check_inplace()
    buf = self._data
    base = self._base_t
    if GRAD_ENABLED.get() and (_taped(self) or _taped(base) or _any_traced(inputs)):
        # compute from a copy: the recorded update may keep the old values, which the write replaces
        old = Tensor._make(buf.copy(), self._node, self._idx)
        res = _fit(self, fn(old), check)
        _writable(buf)
        if base is None:
            buf[...] = res._data
            self._set_history(res._node, res._idx)
            _replay_views(self)
        else:
            new_base = _scatter_view(base, self, res)
            buf[...] = res._data
            base._set_history(new_base._node, new_base._idx)
            _replay_views(base)
        self._bump()
        if saves_result:
            _watch_result(res, self)
        return self
    res = _fit(self, fn(self), check)
    _writable(buf)
    buf[...] = res._data
    self._bump()
    return self


def _watch_result(res: Tensor, self: Tensor) -> None:
    """The recorded update's rule reads its result ``res``, which ``self`` now holds: its version check
    watches that memory (through a detached copy the node keeps, so also once ``self`` is gone), and a
    later write to it is refused as in PyTorch. (The node reads its own copy, so this only mirrors
    PyTorch's refusal; it does not guard a value.)"""
    node = res._node
    if node is not None and node.vcheck is not None:
        watcher = self.detach()
        node.vcheck = [((lambda w=watcher: w), self._version, w) if w[0] == "o" and r() is res else (r, v, w)
                       for r, v, w in node.vcheck]


def _writable(buf: Any) -> None:
    if not getattr(buf.flags, "writeable", True):
        raise RuntimeError(_OVERLAP)


def _replay_views(base: Tensor) -> None:
    """After a recorded in-place update of ``base``: each live view of it takes the history of its view
    function applied to ``base`` now (its values, in the same memory, are already right)."""
    g = base._storage
    if g is None or base._node is None:
        return
    for v in g.live():
        if v._base_t is base:
            new = v._view_fn(base)
            v._set_history(new._node, new._idx)
            if new._node is not None:
                new._node.torch_name = "AsStridedBackward0"  # PyTorch's name for a recomputed view


def _scatter_view(base: Tensor, view: Tensor, res: Tensor) -> Tensor:
    """``base`` with the elements that ``view`` shows replaced by ``res``, recorded (PyTorch's CopySlices):
    the positions come from the view function applied to the positions of ``base`` (any view op, one rule)."""
    if view._data.dtype != base._data.dtype:
        raise RuntimeError("tapegrad cannot record an in-place operation on a view of another dtype (.real, .imag, "
                           "view(dtype)) of a tensor that requires grad; compute a new tensor instead (torch.complex, "
                           "torch.where)")
    pos = view._view_fn(Tensor._make(numpy.arange(base._data.size).reshape(base._data.shape)))
    key = tuple(numpy.unravel_index(numpy.asarray(to_host(pos._data)).reshape(-1), base._data.shape))
    dev = device_of(base._data)
    if dev.device_type == "gpu":
        key = tuple(to_device(k, dev) for k in key)
    old = Tensor._make(base._data.copy(), base._node, base._idx)
    return OPS.setitem(old, OPS.reshape(res, (-1,)), key)  # PyTorch's CopySlices


def _fit(self: Tensor, res: Any, check: bool) -> Tensor:
    """The result of an in-place op checked against ``self`` (shape; its dtype castable, when ``check``)
    and cast to ``self``'s dtype."""
    if not isinstance(res, Array):
        res = Tensor._make(numpy.asarray(res, dtype=self._data.dtype))
    if res._data.shape != self._data.shape:
        try:
            shape = numpy.broadcast_shapes(res._data.shape, self._data.shape)
        except ValueError:
            shape = res._data.shape
        if shape == self._data.shape:
            res = OPS.broadcast_to(res, shape)
        else:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(shape)}")
    rd, sd = res._data.dtype, self._data.dtype
    if rd != sd:
        if check:
            _check_cast(self, rd)
        res = _cast(res, sd)
    return res


def _const_like(self: Tensor, values: Any) -> Callable:
    """An update whose result does not depend on the old values (no gradient flows to them)."""
    def fn(t: Tensor) -> Tensor:
        keep = Tensor._make(numpy.zeros(tuple(t.shape), dtype=numpy.bool_))
        v = values() if callable(values) else values
        return OPS.where(keep, t, v)
    return fn


#: PyTorch kernels that lack some dtype kinds of their result type: op -> (kernel, kinds it lacks).
_NO_KERNEL = {"floor_divide": ("div_floor", "bc"), "trunc_divide": ("div_trunc", "bc"),
              "remainder": ("remainder", "bc"),
              "fmod": ("fmod", "bc"), "atan2": ("atan2", "c"), "bitwise_and": ("bitwise_and", "fc"),
              "bitwise_or": ("bitwise_or", "fc"), "bitwise_xor": ("bitwise_xor", "fc"),
              "left_shift": ("lshift", "bfc"), "right_shift": ("rshift", "bfc"), "less": ("lt", "c"),
              "less_equal": ("le", "c"), "greater": ("gt", "c"), "greater_equal": ("ge", "c")}
#: Ops whose integer and bool results are floating (the default dtype).
_FLOATING = ("divide", "atan2")
_SUB_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a "
             "mask, use the `~` or `logical_not()` operator instead.")
_SUB_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
              "`logical_xor()` operator instead.")


def _is_bool(v: Any) -> bool:
    return v._data.dtype.kind == "b" if isinstance(v, Array) else isinstance(v, (_bool, numpy.bool_))


def _check_sub(a: Any, b: Any) -> None:
    """PyTorch refuses ``-`` with a bool operand."""
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError(_SUB_BOOLS if _is_bool(a) and _is_bool(b) else _SUB_BOOL)


def _check_kernel(name: str, rt: numpy.dtype, other: Any, t: Tensor) -> None:
    """PyTorch's refusals of binary op ``name`` computing in dtype ``rt`` with ``other`` the exponent or
    divisor: no kernel for that dtype, a bool tensor exponent, an integer division by zero. (``t``, a
    tensor operand, names the device in the error.)"""
    miss = _NO_KERNEL.get(name)
    if miss is not None and rt.kind in miss[1]:
        raise NotImplementedError(f'"{miss[0]}_{"cuda" if t.is_cuda else "cpu"}" not implemented for \'{_kind(rt)}\'')
    if name == "power" and rt.kind == "b" and isinstance(other, Array):
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if name in ("floor_divide", "trunc_divide", "remainder", "fmod") and rt.kind in "iu":
        if isinstance(other, Array):
            if not numpy.all(to_host(other._data)):
                raise RuntimeError("ZeroDivisionError")
        elif isinstance(other, (_int, numpy.integer, numpy.bool_)) and not other:
            raise RuntimeError("ZeroDivisionError")


#: Dtype kinds of a binary op's operand for which the op may refuse or convert (see _binary_checks).
_CHECKED_KINDS = {name: kinds + "biu" * (name in ("power", "floor_divide", "trunc_divide", "remainder", "fmod"))
                  for name, (_kernel, kinds) in _NO_KERNEL.items()}
_CHECKED_KINDS.update(power="biu", maximum="c", minimum="c")


def _binary_checks(name: str, a: Any, b: Any) -> numpy.dtype | None:
    """PyTorch's refusals of out-of-place binary op ``name`` (an OPS name) on ``a`` and ``b`` (``b`` the
    exponent or divisor), shared by the operators and the functions; returns the result type where it was
    needed (None when the operands were plain: a tensor with a tensor of its dtype or a number of its
    category, nothing to refuse)."""
    t = a if isinstance(a, Tensor) else b
    d = t._data.dtype
    o = b if t is a else a
    c = o.__class__
    if d.kind not in _CHECKED_KINDS.get(name, "") and ((c is _float and d.kind in "fc") or (c is _int and d.kind != "b")
                                                       or (c is Tensor and o._data.dtype is d)):
        return None
    if name == "subtract":
        _check_sub(a, b)
    if name == "power" and type(b) is _int and b < 0 and isinstance(a, Array) and a._data.dtype.kind in "biu":
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    rt = _result_type(a, b)
    if rt is not None:
        if name in ("maximum", "minimum") and rt.kind == "c":
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        _check_kernel(name, rt, b, t)
    return rt


def _bool_power(res: Tensor, rt: numpy.dtype | None) -> Tensor:
    """A bool tensor to a Python bool power stays bool (NumPy gives int8)."""
    return OPS.astype(res, rt) if rt is not None and rt.kind == "b" and res._data.dtype.kind != "b" else res


def _update(self: Tensor, name: str, other: Any, compute: Callable, *, alpha: Any = 1) -> Tensor:
    """The in-place form of binary op ``name`` (``+=``, ``add_``...): PyTorch's checks in PyTorch's order
    (the op's own, the result type's cast to ``self``'s dtype, the kernel's dtypes), then the update: written
    into the memory by the op itself where nothing is recorded, else through ``_inplace``."""
    self._check_inplace()
    sd = self._data.dtype
    into = compute is _INTO.get(name)
    if into and _unrefused(name, sd.kind, other, self):
        rt = sd  # (an optimizer's step) none of the checks can refuse it
    else:
        other = _scalar_or(other)
        rt = _update_type(self, name, other, alpha)
    if into and rt is sd and not (GRAD_ENABLED.get() and (self._node is not None or _taped(self._base_t)
                                                          or _taped(other))):
        c = other.__class__
        if c is _float or c is _int or (c is Tensor and other._data.shape == self._data.shape):
            # nothing to record, no reshaping: the op writes into the memory itself
            buf = self._data
            _writable(buf)
            compute.forward_into(buf, other._data if c is Tensor else other)
            self._bump()
            return self
    return _inplace(self, lambda t: compute(t, other), other, check=False)


def _unrefused(name: str, k: str, other: Any, self: Tensor) -> bool:
    """Whether PyTorch refuses nothing in ``self <name>= other`` (``self`` of dtype kind ``k``, ``name`` one
    of ``_INTO``'s ops) and its result type is ``self``'s: a Python float to a floating tensor, a Python int
    or a tensor of ``self``'s dtype and shape (no integer true division, no bool subtraction)."""
    c = other.__class__
    if c is Tensor:
        if other._data.dtype is not self._data.dtype or other._data.shape != self._data.shape:
            return False
    elif c is not _int and (c is not _float or k not in "fc"):
        return False
    return k in "fc" or (k in "iu" and name != "divide") or (k == "b" and c is Tensor and name in ("add", "multiply"))


def _update_type(self: Tensor, name: str, other: Any, alpha: Any) -> numpy.dtype:
    """PyTorch's result type of ``self <name>= other``, after its checks in its order (the op's own, the
    cast to ``self``'s dtype, the kernel's dtypes)."""
    if name == "subtract":
        _check_sub(self, other)
    if isinstance(other, Array) and other._data.shape != self._data.shape:
        _check_broadcast(self._data.shape, other._data.shape)
    if name == "power" and self._data.dtype.kind in "biu" and type(other) is _int and other < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    sd = self._data.dtype
    if (type(other) is _float and sd.kind in "fc") or (type(other) is _int and sd.kind in "iufc") or \
            (isinstance(other, Array) and other._data.dtype == sd):
        rt = sd  # the common cases, as _result_type would find them
    else:
        rt = _result_type(self, other)
    if name in _FLOATING and rt.kind in "biu":
        rt = _default_float()
    _check_cast(self, rt)
    if name in ("add", "subtract") and isinstance(alpha, _float) and rt.kind in "biu":
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    _check_kernel(name, rt, other, self)
    return rt


#: The updates ``_update`` may write straight into the tensor's memory (``+=``, ``-=``, ``*=``, ``/=``).
_INTO = {name: getattr(OPS, name) for name in ("add", "subtract", "multiply", "divide")}


# -- the out-of-place operators with PyTorch's refusals (+, *, / and == need none: Array's go straight
# -- to the op, the result type coming from Tensor._promote) -------------------------------------------

_SUBTRACT = OPS.subtract
_BOOL_DT = numpy.dtype(numpy.bool_)


def _sub_operator(self: Tensor, other: Any, _tensor: type = Tensor, _b: numpy.dtype = _BOOL_DT) -> Any:
    """``self - other``."""
    c = other.__class__
    if self._data.dtype is _b or (other._data.dtype is _b if c is _tensor else c is _bool or c is numpy.bool_):
        _check_sub(self, other)
    return _SUBTRACT(self, other)


def _rsub_operator(self: Tensor, other: Any, _b: numpy.dtype = _BOOL_DT) -> Any:
    """``other - self``."""
    if self._data.dtype is _b or other.__class__ is _bool or other.__class__ is numpy.bool_:
        _check_sub(other, self)
    return _SUBTRACT(other, self)


def _operator(name: str, reflected: bool = False) -> Callable:
    """Tensor's operator for binary op ``name`` (``__floordiv__``, ``__and__``...; ``reflected``: the
    tensor is the right operand): PyTorch's refusals for the result type, then the op."""
    op = getattr(OPS, name)
    fast = "".join(k for k in "biufc" if k not in _CHECKED_KINDS[name])  # operand kinds with nothing to refuse

    def checked(self: Tensor, other: Any) -> Any:
        if isinstance(other, (numpy.generic, list, tuple)):
            other = _scalar_or(other)
        a, b = (other, self) if reflected else (self, other)
        rt = _binary_checks(name, a, b)
        res = op(a, b)
        return _bool_power(res, rt) if name == "power" else res

    # the common cases first: a float tensor with a float, a tensor with an int or a tensor of its dtype
    if reflected:
        def method(self: Tensor, other: Any, _f: type = _float, _i: type = _int, _t: type = Tensor) -> Any:
            d = self._data.dtype
            c = other.__class__
            if d.kind in fast and ((c is _f and d.kind in "fc") or (c is _i and d.kind != "b")):
                return op(other, self)
            return checked(self, other)
    else:
        def method(self: Tensor, other: Any, _f: type = _float, _i: type = _int, _t: type = Tensor) -> Any:
            d = self._data.dtype
            c = other.__class__
            if d.kind in fast and ((c is _f and d.kind in "fc") or (c is _i and d.kind != "b")
                                   or (c is _t and other._data.dtype is d)):
                return op(self, other)
            return checked(self, other)
    method.__name__ = method.__qualname__ = f"__{'r' if reflected else ''}{_OPERATORS[name]}__"
    method.__doc__ = f"``{'other' if reflected else 'self'} {_SYMBOLS[name]} {'self' if reflected else 'other'}``."
    return method


_OPERATORS = {"floor_divide": "floordiv", "remainder": "mod", "power": "pow", "bitwise_and": "and",
              "bitwise_or": "or", "bitwise_xor": "xor", "left_shift": "lshift", "right_shift": "rshift",
              "less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge"}
_SYMBOLS = {"floor_divide": "//", "remainder": "%", "power": "**", "bitwise_and": "&", "bitwise_or": "|",
            "bitwise_xor": "^", "left_shift": "<<", "right_shift": ">>", "less": "<", "less_equal": "<=",
            "greater": ">", "greater_equal": ">="}


def _unary_operator(name: str, refused: dict) -> Callable:
    """Tensor's unary operator for op ``name``: ``refused`` maps dtype kinds to PyTorch's (error, text)."""
    op = getattr(OPS, name)
    kinds = "".join(refused)

    def method(self: Tensor) -> Any:
        kind = self._data.dtype.kind
        if kind in kinds:
            for ks, (err, text) in refused.items():
                if kind in ks:
                    raise err(text.format(_kind(self)))
        return op(self)
    method.__name__ = method.__qualname__ = f"__{ {'negative': 'neg', 'positive': 'pos'}.get(name, name)}__"
    method.__doc__ = f"``{name}`` of the tensor (PyTorch's operator)."
    return method


def _check_broadcast(a: tuple, b: tuple) -> None:
    """PyTorch's errors where shape ``b`` does not broadcast to ``a``, the shape of an in-place output:
    shapes that do not broadcast at all (``infer_size``), or whose broadcast is not ``a``."""
    n = _max(len(a), len(b))
    out = []
    for i in range(n - 1, -1, -1):
        off = n - 1 - i
        sa = a[len(a) - 1 - off] if off < len(a) else 1
        sb = b[len(b) - 1 - off] if off < len(b) else 1
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at non-singleton "
                               f"dimension {i}")
        out.insert(0, sb if sa == 1 else sa)
    if tuple(out) != tuple(a):
        raise RuntimeError(f"output with shape {list(a)} doesn't match the broadcast shape {out}")


def _add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``self += alpha * other`` in place; returns ``self``."""
    return _update(self, "add", other, OPS.add if _unit(alpha) else lambda t, o: add(t, o, alpha=alpha), alpha=alpha)


def _sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``self -= alpha * other`` in place; returns ``self``."""
    return _update(self, "subtract", other, OPS.subtract if _unit(alpha) else lambda t, o: sub(t, o, alpha=alpha),
                   alpha=alpha)


def _mul_(self: Tensor, other: Any) -> Tensor:
    return _update(self, "multiply", other, OPS.multiply)


def _unit(alpha: Any) -> bool:
    """Whether ``alpha`` is the default 1 (the update is then the op itself: see ``_INTO``)."""
    return alpha.__class__ is _int and alpha == 1


def _div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    name = {None: "divide", "floor": "floor_divide", "trunc": "trunc_divide"}.get(rounding_mode, "divide")
    return _update(self, name, other, OPS.divide if rounding_mode is None else
                   lambda t, o: div(t, o, rounding_mode=rounding_mode))


def _floor_divide_(self: Tensor, other: Any) -> Tensor:
    return _update(self, "floor_divide", other, floor_divide)


def _pow_(self: Tensor, exponent: Any) -> Tensor:
    return _update(self, "power", exponent, pow)


def _bitwise_(name: str) -> Callable:
    op = getattr(OPS, name)

    def method(self: Tensor, other: Any) -> Tensor:
        return _update(self, name, other, op)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``; returns the same tensor."
    return method


def _augmented(name: str, method: Callable) -> Callable:
    """``method`` as an augmented assignment operator: an operand that is neither a tensor nor a number is
    NotImplemented (Python then tries the plain operator, as with PyTorch's tensors)."""
    def op(self: Tensor, other: Any) -> Any:
        if not isinstance(other, (Array, _int, _float, complex, numpy.generic)):
            return NotImplemented
        return method(self, other)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = method.__doc__
    return op


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    """``self[key] = value``: written in place and counted in the shared version counter; recorded (as
    the one in-place path records) when ``self`` or ``value`` is on the tape."""
    self._check_inplace()
    value = _scalar_or(value)
    if GRAD_ENABLED.get() and (_taped(self) or _taped(self._base_t) or _taped(value)):
        v = value
        if isinstance(v, Array) and v._data.dtype != self._data.dtype:
            v = _cast(v, self._data.dtype)
        _inplace(self, lambda t: OPS.setitem(t, v, key), v, check=False)
        return
    from ..ops.indexing import raw_key  # noqa: PLC0415
    _writable(self._data)
    self._data[raw_key(key)] = value._data if isinstance(value, Array) else value
    self._bump()


def _clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    self._check_inplace()
    if self._data.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    rt = _result_type(self, min, max)
    _check_cast(self, rt, ctype=not (isinstance(min, Array) or isinstance(max, Array)))
    return _inplace(self, lambda t: clamp(t, min, max), min, max, check=False)


def _clamp_min_(self: Tensor, min: Any) -> Tensor:  # noqa: A002
    return _clamp_(self, min=min)


def _clamp_max_(self: Tensor, max: Any) -> Tensor:  # noqa: A002
    return _clamp_(self, max=max)


def _masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    return _inplace(self, lambda t: masked_fill(t, mask, value), value, check=False)


def _index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    d = _norm_dim(dim, self.ndim)
    m = numpy.zeros(tuple(self.shape), dtype=numpy.bool_)
    m[(slice(None),) * d + (to_host(index._data),)] = True
    return _masked_fill_(self, Tensor._make(m), value)


def _scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
              reduce: str | None = None) -> Tensor:
    return _inplace(self, lambda t: scatter(t, dim, index, src, value=value, reduce=reduce), src, value,
                    check=False)


def _copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """The values of ``src`` (broadcast to this shape, cast to this dtype) written into this tensor."""
    if isinstance(src, Array) and src._data is self._data:
        self._check_inplace()
        self._bump()
        return self
    s = _scalar_or(src)
    if isinstance(s, Array) and s.is_cuda != self.is_cuda:
        s = _move(s, "cuda" if self.is_cuda else "cpu", None)
    if isinstance(s, Array) and s._data.dtype != self._data.dtype:
        s = _cast(s, self._data.dtype)
    return _inplace(self, _const_like(self, s), s, check=False)


def _zero_(self: Tensor) -> Tensor:
    """Zeros written in place; returns the same tensor."""
    return _fill_(self, 0)


def _fill_(self: Tensor, value: Any) -> Tensor:
    """``value`` (a number or a 0-d tensor) written everywhere in place; returns the same tensor."""
    if isinstance(value, Array):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        if value._data.dtype != self._data.dtype:
            value = _cast(value, self._data.dtype)
        return _inplace(self, _const_like(self, value), value, check=False)
    if isinstance(value, numpy.generic):
        value = value.item()
    if not GRAD_ENABLED.get() or self._node is None:  # the common case: no need to build anything
        self._check_inplace()
        _writable(self._data)
        self._data[...] = value
        self._bump()
        return self
    return _inplace(self, _const_like(self, Tensor._make(numpy.asarray(value, dtype=self._data.dtype))),
                    check=False)


def _random_fill(self: Tensor, name: str, draw: Callable) -> Tensor:
    if self._data.dtype.kind != "f":
        raise RuntimeError(f"{name} expects floating point tensors, got {_kind(self)}")
    self._check_inplace()
    values = draw(tuple(self.shape), self._data.dtype)
    if self.is_cuda:
        values = to_device(values, device_of(self._data))
    return _inplace(self, _const_like(self, lambda: Tensor._make(values)))


def _normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """Normal samples written in place (PyTorch's CPU stream for the seed)."""
    gen = generator or _random.default_generator
    return _random_fill(self, "normal_", lambda shape, dt: gen.normal(shape, mean, std, dt))


def _uniform_(self: Tensor, *args: Any, generator: Any = None, **kwargs: Any) -> Tensor:
    """Uniform samples in ``[from, to)`` written in place: ``uniform_(a, b)``, or ``from``/``to`` as keywords
    (``uniform_(**{'from': a, 'to': b})``)."""
    low = kwargs.pop("from", args[0] if len(args) > 0 else 0.0)
    high = kwargs.pop("to", args[1] if len(args) > 1 else 1.0)
    if kwargs:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    gen = generator or _random.default_generator
    return _random_fill(self, "uniform_", lambda shape, dt: gen.uniform(shape, low, high, dt))


def _bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Bernoulli(p) draws (0 or 1) written in place."""
    gen = generator or _random.default_generator
    self._check_inplace()
    pp = to_host(p._data) if isinstance(p, Array) else p
    values = numpy.asarray(gen.bernoulli(pp, tuple(self.shape))).astype(self._data.dtype)
    return _inplace(self, _const_like(self, lambda: Tensor._make(values)))


#: Unary ops whose integer and bool results are floating (PyTorch's "int to float" ops).
_FLOATING_UNARY = ("exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "asin",
                   "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "tanh", "sigmoid", "reciprocal",
                   "exp2")
#: Unary ops whose PyTorch rule reads their result (derivatives.yaml), not their input.
_SAVES_RESULT = ("exp", "exp2", "expm1", "sqrt", "rsqrt", "tanh", "sigmoid", "reciprocal", "relu")
_VML = "\"{}_vml_cpu\" not implemented for '{}'"
#: PyTorch's refusals of an in-place unary op by dtype kind: op -> {kinds: (error type, text)}.
_UNARY_REFUSED = {
    "abs": {"b": (NotImplementedError, "\"abs_cpu\" not implemented for '{}'"),
            "c": (RuntimeError, "In-place abs is not supported for complex tensors.")},
    "neg": {"b": (RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                                "invert a mask, use the `~` or `logical_not()` operator instead.")},
    "floor": {"b": (NotImplementedError, _VML.format("floor", "{}")),
              "c": (NotImplementedError, "floor is not supported for complex inputs")},
    "ceil": {"b": (NotImplementedError, _VML.format("ceil", "{}")),
             "c": (NotImplementedError, "ceil is not supported for complex inputs")},
    "trunc": {"b": (NotImplementedError, _VML.format("trunc", "{}")),
              "c": (NotImplementedError, "trunc is not supported for complex inputs")},
    "round": {"bc": (NotImplementedError, _VML.format("round", "{}"))},
    "frac": {"biuc": (NotImplementedError, "\"frac_cpu\" not implemented for '{}'")},
    "relu": {"b": (RuntimeError, "Boolean inputs not supported for relu"),
             "c": (NotImplementedError, "clamp is not supported for complex types")},
    "sign": {"c": (NotImplementedError, "Unlike NumPy, torch.sign is not intended to support complex numbers. Please "
                                        "use torch.sgn instead.")},
}
for _a, _b in (("absolute", "abs"), ("negative", "neg"), ("fix", "trunc")):
    _UNARY_REFUSED[_a] = _UNARY_REFUSED[_b]


def _unary_update(self: Tensor, name: str, compute: Callable) -> Tensor:
    """The in-place form of unary op ``name``: PyTorch's dtype refusals and casting rule, then ``_inplace``."""
    self._check_inplace()
    sd = self._data.dtype
    for kinds, (err, text) in _UNARY_REFUSED.get(name, {}).items():
        if sd.kind in kinds:
            raise err(text.format(_kind(sd)))
    rt = sd
    if name in _FLOATING_UNARY and sd.kind in "biu":
        rt = _default_float()
    elif name == "square" and sd.kind == "b":
        rt = _I64
    _check_cast(self, rt)
    if name in ("sign", "sgn") and sd.kind == "b":
        return _inplace(self, lambda t: t, check=False)  # the sign of a bool is itself
    return _inplace(self, compute, check=False, saves_result=name in _SAVES_RESULT)


def _unary_inplace(name: str) -> Callable:
    f = _UNARY_FUNCS.get(name) or globals()[name]

    def method(self: Tensor) -> Tensor:
        return _unary_update(self, name, f)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``; returns the same tensor."
    return method


_INPLACE_UNARY = ("abs", "absolute", "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
                  "tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "tanh", "sigmoid",
                  "relu", "neg", "negative", "reciprocal", "square", "sign", "sgn", "floor", "ceil", "trunc", "fix",
                  "frac", "exp2")


def _round_(self: Tensor, *, decimals: int = 0) -> Tensor:
    return _unary_update(self, "round", lambda t: round(t, decimals=decimals))


def _binary_inplace(f: Callable, name: str) -> Callable:
    op = {"maximum": "maximum", "minimum": "minimum"}.get(name, name)

    def method(self: Tensor, other: Any) -> Tensor:
        return _update(self, op, other, f)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``; returns the same tensor."
    return method


def _viewing(f: Callable) -> Callable:
    """View function ``f`` whose results share their input's version counter where they share its memory
    (as PyTorch's views do; a reshape that has to copy does not)."""
    def view(input: Any, *args: Any, **kwargs: Any) -> Any:
        res = f(input, *args, **kwargs)
        if isinstance(input, Tensor):
            _link_views(input, res, lambda b, i: f(b, *args, **kwargs) if i is None else f(b, *args, **kwargs)[i])
        return res
    view.__name__, view.__qualname__, view.__doc__ = f.__name__, f.__qualname__, f.__doc__
    return view


for _n in ("reshape", "_view", "_view_as", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "swapaxes",
           "swapdims", "t", "_mT", "permute", "movedim", "moveaxis", "_expand", "_expand_as", "broadcast_to", "split",
           "tensor_split", "chunk", "unbind", "narrow", "select", "diagonal"):
    globals()[_n] = _viewing(globals()[_n])
del _n


# ----------------------------------------------------------------------------------------------
# the tables bound onto Tensor and exported as torch.*
# ----------------------------------------------------------------------------------------------

#: Tensor methods: name -> function taking the tensor first.
METHODS: dict = {
    # size and type information
    "size": _size, "dim": _dim_method, "ndimension": _dim_method, "numel": numel, "nelement": numel,
    "element_size": _element_size, "stride": _stride, "is_floating_point": is_floating_point,
    "is_complex": is_complex, "is_nonzero": is_nonzero, "is_contiguous": _is_contiguous,
    # conversion
    "type": _type, "to": _to, "type_as": _type_as, "cpu": _cpu, "cuda": _cuda,
    "float": _caster(numpy.float32, "float"), "double": _caster(numpy.float64, "double"),
    "half": _caster(numpy.float16, "half"), "long": _caster(numpy.int64, "long"),
    "int": _caster(numpy.int32, "int"), "short": _caster(numpy.int16, "short"),
    "char": _caster(numpy.int8, "char"), "byte": _caster(numpy.uint8, "byte"), "bool": _caster(numpy.bool_, "bool"),
    "new_zeros": _new_zeros, "new_ones": _new_ones, "new_empty": _new_empty, "new_full": _new_full,
    "new_tensor": _new_tensor,
    # shape
    "reshape": reshape, "view": _view, "view_as": _view_as, "reshape_as": _view_as, "flatten": flatten,
    "unflatten": unflatten, "squeeze": squeeze, "unsqueeze": unsqueeze, "transpose": transpose,
    "swapaxes": transpose, "swapdims": transpose, "t": t, "permute": permute, "movedim": movedim,
    "moveaxis": movedim, "expand": _expand, "expand_as": _expand_as, "broadcast_to": broadcast_to,
    "repeat": _repeat, "tile": tile, "repeat_interleave": repeat_interleave, "flip": flip, "fliplr": fliplr,
    "flipud": flipud, "roll": roll, "contiguous": _contiguous, "clone": clone, "split": split,
    "tensor_split": tensor_split, "chunk": chunk, "unbind": unbind, "narrow": narrow, "select": select,
    # indexing
    "gather": gather, "take_along_dim": take_along_dim, "index_select": index_select, "masked_fill": masked_fill,
    "masked_select": masked_select, "scatter": scatter, "where": lambda self, condition, other: where(
        condition, self, other), "nonzero": nonzero, "argwhere": argwhere,
    # reductions
    "sum": sum, "nansum": nansum, "mean": mean, "prod": prod, "std": std, "var": var, "norm": norm, "dist": dist,
    "max": max, "min": min, "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "all": all, "any": any,
    "count_nonzero": count_nonzero, "logsumexp": logsumexp, "cumsum": cumsum, "cumprod": cumprod,
    "softmax": softmax, "log_softmax": log_softmax, "argsort": argsort, "sort": sort, "topk": topk,
    "median": median, "kthvalue": kthvalue,
    # elementwise
    **_UNARY_FUNCS, "rsqrt": rsqrt, "exp2": exp2, "frac": frac, "round": round, "clamp": clamp, "clip": clamp,
    "clamp_min": clamp_min, "clamp_max": clamp_max, "add": add, "sub": sub, "subtract": sub, "mul": mul,
    "multiply": mul, "div": div, "divide": div, "true_divide": div, "floor_divide": floor_divide,
    "remainder": remainder, "fmod": fmod, "pow": pow, "float_power": float_power, "atan2": atan2, "arctan2": atan2,
    "maximum": maximum, "minimum": minimum, "fmax": fmax, "fmin": fmin, "hypot": hypot, "logaddexp": logaddexp,
    "lerp": lerp, **_COMPARE_FUNCS, "equal": equal, "isclose": isclose, "allclose": allclose,
    # linear algebra
    "matmul": matmul, "__matmul__": _matmul_method, "mm": mm, "mv": mv, "bmm": bmm, "dot": dot, "vdot": vdot, "inner": inner, "outer": outer,
    "ger": outer, "addmm": addmm, "trace": trace, "diag": diag, "diagonal": diagonal, "tril": tril, "triu": triu,
    # in place
    "add_": _add_, "sub_": _sub_, "subtract_": _sub_, "mul_": _mul_, "multiply_": _mul_, "div_": _div_,
    "divide_": _div_, "true_divide_": _div_, "pow_": _pow_, "clamp_": _clamp_, "clip_": _clamp_,
    "clamp_min_": _clamp_min_, "clamp_max_": _clamp_max_, "masked_fill_": _masked_fill_,
    "index_fill_": _index_fill_, "scatter_": _scatter_, "copy_": _copy_, "zero_": _zero_, "fill_": _fill_,
    "normal_": _normal_, "uniform_": _uniform_, "bernoulli_": _bernoulli_, "round_": _round_,
    **{n + "_": _unary_inplace(n) for n in _INPLACE_UNARY},
    **{n + "_": _binary_inplace(globals()[n], n) for n in ("remainder", "fmod", "atan2", "maximum", "minimum")},
    "floor_divide_": _floor_divide_, "arctan2_": _binary_inplace(atan2, "atan2"),
    **{f"bitwise_{n}_": _bitwise_(f"bitwise_{n}") for n in ("and", "or", "xor")},
    "bitwise_left_shift_": _bitwise_("left_shift"), "bitwise_right_shift_": _bitwise_("right_shift"),
    # augmented assignment: the same in-place path (``@=`` is not in place in PyTorch: it rebinds)
    **{f"__i{n}__": _augmented(f"__i{n}__", m) for n, m in (
        ("add", _add_), ("sub", _sub_), ("mul", _mul_), ("truediv", _div_), ("floordiv", _floor_divide_),
        ("mod", _binary_inplace(remainder, "remainder")), ("pow", _pow_), ("and", _bitwise_("bitwise_and")),
        ("or", _bitwise_("bitwise_or")), ("xor", _bitwise_("bitwise_xor")), ("lshift", _bitwise_("left_shift")),
        ("rshift", _bitwise_("right_shift")))},
    "__setitem__": _setitem,
    # out-of-place operators that PyTorch refuses for some dtypes
    "__sub__": _sub_operator, "__rsub__": _rsub_operator,
    **{f"__{n}__": _operator(op) for op, n in _OPERATORS.items()},
    **{f"__r{n}__": _operator(op, True) for op, n in _OPERATORS.items() if not op.startswith(("less", "greater"))},
    "__neg__": _unary_operator("negative", _UNARY_REFUSED["neg"]),
    "__pos__": _unary_operator("positive", {"b": (RuntimeError, "The `+` operator, on a bool tensor is not "
                                                                "supported.")}),
    "__abs__": _unary_operator("abs", {"b": _UNARY_REFUSED["abs"]["b"]}),
    "__invert__": _unary_operator("invert", {"fc": (TypeError, "~ (operator.invert) is only implemented on integer and "
                                                                "Boolean-type tensors")}),
}

#: Tensor properties: name -> getter.
PROPERTIES = {
    "shape": lambda self: Size(self._data.shape),
    "dtype": lambda self: from_numpy_dtype(self._data.dtype),
    "mT": _mT,
    "itemsize": lambda self: self._data.dtype.itemsize,
    "nbytes": lambda self: self._data.nbytes,
}

__all__ = sorted({
    "return_types", "numel", "is_floating_point", "is_complex", "is_nonzero",
    *_UNARY_FUNCS, "rsqrt", "exp2", "frac", "round", "clamp", "clip", "clamp_min", "clamp_max", "add", "sub",
    "subtract", "rsub", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod",
    "pow", "float_power", "atan2", "arctan2", "maximum", "minimum", "fmax", "fmin", "hypot", "logaddexp", "lerp",
    *_COMPARE_FUNCS, "equal", "isclose", "allclose",
    "sum", "nansum", "mean", "prod", "var", "std", "var_mean", "std_mean", "norm", "dist", "max", "min", "amax",
    "amin", "argmax", "argmin", "all", "any", "count_nonzero", "logsumexp", "cumsum", "cumprod", "softmax",
    "log_softmax", "argsort", "sort", "topk", "median", "kthvalue",
    "matmul", "mm", "mv", "bmm", "dot", "vdot", "inner", "outer", "ger", "addmm", "tensordot", "einsum", "trace",
    "diag", "diagonal", "tril", "triu",
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "swapaxes", "swapdims", "t",
    "permute", "movedim", "moveaxis", "broadcast_to", "broadcast_tensors", "tile", "repeat_interleave", "flip",
    "fliplr", "flipud", "roll", "clone", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "split",
    "tensor_split", "chunk", "unbind", "narrow", "select",
    "gather", "take_along_dim", "index_select", "masked_fill", "masked_select", "scatter", "where", "nonzero",
    "argwhere", "meshgrid",
})


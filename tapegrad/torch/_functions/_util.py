"""Helpers shared by the PyTorch dialect's functions: the tensor-argument check (``_t``), PyTorch's
``dim``/``keepdim`` and shape spellings, PyTorch's type names for errors, casts (``_cast``) and the
conversion of other operands (``_scalar_or``)."""
from __future__ import annotations

import builtins
from typing import Any

import numpy

from ..._core import events as _events
from ..._core.array import OPS, Array
from ...ops.registry import holds_array, pack_sequence
from .. import _dtypes
from .._creation import tensor
from .._dtypes import Size, to_numpy_dtype
from ..tensor import Tensor

_bool, _int, _float, _abs, _max, _min, _sum, _any, _all = (builtins.bool, builtins.int, builtins.float,
                                                           builtins.abs, builtins.max, builtins.min,
                                                           builtins.sum, builtins.any, builtins.all)

_I64 = numpy.dtype(numpy.int64)

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


def _cast(x: Array, dt: numpy.dtype) -> Any:
    """``x`` as dtype ``dt`` (``x`` itself when it already is): differentiable from floating to floating;
    a cast to or from an integer or bool type has no history, as in PyTorch."""
    dt = numpy.dtype(dt)
    if x._data.dtype == dt:
        return x
    if dt.kind in "fc" and x._data.dtype.kind in "fc":
        return OPS.astype(x, dt)
    if x._node is not None:  # (for ``explain``: the history ends at this cast)
        _events.first(x._node, "nondiff", f"a cast to {dt}")
    return OPS.astype(Tensor._make(x._data), dt)


def _scalar_or(x: Any) -> Any:
    """Python numbers and tensors pass; NumPy scalars and sequences become tensors of PyTorch's dtype."""
    if isinstance(x, (Array, _bool, _int, _float, complex)):
        return x
    if isinstance(x, numpy.generic):
        return x.item()
    if isinstance(x, (list, tuple)) and holds_array(x):  # tensors inside: packed, so gradients flow
        return pack_sequence(x)
    return tensor(x)


#: PyTorch's default float dtype and result type (c10's promoteTypes, combine_categories).
_default_float = _dtypes.default_float
_result_type = _dtypes.result_type_of

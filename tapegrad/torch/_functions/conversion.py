"""Tensor dtype and device: what they are (``is_floating_point``, ``type()``), conversion (``to``,
``float()``, ``cpu()``, ``cuda()``) and new tensors that take them from this one (``new_zeros``...)."""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ..._core.array import OPS, Array
from ...backend import CPU, device_of, gpu, to_host
from .. import _creation
from .._device import _parse_device
from .._dtypes import dtype as _TorchDtype, from_numpy_dtype, to_numpy_dtype
from ..tensor import Tensor
from ._util import _bool, _cast, _float, _int, _kind, _shape_args, _t
from .shape import clone

__all__ = ["is_floating_point", "is_complex", "is_nonzero"]


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


def _move(self: Array, kind: str, index: int | None) -> Any:
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


def _new(self: Tensor, maker: str, size: tuple, dtype: Any, requires_grad: bool, **kw: Any) -> Tensor:
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
    return _creation.full(tuple(size), fill_value, dtype=dtype if dtype is not None else self.dtype,
                requires_grad=requires_grad)


def _new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
                requires_grad: bool = False) -> Tensor:
    return _creation.tensor(data, dtype=dtype if dtype is not None else self.dtype, requires_grad=requires_grad)

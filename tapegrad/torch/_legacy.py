"""PyTorch's legacy constructors: ``torch.Tensor(data)``, ``torch.Tensor(2, 3)`` and the typed classes
``torch.FloatTensor``, ``torch.DoubleTensor``, ``torch.LongTensor``... (each a constructor of its dtype, and an
``isinstance`` test of a tensor's dtype, as in PyTorch 2.13).

``torch.Tensor(*sizes)`` gives an uninitialised tensor of the default dtype; ``torch.Tensor(data)`` converts
nested sequences or NumPy arrays to the default dtype (booleans and integers too); ``torch.Tensor(t)`` of a
tensor is an alias of it (same memory, on the graph: ``AliasBackward0``). Only ``device=`` is accepted as a
keyword, as in PyTorch.
"""
from __future__ import annotations

import builtins
from typing import Any

import numpy

from ._creation import _finish, tensor
from ._dtypes import Size, default_float, from_numpy_dtype
from .tensor import Tensor

__all__ = ["legacy_new", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor", "TYPED"]

_SIGNATURES = (" * (*, torch.device device = None)\n * (torch.Storage storage)\n * (Tensor other)\n"
               " * (tuple of ints size, *, torch.device device = None)\n"
               " * (object data, *, torch.device device = None)\n")
#: PyTorch's C++ names of the scalar types, for the error of a typed constructor given another dtype.
_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
        "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _invalid(args: tuple, kwargs: dict) -> TypeError:
    got = [type(a).__name__ if not isinstance(a, Tensor) else "Tensor" for a in args]
    got += [f"{k}={type(v).__name__ if not hasattr(v, 'is_floating_point') else 'torch.dtype'}"
            for k, v in kwargs.items()]
    return TypeError(f"new() received an invalid combination of arguments - got ({', '.join(got)}), but expected "
                     f"one of:\n{_SIGNATURES}")


def _is_size(a: Any) -> bool:
    return isinstance(a, (builtins.int, numpy.integer)) and not isinstance(a, (builtins.bool, numpy.bool_))


def _options(dt: numpy.dtype) -> str:
    return (f"TensorOptions(dtype={_CPP.get(dt.name, dt.name)}, device=cpu, layout=Strided, requires_grad=false "
            "(default), pinned_memory=false (default), memory_format=(nullopt))")


def _alias(t: Tensor) -> Tensor:
    """``t`` seen through a new tensor over the same memory, which stays on the graph (PyTorch's alias)."""
    from ._functions.shape import reshape  # noqa: PLC0415 - the functions import this module's siblings

    out = reshape(t, tuple(t.shape))
    if out is t:
        out = Tensor._make(t._data.view())
    elif out._node is not None and out._node is not t._node:
        vars(out._node)["torch_name"] = "AliasBackward0"  # (GradFn reads the name PyTorch gives this node)
    return out


def legacy_new(dt: numpy.dtype | None, args: tuple, kwargs: dict) -> Tensor:
    """``torch.Tensor(*args, **kwargs)`` (``dt`` None: the default dtype) or a typed constructor (``dt``)."""
    device = kwargs.get("device")
    if any(k != "device" for k in kwargs):
        raise _invalid(args, kwargs)
    want = dt if dt is not None else default_float()
    if len(args) == 1:
        a = args[0]
        if isinstance(a, Tensor):
            if dt is not None and a._data.dtype != dt:
                raise TypeError(f"expected {_options(dt)} (got {_options(a._data.dtype)})")
            return _alias(a)
        if isinstance(a, Size):
            args = a  # (an empty Size is the shape of a 0-d tensor)
        elif isinstance(a, str):
            raise TypeError("new(): invalid data type 'str'")
        elif isinstance(a, (list, tuple, numpy.ndarray)):
            return tensor(a, dtype=from_numpy_dtype(want), device=device)
        elif not _is_size(a):
            raise TypeError(f"new(): data must be a sequence (got {type(a).__name__})")
    if args and _is_size(args[0]):
        for pos, s in enumerate(args[1:], 2):
            if not _is_size(s):
                raise TypeError(f"new(): argument 'size' failed to unpack the object at pos {pos} with error \"type "
                                f"must be tuple of ints,but got {type(s).__name__}\"")
    if not all(_is_size(s) for s in args):
        raise _invalid(args, kwargs)
    sizes = tuple(builtins.int(s) for s in args) if len(args) or isinstance(args, Size) else (0,)
    for s in sizes:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(sizes)}")
    return _finish(numpy.empty(sizes, dtype=want), False, device)


class _TypedTensorMeta(type):
    """The metaclass of ``torch.FloatTensor`` and its kin: calling one constructs a tensor of its dtype
    (an instance of ``torch.Tensor``); ``isinstance(t, torch.FloatTensor)`` asks whether ``t`` is a CPU
    tensor of that dtype."""

    _np: numpy.dtype

    def __call__(cls, *args: Any, **kwargs: Any) -> Tensor:
        return legacy_new(cls._np, args, kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls._np and not obj.is_cuda

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"

    @property
    def dtype(cls) -> Any:
        return from_numpy_dtype(cls._np)


def _typed(name: str, np_dtype: Any) -> type:
    cls = _TypedTensorMeta(name, (), {"__doc__": f"A legacy constructor of {numpy.dtype(np_dtype).name} tensors "
                                                 f"(``torch.{name}([1, 2])``, ``torch.{name}(2, 3)``).",
                                      "__module__": "tapegrad.torch"})
    cls._np = numpy.dtype(np_dtype)
    return cls


FloatTensor = _typed("FloatTensor", numpy.float32)
DoubleTensor = _typed("DoubleTensor", numpy.float64)
HalfTensor = _typed("HalfTensor", numpy.float16)
LongTensor = _typed("LongTensor", numpy.int64)
IntTensor = _typed("IntTensor", numpy.int32)
ShortTensor = _typed("ShortTensor", numpy.int16)
CharTensor = _typed("CharTensor", numpy.int8)
ByteTensor = _typed("ByteTensor", numpy.uint8)
BoolTensor = _typed("BoolTensor", numpy.bool_)
#: The typed constructors by name.
TYPED = {c.__name__: c for c in (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor,
                                 CharTensor, ByteTensor, BoolTensor)}


def _tensor_new(cls: type, *args: Any, **kwargs: Any) -> Tensor:
    """PyTorch's legacy constructor: ``torch.Tensor([1, 2])`` (data in the default dtype),
    ``torch.Tensor(2, 3)`` (uninitialised, the default dtype), ``torch.Tensor(t)`` (an alias of ``t``)."""
    return legacy_new(None, args, kwargs)


def bind(cls: type = Tensor) -> None:
    """Make calling ``cls`` (the dialect's ``Tensor``) the legacy constructor (the tensor module cannot import
    this one, which builds on the creation functions that import it)."""
    setattr(cls, "__new__", staticmethod(_tensor_new))  # noqa: B010 - a class's constructor, set from outside

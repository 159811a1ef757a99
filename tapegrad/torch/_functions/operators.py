"""Tensor's operators that PyTorch refuses for some dtypes (``-`` with a bool, ``//``, ``**``, ``&``,
``<``..., unary ``-`` and ``~``): the common operand types go straight to the op, the others through
PyTorch's checks (``_binary_checks``) first."""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ..._core.array import OPS
from ..tensor import Tensor
from ._util import _bool, _float, _int, _kind, _scalar_or
from .elementwise import _CHECKED_KINDS, _binary_checks, _bool_power, _check_sub

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

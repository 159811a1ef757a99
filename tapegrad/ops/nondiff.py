"""Ops without a gradient: comparisons, logical and bitwise ops, integer-valued results."""
from __future__ import annotations

import numpy

from .._core.array import Array, _value_read
from ..backend import to_host
from .registry import defop


def _binary_nondiff(name: str):
    def fwd(xp, x, y):
        return getattr(xp, name)(x, y)
    fwd.__name__ = name
    return defop(fwd, name=name, diff=False, ufunc=_ufunc(name))


def _unary_nondiff(name: str):
    def fwd(xp, x):
        return getattr(xp, name)(x)
    fwd.__name__ = name
    return defop(fwd, name=name, diff=False, ufunc=_ufunc(name))


def _ufunc(name: str) -> numpy.ufunc | None:
    """NumPy's function of that name when it is a ufunc (the forward is then that ufunc: the fast route)."""
    f = getattr(numpy, name)
    return f if isinstance(f, numpy.ufunc) else None


for _n in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
           "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
           "floor_divide", "left_shift", "right_shift", "isclose"):
    _binary_nondiff(_n)

for _n in ("logical_not", "invert", "isnan", "isinf", "isfinite", "signbit"):
    _unary_nondiff(_n)

for _n in ("iscomplex", "isreal"):
    _unary_nondiff(_n)


def _raw(x):
    """The host NumPy view of an array argument (a tapegrad array's buffer), else ``x`` itself."""
    return to_host(x._data) if isinstance(x, Array) else x


def iscomplexobj(x) -> bool:
    """Whether ``x`` has a complex dtype (or is a complex number), whatever its values."""
    return bool(numpy.iscomplexobj(_raw(x)))


def isrealobj(x) -> bool:
    """Whether ``x`` does not have a complex dtype."""
    return not iscomplexobj(x)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """NumPy's ``allclose`` on tapegrad arrays, lists or numbers: a Python bool (never recorded)."""
    for v in (a, b):  # Python reads the values: a compiled replay checks them
        if isinstance(v, Array):
            _value_read("array", v, numpy.array(to_host(v._data)))
    return bool(numpy.allclose(_raw(a), _raw(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


#: Public non-differentiable functions that return Python values, not arrays (the np namespace exposes them).
FUNCTIONS = {"iscomplexobj": iscomplexobj, "isrealobj": isrealobj, "allclose": allclose}

"""Ops without a gradient: comparisons, logical and bitwise ops, integer-valued results."""
from __future__ import annotations

from .registry import defop


def _binary_nondiff(name: str):
    def fwd(xp, x, y):
        return getattr(xp, name)(x, y)
    fwd.__name__ = name
    return defop(fwd, name=name, diff=False)


def _unary_nondiff(name: str):
    def fwd(xp, x):
        return getattr(xp, name)(x)
    fwd.__name__ = name
    return defop(fwd, name=name, diff=False)


for _n in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
           "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
           "floor_divide", "left_shift", "right_shift", "isclose"):
    _binary_nondiff(_n)

for _n in ("logical_not", "invert", "isnan", "isinf", "isfinite", "signbit"):
    _unary_nondiff(_n)

"""Helpers shared by the op rules: shape arithmetic, and sums of tangents where None means zero."""
from __future__ import annotations

from typing import Any, Callable

from .._core.engine import add_or_none


def bilinear_tangent(f: Callable, ts: Any, a: Any, b: Any) -> Any:
    """Tangent of a bilinear ``f(a, b)``: ``f(ta, b) + f(a, tb)`` (None tangents are zero)."""
    ta, tb = ts[0], ts[1]
    return add_or_none(None if ta is None else f(ta, b), None if tb is None else f(a, tb))


def norm_axes(axis, ndim: int) -> tuple:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int) or not hasattr(axis, "__iter__"):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def kept_shape(shape: tuple, axis) -> tuple:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    axes = norm_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))

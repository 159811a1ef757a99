"""Containers of arrays as one vector and back (HIPS autograd's ``autograd.misc.flatten``)."""
from __future__ import annotations

from math import prod
from typing import Any, Callable

import numpy

from .. import numpy as np

__all__ = ["flatten", "flatten_func"]


def flatten(value: Any) -> tuple[Any, Callable[[Any], Any]]:
    """``(vector, unflatten)``: the values of any nesting of tuples, lists and dicts (dict keys in
    sorted order) holding arrays and numbers, raveled into one 1-d array, and the function that
    puts a vector of that length back into the same containers (leaves as arrays of the original
    shapes, float leaves in their own dtypes). Differentiable both ways: traced values give a
    traced vector, a traced vector traced leaves. The vector's dtype is NumPy's promotion of the
    leaves' dtypes (as in HIPS)."""
    layout, vector = _layout(value)
    n = sum(prod(shape) for shape in _shapes(layout))

    def unflatten(v: Any) -> Any:
        if tuple(np.shape(v)) != (n,):
            raise ValueError(f"unflatten takes a vector of length {n} (as flatten gave), got shape "
                             f"{tuple(np.shape(v))}")
        return _build(layout, v, [0])
    return vector, unflatten


def flatten_func(func: Callable, example: Any) -> tuple[Callable, Callable, Any]:
    """``(flat_func, unflatten, flat_example)``: ``func`` of a container (like ``example``) as a
    function of one vector, ``flat_func(vector, *args)`` returning its flattened result."""
    _ex, unflatten = flatten(example)

    def _func(_x: Any, *args: Any) -> Any:
        return flatten(func(unflatten(_x), *args))[0]
    return _func, unflatten, _ex


def _layout(value: Any) -> tuple:
    """``(structure for _build, vector)``; dicts in sorted key order. Each container concatenates its
    children's vectors, an empty one being a float64 ``[]``: NumPy's promotion then gives HIPS's dtype."""
    t = type(value)
    if t is list or t is tuple or (isinstance(value, tuple) and hasattr(value, "_fields")):
        parts = [_layout(v) for v in value]
        return ("seq", t, [p[0] for p in parts]), _concatenate([p[1] for p in parts])
    if t is dict:
        kids = {k: _layout(value[k]) for k in sorted(value)}
        return ("dict", list(value), {k: p[0] for k, p in kids.items()}), _concatenate([p[1] for p in kids.values()])
    dtype = getattr(value, "dtype", None)
    return ("leaf", tuple(np.shape(value)), numpy.result_type(value) if dtype is None else dtype), np.ravel(value)


def _concatenate(vectors: list) -> Any:
    return np.concatenate(vectors) if vectors else np.array([])


def _shapes(layout: tuple) -> list:
    if layout[0] == "leaf":
        return [layout[1]]
    parts = layout[2] if layout[0] == "seq" else layout[2].values()
    return [s for p in parts for s in _shapes(p)]


def _build(layout: tuple, v: Any, pos: list) -> Any:
    kind = layout[0]
    if kind == "leaf":
        _, shape, dtype = layout
        k = prod(shape)
        piece = np.reshape(v[pos[0]:pos[0] + k], shape)
        pos[0] += k
        # a float leaf comes back in its own dtype (as in HIPS); an integer one keeps the vector's
        return piece.astype(dtype) if dtype.kind in "fc" and piece.dtype != dtype else piece
    if kind == "dict":
        built = {k: _build(sub, v, pos) for k, sub in layout[2].items()}  # sorted order, as laid out
        return {k: built[k] for k in layout[1]}  # the caller's key order
    t = layout[1]
    items = [_build(sub, v, pos) for sub in layout[2]]
    return t(*items) if hasattr(t, "_fields") else t(items)

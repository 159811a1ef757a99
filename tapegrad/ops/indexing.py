"""Indexing: ``__getitem__`` with a scatter-add VJP."""
from __future__ import annotations

from typing import Any

import numpy

from .._core.array import OPS as T, Array
from .registry import defop
from .samples import Case, draw


def raw_key(key: Any) -> Any:
    """An index with every Array inside it replaced by its raw buffer."""
    if isinstance(key, Array):
        return key._data
    if isinstance(key, tuple):
        return tuple(raw_key(k) for k in key)
    if isinstance(key, list) and any(isinstance(k, Array) for k in key):
        return [raw_key(k) for k in key]
    return key


def is_basic(key: Any) -> bool:
    """True for keys made only of ints, slices, None and Ellipsis (views; no repeated elements)."""
    if not isinstance(key, tuple):
        key = (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) and not isinstance(k, bool)
               for k in key)


def _getitem_cases(rng):
    x = draw(rng, (4, 5))
    keys = [1, (slice(None), slice(0, 5, 2)), (Ellipsis, None, 2), numpy.array([0, 2, 2, 3]),
            (numpy.array([0, 1, 1]), numpy.array([4, 4, 0])), x > 0, (slice(None, None, -1), [1, 1, 3]),
            (-1, slice(1, None)), ([[0, 1], [1, 1]],)]
    return [Case((x,), dict(key=k), ref=_np_getitem) for k in keys]


def _np_getitem(a, key):
    return a[key]


@defop(nin=1, samples=_getitem_cases, public=None)
def getitem(xp, a, key):
    return a[raw_key(key)]


@getitem.vjp
def _(g, key, shapes, dtypes):
    return (T.scatter_add(g, shapes[0], raw_key(key)),)


def _scatter_cases(rng):
    return [Case((draw(rng, (4,)),), dict(shape=(4, 5), key=(slice(None), 1)), ref=_np_scatter),
            Case((draw(rng, (3,)),), dict(shape=(5,), key=numpy.array([0, 2, 2])), ref=_np_scatter)]


def _np_scatter(g, shape, key):
    out = numpy.zeros(shape, dtype=g.dtype)
    numpy.add.at(out, key, g)
    return out


@defop(nin=1, samples=_scatter_cases, public=None)
def scatter_add(xp, g, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated indices add up)."""
    out = xp.zeros(shape, dtype=g.dtype)
    if is_basic(key):  # no index can repeat: a plain write is enough
        out[key] = g
    elif xp is numpy:
        numpy.add.at(out, key, g)
    else:  # pragma: no cover - GPU
        import cupyx  # noqa: PLC0415
        cupyx.scatter_add(out, key, g)
    return out


@scatter_add.vjp
def _(g, key):
    return (T.getitem(g, key),)


def _setitem_cases(rng):
    return [Case((draw(rng, (4, 5)), draw(rng, (4,))), dict(key=(slice(None), 1)), ref=_np_setitem),
            Case((draw(rng, (4, 5)), draw(rng, (1,))), dict(key=2), ref=_np_setitem),
            Case((draw(rng, (4, 5)), draw(rng, (2, 5))), dict(key=numpy.array([3, 0])), ref=_np_setitem),
            Case((draw(rng, (4, 5)), draw(rng, (3, 2))), dict(key=(slice(0, 3), slice(None, None, -3))),
                 ref=_np_setitem),
            Case((draw(rng, (3,)), draw(rng, ())), dict(key=Ellipsis), ref=_np_setitem)]


def _np_setitem(a, v, key):
    out = a.copy()
    out[key] = v
    return out


@defop(nin=2, samples=_setitem_cases, public=None)
def setitem(xp, a, v, key):
    """A copy of ``a`` with ``v`` written at ``key`` (the recorded form of ``a[key] = v``)."""
    key = raw_key(key)
    if not is_basic(key):
        where = xp.arange(a.size).reshape(a.shape)[key]
        if xp.unique(where).size != where.size:
            raise ValueError("a[key] = v with repeated indices in key is ambiguous to differentiate (NumPy "
                             "keeps one of the writes, unspecified which); use distinct indices")
    out = a.copy()
    out[key] = v
    return out


@setitem.vjp
def _(g, key, shapes, needs):
    ga = gv = None
    if needs[0]:
        ga = T.setitem(g, 0.0, key)
    if needs[1]:
        gv = T.sum_to(T.getitem(g, key), shapes[1])
    return (ga, gv)

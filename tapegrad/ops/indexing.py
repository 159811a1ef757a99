"""Indexing: ``__getitem__`` with a scatter-add VJP, ``a[key] = v``, and the index ops PyTorch needs
(``gather``, ``take_along_axis``, ``index_select``, ``masked_fill``, ``scatter``), plus ``clone`` and ``t``."""
from __future__ import annotations

from typing import Any

import numpy

from .._core.array import OPS as T, Array, raw_key
from ..backend import backend_for, xp_of
from .registry import defop
from .samples import Case, draw


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


@defop(nin=1, linear=True, samples=_getitem_cases, public=None)
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


@defop(nin=1, linear=True, samples=_scatter_cases, public=None)
def scatter_add(xp, g, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated indices add up)."""
    out = xp.zeros(shape, dtype=g.dtype)
    if is_basic(key):  # no index can repeat: a plain write is enough
        out[key] = g
    else:
        backend_for(xp).scatter_add(out, key, g)
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


@defop(nin=2, linear=True, samples=_setitem_cases, public=None)
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


# --- PyTorch-style indexing ops: gather, take_along_axis, index_select, masked_fill, scatter, clone ---------


def _raw(v: Any) -> Any:
    return v._data if isinstance(v, Array) else v


def along_key(xp: Any, index: Any, extents: tuple, axis: int) -> tuple:
    """An advanced-index key with ``a[key][p] == a[p with p[axis] replaced by index[p]]``.

    ``extents[d]`` (``d != axis``) is the length of the ``arange`` put at dimension ``d``: the index's
    own size for PyTorch's ``gather`` (which reads a leading block of ``a``), ``a``'s size for NumPy's
    ``take_along_axis`` (which broadcasts the index against ``a``).
    """
    idx = xp.asarray(index)
    nd = len(extents)
    key = []
    for d in range(nd):
        if d == axis:
            key.append(idx)
        else:
            s = [1] * nd
            s[d] = extents[d]
            key.append(xp.arange(extents[d]).reshape(s))
    return tuple(key)


def _int_index(xp: Any, index: Any) -> Any:
    idx = xp.asarray(_raw(index))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"index arrays must hold integers, got {idx.dtype}")
    return idx


def _np_gather(a, index, axis):
    """Reference: PyTorch's definition, one element at a time."""
    out = numpy.empty(index.shape, dtype=a.dtype)
    for p in numpy.ndindex(index.shape):
        q = list(p)
        q[axis] = index[p]
        out[p] = a[tuple(q)]
    return out


def _gather_cases(rng):
    x = draw(rng, (3, 4))
    return [Case((x, rng.integers(0, 3, size=(5, 4))), dict(axis=0), ref=_np_gather, wrt=(0,)),
            Case((x, rng.integers(0, 4, size=(3, 6))), dict(axis=1), ref=_np_gather, wrt=(0,)),
            # an index smaller than the input in the other dimension reads a leading block
            Case((x, numpy.array([[0, 0], [3, 1]])), dict(axis=-1), ref=_np_gather, wrt=(0,)),
            Case((draw(rng, (2, 3, 4)), rng.integers(0, 3, size=(2, 2, 4))), dict(axis=1), ref=_np_gather,
                 wrt=(0,)),
            Case((draw(rng, (5,)), numpy.array([4, 0, 0, 2])), dict(axis=0), ref=_np_gather, wrt=(0,))]


@defop(nin=2, linear=True, public=None, samples=_gather_cases)
def gather(xp, a, index, axis):
    """PyTorch's ``gather``: ``out[p] = a[p with p[axis] = index[p]]``; ``out`` has ``index``'s shape.

    ``index`` has ``a``'s number of dimensions and is no larger than ``a`` outside ``axis``; repeated
    indices are allowed (their gradients add up). ``index`` gets no gradient.
    """
    idx = _int_index(xp, index)
    if idx.ndim != a.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dimensions, the input has {a.ndim}")
    ax = axis % max(a.ndim, 1)
    return a[along_key(xp, idx, idx.shape, ax)] if a.ndim else a[()]


@gather.vjp
def _(g, index, shapes, axis):
    shape = shapes[0]
    if not shape:
        return (g, None)
    idx = _raw(index)
    return (T.scatter_add(g, shape, along_key(_xp_of(idx), idx, idx.shape, axis % len(shape))), None)


def _take_along_cases(rng):
    x = draw(rng, (3, 4))
    return [Case((x, rng.integers(0, 3, size=(2, 4))), dict(axis=0), wrt=(0,)),
            Case((x, rng.integers(0, 4, size=(3, 5))), dict(axis=-1), wrt=(0,)),
            Case((x, rng.integers(0, 4, size=(1, 2))), dict(axis=1), wrt=(0,)),  # index broadcast
            Case((x, numpy.array([11, 0, 0, 5])), dict(axis=None), wrt=(0,)),
            Case((draw(rng, (2, 1, 4)), rng.integers(0, 4, size=(2, 3, 2))), dict(axis=2), wrt=(0,))]


@defop(nin=2, linear=True, samples=_take_along_cases)
def take_along_axis(xp, arr, indices, axis):
    """NumPy's ``take_along_axis`` (``axis=None`` reads the flattened ``arr``); ``indices`` gets no gradient."""
    idx = _int_index(xp, indices)
    if axis is None:
        return arr.reshape(-1)[idx]
    return xp.take_along_axis(arr, idx, axis=axis)


@take_along_axis.vjp
def _(g, indices, shapes, axis):
    shape = shapes[0]
    idx = _raw(indices)
    if axis is None:
        size = int(numpy.prod(shape))
        return (T.reshape(T.scatter_add(g, (size,), (idx,)), shape), None)
    # arange(shape[d]) at the other dimensions broadcasts exactly as take_along_axis broadcasts
    return (T.scatter_add(g, shape, along_key(_xp_of(idx), idx, shape, axis % len(shape))), None)


def _index_select_cases(rng):
    x = draw(rng, (3, 4))
    return [Case((x, numpy.array([2, 0, 2])), dict(axis=0), ref=_np_index_select, wrt=(0,)),
            Case((x, numpy.array([3, 1, 1, 0, 3])), dict(axis=1), ref=_np_index_select, wrt=(0,)),
            Case((x, numpy.array(1)), dict(axis=-1), ref=_np_index_select, wrt=(0,)),
            Case((draw(rng, (2, 3, 2)), numpy.array([1, 1])), dict(axis=1), ref=_np_index_select, wrt=(0,))]


def _np_index_select(a, index, axis):
    return numpy.take(a, numpy.asarray(index).reshape(-1), axis=axis)


@defop(nin=2, linear=True, public=None, samples=_index_select_cases)
def index_select(xp, a, index, axis):
    """PyTorch's ``index_select``: the entries ``index`` (1-D or 0-d) of ``a`` along ``axis``."""
    return xp.take(a, _int_index(xp, index).reshape(-1), axis=axis)


@index_select.vjp
def _(g, index, shapes, axis):
    shape = shapes[0]
    ax = axis % len(shape)
    key = (slice(None),) * ax + (_raw(index).reshape(-1),)
    return (T.scatter_add(g, shape, key), None)


def _masked_fill_cases(rng):
    x = draw(rng, (3, 4))
    m = rng.random((3, 4)) > 0.5
    return [Case((x, m, 0.5), ref=_np_masked_fill, wrt=(0,)),
            Case((x, m, draw(rng, ())), ref=_np_masked_fill),  # a 0-d value gets the masked gradient
            Case((x, numpy.array([True, False, False, True]), -1.0), ref=_np_masked_fill, wrt=(0,)),
            Case((draw(rng, (3, 1)), m, draw(rng, ())), ref=_np_masked_fill)]  # broadcast input


def _np_masked_fill(a, mask, value):
    return numpy.where(mask, value, a).astype(a.dtype)


@defop(nin=3, broadcast=True, public=None, samples=_masked_fill_cases)
def masked_fill(xp, a, mask, value):
    """``value`` where the boolean ``mask`` is True, ``a`` elsewhere (``a``'s dtype; shapes broadcast)."""
    dt = a.dtype if hasattr(a, "dtype") else xp.asarray(a).dtype
    return xp.where(mask, value, a).astype(dt, copy=False)


@masked_fill.vjp
def _(g, mask, needs):
    return (T.where(mask, 0.0, g) if needs[0] else None, None, T.where(mask, g, 0.0) if needs[2] else None)


def _np_scatter_torch(a, index, src, axis):
    """Reference: PyTorch's ``scatter`` one element at a time (distinct indices)."""
    out = a.copy()
    for p in numpy.ndindex(index.shape):
        q = list(p)
        q[axis] = index[p]
        out[tuple(q)] = src[p] if isinstance(src, numpy.ndarray) and src.ndim else src
    return out


def _scatter_torch_cases(rng):
    x = draw(rng, (3, 4))
    perm0 = numpy.stack([rng.permutation(3) for _ in range(4)], axis=1)  # distinct along axis 0
    perm1 = numpy.stack([rng.permutation(4)[:2] for _ in range(3)], axis=0)
    return [Case((x, perm0, draw(rng, (3, 4))), dict(axis=0), ref=_np_scatter_torch, wrt=(0, 2)),
            Case((x, perm1, draw(rng, (3, 5))), dict(axis=1), ref=_np_scatter_torch, wrt=(0, 2)),
            Case((x, perm1[:2], 0.25), dict(axis=-1), ref=_np_scatter_torch, wrt=(0,))]


@defop(nin=3, linear=True, public=None, samples=_scatter_torch_cases)
def scatter(xp, a, index, src, axis):
    """PyTorch's ``scatter``: a copy of ``a`` with ``out[p with p[axis] = index[p]] = src[p]``.

    ``src`` is a tensor at least as large as ``index`` (its leading block is used) or a scalar. As in
    PyTorch, which of several writes to one place wins is unspecified; differentiate with distinct
    indices only.
    """
    idx = _int_index(xp, index)
    ax = axis % a.ndim
    out = a.copy()
    if hasattr(src, "ndim") and src.ndim:
        src = src[tuple(slice(0, n) for n in idx.shape)]
    out[along_key(xp, idx, idx.shape, ax)] = src
    return out


@scatter.vjp
def _(g, index, shapes, axis, needs):
    shape = shapes[0]
    idx = _raw(index)
    xp = _xp_of(idx)
    key = along_key(xp, idx, idx.shape, axis % len(shape))
    ga = gs = None
    if needs[0]:
        hit = xp.zeros(shape, dtype=bool)
        hit[key] = True
        ga = T.where(hit, 0.0, g)
    if needs[2]:
        gs = T.getitem(g, key)
        if tuple(gs.shape) != tuple(shapes[2]):
            gs = T.scatter_add(gs, shapes[2], tuple(slice(0, n) for n in idx.shape))
    return (ga, None, gs)


def _clone_cases(rng):
    return [Case((draw(rng, s),), ref=numpy.copy) for s in ((), (3,), (2, 3))]


@defop(nin=1, linear=True, elementwise=True, public=None, samples=_clone_cases)
def clone(xp, a):
    """A copy of ``a`` in new memory (PyTorch's ``clone``)."""
    return xp.array(a, copy=True)


@clone.vjp
def _(g):
    return (g,)


def _xp_of(buf: Any) -> Any:
    return xp_of((buf,))


def _t_cases(rng):
    return [Case((draw(rng, s),), ref=numpy.transpose) for s in ((), (3,), (2, 3))]


@defop(nin=1, linear=True, public=None, samples=_t_cases)
def t(xp, a):
    """PyTorch's ``t()``: the transpose of a tensor of at most 2 dimensions (its own op, so that its
    backward node is named ``TBackward0`` as in PyTorch, apart from ``permute``'s)."""
    if a.ndim > 2:
        raise ValueError(f"t() expects a tensor with <= 2 dimensions, but self is {a.ndim}D")
    return xp.transpose(a)


@t.vjp
def _(g):
    return (T.t(g),)

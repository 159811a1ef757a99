"""Shape ops: views and rearrangements; their VJPs undo the rearrangement."""
from __future__ import annotations

import numpy

from .._core.array import OPS as T
from ..backend import xp_of
from .registry import defop
from .samples import Case, draw


def _reshape_cases(rng):
    return [Case((draw(rng, (2, 3)),), dict(shape=(3, 2))),
            Case((draw(rng, (2, 3, 4)),), dict(shape=(-1, 4))),
            Case((draw(rng, ()),), dict(shape=(1, 1)))]


@defop(nin=1, linear=True, samples=_reshape_cases)
def reshape(xp, a, shape):
    return xp.reshape(a, shape)


@reshape.vjp
def _(g, shapes):
    return (T.reshape(g, shapes[0]),)


def _transpose_cases(rng):
    return [Case((draw(rng, (2, 3)),)), Case((draw(rng, (2, 3, 4)),), dict(axes=(1, 2, 0))),
            Case((draw(rng, (3,)),))]


@defop(linear=True, samples=_transpose_cases)
def transpose(xp, a, axes=None):
    return xp.transpose(a, axes)


@transpose.vjp
def _(g, axes):
    if axes is None:
        return (T.transpose(g),)
    return (T.transpose(g, tuple(numpy.argsort([int(a) % len(axes) for a in axes]))),)


def _broadcast_cases(rng):
    return [Case((draw(rng, (3,)),), dict(shape=(2, 3))), Case((draw(rng, (2, 1)),), dict(shape=(2, 4))),
            Case((draw(rng, ()),), dict(shape=(2, 2)))]


@defop(nin=1, linear=True, samples=_broadcast_cases)
def broadcast_to(xp, array, shape):
    return xp.broadcast_to(array, shape)


@broadcast_to.vjp
def _(g, shapes):
    return (T.sum_to(g, shapes[0]),)


def _moveaxis_cases(rng):
    return [Case((draw(rng, (2, 3, 4)),), dict(source=0, destination=-1)),
            Case((draw(rng, (2, 3, 4)),), dict(source=(0, 1), destination=(2, 0)))]


@defop(nin=1, linear=True, samples=_moveaxis_cases)
def moveaxis(xp, a, source, destination):
    return xp.moveaxis(a, source, destination)


@moveaxis.vjp
def _(g, source, destination):
    return (T.moveaxis(g, destination, source),)


def _swapaxes_cases(rng):
    return [Case((draw(rng, (2, 3, 4)),), dict(axis1=0, axis2=2)), Case((draw(rng, (2, 3)),), dict(axis1=1, axis2=0))]


@defop(nin=1, linear=True, samples=_swapaxes_cases)
def swapaxes(xp, a, axis1, axis2):
    return xp.swapaxes(a, axis1, axis2)


@swapaxes.vjp
def _(g, axis1, axis2):
    return (T.swapaxes(g, axis1, axis2),)


def _expand_cases(rng):
    return [Case((draw(rng, (2, 3)),), dict(axis=0)), Case((draw(rng, (2, 3)),), dict(axis=-1)),
            Case((draw(rng, (2, 3)),), dict(axis=(0, 2)))]


@defop(nin=1, linear=True, samples=_expand_cases)
def expand_dims(xp, a, axis):
    return xp.expand_dims(a, axis)


@expand_dims.vjp
def _(g, shapes):
    return (T.reshape(g, shapes[0]),)


def _squeeze_cases(rng):
    return [Case((draw(rng, (2, 1, 3, 1)),)), Case((draw(rng, (2, 1, 3, 1)),), dict(axis=1)),
            Case((draw(rng, (1, 3, 1)),), dict(axis=(0, 2)))]


@defop(linear=True, samples=_squeeze_cases)
def squeeze(xp, a, axis=None):
    return xp.squeeze(a, axis)


@squeeze.vjp
def _(g, shapes):
    return (T.reshape(g, shapes[0]),)


# ----------------------------------------------------------------------------------------------
# Shared helpers (pure Python on shapes and index arrays; the VJPs below use tapegrad ops only)
# ----------------------------------------------------------------------------------------------

def _axis(axis, ndim: int) -> int:
    """One ``axis`` as a non-negative int, with NumPy's bounds check."""
    a = int(axis)
    if not -ndim <= a < ndim:
        raise numpy.exceptions.AxisError(a, ndim)
    return a % ndim


def _along(axis: int, index) -> tuple:
    """The key that applies ``index`` (a slice, an int or an index array) to one axis."""
    return (slice(None),) * axis + (index,)


def _pieces(g, axis: int, sizes, shapes):
    """Cut ``g`` along ``axis`` into consecutive pieces of ``sizes``, each reshaped to ``shapes[i]``."""
    out, start = [], 0
    for n, s in zip(sizes, shapes):
        piece = T.getitem(g, _along(axis, slice(start, start + n)))
        out.append(piece if tuple(piece.shape) == tuple(s) else T.reshape(piece, s))
        start += n
    return out


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _host(x):
    """A static index-like parameter (maybe a tapegrad or CuPy array) as a host NumPy value."""
    x = getattr(x, "_data", x)
    if hasattr(x, "get") and not isinstance(x, (numpy.ndarray, numpy.generic, dict)):
        x = x.get()  # CuPy -> NumPy
    return numpy.asarray(x)


def _dev(g, idx):
    """Index array ``idx`` (NumPy) on the device of the tapegrad array ``g``."""
    xp = xp_of((g._data,))
    return idx if xp is numpy else xp.asarray(idx)


def _ref(fn):
    """Reference for a variadic op: NumPy's function takes the arrays as one sequence."""
    return lambda *xs, **p: fn(list(xs), **p)


def _kw(**kw):
    """Keyword arguments without the ones left at None (so NumPy/CuPy apply their defaults)."""
    return {k: v for k, v in kw.items() if v is not None}


def _distinct(rng, shape):
    """Well-separated values (no ties), for sort."""
    return rng.permutation(numpy.arange(_prod(shape), dtype=numpy.float64)).reshape(shape) * 0.25 - 1


# ----------------------------------------------------------------------------------------------
# Joining: concatenate, stack, vstack, hstack (called with one sequence of arrays, as in NumPy)
# ----------------------------------------------------------------------------------------------

def _concatenate_cases(rng):
    return [Case((draw(rng, (2, 3)), draw(rng, (1, 3))), dict(axis=0), ref=_ref(numpy.concatenate)),
            Case((draw(rng, (2, 3, 4)), draw(rng, (2, 1, 4)), draw(rng, (2, 2, 4))), dict(axis=1),
                 ref=_ref(numpy.concatenate)),
            Case((draw(rng, (2, 3, 2)), draw(rng, (2, 3, 3))), dict(axis=-1), ref=_ref(numpy.concatenate)),
            Case((draw(rng, (3,)), draw(rng, (4,))), {}, ref=_ref(numpy.concatenate)),
            Case((draw(rng, (2, 3)), draw(rng, (4,)), draw(rng, ())), dict(axis=None), ref=_ref(numpy.concatenate)),
            Case((draw(rng, (2, 2)),), dict(axis=-2), ref=_ref(numpy.concatenate))]


@defop(linear=True, seq=True, samples=_concatenate_cases)
def concatenate(xp, *arrays, axis=0, dtype=None, casting="same_kind"):
    """Join a sequence of arrays along an existing axis (``axis=None`` flattens them first)."""
    return xp.concatenate(arrays, axis=axis, **_kw(dtype=dtype), casting=casting)


@concatenate.vjp
def _(g, shapes, axis, needs):
    if axis is None:
        gs = _pieces(g, 0, [_prod(s) for s in shapes], shapes)
    else:
        ax = _axis(axis, len(shapes[0]))
        gs = _pieces(g, ax, [s[ax] for s in shapes], shapes)
    return tuple(gi if need else None for gi, need in zip(gs, needs))


def _stack_cases(rng):
    return [Case((draw(rng, (2, 3)), draw(rng, (2, 3))), {}, ref=_ref(numpy.stack)),
            Case((draw(rng, (2, 3, 4)), draw(rng, (2, 3, 4)), draw(rng, (2, 3, 4))), dict(axis=2),
                 ref=_ref(numpy.stack)),
            Case((draw(rng, (2, 3)), draw(rng, (2, 3))), dict(axis=-1), ref=_ref(numpy.stack)),
            Case((draw(rng, ()), draw(rng, ()), draw(rng, ())), {}, ref=_ref(numpy.stack)),
            Case((draw(rng, (3,)),), dict(axis=-2), ref=_ref(numpy.stack))]


@defop(linear=True, seq=True, samples=_stack_cases)
def stack(xp, *arrays, axis=0, dtype=None, casting="same_kind"):
    """Join a sequence of same-shaped arrays along a new axis."""
    return xp.stack(arrays, axis=axis, **_kw(dtype=dtype), casting=casting)


@stack.vjp
def _(g, shapes, axis, needs):
    ax = _axis(axis, len(shapes[0]) + 1)
    return tuple(T.getitem(g, _along(ax, i)) if need else None for i, need in enumerate(needs))


def _vstack_cases(rng):
    return [Case((draw(rng, (2, 3)), draw(rng, (1, 3))), ref=_ref(numpy.vstack)),
            Case((draw(rng, (3,)), draw(rng, (3,)), draw(rng, (2, 3))), ref=_ref(numpy.vstack)),
            Case((draw(rng, (2, 3, 4)), draw(rng, (1, 3, 4))), ref=_ref(numpy.vstack)),
            Case((draw(rng, ()), draw(rng, ())), ref=_ref(numpy.vstack))]


@defop(linear=True, seq=True, samples=_vstack_cases)
def vstack(xp, *tup, dtype=None, casting="same_kind"):
    """Stack a sequence of arrays row-wise (1-D arrays become rows)."""
    return xp.vstack(tup, **_kw(dtype=dtype), casting=casting)


@vstack.vjp
def _(g, shapes, needs):
    gs = _pieces(g, 0, [s[0] if len(s) >= 2 else 1 for s in shapes], shapes)
    return tuple(gi if need else None for gi, need in zip(gs, needs))


def _hstack_cases(rng):
    return [Case((draw(rng, (2, 3)), draw(rng, (2, 1))), ref=_ref(numpy.hstack)),
            Case((draw(rng, (3,)), draw(rng, (2,)), draw(rng, ())), ref=_ref(numpy.hstack)),
            Case((draw(rng, (2, 3, 4)), draw(rng, (2, 2, 4))), ref=_ref(numpy.hstack)),
            Case((draw(rng, ()), draw(rng, ())), ref=_ref(numpy.hstack))]


@defop(linear=True, seq=True, samples=_hstack_cases)
def hstack(xp, *tup, dtype=None, casting="same_kind"):
    """Stack a sequence of arrays column-wise (joins 1-D arrays end to end)."""
    return xp.hstack(tup, **_kw(dtype=dtype), casting=casting)


@hstack.vjp
def _(g, shapes, needs):
    # NumPy joins along axis 0 when the first array is (at most) 1-D, else along axis 1.
    ax = 0 if len(shapes[0]) <= 1 else 1
    gs = _pieces(g, ax, [s[ax] if len(s) else 1 for s in shapes], shapes)
    return tuple(gi if need else None for gi, need in zip(gs, needs))


# ----------------------------------------------------------------------------------------------
# Splitting: plain-Python compositions of getitem slices (a variable number of outputs)
# ----------------------------------------------------------------------------------------------

def _as_array(ary):
    return ary if hasattr(ary, "shape") and hasattr(ary, "ndim") else numpy.asarray(ary)


def _split_at(ary, div_points, axis: int) -> list:
    return [T.getitem(ary, _along(axis, slice(int(st), int(end))))
            for st, end in zip(div_points[:-1], div_points[1:])]


def array_split(ary, indices_or_sections, axis=0) -> list:
    """NumPy's ``array_split``: a list of differentiable slices of ``ary`` (sections may be unequal)."""
    ary = _as_array(ary)
    ax = _axis(axis, ary.ndim)
    total = ary.shape[ax]
    if numpy.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extras = divmod(total, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        points = numpy.cumsum(sizes).tolist()
    else:
        points = [0] + [int(i) for i in _host(indices_or_sections).reshape(-1)] + [total]
    return _split_at(ary, points, ax)


def split(ary, indices_or_sections, axis=0) -> list:
    """NumPy's ``split``: like ``array_split`` but an int must divide the axis evenly."""
    ary = _as_array(ary)
    if numpy.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if ary.shape[_axis(axis, ary.ndim)] % sections:
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections) -> list:
    """NumPy's ``hsplit``: split along axis 1 (axis 0 for 1-D arrays)."""
    ary = _as_array(ary)
    if ary.ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


def vsplit(ary, indices_or_sections) -> list:
    """NumPy's ``vsplit``: split along axis 0 (arrays of 2 or more dimensions)."""
    ary = _as_array(ary)
    if ary.ndim < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections) -> list:
    """NumPy's ``dsplit``: split along axis 2 (arrays of 3 or more dimensions)."""
    ary = _as_array(ary)
    if ary.ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


#: Public functions built from registered ops rather than declared as ops (their number of
#: outputs depends on the arguments). To be exposed in ``tapegrad.np`` next to the registry ops.
COMPOSITES = {"split": split, "array_split": array_split, "hsplit": hsplit, "vsplit": vsplit,
              "dsplit": dsplit}


# ----------------------------------------------------------------------------------------------
# Rearranging: flip, tile, repeat, ravel, flatten
# ----------------------------------------------------------------------------------------------

def _flip_cases(rng):
    return [Case((draw(rng, (2, 3, 4)),)), Case((draw(rng, (2, 3, 4)),), dict(axis=0)),
            Case((draw(rng, (2, 3, 4)),), dict(axis=-1)), Case((draw(rng, (2, 3, 4)),), dict(axis=(0, -1))),
            Case((draw(rng, (5,)),), dict(axis=0))]


@defop(linear=True, samples=_flip_cases)
def flip(xp, m, axis=None):
    return xp.flip(m, axis=axis)


@flip.vjp
def _(g, axis):
    return (T.flip(g, axis),)


def _tile_cases(rng):
    return [Case((draw(rng, (2, 3)),), dict(reps=2)), Case((draw(rng, (2, 3)),), dict(reps=(2, 1))),
            Case((draw(rng, (3,)),), dict(reps=(2, 2))), Case((draw(rng, (2, 1, 3)),), dict(reps=(2, 3))),
            Case((draw(rng, ()),), dict(reps=(3,))), Case((draw(rng, (2, 3)),), dict(reps=(2, 1, 2)))]


@defop(nin=1, linear=True, samples=_tile_cases)
def tile(xp, A, reps):
    return xp.tile(A, reps)


@tile.vjp
def _(g, shapes, reps):
    s = tuple(shapes[0])
    reps = tuple(int(r) for r in numpy.atleast_1d(_host(reps)))
    d = max(len(s), len(reps))
    sp = (1,) * (d - len(s)) + s
    rp = (1,) * (d - len(reps)) + reps
    # Tiling lays copies outermost: axis i of the result factors as (rp[i], sp[i]).
    g = T.reshape(g, tuple(n for pair in zip(rp, sp) for n in pair))
    g = T.sum(g, axis=tuple(range(0, 2 * d, 2)))
    return (T.reshape(g, s),)


def _repeat_cases(rng):
    return [Case((draw(rng, (2, 3)),), dict(repeats=2)), Case((draw(rng, (2, 3)),), dict(repeats=2, axis=1)),
            Case((draw(rng, (2, 3, 4)),), dict(repeats=numpy.array([1, 0, 3]), axis=-2)),
            Case((draw(rng, (2, 3)),), dict(repeats=numpy.array([2, 1, 1, 0, 3, 1]))),
            Case((draw(rng, (2, 3)),), dict(repeats=[3], axis=0)),
            Case((draw(rng, ()),), dict(repeats=3))]


@defop(nin=1, linear=True, samples=_repeat_cases)
def repeat(xp, a, repeats, axis=None):
    """``repeats``: an int or one count per element along ``axis`` (static, not differentiated)."""
    reps = _host(repeats)
    return xp.repeat(a, int(reps) if reps.ndim == 0 else (reps if xp is numpy else xp.asarray(reps)), axis=axis)


@repeat.vjp
def _(g, shapes, repeats, axis):
    s = tuple(shapes[0])
    base = (_prod(s),) if axis is None else s
    ax = 0 if axis is None else _axis(axis, len(s))
    reps = _host(repeats)
    if reps.size == 1:  # every element repeated r times: sum the r copies
        r = int(reps.reshape(()))
        g = T.sum(T.reshape(g, base[:ax] + (base[ax], r) + base[ax + 1:]), axis=ax + 1)
    else:  # element j of the axis feeds reps[j] consecutive slots: segment sums
        idx = numpy.repeat(numpy.arange(base[ax]), reps)
        g = T.scatter_add(g, base, _along(ax, _dev(g, idx)))
    return (T.reshape(g, s),)


def _ravel_cases(rng):
    return [Case((draw(rng, (2, 3, 4)),)), Case((draw(rng, (2, 3)),), dict(order="F")),
            Case((draw(rng, (2, 3, 4)),), dict(order="F")), Case((draw(rng, ()),))]


def _check_order(name, order):
    if order not in ("C", "F"):
        raise NotImplementedError(f"{name}: order={order!r} depends on memory layout; tapegrad supports "
                                  "order 'C' and 'F'")


@defop(linear=True, samples=_ravel_cases)
def ravel(xp, a, order="C"):
    _check_order("ravel", order)
    return xp.ravel(a, order=order)


def _unravel(g, shape, order):
    if order == "F":  # ravel(a, 'F') == ravel(a.T)
        return T.transpose(T.reshape(g, tuple(shape)[::-1]))
    return T.reshape(g, shape)


@ravel.vjp
def _(g, shapes, order):
    return (_unravel(g, shapes[0], order),)


def _np_flatten(a, order="C"):
    return numpy.asarray(a).flatten(order)


@defop(linear=True, public=None, samples=lambda rng: [Case(c.args, c.params, ref=_np_flatten)
                                                      for c in _ravel_cases(rng)])
def flatten(xp, a, order="C"):
    """The ``ndarray.flatten`` method: ``ravel`` that always copies (NumPy has no ``np.flatten``)."""
    _check_order("flatten", order)
    return a.flatten(order)


@flatten.vjp
def _(g, shapes, order):
    return (_unravel(g, shapes[0], order),)


# ----------------------------------------------------------------------------------------------
# pad
# ----------------------------------------------------------------------------------------------

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_widths(pad_width, ndim: int) -> list:
    w = numpy.broadcast_to(_host(pad_width), (ndim, 2))
    return [(int(b), int(a)) for b, a in w]


def _pad_index(n: int, before: int, after: int, mode: str) -> numpy.ndarray:
    """For the gather modes, which input element each output position along one axis copies."""
    i = numpy.arange(-before, n + after)
    if mode == "edge":
        return numpy.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    if mode == "reflect":  # mirror about the edge elements: period 2(n-1)
        if n == 1:
            return numpy.zeros_like(i)
        p = 2 * (n - 1)
        j = i % p
        return numpy.where(j < n, j, p - j)
    p = 2 * n  # symmetric: mirror including the edge elements
    j = i % p
    return numpy.where(j < n, j, p - 1 - j)


def _pad_cases(rng):
    x = draw(rng, (2, 3, 4))
    return [Case((draw(rng, (2, 3)),), dict(pad_width=1)),
            Case((draw(rng, (2, 3)),), dict(pad_width=((1, 0), (2, 3)), constant_values=1.5)),
            Case((x,), dict(pad_width=((0, 1), (1, 1), (2, 0)), mode="constant", constant_values=((0, 1), (2, 3), (4, 5)))),
            Case((x,), dict(pad_width=((1, 2), (0, 1), (3, 1)), mode="edge")),
            Case((x,), dict(pad_width=((1, 1), (2, 4), (3, 5)), mode="reflect")),
            Case((draw(rng, (3,)),), dict(pad_width=(5, 7), mode="reflect")),
            Case((x,), dict(pad_width=((2, 1), (0, 4), (5, 1)), mode="symmetric")),
            Case((x,), dict(pad_width=((3, 1), (1, 2), (0, 9)), mode="wrap")),
            Case((draw(rng, (1, 3)),), dict(pad_width=2, mode="reflect"))]


@defop(nin=1, linear=True, samples=_pad_cases)
def pad(xp, array, pad_width, mode="constant", *, constant_values=None, reflect_type=None):
    """Differentiable modes: constant, edge, reflect, symmetric, wrap (reflect_type 'even' only)."""
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported by tapegrad; supported modes: "
                                  f"{', '.join(_PAD_MODES)}")
    if mode != "constant" and constant_values is not None:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {{'constant_values'}}")
    if mode not in ("reflect", "symmetric") and reflect_type is not None:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {{'reflect_type'}}")
    if reflect_type not in (None, "even"):
        raise NotImplementedError("pad: only reflect_type='even' is supported")
    kw = {"constant_values": 0 if constant_values is None else _host(constant_values)} if mode == "constant" else {}
    return xp.pad(array, _host(pad_width) if xp is numpy else pad_width, mode=mode, **kw)


@pad.vjp
def _(g, shapes, pad_width, mode):
    s = tuple(shapes[0])
    widths = _pad_widths(pad_width, len(s))
    if mode == "constant":
        return (T.getitem(g, tuple(slice(b, b + n) for (b, _a), n in zip(widths, s))),)
    # The other modes gather along each axis in turn; undo each gather with a scatter-add.
    for ax, ((b, a), n) in enumerate(zip(widths, s)):
        if b or a:
            idx = _pad_index(n, b, a, mode)
            g = T.scatter_add(g, tuple(g.shape[:ax]) + (n,) + tuple(g.shape[ax + 1:]), _along(ax, _dev(g, idx)))
    return (g,)


# ----------------------------------------------------------------------------------------------
# Diagonals and triangles
# ----------------------------------------------------------------------------------------------

def _diag_index(n1: int, n2: int, k: int):
    """Row and column indices of the ``k``-th diagonal of an ``n1 x n2`` matrix."""
    length = max(0, min(n1 - max(-k, 0), n2 - max(k, 0)))
    i = numpy.arange(length)
    return i + max(-k, 0), i + max(k, 0)


def _diag_cases(rng):
    return [Case((draw(rng, (3,)),)), Case((draw(rng, (3,)),), dict(k=1)), Case((draw(rng, (2,)),), dict(k=-2)),
            Case((draw(rng, (3, 3)),)), Case((draw(rng, (3, 4)),), dict(k=1)), Case((draw(rng, (4, 3)),), dict(k=-2)),
            Case((draw(rng, (2, 3)),), dict(k=5))]


@defop(linear=True, samples=_diag_cases)
def diag(xp, v, k=0):
    """1-D -> 2-D (a matrix with ``v`` on diagonal ``k``) or 2-D -> 1-D (diagonal ``k``, a copy)."""
    out = xp.diag(v, k)
    return out.copy() if v.ndim == 2 else out


@diag.vjp
def _(g, shapes, k):
    s = tuple(shapes[0])
    if len(s) == 1:
        rows, cols = _diag_index(s[0] + abs(k), s[0] + abs(k), k)
        return (T.getitem(g, (_dev(g, rows), _dev(g, cols))),)
    rows, cols = _diag_index(s[0], s[1], k)
    return (T.scatter_add(g, s, (_dev(g, rows), _dev(g, cols))),)


def _diagonal_cases(rng):
    return [Case((draw(rng, (3, 4)),)), Case((draw(rng, (3, 4)),), dict(offset=-1)),
            Case((draw(rng, (2, 3, 4)),), dict(offset=1, axis1=1, axis2=2)),
            Case((draw(rng, (2, 3, 4)),), dict(offset=-1, axis1=-1, axis2=0)),
            Case((draw(rng, (3, 2, 3)),), dict(axis1=2, axis2=0)),
            Case((draw(rng, (2, 3)),), dict(offset=4))]


@defop(linear=True, samples=_diagonal_cases)
def diagonal(xp, a, offset=0, axis1=0, axis2=1):
    """The diagonal(s), as a new (writable) array rather than NumPy's read-only view."""
    return xp.diagonal(a, offset, axis1, axis2).copy()


@diagonal.vjp
def _(g, shapes, offset, axis1, axis2):
    s = tuple(shapes[0])
    a1, a2 = _axis(axis1, len(s)), _axis(axis2, len(s))
    rest = tuple(n for i, n in enumerate(s) if i not in (a1, a2))
    rows, cols = _diag_index(s[a1], s[a2], offset)
    # diagonal(a) == moveaxis(a, (a1, a2), (-2, -1))[..., rows, cols]
    z = T.scatter_add(g, rest + (s[a1], s[a2]), (Ellipsis, _dev(g, rows), _dev(g, cols)))
    return (T.moveaxis(z, (-2, -1), (a1, a2)),)


def _tri_cases(rng):
    return [Case((draw(rng, (3, 4)),)), Case((draw(rng, (3, 4)),), dict(k=1)),
            Case((draw(rng, (2, 3, 4)),), dict(k=-1)), Case((draw(rng, (4, 3)),), dict(k=-5)),
            Case((draw(rng, (3,)),), dict(k=0))]


@defop(linear=True, samples=_tri_cases)
def tril(xp, m, k=0):
    return xp.tril(m, k)


@tril.vjp
def _(g, shapes, k):
    gi = T.tril(g, k)
    return (gi if tuple(gi.shape) == tuple(shapes[0]) else T.sum_to(gi, shapes[0]),)  # 1-D m broadcasts


@defop(linear=True, samples=_tri_cases)
def triu(xp, m, k=0):
    return xp.triu(m, k)


@triu.vjp
def _(g, shapes, k):
    gi = T.triu(g, k)
    return (gi if tuple(gi.shape) == tuple(shapes[0]) else T.sum_to(gi, shapes[0]),)


# ----------------------------------------------------------------------------------------------
# sort
# ----------------------------------------------------------------------------------------------

def _sort_cases(rng):
    return [Case((_distinct(rng, (2, 3, 4)),)), Case((_distinct(rng, (2, 3, 4)),), dict(axis=0)),
            Case((_distinct(rng, (2, 3, 4)),), dict(axis=-2)), Case((_distinct(rng, (2, 3, 4)),), dict(axis=None)),
            Case((_distinct(rng, (5,)),)), Case((_distinct(rng, (3, 4)),), dict(axis=1, kind="stable"))]


def _argsort_stable(xp, x, axis):
    return xp.argsort(x, axis=axis, kind="stable") if xp is numpy else xp.argsort(x, axis=axis)


@defop(samples=_sort_cases)
def sort(xp, a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted copy along ``axis`` (None: flattened). Gradient: each output slot's cotangent goes back
    to the input element sorted into it. With ties the derivative is not defined; tapegrad follows
    NumPy's stable order (equal elements keep their input order), whatever ``kind`` says."""
    return xp.sort(a, axis=axis, **(_kw(kind=kind, order=order, stable=stable) if xp is numpy else {}))


@sort.vjp
def _(g, a, axis):
    x = a._data
    xp = xp_of((x,))
    if axis is None:
        x = x.reshape(-1)
    ax = _axis(-1 if axis is None else axis, x.ndim)
    perm = _argsort_stable(xp, x, ax)        # out[..., i, ...] = x[..., perm[i], ...]
    inv = xp.argsort(perm, axis=ax)          # so dx[..., j, ...] = g[..., inv[j], ...]
    key = tuple(inv if i == ax else xp.arange(n).reshape((1,) * i + (n,) + (1,) * (x.ndim - i - 1))
                for i, n in enumerate(x.shape))
    return (T.reshape(T.getitem(g, key), a.shape),)

"""Shape ops: views and rearrangements; their VJPs undo the rearrangement."""
from __future__ import annotations

import functools
import warnings

import numpy

from .._core.array import OPS as T, Array
from ..backend import backend_for, xp_of
from ..backend.numpy_rules import pad_index, pad_widths
from ._util import bilinear_tangent
from .registry import buffer, constant, default_class, defop, holds_array, pack_sequence
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
    return xp_of((buffer(g),)).asarray(idx)


def _ref(fn):
    """Reference for a variadic op: NumPy's function takes the arrays as one sequence."""
    return lambda *xs, **p: fn(list(xs), **p)


def _kw(**kw):
    """Keyword arguments without the ones left at None (so NumPy/CuPy apply their defaults)."""
    return {k: v for k, v in kw.items() if v is not None}


def _distinct(rng, shape):
    """Well-separated values (no ties), for sort."""
    return rng.permutation(numpy.arange(_prod(shape), dtype=numpy.float64)).reshape(shape) * 0.25 - 1


def _filled(ts, xs, out) -> list:
    """Tangents for every operand of a linear op: a zero for each one without a tangent, constants
    (Python numbers, NumPy arrays, lists) included. (A linear op's derived JVP would apply the op to
    the constants themselves, which is wrong for them: their tangent is zero.)"""
    res = []
    for t, x in zip(ts, xs):
        if t is None:
            if isinstance(x, Array):
                t = T.multiply(x, 0)
            else:
                d = type(out)._coerce(x)
                t = d * 0 if isinstance(d, (int, float, complex)) else numpy.zeros_like(d)
        res.append(t)
    return res


# ----------------------------------------------------------------------------------------------
# Packing: a nested list or tuple of arrays and numbers as one array (``registry.pack_sequence``)
# ----------------------------------------------------------------------------------------------

def _tree_shape(tree, shapes, at=()):
    """The shape ``numpy.array`` gives a nested list whose leaves have ``shapes`` (``tree``: nested
    tuples of leaf indices), or a ValueError naming the first element that breaks the rectangle."""
    if isinstance(tree, int):
        return tuple(shapes[tree])
    if not tree:
        return (0,)
    inner = [_tree_shape(t, shapes, at + (i,)) for i, t in enumerate(tree)]
    for i, s in enumerate(inner):
        if s != inner[0]:
            raise ValueError(f"a nested sequence of arrays must be rectangular, as for numpy.array: element "
                             f"{list(at + (i,))} has shape {s}, element {list(at + (0,))} has shape {inner[0]}; "
                             "make the elements the same shape (or stack/concatenate them explicitly)")
    return (len(tree),) + inner[0]


@functools.lru_cache(maxsize=512)
def _tree_paths(tree, at=()):
    """Where each leaf of ``tree`` goes in the packed array: one index tuple per leaf, in leaf order."""
    if isinstance(tree, int):
        return (at,)
    return tuple(p for i, t in enumerate(tree) for p in _tree_paths(t, at + (i,)))


def _pack_cases(rng):
    def ref(*xs, tree, dtype=None):
        return numpy.array(_pack_ref(tree, xs), dtype=dtype)
    trees = [((0, 1, 2), [(), (), ()]), (((0, 1), (2, 3)), [(3,)] * 4), (((0, 1), 2), [(), (), (2,)]),
             ((0, (1, 2)), [(2,), (), ()]), ((((0,),),), [(2, 2)])]
    return [Case(tuple(draw(rng, s) for s in shapes), dict(tree=t), ref=ref) for t, shapes in trees]


def _pack_ref(tree, xs):
    return xs[tree] if isinstance(tree, int) else [_pack_ref(t, xs) for t in tree]


@defop(linear=True, public=None, samples=_pack_cases)
def pack(xp, *leaves, tree, dtype=None):
    """The array ``numpy.array`` makes of a nested list whose leaves (arrays and numbers) are
    ``leaves`` and whose structure is ``tree`` (nested tuples of leaf indices). Without ``dtype``,
    the leaves' result type, Python numbers weak (an int or float with a float32 array is float32)."""
    if dtype is None:
        dtype = numpy.result_type(*[getattr(x, "dtype", x) for x in leaves])
    out = xp.empty(_tree_shape(tree, [getattr(x, "shape", ()) for x in leaves]), dtype=dtype)
    for at, x in zip(_tree_paths(tree), leaves):
        out[at] = x
    return out


@pack.vjp
def _(g, tree, needs):
    return tuple(T.getitem(g, at) if need else None for at, need in zip(_tree_paths(tree), needs))


@pack.jvp
def _(ts, leaves, out, tree):
    return T.pack(*_filled(ts, leaves, out), tree=tree, dtype=buffer(out).dtype)


def _linspace_cases(rng):
    return [Case((draw(rng, ()), draw(rng, ())), dict(num=5)),
            Case((draw(rng, (3,)), draw(rng, (3,))), dict(num=4, endpoint=False)),
            Case((draw(rng, (2, 1)), draw(rng, (3,))), dict(num=3, axis=-1)),
            Case((draw(rng, (2,)), draw(rng, ())), dict(num=1)),
            Case((draw(rng, ()), draw(rng, (2,))), dict(num=2, endpoint=False, axis=1))]


@defop(broadcast=True, linear=True, public=None, samples=_linspace_cases)
def linspace(xp, start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (arrays: along a new ``axis``), as
    ``numpy.linspace``; differentiable in both ends (the ``np`` door calls it for traced ends)."""
    return xp.linspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis)


@linspace.vjp
def _(g, num, endpoint, axis, needs):
    nd = len(g.shape)
    ax = axis % nd
    div = num - 1 if endpoint else num
    w = numpy.arange(num) / div if div > 0 else numpy.zeros(num)  # the weight of stop in each value
    w = _dev(g, w.astype(buffer(g).dtype).reshape([num if i == ax else 1 for i in range(nd)]))
    gstop = T.sum(g * w, axis=ax)
    return (T.sum(g, axis=ax) - gstop if needs[0] else None), (gstop if needs[1] else None)


@linspace.jvp
def _(ts, start, stop, out, num, endpoint, axis):
    return T.linspace(*_filled(ts, (start, stop), out), num=num, endpoint=endpoint, dtype=buffer(out).dtype,
                      axis=axis)


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


@concatenate.jvp
def _(ts, arrays, out, axis, dtype, casting):
    return T.concatenate(_filled(ts, arrays, out), axis=axis, dtype=dtype, casting=casting)


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


@stack.jvp
def _(ts, arrays, out, axis, dtype, casting):
    return T.stack(_filled(ts, arrays, out), axis=axis, dtype=dtype, casting=casting)


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


@vstack.jvp
def _(ts, tup, out, dtype, casting):
    return T.vstack(_filled(ts, tup, out), dtype=dtype, casting=casting)


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


@hstack.jvp
def _(ts, tup, out, dtype, casting):
    return T.hstack(_filled(ts, tup, out), dtype=dtype, casting=casting)


# ----------------------------------------------------------------------------------------------
# Splitting: plain-Python compositions of getitem slices (a variable number of outputs)
# ----------------------------------------------------------------------------------------------

def _as_array(ary):
    return ary if hasattr(ary, "shape") and hasattr(ary, "ndim") else _to_array(ary)


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
COMPOSITES: dict = {"split": split, "array_split": array_split, "hsplit": hsplit, "vsplit": vsplit,
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
    return xp.repeat(a, int(reps) if reps.ndim == 0 else xp.asarray(reps), axis=axis)


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
    return backend_for(xp).pad(xp, array, _host(pad_width), mode, kw)


@pad.vjp
def _(g, shapes, pad_width, mode):
    s = tuple(shapes[0])
    widths = pad_widths(_host(pad_width), len(s))
    if mode == "constant":
        return (T.getitem(g, tuple(slice(b, b + n) for (b, _a), n in zip(widths, s))),)
    # The other modes gather along each axis in turn; undo each gather with a scatter-add.
    for ax, ((b, a), n) in enumerate(zip(widths, s)):
        if b or a:
            idx = pad_index(n, b, a, mode)
            g = T.scatter_add(g, tuple(g.shape[:ax]) + (n,) + tuple(g.shape[ax + 1:]), _along(ax, _dev(g, idx)))
    return (g,)


@pad.jvp
def _(ts, pad_width, mode, reflect_type):
    # Affine, not linear, when constant_values != 0: the tangent is padded with zeros.
    t = ts[0]
    return None if t is None else T.pad(t, pad_width, mode, reflect_type=reflect_type)


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


@defop(samples=_sort_cases)
def sort(xp, a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted copy along ``axis`` (None: flattened). Gradient: each output slot's cotangent goes back
    to the input element sorted into it. With ties the derivative is not defined; tapegrad follows
    NumPy's stable order (equal elements keep their input order), whatever ``kind`` says."""
    return backend_for(xp).sort(xp, a, axis, _kw(kind=kind, order=order, stable=stable))


@sort.vjp
def _(g, a, axis):
    x = buffer(a)
    xp = xp_of((x,))
    if axis is None:
        x = x.reshape(-1)
    ax = _axis(-1 if axis is None else axis, x.ndim)
    perm = backend_for(xp).argsort_stable(xp, x, ax)  # out[..., i, ...] = x[..., perm[i], ...]
    inv = xp.argsort(perm, axis=ax)                   # so dx[..., j, ...] = g[..., inv[j], ...]
    key = tuple(inv if i == ax else xp.arange(n).reshape((1,) * i + (n,) + (1,) * (x.ndim - i - 1))
                for i, n in enumerate(x.shape))
    return (T.reshape(T.getitem(g, key), a.shape),)


# ----------------------------------------------------------------------------------------------
# Helpers for the functions composed of ops below (atleast_*d, diff, gradient, r_, c_)
# ----------------------------------------------------------------------------------------------

def _to_array(x, like=None):
    """``x`` as a tapegrad array: Arrays pass through, lists holding Arrays are packed (differentiably);
    anything else becomes a constant of the class of ``like`` (default: the namespace's array class;
    lists take that class's list dtype)."""
    if isinstance(x, Array):
        return x
    if isinstance(x, (list, tuple)) and holds_array(x):
        return pack_sequence(x)
    cls = type(like) if isinstance(like, Array) else default_class()
    return cls._make(numpy.asarray(cls._coerce(x)))


def _one_or_tuple(res: list):
    """NumPy's convention for functions of ``*arys``: one result alone, several as a tuple."""
    return res[0] if len(res) == 1 else tuple(res)


def _atleast(a, ndim: int, where: str):
    a = _to_array(a)
    if a.ndim >= ndim:
        return a
    s = tuple(a.shape)
    if where == "front" or a.ndim == 0:  # atleast_1d/2d: (N,) -> (1, N); 0-d -> all ones
        shape = (1,) * (ndim - a.ndim) + s
    elif a.ndim == 1:  # atleast_3d: (N,) -> (1, N, 1)
        shape = (1,) + s + (1,)
    else:  # atleast_3d: (M, N) -> (M, N, 1)
        shape = s + (1,)
    return T.reshape(a, shape)


def atleast_1d(*arys):
    """NumPy's ``atleast_1d``: 0-d inputs become shape (1,); one input gives an array, several a tuple."""
    return _one_or_tuple([_atleast(a, 1, "front") for a in arys])


def atleast_2d(*arys):
    """NumPy's ``atleast_2d``: (N,) becomes (1, N), 0-d becomes (1, 1)."""
    return _one_or_tuple([_atleast(a, 2, "front") for a in arys])


def atleast_3d(*arys):
    """NumPy's ``atleast_3d``: 0-d -> (1, 1, 1), (N,) -> (1, N, 1), (M, N) -> (M, N, 1)."""
    return _one_or_tuple([_atleast(a, 3, "3d") for a in arys])


def row_stack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's deprecated alias of ``vstack`` (NumPy 2.4 still has it and warns the same way)."""
    warnings.warn("`row_stack` alias is deprecated. Use `np.vstack` directly.", DeprecationWarning, stacklevel=2)
    return T.vstack(tup, dtype=dtype, casting=casting)


# ----------------------------------------------------------------------------------------------
# diff (the registered ``_diff`` plus NumPy's prepend/append) and gradient
# ----------------------------------------------------------------------------------------------

def _diff_cases(rng):
    ref = numpy.diff
    return [Case((draw(rng, (5,)),), dict(n=1, axis=-1), ref=ref),
            Case((draw(rng, (2, 5, 4)),), dict(n=2, axis=1), ref=ref),
            Case((draw(rng, (3, 4, 5)),), dict(n=3, axis=-1), ref=ref),
            Case((draw(rng, (4, 3)),), dict(n=1, axis=-2), ref=ref),
            Case((draw(rng, (3, 2)),), dict(n=0, axis=0), ref=ref),
            Case((draw(rng, (3, 2)),), dict(n=3, axis=0), ref=ref),  # empty result
            Case((draw(rng, (2, 3)),), dict(n=5, axis=1), ref=ref)]  # n past the axis length


@defop(linear=True, public=None, samples=_diff_cases)
def _diff(xp, a, n=1, axis=-1):
    """``n``-th forward difference along ``axis`` (NumPy's ``diff`` without prepend/append)."""
    return xp.diff(a, n=n, axis=axis)


@_diff.vjp
def _(g, shapes, n, axis):
    s = tuple(shapes[0])
    ax = _axis(axis, len(s))
    if n == 0:
        return (g,)
    if n > s[ax]:  # the result is empty whatever the input: its gradient is zero
        return (constant(g, xp_of((buffer(g),)).zeros(s, dtype=buffer(g).dtype)),)
    # The adjoint of the difference operator D is -D on the zero-padded cotangent; D^n -> (-D)^n.
    padded = T.pad(g, [(n, n) if i == ax else (0, 0) for i in range(len(s))])
    out = T._diff(padded, n, ax)
    return (-out if n % 2 else out,)


def diff(a, n=1, axis=-1, prepend=numpy._NoValue, append=numpy._NoValue):
    """NumPy's ``diff``: the ``n``-th discrete difference along ``axis``, differentiable in ``a`` and in
    array-valued ``prepend``/``append`` (scalars are broadcast along ``axis`` as NumPy does)."""
    a = _to_array(a)
    if n == 0:
        return a
    if n < 0:
        raise ValueError("order must be non-negative but got " + repr(n))
    if a.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = _axis(axis, a.ndim)
    parts = []
    for extra, first in ((prepend, True), (append, False)):
        if extra is numpy._NoValue:
            continue
        extra = _to_array(extra, like=a)
        if extra.ndim == 0:
            extra = T.broadcast_to(extra, tuple(a.shape[:ax]) + (1,) + tuple(a.shape[ax + 1:]))
        parts.append((first, extra))
    if parts:
        seq = [e for f, e in parts if f] + [a] + [e for f, e in parts if not f]
        a = T.concatenate(seq, axis=ax)
    return T._diff(a, n, ax)


def _bcast_along(c, ax: int, ndim: int):
    """A 1-D NumPy coefficient vector shaped to broadcast along axis ``ax`` of an ``ndim``-d array."""
    return c.reshape((1,) * ax + (-1,) + (1,) * (ndim - ax - 1))


def gradient(f, *varargs, axis=None, edge_order=1):
    """NumPy's ``gradient``: second-order central differences inside, first- or second-order one-sided
    differences at the edges. Differentiable in ``f``, and in scalar spacings given as 0-d arrays;
    coordinate arrays (non-uniform spacing) are constants. One axis: an array; several: a tuple."""
    f = _to_array(f)
    N = f.ndim
    if N == 0:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                         "(edge_order + 1) elements are required.")
    if axis is None:
        axes = tuple(range(N))
    else:
        axes = tuple(_axis(ax, N) for ax in ((axis,) if numpy.ndim(axis) == 0 else axis))
        if len(set(axes)) != len(axes):
            raise ValueError("repeated axis")
    n = len(varargs)
    if n == 0:
        dx = [1.0] * len(axes)
    elif n == 1 and numpy.ndim(varargs[0]) == 0:
        dx = list(varargs) * len(axes)
    elif n == len(axes):
        dx = []
        for ax, d in zip(axes, varargs):
            if numpy.ndim(d) == 0:
                dx.append(d)
                continue
            d = _host(d)
            if d.ndim != 1:
                raise ValueError("distances must be either scalars or 1d")
            if len(d) != f.shape[ax]:
                raise ValueError("when 1d, distances must match the length of the corresponding dimension")
            d = numpy.diff(d.astype(numpy.float64) if d.dtype.kind in "iub" else d)
            dx.append(d[0] if (d == d[0]).all() else d)
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    if f.dtype.kind in "iub":
        f = T.astype(f, numpy.float64)

    def sl(ax, s):
        return T.getitem(f, _along(ax, s))

    outvals = []
    for ax, h in zip(axes, dx):
        if f.shape[ax] < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                             "(edge_order + 1) elements are required.")
        uniform = numpy.ndim(h) == 0
        if uniform:
            mid = (sl(ax, slice(2, None)) - sl(ax, slice(None, -2))) / (2.0 * h)
        else:
            dx1, dx2 = h[:-1], h[1:]
            a = _bcast_along(-dx2 / (dx1 * (dx1 + dx2)), ax, N)
            b = _bcast_along((dx2 - dx1) / (dx1 * dx2), ax, N)
            c = _bcast_along(dx1 / (dx2 * (dx1 + dx2)), ax, N)
            mid = a * sl(ax, slice(None, -2)) + b * sl(ax, slice(1, -1)) + c * sl(ax, slice(2, None))
        if edge_order == 1:
            h0 = h if uniform else h[0]
            hn = h if uniform else h[-1]
            first = (sl(ax, slice(1, 2)) - sl(ax, slice(0, 1))) / h0
            last = (sl(ax, slice(-1, None)) - sl(ax, slice(-2, -1))) / hn
        else:
            if uniform:
                a, b, c = -1.5 / h, 2.0 / h, -0.5 / h
            else:
                d1, d2 = h[0], h[1]
                a = -(2.0 * d1 + d2) / (d1 * (d1 + d2))
                b = (d1 + d2) / (d1 * d2)
                c = -d1 / (d2 * (d1 + d2))
            first = a * sl(ax, slice(0, 1)) + b * sl(ax, slice(1, 2)) + c * sl(ax, slice(2, 3))
            if uniform:
                a, b, c = 0.5 / h, -2.0 / h, 1.5 / h
            else:
                d1, d2 = h[-2], h[-1]
                a = d2 / (d1 * (d1 + d2))
                b = -(d2 + d1) / (d1 * d2)
                c = (2.0 * d2 + d1) / (d2 * (d1 + d2))
            last = a * sl(ax, slice(-3, -2)) + b * sl(ax, slice(-2, -1)) + c * sl(ax, slice(-1, None))
        outvals.append(T.concatenate([first, mid, last], axis=ax))
    return outvals[0] if len(axes) == 1 else tuple(outvals)


# ----------------------------------------------------------------------------------------------
# r_ and c_: NumPy's index-expression concatenators, on concatenate
# ----------------------------------------------------------------------------------------------

def _ndmin(x, ndmin: int, trans1d: int):
    """``numpy.array(x, ndmin=ndmin)`` then NumPy's ``trans1d`` axis shuffle, on a tapegrad array."""
    item_ndim = x.ndim
    if item_ndim < ndmin:
        x = T.reshape(x, (1,) * (ndmin - item_ndim) + tuple(x.shape))
        if trans1d != -1:
            k2 = ndmin - item_ndim
            k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
            defaxes = list(range(ndmin))
            axes = defaxes[:k1] + defaxes[k2:] + defaxes[k1:k2]
            if axes != defaxes:
                x = T.transpose(x, tuple(axes))
    return x


class AxisConcatenator:
    """NumPy's ``r_``/``c_`` machinery: ``r_[a, b, 1:3, 5]`` joins arrays, slices (``arange``, or
    ``linspace`` for a complex step) and scalars with ``concatenate``, so the result is
    differentiable in every tapegrad array in the index. Directives ``'axis'``, ``'axis,ndmin'``
    and ``'axis,ndmin,trans1d'`` work as in NumPy; the matrix directives ``'r'``/``'c'`` and
    matrix-building strings do not (tapegrad has no ``numpy.matrix``)."""

    __slots__ = ("axis", "ndmin", "trans1d", "_name")

    def __init__(self, axis=0, ndmin=1, trans1d=-1, name="r_"):
        self.axis = axis
        self.ndmin = ndmin
        self.trans1d = trans1d
        self._name = name

    def __repr__(self) -> str:
        return f"<tapegrad {self._name} concatenator>"

    def __len__(self) -> int:
        return 0

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self._name} is indexed, not called: write np.{self._name}[a, b, ...]")

    def __getitem__(self, key):
        if isinstance(key, str):
            raise NotImplementedError(f"{self._name}[{key!r}]: matrix-building strings give numpy.matrix, "
                                      "which tapegrad does not support")
        if not isinstance(key, tuple):
            key = (key,)
        trans1d, ndmin, axis = self.trans1d, self.ndmin, self.axis
        objs, rtypes = [], []
        for k, item in enumerate(key):
            scalar = False
            if isinstance(item, slice):
                start = 0 if item.start is None else item.start
                step = 1 if item.step is None else item.step
                if isinstance(step, (numpy.complexfloating, complex)):
                    newobj = numpy.linspace(start, item.stop, num=int(abs(step)))
                else:
                    newobj = numpy.arange(start, item.stop, step)
                if ndmin > 1:
                    newobj = numpy.array(newobj, copy=None, ndmin=ndmin)
                    if trans1d != -1:
                        newobj = newobj.swapaxes(-1, trans1d)
            elif isinstance(item, str):
                if k != 0:
                    raise ValueError("special directives must be the first entry.")
                if item in ("r", "c"):
                    raise NotImplementedError(f"{self._name}: the matrix directives 'r' and 'c' give "
                                              "numpy.matrix, which tapegrad does not support")
                if "," in item:
                    vec = item.split(",")
                    try:
                        axis, ndmin = [int(x) for x in vec[:2]]
                        if len(vec) == 3:
                            trans1d = int(vec[2])
                        continue
                    except Exception as e:
                        raise ValueError(f"unknown special directive {item!r}") from e
                try:
                    axis = int(item)
                    continue
                except (ValueError, TypeError) as e:
                    raise ValueError("unknown special directive") from e
            elif type(item) in numpy.ScalarType:
                scalar = True
                newobj = item
            elif isinstance(item, Array):
                newobj = _ndmin(item, ndmin, trans1d)
            else:
                item_ndim = numpy.ndim(item)
                newobj = numpy.array(item, copy=None, ndmin=ndmin)
                if trans1d != -1 and item_ndim < ndmin:
                    k2 = ndmin - item_ndim
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    defaxes = list(range(ndmin))
                    newobj = newobj.transpose(defaxes[:k1] + defaxes[k2:] + defaxes[k1:k2])
            objs.append(newobj)
            rtypes.append(item if scalar else newobj.dtype)
        if rtypes:  # NumPy's weak-scalar promotion: Python scalars do not upcast the arrays
            final = numpy.result_type(*rtypes)
            objs = [(T.astype(o, final) if o.dtype != final else o) if isinstance(o, Array)
                    else numpy.array(o, copy=None, ndmin=ndmin, dtype=final) for o in objs]
        return T.concatenate(objs, axis=axis)


r_ = AxisConcatenator(0, name="r_")
c_ = AxisConcatenator(-1, ndmin=2, trans1d=0, name="c_")

COMPOSITES.update({"atleast_1d": atleast_1d, "atleast_2d": atleast_2d, "atleast_3d": atleast_3d,
                   "row_stack": row_stack, "diff": diff, "gradient": gradient, "r_": r_, "c_": c_})


# ----------------------------------------------------------------------------------------------
# More joining: column_stack, dstack, append
# ----------------------------------------------------------------------------------------------

def _column_stack_cases(rng):
    ref = _ref(numpy.column_stack)
    return [Case((draw(rng, (3,)), draw(rng, (3,))), ref=ref),
            Case((draw(rng, (3,)), draw(rng, (3, 2)), draw(rng, (3,))), ref=ref),
            Case((draw(rng, (2, 3, 4)), draw(rng, (2, 1, 4))), ref=ref),
            Case((draw(rng, ()), draw(rng, (1, 2))), ref=ref)]


@defop(linear=True, seq=True, samples=_column_stack_cases)
def column_stack(xp, *tup):
    """Stack 1-D arrays as columns (2-D and higher arrays join along axis 1 as they are)."""
    # NumPy's rule, spelt out (CuPy refuses arrays of more than 2 dimensions)
    return xp.concatenate([t.reshape(-1, 1) if t.ndim < 2 else t for t in tup], axis=1)


@column_stack.vjp
def _(g, shapes, needs):
    gs = _pieces(g, 1, [s[1] if len(s) >= 2 else 1 for s in shapes], shapes)
    return tuple(gi if need else None for gi, need in zip(gs, needs))


@column_stack.jvp
def _(ts, tup, out):
    return T.column_stack(_filled(ts, tup, out))


def _dstack_cases(rng):
    ref = _ref(numpy.dstack)
    return [Case((draw(rng, (3,)), draw(rng, (3,))), ref=ref),
            Case((draw(rng, (2, 3)), draw(rng, (2, 3, 2))), ref=ref),
            Case((draw(rng, (2, 3, 4)), draw(rng, (2, 3, 1)), draw(rng, (2, 3))), ref=ref),
            Case((draw(rng, ()), draw(rng, ())), ref=ref)]


@defop(linear=True, seq=True, samples=_dstack_cases)
def dstack(xp, *tup):
    """Stack arrays depth-wise, along axis 2 (after ``atleast_3d``)."""
    return xp.dstack(tup)


@dstack.vjp
def _(g, shapes, needs):
    gs = _pieces(g, 2, [s[2] if len(s) >= 3 else 1 for s in shapes], shapes)
    return tuple(gi if need else None for gi, need in zip(gs, needs))


@dstack.jvp
def _(ts, tup, out):
    return T.dstack(_filled(ts, tup, out))


def _append_cases(rng):
    return [Case((draw(rng, (2, 3)), draw(rng, (4,)))),
            Case((draw(rng, (2, 3, 4)), draw(rng, (2, 1, 4))), dict(axis=1)),
            Case((draw(rng, (2, 3)), draw(rng, (2, 2))), dict(axis=-1)),
            Case((draw(rng, (3,)), draw(rng, ()))),
            Case((draw(rng, ()), draw(rng, (2, 2))), dict(axis=None))]


@defop(linear=True, samples=_append_cases)
def append(xp, arr, values, axis=None):
    """``values`` joined after ``arr`` along ``axis`` (None: both flattened first)."""
    return xp.append(arr, values, axis=axis)


@append.vjp
def _(g, shapes, axis, needs):
    sa, sv = tuple(shapes[0]), tuple(shapes[1])
    if axis is None:
        gs = _pieces(g, 0, [_prod(sa), _prod(sv)], (sa, sv))
    else:
        ax = _axis(axis, len(sa))
        gs = _pieces(g, ax, [sa[ax], sv[ax]], (sa, sv))
    return tuple(gi if need else None for gi, need in zip(gs, needs))


@append.jvp
def _(ts, arr, values, out, axis):
    return T.append(*_filled(ts, (arr, values), out), axis)


# ----------------------------------------------------------------------------------------------
# More rearranging: fliplr, flipud, roll, rollaxis, rot90
# ----------------------------------------------------------------------------------------------

def _fliplr_cases(rng):
    return [Case((draw(rng, (2, 3)),)), Case((draw(rng, (2, 3, 4)),))]


@defop(linear=True, samples=_fliplr_cases)
def fliplr(xp, m):
    """Reverse axis 1 (arrays of 2 or more dimensions)."""
    return xp.fliplr(m)


@fliplr.vjp
def _(g):
    return (T.fliplr(g),)


def _flipud_cases(rng):
    return [Case((draw(rng, (4,)),)), Case((draw(rng, (2, 3)),)), Case((draw(rng, (3, 2, 4)),))]


@defop(linear=True, samples=_flipud_cases)
def flipud(xp, m):
    """Reverse axis 0 (arrays of 1 or more dimensions)."""
    return xp.flipud(m)


@flipud.vjp
def _(g):
    return (T.flipud(g),)


def _roll_cases(rng):
    return [Case((draw(rng, (5,)),), dict(shift=2)), Case((draw(rng, (2, 3, 4)),), dict(shift=-3)),
            Case((draw(rng, (2, 3, 4)),), dict(shift=1, axis=-1)),
            Case((draw(rng, (2, 3, 4)),), dict(shift=(1, -2), axis=(0, 2))),
            Case((draw(rng, (2, 3, 4)),), dict(shift=(1, 2), axis=1)),
            Case((draw(rng, (2, 3, 4)),), dict(shift=5, axis=(0, -2))),
            Case((draw(rng, ()),), dict(shift=1))]


@defop(nin=1, linear=True, samples=_roll_cases)
def roll(xp, a, shift, axis=None):
    """Shift elements cyclically along ``axis`` (int or tuple; None: the flattened array, same shape
    back); ``shift`` an int or a tuple broadcast against ``axis``."""
    return xp.roll(a, _host(shift).tolist(), axis=axis)


@roll.vjp
def _(g, shift, axis):
    return (T.roll(g, (-_host(shift)).tolist(), axis),)


def _rollaxis_perm(ndim: int, axis, start) -> list:
    """The transpose ``numpy.rollaxis(a, axis, start)`` performs (with NumPy's checks)."""
    ax = _axis(axis, ndim)
    start = int(start)
    if start < 0:
        start += ndim
    if not 0 <= start < ndim + 1:
        raise numpy.exceptions.AxisError(f"'start' arg requires {-ndim} <= start < {ndim + 1}, but {start} was passed in")
    if ax < start:
        start -= 1
    perm = list(range(ndim))
    perm.remove(ax)
    perm.insert(start, ax)
    return perm


def _rollaxis_cases(rng):
    return [Case((draw(rng, (2, 3, 4)),), dict(axis=2)), Case((draw(rng, (2, 3, 4)),), dict(axis=-1, start=1)),
            Case((draw(rng, (2, 3, 4)),), dict(axis=0, start=3)), Case((draw(rng, (2, 3, 4)),), dict(axis=1, start=-1)),
            Case((draw(rng, (2, 3)),), dict(axis=1, start=1))]


@defop(nin=1, linear=True, samples=_rollaxis_cases)
def rollaxis(xp, a, axis, start=0):
    """Roll ``axis`` backwards until it lies before position ``start`` (prefer ``moveaxis``)."""
    return xp.rollaxis(a, axis, start)


@rollaxis.vjp
def _(g, shapes, axis, start):
    perm = _rollaxis_perm(len(shapes[0]), axis, start)
    return (T.transpose(g, tuple(int(i) for i in numpy.argsort(perm))),)


def _rot90_cases(rng):
    return [Case((draw(rng, (2, 3)),)), Case((draw(rng, (2, 3)),), dict(k=2)),
            Case((draw(rng, (2, 3, 4)),), dict(k=-1, axes=(2, 0))), Case((draw(rng, (2, 3, 4)),), dict(k=3, axes=(-1, -2))),
            Case((draw(rng, (2, 3, 4)),), dict(k=5, axes=(0, 1))), Case((draw(rng, (2, 3)),), dict(k=0))]


@defop(linear=True, samples=_rot90_cases)
def rot90(xp, m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, from the first axis towards the second."""
    return xp.rot90(m, k, axes)


@rot90.vjp
def _(g, k, axes):
    return (T.rot90(g, -k, axes),)


# ----------------------------------------------------------------------------------------------
# kron, cross (bilinear: written VJPs and JVPs)
# ----------------------------------------------------------------------------------------------

def _kron_cases(rng):
    return [Case((draw(rng, (2, 3)), draw(rng, (3, 2)))), Case((draw(rng, (3,)), draw(rng, (2,)))),
            Case((draw(rng, (2, 2, 3)), draw(rng, (3, 2)))), Case((draw(rng, (2,)), draw(rng, (2, 1, 3)))),
            Case((draw(rng, ()), draw(rng, (2, 3)))), Case((draw(rng, (2, 3)), draw(rng, ())))]


@defop(samples=_kron_cases)
def kron(xp, a, b):
    """Kronecker product: blocks ``a[i] * b``, the shorter shape padded with leading 1s."""
    return xp.kron(a, b)


def _as_operand(x, like):
    """A Python-number operand as a 0-d array of ``like``'s class (VJPs get numbers back as numbers)."""
    if isinstance(x, Array) or (not isinstance(like, Array) and hasattr(x, "shape")):
        return x
    return constant(like, xp_of((buffer(like),)).asarray(x))


@kron.vjp
def _(g, a, b, needs):
    a, b = _as_operand(a, g), _as_operand(b, g)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    # kron(a, b) with each axis split in two is a[i0, :, i1, :, ...] * b[:, j0, :, j1, ...].
    inter = tuple(n for pair in zip(sa, sb) for n in pair)
    g2 = T.reshape(g, inter)
    ga = gb = None
    if needs[0]:
        bb = T.reshape(b, tuple(n for m in sb for n in (1, m)))
        prod = g2 * bb
        ga = T.reshape(T.sum(prod, axis=tuple(range(1, 2 * nd, 2))) if nd else prod, a.shape)
    if needs[1]:
        aa = T.reshape(a, tuple(n for m in sa for n in (m, 1)))
        prod = g2 * aa
        gb = T.reshape(T.sum(prod, axis=tuple(range(0, 2 * nd, 2))) if nd else prod, b.shape)
    return (ga, gb)


@kron.jvp
def _(ts, a, b):
    return bilinear_tangent(T.kron, ts, a, b)


def _np_cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """NumPy's cross, with 2-vectors padded by hand (NumPy 2.5 refuses them)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = numpy.moveaxis(a, axisa, -1), numpy.moveaxis(b, axisb, -1)
    both = a.shape[-1] == 2 and b.shape[-1] == 2
    a, b = (numpy.pad(v, [(0, 0)] * (v.ndim - 1) + [(0, 3 - v.shape[-1])]) for v in (a, b))
    c = numpy.cross(a, b)
    return c[..., 2] if both else numpy.moveaxis(c, -1, axisc)


def _cross_cases(rng):
    cases = [Case((draw(rng, (3,)), draw(rng, (3,)))),
            Case((draw(rng, (2, 4, 3)), draw(rng, (4, 3)))),
            Case((draw(rng, (3, 2, 4)), draw(rng, (4, 3))), dict(axisa=0, axisc=1)),
            Case((draw(rng, (2, 3, 4)), draw(rng, (2, 3, 4))), dict(axis=-2)),
            Case((draw(rng, (3, 2)), draw(rng, (3, 2))), dict(axisa=-2, axisb=0, axisc=-2)),
            Case((draw(rng, (4, 2)), draw(rng, (4, 2)))),   # 2-vectors: the z component only
            Case((draw(rng, (2, 4)), draw(rng, (4, 3))), dict(axisa=0)),  # a 2-vector and a 3-vector
            Case((draw(rng, (3,)), draw(rng, (2,))))]
    for c in cases:
        c.ref = _np_cross
    return cases


@defop(samples=_cross_cases)
def cross(xp, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors along the vector axes ``axisa``/``axisb`` (``axis`` sets all
    three); the other axes broadcast. 2-vectors are read as 3-vectors with a zero third component
    (two 2-vectors give the z component alone) with NumPy 2.0's DeprecationWarning, also under
    NumPy 2.5, which refuses them."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = xp.moveaxis(a, axisa, -1), xp.moveaxis(b, axisb, -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components, got {na} and {nb}")
    if 2 in (na, nb):
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional vectors "
                      "instead. (deprecated in NumPy 2.0)", DeprecationWarning, stacklevel=2)
    if na == 2 and nb == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    if na == 2:
        a = xp.concatenate([a, xp.zeros(a.shape[:-1] + (1,), dtype=a.dtype)], axis=-1)
    if nb == 2:
        b = xp.concatenate([b, xp.zeros(b.shape[:-1] + (1,), dtype=b.dtype)], axis=-1)
    return xp.moveaxis(xp.cross(a, b), -1, axisc)


def _as_3vectors(x, ax):
    """``x`` with its vector axis last and 2-vectors padded with a zero third component."""
    x = T.moveaxis(x, ax, -1)
    if x.shape[-1] == 2:
        x = T.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, 1)])
    return x


@cross.vjp
def _(g, a, b, axisa, axisb, axisc, axis, needs):
    if axis is not None:
        axisa = axisb = axisc = axis
    na, nb = a.shape[_axis(axisa, a.ndim)], b.shape[_axis(axisb, b.ndim)]
    a3, b3 = _as_3vectors(a, axisa), _as_3vectors(b, axisb)
    if na == 2 and nb == 2:  # out = z component: the cotangent of (0, 0, out)
        g3 = T.pad(T.expand_dims(g, -1), [(0, 0)] * g.ndim + [(2, 0)])
    else:
        g3 = T.moveaxis(g, axisc, -1)
    # <g, a x b> = <a, b x g> = <b, g x a>
    ga = gb = None
    if needs[0]:
        ga = T.cross(b3, g3)
        ga = T.getitem(ga, (Ellipsis, slice(0, na))) if na == 2 else ga
        ga = T.moveaxis(T.sum_to(ga, tuple(a3.shape[:-1]) + (na,)), -1, axisa)
    if needs[1]:
        gb = T.cross(g3, a3)
        gb = T.getitem(gb, (Ellipsis, slice(0, nb))) if nb == 2 else gb
        gb = T.moveaxis(T.sum_to(gb, tuple(b3.shape[:-1]) + (nb,)), -1, axisb)
    return (ga, gb)


@cross.jvp
def _(ts, a, b, axisa, axisb, axisc, axis):
    return bilinear_tangent(lambda x, y: T.cross(x, y, axisa, axisb, axisc, axis), ts, a, b)


# ----------------------------------------------------------------------------------------------
# partition (and sort's JVP): gradients route each output slot to the input element it holds
# ----------------------------------------------------------------------------------------------

def _slot_key(xp, idx, ax: int):
    """The getitem key ``x[key] == take_along_axis(x, idx, ax)`` for an index array ``idx``."""
    return tuple(idx if i == ax else xp.arange(n).reshape((1,) * i + (n,) + (1,) * (idx.ndim - i - 1))
                 for i, n in enumerate(idx.shape))


def _source_index(xp, x, out, ax: int):
    """``perm`` with ``out == take_along_axis(x, perm, ax)``, for ``out`` a rearrangement of ``x``
    along ``ax``. Equal values are matched in order (the k-th copy in ``out`` to the k-th in ``x``)."""
    argsort = backend_for(xp).argsort_stable
    sx = argsort(xp, x, ax)
    so = argsort(xp, out, ax)
    perm = xp.empty_like(sx)
    perm[_slot_key(xp, so, ax)] = sx
    return perm


def _partition_cases(rng):
    return [Case((_distinct(rng, (7,)),), dict(kth=3)), Case((_distinct(rng, (2, 3, 5)),), dict(kth=(1, 3))),
            Case((_distinct(rng, (4, 3, 2)),), dict(kth=-1, axis=0)),
            Case((_distinct(rng, (2, 5, 3)),), dict(kth=[0, -2], axis=-2)),
            Case((_distinct(rng, (2, 3, 2)),), dict(kth=4, axis=None))]


@defop(nin=1, samples=_partition_cases)
def partition(xp, a, kth, axis=-1, kind="introselect", order=None):
    """NumPy's ``partition`` (values identical to NumPy's). Gradient as for ``sort``: each output
    slot's cotangent goes back to the input element placed there. Where values tie, the slots holding
    equal values are matched to those elements in input order (the derivative is not defined there;
    any such choice is a valid subgradient)."""
    return backend_for(xp).partition(xp, a, _host(kth).tolist(), axis, _kw(kind=kind, order=order))


def _partition_layout(a, out, axis):
    x, o = buffer(a), buffer(out)
    xp = xp_of((x,))
    if axis is None:
        x = x.reshape(-1)
    return xp, x, o, _axis(-1 if axis is None else axis, x.ndim)


@partition.vjp
def _(g, a, out, axis):
    xp, x, o, ax = _partition_layout(a, out, axis)
    perm = _source_index(xp, x, o, ax)       # out[..., i, ...] = x[..., perm[i], ...]
    inv = xp.argsort(perm, axis=ax)          # so dx[..., j, ...] = g[..., inv[j], ...]
    return (T.reshape(T.getitem(g, _slot_key(xp, inv, ax)), a.shape),)


@partition.jvp
def _(ts, a, out, axis):
    t = ts[0]
    if t is None:
        return None
    xp, x, o, ax = _partition_layout(a, out, axis)
    if axis is None:
        t = T.reshape(t, (-1,))
    return T.getitem(t, _slot_key(xp, _source_index(xp, x, o, ax), ax))


@sort.jvp
def _(ts, a, axis):
    t = ts[0]
    if t is None:
        return None
    x = a._data
    xp = xp_of((x,))
    if axis is None:
        x = x.reshape(-1)
        t = T.reshape(t, (-1,))
    ax = _axis(-1 if axis is None else axis, x.ndim)
    return T.getitem(t, _slot_key(xp, backend_for(xp).argsort_stable(xp, x, ax), ax))

"""Reductions with ``axis`` (int or tuple) and ``keepdims``, and cumulative ops along one axis.

Conventions: parameters carry NumPy's names and positions (``np.var(x, 0, None, None, 1)`` works);
``out=`` is accepted for that reason only and raises unless it is None. This module defines ops
named ``sum``, ``max``, ``min``, ``all`` and ``any``, so helper code uses ``_b`` (builtins) for
Python's own functions of those names.
"""
from __future__ import annotations

import builtins as _b

import numpy

from .._core.array import OPS as T
from ._util import kept_shape, norm_axes
from .registry import defop
from .samples import AXES, AXIS_SHAPE, Case, draw, reduction


def _expand(g, shape, axis, keepdims):
    """Broadcast a reduction's cotangent back to the input shape."""
    if not keepdims:
        g = T.reshape(g, kept_shape(shape, axis))
    return T.broadcast_to(g, shape)


@defop(linear=True, samples=reduction())
def sum(xp, a, axis=None, dtype=None, out=None, keepdims=False):  # noqa: A001 - NumPy's name
    _no_out("sum", out)
    if type(a) is numpy.ndarray:  # the method: numpy.sum's Python wrapper costs more than a small sum
        return a.sum(axis=_ax(axis), dtype=dtype, keepdims=keepdims)
    return xp.sum(a, axis=_ax(axis), dtype=dtype, keepdims=keepdims)


@sum.vjp
def _(g, shapes, axis, keepdims):
    return (_expand(g, shapes[0], axis, keepdims),)


@defop(linear=True, samples=reduction())
def mean(xp, a, axis=None, dtype=None, out=None, keepdims=False):
    _no_out("mean", out)
    if type(a) is numpy.ndarray:  # as in sum
        return a.mean(axis=_ax(axis), dtype=dtype, keepdims=keepdims)
    return xp.mean(a, axis=_ax(axis), dtype=dtype, keepdims=keepdims)


@mean.vjp
def _(g, shapes, axis, keepdims):
    return (_expand(g / _b.max(_count(shapes[0], axis), 1), shapes[0], axis, keepdims),)  # divide, then broadcast


def _np_sum_to(x, shape):
    return sum_to.forward(numpy, x, shape)


def _sum_to_cases(rng):
    return [Case((draw(rng, a),), dict(shape=b), ref=_np_sum_to)
            for a, b in (((2, 3), (3,)), ((2, 3), (2, 1)), ((4, 2, 3), (2, 1)), ((2, 3), ()), ((2, 3), (2, 3)))]


@defop(nin=1, linear=True, public=None, samples=_sum_to_cases)
def sum_to(xp, x, shape):
    """Sum ``x`` down to ``shape`` (undoes broadcasting)."""
    shape = tuple(shape)
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    if axes:
        x = x.sum(axis=axes, keepdims=True)
    return x.reshape(shape)


@sum_to.vjp
def _(g, shapes):
    return (T.broadcast_to(g, shapes[0]),)


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# --- helpers --------------------------------------------------------------------------------


def _no_out(name, out):
    if out is not None:
        raise TypeError(f"{name}(): out= is not supported by tapegrad (an op returns a new array that the "
                        f"tape can track); assign the result instead, e.g. y = np.{name}(x, ...)")


def _count(shape, axis):
    """How many elements a reduction over ``axis`` combines into each result."""
    n = 1
    for i in norm_axes(axis, len(shape)):
        n *= shape[i]
    return n


def _chain(*factories):
    """Samples made of the cases of several factories."""
    return lambda rng: [c for f in factories for c in f(rng)]


def _flip(x, axis):
    """``x`` reversed along ``axis`` (a differentiable basic-slice view)."""
    axis = axis % x.ndim
    return T.getitem(x, (slice(None),) * axis + (slice(None, None, -1),))


def _rev_cumsum(g, axis):
    """``out[i] = sum(g[i:])`` along ``axis``: the adjoint of cumsum."""
    return _flip(T.cumsum(_flip(g, axis), axis), axis)


# --- shift (internal): the building block of the division-free prod/cumprod gradients ---------


def _shift_raw(xp, a, offset, axis, fill):
    out = xp.full_like(a, fill)
    ax = axis % a.ndim
    n = a.shape[ax]
    k = _b.min(_b.abs(int(offset)), n)
    src = [slice(None)] * a.ndim
    dst = list(src)
    if offset >= 0:
        dst[ax], src[ax] = slice(k, n), slice(0, n - k)
    else:
        dst[ax], src[ax] = slice(0, n - k), slice(k, n)
    out[tuple(dst)] = a[tuple(src)]
    return out


def _np_shift(a, offset, axis=-1, fill=0.0):
    return _shift_raw(numpy, a, offset, axis, fill)


def _shift_cases(rng):
    x = draw(rng, (3, 5))
    return [Case((x,), dict(offset=2, axis=1, fill=1.0), ref=_np_shift),
            Case((x,), dict(offset=-1, axis=0), ref=_np_shift),
            Case((x,), dict(offset=-3, axis=-1, fill=1.0), ref=_np_shift),
            Case((x,), dict(offset=7, axis=-1, fill=2.0), ref=_np_shift)]


@defop(nin=1, public=None, samples=_shift_cases)
def shift_along(xp, a, offset, axis=-1, fill=0.0):
    """``out[i] = a[i - offset]`` along ``axis``; places with no source element hold ``fill``."""
    return _shift_raw(xp, a, offset, axis, fill)


@shift_along.vjp
def _(g, offset, axis):
    return (T.shift_along(g, -offset, axis, 0.0),)


def _exclusive_cumprod(x, axis):
    """``out[i] = prod(x[:i])`` along ``axis`` (1 at i = 0), with no division."""
    return T.cumprod(T.shift_along(x, 1, axis, 1.0), axis)


def _cumprod_grad(g, x, axis):
    """The VJP of ``cumprod(x, axis)`` at cotangent ``g``, with no division: exact with zeros.

    It replays cumprod as a Hillis-Steele scan, ``y <- y * shift(y, s)`` for s = 1, 2, 4, ... with
    ones shifted in, and runs that scan backwards. Only products and shifts: every derivative order
    is exact wherever the inputs are (zeros included); cost O(n log n) along ``axis``.
    """
    n = x.shape[axis]
    levels = []
    y, s = x, 1
    while s < n:
        b = T.shift_along(y, s, axis, 1.0)
        levels.append((y, b, s))
        y = y * b
        s *= 2
    for y, b, s in reversed(levels):
        g = g * b + T.shift_along(g * y, -s, axis, 0.0)
    return g


def _others_product(x, axis):
    """For each element, the product of the *other* elements of its reduction slice over ``axis``
    (the gradient of prod), from prefix and suffix products: no division, exact with zeros."""
    nd = x.ndim
    axes = norm_axes(axis, nd)
    keep = tuple(i for i in range(nd) if i not in axes)
    perm = keep + axes
    moved = perm != tuple(range(nd))
    xt = T.transpose(x, perm) if moved else x
    tshape = xt.shape
    x2 = T.reshape(xt, tshape[:len(keep)] + (_count(x.shape, axes),))
    left = _exclusive_cumprod(x2, -1)
    right = _flip(_exclusive_cumprod(_flip(x2, -1), -1), -1)
    o = T.reshape(left * right, tshape)
    return T.transpose(o, tuple(int(i) for i in numpy.argsort(perm))) if moved else o


def _zero_cases(ref=None, axes=(None, 0, -1, (0, 2)), keepdims=(False, True), cum=False):
    """Inputs holding exact zeros: one, two in one slice, and three spread out."""
    def make(rng):
        out = []
        for zeros in (((0, 1, 2),), ((1, 0, 3), (1, 2, 3)), ((0, 0, 0), (0, 0, 2), (1, 2, 1))):
            x = draw(rng, AXIS_SHAPE, (0.5, 1.5)) * numpy.where(rng.random(AXIS_SHAPE) < 0.5, -1, 1)
            for z in zeros:
                x[z] = 0.0
            for ax in axes:
                if cum:
                    out.append(Case((x.copy(),), dict(axis=ax)))
                else:
                    for kd in keepdims:
                        out.append(Case((x.copy(),), dict(axis=ax, keepdims=kd)))
        return out
    return make


# --- prod -------------------------------------------------------------------------------------


@defop(samples=_chain(reduction(domain=(-1.5, 1.5)), _zero_cases()))
def prod(xp, a, axis=None, dtype=None, out=None, keepdims=False):
    """Product over ``axis``. Its gradient is the product of the other elements, formed from prefix
    and suffix products without dividing, so it is exact (at every order) when inputs hold zeros."""
    _no_out("prod", out)
    return xp.prod(a, axis=_ax(axis), dtype=dtype, keepdims=keepdims)


@prod.vjp
def _(g, a, shapes, axis, keepdims):
    return (_expand(g, shapes[0], axis, keepdims) * _others_product(a, axis),)


# --- max / min --------------------------------------------------------------------------------


def _extremum_vjp(g, a, out, shapes, axis, keepdims):
    """Ties split the gradient evenly among the tied elements (a slice holding NaN, whose result is
    NaN, sends it to its NaN elements)."""
    shape = shapes[0]
    o = out if keepdims else T.reshape(out, kept_shape(shape, axis))
    hit = T.astype(T.logical_or(T.equal(a, o), T.isnan(a)), a.dtype)
    return (_expand(g, shape, axis, keepdims) * (hit / T.sum(hit, axis=axis, keepdims=True)),)


_EXTREMUM_DOC = """{what} over ``axis``.

Gradient convention: the cotangent of each result goes to the element(s) equal to it; when several
elements tie, it is split evenly among them (each gets ``g / k`` for ``k`` ties), so the gradient
sums to ``g`` as for any convex combination. A slice containing NaN has result NaN and sends the
gradient to its NaN elements. ``out=`` must be None.
"""


@defop(samples=reduction(distinct=True))
def max(xp, a, axis=None, out=None, keepdims=False):  # noqa: A001 - NumPy's name
    _no_out("max", out)
    return xp.max(a, axis=_ax(axis), keepdims=keepdims)


@defop(samples=reduction(distinct=True))
def amax(xp, a, axis=None, out=None, keepdims=False):
    _no_out("amax", out)
    return xp.max(a, axis=_ax(axis), keepdims=keepdims)


@defop(samples=reduction(distinct=True))
def min(xp, a, axis=None, out=None, keepdims=False):  # noqa: A001 - NumPy's name
    _no_out("min", out)
    return xp.min(a, axis=_ax(axis), keepdims=keepdims)


@defop(samples=reduction(distinct=True))
def amin(xp, a, axis=None, out=None, keepdims=False):
    _no_out("amin", out)
    return xp.min(a, axis=_ax(axis), keepdims=keepdims)


for _op, _what in ((max, "Maximum"), (amax, "Maximum (alias of max)"), (min, "Minimum"),
                   (amin, "Minimum (alias of min)")):
    _op.vjp(_extremum_vjp)
    _op.forward.__doc__ = _EXTREMUM_DOC.format(what=_what)
    _op.__doc__ = _op.forward.__doc__


# --- argmax / argmin (no gradient) ---------------------------------------------------------------


@defop(diff=False, samples=reduction(axes=(None, 0, 1, -1), distinct=True))
def argmax(xp, a, axis=None, out=None, *, keepdims=False):
    """Index of the maximum along ``axis`` (flat index for None); not differentiable."""
    _no_out("argmax", out)
    return xp.argmax(a, axis=axis, keepdims=keepdims)


@defop(diff=False, samples=reduction(axes=(None, 0, 1, -1), distinct=True))
def argmin(xp, a, axis=None, out=None, *, keepdims=False):
    """Index of the minimum along ``axis`` (flat index for None); not differentiable."""
    _no_out("argmin", out)
    return xp.argmin(a, axis=axis, keepdims=keepdims)


# --- var / std --------------------------------------------------------------------------------


def _spread_denominator(shape, axis, ddof):
    d = _count(shape, axis) - ddof
    return float(d) if d > 0 else float("nan")  # NumPy's forward is inf/nan there too (and warns)


def _centred_conj(a, axis):
    """``conj(a - mean(a))``: var and std are real functions of complex ``a`` (``mean(|a - m|^2)``),
    so their gradient is ``dL/dx - i dL/dy`` (the README's convention), the conjugate of ``a - m``."""
    c = a - T.mean(a, axis=axis, keepdims=True)
    return T.conj(c) if a.dtype.kind == "c" else c


@defop(samples=_chain(reduction(), reduction(axes=(None, 0, -1, (0, 2)), ddof=1)))
def var(xp, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Variance over ``axis``, dividing by ``N - ddof``."""
    _no_out("var", out)
    return xp.var(a, axis=_ax(axis), dtype=dtype, ddof=ddof, keepdims=keepdims)


@var.vjp
def _(g, a, shapes, axis, ddof, keepdims):
    shape = shapes[0]
    c = _centred_conj(a, axis)
    return (_expand(g, shape, axis, keepdims) * c * (2.0 / _spread_denominator(shape, axis, ddof)),)


@defop(samples=_chain(reduction(), reduction(axes=(None, 0, -1, (0, 2)), ddof=1)))
def std(xp, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis``, dividing by ``N - ddof``. Where it is exactly 0 (a constant
    slice) the derivative does not exist; the gradient there is taken as 0, not NaN."""
    _no_out("std", out)
    return xp.std(a, axis=_ax(axis), dtype=dtype, ddof=ddof, keepdims=keepdims)


@std.vjp
def _(g, a, out, shapes, axis, ddof, keepdims):
    shape = shapes[0]
    c = _centred_conj(a, axis)
    safe = T.where(T.equal(out, 0), 1.0, out)
    return (_expand(g / safe, shape, axis, keepdims) * c * (1.0 / _spread_denominator(shape, axis, ddof)),)


# --- cumulative ops ---------------------------------------------------------------------------


def _cum_cases(domain=(-2.0, 2.0)):
    def make(rng):
        return [Case((draw(rng, s, domain),), dict(axis=ax))
                for s, axes in ((AXIS_SHAPE, (None, 0, 1, -1)), ((5,), (None, 0)), ((), (None,)))
                for ax in axes]
    return make


@defop(linear=True, samples=_cum_cases())
def cumsum(xp, a, axis=None, dtype=None, out=None):
    """Cumulative sum along ``axis`` (None: of the flattened array)."""
    _no_out("cumsum", out)
    return xp.cumsum(a, axis=axis, dtype=dtype)


@cumsum.vjp
def _(g, shapes, axis):
    if axis is None:
        return (T.reshape(_rev_cumsum(g, 0), shapes[0]),)
    return (_rev_cumsum(g, axis),)


@defop(samples=_chain(_cum_cases((-1.5, 1.5)), _zero_cases(axes=(None, 0, -1), cum=True)))
def cumprod(xp, a, axis=None, dtype=None, out=None):
    """Cumulative product along ``axis`` (None: of the flattened array). Its gradient never divides:
    it runs a product scan backwards, so it is exact (at every order) when inputs hold zeros, at
    O(n log n) cost along the axis."""
    _no_out("cumprod", out)
    return xp.cumprod(a, axis=axis, dtype=dtype)


@cumprod.vjp
def _(g, a, shapes, axis):
    if axis is None:
        return (T.reshape(_cumprod_grad(g, T.reshape(a, (-1,)), 0), shapes[0]),)
    return (_cumprod_grad(g, a, axis % _b.max(a.ndim, 1)),)


# --- all / any (no gradient) ------------------------------------------------------------------


def _truth_cases(p_zero):
    def make(rng):
        out = []
        for ax in AXES:
            for kd in (False, True):
                x = numpy.where(rng.random(AXIS_SHAPE) < p_zero, 0.0, draw(rng, AXIS_SHAPE, avoid=(0.0,)))
                out.append(Case((x,), dict(axis=ax, keepdims=kd)))
        out.append(Case((rng.random(AXIS_SHAPE) < 0.5,), dict(axis=1)))
        return out
    return make


@defop(diff=False, samples=_truth_cases(0.08))
def all(xp, a, axis=None, out=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Whether every element over ``axis`` is true (nonzero); not differentiable."""
    _no_out("all", out)
    return xp.all(a, axis=_ax(axis), keepdims=keepdims)


@defop(diff=False, samples=_truth_cases(0.92))
def any(xp, a, axis=None, out=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Whether some element over ``axis`` is true (nonzero); not differentiable."""
    _no_out("any", out)
    return xp.any(a, axis=_ax(axis), keepdims=keepdims)

"""Reductions with ``axis`` (int or tuple) and ``keepdims``."""
from __future__ import annotations

from .._core.array import OPS as T
from ._util import kept_shape, norm_axes
from .registry import defop
from .samples import reduction


def _expand(g, shape, axis, keepdims):
    """Broadcast a reduction's cotangent back to the input shape."""
    if not keepdims:
        g = T.reshape(g, kept_shape(shape, axis))
    return T.broadcast_to(g, shape)


@defop(samples=reduction())
def sum(xp, a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    return xp.sum(a, axis=_ax(axis), keepdims=keepdims)


@sum.vjp
def _(g, shapes, axis, keepdims):
    return (_expand(g, shapes[0], axis, keepdims),)


@defop(samples=reduction())
def mean(xp, a, axis=None, keepdims=False):
    return xp.mean(a, axis=_ax(axis), keepdims=keepdims)


@mean.vjp
def _(g, shapes, axis, keepdims):
    shape = shapes[0]
    n = 1
    for i in norm_axes(axis, len(shape)):
        n *= shape[i]
    return (_expand(g, shape, axis, keepdims) / max(n, 1),)


@defop(nin=1, public=None)
def sum_to(xp, x, shape):
    """Sum ``x`` down to ``shape`` (undoes broadcasting)."""
    shape = tuple(shape)
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    if axes:
        x = xp.sum(x, axis=axes, keepdims=True)
    return x.reshape(shape)


@sum_to.vjp
def _(g, shapes):
    return (T.broadcast_to(g, shapes[0]),)


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis

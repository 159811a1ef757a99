"""Shape ops: views and rearrangements; their VJPs undo the rearrangement."""
from __future__ import annotations

import numpy

from .._core.array import OPS as T
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

"""Elementwise ops: arithmetic ufuncs and unary math."""
from __future__ import annotations

from .._core.array import OPS as T
from .registry import defop
from .samples import binary, unary, where_cases

# --- arithmetic -----------------------------------------------------------------------------


@defop(broadcast=True, samples=binary())
def add(xp, x, y):
    return xp.add(x, y)


@add.vjp
def _(g, needs):
    return (g if needs[0] else None, g if needs[1] else None)


@defop(broadcast=True, samples=binary())
def subtract(xp, x, y):
    return xp.subtract(x, y)


@subtract.vjp
def _(g, needs):
    return (g if needs[0] else None, -g if needs[1] else None)


@defop(broadcast=True, samples=binary())
def multiply(xp, x, y):
    return xp.multiply(x, y)


@multiply.vjp
def _(g, x, y, needs):
    return (g * y if needs[0] else None, g * x if needs[1] else None)


@defop(broadcast=True, samples=binary(y_domain=(0.5, 2.0)))
def divide(xp, x, y):
    return xp.divide(x, y)


@divide.vjp
def _(g, x, y, needs):
    gx = g / y
    return (gx if needs[0] else None, -gx * x / y if needs[1] else None)


@defop(elementwise=True, linear=True, samples=unary())
def negative(xp, x):
    return xp.negative(x)


@negative.vjp
def _(g):
    return (-g,)


@defop(elementwise=True, linear=True, samples=unary())
def positive(xp, x):
    return xp.positive(x)


@positive.vjp
def _(g):
    return (g,)


@defop(broadcast=True, samples=binary(x_domain=(0.5, 2.0), y_domain=(-2.0, 2.0)))
def power(xp, x, y):
    return xp.power(x, y)


@power.vjp
def _(g, x, y, out, needs):
    gx = gy = None
    if needs[0]:
        gx = g * y * T.power(x, y - 1)
    if needs[1]:
        gy = g * out * T.log(T.where(x > 0, x, 1))
    return (gx, gy)


@defop(elementwise=True, samples=unary(domain=(0.5, 3.0)))
def log(xp, x):
    return xp.log(x)


@log.vjp
def _(g, x):
    return (g / x,)


@defop(elementwise=True, samples=unary())
def exp(xp, x):
    return xp.exp(x)


@exp.vjp
def _(g, out):
    return (g * out,)


@defop(elementwise=True, samples=unary())
def sin(xp, x):
    return xp.sin(x)


@sin.vjp
def _(g, x):
    return (g * T.cos(x),)


@defop(elementwise=True, samples=unary())
def cos(xp, x):
    return xp.cos(x)


@cos.vjp
def _(g, x):
    return (-g * T.sin(x),)


@defop(elementwise=True, samples=unary(domain=(0.3, 3.0)))
def sqrt(xp, x):
    return xp.sqrt(x)


@sqrt.vjp
def _(g, out):
    return (g / (2 * out),)


@defop(elementwise=True, samples=unary(avoid=(0.0,)))
def abs(xp, x):  # noqa: A001 - NumPy's name
    return xp.abs(x)


@abs.vjp
def _(g, x):
    return (g * T.sign(x),)


@defop(elementwise=True, samples=unary())
def tanh(xp, x):
    return xp.tanh(x)


@tanh.vjp
def _(g, out):
    return (g * (1 - out * out),)


# --- selection --------------------------------------------------------------------------------


@defop(nin=3, broadcast=True, samples=where_cases())
def where(xp, condition, x, y):
    return xp.where(condition, x, y)


@where.vjp
def _(g, condition, needs):
    zero = g * 0
    return (None, T.where(condition, g, zero) if needs[1] else None,
            T.where(condition, zero, g) if needs[2] else None)


# --- casts ------------------------------------------------------------------------------------


@defop(nin=1, public=None)
def astype(xp, x, dtype):
    return x.astype(dtype, copy=False) if hasattr(x, "astype") else xp.asarray(x, dtype=dtype)


@astype.vjp
def _(g, dtypes):
    dt = dtypes[0]
    return (T.astype(g, dt) if dt is not None and dt.kind in "fc" else None,)

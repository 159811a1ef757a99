"""Elementwise ops: arithmetic ufuncs and unary math."""
from __future__ import annotations

import math

import numpy

from .._core.array import OPS as T
from .registry import defop
from .samples import Case, binary, custom, draw, unary, where_cases

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


def _divide_rule(g, x, y, needs):
    """d(x/y) = dx / y - x dy / y**2 (shared by ``divide`` and its alias ``true_divide``)."""
    gx = g / y
    return (gx if needs[0] else None, -gx * x / y if needs[1] else None)


def _true_divide(xp, x, y):
    """x / y; integer (and bool) operands divide to float32, the default float (as MXNet and PyTorch do)."""
    if _is_integral(x) and _is_integral(y):
        return xp.divide(x, y, dtype=xp.float32)
    return xp.divide(x, y)


def _is_integral(v) -> bool:
    if isinstance(v, (bool, int)):
        return True
    kind = getattr(getattr(v, "dtype", None), "kind", "f")
    return kind in "iub"


@defop(broadcast=True, samples=binary(y_domain=(0.5, 2.0)))
def divide(xp, x, y):
    return _true_divide(xp, x, y)


divide.vjp(_divide_rule)


@defop(broadcast=True, samples=binary(y_domain=(0.5, 2.0)))
def true_divide(xp, x, y):
    """NumPy's alias of ``divide``, declared as its own op."""
    return _true_divide(xp, x, y)


true_divide.vjp(_divide_rule)


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
        # d/dy x**y = x**y log x, taken as 0 where x <= 0 (there only integer y are real-valued)
        if isinstance(x, (int, float)):  # a Python number base stays a number
            gy = g * out * (math.log(x) if x > 0 else 0.0)
        else:
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
    """sqrt'(0) = inf (g / 0): NumPy's math, left as it is."""
    return (g / (2 * out),)


@defop(elementwise=True, samples=unary(avoid=(0.0,)))
def abs(xp, x):  # noqa: A001 - NumPy's name
    return xp.abs(x)


@abs.vjp
def _(g, x):
    """Convention: abs'(0) = 0, since sign(0) = 0 (a subgradient; the symmetric choice)."""
    return (g * T.sign(x),)


@defop(elementwise=True, samples=unary())
def tanh(xp, x):
    return xp.tanh(x)


@tanh.vjp
def _(g, out):
    return (g * (1 - out * out),)


# --- more unary math ---------------------------------------------------------------------


@defop(elementwise=True, samples=unary())
def square(xp, x):
    return xp.square(x)


@square.vjp
def _(g, x):
    return (g * (2 * x),)


@defop(elementwise=True, samples=unary(avoid=(0.0,)))
def cbrt(xp, x):
    return xp.cbrt(x)


@cbrt.vjp
def _(g, out):
    """cbrt'(0) = inf (g / 0), like sqrt."""
    return (g / (3 * out * out),)


@defop(elementwise=True, samples=unary(avoid=(0.0,)))
def reciprocal(xp, x):
    return xp.reciprocal(x)


@reciprocal.vjp
def _(g, out):
    return (-g * out * out,)


@defop(elementwise=True, samples=unary())
def expm1(xp, x):
    return xp.expm1(x)


@expm1.vjp
def _(g, out):
    return (g * (out + 1),)


_LN2 = float(numpy.log(2.0))
_LN10 = float(numpy.log(10.0))


@defop(elementwise=True, samples=unary(domain=(0.5, 3.0)))
def log2(xp, x):
    return xp.log2(x)


@log2.vjp
def _(g, x):
    return (g / (x * _LN2),)


@defop(elementwise=True, samples=unary(domain=(0.5, 3.0)))
def log10(xp, x):
    return xp.log10(x)


@log10.vjp
def _(g, x):
    return (g / (x * _LN10),)


@defop(elementwise=True, samples=unary(domain=(-0.5, 2.0)))
def log1p(xp, x):
    return xp.log1p(x)


@log1p.vjp
def _(g, x):
    return (g / (1 + x),)


@defop(elementwise=True, samples=unary(domain=(-1.2, 1.2)))
def tan(xp, x):
    return xp.tan(x)


@tan.vjp
def _(g, out):
    return (g * (1 + out * out),)


@defop(elementwise=True, samples=unary(domain=(-0.9, 0.9)))
def arcsin(xp, x):
    return xp.arcsin(x)


@arcsin.vjp
def _(g, x):
    return (g / T.sqrt(1 - x * x),)


@defop(elementwise=True, samples=unary(domain=(-0.9, 0.9)))
def arccos(xp, x):
    return xp.arccos(x)


@arccos.vjp
def _(g, x):
    return (-g / T.sqrt(1 - x * x),)


@defop(elementwise=True, samples=unary())
def arctan(xp, x):
    return xp.arctan(x)


@arctan.vjp
def _(g, x):
    return (g / (1 + x * x),)


@defop(broadcast=True, samples=binary(x_avoid=(0.0,)))
def arctan2(xp, x1, x2):
    return xp.arctan2(x1, x2)


@arctan2.vjp
def _(g, x1, x2, needs):
    """d atan2(x1, x2) = (x2 dx1 - x1 dx2) / (x1**2 + x2**2); at the origin this is 0/0 = nan."""
    r2 = x1 * x1 + x2 * x2
    return (g * x2 / r2 if needs[0] else None, -g * x1 / r2 if needs[1] else None)


@defop(elementwise=True, samples=unary())
def sinh(xp, x):
    return xp.sinh(x)


@sinh.vjp
def _(g, x):
    return (g * T.cosh(x),)


@defop(elementwise=True, samples=unary())
def cosh(xp, x):
    return xp.cosh(x)


@cosh.vjp
def _(g, x):
    return (g * T.sinh(x),)


@defop(broadcast=True, samples=binary(x_avoid=(0.0,)))
def hypot(xp, x1, x2):
    return xp.hypot(x1, x2)


@hypot.vjp
def _(g, x1, x2, out, needs):
    """d hypot = (x1 dx1 + x2 dx2) / hypot; at the origin this is 0/0 = nan (like sqrt'(0))."""
    return (g * x1 / out if needs[0] else None, g * x2 / out if needs[1] else None)


@defop(broadcast=True, samples=binary())
def logaddexp(xp, x1, x2):
    return xp.logaddexp(x1, x2)


@logaddexp.vjp
def _(g, x1, x2, out, needs):
    """Stable: the weights exp(x_i - out) are <= 1, so nothing overflows for large inputs."""
    return (g * T.exp(x1 - out) if needs[0] else None, g * T.exp(x2 - out) if needs[1] else None)


# --- piecewise-constant ops: recorded, zero gradient -------------------------------------------
# floor, ceil, round, trunc, rint, fix and sign are flat almost everywhere: their VJP returns
# None (a zero cotangent), also at the jumps, where the derivative does not exist.

_INTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
_HALVES = (-1.5, -0.5, 0.5, 1.5)


def _zero_rule(g):
    """Zero gradient: the op is piecewise constant."""
    return (None,)


def _flat_unary(name: str, avoid: tuple):
    def fwd(xp, x):
        return getattr(xp, name)(x)
    fwd.__name__ = name
    op = defop(fwd, name=name, elementwise=True, samples=unary(avoid=avoid))
    op.vjp(_zero_rule)
    return op


sign = _flat_unary("sign", (0.0,))
floor = _flat_unary("floor", _INTS)
ceil = _flat_unary("ceil", _INTS)
trunc = _flat_unary("trunc", _INTS)
rint = _flat_unary("rint", _HALVES)
fix = _flat_unary("fix", _INTS)


def _round_cases(rng):
    return (unary(avoid=_HALVES)(rng) + unary(decimals=1)(rng) + unary(domain=(-40.0, 40.0), decimals=-1)(rng))


@defop(nin=1, elementwise=True, samples=_round_cases)
def round_(xp, a, decimals=0):
    return xp.round(a, decimals)


round_.vjp(_zero_rule)


@defop(nin=1, elementwise=True, samples=_round_cases)
def around(xp, a, decimals=0):
    """NumPy's other name for ``round``, declared as its own op."""
    return xp.round(a, decimals)


around.vjp(_zero_rule)


# --- remainders -------------------------------------------------------------------------------


def _mod_rule(g, x1, x2, needs):
    """x1 mod x2 = x1 - floor(x1 / x2) * x2: d/dx1 = 1, d/dx2 = -floor(x1 / x2) (jumps ignored)."""
    return (g if needs[0] else None, -g * T.floor_divide(x1, x2) if needs[1] else None)


@defop(broadcast=True, samples=binary(x_domain=(-3.0, 3.0), y_avoid=(0.0,)))
def mod(xp, x1, x2):
    return xp.mod(x1, x2)


mod.vjp(_mod_rule)


@defop(broadcast=True, samples=binary(x_domain=(-3.0, 3.0), y_avoid=(0.0,)))
def remainder(xp, x1, x2):
    """NumPy's other name for ``mod``, declared as its own op."""
    return xp.remainder(x1, x2)


remainder.vjp(_mod_rule)


@defop(broadcast=True, samples=binary(x_domain=(-3.0, 3.0), y_avoid=(0.0,)))
def fmod(xp, x1, x2):
    return xp.fmod(x1, x2)


@fmod.vjp
def _(g, x1, x2, needs):
    """fmod(x1, x2) = x1 - trunc(x1 / x2) * x2: d/dx1 = 1, d/dx2 = -trunc(x1 / x2) (jumps ignored)."""
    return (g if needs[0] else None, -g * T.trunc(x1 / x2) if needs[1] else None)


# --- extrema and clipping ---------------------------------------------------------------------


def _extremum_rule(pick_first):
    """The VJP of a two-input extremum; ``pick_first(x, y)`` is where the result is ``x``.

    Convention: at ties (x == y) the whole gradient goes to the SECOND argument, so that
    ``maximum(x, 0)`` has gradient 0 at x == 0, like relu'(0) = 0 and ``where(x > 0, x, 0)``.
    """
    def rule(g, x1, x2, needs):
        first = pick_first(x1, x2)
        return (T.where(first, g, 0) if needs[0] else None,
                T.where(first, 0, g) if needs[1] else None)
    return rule


@defop(broadcast=True, samples=binary())
def maximum(xp, x1, x2):
    """Gradient at ties goes to x2; a NaN operand (which maximum propagates) gets the gradient."""
    return xp.maximum(x1, x2)


maximum.vjp(_extremum_rule(lambda x, y: T.logical_or(x > y, T.isnan(x))))


@defop(broadcast=True, samples=binary())
def minimum(xp, x1, x2):
    """Gradient at ties goes to x2; a NaN operand (which minimum propagates) gets the gradient."""
    return xp.minimum(x1, x2)


minimum.vjp(_extremum_rule(lambda x, y: T.logical_or(x < y, T.isnan(x))))


@defop(broadcast=True, samples=binary())
def fmax(xp, x1, x2):
    """Gradient at ties goes to x2; NaN operands are ignored (the other one gets the gradient)."""
    return xp.fmax(x1, x2)


fmax.vjp(_extremum_rule(lambda x, y: T.logical_or(x > y, T.isnan(y))))


@defop(broadcast=True, samples=binary())
def fmin(xp, x1, x2):
    """Gradient at ties goes to x2; NaN operands are ignored (the other one gets the gradient)."""
    return xp.fmin(x1, x2)


fmin.vjp(_extremum_rule(lambda x, y: T.logical_or(x < y, T.isnan(y))))


def _bound(v):
    """A clip bound as a raw value: None, a scalar, or an array's buffer."""
    return getattr(v, "_data", v)


def _clip_cases(rng):
    x = draw(rng, (2, 3))
    return [Case((x,), dict(a_min=-0.5, a_max=0.7)), Case((draw(rng, (3,)),), dict(a_min=None, a_max=0.5)),
            Case((draw(rng, ()),), dict(a_min=-0.3, a_max=None)),
            Case((x,), dict(a_min=draw(rng, (2, 3), (-1.5, -0.2)), a_max=draw(rng, (2, 3), (0.2, 1.5)))),
            Case((draw(rng, (2, 3)),), dict(a_min=draw(rng, (3,), (-1.5, -0.2)), a_max=draw(rng, (), (0.2, 1.5)))),
            Case((draw(rng, (2, 3)),), dict(a_min=draw(rng, (2, 1), (-1.5, -0.2)), a_max=None)),
            # a_min > a_max: NumPy returns a_max everywhere
            Case((draw(rng, (3,)),), dict(a_min=1.0, a_max=draw(rng, (3,), (-1.0, 0.0))))]


@defop(nin=1, elementwise=True, samples=_clip_cases)
def clip(xp, a, a_min=None, a_max=None):
    """``minimum(maximum(a, a_min), a_max)``; each bound may be None, a scalar or an array.

    The bounds are static parameters (so ``np.clip(x, a_max=1)`` works): they get no gradient.
    Gradient convention: it passes to ``a`` where a_min <= a <= a_max (the bounds included, as in
    PyTorch's clamp) and is 0 where ``a`` was clipped; with a_min > a_max (the result is a_max
    everywhere) it is 0.
    """
    lo, hi = _bound(a_min), _bound(a_max)
    if lo is None and hi is None:
        return xp.array(a, copy=True)
    if lo is None:
        return xp.minimum(a, hi)
    if hi is None:
        return xp.maximum(a, lo)
    return xp.clip(a, lo, hi)


@clip.vjp
def _(g, a, a_min, a_max):
    lo, hi = _bound(a_min), _bound(a_max)
    inside = None
    if lo is not None:
        inside = a >= lo
    if hi is not None:
        le = a <= hi
        if lo is not None:  # a_min > a_max: the result is a_max even where a <= a_max
            le = T.logical_and(le, numpy.logical_not(numpy.greater(lo, hi)))  # raw bounds: a constant
        inside = le if inside is None else T.logical_and(inside, le)
    if inside is None:
        return (g,)
    return (T.where(inside, g, 0),)


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


def _astype_cases(rng):
    """float64 -> float64 / longdouble / int64 (a float32 cast is too coarse for central differences
    at eps = 1e-6; tests/test_elementwise_nn.py checks it directly)."""
    ref = _np_astype
    cases = [Case((draw(rng, s),), dict(dtype=numpy.float64), ref=ref) for s in ((), (2, 3))]
    cases.append(Case((draw(rng, (3,)),), dict(dtype="float64"), ref=ref))
    cases.append(Case((draw(rng, (2, 3)),), dict(dtype=numpy.longdouble), ref=ref))
    cases.append(Case((draw(rng, (2, 3), avoid=(-1.0, 0.0, 1.0)),), dict(dtype=numpy.int64), ref=ref))
    return cases


def _np_astype(x, dtype):
    return numpy.asarray(x).astype(dtype)


@defop(nin=1, public=None, samples=custom(_astype_cases))
def astype(xp, x, dtype):
    return x.astype(dtype, copy=False) if hasattr(x, "astype") else xp.asarray(x, dtype=dtype)


@astype.vjp
def _(g, dtypes):
    dt = dtypes[0]
    return (T.astype(g, dt) if dt is not None and dt.kind in "fc" else None,)

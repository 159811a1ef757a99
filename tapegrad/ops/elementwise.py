"""Elementwise ops: arithmetic ufuncs and unary math."""
from __future__ import annotations

import cmath
import math

import numpy

from .._core.array import OPS as T
from ..backend import CPU, device_of, is_device_buffer, to_device
from .registry import REGISTRY, buffer, defop
from .samples import Case, binary, custom, draw, unary, where_cases

# Complex numbers follow the HIPS autograd / JAX convention: the VJP pairs a cotangent g with a
# tangent u through Re(sum(g * u)) (no conjugate), so for a holomorphic f the VJP is g * f'(z) and
# the real-valued formulas below serve complex inputs unchanged. Non-holomorphic ops (abs, sign,
# angle, real, imag, conj, nan_to_num on complex input) have rules of their own, and explicit JVPs,
# since for them the JVP is not the VJP applied to the tangent.


def _is_complex(v) -> bool:
    """Whether ``v`` (an Array, a raw buffer or a Python number) holds complex numbers."""
    if isinstance(v, complex):
        return True
    # the raw buffer's dtype: a dialect's own ``dtype`` attribute may not be a NumPy dtype (torch.float32)
    return getattr(getattr(getattr(v, "_data", v), "dtype", None), "kind", "") == "c"


def _conj(v):
    """conj(v), skipping the op for real values (where it is the identity)."""
    return T.conj(v) if _is_complex(v) else v


def _real(v):
    """real(v), skipping the op for real values."""
    return T.real(v) if _is_complex(v) else v


def _copy(xp, v):
    """A fresh buffer, so an op's result never aliases its input (NumPy's real/imag return views)."""
    return xp.array(v, copy=True)

# --- arithmetic -----------------------------------------------------------------------------


@defop(broadcast=True, elementwise=True, samples=binary(), ufunc=numpy.add)
def add(xp, x, y):
    return xp.add(x, y)


@add.vjp
def _(g, needs):
    return (g if needs[0] else None, g if needs[1] else None)


@defop(broadcast=True, elementwise=True, samples=binary(), ufunc=numpy.subtract)
def subtract(xp, x, y):
    return xp.subtract(x, y)


@subtract.vjp
def _(g, needs):
    return (g if needs[0] else None, -g if needs[1] else None)


@defop(broadcast=True, elementwise=True, samples=binary(), singular=True, ufunc=numpy.multiply)
def multiply(xp, x, y):
    return xp.multiply(x, y)


@multiply.vjp(needed_for={"x": (1,), "y": (0,)})
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


@defop(broadcast=True, elementwise=True, samples=binary(y_domain=(0.5, 2.0)), singular=True)
def divide(xp, x, y):
    return _true_divide(xp, x, y)


divide.vjp(_divide_rule, needed_for={"x": (1,)})


@defop(broadcast=True, elementwise=True, samples=binary(y_domain=(0.5, 2.0)), singular=True)
def true_divide(xp, x, y):
    """NumPy's alias of ``divide``, declared as its own op."""
    return _true_divide(xp, x, y)


true_divide.vjp(_divide_rule, needed_for={"x": (1,)})


@defop(elementwise=True, linear=True, samples=unary(), ufunc=numpy.negative)
def negative(xp, x):
    return xp.negative(x)


@negative.vjp
def _(g):
    return (-g,)


@defop(elementwise=True, linear=True, samples=unary(), ufunc=numpy.positive)
def positive(xp, x):
    return xp.positive(x)


@positive.vjp
def _(g):
    return (g,)


@defop(broadcast=True, elementwise=True, samples=binary(x_domain=(0.5, 2.0), y_domain=(-2.0, 2.0)), singular=True, ufunc=numpy.power)
def power(xp, x, y):
    return xp.power(x, y)


@power.vjp
def _(g, x, y, out, needs):
    gx = gy = None
    if needs[0]:
        # y * x**(y - 1) is 0 * 0**-1 = NaN at y == 0, x == 0, where x**0 == 1 has slope 0: the
        # exponent is taken as 1 there. Only there: at x != 0 the exponent y - 1 keeps the mixed
        # derivative d/dy (y x**(y-1)) = 1/x at y == 0 (HIPS's where(y, y - 1, 1) gives x)
        if isinstance(y, (int, float, complex)):
            gx = g * y * T.power(x, y - 1 if y != 0 else 1)
        else:
            gx = g * y * T.power(x, T.where((y != 0) | (x != 0), y - 1, 1))
    if needs[1]:
        # d/dy x**y = x**y log x. A real result: taken as 0 where x <= 0 (there only integer y are
        # real-valued). A complex result: the principal log, taken as 0 where x == 0.
        if _is_complex(out):
            if isinstance(x, (int, float, complex)):  # a Python number base stays a number
                gy = g * out * (cmath.log(x) if x != 0 else 0.0)
            else:
                safe = T.where(x != 0, x, 1)
                gy = g * out * T.log(safe if _is_complex(safe) else T.astype(safe, buffer(out).dtype))
        elif isinstance(x, (int, float)):
            gy = g * out * (math.log(x) if x > 0 else 0.0)
        else:
            gy = g * out * T.log(T.where(x > 0, x, 1))
    return (gx, gy)


@defop(elementwise=True, samples=unary(domain=(0.5, 3.0)), singular=True, ufunc=numpy.log)
def log(xp, x):
    return xp.log(x)


@log.vjp
def _(g, x):
    return (g / x,)


@defop(elementwise=True, samples=unary(), singular=True, ufunc=numpy.exp)
def exp(xp, x):
    return xp.exp(x)


@exp.vjp
def _(g, out):
    return (g * out,)


@defop(elementwise=True, samples=unary(), ufunc=numpy.sin)
def sin(xp, x):
    return xp.sin(x)


@sin.vjp
def _(g, x):
    return (g * T.cos(x),)


@defop(elementwise=True, samples=unary(), ufunc=numpy.cos)
def cos(xp, x):
    return xp.cos(x)


@cos.vjp
def _(g, x):
    return (-g * T.sin(x),)


@defop(elementwise=True, samples=unary(domain=(0.3, 3.0)), singular=True, ufunc=numpy.sqrt)
def sqrt(xp, x):
    return xp.sqrt(x)


@sqrt.vjp
def _(g, out):
    """sqrt'(0) = inf (g / 0): NumPy's math, left as it is."""
    return (g / (2 * out),)


def _abs_rule(g, x, out):
    """d|x| = sign(x) dx for real x; for complex z, d|z| = Re(conj(z) dz) / |z|, so the VJP is
    g * conj(z) / |z| (HIPS). Convention: abs'(0) = 0 (sign(0) = 0; the symmetric subgradient)."""
    if _is_complex(x):
        return (g * T.conj(x) / T.where(out == 0, 1, out),)
    return (g * T.sign(x),)


def _abs_jvp(ts, x, out):
    (t,) = ts
    if _is_complex(x):
        return T.real(T.conj(x) * t) / T.where(out == 0, 1, out)
    return _real(t) * T.sign(x)


@defop(elementwise=True, samples=unary(avoid=(0.0,)), ufunc=numpy.absolute)
def abs(xp, x):  # noqa: A001 - NumPy's name
    return xp.abs(x)


abs.vjp(_abs_rule)
abs.jvp(_abs_jvp)


@defop(elementwise=True, samples=unary(avoid=(0.0,)), ufunc=numpy.absolute)
def absolute(xp, x):
    """NumPy's other name for ``abs``, declared as its own op."""
    return xp.absolute(x)


absolute.vjp(_abs_rule)
absolute.jvp(_abs_jvp)


@defop(elementwise=True, samples=unary(avoid=(0.0,)), ufunc=numpy.fabs)
def fabs(xp, x):
    """``abs`` for real numbers only (NumPy refuses complex input)."""
    return xp.fabs(x)


fabs.vjp(_abs_rule)
fabs.jvp(_abs_jvp)


@defop(elementwise=True, samples=unary(), ufunc=numpy.tanh)
def tanh(xp, x):
    return xp.tanh(x)


@tanh.vjp
def _(g, out):
    return (g * (1 - out * out),)


# --- more unary math ---------------------------------------------------------------------


@defop(elementwise=True, samples=unary(), ufunc=numpy.square)
def square(xp, x):
    return xp.square(x)


@square.vjp
def _(g, x):
    return (g * (2 * x),)


@defop(elementwise=True, samples=unary(avoid=(0.0,)), singular=True, ufunc=numpy.cbrt)
def cbrt(xp, x):
    return xp.cbrt(x)


@cbrt.vjp
def _(g, out):
    """cbrt'(0) = inf (g / 0), like sqrt."""
    return (g / (3 * out * out),)


@defop(elementwise=True, samples=unary(avoid=(0.0,)), singular=True, ufunc=numpy.reciprocal)
def reciprocal(xp, x):
    return xp.reciprocal(x)


@reciprocal.vjp
def _(g, out):
    return (-g * out * out,)


@defop(elementwise=True, samples=unary(), singular=True, ufunc=numpy.expm1)
def expm1(xp, x):
    return xp.expm1(x)


@expm1.vjp
def _(g, out):
    return (g * (out + 1),)


_LN2 = float(numpy.log(2.0))
_LN10 = float(numpy.log(10.0))


@defop(elementwise=True, samples=unary(domain=(0.5, 3.0)), singular=True, ufunc=numpy.log2)
def log2(xp, x):
    return xp.log2(x)


@log2.vjp
def _(g, x):
    return (g / (x * _LN2),)


@defop(elementwise=True, samples=unary(domain=(0.5, 3.0)), singular=True, ufunc=numpy.log10)
def log10(xp, x):
    return xp.log10(x)


@log10.vjp
def _(g, x):
    return (g / (x * _LN10),)


@defop(elementwise=True, samples=unary(domain=(-0.5, 2.0)), singular=True, ufunc=numpy.log1p)
def log1p(xp, x):
    return xp.log1p(x)


@log1p.vjp
def _(g, x):
    return (g / (1 + x),)


@defop(elementwise=True, samples=unary(domain=(-1.2, 1.2)), ufunc=numpy.tan)
def tan(xp, x):
    return xp.tan(x)


@tan.vjp
def _(g, out):
    return (g * (1 + out * out),)


@defop(elementwise=True, samples=unary(domain=(-0.9, 0.9)), singular=True, ufunc=numpy.arcsin)
def arcsin(xp, x):
    return xp.arcsin(x)


@arcsin.vjp
def _(g, x):
    return (g / T.sqrt(1 - x * x),)


@defop(elementwise=True, samples=unary(domain=(-0.9, 0.9)), singular=True, ufunc=numpy.arccos)
def arccos(xp, x):
    return xp.arccos(x)


@arccos.vjp
def _(g, x):
    return (-g / T.sqrt(1 - x * x),)


@defop(elementwise=True, samples=unary(), ufunc=numpy.arctan)
def arctan(xp, x):
    return xp.arctan(x)


@arctan.vjp
def _(g, x):
    return (g / (1 + x * x),)


@defop(broadcast=True, elementwise=True, samples=binary(x_avoid=(0.0,)), singular=True, ufunc=numpy.arctan2)
def arctan2(xp, x1, x2):
    return xp.arctan2(x1, x2)


@arctan2.vjp
def _(g, x1, x2, needs):
    """d atan2(x1, x2) = (x2 dx1 - x1 dx2) / (x1**2 + x2**2); at the origin this is 0/0 = nan."""
    r2 = x1 * x1 + x2 * x2
    return (g * x2 / r2 if needs[0] else None, -g * x1 / r2 if needs[1] else None)


@defop(elementwise=True, samples=unary(), singular=True, ufunc=numpy.sinh)
def sinh(xp, x):
    return xp.sinh(x)


@sinh.vjp
def _(g, x):
    return (g * T.cosh(x),)


@defop(elementwise=True, samples=unary(), singular=True, ufunc=numpy.cosh)
def cosh(xp, x):
    return xp.cosh(x)


@cosh.vjp
def _(g, x):
    return (g * T.sinh(x),)


@defop(broadcast=True, elementwise=True, samples=binary(x_avoid=(0.0,)), singular=True, ufunc=numpy.hypot)
def hypot(xp, x1, x2):
    return xp.hypot(x1, x2)


@hypot.vjp
def _(g, x1, x2, out, needs):
    """d hypot = (x1 dx1 + x2 dx2) / hypot; at the origin this is 0/0 = nan (like sqrt'(0))."""
    return (g * x1 / out if needs[0] else None, g * x2 / out if needs[1] else None)


@defop(broadcast=True, elementwise=True, samples=binary(), singular=True, ufunc=numpy.logaddexp)
def logaddexp(xp, x1, x2):
    return xp.logaddexp(x1, x2)


@logaddexp.vjp
def _(g, x1, x2, out, needs):
    """Stable: the weights exp(x_i - out) are <= 1, so nothing overflows for large inputs."""
    return (g * T.exp(x1 - out) if needs[0] else None, g * T.exp(x2 - out) if needs[1] else None)


@defop(broadcast=True, elementwise=True, samples=binary(), singular=True, ufunc=numpy.logaddexp2)
def logaddexp2(xp, x1, x2):
    return xp.logaddexp2(x1, x2)


@logaddexp2.vjp
def _(g, x1, x2, out, needs):
    """log2(2**x1 + 2**x2): the weights 2**(x_i - out) are <= 1, as in logaddexp."""
    return (g * T.exp2(x1 - out) if needs[0] else None, g * T.exp2(x2 - out) if needs[1] else None)


@defop(elementwise=True, samples=unary(domain=(1.2, 3.0)), singular=True, ufunc=numpy.arccosh)
def arccosh(xp, x):
    return xp.arccosh(x)


@arccosh.vjp
def _(g, x):
    """1 / (sqrt(x - 1) sqrt(x + 1)): equal to 1 / sqrt(x**2 - 1) for real x > 1, and the derivative
    of NumPy's principal branch for complex x too (1 / sqrt(x**2 - 1) has the wrong sign where Re x < 0)."""
    return (g / (T.sqrt(x - 1) * T.sqrt(x + 1)),)


@defop(elementwise=True, samples=unary(), ufunc=numpy.arcsinh)
def arcsinh(xp, x):
    return xp.arcsinh(x)


@arcsinh.vjp
def _(g, x):
    return (g / T.sqrt(x * x + 1),)


@defop(elementwise=True, samples=unary(domain=(-0.9, 0.9)), singular=True, ufunc=numpy.arctanh)
def arctanh(xp, x):
    return xp.arctanh(x)


@arctanh.vjp
def _(g, x):
    return (g / (1 - x * x),)


@defop(elementwise=True, samples=unary(), singular=True, ufunc=numpy.exp2)
def exp2(xp, x):
    return xp.exp2(x)


@exp2.vjp
def _(g, out):
    return (g * out * _LN2,)


@defop(elementwise=True, samples=unary(avoid=(0.0,)))
def sinc(xp, x):
    return xp.sinc(x)


@sinc.vjp
def _(g, x, out):
    """sinc(x) = sin(pi x) / (pi x): sinc'(x) = (cos(pi x) - sinc(x)) / x, and sinc'(0) = 0 (the limit;
    derivatives of higher order are not exact at exactly 0)."""
    zero = x == 0
    safe = T.where(zero, 1, x)
    return (T.where(zero, 0, g * (T.cos(math.pi * safe) - out) / safe),)


_DEG = 180.0 / math.pi
_RAD = math.pi / 180.0


def _scale_op(name: str, factor: float):
    """deg2rad, rad2deg and their other names radians, degrees: multiplication by a constant."""
    def fwd(xp, x):
        return getattr(xp, name)(x)
    fwd.__name__ = name
    op = defop(fwd, name=name, elementwise=True, linear=True, samples=unary())
    op.vjp(lambda g: (g * factor,))
    return op


deg2rad = _scale_op("deg2rad", _RAD)
radians = _scale_op("radians", _RAD)
rad2deg = _scale_op("rad2deg", _DEG)
degrees = _scale_op("degrees", _DEG)


def _nan_to_num_cases(rng):
    out = []
    for shape in ((3,), (2, 3)):
        x = draw(rng, shape)
        flat = x.reshape(-1)
        flat[0] = numpy.nan
        flat[-1] = numpy.inf if shape == (3,) else -numpy.inf
        # explicit posinf / neginf: NumPy's defaults (the largest float64) drown central differences
        out.append(Case((x,), dict(posinf=5.0, neginf=-5.0)))
    x = draw(rng, (2, 3))
    x[1, 1] = numpy.nan
    out.append(Case((x,), dict(nan=1.5)))
    out.append(Case((draw(rng, ()),), {}))
    return out


@defop(nin=1, elementwise=True, samples=custom(_nan_to_num_cases))
def nan_to_num(xp, x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers; the result is always a new array (``copy`` is
    accepted for NumPy's signature; tapegrad never writes into its input)."""
    return xp.nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)


@nan_to_num.vjp
def _(g, x):
    """Gradient 1 where x is finite, 0 where it was replaced. Complex x: real and imaginary parts are
    replaced separately, so each part of the cotangent is masked by its own part of x."""
    if _is_complex(x):
        return (T.where(T.isfinite(T.real(x)), _real(g), 0)
                + 1j * T.where(T.isfinite(T.imag(x)), T.imag(g) if _is_complex(g) else 0 * g, 0),)
    return (T.where(T.isfinite(x), g, 0),)


# --- complex parts --------------------------------------------------------------------------


@defop(elementwise=True, samples=unary())
def real(xp, val):
    return _copy(xp, xp.real(val))


@real.vjp
def _(g):
    """Re is the projection onto the real axis; its adjoint embeds g (the engine casts g to the input's
    complex dtype)."""
    return (g,)


@real.jvp
def _(ts):
    return _real(ts[0])


@defop(elementwise=True, samples=unary())
def imag(xp, val):
    return _copy(xp, xp.imag(val))


@imag.vjp
def _(g, val):
    """Im z = Re(-1j z), so the VJP is -1j g (HIPS); a real input has a constant imaginary part 0."""
    return (-1j * g if _is_complex(val) else None,)


@imag.jvp
def _(ts, val):
    return T.imag(ts[0]) if _is_complex(val) and _is_complex(ts[0]) else None


def _conj_rule(g):
    """conj is real-linear with Re(g conj(u)) = Re(conj(g) u): the VJP is conj(g)."""
    return (_conj(g),)


def _conj_jvp(ts):
    return _conj(ts[0])


@defop(elementwise=True, samples=unary(), ufunc=numpy.conj)
def conj(xp, x):
    return xp.conj(x)


conj.vjp(_conj_rule)
conj.jvp(_conj_jvp)


@defop(elementwise=True, samples=unary(), ufunc=numpy.conjugate)
def conjugate(xp, x):
    """NumPy's other name for ``conj``, declared as its own op."""
    return xp.conjugate(x)


conjugate.vjp(_conj_rule)
conjugate.jvp(_conj_jvp)


def _angle_cases(rng):
    return unary(avoid=(0.0,))(rng) + unary(avoid=(0.0,), shapes=((2, 3),), deg=True)(rng)


@defop(nin=1, elementwise=True, samples=custom(_angle_cases))
def angle(xp, z, deg=False):
    return xp.angle(z, deg=deg)


def _abs2(z):
    """|z|**2 as a real array, with 1 where z == 0 (whose gradient is taken as 0)."""
    r2 = T.real(z * T.conj(z))
    return T.where(r2 == 0, 1, r2)


@angle.vjp
def _(g, z, deg):
    """d angle(z) = Im(dz / z) = Re(-1j conj(z) dz) / |z|**2, so the VJP is -1j g conj(z) / |z|**2
    (HIPS); 0 at z = 0 and for real input (where the angle is piecewise constant)."""
    if not _is_complex(z):
        return (None,)
    return (g * (-1j * (_DEG if deg else 1.0)) * T.conj(z) / _abs2(z),)


@angle.jvp
def _(ts, z, deg):
    (t,) = ts
    if not _is_complex(z) or not _is_complex(t):
        return None
    return T.imag(T.conj(z) * t) * (_DEG if deg else 1.0) / _abs2(z)


@defop(nin=1, elementwise=True, samples=unary())
def real_if_close(xp, a, tol=100):
    """``a`` with real dtype when every imaginary part is below ``tol`` (in machine epsilons when
    ``tol > 1``), else ``a`` unchanged; always a new buffer."""
    a = xp.asarray(a)
    if a.dtype.kind != "c":
        return _copy(xp, a)
    if tol > 1:
        tol = numpy.finfo(a.dtype).eps * tol
    if bool(xp.all(xp.abs(a.imag) < tol)):
        return _copy(xp, a.real)
    return _copy(xp, a)


@real_if_close.vjp
def _(g):
    """The gradient passes through (the dropped imaginary parts count as a projection, like ``real``)."""
    return (g,)


@real_if_close.jvp
def _(ts, out):
    return ts[0] if _is_complex(out) else _real(ts[0])


# --- piecewise-constant ops: recorded, zero gradient -------------------------------------------
# floor, ceil, round, trunc, rint and fix (and sign on real numbers) are flat almost everywhere:
# their VJP returns None (a zero cotangent), also at the jumps, where the derivative does not exist.

_INTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
_HALVES = (-1.5, -0.5, 0.5, 1.5)


def _zero_rule(g):
    """Zero gradient: the op is piecewise constant."""
    return (None,)


def _flat_unary(name: str, avoid: tuple):
    def fwd(xp, x):
        return getattr(xp, name)(x)
    fwd.__name__ = name
    op = defop(fwd, name=name, elementwise=True, samples=unary(avoid=avoid), flat=True)
    op.vjp(_zero_rule)
    return op


def _real_input(dtypes: tuple, params: dict) -> bool:
    """Flat (zero gradient) on a real input: sign."""
    return dtypes[0] is not None and dtypes[0].kind != "c"


def _to_integer(dtypes: tuple, params: dict) -> bool:
    """Flat (zero gradient) when the result is not floating: a cast to an integer or bool dtype."""
    return numpy.dtype(params["dtype"]).kind not in "fc"


@defop(elementwise=True, samples=unary(avoid=(0.0,)), ufunc=numpy.sign, flat=_real_input)
def sign(xp, x):
    return xp.sign(x)


@sign.vjp
def _(g, x, out):
    """Real x: flat (zero gradient, also at 0). Complex z: sign(z) = z / |z| (NumPy 2), whose
    differential u / |z| - s Re(conj(s) u) / |z| has the VJP (g - Re(g s) conj(s)) / |z|; 0 at z = 0."""
    if not _is_complex(x):
        return (None,)
    r = T.abs(x)
    gx = (g - T.real(g * out) * T.conj(out)) / T.where(r == 0, 1, r)
    return (T.where(r == 0, 0, gx),)


@sign.jvp
def _(ts, x, out):
    (t,) = ts
    if not _is_complex(x):
        return None
    r = T.abs(x)
    return T.where(r == 0, 0, (t - out * T.real(T.conj(out) * t)) / T.where(r == 0, 1, r))


floor = _flat_unary("floor", _INTS)
ceil = _flat_unary("ceil", _INTS)
trunc = _flat_unary("trunc", _INTS)
rint = _flat_unary("rint", _HALVES)
fix = _flat_unary("fix", _INTS)


def _round_cases(rng):
    return (unary(avoid=_HALVES)(rng) + unary(decimals=1)(rng) + unary(domain=(-40.0, 40.0), decimals=-1)(rng))


@defop(nin=1, elementwise=True, samples=_round_cases, flat=True)
def round_(xp, a, decimals=0):
    return xp.round(a, decimals)


round_.vjp(_zero_rule)


@defop(nin=1, elementwise=True, samples=_round_cases, flat=True)
def around(xp, a, decimals=0):
    """NumPy's other name for ``round``, declared as its own op."""
    return xp.round(a, decimals)


around.vjp(_zero_rule)


# --- remainders -------------------------------------------------------------------------------


def _mod_rule(g, x1, x2, needs):
    """x1 mod x2 = x1 - floor(x1 / x2) * x2: d/dx1 = 1, d/dx2 = -floor(x1 / x2) (jumps ignored)."""
    return (g if needs[0] else None, -g * T.floor_divide(x1, x2) if needs[1] else None)


@defop(broadcast=True, elementwise=True, samples=binary(x_domain=(-3.0, 3.0), y_avoid=(0.0,)), ufunc=numpy.mod)
def mod(xp, x1, x2):
    return xp.mod(x1, x2)


mod.vjp(_mod_rule)


@defop(broadcast=True, elementwise=True, samples=binary(x_domain=(-3.0, 3.0), y_avoid=(0.0,)), ufunc=numpy.remainder)
def remainder(xp, x1, x2):
    """NumPy's other name for ``mod``, declared as its own op."""
    return xp.remainder(x1, x2)


remainder.vjp(_mod_rule)


@defop(broadcast=True, elementwise=True, samples=binary(x_domain=(-3.0, 3.0), y_avoid=(0.0,)), ufunc=numpy.fmod)
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


@defop(broadcast=True, elementwise=True, samples=binary(), ufunc=numpy.maximum)
def maximum(xp, x1, x2):
    """Gradient at ties goes to x2; a NaN operand (which maximum propagates) gets the gradient."""
    return xp.maximum(x1, x2)


maximum.vjp(_extremum_rule(lambda x, y: T.logical_or(x > y, T.isnan(x))))


@defop(broadcast=True, elementwise=True, samples=binary(), ufunc=numpy.minimum)
def minimum(xp, x1, x2):
    """Gradient at ties goes to x2; a NaN operand (which minimum propagates) gets the gradient."""
    return xp.minimum(x1, x2)


minimum.vjp(_extremum_rule(lambda x, y: T.logical_or(x < y, T.isnan(x))))


@defop(broadcast=True, elementwise=True, samples=binary(), ufunc=numpy.fmax)
def fmax(xp, x1, x2):
    """Gradient at ties goes to x2; NaN operands are ignored (the other one gets the gradient)."""
    return xp.fmax(x1, x2)


fmax.vjp(_extremum_rule(lambda x, y: T.logical_or(x > y, T.isnan(y))))


@defop(broadcast=True, elementwise=True, samples=binary(), ufunc=numpy.fmin)
def fmin(xp, x1, x2):
    """Gradient at ties goes to x2; NaN operands are ignored (the other one gets the gradient)."""
    return xp.fmin(x1, x2)


fmin.vjp(_extremum_rule(lambda x, y: T.logical_or(x < y, T.isnan(y))))


def _bound(v):
    """A clip bound as a raw value: None, a scalar, or an array's buffer."""
    return getattr(v, "_data", v)


def _bounds(a, a_min, a_max) -> tuple:
    """Both clip bounds as raw values, host arrays among them moved to ``a``'s device."""
    lo, hi = _bound(a_min), _bound(a_max)
    d = buffer(a)
    if is_device_buffer(d):
        lo, hi = (to_device(v, device_of(d)) if isinstance(v, numpy.ndarray) else v for v in (lo, hi))
    return lo, hi


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
    lo, hi = _bounds(a, a_min, a_max)
    if lo is None and hi is None:
        return xp.array(a, copy=True)
    if lo is None:
        return xp.minimum(a, hi)
    if hi is None:
        return xp.maximum(a, lo)
    return xp.clip(a, lo, hi)


@clip.vjp
def _(g, a, a_min, a_max):
    lo, hi = _bounds(a, a_min, a_max)
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


@defop(nin=3, broadcast=True, elementwise=True, samples=where_cases(), scalar=lambda m, c, x, y: m.where(c, x, y))
def where(xp, condition, x, y):
    return xp.where(condition, x, y)


@where.vjp
def _(g, condition, needs):
    # a literal 0 in the branch not taken (not g * 0, which is NaN where g is infinite)
    return (None, T.where(condition, g, 0) if needs[1] else None,
            T.where(condition, 0, g) if needs[2] else None)


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


@defop(nin=1, public=None, samples=custom(_astype_cases), flat=_to_integer)
def astype(xp, x, dtype):
    return x.astype(dtype, copy=False) if hasattr(x, "astype") else xp.asarray(x, dtype=dtype)


def cast_cotangent(g, dt):
    """``g`` as dtype ``dt``; a complex value cast to a real dtype keeps its real part (HIPS' convention
    for a real input that gets a complex cotangent), without NumPy's ComplexWarning."""
    if dt.kind != "c" and _is_complex(g):
        g = T.real(g)
    return g if buffer(g).dtype == dt else T.astype(g, dt)


@astype.vjp
def _(g, dtypes):
    dt = dtypes[0]
    return (cast_cotangent(g, dt) if dt is not None and dt.kind in "fc" else None,)


@astype.jvp
def _(ts, dtype):
    dt = numpy.dtype(dtype)
    return cast_cotangent(ts[0], dt) if dt.kind in "fc" else None


# --- device copies ----------------------------------------------------------------------------


def _device_copy_cases(rng):
    """Host to host (the copy a GPU-less machine can run; ``tests/test_gpu.py`` crosses devices)."""
    ref = lambda x, ctx, src: numpy.array(x)  # noqa: E731
    return [Case((draw(rng, s),), dict(ctx=CPU, src=CPU), ref=ref) for s in ((), (2, 3))]


@defop(nin=1, public=None, linear=True, samples=custom(_device_copy_cases))
def device_copy(xp, x, ctx, src):
    """``x`` copied onto device ``ctx`` from ``src`` (its own device): ``as_in_ctx`` and ``.to``."""
    out = to_device(x, ctx)
    return out.copy() if out is x else out


@device_copy.vjp
def _(g, ctx, src):
    return T.device_copy(g, ctx=src, src=ctx)


@device_copy.jvp
def _(ts, ctx, src):
    return T.device_copy(ts[0], ctx=ctx, src=src)


# --- composites -------------------------------------------------------------------------------


def select(condlist, choicelist, default=0):
    """NumPy's ``select``: where the first true condition picks its choice, else ``default``.

    Built from ``where`` (applied from the last condition to the first), so it is differentiable in
    the choices and the default and needs no rule of its own."""
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    for i, c in enumerate(condlist):
        raw = getattr(c, "_data", None)
        if raw is None:
            raw = c = condlist[i] = numpy.asarray(c)
        if raw.dtype != numpy.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    result = default
    for c, x in zip(reversed(condlist), reversed(choicelist)):
        result = T.where(c, x, result)
    return result


#: Public functions composed of differentiable ops (the np namespace exposes them).
COMPOSITES = {"select": select}


# --- complex samples ----------------------------------------------------------------------------
# Test inputs with complex128 values for the ops NumPy defines on complex numbers (and for mixed
# real/complex operands). They are appended to each op's samples (after the real ones, from the same
# generator), so the generated sweep checks them with complex directions (tapegrad.testing).


def cdraw(rng, shape, re=(-2.0, 2.0), im=(-2.0, 2.0), re_avoid=(), im_avoid=()) -> numpy.ndarray:
    """Random complex128 values with real parts in ``re`` and imaginary parts in ``im``."""
    return numpy.asarray(draw(rng, shape, re, re_avoid) + 1j * draw(rng, shape, im, im_avoid))


_C_UNARY_SHAPES = ((), (3,), (2, 3))
_C_BINARY_SHAPES = (((), ()), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)))


def cunary(shapes=_C_UNARY_SHAPES, **domain):
    """Complex samples for a one-input op; ``domain`` holds cdraw's re / im / re_avoid / im_avoid."""
    params = domain.pop("params", {})
    return lambda rng: [Case((cdraw(rng, s, **domain),), dict(params)) for s in shapes]


def cbinary(x=None, y=None, shapes=_C_BINARY_SHAPES, mixed=True):
    """Complex samples for a broadcasting two-input op; with ``mixed``, also a real operand on either side
    (whose cotangent is the real part of the complex one)."""
    x, y = x or {}, y or {}

    def make(rng):
        out = [Case((cdraw(rng, a, **x), cdraw(rng, b, **y))) for a, b in shapes]
        if mixed:
            out.append(Case((draw(rng, (2, 3), x.get("re", (-2.0, 2.0)), x.get("re_avoid", ())),
                             cdraw(rng, (3,), **y))))
            out.append(Case((cdraw(rng, (3,), **x),
                             draw(rng, (2, 3), y.get("re", (-2.0, 2.0)), y.get("re_avoid", ())))))
        return out
    return make


def _c_power_cases(rng):
    pos = dict(re=(0.3, 2.0))  # away from the branch cut of log on the negative real axis
    return (cbinary(pos, dict(re=(-1.5, 1.5), im=(-1.5, 1.5)), mixed=False)(rng)
            + [Case((draw(rng, (2, 3), (0.5, 2.0)), cdraw(rng, (3,), (-1.5, 1.5), (-1.5, 1.5)))),
               Case((cdraw(rng, (3,), **pos), draw(rng, (2, 3), (-1.5, 1.5)))),
               Case((cdraw(rng, (2, 3)), 2)), Case((cdraw(rng, (3,)), 3))])


def _c_real_if_close_cases(rng):
    return [Case((draw(rng, (2, 3)) + 1e-18j,)), Case((cdraw(rng, (3,)),)), Case((cdraw(rng, ()),), dict(tol=1e9))]


def _c_nan_to_num_cases(rng):
    z = cdraw(rng, (2, 3))
    z[0, 0] = complex(numpy.nan, 0.5)
    z[1, 2] = complex(0.7, numpy.inf)
    z[1, 0] = complex(-numpy.inf, numpy.nan)
    return [Case((z,), dict(posinf=5.0, neginf=-5.0, nan=1.5)), Case((cdraw(rng, (3,)),))]


def _c_where_cases(rng):
    cond = rng.random((2, 3)) > 0.5
    return [Case((cond, cdraw(rng, (2, 3)), cdraw(rng, (3,))), wrt=(1, 2)),
            Case((cond, draw(rng, (2, 3)), cdraw(rng, (2, 1))), wrt=(1, 2))]


def _c_astype_cases(rng):
    return [Case((draw(rng, (2, 3)),), dict(dtype=numpy.complex128), ref=_np_astype),
            Case((cdraw(rng, (3,)),), dict(dtype=numpy.complex128), ref=_np_astype),
            Case((cdraw(rng, (2, 3)),), dict(dtype=numpy.clongdouble), ref=_np_astype)]


_OFF_ZERO = dict(re_avoid=(0.0,))                     # |z| >= 0.1
_RIGHT = dict(re=(0.3, 2.0))                          # off the cut of log / sqrt on the negative reals
_REAL_CUTS = dict(re=(-0.7, 0.7), im=(-1.0, 1.0))     # off cuts on the real axis beyond +-1
_IMAG_CUTS = dict(re=(-2.0, 2.0), im=(-0.7, 0.7))     # off cuts on the imaginary axis beyond +-i

#: op name -> samples factory with complex inputs (see above).
COMPLEX_SAMPLES = {
    "add": cbinary(), "subtract": cbinary(), "multiply": cbinary(),
    "divide": cbinary(y=_OFF_ZERO), "true_divide": cbinary(y=_OFF_ZERO),
    "power": _c_power_cases,
    "negative": cunary(), "positive": cunary(), "square": cunary(), "reciprocal": cunary(**_OFF_ZERO),
    "exp": cunary(), "exp2": cunary(), "expm1": cunary(),
    "log": cunary(**_RIGHT), "log2": cunary(**_RIGHT), "log10": cunary(**_RIGHT),
    "log1p": cunary(re=(-0.5, 2.0)), "sqrt": cunary(**_RIGHT),
    "sin": cunary(), "cos": cunary(), "tan": cunary(re=(-1.2, 1.2), im=(-1.0, 1.0)),
    "arcsin": cunary(**_REAL_CUTS), "arccos": cunary(**_REAL_CUTS), "arctan": cunary(**_IMAG_CUTS),
    "sinh": cunary(), "cosh": cunary(), "tanh": cunary(re=(-2.0, 2.0), im=(-1.2, 1.2)),
    "arcsinh": cunary(**_IMAG_CUTS), "arccosh": cunary(im_avoid=(0.0,)), "arctanh": cunary(**_REAL_CUTS),
    "sinc": cunary(**_OFF_ZERO),
    "abs": cunary(**_OFF_ZERO), "absolute": cunary(**_OFF_ZERO), "sign": cunary(**_OFF_ZERO),
    "angle": lambda rng: (cunary(im_avoid=(0.0,))(rng)
                          + cunary(shapes=((2, 3),), im_avoid=(0.0,), params=dict(deg=True))(rng)),
    "real": cunary(), "imag": cunary(), "conj": cunary(), "conjugate": cunary(),
    "real_if_close": _c_real_if_close_cases, "nan_to_num": _c_nan_to_num_cases,
    "where": _c_where_cases, "astype": _c_astype_cases,
}


def _append_complex_samples() -> None:
    for name, make_c in COMPLEX_SAMPLES.items():
        op = REGISTRY[name]
        make_r = op.samples
        op.samples = (lambda r, c: lambda rng: list(r(rng)) + list(c(rng)))(make_r, make_c)


_append_complex_samples()

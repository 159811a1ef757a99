"""SciPy's special functions (``tapegrad.scipy.special``): each forward is SciPy's own function on the
raw buffers, reached through the backend seam (``scipy.special`` on the host, ``cupyx.scipy.special``
on a GPU; SciPy is imported on first use), and each gradient is a rule in tapegrad ops.

Orders and other discrete arguments (``polygamma``'s n, the Bessel order v, ``multigammaln``'s d) are
not differentiable; neither are the shape parameters of the incomplete gamma and beta functions and
of ``stdtr`` (their derivatives are series SciPy does not offer; HIPS autograd has none either): a
gradient asked for one of those raises NotImplementedError naming the argument.

``xlogy(x, y)`` and ``xlog1py(x, y)``: the x-gradient is ``log(y)`` (``log1p(y)``) everywhere, x = 0
included (the function is ``x log y`` there too, as JAX has it; PyTorch gives 0), and the y-gradient
is ``x / y`` (``x / (1 + y)``), which is 0 wherever x = 0, y = 0 (-1) included, where JAX gives NaN:
``xlogy(0, y) = 0`` for every y, so 0 is its derivative in y.

SciPy's ``logsumexp``, ``softmax`` and ``log_softmax`` reuse the registry's ``logsumexp``,
``softmax`` and ``log_softmax`` (the same functions under SciPy's defaults, see ``COMPOSITES``);
``expit``, ``log_expit`` and ``erf`` are the ops ``sigmoid``, ``log_sigmoid`` and ``erf``.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy

from .._core.array import OPS as T, Array
from ..backend import backend_for
from ._util import kept_shape, norm_axes
from .registry import buffer, defop
from .samples import UNARY_SHAPES, Case, draw

_SQRT_PI = math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
PUBLIC = "scipy.special"


def _sp(xp: Any, name: str) -> Callable:
    """``scipy.special.<name>`` for arrays of module ``xp`` (the backend seam)."""
    return backend_for(xp).special(xp, name)


def call(op: Any, *args: Any, **params: Any) -> Any:
    """``op`` on ``args``; on numbers and raw buffers alone its value, a raw buffer (a constant, of no
    array class: an op given only numbers would make an array of the default class, the MXNet
    dialect's, which would take over the traced class of the NumPy door)."""
    if any(isinstance(a, Array) for a in args):
        return op(*args, **params)
    return op.raw_call(args, params)


def _no_grad(fn: str, arg: str, why: str = "") -> NotImplementedError:
    return NotImplementedError(f"scipy.special.{fn} is differentiable in its last argument only: the gradient "
                               f"in {arg} is not implemented{why}; pass {arg} as a constant (a NumPy array or "
                               "a number)")


# --- samples: SciPy is the reference; without SciPy there is nothing to run ----------------------


def _scipy_ref(name: str) -> Callable:
    return lambda *args, **kw: _sp(numpy, name)(*args, **kw)


def _with_scipy(name: str, make: Callable) -> Callable:
    """The cases of ``make``, with SciPy's ``name`` as the reference where none is set; no cases where
    SciPy is not installed (the ops' forwards need it)."""
    def cases(rng):
        try:
            _sp(numpy, name)
        except ImportError:
            return []
        out = make(rng)
        for c in out:
            if c.ref is None:
                c.ref = _scipy_ref(name)
        return out
    return cases


def _unary(name: str, *domains, avoid=(), order: int = 2) -> Callable:
    """Each shape of ``UNARY_SHAPES`` drawn in each domain (a pole-free interval)."""
    return _with_scipy(name, lambda rng: [Case((draw(rng, s, d, avoid),), order=order)
                                          for d in domains for s in UNARY_SHAPES])


_PAIRS = (((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)))


def _binary(name: str, x_domain, y_domain, order: int = 2, y_avoid=()) -> Callable:
    return _with_scipy(name, lambda rng: [Case((draw(rng, a, x_domain), draw(rng, b, y_domain, y_avoid)), order=order)
                                          for a, b in _PAIRS])


def _static_first(name: str, firsts: tuple, domain, avoid=()) -> Callable:
    """Cases of ``f(v, x)`` with a non-differentiable first argument ``v`` (an int, a float or an
    array), gradients in x only."""
    def make(rng):
        out = []
        for v in firsts:
            shape = numpy.shape(v) if numpy.ndim(v) else (2, 3)
            out.append(Case((v, draw(rng, shape, domain, avoid)), wrt=(1,)))
        out.append(Case((firsts[0], draw(rng, (), domain, avoid)), wrt=(1,)))
        return out
    return _with_scipy(name, make)


def _shape_first(name: str, shapes_domain, x_domain, nshape: int = 1) -> Callable:
    """Cases of ``f(*shape_params, x)``, gradients in x only (the shape parameters are constants)."""
    def make(rng):
        out = []
        for a, b in _PAIRS:
            params = tuple(draw(rng, a, shapes_domain) for _ in range(nshape))
            out.append(Case(params + (draw(rng, b, x_domain),), wrt=(nshape,)))
        return out
    return _with_scipy(name, make)


# --- logistic -----------------------------------------------------------------------------------


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("logit", (0.05, 0.95)))
def logit(xp, x):
    """``log(x / (1 - x))``, the inverse of ``expit``."""
    return _sp(xp, "logit")(x)


@logit.vjp
def _(g, x):
    return (g / (x * (1 - x)),)


# --- gamma and beta functions ---------------------------------------------------------------------

_POSITIVE = (0.2, 4.0)
_NEGATIVE = (-2.9, -0.1)  # between the poles at 0, -1, -2 (kept 0.1 away by ``avoid``)
_POLES = (-2.0, -1.0)


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("gammaln", _POSITIVE, _NEGATIVE, avoid=_POLES))
def gammaln(xp, x):
    """``log|Gamma(x)|``."""
    return _sp(xp, "gammaln")(x)


@gammaln.vjp
def _(g, x):
    return (g * T.digamma(x),)


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("digamma", _POSITIVE, _NEGATIVE, avoid=_POLES))
def digamma(xp, x):
    """The digamma function ``psi(x) = d/dx log Gamma(x)`` (``scipy.special.psi`` is the same op)."""
    return _sp(xp, "digamma")(x)


@digamma.vjp
def _(g, x):
    return (g * T.polygamma(1, x),)


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC,
       samples=_static_first("polygamma", (1, 2, numpy.array([0, 1, 3])), _POSITIVE))
def polygamma(xp, n, x):
    """The n-th derivative of the digamma function; n (integers) is not differentiable."""
    return _sp(xp, "polygamma")(n, x)


@polygamma.vjp
def _(g, n, x, needs):
    if needs[0]:
        raise _no_grad("polygamma", "the order n", " (n is an integer)")
    return (None, g * T.polygamma(n + 1, x))


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("gamma", _POSITIVE, _NEGATIVE, avoid=_POLES))
def gamma(xp, x):
    """The gamma function."""
    return _sp(xp, "gamma")(x)


@gamma.vjp
def _(g, x, out):
    return (g * out * T.digamma(x),)


def _beta_partials(a, b, needs):
    """d/da and d/db of log B(a, b) (None where not needed)."""
    s = call(T.digamma, a + b)
    return (call(T.digamma, a) - s if needs[0] else None, call(T.digamma, b) - s if needs[1] else None)


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC, samples=_binary("beta", (0.3, 3.0), (0.3, 3.0)))
def beta(xp, a, b):
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``."""
    return _sp(xp, "beta")(a, b)


@beta.vjp
def _(g, a, b, out, needs):
    da, db = _beta_partials(a, b, needs)
    return (g * out * da if needs[0] else None, g * out * db if needs[1] else None)


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC, samples=_binary("betaln", (0.3, 3.0), (0.3, 3.0)))
def betaln(xp, a, b):
    """``log|B(a, b)|``."""
    return _sp(xp, "betaln")(a, b)


@betaln.vjp
def _(g, a, b, needs):
    da, db = _beta_partials(a, b, needs)
    return (g * da if needs[0] else None, g * db if needs[1] else None)


def _multigammaln_cases(rng):
    return [Case((draw(rng, s, (0.5 * (d - 1) + 0.2, 0.5 * d + 3.0)),), dict(d=d))
            for d in (1, 2, 4) for s in UNARY_SHAPES]


@defop(nin=1, elementwise=True, singular=True, public=PUBLIC, samples=_with_scipy("multigammaln", _multigammaln_cases))
def multigammaln(xp, a, d):
    """The log of the multivariate gamma function of dimension ``d`` (an int, not differentiable)."""
    return _sp(xp, "multigammaln")(a, d)


@multigammaln.vjp
def _(g, a, d):
    s = T.digamma(a)
    for j in range(1, int(d)):
        s = s + T.digamma(a - 0.5 * j)
    return (g * s,)


# --- incomplete gamma and beta functions (gradient in x) -------------------------------------------


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC,
       samples=_shape_first("gammainc", (0.3, 4.0), (0.1, 5.0)))
def gammainc(xp, a, x):
    """The regularized lower incomplete gamma function P(a, x); differentiable in x."""
    return _sp(xp, "gammainc")(a, x)


def _gammainc_density(a, x):
    """d/dx P(a, x) = x^(a-1) exp(-x) / Gamma(a), in logs."""
    return T.exp(T.xlogy(a - 1, x) - x - call(T.gammaln, a))


@gammainc.vjp
def _(g, a, x, needs):
    if needs[0]:
        raise _no_grad("gammainc", "a")
    return (None, g * _gammainc_density(a, x))


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC,
       samples=_shape_first("gammaincc", (0.3, 4.0), (0.1, 5.0)))
def gammaincc(xp, a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x); differentiable in x."""
    return _sp(xp, "gammaincc")(a, x)


@gammaincc.vjp
def _(g, a, x, needs):
    if needs[0]:
        raise _no_grad("gammaincc", "a")
    return (None, -g * _gammainc_density(a, x))


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC,
       samples=_shape_first("betainc", (0.5, 4.0), (0.05, 0.95), nshape=2))
def betainc(xp, a, b, x):
    """The regularized incomplete beta function I_x(a, b); differentiable in x."""
    return _sp(xp, "betainc")(a, b, x)


@betainc.vjp
def _(g, a, b, x, needs):
    if needs[0] or needs[1]:
        raise _no_grad("betainc", "a" if needs[0] else "b")
    return (None, None, g * T.exp(T.xlogy(a - 1, x) + T.xlog1py(b - 1, -x) - call(T.betaln, a, b)))


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC,
       samples=_shape_first("stdtr", (0.5, 8.0), (-4.0, 4.0)))
def stdtr(xp, df, t):
    """The CDF of Student's t distribution with ``df`` degrees of freedom; differentiable in t."""
    return _sp(xp, "stdtr")(df, t)


@stdtr.vjp
def _(g, df, t, needs):
    if needs[0]:
        raise _no_grad("stdtr", "df")
    return (None, g * T.exp(t_logpdf(t, df)))


def t_logpdf(t, df):
    """The log density of Student's t with ``df`` degrees of freedom, in tapegrad ops."""
    return (call(T.gammaln, (df + 1) * 0.5) - call(T.gammaln, df * 0.5) - 0.5 * call(T.log, df * math.pi)
            - (df + 1) * 0.5 * T.log1p(t * t / df))


# --- error functions and the normal CDF ------------------------------------------------------------


@defop(elementwise=True, public=PUBLIC, samples=_unary("erfc", (-3.0, 3.0)))
def erfc(xp, x):
    """The complementary error function ``1 - erf(x)``."""
    return _sp(xp, "erfc")(x)


@erfc.vjp
def _(g, x):
    return (g * T.exp(-x * x) * (-2 / _SQRT_PI),)


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("erfinv", (-0.9, 0.9)))
def erfinv(xp, x):
    """The inverse of ``erf`` on (-1, 1)."""
    return _sp(xp, "erfinv")(x)


@erfinv.vjp
def _(g, out):
    return (g * T.exp(out * out) * (_SQRT_PI / 2),)


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("erfcinv", (0.1, 1.9)))
def erfcinv(xp, x):
    """The inverse of ``erfc`` on (0, 2)."""
    return _sp(xp, "erfcinv")(x)


@erfcinv.vjp
def _(g, out):
    return (g * T.exp(out * out) * (-_SQRT_PI / 2),)


@defop(elementwise=True, public=PUBLIC, samples=_unary("ndtr", (-4.0, 4.0)))
def ndtr(xp, x):
    """The standard normal CDF."""
    return _sp(xp, "ndtr")(x)


@ndtr.vjp
def _(g, x):
    return (g * T.exp(x * x * -0.5 - _LOG_SQRT_2PI),)


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("log_ndtr", (-4.0, 4.0), (-30.0, -8.0)))
def log_ndtr(xp, x):
    """The log of the standard normal CDF, accurate far into the lower tail."""
    return _sp(xp, "log_ndtr")(x)


@log_ndtr.vjp
def _(g, x, out):
    """pdf(x) / cdf(x), formed in logs (finite where both underflow)."""
    return (g * T.exp(x * x * -0.5 - _LOG_SQRT_2PI - out),)


# --- Bessel functions (gradient in x; the order v is not differentiable) -------------------------


def _order_rule(name: str, fn: Callable) -> Callable:
    def rule(g, v, x, needs):
        if needs[0]:
            raise _no_grad(name, "the order v")
        return (None, g * fn(v, x))
    return rule


@defop(elementwise=True, public=PUBLIC, samples=_unary("i0", (-3.0, 3.0)))
def i0(xp, x):
    """The modified Bessel function of the first kind of order 0."""
    return _sp(xp, "i0")(x)


@i0.vjp
def _(g, x):
    return (g * T.i1(x),)


@defop(elementwise=True, public=PUBLIC, samples=_unary("i1", (-3.0, 3.0)))
def i1(xp, x):
    """The modified Bessel function of the first kind of order 1."""
    return _sp(xp, "i1")(x)


@i1.vjp
def _(g, x):
    return (g * (T.i0(x) + T.iv(2, x)) * 0.5,)


_ORDERS = (0, 1, numpy.array([0.0, 1.0, 2.5]))


@defop(broadcast=True, elementwise=True, public=PUBLIC, samples=_static_first("iv", _ORDERS, (0.2, 3.0)))
def iv(xp, v, x):
    """The modified Bessel function of the first kind of real order v."""
    return _sp(xp, "iv")(v, x)


iv.vjp(_order_rule("iv", lambda v, x: (T.iv(v - 1, x) + T.iv(v + 1, x)) * 0.5))


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC,
       samples=_static_first("ive", (0, 1, numpy.array([0.0, 1.0, 2.0])), (-3.0, 3.0), avoid=(0.0,)))
def ive(xp, v, x):
    """``iv(v, x) * exp(-|x|)``; its derivative has a kink at x = 0 (that of ``exp(-|x|)``)."""
    return _sp(xp, "ive")(v, x)


@ive.vjp
def _(g, v, x, out, needs):
    if needs[0]:
        raise _no_grad("ive", "the order v")
    return (None, g * ((T.ive(v - 1, x) + T.ive(v + 1, x)) * 0.5 - T.sign(x) * out))


@defop(elementwise=True, public=PUBLIC, samples=_unary("j0", (-6.0, 6.0)))
def j0(xp, x):
    """The Bessel function of the first kind of order 0."""
    return _sp(xp, "j0")(x)


@j0.vjp
def _(g, x):
    return (-g * T.j1(x),)


@defop(elementwise=True, public=PUBLIC, samples=_unary("j1", (-6.0, 6.0)))
def j1(xp, x):
    """The Bessel function of the first kind of order 1."""
    return _sp(xp, "j1")(x)


@j1.vjp
def _(g, x):
    return (g * (T.j0(x) - T.jv(2, x)) * 0.5,)


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("y0", (0.3, 6.0)))
def y0(xp, x):
    """The Bessel function of the second kind of order 0."""
    return _sp(xp, "y0")(x)


@y0.vjp
def _(g, x):
    return (-g * T.y1(x),)


@defop(elementwise=True, singular=True, public=PUBLIC, samples=_unary("y1", (0.3, 6.0)))
def y1(xp, x):
    """The Bessel function of the second kind of order 1."""
    return _sp(xp, "y1")(x)


@y1.vjp
def _(g, x):
    return (g * (T.y0(x) - T.yv(2, x)) * 0.5,)


@defop(broadcast=True, elementwise=True, public=PUBLIC, samples=_static_first("jv", _ORDERS, (0.2, 6.0)))
def jv(xp, v, x):
    """The Bessel function of the first kind of real order v (``jn`` is the same op)."""
    return _sp(xp, "jv")(v, x)


jv.vjp(_order_rule("jv", lambda v, x: (T.jv(v - 1, x) - T.jv(v + 1, x)) * 0.5))


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC, samples=_static_first("yv", _ORDERS, (0.3, 6.0)))
def yv(xp, v, x):
    """The Bessel function of the second kind of real order v (``yn`` is the same op)."""
    return _sp(xp, "yv")(v, x)


yv.vjp(_order_rule("yv", lambda v, x: (T.yv(v - 1, x) - T.yv(v + 1, x)) * 0.5))


# --- x log y -------------------------------------------------------------------------------------


def _xlogy_cases(name: str, y_domain) -> Callable:
    def make(rng):
        cases = [Case((draw(rng, a, (-2.0, 2.0)), draw(rng, b, y_domain))) for a, b in _PAIRS]
        # exact zeros in x: x log y is smooth in x there, and 0 for every y
        cases.append(Case((numpy.array([0.0, 1.5, 0.0, -0.5]), draw(rng, (4,), y_domain))))
        return cases
    return _with_scipy(name, make)


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC, samples=_xlogy_cases("xlogy", (0.2, 3.0)))
def xlogy(xp, x, y):
    """``x * log(y)``, and 0 where x == 0 (whatever y is)."""
    return _sp(xp, "xlogy")(x, y)


def _ratio(x, den):
    """``x / den``, 0 where x == 0: ``den`` is replaced by 1 only where x == 0 and it is 0, so
    elsewhere the derivative in x stays ``1 / den``."""
    if isinstance(x, (int, float)):
        return x / den if x != 0 else den * 0.0
    return x / T.where((x == 0) & (den == 0), 1.0, den)


@xlogy.vjp
def _(g, x, y, needs):
    return (g * T.log(y) if needs[0] else None, g * _ratio(x, y) if needs[1] else None)


@defop(broadcast=True, elementwise=True, singular=True, public=PUBLIC, samples=_xlogy_cases("xlog1py", (-0.8, 2.0)))
def xlog1py(xp, x, y):
    """``x * log1p(y)``, and 0 where x == 0 (whatever y is)."""
    return _sp(xp, "xlog1py")(x, y)


@xlog1py.vjp
def _(g, x, y, needs):
    return (g * T.log1p(y) if needs[0] else None, g * _ratio(x, 1 + y) if needs[1] else None)


# --- logsumexp with weights b --------------------------------------------------------------------


def _np_logsumexp_b(a, b, axis=None, keepdims=False):
    return _sp(numpy, "logsumexp")(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)


def _logsumexp_b_cases(rng):
    cases = []
    for ax, kd in ((None, False), (1, False), (-1, True), ((0, 2), False), ((0, 2), True)):
        a = draw(rng, (2, 3, 4))
        b = rng.uniform(0.5, 2.0, size=(3, 1))  # positive weights, broadcast against a
        cases.append(Case((a, b), dict(axis=ax, keepdims=kd)))
    # negative weights: a sum of either sign (return_sign's sign output)
    cases.append(Case((draw(rng, (3, 4)), draw(rng, (3, 4), (-2.0, 2.0), (0.0,))), dict(axis=1)))
    cases.append(Case((draw(rng, (2, 3)), numpy.array([1.0, -3.0, 0.5])), dict(axis=-1)))
    cases.append(Case((draw(rng, (4,)), draw(rng, (4,), (0.5, 2.0))), dict()))
    cases.append(Case((draw(rng, (1, 3)), draw(rng, (2, 3), (0.5, 2.0))), dict(axis=0)))  # b broadcasts a
    for c in cases:
        c.ref = _np_logsumexp_b
    return cases


@defop(nin=2, broadcast=True, nout=2, public=None, samples=_with_scipy("logsumexp", _logsumexp_b_cases))
def _logsumexp_b(xp, a, b, axis=None, keepdims=False):
    """``(log|s|, sign(s))``, ``s = sum(b * exp(a), axis)`` (SciPy's ``logsumexp`` with ``b`` and
    ``return_sign=True``); ``a`` and ``b`` broadcast together."""
    ax = tuple(axis) if isinstance(axis, list) else axis
    return _sp(xp, "logsumexp")(a, axis=ax, b=b, keepdims=keepdims, return_sign=True)


def _lse_weights(a, b, out, shapes, axis, keepdims):
    """``sign(s) * exp(a - log|s|)`` over the broadcast shape (d log|s| / d b), and ``out``'s
    reshape to keep the reduced axes."""
    full = numpy.broadcast_shapes(*shapes)
    lse, sign = out
    if not keepdims:
        kept = kept_shape(full, axis)
        lse, sign = T.reshape(lse, kept), T.reshape(sign, kept)
    return sign * T.exp(a - lse), kept_shape(full, axis) if not keepdims else None


@_logsumexp_b.vjp
def _(gs, a, b, out, shapes, axis, keepdims, needs):
    g = gs[0]
    if g is None:
        return (None, None)
    w, kept = _lse_weights(a, b, out, shapes, axis, keepdims)
    if kept is not None:
        g = T.reshape(g, kept)
    gw = T.broadcast_to(g * w, numpy.broadcast_shapes(*shapes))  # b may have axes a has not
    return (gw * b if needs[0] else None, gw if needs[1] else None)


@_logsumexp_b.jvp
def _(ts, a, b, out, shapes, axis, keepdims):
    ta, tb = ts
    w, _ = _lse_weights(a, b, out, shapes, axis, keepdims)
    t = None
    if ta is not None:
        t = ta * b
    if tb is not None:
        t = tb if t is None else t + tb
    full = numpy.broadcast_shapes(*shapes)
    ax = norm_axes(axis, len(full))
    return (T.sum(T.broadcast_to(t * w, full), axis=ax, keepdims=keepdims), None)


# --- SciPy's signatures over the registry's ops ---------------------------------------------------


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False) -> Any:
    """``scipy.special.logsumexp``: ``log(sum(b * exp(a), axis))``, differentiable in a and b.

    Without ``b`` and ``return_sign`` it is the registry's ``logsumexp``; with them, ``_logsumexp_b``
    (``(log|s|, sign(s))``). Without ``return_sign`` a negative sum gives NaN, as in SciPy.
    """
    if b is None and not return_sign:
        return T.logsumexp(a, axis=axis, keepdims=keepdims)
    out, sign = T._logsumexp_b(a, 1.0 if b is None else b, axis=axis, keepdims=keepdims)
    if return_sign:
        return out, sign
    return T.where(sign < 0, float("nan"), out)


def _axes(x: Any, axis: Any) -> Any:
    """SciPy's ``axis=None`` (every axis) as the axes of ``x``."""
    return tuple(range(numpy.ndim(x) if not isinstance(x, Array) else x.ndim)) if axis is None else axis


def softmax(x: Any, axis: Any = None) -> Any:
    """``scipy.special.softmax``: ``exp(x) / sum(exp(x), axis)``, over every axis by default."""
    return T.softmax(x, axis=_axes(x, axis))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``scipy.special.log_softmax``: ``x - logsumexp(x, axis)``, over every axis by default."""
    return T.log_softmax(x, axis=_axes(x, axis))


def yn(n: Any, x: Any) -> Any:
    """``scipy.special.yn``: ``yv`` of the integer order n (a float n is truncated, as SciPy does)."""
    n = buffer(n) if isinstance(n, Array) else n
    return T.yv(numpy.trunc(n) if not isinstance(n, int) else n, x)


#: SciPy's functions composed of ops (their SciPy names), and SciPy's other names for ops.
COMPOSITES = {"logsumexp": logsumexp, "softmax": softmax, "log_softmax": log_softmax, "yn": yn}
ALIASES = {"psi": "digamma", "jn": "jv", "expit": "sigmoid", "log_expit": "log_sigmoid", "erf": "erf"}

"""Neural-network primitives (npx): relu, sigmoid, softmax, log_softmax, pick, one_hot; logsumexp;
PyTorch's activations (softplus, elu, celu, gelu, silu, mish, leaky_relu, hardtanh, hardsigmoid,
hardswish, log_sigmoid, softsign, tanhshrink, softshrink, hardshrink, threshold, glu) and erf.

The activations' gradients at their kinks are PyTorch's (measured with PyTorch 2.13): the
derivative of a piecewise rule takes the side PyTorch's backward kernel takes at the breakpoint.

softmax, log_softmax and logsumexp are single primitives that shift by the maximum along the axis
before exponentiating, so they stay finite for inputs like 1000 or -1000; their VJPs reuse ``out``.
"""
from __future__ import annotations

import math

import numpy

from .._core.array import OPS as T, Array
from ..backend import backend_for, xp_of
from ._util import kept_shape, norm_axes
from .registry import defop
from .samples import AXIS_SHAPE, UNARY_SHAPES, Case, draw, unary


def _with_ref(factory, ref):
    """The cases of ``factory`` with the NumPy reference ``ref`` attached."""
    def make(rng):
        out = factory(rng)
        for c in out:
            c.ref = ref
        return out
    return make


def _axis_cases(shapes_axes, **params):
    """One case per (shape, axis) pair, inputs drawn in [-2, 2]."""
    def make(rng):
        return [Case((draw(rng, s),), dict(axis=ax, **params)) for s, ax in shapes_axes]
    return make


def _max_shift(xp, x, axis):
    """``x - max(x, axis)``, with an infinite maximum (all -inf, or +inf) replaced by 0 so that
    the shift never produces ``inf - inf``."""
    if x.size == 0:
        return x
    m = x.max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    return x - m


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# --- activations ------------------------------------------------------------------------------


def _np_relu(x):
    return numpy.maximum(x, 0)


@defop(elementwise=True, public="npx", samples=_with_ref(unary(avoid=(0.0,)), _np_relu),
       scalar=lambda m, x: m.maximum(x, 0))
def relu(xp, data):
    return xp.maximum(data, 0)


@relu.vjp
def _(g, out):
    """Convention: relu'(0) = 0 (like ``maximum(x, 0)`` and ``where(x > 0, x, 0)``)."""
    return (T.masked_grad(g, out > 0),)


def _masked_grad_cases(rng):
    g = draw(rng, (3, 4))
    return [Case((g, rng.random((3, 4)) > 0.5), ref=_np_masked_grad, wrt=(0,)),
            Case((draw(rng, (5,)), numpy.array([True, False, True, True, False])), ref=_np_masked_grad, wrt=(0,))]


def _np_masked_grad(g, mask):
    return numpy.where(mask, g, 0)


@defop(nin=2, linear=True, public=None, samples=_masked_grad_cases, scalar=lambda m, g, mask: m.where(mask, g, 0))
def masked_grad(xp, g, mask):
    """``g`` where ``mask`` holds, else +0.0 (a zero even where ``g`` is inf or NaN, and never -0.0, as
    PyTorch's threshold_backward gives). A multiply by the mask when ``g`` is finite, which is several
    times faster than ``where`` on irregular masks, then + 0 (``-g * False`` is -0.0; -0.0 + 0 is +0.0).
    (A finite sum proves every entry finite: one inf or NaN makes it inf or NaN.)"""
    if xp.isfinite(g.sum()):
        out = g * mask
        if out.dtype.kind in "fc" and out.ndim:
            out += 0
        return out if out.ndim else out + 0
    return xp.where(mask, g, 0)


@masked_grad.vjp
def _(g, mask):
    return (T.masked_grad(g, mask), None)


def _np_sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def _sigmoid_scalar(m, x):
    e = m.exp(m.negative(m.absolute(x)))
    return m.true_divide(m.where(m.greater_equal(x, 0), 1, e), m.add(1, e))


@defop(elementwise=True, public="npx", samples=_with_ref(unary(domain=(-4.0, 4.0)), _np_sigmoid),
       scalar=_sigmoid_scalar)
def sigmoid(xp, data):
    """``1 / (1 + exp(-x))`` computed from ``exp(-|x|)``: no overflow for large ``|x|``."""
    e = xp.exp(-xp.abs(data))
    one = xp.ones_like(e)
    return xp.where(data >= 0, one, e) / (1 + e)


@sigmoid.vjp
def _(g, out):
    return (g * out * (1 - out),)


# --- PyTorch's activations ----------------------------------------------------------------------


def _act_cases(ref, variants, domain=(-3.0, 3.0)):
    """One case per shape and parameter set; inputs kept 0.1 away from each variant's kinks."""
    def make(rng):
        return [Case((draw(rng, shape, domain, avoid),), dict(params), ref=ref)
                for params, avoid in variants for shape in UNARY_SHAPES]
    return make


def _np_softplus(x, beta=1.0, threshold=20.0):
    return numpy.where(x * beta > threshold, x, numpy.log1p(numpy.exp(numpy.minimum(x * beta, threshold))) / beta)


def _softplus_scalar(m, x, beta=1.0, threshold=20.0):
    z = m.multiply(x, beta)
    smooth = m.true_divide(m.add(m.maximum(z, 0), m.log1p(m.exp(m.negative(m.absolute(z))))), beta)
    return m.where(m.greater(z, threshold), x, smooth)


@defop(elementwise=True, public=None, samples=_act_cases(_np_softplus, [
    ({}, ()), (dict(beta=2.0, threshold=3.0), (1.5,)), (dict(beta=0.5, threshold=0.4), (0.8,))]),
    scalar=_softplus_scalar)
def softplus(xp, x, beta=1.0, threshold=20.0):
    """PyTorch's ``softplus``: ``log(1 + exp(beta * x)) / beta``, and ``x`` itself where
    ``beta * x > threshold`` (computed from ``exp(-|beta * x|)``: no overflow)."""
    z = x * beta
    smooth = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
    return xp.where(z > threshold, x, smooth)


@softplus.vjp
def _(g, x, beta, threshold):
    """``sigmoid(beta * x)``, and 1 where the linear branch was taken. At ``beta * x == threshold``
    the second derivative is 0, as in PyTorch (its double backward keeps ``beta * x < threshold``)."""
    z = x * beta
    return (T.where(z > threshold, g, g * T.sigmoid(T.where(z < threshold, z, threshold))),)


def _np_elu(x, alpha=1.0, scale=1.0, input_scale=1.0):
    return numpy.where(x > 0, scale * x, scale * alpha * numpy.expm1(numpy.minimum(x, 0) * input_scale))


def _elu(xp, x, alpha, scale, input_scale):
    return xp.where(x > 0, x * scale, xp.expm1(xp.minimum(x, 0) * input_scale) * (alpha * scale))


def _elu_rule(g, x, alpha, scale, input_scale):
    """``scale`` for x > 0, else ``scale * alpha * input_scale * exp(x * input_scale)`` (at 0 too)."""
    neg = T.exp(T.minimum(x, 0) * input_scale) * (alpha * scale * input_scale)
    return (g * T.where(x > 0, scale, neg),)


@defop(elementwise=True, public=None, samples=_act_cases(_np_elu, [
    ({}, (0.0,)), (dict(alpha=2.0), (0.0,)), (dict(alpha=1.6732632423543772, scale=1.0507009873554805), (0.0,)),
    (dict(alpha=0.5, scale=1.0, input_scale=2.0), (0.0,))]))
def elu(xp, x, alpha=1.0, scale=1.0, input_scale=1.0):
    """PyTorch's ``elu``: ``scale * x`` for x > 0, else ``scale * alpha * (exp(x * input_scale) - 1)``
    (``selu`` is this with fixed ``alpha`` and ``scale``; ``celu`` with ``input_scale = 1 / alpha``)."""
    return _elu(xp, x, alpha, scale, input_scale)


elu.vjp(_elu_rule)


def _np_celu(x, alpha=1.0):
    return _np_elu(x, alpha, 1.0, 1.0 / alpha)


@defop(elementwise=True, public=None, samples=_act_cases(_np_celu, [({}, (0.0,)), (dict(alpha=2.5), (0.0,))]))
def celu(xp, x, alpha=1.0):
    """PyTorch's ``celu``: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return _elu(xp, x, alpha, 1.0, 1.0 / alpha)


@celu.vjp
def _(g, x, alpha):
    return _elu_rule(g, x, alpha, 1.0, 1.0 / alpha)


def _np_erf(x):
    return numpy.vectorize(math.erf)(x)


@defop(elementwise=True, public=None, samples=_with_ref(unary(), _np_erf))
def erf(xp, x):
    """The error function ``2 / sqrt(pi) * integral_0^x exp(-t^2) dt``."""
    return backend_for(xp).erf(x)


@erf.vjp
def _(g, x):
    return (g * T.exp(-x * x) * (2 / math.sqrt(math.pi)),)


_SQRT1_2 = math.sqrt(0.5)
_GELU_BETA = math.sqrt(2 / math.pi)  # tanh approximation: tanh(beta * (x + kappa * x^3))
_GELU_KAPPA = 0.044715


def _np_gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + numpy.tanh(_GELU_BETA * (x + _GELU_KAPPA * x ** 3)))
    return 0.5 * x * (1 + _np_erf(x * _SQRT1_2))


@defop(elementwise=True, public=None, samples=_act_cases(_np_gelu, [({}, ()), (dict(approximate="tanh"), ())]))
def gelu(xp, x, approximate="none"):
    """PyTorch's ``gelu``: ``x * Phi(x)`` (Phi the standard normal CDF) or, ``approximate='tanh'``,
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))``."""
    if approximate == "tanh":
        return x * 0.5 * (1 + xp.tanh((x + x * x * x * _GELU_KAPPA) * _GELU_BETA))
    return x * 0.5 * (1 + backend_for(xp).erf(x * _SQRT1_2))


@gelu.vjp
def _(g, x, approximate):
    if approximate == "tanh":
        t = T.tanh((x + x * x * x * _GELU_KAPPA) * _GELU_BETA)
        dinner = (1 + x * x * (3 * _GELU_KAPPA)) * _GELU_BETA
        return (g * (0.5 * (1 + t) + x * 0.5 * (1 - t * t) * dinner),)
    cdf = 0.5 * (1 + T.erf(x * _SQRT1_2))
    pdf = T.exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))
    return (g * (cdf + x * pdf),)


def _np_silu(x):
    return x / (1 + numpy.exp(-x))


@defop(elementwise=True, public=None, samples=_with_ref(unary(domain=(-4.0, 4.0)), _np_silu),
       scalar=lambda m, x: m.multiply(x, _sigmoid_scalar(m, x)))
def silu(xp, x):
    """PyTorch's ``silu`` (swish): ``x * sigmoid(x)``."""
    return x * sigmoid.forward(xp, x)


@silu.vjp
def _(g, x):
    s = T.sigmoid(x)
    return (g * s * (1 + x * (1 - s)),)


def _np_mish(x):
    return x * numpy.tanh(numpy.log1p(numpy.exp(x)))


@defop(elementwise=True, public=None, samples=_with_ref(unary(domain=(-4.0, 4.0)), _np_mish),
       scalar=lambda m, x: m.multiply(x, m.tanh(m.logaddexp(0, x))))
def mish(xp, x):
    """PyTorch's ``mish``: ``x * tanh(softplus(x))``."""
    return x * xp.tanh(xp.logaddexp(0, x))


@mish.vjp
def _(g, x):
    t = T.tanh(T.logaddexp(0, x))
    return (g * (t + x * T.sigmoid(x) * (1 - t * t)),)


def _np_leaky_relu(x, negative_slope=0.01):
    return numpy.where(x > 0, x, x * negative_slope)


@defop(elementwise=True, public=None, samples=_act_cases(_np_leaky_relu, [
    ({}, (0.0,)), (dict(negative_slope=0.2), (0.0,)), (dict(negative_slope=-1.5), (0.0,))]),
    scalar=lambda m, x, negative_slope=0.01: m.where(m.greater(x, 0), x, m.multiply(x, negative_slope)))
def leaky_relu(xp, x, negative_slope=0.01):
    """PyTorch's ``leaky_relu``: ``x`` for x > 0, else ``negative_slope * x`` (slope at 0: the negative one)."""
    return xp.where(x > 0, x, x * negative_slope)


@leaky_relu.vjp
def _(g, x, negative_slope):
    return (T.where(x > 0, g, g * negative_slope),)


def _np_hardtanh(x, min_val=-1.0, max_val=1.0):
    return numpy.clip(x, min_val, max_val)


@defop(elementwise=True, public=None, samples=_act_cases(_np_hardtanh, [
    ({}, (-1.0, 1.0)), (dict(min_val=0.0, max_val=6.0), (0.0, 6.0)), (dict(min_val=-0.5, max_val=2.0), (-0.5, 2.0))],
    domain=(-3.0, 7.0)))
def hardtanh(xp, x, min_val=-1.0, max_val=1.0):
    """PyTorch's ``hardtanh``: ``x`` clamped to [min_val, max_val] (``relu6`` is [0, 6]); the
    gradient is 0 at the bounds."""
    return xp.minimum(xp.maximum(x, min_val), max_val)


@hardtanh.vjp
def _(g, x, min_val, max_val):
    return (T.masked_grad(g, (x > min_val) & (x < max_val)),)


def _np_hardsigmoid(x):
    return numpy.clip(x / 6 + 0.5, 0, 1)


@defop(elementwise=True, public=None, samples=_with_ref(unary(domain=(-4.0, 4.0), avoid=(-3.0, 3.0)), _np_hardsigmoid),
       scalar=lambda m, x: m.true_divide(m.minimum(m.maximum(m.add(x, 3), 0), 6), 6))
def hardsigmoid(xp, x):
    """PyTorch's ``hardsigmoid``: ``min(max(x + 3, 0), 6) / 6``; the gradient is 0 at -3 and 3."""
    return xp.minimum(xp.maximum(x + 3, 0), 6) / 6


@hardsigmoid.vjp
def _(g, x):
    return (T.masked_grad(g, (x > -3) & (x < 3)) / 6,)


def _np_hardswish(x):
    return x * numpy.clip(x + 3, 0, 6) / 6


@defop(elementwise=True, public=None, samples=_with_ref(unary(domain=(-4.0, 4.0), avoid=(-3.0, 3.0)), _np_hardswish),
       scalar=lambda m, x: m.true_divide(m.multiply(x, m.minimum(m.maximum(m.add(x, 3), 0), 6)), 6))
def hardswish(xp, x):
    """PyTorch's ``hardswish``: ``x * min(max(x + 3, 0), 6) / 6``; the gradient is 0 at -3 and 1 at 3."""
    return x * xp.minimum(xp.maximum(x + 3, 0), 6) / 6


@hardswish.vjp
def _(g, x):
    return (T.where(x <= -3, 0, T.where(x < 3, g * (x / 3 + 0.5), g)),)


def _np_log_sigmoid(x):
    return -numpy.log1p(numpy.exp(-x))


@defop(elementwise=True, public=None, samples=_with_ref(unary(domain=(-4.0, 4.0)), _np_log_sigmoid),
       scalar=lambda m, x: m.subtract(m.minimum(x, 0), m.log1p(m.exp(m.negative(m.absolute(x))))))
def log_sigmoid(xp, x):
    """``log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|))``: no overflow for large ``|x|``."""
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


@log_sigmoid.vjp
def _(g, x):
    return (g * T.sigmoid(-x),)


def _np_softsign(x):
    return x / (1 + numpy.abs(x))


@defop(elementwise=True, public=None, samples=_with_ref(unary(), _np_softsign),
       scalar=lambda m, x: m.true_divide(x, m.add(1, m.absolute(x))))
def softsign(xp, x):
    """PyTorch's ``softsign``: ``x / (1 + |x|)``."""
    return x / (1 + xp.abs(x))


@softsign.vjp
def _(g, x):
    d = 1 + T.abs(x)
    return (g / (d * d),)


def _np_tanhshrink(x):
    return x - numpy.tanh(x)


@defop(elementwise=True, public=None, samples=_with_ref(unary(), _np_tanhshrink))
def tanhshrink(xp, x):
    """PyTorch's ``tanhshrink``: ``x - tanh(x)``."""
    return x - xp.tanh(x)


@tanhshrink.vjp
def _(g, x):
    t = T.tanh(x)
    return (g * t * t,)


def _np_softshrink(x, lambd=0.5):
    return numpy.where(x > lambd, x - lambd, numpy.where(x < -lambd, x + lambd, 0))


@defop(elementwise=True, public=None, samples=_act_cases(_np_softshrink, [
    ({}, (-0.5, 0.5)), (dict(lambd=1.2), (-1.2, 1.2)), (dict(lambd=0.0), (0.0,))]))
def softshrink(xp, x, lambd=0.5):
    """PyTorch's ``softshrink``: ``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0
    (gradient 0 on [-lambd, lambd], the bounds included)."""
    return xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, 0))


def _shrink_rule(g, x, lambd):
    return (T.masked_grad(g, (x < -lambd) | (x > lambd)),)


softshrink.vjp(_shrink_rule)


def _np_hardshrink(x, lambd=0.5):
    return numpy.where((x >= -lambd) & (x <= lambd), 0, x)


@defop(elementwise=True, public=None, samples=_act_cases(_np_hardshrink, [
    ({}, (-0.5, 0.5)), (dict(lambd=1.2), (-1.2, 1.2))]))
def hardshrink(xp, x, lambd=0.5):
    """PyTorch's ``hardshrink``: ``x`` outside [-lambd, lambd], else 0."""
    return xp.where((x >= -lambd) & (x <= lambd), 0, x)


hardshrink.vjp(_shrink_rule)


def _np_threshold(x, threshold, value):
    return numpy.where(x > threshold, x, value)


@defop(nin=1, elementwise=True, public=None, samples=_act_cases(_np_threshold, [
    (dict(threshold=0.0, value=0.0), (0.0,)), (dict(threshold=0.5, value=-2.0), (0.5,))]))
def threshold(xp, x, threshold, value):
    """PyTorch's ``threshold``: ``x`` where ``x > threshold``, else ``value``."""
    return xp.where(x > threshold, x, value)


@threshold.vjp
def _(g, x, threshold):
    return (T.masked_grad(g, x > threshold),)


def _halves(x, dim):
    n = x.shape[dim] // 2
    lead = (slice(None),) * (dim % x.ndim)
    return x[lead + (slice(0, n),)], x[lead + (slice(n, None),)]


def _np_glu(x, dim=-1):
    a, b = _halves(x, dim)
    return a / (1 + numpy.exp(-b))


def _glu_cases(rng):
    return [Case((draw(rng, s),), dict(dim=d), ref=_np_glu)
            for s, d in (((4,), -1), ((2, 6), -1), ((4, 3), 0), ((2, 4, 3), 1), ((2, 3, 2), -1))]


@defop(nin=1, public=None, samples=_glu_cases)
def glu(xp, x, dim=-1):
    """PyTorch's ``glu``: ``a * sigmoid(b)``, ``a`` and ``b`` the two halves of ``x`` along ``dim``
    (the caller checks that the size there is even)."""
    a, b = _halves(x, dim)
    return a * sigmoid.forward(xp, b)


@glu.vjp
def _(g, x, dim):
    a, b = _halves(x, dim)
    s = T.sigmoid(b)
    return (T.concatenate([g * s, g * a * s * (1 - s)], axis=dim),)


# --- softmax family ---------------------------------------------------------------------------

_SOFTMAX_AXES = (((3,), -1), ((2, 3), -1), ((2, 3), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((), -1))


def _np_softmax(data, axis=-1):
    e = numpy.exp(data - numpy.max(data, axis=axis, keepdims=True))
    return e / numpy.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(data, axis=-1):
    return numpy.log(_np_softmax(data, axis))


@defop(nin=1, public="npx", samples=_with_ref(_axis_cases(_SOFTMAX_AXES), _np_softmax))
def softmax(xp, data, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``: stable for large inputs."""
    axis = _ax(axis) if data.ndim else None  # a 0-d input is one element (CuPy refuses an axis)
    e = xp.exp(_max_shift(xp, data, axis))
    return e / xp.sum(e, axis=axis, keepdims=True)


@softmax.vjp
def _(g, out, axis):
    return (out * (g - T.sum(g * out, axis=axis if out.ndim else None, keepdims=True)),)


@defop(nin=1, public="npx", samples=_with_ref(_axis_cases(_SOFTMAX_AXES), _np_log_softmax))
def log_softmax(xp, data, axis=-1):
    """``(x - max) - log(sum(exp(x - max)))`` along ``axis``: stable for large inputs."""
    axis = _ax(axis) if data.ndim else None  # a 0-d input is one element (CuPy refuses an axis)
    s = _max_shift(xp, data, axis)
    return s - xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))


@log_softmax.vjp
def _(g, out, axis):
    return (g - T.exp(out) * T.sum(g, axis=axis if out.ndim else None, keepdims=True),)


def _np_logsumexp(a, axis=None, keepdims=False):
    return numpy.log(numpy.sum(numpy.exp(a), axis=_ax(axis), keepdims=keepdims))


def _logsumexp_cases(rng):
    cases = []
    for ax in (None, 0, 1, -1, (0, 2), (0, 1, 2)):
        for kd in (False, True):
            cases.append(Case((draw(rng, AXIS_SHAPE),), dict(axis=ax, keepdims=kd), ref=_np_logsumexp))
    cases.append(Case((draw(rng, (3,)),), ref=_np_logsumexp))
    cases.append(Case((draw(rng, ()),), dict(axis=None, keepdims=True), ref=_np_logsumexp))
    return cases


@defop(nin=1, public=None, samples=_logsumexp_cases)
def logsumexp(xp, a, axis=None, keepdims=False):
    """``log(sum(exp(a), axis))`` computed as ``m + log(sum(exp(a - m)))``, m the maximum."""
    ax = _ax(axis)
    if a.size == 0:
        return xp.log(xp.sum(xp.exp(a), axis=ax, keepdims=keepdims))
    m = xp.max(a, axis=ax, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    out = xp.log(xp.sum(xp.exp(a - m), axis=ax, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=norm_axes(axis, a.ndim))


@logsumexp.vjp
def _(g, a, out, shapes, axis, keepdims):
    """d logsumexp = softmax(a) = exp(a - out): the weights are <= 1, so no overflow."""
    if not keepdims:
        kept = kept_shape(shapes[0], axis)
        g, out = T.reshape(g, kept), T.reshape(out, kept)
    return (g * T.exp(a - out),)


# --- picking and one-hot ----------------------------------------------------------------------


def _raw(v):
    return v._data if isinstance(v, Array) else v


def _pick_index(xp, index, n, mode):
    """``index`` as integers in [0, n): clipped (MXNet's default mode) or wrapped."""
    idx = xp.asarray(index)
    if idx.dtype.kind != "i" and idx.dtype.kind != "u":
        idx = idx.astype(xp.int64)  # MXNet accepts float labels; they are truncated
    if mode == "clip":
        return backend_for(xp).clip_index(xp, idx, n)
    if mode == "wrap":
        return xp.mod(idx, n)
    raise ValueError(f"pick: mode must be 'clip' or 'wrap', got {mode!r}")


def _pick_kept(xp, data_ndim, idx, ax):
    """The index with the picked axis present (size 1), as ``take_along_axis`` wants it."""
    return idx if idx.ndim == data_ndim else xp.expand_dims(idx, ax)


def _np_pick(data, index, axis=-1, keepdims=False, mode="clip"):
    """Reference: an explicit loop over the index's positions."""
    if axis is None:
        flat = data.reshape(-1)
        idx = _pick_index(numpy, index, flat.size, mode)
        return numpy.array([flat[i] for i in idx.reshape(-1)]).reshape(idx.shape)
    ax = axis % data.ndim
    idx = _pick_index(numpy, index, data.shape[ax], mode)
    if idx.ndim == data.ndim:
        idx = numpy.squeeze(idx, ax)
    moved = numpy.moveaxis(data, ax, -1)
    out = numpy.empty(idx.shape, dtype=data.dtype)
    for pos in numpy.ndindex(idx.shape):
        out[pos] = moved[pos + (idx[pos],)]
    return numpy.expand_dims(out, ax) if keepdims else out


def _pick_cases(rng):
    x = draw(rng, AXIS_SHAPE)
    cases = []
    for ax in (-1, 0, 1):
        for kd in (False, True):
            shape = tuple(n for i, n in enumerate(AXIS_SHAPE) if i != ax % 3)
            idx = rng.integers(0, AXIS_SHAPE[ax], size=shape)
            cases.append(Case((x, idx), dict(axis=ax, keepdims=kd), ref=_np_pick, wrt=(0,)))
    y = draw(rng, (4, 3))
    # float labels (MXNet style), an index with the axis kept, out-of-range indices, the flat mode
    cases.append(Case((y, numpy.array([2.0, 0.0, 1.0, 2.0])), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([[1], [0], [2], [2]])), dict(keepdims=True), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([5, -1, 1, 3])), dict(mode="clip"), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([5, -1, 1, 3])), dict(mode="wrap"), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([[0, 11], [4, 4]])), dict(axis=None), ref=_np_pick, wrt=(0,)))
    return cases


@defop(broadcast=True, public="npx", samples=_pick_cases)
def pick(xp, data, index, axis=-1, keepdims=False, mode="clip"):
    """``data`` picked at ``index`` along ``axis`` (MXNet's ``npx.pick``).

    ``index`` has the shape of ``data`` without ``axis`` (or with it as size 1); float labels are
    truncated; out-of-range indices are clipped (``mode='clip'``) or wrapped (``mode='wrap'``).
    ``axis=None`` picks from the flattened ``data``. ``index`` gets no gradient.
    """
    if axis is None:
        flat = data.reshape(-1)
        return flat[_pick_index(xp, index, flat.size, mode)]
    ax = axis % data.ndim
    idx = _pick_index(xp, index, data.shape[ax], mode)
    if data.ndim == 2 and ax == 1 and idx.ndim == 1:  # a batch of class scores and its labels
        out = data[xp.arange(data.shape[0]), idx]
        return out[:, None] if keepdims else out
    idx = _pick_kept(xp, data.ndim, idx, ax)
    out = xp.take_along_axis(data, idx, axis=ax)
    return out if keepdims else xp.squeeze(out, axis=ax)


@pick.vjp
def _(g, index, shapes, axis, keepdims, mode):
    shape = shapes[0]
    raw = _raw(index)
    xp = xp_of((raw,))
    if axis is None:
        size = 1
        for n in shape:
            size *= n
        key = _pick_index(xp, raw, size, mode)
        return (T.reshape(T.scatter_add(g, (size,), key), shape), None)
    ax = axis % len(shape)
    idx = _pick_index(xp, raw, shape[ax], mode)
    if not isinstance(g, Array) and len(shape) == 2 and ax == 1 and idx.ndim == 1:
        # raw buffers (a backward that builds no graph): g written into zeros at the picked places
        out = xp.zeros(shape, dtype=g.dtype)
        out[xp.arange(shape[0]), idx] = g[:, 0] if keepdims else g
        return (out, None)
    idx = _pick_kept(xp, len(shape), idx, ax)
    iota = xp.arange(shape[ax]).reshape((-1,) + (1,) * (len(shape) - ax - 1))
    mask = iota == idx  # True at the picked position along the axis
    gk = g if keepdims else T.expand_dims(g, ax)
    return (T.where(mask, gk, 0), None)


def _np_one_hot(indices, depth, dtype="float32", on_value=1.0, off_value=0.0):
    idx = numpy.asarray(indices).astype(numpy.int64)
    out = numpy.full(idx.shape + (depth,), off_value, dtype=dtype)
    for pos in numpy.ndindex(idx.shape):
        if 0 <= idx[pos] < depth:
            out[pos + (idx[pos],)] = on_value
    return out


def _one_hot_cases(rng):
    return [Case((numpy.array([0, 2, 1, 3]),), dict(depth=4), ref=_np_one_hot),
            Case((numpy.array([[1, 0], [4, -1]]),), dict(depth=3, dtype="float64"), ref=_np_one_hot),
            Case((numpy.array([1.0, 2.0]),), dict(depth=3, dtype="int32", on_value=5, off_value=-1),
                 ref=_np_one_hot),
            Case((numpy.array(2),), dict(depth=3), ref=_np_one_hot)]


@defop(nin=1, diff=False, public="npx", samples=_one_hot_cases)
def one_hot(xp, indices, depth, dtype="float32", on_value=1.0, off_value=0.0):
    """``indices`` one-hot encoded along a new last axis of length ``depth`` (MXNet's default dtype
    is float32). Indices outside [0, depth) give rows of ``off_value``. Not differentiable."""
    idx = xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        idx = idx.astype(xp.int64)
    hit = idx[..., None] == xp.arange(depth)
    return xp.where(hit, on_value, off_value).astype(dtype)


# --- losses (PyTorch's fused nll_loss and mse_loss) ---------------------------------------------


def _nll_parts(xp, target, shape, dtype, weight, ignore_index):
    """Class axis, clean integer targets, and each position's weight (0 where ignored)."""
    ax = 1 if len(shape) > 1 else 0
    t = xp.asarray(target)
    if t.dtype.kind not in "iu":
        t = t.astype(xp.int64)
    keep = t != ignore_index
    safe = xp.where(keep, t, 0)
    if weight is None:
        w = keep.astype(dtype)
    else:
        w = xp.where(keep, xp.asarray(weight)[safe], 0).astype(dtype)
    return ax, safe, w


def _np_nll_loss(data, target, weight=None, reduction="mean", ignore_index=-100):
    """Reference: an explicit loop over positions."""
    ax = 1 if data.ndim > 1 else 0
    moved = numpy.moveaxis(data, ax, -1)
    loss = numpy.zeros(numpy.shape(target), dtype=data.dtype)
    wsum = 0.0
    for pos in numpy.ndindex(loss.shape):
        c = int(numpy.asarray(target)[pos])
        if c == ignore_index:
            continue
        wc = 1.0 if weight is None else float(weight[c])
        loss[pos] = -moved[pos + (c,)] * wc
        wsum += wc
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / wsum


def _nll_cases(rng):
    cases = []
    x = draw(rng, (4, 3))
    t = numpy.array([2, 0, 1, 2])
    for red in ("mean", "sum", "none"):
        cases.append(Case((x, t), dict(reduction=red), ref=_np_nll_loss, wrt=(0,)))
    w = numpy.array([0.5, 2.0, 1.5])
    cases.append(Case((x, t), dict(weight=w), ref=_np_nll_loss, wrt=(0,)))
    cases.append(Case((x, numpy.array([2, -100, 1, 0])), dict(weight=w, reduction="sum"), ref=_np_nll_loss,
                      wrt=(0,)))
    cases.append(Case((x, numpy.array([2, 5, 1, 5])), dict(ignore_index=5), ref=_np_nll_loss, wrt=(0,)))
    y = draw(rng, (2, 3, 4))  # (N, C, d): one class index per (n, d)
    cases.append(Case((y, numpy.array([[0, 2, 1, 1], [2, 2, 0, 1]])), dict(reduction="none"), ref=_np_nll_loss,
                      wrt=(0,)))
    cases.append(Case((y, numpy.array([[0, 2, 1, 1], [2, 2, 0, 1]])), ref=_np_nll_loss, wrt=(0,)))
    cases.append(Case((draw(rng, (3,)), numpy.array(1)), ref=_np_nll_loss, wrt=(0,)))  # no batch axis
    return cases


@defop(nin=2, public=None, samples=_nll_cases)
def nll_loss(xp, data, target, weight=None, reduction="mean", ignore_index=-100):
    """PyTorch's ``nll_loss``: ``-data[n, target[n]]`` (times the class weight), for log-probabilities
    ``data`` of shape (N, C, d...) or (C,) and integer ``target`` of shape (N, d...) or ().

    Positions whose target is ``ignore_index`` count zero; ``reduction='mean'`` divides by the summed
    weight of the other positions. ``weight`` (a raw array of C class weights) and ``target`` get no
    gradient. The caller checks shapes and ranges (``torch.nn.functional.nll_loss`` does).
    """
    ax, safe, w = _nll_parts(xp, target, data.shape, data.dtype, weight, ignore_index)
    picked = xp.squeeze(xp.take_along_axis(data, xp.expand_dims(safe, ax), axis=ax), axis=ax)
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.sum(loss)
    return xp.sum(loss) / xp.sum(w)


@nll_loss.vjp
def _(g, target, shapes, dtypes, weight, reduction, ignore_index):
    """The gradient is ``-w * g`` at each target position and zero elsewhere (nll is linear in data)."""
    shape = shapes[0]
    raw = _raw(target)
    xp = xp_of((raw,))
    ax, safe, w = _nll_parts(xp, raw, shape, dtypes[0], weight, ignore_index)
    scale = -w / xp.sum(w) if reduction == "mean" else -w
    iota = xp.arange(shape[ax]).reshape((-1,) + (1,) * (len(shape) - ax - 1))
    mask = iota == xp.expand_dims(safe, ax)
    if reduction == "none":
        gk = T.expand_dims(g * scale, ax)
    else:
        gk = g * xp.expand_dims(scale, ax)
    return (T.where(mask, gk, 0), None)


def _np_mse_loss(a, b, reduction="mean"):
    sq = (a - b) ** 2
    return sq if reduction == "none" else sq.sum() if reduction == "sum" else sq.mean()


def _mse_cases(rng):
    cases = []
    for red in ("mean", "sum", "none"):
        for sa, sb in (((3,), (3,)), ((2, 3), (2, 3)), ((2, 1), (1, 3)), ((), ())):
            cases.append(Case((draw(rng, sa), draw(rng, sb)), dict(reduction=red), ref=_np_mse_loss))
    return cases


@defop(broadcast=True, public=None, samples=_mse_cases)
def mse_loss(xp, data, target, reduction="mean"):
    """PyTorch's ``mse_loss``: ``(data - target) ** 2``, summed, averaged or kept (``reduction``)."""
    d = data - target
    sq = d * d
    if reduction == "none":
        return sq
    return xp.sum(sq) if reduction == "sum" else xp.mean(sq)


@mse_loss.vjp
def _(g, data, target, shapes, reduction):
    d = data - target
    if reduction == "mean":
        n = 1
        for s in numpy.broadcast_shapes(*shapes):
            n *= s
        gd = g * d * (2.0 / n if n else 0.0)
    else:
        gd = g * d * 2.0
    return (gd, -gd)

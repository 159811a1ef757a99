"""``tapegrad.scipy.integrate.odeint``: SciPy's values, the adjoint-method gradient against central
differences of the whole odeint call (in y0, the times and the arguments), closed forms, forward mode,
second order, HIPS autograd's ``autograd.scipy.integrate.odeint``, and a parameter fit. The op's
declared samples also run in the registry sweeps (tests/test_ops.py to order 2)."""
from __future__ import annotations

import numpy
import pytest

scipy_integrate = pytest.importorskip("scipy.integrate")

import tapegrad  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from tapegrad.scipy import integrate as tint  # noqa: E402

TIGHT = dict(rtol=1e-11, atol=1e-11)
RNG = numpy.random.default_rng(7)


def decay(y, t, k):
    return -k * y


def lotka_volterra(y, t, p):
    """Predator and prey: written with tapegrad.numpy, returning a list (SciPy takes one)."""
    a, b, c, d = p[0], p[1], p[2], p[3]
    return [a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]]


def forced(y, t, m, u):
    return tnp.dot(m, y) + u * tnp.sin(t)


def _fd(f, x, eps=1e-4):
    """Central differences of the scalar f at x (an array or a number), element by element."""
    x = numpy.array(x, dtype=float)
    g = numpy.zeros_like(x)
    for i in numpy.ndindex(x.shape):
        e = numpy.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def test_values_are_scipys_plain_and_traced():
    y0, t = numpy.array([1.0, 0.5]), numpy.linspace(0, 2, 5)
    p = numpy.array([1.1, 0.4, 0.3, 0.9])
    want = scipy_integrate.odeint(lotka_volterra, y0, t, args=(p,))
    plain = tint.odeint(lotka_volterra, y0, t, args=(p,))
    assert type(plain) is numpy.ndarray and numpy.array_equal(plain, want)
    seen = []

    def loss(q):
        ys = tint.odeint(lotka_volterra, y0, t, args=(q,))
        seen.append(numpy.asarray(ys))
        return tnp.sum(ys)
    tapegrad.grad(loss)(p)
    numpy.testing.assert_array_equal(seen[0], want)
    # SciPy's other arguments on plain values (full_output returns SciPy's info dict too)
    ys, info = tint.odeint(lotka_volterra, y0, t, args=(p,), full_output=True)
    assert numpy.array_equal(ys, want) and "nfe" in info


def test_the_adjoint_gradient_matches_finite_differences_of_the_whole_call():
    y0, t = numpy.array([0.3, -0.8]), numpy.array([0.0, 0.3, 0.7, 1.2])
    m = numpy.array([[-0.5, 1.0], [-1.0, -0.2]])
    u = numpy.array([0.4, -0.1])
    w = RNG.standard_normal((4, 2))

    def loss(y0, t, m, u, lib=tnp):
        return lib.sum(w * tint.odeint(forced, y0, t, args=(m, u), **TIGHT) ** 2)
    grads = tapegrad.grad(loss, (0, 1, 2, 3))(y0, t, m, u)
    plain = [y0, t, m, u]
    for i, g in enumerate(grads):
        def f(x, i=i):
            args = list(plain)
            args[i] = x
            return loss(*args, lib=numpy)
        assert g.shape == numpy.shape(plain[i])
        numpy.testing.assert_allclose(g, _fd(f, plain[i]), rtol=1e-6, atol=1e-8, err_msg=f"argument {i}")


def test_closed_forms_of_exponential_decay():
    """y = y0 exp(-k (t - t0)): every gradient and the second derivative in k, exactly."""
    y0, t, k = numpy.array([1.0, 2.0]), numpy.array([0.2, 0.5, 1.5]), 0.7

    def loss(y0, t, k):
        return tnp.sum(tint.odeint(decay, y0, t, args=(k,), **TIGHT) ** 2)
    e = numpy.exp(-2 * k * (t - t[0]))[:, None] * (y0 ** 2)[None]  # y^2
    gy0, gt, gk = tapegrad.grad(loss, (0, 1, 2))(y0, t, k)
    numpy.testing.assert_allclose(gk, numpy.sum(-2 * (t - t[0])[:, None] * e), rtol=1e-9)
    numpy.testing.assert_allclose(gy0, 2 * numpy.sum(e, axis=0) / y0, rtol=1e-9)
    times = -2 * k * e.sum(axis=1)
    times[0] = -times[1:].sum()  # a later start shifts every later value back
    numpy.testing.assert_allclose(gt, times, rtol=1e-9, atol=1e-12)
    hk = tapegrad.grad(tapegrad.grad(loss, 2), 2)(y0, t, k)
    numpy.testing.assert_allclose(hk, numpy.sum(4 * ((t - t[0]) ** 2)[:, None] * e), rtol=1e-8)


def test_forward_mode_matches_reverse_mode():
    y0, t = numpy.array([1.0, 0.5]), numpy.linspace(0, 1.5, 4)
    p = numpy.array([1.1, 0.4, 0.3, 0.9])
    dy0, dt, dp = RNG.standard_normal(2), RNG.standard_normal(4) * 0.1, RNG.standard_normal(4)
    w = RNG.standard_normal((4, 2))

    def sol(y0, t, p):
        return tint.odeint(lotka_volterra, y0, t, args=(p,), **TIGHT)
    _, jt = tapegrad.jvp(sol, (y0, t, p), (dy0, dt, dp))
    gs = tapegrad.grad(lambda *a: tnp.sum(w * sol(*a)), (0, 1, 2))(y0, t, p)
    numpy.testing.assert_allclose(numpy.sum(w * jt), sum(numpy.sum(g * d) for g, d in zip(gs, (dy0, dt, dp))),
                                  rtol=1e-7)


def test_second_order_in_the_arguments_matches_finite_differences_of_the_gradient():
    y0, t = numpy.array([1.0, 0.5]), numpy.array([0.0, 0.6, 1.0])
    p = numpy.array([1.1, 0.4, 0.3, 0.9])

    def loss(p):
        return tnp.sum(tint.odeint(lotka_volterra, y0, t, args=(p,), **TIGHT) ** 2)
    h = tapegrad.hessian(loss)(p)
    g = tapegrad.grad(loss)
    fd = numpy.stack([(g(p + e) - g(p - e)) / 2e-5 for e in numpy.eye(4) * 1e-5])
    numpy.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-6)


def test_gradients_match_hips_autograd():
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    from autograd.builtins import tuple as atuple
    from autograd.scipy.integrate import odeint as hips_odeint

    def lv(y, t, p):
        return anp.array([p[0] * y[0] - p[1] * y[0] * y[1], p[2] * y[0] * y[1] - p[3] * y[1]])
    y0, t = numpy.array([1.0, 0.5]), numpy.linspace(0, 2, 6)
    p = numpy.array([1.1, 0.4, 0.3, 0.9])
    w = RNG.standard_normal((6, 2))
    ours = tapegrad.grad(lambda *a: tnp.sum(w * tint.odeint(lotka_volterra, a[0], a[1], args=(a[2],), **TIGHT)),
                         (0, 1, 2))(y0, t, p)
    hips = autograd.grad(lambda *a: anp.sum(w * hips_odeint(lv, a[0], a[1], atuple((a[2],)), **TIGHT)),
                         (0, 1, 2))(y0, t, p)
    for o, h in zip(ours, hips):
        numpy.testing.assert_allclose(o, h, rtol=1e-7, atol=1e-9)


def test_fitting_the_rate_of_a_decay_by_gradient_descent_recovers_it():
    k_true, y0 = 1.3, numpy.array([2.0, 1.0])
    t = numpy.linspace(0, 2, 9)
    data = y0[None] * numpy.exp(-k_true * t)[:, None]

    def loss(k):
        return tnp.mean((tint.odeint(decay, y0, t, args=(k,)) - data) ** 2)
    step = tapegrad.value_and_grad(loss)
    k = 0.4
    for _ in range(60):
        value, g = step(k)
        k = k - 2.0 * g
    assert isinstance(k, float)
    assert abs(k - k_true) < 1e-4 and value < 1e-8


def test_argument_structures_tfirst_and_a_scalar_state():
    t = numpy.array([0.0, 0.5, 1.0])

    def f(y, t, d):
        return -d["rate"] * y + d["pair"][1]
    args = ({"rate": 0.8, "pair": (1.0, 0.3)},)
    g = tapegrad.grad(lambda r: tnp.sum(tint.odeint(f, 1.5, t, args=({"rate": r, "pair": (1.0, 0.3)},), **TIGHT)))(0.8)
    fd = _fd(lambda r: numpy.sum(scipy_integrate.odeint(f, 1.5, t, args=({"rate": float(r), "pair": (1.0, 0.3)},),
                                                         **TIGHT)), 0.8)
    numpy.testing.assert_allclose(g, fd, rtol=1e-6)
    assert tint.odeint(f, 1.5, t, args=args).shape == (3, 1)
    gy0 = tapegrad.grad(lambda y0: tnp.sum(tint.odeint(f, y0, t, args=args)))(1.5)  # a 0-d y0: a 0-d gradient
    assert numpy.shape(gy0) == ()
    gk = tapegrad.grad(lambda k: tnp.sum(tint.odeint(lambda s, y, k: -k * y, numpy.ones(2), t, (k,), tfirst=True,
                                                     **TIGHT)))(0.5)
    numpy.testing.assert_allclose(gk, -2 * numpy.sum(t * numpy.exp(-0.5 * t)), rtol=1e-8)
    # t given as a list, one time only
    assert tapegrad.grad(lambda y0: tnp.sum(tint.odeint(decay, y0, [0.0], args=(1.0,))))(numpy.ones(2)).tolist() \
        == [1.0, 1.0]


def test_bad_calls_name_the_problem():
    t = numpy.array([0.0, 1.0])
    with pytest.raises(TypeError, match="read from a closure"):  # k is differentiated but not passed in args
        tapegrad.grad(lambda k: tnp.sum(tint.odeint(lambda y, t: -k * y, numpy.ones(2), t)))(0.5)
    with pytest.raises(TypeError, match="read from a closure"):
        tapegrad.grad(lambda k: tnp.sum(tint.odeint(lambda y, t: -k * y, tnp.ones(2) * k, t)))(0.5)
    with pytest.raises(ValueError, match="full_output, Dfun"):
        tapegrad.grad(lambda k: tnp.sum(tint.odeint(decay, numpy.ones(2), t, (k,), full_output=True)[0]))(0.5)
    with pytest.raises(TypeError, match="args may hold only arrays and numbers"):
        tapegrad.grad(lambda k: tnp.sum(tint.odeint(lambda y, t, k, s: -k * y, numpy.ones(2), t, (k, "x"))))(0.5)


def test_it_is_one_op_of_the_registry():
    op = REGISTRY["odeint"]
    assert tint.odeint.op is op and op.public == "scipy.integrate"
    assert op.vjp_fn is not None and op.jvp_fn is not None and op.samples is not None

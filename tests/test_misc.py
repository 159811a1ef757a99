"""``tapegrad.misc``: HIPS autograd's flatten, optimizers and fixed points, checked against HIPS itself
(the same program with ``autograd.numpy`` and with ``tapegrad.numpy``) and against finite differences."""
from __future__ import annotations

import inspect

import numpy
import pytest
from hypothesis import given, settings, strategies as st

import tapegrad
import tapegrad.numpy as tnp
from tapegrad.misc import fixed_points, flatten, flatten_func, optimizers
from tapegrad.misc.fixed_points import fixed_point
from tapegrad.numpy import ArrayBox

autograd = pytest.importorskip("autograd")
import autograd.numpy as anp  # noqa: E402
from autograd.misc import flatten as hips_flatten  # noqa: E402
from autograd.misc import optimizers as hips_optimizers  # noqa: E402
from autograd.misc.fixed_points import fixed_point as hips_fixed_point  # noqa: E402
from autograd.misc.flatten import flatten_func as hips_flatten_func  # noqa: E402

TOL = dict(rtol=1e-12, atol=1e-12)


def same(got, want, tol=TOL):
    """Same containers (types, dict key order), same leaves (NumPy values of one dtype and shape,
    equal to ``tol``; a NumPy scalar stands for a 0-d array)."""
    if isinstance(want, (tuple, list, dict)):
        assert type(got) is type(want) and len(got) == len(want)
        if isinstance(want, dict):
            assert list(got) == list(want)
            for k in want:
                same(got[k], want[k], tol)
        else:
            for g, w in zip(got, want):
                same(g, w, tol)
        return
    assert isinstance(got, (numpy.ndarray, numpy.generic, float)) and not isinstance(got, ArrayBox), type(got)
    g, w = numpy.asarray(got), numpy.asarray(want)
    assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
    numpy.testing.assert_allclose(g, w, **tol)


# -- flatten -------------------------------------------------------------------------------------
def _leaf(draw_shape, dtype, seed):
    rng = numpy.random.default_rng(seed)
    if draw_shape is None:
        return float(rng.standard_normal())
    return rng.standard_normal(draw_shape).astype(dtype)


leaves = st.builds(_leaf, st.one_of(st.none(), st.lists(st.integers(0, 3), max_size=3).map(tuple)),
                   st.sampled_from(["float64", "float32"]), st.integers(0, 2**31))
trees = st.recursive(leaves, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.lists(kids, max_size=3).map(tuple),
    st.dictionaries(st.text("abcxyz", min_size=1, max_size=2), kids, max_size=3)), max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(value=trees)
def test_flatten_matches_hips_and_round_trips(value):
    vec, unflatten = flatten(value)
    hvec, hunflatten = hips_flatten(value)
    same(vec, hvec)
    v2 = numpy.linspace(-1, 1, vec.size).astype(vec.dtype)
    same(unflatten(v2), hunflatten(v2))
    back = unflatten(vec)  # the round trip: the same values in the same containers
    same(flatten(back)[0], vec)


def test_flatten_examples_and_errors():
    value = {"b": 1.0, "a": (numpy.ones(2), [3.0, numpy.zeros((1, 2))])}
    vec, unflatten = flatten(value)
    assert vec.tolist() == [1.0, 1.0, 3.0, 0.0, 0.0, 1.0]  # keys in sorted order
    back = unflatten(vec * 2)
    assert list(back) == ["b", "a"] and back["a"][1][1].shape == (1, 2) and back["b"].shape == ()
    assert flatten([])[0].dtype == numpy.float64 and flatten([])[1](numpy.zeros(0)) == []
    with pytest.raises(ValueError, match="length 6"):
        unflatten(numpy.ones(5))


def test_flatten_and_unflatten_are_differentiable():
    p = {"w": numpy.arange(6.0).reshape(2, 3), "b": (0.5, numpy.array([1.0, -1.0]))}

    def loss(np, flat):
        def f(p):
            vec, _ = flat(p)
            return np.sum(np.sin(vec) * vec)
        return f
    same(tapegrad.grad(loss(tnp, flatten))(p), autograd.grad(loss(anp, hips_flatten))(p))
    vec, unflatten = flatten(p)

    def through_unflatten(np):
        def f(v):
            q = unflatten(v)
            return np.sum(q["w"] ** 2) * q["b"][0] + np.sum(np.exp(q["b"][1]))
        return f
    _, hunflatten = hips_flatten(p)
    want = autograd.grad(lambda v: anp.sum(hunflatten(v)["w"] ** 2) * hunflatten(v)["b"][0]
                         + anp.sum(anp.exp(hunflatten(v)["b"][1])))(vec)
    same(tapegrad.grad(through_unflatten(tnp))(vec), want)


def test_flatten_func_matches_hips():
    example = {"x": numpy.ones(3), "y": (2.0, numpy.arange(2.0))}

    def func(np):
        return lambda p, k: {"s": np.sin(p["x"]) * k, "t": [p["y"][0] * p["y"][1]]}
    f, unflatten, ex = flatten_func(func(tnp), example)
    hf, hunflatten, hex_ = hips_flatten_func(func(anp), example)
    same(ex, hex_)
    same(f(ex * 0.5, 3.0), hf(hex_ * 0.5, 3.0))
    same(unflatten(ex), hunflatten(hex_))
    same(tapegrad.jacobian(f)(ex, 3.0), autograd.jacobian(hf)(hex_, 3.0))


# -- optimizers ----------------------------------------------------------------------------------
def _problem(lib, np):
    """A small regression with a dict of parameters; returns (gradient, starting point, objective)."""
    rng = numpy.random.default_rng(7)
    X = rng.standard_normal((20, 3))
    y = numpy.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - X[:, 2]

    def objective(p, i):
        batch = slice((i % 4) * 5, (i % 4) * 5 + 5)  # a stochastic objective: the iteration picks the batch
        h = np.tanh(np.dot(X[batch], p["W"]) + p["b"])
        pred = np.dot(h, p["v"][0]) + p["v"][1]
        return np.mean((pred - y[batch]) ** 2) + 1e-3 * np.sum(p["W"] ** 2)
    p0 = {"W": rng.standard_normal((3, 4)) * 0.5, "b": numpy.zeros(4), "v": (rng.standard_normal(4) * 0.5, 0.1)}
    return lib.grad(objective), p0, objective


def _full_loss(objective, p):
    return sum(objective(p, i) for i in range(4)) / 4


@pytest.mark.parametrize("name, kwargs", [("adam", dict(step_size=0.05)), ("sgd", dict(step_size=0.1, mass=0.8)),
                                          ("rmsprop", dict(step_size=0.02, gamma=0.95))])
def test_optimizers_follow_hips_trajectories(name, kwargs):
    runs = []
    for lib, np, opt in ((tapegrad, tnp, getattr(optimizers, name)), (autograd, anp, getattr(hips_optimizers, name))):
        grad, p0, objective = _problem(lib, np)
        seen = []
        result = opt(grad, p0, lambda x, i, g: seen.append((i, x, g, objective(x, i))), num_iters=50, **kwargs)
        runs.append((result, seen))
    (result, seen), (want, hips_seen) = runs
    assert [s[0] for s in seen] == list(range(50))
    for (i, x, g, loss), (_, hx, hg, hloss) in zip(seen, hips_seen):
        same(x, hx)  # the point and the gradient the callback sees, in the parameters' structure
        same(g, hg)
        numpy.testing.assert_allclose(loss, hloss, **TOL)
    same(result, want)
    _, _, objective = _problem(tapegrad, tnp)
    assert _full_loss(objective, result) < 0.7 * _full_loss(objective, seen[0][1])  # (and it optimises)


def test_optimizer_defaults_and_no_callback():
    for name, iters in (("adam", 100), ("sgd", 200), ("rmsprop", 100)):
        ours, hips = getattr(optimizers, name), getattr(hips_optimizers, name)
        assert ours.__name__ == name and ours.__doc__
        count = []
        grad = lambda x, i: 2 * (x - 3.0)  # noqa: E731
        ours(grad, numpy.zeros(2), lambda x, i, g: count.append(i))
        assert len(count) == iters
        same(ours(grad, numpy.zeros(2)), hips(grad, numpy.zeros(2)))
        sig = inspect.signature(inspect.unwrap(ours))
        assert list(sig.parameters)[:3] == ["grad", "x", "callback"]


# -- fixed points --------------------------------------------------------------------------------
def newton_sqrt(fp, np):
    """HIPS's example: sqrt(a) as the fixed point of Newton's iteration."""
    def newton_sqrt_iter(a):
        return lambda x: 0.5 * (x + a / x)

    def distance(x, y):
        return np.abs(x - y)

    return lambda a: fp(newton_sqrt_iter, a, 10.0, distance, 1e-4)


def test_fixed_point_newton_sqrt_matches_hips_and_calculus():
    sqrt, hsqrt = newton_sqrt(fixed_point, tnp), newton_sqrt(hips_fixed_point, anp)
    assert sqrt(2.0) == hsqrt(2.0) and type(sqrt(2.0)) is type(hsqrt(2.0))
    g, hg = tapegrad.grad(sqrt)(2.0), autograd.grad(hsqrt)(2.0)
    numpy.testing.assert_allclose(g, hg, **TOL)
    numpy.testing.assert_allclose(g, 0.5 / numpy.sqrt(2.0), rtol=1e-8)
    eps = 1e-5
    numpy.testing.assert_allclose(g, (sqrt(2.0 + eps) - sqrt(2.0 - eps)) / (2 * eps), rtol=1e-6)
    gg, hgg = tapegrad.grad(tapegrad.grad(sqrt))(2.0), autograd.grad(autograd.grad(hsqrt))(2.0)
    numpy.testing.assert_allclose(gg, hgg, **TOL)
    numpy.testing.assert_allclose(gg, -0.25 * 2.0 ** -1.5, rtol=1e-6)


def test_fixed_point_second_derivative_through_a_slow_iteration():
    """HIPS's examples/fixed_points.py: sqrt by gradient descent, whose adjoint iteration (unlike
    Newton's) does not converge in one step, so the second derivative differentiates the pullback
    ``vjp_x(g)`` in its traced cotangent."""
    def program(fp, np):
        step = lambda a: (lambda x: x - 0.05 * (x ** 2 - a))
        return lambda a: fp(step, a, 10.0, lambda x, y: np.abs(x - y), 1e-12)
    sqrt, hsqrt = program(fixed_point, tnp), program(hips_fixed_point, anp)
    g, hg = tapegrad.grad(sqrt)(2.0), autograd.grad(hsqrt)(2.0)
    numpy.testing.assert_allclose(g, hg, rtol=1e-12)
    numpy.testing.assert_allclose(g, 0.5 / numpy.sqrt(2.0), rtol=1e-9)
    gg, hgg = tapegrad.grad(tapegrad.grad(sqrt))(2.0), autograd.grad(autograd.grad(hsqrt))(2.0)
    numpy.testing.assert_allclose(gg, hgg, rtol=1e-10)
    numpy.testing.assert_allclose(gg, -0.25 * 2.0 ** -1.5, rtol=1e-8)


def test_fixed_point_of_a_vector_with_tuple_parameters():
    """x = A tanh(x) + b, a contraction: the implicit gradient against finite differences and HIPS."""
    rng = numpy.random.default_rng(3)
    A0 = rng.standard_normal((3, 3)) * 0.2
    b0 = rng.standard_normal(3)

    def program(fp, np):
        def step(params):
            A, b = params
            return lambda x: np.dot(A, np.tanh(x)) + b

        def loss(A, b):
            x = fp(step, (A, b), np.zeros(3), lambda x, y: np.max(np.abs(x - y)), 1e-13)
            return np.sum(x ** 2 * np.arange(1.0, 4.0))
        return loss
    loss, hloss = program(fixed_point, tnp), program(hips_fixed_point, anp)
    ours = tapegrad.grad(loss, (0, 1))(A0, b0)
    want = autograd.grad(hloss, (0, 1))(A0, b0)
    # both solve the adjoint equation iteratively to 1e-13: they agree to that, not to the last bit
    same(ours, tuple(want), dict(rtol=1e-10, atol=1e-11))
    eps = 1e-6
    fd = numpy.array([(loss(A0, b0 + eps * e) - loss(A0, b0 - eps * e)) / (2 * eps) for e in numpy.eye(3)])
    numpy.testing.assert_allclose(ours[1], fd, rtol=1e-6, atol=1e-8)
    E = numpy.zeros((3, 3))
    E[1, 2] = 1.0
    numpy.testing.assert_allclose(ours[0][1, 2], (loss(A0 + eps * E, b0) - loss(A0 - eps * E, b0)) / (2 * eps),
                                  rtol=1e-6, atol=1e-8)
    assert fixed_points.fixed_point is fixed_point

"""The NumPy door, ``import tapegrad.numpy as np``: NumPy's own semantics outside a differentiated
function, the same semantics on traced values inside one, and HIPS autograd's habits (value
semantics, NumPy results from the functional API, NumPy's random stream)."""
from __future__ import annotations

import numpy
import pytest

import tapegrad
import tapegrad.numpy as np
from tapegrad import grad, value_and_grad
from tapegrad.numpy import ArrayBox
from tapegrad.ops.registry import REGISTRY
from tapegrad.ops.samples import registry_cases

DOOR_OPS = {n: f for n, f in vars(np).items() if callable(f) and getattr(f, "op", None) is not None}


def test_the_door_exposes_every_numpy_named_op():
    named = {n for n, op in REGISTRY.items() if op.public == "np" and op.diff and callable(getattr(numpy, n, None))}
    assert named <= set(DOOR_OPS), sorted(named - set(DOOR_OPS))
    assert len(DOOR_OPS) > 120


def _box(a):
    return ArrayBox._make(a) if isinstance(a, numpy.ndarray) else a


def _equal_results(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _equal_results(g, w)
        return
    g = numpy.asarray(got)
    w = numpy.asarray(want)
    assert g.dtype == w.dtype, (g.dtype, w.dtype)
    assert g.shape == w.shape
    numpy.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)


DOOR_CASES = [pytest.param(op.name, case, dt, id=f"{i}-{dt}") for op, case, i in registry_cases(REGISTRY)
              if op.name in DOOR_OPS and case.ref is None for dt in ("float64", "float32")]


@pytest.mark.parametrize("name,case,dt", DOOR_CASES)
def test_traced_values_follow_numpys_result_types(name, case, dt):
    """An op on ArrayBox values gives NumPy's own value, dtype and shape, in float64 and float32 (the
    MXNet dialect would give float32, the PyTorch dialect its own promotion)."""
    args = tuple(a.astype(dt) if isinstance(a, numpy.ndarray) and a.dtype.kind == "f" else a for a in case.args)
    try:
        want = getattr(numpy, name)(*args, **case.params)
    except Exception as e:  # NumPy refuses: the door must refuse too
        with pytest.raises(type(e)):
            DOOR_OPS[name](*map(_box, args), **case.params)
        return
    _equal_results(DOOR_OPS[name](*map(_box, args), **case.params), want)


def test_plain_values_get_numpys_own_results():
    assert type(np.prod((28, 28))) is numpy.int64 and np.prod((28, 28)) == 784
    assert np.array([True, False]).dtype == bool
    assert np.arange(3).dtype == numpy.arange(3).dtype
    assert np.array([1.0, 2.0]).dtype == numpy.float64
    assert type(np.sum(np.ones(3))) is numpy.float64
    assert type(np.ones(3)) is numpy.ndarray
    assert np.isclose(1.0, 1.0001, rtol=1e-3)
    assert list(range(np.int64(3))) == [0, 1, 2]
    assert np.linalg.norm([3.0, 4.0]) == 5.0
    assert np.ndarray is numpy.ndarray and np.float32 is numpy.float32 and np.pi == numpy.pi


def test_random_is_numpys_own_stream():
    np.random.seed(3)
    a = np.random.randn(4)
    numpy.random.seed(3)
    numpy.testing.assert_array_equal(a, numpy.random.randn(4))
    import tapegrad.numpy.random as npr
    assert npr.RandomState(1).rand() == numpy.random.RandomState(1).rand()
    assert npr.default_rng(2).normal() == numpy.random.default_rng(2).normal()
    assert npr.gamma is numpy.random.gamma


def test_the_functional_api_returns_numpy_values_for_numpy_inputs():
    g = grad(lambda x: np.sum(np.sin(x) ** 2))(numpy.array([1.0, 2.0]))
    assert type(g) is numpy.ndarray
    numpy.testing.assert_allclose(g, numpy.sin(2 * numpy.array([1.0, 2.0])))
    v, g = value_and_grad(lambda x: x ** 2)(3.0)
    assert type(v) is numpy.float64 and type(g) is numpy.float64 and (v, g) == (9.0, 6.0)
    J = tapegrad.jacobian(lambda x: x ** 2)(numpy.array([1.0, 2.0]))
    assert type(J) is numpy.ndarray
    numpy.testing.assert_array_equal(J, numpy.diag([2.0, 4.0]))
    assert grad(lambda x: np.sum(x ** 2))(numpy.array([1.0, 2.0], dtype=numpy.float32)).dtype == numpy.float32
    _, t = tapegrad.jvp(lambda x: np.exp(x), (numpy.array([0.0, 1.0]),), (numpy.ones(2),))
    assert type(t) is numpy.ndarray
    # inside another transform the results stay traced (a closure over the outer variable)
    got = grad(lambda y: grad(lambda x: x * x * y)(1.5))(2.0)
    assert got == pytest.approx(3.0)


def test_augmented_assignment_rebinds_under_a_trace():
    def f(x):
        acc = 0.0
        for i in range(3):
            acc += x * i
        h = x
        h *= 2.0  # rebinds h; x keeps its value
        return np.sum(acc) + np.sum(h * x)
    x = numpy.array([1.0, 2.0])
    numpy.testing.assert_allclose(grad(f)(x), 3.0 + 4 * x)


def test_writes_that_would_lose_a_gradient_are_refused():
    def into_numpy(x):
        acc = numpy.zeros(2)
        acc += x
        return np.sum(acc)
    with pytest.raises(TypeError, match="acc = acc \\+ x"):
        grad(into_numpy)(numpy.array([1.0, 2.0]))

    def setitem(x):
        x[0] = 1.0
        return np.sum(x)
    with pytest.raises(TypeError, match="np.where"):
        grad(setitem)(numpy.array([1.0, 2.0]))

    with pytest.raises(TypeError, match="not differentiable in tapegrad"):
        grad(lambda x: np.median(x))(numpy.array([1.0, 2.0, 3.0]))


def test_non_differentiable_functions_take_traced_values():
    def f(x):
        i = np.argmax(x)
        assert np.shape(x) == (3,) and np.ndim(x) == 1
        z = np.zeros_like(x)
        return x[i] * 2.0 + np.sum(z) + np.sum(np.where(np.isclose(x, 2.0, rtol=1e-3), x, 0.0))
    numpy.testing.assert_allclose(grad(f)(numpy.array([1.0, 2.0, 3.0])), [0.0, 1.0, 2.0])


def test_array_of_traced_values_and_methods():
    def f(x):
        m = np.array([[x[0], 2.0 * x[1]], [x[1], 1.0]])
        return (m.reshape(4).sum() + m.T.dot(m).trace() + m.mean(axis=0).max()).astype(numpy.float64)
    x = numpy.array([0.5, -1.5])
    eps = 1e-6
    num = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in numpy.eye(2)]
    numpy.testing.assert_allclose(grad(f)(x), num, rtol=1e-6)


def test_scipy_lbfgsb_takes_the_gradient():
    optimize = pytest.importorskip("scipy.optimize")

    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    res = optimize.minimize(value_and_grad(rosen), numpy.zeros(4), jac=True, method="L-BFGS-B")
    assert res.success
    numpy.testing.assert_allclose(res.x, numpy.ones(4), atol=1e-4)


def test_mixing_with_a_dialects_arrays_takes_the_dialects_class():
    from tapegrad import np as mxnp

    def f(x):
        y = x * mxnp.ones(2, dtype="float64")  # an MXNet array inside a NumPy-door function
        assert isinstance(y, tapegrad.ndarray)
        return np.sum(y * y)
    numpy.testing.assert_allclose(grad(f)(numpy.array([1.0, 2.0])), [2.0, 4.0])


def test_matches_hips_on_a_small_network():
    anp = pytest.importorskip("autograd.numpy")
    import autograd

    def net(npm):
        def loss(params, x, y):
            W, b = params
            h = npm.tanh(npm.dot(x, W) + b)
            return npm.mean((h - y) ** 2) + 0.01 * npm.sum(W ** 2)
        return loss
    rng = numpy.random.default_rng(0)
    params = (rng.standard_normal((3, 2)), rng.standard_normal(2))
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    ours = grad(net(np))(params, x, y)
    theirs = autograd.grad(net(anp))(params, x, y)
    for a, b in zip(ours, theirs):
        assert type(a) is type(b)
        numpy.testing.assert_allclose(a, b, rtol=1e-12)


def test_full_is_differentiable_in_its_fill_value():
    f = lambda x: np.sum(np.full((2, 3), x) * np.full_like(numpy.ones(3), x ** 2))
    assert grad(f)(1.5) == pytest.approx(6 * 3 * 1.5 ** 2)
    assert np.full(2, 3).dtype == numpy.full(2, 3).dtype and np.full_like(numpy.ones(2), 7).dtype == float


def test_a_pullback_of_plain_values_is_differentiable_in_a_traced_cotangent():
    # make_vjp on plain values gives NumPy results, but a pullback is linear in its cotangent: called
    # with a traced one (fixed_point's adjoint iteration does), its result must carry the derivative
    vjp_x, _ = tapegrad.make_vjp(lambda x: x - 0.05 * (x ** 2 - 2.0))(numpy.sqrt(2.0))
    assert type(vjp_x(1.0)) is numpy.float64
    assert grad(lambda g: vjp_x(g) + 1.0)(0.5) == pytest.approx(1 - 0.1 * numpy.sqrt(2.0), rel=1e-14)
    vjp_v, _ = tapegrad.make_vjp(lambda x: np.sin(x))(numpy.array([1.0, 2.0]))
    got = grad(lambda g: np.sum(vjp_v(g) ** 2))(numpy.array([1.0, -1.0]))
    numpy.testing.assert_allclose(got, 2 * numpy.cos([1.0, 2.0]) ** 2 * [1.0, -1.0], rtol=1e-14)
    assert type(got) is numpy.ndarray
    numpy.testing.assert_allclose(tapegrad.jacobian(vjp_v)(numpy.array([1.0, -1.0])), numpy.diag(numpy.cos([1.0, 2.0])),
                                  rtol=1e-14)
    _, t = tapegrad.jvp(vjp_v, (numpy.array([1.0, -1.0]),), (numpy.array([0.0, 1.0]),))
    numpy.testing.assert_allclose(t, [0.0, numpy.cos(2.0)], rtol=1e-14)


def test_hips_spellings_run_unchanged():
    """HIPS's names that programs import: builtins, hessian_vector_product, curried check_grads."""
    from tapegrad.builtins import dict as tdict, isinstance as tisinstance, tuple as ttuple, type as ttype
    from tapegrad.testing import check_grads

    seen = []

    def f(params):
        seen.append((tisinstance(params[0], np.ndarray), ttype(params[0]), tisinstance(params[0], float)))
        return np.sum(params[0] ** 2 * params[1]["a"])
    g = grad(f)(ttuple([numpy.array([1.0, 2.0]), tdict(a=3.0)]))
    numpy.testing.assert_allclose(g[0], [6.0, 12.0])
    assert g[1]["a"] == pytest.approx(5.0)
    assert seen[-1] == (True, numpy.ndarray, False)
    hv = tapegrad.hessian_vector_product(lambda x: np.sum(x ** 3))(numpy.array([1.0, 2.0]), numpy.ones(2))
    numpy.testing.assert_allclose(hv, [6.0, 12.0])
    check_grads(lambda x: np.sum(np.sin(x) * x), modes=["fwd", "rev"], order=2)(numpy.array([0.3, -0.7]))
    check_grads(lambda x, y: np.sum(x * y), 1)(numpy.array([0.3]), numpy.array([2.0]))
    with pytest.raises(Exception, match="disagrees"):
        bad = tapegrad.custom_vjp(lambda x: np.sin(x))
        bad.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g * 2.0,))
        check_grads(lambda x: np.sum(bad(x)), modes=["rev"], order=1)(numpy.array([0.3]))

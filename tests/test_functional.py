"""The functional API: values, shapes and nesting of every transform (as in JAX and HIPS autograd)."""
from __future__ import annotations

import numpy
import pytest

import tapegrad as tg
from tapegrad import np
from tapegrad.testing import GradCheckError, check_grads

X = numpy.array([0.5, -1.0, 2.0])


def f(x):
    return np.sum(np.sin(x) * x ** 2)


def df(x):
    return numpy.cos(x) * x ** 2 + 2 * x * numpy.sin(x)


def d2f(x):
    return -numpy.sin(x) * x ** 2 + 4 * x * numpy.cos(x) + 2 * numpy.sin(x)


def test_grad_and_value_and_grad():
    numpy.testing.assert_allclose(tg.grad(f)(X), df(X))
    v, g = tg.value_and_grad(f)(X)
    numpy.testing.assert_allclose(v, numpy.sum(numpy.sin(X) * X ** 2))
    numpy.testing.assert_allclose(g, df(X))


@pytest.mark.parametrize("arg", [1.5, numpy.array([0.5, 1.0]), "tapegrad"])
def test_grad_accepts_floats_numpy_and_tapegrad_arrays(arg):
    if isinstance(arg, str):
        arg = np.array([0.5, 1.0], dtype="float64")
    g = tg.grad(lambda x: np.sum(x * x))(arg)
    numpy.testing.assert_allclose(g, 2 * numpy.asarray(arg, dtype=float))


def test_a_list_argument_is_a_container_and_gets_a_list_back():
    """As in HIPS autograd: a list is a container of leaves, not an array (tests/test_containers.py)."""
    g = tg.grad(lambda xs: xs[0] * xs[1] ** 2)([0.5, 2.0])
    assert isinstance(g, list) and len(g) == 2
    numpy.testing.assert_allclose(g, [4.0, 2.0])


def test_argnum_tuple_tuple_arguments_and_kwargs():
    h = lambda x, y, scale=1.0: np.sum(x * y ** 2) * scale
    gx, gy = tg.grad(h, (0, 1))(X, X + 1, scale=2.0)
    numpy.testing.assert_allclose(gx, 2 * (X + 1) ** 2)
    numpy.testing.assert_allclose(gy, 4 * X * (X + 1))
    g = tg.grad(lambda t: np.sum(t[0] * t[1]))((X, X + 1))
    assert isinstance(g, tuple)
    numpy.testing.assert_allclose(g[0], X + 1)
    numpy.testing.assert_allclose(g[1], X)


def test_higher_derivatives_nest():
    sin = lambda x: np.sin(x)
    assert numpy.isclose(float(tg.grad(tg.grad(sin))(0.7)), -numpy.sin(0.7))
    assert numpy.isclose(float(tg.grad(tg.grad(tg.grad(sin)))(0.7)), -numpy.cos(0.7))
    numpy.testing.assert_allclose(tg.elementwise_grad(tg.elementwise_grad(lambda x: np.sin(x) * x ** 2))(X), d2f(X))


def test_grad_inside_a_differentiated_function_closing_over_the_outer_value():
    def outer(x):
        return np.sum(tg.grad(lambda y: np.sum(x * y * y))(x))  # d/dy = 2xy at y = x -> 2x^2
    numpy.testing.assert_allclose(tg.grad(outer)(X), 4 * X)


def test_grad_refuses_non_scalar_complex_and_bool_outputs():
    with pytest.raises(TypeError, match="elementwise_grad.*jacobian"):
        tg.grad(lambda x: x * 2)(X)
    with pytest.raises(TypeError, match="jacobian"):
        tg.grad(lambda x: np.sum(x) > 0)(X)


def test_vjp_and_make_vjp():
    out, vjp_fn = tg.vjp(lambda x, y: x * y, X, X + 1)
    gx, gy = vjp_fn(numpy.ones(3))
    numpy.testing.assert_allclose(gx, X + 1)
    numpy.testing.assert_allclose(gy, X)
    vjp_fn, value = tg.make_vjp(lambda x: np.sin(x))(X)
    numpy.testing.assert_allclose(vjp_fn(numpy.array([1.0, 2.0, 3.0])), numpy.cos(X) * [1, 2, 3])


def test_vjp_fn_is_differentiable_in_primal_and_cotangent():
    def through_vjp(x, g):
        vjp_fn, _ = tg.make_vjp(lambda z: np.sin(z) * z)(x)
        return np.sum(vjp_fn(g) * x)
    x, g = X, numpy.array([0.3, -0.2, 0.5])
    check_grads(through_vjp, [x, g], order=1)
    numpy.testing.assert_allclose(tg.grad(through_vjp, 1)(x, g), (numpy.cos(x) * x + numpy.sin(x)) * x)


def test_jvp_and_make_jvp():
    y, t = tg.jvp(lambda x: np.sin(x) * x, (X,), (numpy.ones(3),))
    numpy.testing.assert_allclose(t, numpy.cos(X) * X + numpy.sin(X))
    y, t = tg.make_jvp(lambda x, k: np.exp(k * x))(X, 2.0)(numpy.ones(3))
    numpy.testing.assert_allclose(t, 2 * numpy.exp(2 * X))
    _, t2 = tg.jvp(lambda x: tg.jvp(lambda y: np.sin(y), (x,), (numpy.ones(3),))[1], (X,), (numpy.ones(3),))
    numpy.testing.assert_allclose(t2, -numpy.sin(X))


@pytest.mark.parametrize("mode", ["fwd", "rev", None])
def test_jacobian_shape_and_values(mode):
    A = numpy.arange(6.0).reshape(2, 3)
    J = tg.jacobian(lambda x: np.tanh(np.dot(A, x)), mode=mode)(X)
    assert J.shape == (2, 3)
    numpy.testing.assert_allclose(J, (1 - numpy.tanh(A @ X) ** 2)[:, None] * A)
    M = numpy.arange(4.0).reshape(2, 2) + 1
    J2 = tg.jacobian(lambda m: m * m, mode=mode)(M)
    assert J2.shape == (2, 2, 2, 2)
    numpy.testing.assert_allclose(J2, numpy.einsum("ij,ik,jl->ijkl", 2 * M, numpy.eye(2), numpy.eye(2)))


def test_jacobian_of_jacobian_and_hessian():
    H = tg.jacobian(tg.jacobian(lambda x: x ** 3))(X)
    assert H.shape == (3, 3, 3)
    expected = numpy.zeros((3, 3, 3))
    for i in range(3):
        expected[i, i, i] = 6 * X[i]
    numpy.testing.assert_allclose(H, expected)
    numpy.testing.assert_allclose(tg.hessian(f)(X), numpy.diag(d2f(X)))


def test_hvp_matches_the_hessian():
    A = numpy.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    g = lambda x: np.sum(np.tanh(np.dot(A, x)) ** 2) + np.sum(x ** 4)
    v = numpy.array([1.0, -2.0, 0.5])
    numpy.testing.assert_allclose(tg.hvp(g)(X, v), tg.hessian(g)(X) @ v, rtol=1e-10)


def test_hvp_in_several_arguments_sums_the_hessian_blocks():
    """argnum=(0, 2): v holds one vector per chosen argument; each result is a row of blocks times v.
    Checked against the Hessian of the same function of the concatenated arguments."""
    A = numpy.array([[2.0, 1.0], [0.5, 3.0], [1.0, -1.0]])
    f = lambda x, c, y, scale=1.0: scale * (np.sum(np.tanh(np.dot(A.T, x) * y) ** 2) + np.sum(x ** 3) * np.sum(y) + c)
    x0, y0 = numpy.array([0.3, -0.2, 0.5]), numpy.array([0.7, -1.1])
    vx, vy = numpy.array([1.0, -2.0, 0.5]), numpy.array([0.25, 2.0])
    hx, hy = tg.hvp(f, argnum=(0, 2))(x0, 1.5, y0, (vx, vy), scale=2.0)
    joint = lambda z: f(z[:3], 1.5, z[3:], scale=2.0)
    H = numpy.asarray(tg.hessian(joint)(numpy.concatenate([x0, y0])))
    expected = H @ numpy.concatenate([vx, vy])
    numpy.testing.assert_allclose(hx, expected[:3], rtol=1e-10)
    numpy.testing.assert_allclose(hy, expected[3:], rtol=1e-10)
    with pytest.raises(ValueError, match="one vector per chosen argument"):
        tg.hvp(f, argnum=(0, 2))(x0, 1.5, y0, (vx,))


def test_checkpoint_gives_the_same_gradient_and_saves_nothing_inside():
    def block(x):
        return np.sin(np.exp(x) * x)
    g1 = tg.grad(lambda x: np.sum(block(x)))(X)
    g2 = tg.grad(lambda x: np.sum(tg.checkpoint(block)(x)))(X)
    numpy.testing.assert_allclose(g1, g2)


def test_custom_vjp_and_custom_jvp():
    @tg.custom_vjp
    def clipped_identity(x):
        return x
    clipped_identity.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1, 1),))
    numpy.testing.assert_allclose(tg.grad(lambda x: np.sum(clipped_identity(x) * 5))(X), [1, 1, 1])

    @tg.custom_jvp
    def softplus(x):
        return np.log1p(np.exp(x))

    @softplus.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1 + np.exp(-x))
    _, t = tg.jvp(softplus, (X,), (numpy.ones(3),))
    numpy.testing.assert_allclose(t, 1 / (1 + numpy.exp(-X)))


def test_check_grads_checks_both_modes_and_names_the_wrong_rule():
    check_grads(lambda x: np.sum(np.sin(x) * np.dot(x, x)), [X], order=2, modes=("fwd", "rev"))

    @tg.custom_vjp
    def bad_square(x):
        return x * x
    bad_square.defvjp(lambda x: (x * x, x), lambda x, g: (3 * g * x,))  # should be 2 g x
    with pytest.raises(GradCheckError, match="the rule of 'bad_square'"):
        check_grads(lambda x: np.sum(np.exp(x) + bad_square(x)), [X], order=1)


def test_third_derivative_by_forward_over_reverse_and_reverse_over_forward():
    d3 = -numpy.cos(0.4)
    g = tg.grad(lambda x: np.sin(x))
    _, t = tg.jvp(tg.grad(g), (numpy.array(0.4),), (numpy.array(1.0),))
    assert numpy.isclose(float(t), d3)

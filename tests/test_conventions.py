"""The convention table of README.md ("Conventions at kinks and singular points"), one test per row."""
from __future__ import annotations

import numpy
import pytest

import tapegrad as tg
from tapegrad import np, npx


def g1(f, x):
    return numpy.asarray(tg.elementwise_grad(f)(numpy.asarray(x, dtype=float)))


def test_abs_at_zero_is_zero():
    numpy.testing.assert_array_equal(g1(np.abs, [0.0, -2.0, 3.0]), [0.0, -1.0, 1.0])


@pytest.mark.parametrize("f", [npx.relu, lambda x: np.maximum(x, 0), lambda x: np.where(x > 0, x, 0)],
                         ids=["relu", "maximum(x, 0)", "where(x > 0, x, 0)"])
def test_relu_forms_agree_at_zero(f):
    numpy.testing.assert_array_equal(g1(f, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])


def test_maximum_and_minimum_ties_go_to_the_second_argument():
    x = numpy.array([1.0, 2.0])
    gx, gy = tg.grad(lambda a, b: np.sum(np.maximum(a, b)), (0, 1))(x, x.copy())
    numpy.testing.assert_array_equal(gx, [0, 0])
    numpy.testing.assert_array_equal(gy, [1, 1])
    gx, gy = tg.grad(lambda a, b: np.sum(np.minimum(a, b)), (0, 1))(x, x.copy())
    numpy.testing.assert_array_equal(gy, [1, 1])


def test_max_reduction_ties_share_evenly():
    numpy.testing.assert_allclose(tg.grad(lambda x: np.max(x))(numpy.array([3.0, 1.0, 3.0])), [0.5, 0, 0.5])


def test_sort_ties_follow_the_stable_order():
    x = numpy.array([2.0, 1.0, 2.0])
    w = numpy.array([10.0, 20.0, 30.0])
    # sorted: [1 (index 1), 2 (index 0), 2 (index 2)] -> weights land on those positions
    numpy.testing.assert_array_equal(tg.grad(lambda v: np.sum(np.sort(v) * w))(x), [20.0, 10.0, 30.0])


def test_sqrt_at_zero_is_inf_and_norm_at_zero_is_zero():
    assert numpy.isinf(g1(np.sqrt, [0.0])[0])
    numpy.testing.assert_array_equal(tg.grad(lambda x: np.linalg.norm(x))(numpy.zeros(3)), [0, 0, 0])


@pytest.mark.parametrize("bad", [numpy.nan, numpy.inf, -numpy.inf])
def test_where_ignores_nan_and_inf_in_the_branch_not_taken(bad):
    x = numpy.array([1.0, 2.0])
    junk = numpy.array([bad, bad])
    g = tg.grad(lambda v: np.sum(np.where(v > 0, v * 3, v * junk)))(x)
    numpy.testing.assert_array_equal(g, [3.0, 3.0])


@pytest.mark.parametrize("f", [lambda x: np.where(x > 0, np.sqrt(x), 0.0),
                               lambda x: np.where(x > 0, np.log(x), 0.0),
                               lambda x: np.where(x != 0, 1 / x, 0.0),
                               lambda x: np.where(x > 0, x ** 0.5, 0.0)],
                         ids=["sqrt", "log", "reciprocal", "power"])
def test_a_zero_cotangent_never_becomes_nan_through_a_singular_partial(f):
    g = g1(f, [0.0, 4.0])
    assert numpy.isfinite(g).all() and g[0] == 0.0


def test_rounding_ops_have_zero_gradient():
    for f in (np.floor, np.ceil, np.round, np.trunc, np.sign):
        numpy.testing.assert_array_equal(g1(f, [0.3, -1.7]), [0.0, 0.0])


@pytest.mark.parametrize("y", [0.0, 1.0, 2.0, 0.5, -1.0])
@pytest.mark.parametrize("x", [0.0, 2.0, -2.0])
def test_power_slope_in_x_matches_hips_and_pytorch_also_at_zero_to_the_zero(x, y):
    # x ** 0 is 1 everywhere, so its slope is 0, also at x = 0 (where y * x ** (y - 1) would be 0 * inf)
    hips = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    want = hips.grad(lambda a: anp.power(a, y))(numpy.float64(x))
    for exponent in (y, numpy.array(y)):  # a Python number, an array
        got = tg.grad(lambda a: np.power(a, exponent))(numpy.float64(x))
        numpy.testing.assert_array_equal(got, want)
    torch = pytest.importorskip("torch")
    a = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.pow(a, torch.tensor(y, dtype=torch.float64)).backward()
    numpy.testing.assert_array_equal(a.grad.item(), want)


def test_power_at_zero_to_the_zero_has_zero_slope_at_order_two_and_in_x_times_itself():
    assert tg.grad(tg.grad(lambda x: np.power(x, 0.0)))(0.0) == 0.0
    assert tg.grad(lambda x: x ** 0)(0.0) == 0.0
    numpy.testing.assert_array_equal(
        tg.grad(lambda x: np.sum(np.power(x, numpy.array([0.0, 2.0]))))(numpy.array([0.0, 3.0])), [0.0, 6.0])


def test_sign_of_a_complex_number_has_the_derivative_of_z_over_its_modulus():
    # d/dz of z/|z| along a direction t: (t - z * Re(conj(z) t) / |z|^2) / |z|; checked against central
    # differences of the real function Re(conj(c) * sign(z)) in the functional API's convention
    z0, c = 0.6 - 0.8j, 0.3 + 0.5j
    f = lambda z: np.real(np.conj(c) * np.sign(z))  # noqa: E731
    g = complex(tg.grad(f)(numpy.complex128(z0)))
    h = 1e-6
    dx = (float(f(numpy.complex128(z0 + h))) - float(f(numpy.complex128(z0 - h)))) / (2 * h)
    dy = (float(f(numpy.complex128(z0 + 1j * h))) - float(f(numpy.complex128(z0 - 1j * h)))) / (2 * h)
    assert g == pytest.approx(dx - 1j * dy, abs=1e-8)
    assert g != 0


def test_power_mixed_second_derivative_at_exponent_zero_is_one_over_x():
    # d/dy d/dx x**y = x**(y-1) (1 + y log x): 1/x at y = 0 (central differences agree)
    d2 = tg.grad(lambda y: tg.grad(lambda x: np.power(x, y))(2.0))(0.0)
    assert float(d2) == pytest.approx(0.5, rel=1e-12)

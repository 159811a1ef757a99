"""Reductions and cumulative ops beyond the generated sweep: zeros in prod/cumprod (checked against
central differences, to order 2 and 3), ties in max/min, argmax/argmin, var/std with ddof,
cumsum/cumprod with axis=None, all/any, out= and the method/namespace spellings."""
from __future__ import annotations

import numpy
import pytest

from tapegrad import autograd, np
from tapegrad.ndarray import ndarray
from tapegrad.testing import check_grads


def _arr(x):
    return ndarray._make(numpy.asarray(x, dtype=numpy.float64))


def _grad(f, x):
    x = _arr(x)
    x.attach_grad()
    with autograd.record():
        y = f(x)
    y.backward()
    return x.grad.asnumpy()


# --- prod with zeros ----------------------------------------------------------------------------

ZERO_INPUTS = {
    "one_zero": [[2.0, 0.0, 3.0, -1.5], [0.5, 1.25, -2.0, 0.75]],
    "two_zeros_same_row": [[2.0, 0.0, 3.0, 0.0], [0.5, 1.25, -2.0, 0.75]],
    "two_zeros_diff_rows": [[2.0, 0.0, 3.0, -1.5], [0.5, 1.25, 0.0, 0.75]],
    "three_zeros": [[0.0, 0.0, 3.0, 0.0], [0.5, 0.0, -2.0, 0.75]],
    "all_zero": [[0.0, 0.0], [0.0, 0.0]],
}


@pytest.mark.parametrize("name", sorted(ZERO_INPUTS))
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_prod_gradient_with_zeros_matches_finite_differences(name, axis, keepdims):
    x = _arr(ZERO_INPUTS[name])
    check_grads(lambda a: np.prod(a, axis=axis, keepdims=keepdims), [x], order=2)


@pytest.mark.parametrize("name", sorted(ZERO_INPUTS))
def test_prod_third_order_with_zeros(name):
    check_grads(lambda a: np.prod(a, axis=1), [_arr(ZERO_INPUTS[name])], order=3)


def test_prod_gradient_values_with_zeros():
    # one zero: only the zero gets a gradient, the product of the others
    numpy.testing.assert_array_equal(_grad(np.prod, [2.0, 0.0, 3.0]), [0.0, 6.0, 0.0])
    # two zeros: every partial derivative is 0 (no NaN from 0/0)
    numpy.testing.assert_array_equal(_grad(np.prod, [2.0, 0.0, 3.0, 0.0]), [0.0, 0.0, 0.0, 0.0])
    # no zero, and a 0-d input
    numpy.testing.assert_allclose(_grad(np.prod, [2.0, -4.0, 3.0]), [-12.0, 6.0, -8.0])
    numpy.testing.assert_array_equal(_grad(np.prod, 5.0), 1.0)


def test_prod_hessian_with_one_zero_is_symmetric():
    # d2/dx0 dx1 prod([a, 0, c]) = 0 * c... check H[0,1] = c via the mixed derivative
    x = _arr([2.0, 0.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = np.prod(x)
        (gx,) = autograd.grad(y, [x], create_graph=True)
        z = gx[0]  # = x1 * x2
    z.backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), [0.0, 3.0, 0.0])


# --- cumprod with zeros -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ZERO_INPUTS))
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumprod_gradient_with_zeros_matches_finite_differences(name, axis):
    x = _arr(ZERO_INPUTS[name])
    check_grads(lambda a: np.cumprod(a, axis=axis), [x], order=2)


def test_cumprod_third_order_with_zeros():
    check_grads(lambda a: np.cumprod(a, axis=None), [_arr(ZERO_INPUTS["two_zeros_same_row"])], order=3)


def test_cumprod_long_axis_gradient():
    rng = numpy.random.default_rng(3)
    x = rng.uniform(0.8, 1.2, size=(37,)) * rng.choice([-1, 1], size=37)
    x[[5, 20]] = 0.0
    check_grads(lambda a: np.cumprod(a), [_arr(x)], order=2)


def test_cumprod_gradient_values_with_zero():
    # y = [2, 0, 0]; dy/dx summed: x1 gets 2 + 2*x2 = 2 + 6 = 8
    numpy.testing.assert_allclose(_grad(np.cumprod, [2.0, 0.0, 3.0]), [1.0, 8.0, 0.0])


# --- max / min: ties ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["max", "amax"])
def test_max_ties_split_evenly(name):
    f = getattr(np, name)
    numpy.testing.assert_allclose(_grad(f, [1.0, 3.0, 3.0, 2.0]), [0.0, 0.5, 0.5, 0.0])
    x = [[1.0, 5.0, 5.0], [7.0, 7.0, 7.0]]
    numpy.testing.assert_allclose(_grad(lambda a: f(a, axis=1), x), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    numpy.testing.assert_allclose(_grad(lambda a: f(a, axis=0, keepdims=True), x),
                                  [[0, 0, 0], [1, 1, 1]])


@pytest.mark.parametrize("name", ["min", "amin"])
def test_min_ties_split_evenly(name):
    f = getattr(np, name)
    numpy.testing.assert_allclose(_grad(f, [1.0, 3.0, 1.0, 1.0]), [1 / 3, 0.0, 1 / 3, 1 / 3])
    x = [[1.0, 1.0], [0.0, 2.0]]
    numpy.testing.assert_allclose(_grad(lambda a: f(a, axis=(0, 1)), x), [[0, 0], [1, 0]])


def test_max_nan_sends_gradient_to_nan():
    g = _grad(np.max, [1.0, numpy.nan, 3.0])
    numpy.testing.assert_array_equal(g, [0.0, 1.0, 0.0])


def test_max_second_derivative_is_zero():
    check_grads(lambda a: np.max(a, axis=0) * np.min(a, axis=0), [_arr([[1.0, -2.0], [3.0, 0.5]])], order=2)


# --- argmax / argmin ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(name, axis, keepdims):
    x = numpy.array([[1.0, 5.0, 5.0, -1.0], [7.0, 0.0, 7.0, 2.0]])
    got = getattr(np, name)(_arr(x), axis=axis, keepdims=keepdims)
    numpy.testing.assert_array_equal(got.asnumpy(), getattr(numpy, name)(x, axis=axis, keepdims=keepdims))
    with autograd.record():
        a = _arr(x)
        a.attach_grad()
        assert getattr(np, name)(a, axis=axis)._node is None  # never taped


# --- var / std ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_var_std_ddof(name, ddof, axis, keepdims):
    x = numpy.random.default_rng(ddof).uniform(-2, 2, size=(3, 4, 5))
    f = getattr(np, name)
    got = f(_arr(x), axis=axis, ddof=ddof, keepdims=keepdims)
    numpy.testing.assert_allclose(got.asnumpy(), getattr(numpy, name)(x, axis=axis, ddof=ddof, keepdims=keepdims),
                                  rtol=1e-12)
    check_grads(lambda a: f(a, axis=axis, ddof=ddof, keepdims=keepdims), [_arr(x)], order=2)


def test_std_of_constant_slice_has_zero_gradient():
    g = _grad(lambda a: np.std(a, axis=1), [[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    assert numpy.isfinite(g).all()
    numpy.testing.assert_array_equal(g[0], [0.0, 0.0, 0.0])


def test_var_positional_numpy_order():
    x = numpy.arange(12.0).reshape(3, 4)
    numpy.testing.assert_allclose(np.var(_arr(x), 0, None, None, 1).asnumpy(), numpy.var(x, 0, None, None, 1))
    numpy.testing.assert_allclose(np.std(_arr(x), 1, None, None, 1, True).asnumpy(),
                                  numpy.std(x, 1, None, None, 1, True))


# --- cumsum / cumprod: axis=None flattens ---------------------------------------------------------


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumulative_shapes_and_gradients(name, axis):
    x = numpy.random.default_rng(0).uniform(0.5, 1.5, size=(2, 3, 4))
    f = getattr(np, name)
    got = f(_arr(x), axis=axis)
    expected = getattr(numpy, name)(x, axis=axis)
    assert got.shape == expected.shape
    numpy.testing.assert_allclose(got.asnumpy(), expected, rtol=1e-12)
    check_grads(lambda a: f(a, axis=axis), [_arr(x)], order=2)


def test_cumsum_gradient_values():
    # d/dx_i sum(cumsum(x)) = n - i
    numpy.testing.assert_array_equal(_grad(np.cumsum, [1.0, 2.0, 3.0, 4.0]), [4.0, 3.0, 2.0, 1.0])


# --- all / any ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_all_any(name, axis, keepdims):
    x = numpy.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [0.0, 0.0, 0.0]])
    got = getattr(np, name)(_arr(x), axis=axis, keepdims=keepdims)
    numpy.testing.assert_array_equal(got.asnumpy(), getattr(numpy, name)(x, axis=axis, keepdims=keepdims))
    with autograd.record():
        a = _arr(x)
        a.attach_grad()
        assert getattr(np, name)(a, axis=axis)._node is None


# --- out=, methods, positional calls --------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
                                  "cumsum", "cumprod", "all", "any"])
def test_out_is_refused(name):
    x = _arr([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match="out="):
        getattr(np, name)(x, out=_arr([0.0, 0.0]))


def test_methods_and_positional_calls():
    x = numpy.array([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]])
    a = _arr(x)
    for name in ("prod", "max", "min"):
        numpy.testing.assert_allclose(getattr(a, name)(axis=1, keepdims=True).asnumpy(),
                                      getattr(x, name)(axis=1, keepdims=True))
    numpy.testing.assert_allclose(a.var(ddof=1).asnumpy(), x.var(ddof=1))
    numpy.testing.assert_allclose(a.std(axis=0).asnumpy(), x.std(axis=0))
    numpy.testing.assert_allclose(a.cumsum(axis=0).asnumpy(), x.cumsum(axis=0))
    numpy.testing.assert_allclose(a.cumprod().asnumpy(), x.cumprod())
    numpy.testing.assert_array_equal(a.argmax(axis=1).asnumpy(), x.argmax(axis=1))
    numpy.testing.assert_array_equal(a.all(axis=0).asnumpy(), x.all(axis=0))
    numpy.testing.assert_array_equal(a.any().asnumpy(), x.any())
    # NumPy's positional order: (a, axis, out, keepdims) for max; (a, axis, dtype, out, keepdims) for prod
    numpy.testing.assert_allclose(np.max(a, 0, None, True).asnumpy(), numpy.max(x, 0, None, True))
    numpy.testing.assert_allclose(np.prod(a, 1, None, None, True).asnumpy(), numpy.prod(x, 1, None, None, True))
    numpy.testing.assert_allclose(np.cumsum(a, 1).asnumpy(), numpy.cumsum(x, 1))


def test_mean_still_works_next_to_the_max_op():
    # reduce.py defines an op named max; mean's rule must still use Python's max
    numpy.testing.assert_allclose(_grad(lambda a: np.mean(a, axis=0), [[1.0, 2.0], [3.0, 4.0]]), 0.5)


def test_float32_gradients_keep_dtype():
    x = ndarray._make(numpy.array([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]], dtype=numpy.float32))
    for f in (np.prod, np.max, np.var, np.std, np.cumprod, np.cumsum):
        x.attach_grad()
        with autograd.record():
            y = f(x, axis=1)
        y.backward()
        assert x.grad.dtype == numpy.float32, f

"""Conventions and numerical stability of the elementwise and npx ops, beyond the generated sweep."""
from __future__ import annotations

import numpy
import pytest

from tapegrad import autograd, np, npx
from tapegrad._core.array import OPS as T


def _grad(f, values, dtype=numpy.float64):
    x = np.array(values, dtype=dtype)
    x.attach_grad()
    with autograd.record():
        y = f(x)
    y.backward()
    return x.grad.asnumpy()


def _finite(a):
    return bool(numpy.all(numpy.isfinite(a.asnumpy() if hasattr(a, "asnumpy") else a)))


# --- numerical stability ----------------------------------------------------------------------

BIG = [[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1000.0]]


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_softmax_is_stable(dtype):
    x = np.array(BIG, dtype=dtype)
    y = npx.softmax(x)
    assert y.dtype == dtype and _finite(y)
    e = 1 / (1 + numpy.exp(-1.0))
    numpy.testing.assert_allclose(y.asnumpy()[0], [e, 1 - e, 0.0], rtol=1e-6, atol=1e-30)
    d = 2 + numpy.exp(-1.0)
    numpy.testing.assert_allclose(y.asnumpy()[1], [1 / d, numpy.exp(-1.0) / d, 1 / d], rtol=1e-6)
    numpy.testing.assert_allclose(y.asnumpy().sum(axis=-1), 1.0, rtol=1e-6)
    g = _grad(lambda x: (npx.softmax(x) * np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], dtype=dtype)).sum(), BIG, dtype)
    assert _finite(g)


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_log_softmax_is_stable(dtype):
    x = np.array(BIG, dtype=dtype)
    y = npx.log_softmax(x).asnumpy()
    assert _finite(y)
    expected = [[-numpy.log1p(numpy.exp(-1.0)), -1 - numpy.log1p(numpy.exp(-1.0)), -2000 - numpy.log1p(numpy.exp(-1.0))],
                [-numpy.log(2 + numpy.exp(-1.0)), -1 - numpy.log(2 + numpy.exp(-1.0)), -numpy.log(2 + numpy.exp(-1.0))]]
    numpy.testing.assert_allclose(y, expected, rtol=1e-6)
    g = _grad(lambda x: npx.log_softmax(x)[:, 0].sum(), BIG, dtype)
    assert _finite(g)
    numpy.testing.assert_allclose(g.sum(axis=-1), 0.0, atol=1e-6)


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_logsumexp_is_stable(dtype):
    x = np.array(BIG, dtype=dtype)
    y = T.logsumexp(x, axis=-1).asnumpy()
    numpy.testing.assert_allclose(y, [1000 + numpy.log1p(numpy.exp(-1.0)), -1000 + numpy.log(2 + numpy.exp(-1.0))],
                                  rtol=1e-6)
    assert float(T.logsumexp(x).asnumpy()) == pytest.approx(1000 + numpy.log1p(numpy.exp(-1.0)), rel=1e-6)
    g = _grad(lambda x: T.logsumexp(x, axis=1, keepdims=True).sum(), BIG, dtype)
    assert _finite(g)
    # float32 rounds out = 1000.31... to a 6e-5 grid, hence the looser tolerance there
    numpy.testing.assert_allclose(g.sum(axis=-1), 1.0, rtol=1e-4 if dtype == numpy.float32 else 1e-12)


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_logsumexp_of_all_minus_inf_is_minus_inf():
    y = T.logsumexp(np.array([-numpy.inf, -numpy.inf]))
    assert float(y.asnumpy()) == -numpy.inf
    y = npx.softmax(np.array([-numpy.inf, 0.0]))
    numpy.testing.assert_array_equal(y.asnumpy(), [0.0, 1.0])


def test_sigmoid_and_logaddexp_are_stable():
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        y = npx.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    numpy.testing.assert_array_equal(y.asnumpy(), [0.0, 0.5, 1.0])
    g = _grad(lambda x: np.logaddexp(x, np.array([1000.0, -1000.0])).sum(), [1000.0, -1000.0])
    numpy.testing.assert_allclose(g, [0.5, 0.5])


# --- conventions at kinks -----------------------------------------------------------------------


ZERO = [0.0, -1.0, 2.0]


@pytest.mark.parametrize("f", [
    lambda x: npx.relu(x),
    lambda x: np.maximum(x, 0),
    lambda x: np.maximum(x, np.zeros(3)),
    lambda x: np.where(x > 0, x, 0),
    lambda x: np.fmax(x, 0.0),
], ids=["relu", "maximum", "maximum-array", "where", "fmax"])
def test_relu_like_gradient_is_zero_at_zero(f):
    numpy.testing.assert_array_equal(_grad(lambda x: f(x).sum(), ZERO), [0.0, 0.0, 1.0])


def test_minimum_gradient_at_tie_goes_to_second_argument():
    numpy.testing.assert_array_equal(_grad(lambda x: np.minimum(x, 0).sum(), ZERO), [0.0, 1.0, 0.0])
    a = np.array([1.0, 2.0])
    b = np.array([1.0, 3.0])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = np.maximum(a, b).sum() + np.minimum(a, b).sum()
    y.backward()
    numpy.testing.assert_array_equal(a.grad.asnumpy(), [0.0, 1.0])
    numpy.testing.assert_array_equal(b.grad.asnumpy(), [2.0, 1.0])


def test_fmax_fmin_ignore_nan():
    nan = numpy.nan
    numpy.testing.assert_array_equal(_grad(lambda x: np.fmax(x, np.array([nan, 5.0])).sum(), [1.0, 2.0]), [1.0, 0.0])
    numpy.testing.assert_array_equal(_grad(lambda x: np.fmin(x, np.array([nan, -5.0])).sum(), [1.0, 2.0]), [1.0, 0.0])


def test_abs_gradient_is_zero_at_zero():
    numpy.testing.assert_array_equal(_grad(lambda x: np.abs(x).sum(), [0.0, -2.0, 3.0]), [0.0, -1.0, 1.0])


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "around", "trunc", "rint", "fix", "sign"])
def test_piecewise_constant_ops_have_zero_gradient(name):
    f = getattr(np, name)
    values = [0.0, 0.5, -1.5, 2.3]
    numpy.testing.assert_array_equal(_grad(lambda x: f(x).sum(), values), numpy.zeros(4))
    # recorded, so the product rule sees it as a constant
    numpy.testing.assert_array_equal(_grad(lambda x: (f(x) * x).sum(), values),
                                     getattr(numpy, name)(numpy.array(values)))


def test_round_with_decimals():
    x = np.array([1.234, -5.678])
    numpy.testing.assert_allclose(np.round(x, 1).asnumpy(), [1.2, -5.7])
    numpy.testing.assert_allclose(np.round(x, decimals=-1).asnumpy(), [0.0, -10.0])
    numpy.testing.assert_array_equal(_grad(lambda x: np.round(x, 2).sum(), [1.234, 5.0]), [0.0, 0.0])


# --- clip ---------------------------------------------------------------------------------------


def test_clip_gradient_passes_inside_the_bounds_inclusive():
    values = [-2.0, -1.0, 0.0, 1.0, 2.0]
    numpy.testing.assert_array_equal(_grad(lambda x: np.clip(x, -1, 1).sum(), values), [0, 1, 1, 1, 0])
    numpy.testing.assert_array_equal(_grad(lambda x: np.clip(x, None, 1).sum(), values), [1, 1, 1, 1, 0])
    numpy.testing.assert_array_equal(_grad(lambda x: np.clip(x, a_min=0.0).sum(), values), [0, 0, 1, 1, 1])
    numpy.testing.assert_array_equal(_grad(lambda x: np.clip(x, a_max=0.0).sum(), values), [1, 1, 1, 0, 0])
    lo = np.array([-3.0, 0.0, 0.0, 0.0, 3.0])
    numpy.testing.assert_array_equal(_grad(lambda x: np.clip(x, lo, 2.5).sum(), values), [1, 0, 1, 1, 0])


def test_clip_values_match_numpy():
    x = numpy.linspace(-2, 2, 7)
    for lo, hi in ((-1, 1), (None, 0.5), (-0.5, None), (1.0, -1.0), (numpy.zeros(7), numpy.ones(7))):
        numpy.testing.assert_array_equal(np.clip(np.array(x), lo, hi).asnumpy(), numpy.clip(x, lo, hi))
    numpy.testing.assert_array_equal(np.clip(np.array(x), None, None).asnumpy(), x)


# --- aliases, remainders, casts ------------------------------------------------------------------


def test_true_divide_and_mod_operator():
    numpy.testing.assert_allclose(_grad(lambda x: np.true_divide(x, 4.0).sum(), [1.0, 2.0]), [0.25, 0.25])
    x = np.array([5.5, -1.0])
    numpy.testing.assert_allclose((x % 2).asnumpy(), [1.5, 1.0])
    numpy.testing.assert_allclose(_grad(lambda x: (x % 2).sum(), [5.5, -1.5]), [1.0, 1.0])
    y = np.array([2.0, 2.0])
    y.attach_grad()
    with autograd.record():
        z = np.mod(np.array([5.5, -1.5]), y).sum() + np.fmod(np.array([5.5, -1.5]), y).sum()
    z.backward()
    numpy.testing.assert_allclose(y.grad.asnumpy(), [-2.0 - 2.0, 1.0 - 0.0])


def test_astype_float32_round_trip_gradient():
    x = np.array([1.5, -2.25], dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = x.astype("float32")
        z = (y * y).astype("float64").sum()
    assert y.dtype == numpy.float32
    z.backward()
    assert x.grad.dtype == numpy.float64
    numpy.testing.assert_allclose(x.grad.asnumpy(), [3.0, -4.5])


# --- pick and one_hot ---------------------------------------------------------------------------


def test_pick_values_and_gradient():
    data = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    idx = np.array([2, 0], dtype="int64")
    numpy.testing.assert_array_equal(npx.pick(data, idx).asnumpy(), [3.0, 4.0])
    numpy.testing.assert_array_equal(npx.pick(data, idx, keepdims=True).asnumpy(), [[3.0], [4.0]])
    numpy.testing.assert_array_equal(npx.pick(data, np.array([1, 0, 1], dtype="int64"), axis=0).asnumpy(),
                                     [4.0, 2.0, 6.0])
    data.attach_grad()
    with autograd.record():
        y = (npx.pick(data, np.array([2.0, 2.0])) * np.array([1.0, 10.0])).sum()
    y.backward()
    numpy.testing.assert_array_equal(data.grad.asnumpy(), [[0, 0, 1], [0, 0, 10]])


def test_pick_cross_entropy():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    labels = np.array([0.0, 2.0])
    logits.attach_grad()
    with autograd.record():
        loss = -npx.pick(npx.log_softmax(logits), labels).sum()
    loss.backward()
    assert _finite(loss) and _finite(logits.grad)
    numpy.testing.assert_allclose(logits.grad.asnumpy(), [[0.0, 0.0, 0.0], [1 / 3, 1 / 3, -2 / 3]], atol=1e-12)


def test_one_hot():
    y = npx.one_hot(np.array([0, 2, 5], dtype="int64"), 3)
    assert y.dtype == numpy.float32
    numpy.testing.assert_array_equal(y.asnumpy(), [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert npx.one_hot(np.array([1.0]), 2, "float64").dtype == numpy.float64

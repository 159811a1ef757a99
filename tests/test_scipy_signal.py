"""``tapegrad.scipy.signal.convolve``: SciPy's values on every shape and mode (hypothesis), gradients in
both inputs against central differences to order 2 (also complex), against HIPS autograd's
``autograd.scipy.signal.convolve``, and the door (SciPy's own function on plain values). The op's
declared samples also run in the registry sweeps (tests/test_ops.py, test_differential_hips.py)."""
from __future__ import annotations

import inspect

import numpy
import pytest
from hypothesis import given, settings, strategies as st

scipy_signal = pytest.importorskip("scipy.signal")

import tapegrad  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402
from tapegrad.ndarray import ndarray  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from tapegrad.scipy import signal as tsig  # noqa: E402
from tapegrad.testing import check_grads  # noqa: E402

CONVOLVE = REGISTRY["convolve"]


def _valid_ok(s1, s2):
    return all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))


@st.composite
def _pairs(draw):
    nd = draw(st.integers(1, 3))
    s1 = tuple(draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd)))
    s2 = tuple(draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd)))
    mode = draw(st.sampled_from(["full", "valid", "same"]))
    seed = draw(st.integers(0, 2 ** 16))
    rng = numpy.random.default_rng(seed)
    return rng.standard_normal(s1), rng.standard_normal(s2), mode


@settings(max_examples=40, deadline=None)
@given(_pairs(), st.sampled_from(["auto", "direct", "fft"]))
def test_values_match_scipy_on_every_shape_and_mode(pair, method):
    a, b, mode = pair
    if mode == "valid" and not _valid_ok(a.shape, b.shape):
        with pytest.raises(ValueError, match="at least as large as the other in every dimension"):
            CONVOLVE(ndarray._make(a), ndarray._make(b), mode=mode)
        with pytest.raises(ValueError):
            scipy_signal.convolve(a, b, mode=mode)
        return
    want = scipy_signal.convolve(a, b, mode=mode, method=method)
    got = CONVOLVE(ndarray._make(a), ndarray._make(b), mode=mode, method=method)
    assert got.shape == want.shape
    numpy.testing.assert_allclose(got.asnumpy(), want, rtol=1e-10, atol=1e-12)
    # the door: SciPy's own function on plain values
    plain = tsig.convolve(a, b, mode=mode, method=method)
    assert type(plain) is numpy.ndarray and numpy.array_equal(plain, want)


@settings(max_examples=25, deadline=None)
@given(_pairs())
def test_gradients_in_both_inputs_match_finite_differences_to_order_two(pair):
    a, b, mode = pair
    if mode == "valid" and not _valid_ok(a.shape, b.shape):
        return
    check_grads(lambda x, y: CONVOLVE(x, y, mode=mode), [ndarray._make(a), ndarray._make(b)], order=2,
                modes=("rev", "fwd"))


@settings(max_examples=25, deadline=None)
@given(_pairs())
def test_gradients_match_hips_autograd(pair):
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    from autograd.scipy.signal import convolve as hips_convolve
    a, b, mode = pair
    if not all(m >= n for m, n in zip(a.shape, b.shape)):
        return  # HIPS's rules recurse forever when in2 is the larger in some axis (SciPy and tapegrad do not)
    w = numpy.random.default_rng(0).standard_normal(scipy_signal.convolve(a, b, mode=mode).shape)
    ours = tapegrad.grad(lambda x, y: tnp.sum(w * tsig.convolve(x, y, mode=mode)), (0, 1))(a, b)
    try:
        hips = autograd.grad(lambda x, y: anp.sum(w * hips_convolve(x, y, mode=mode)), (0, 1))(a, b)
    except RecursionError:  # and in 'valid' mode for some shapes: (2, 2) with (1, 2), (5, 5) with (2, 4)...
        assert mode == "valid"  # (HIPS's own recursion, measured without tapegrad; not a reference then)
        return
    for o, h in zip(ours, hips):
        numpy.testing.assert_allclose(o, h, rtol=1e-10, atol=1e-12)


def test_the_gradient_is_the_correlation_with_the_other_input():
    """For 'full': d/da sum(g * (a * b)) = correlate(g, b, 'valid'), d/db = correlate(g, a, 'valid')."""
    rng = numpy.random.default_rng(1)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 2))
    g = rng.standard_normal((6, 7))
    ga, gb = tapegrad.grad(lambda x, y: tnp.sum(g * tsig.convolve(x, y)), (0, 1))(a, b)
    numpy.testing.assert_allclose(ga, scipy_signal.correlate(g, b, mode="valid"), rtol=1e-12, atol=1e-12)
    numpy.testing.assert_allclose(gb, scipy_signal.correlate(g, a, mode="valid"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
def test_complex_inputs_follow_the_functional_convention(mode):
    rng = numpy.random.default_rng(2)
    a = rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))
    b = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    numpy.testing.assert_allclose(CONVOLVE(ndarray._make(a), ndarray._make(b), mode=mode).asnumpy(),
                                  scipy_signal.convolve(a, b, mode=mode), rtol=1e-12)
    check_grads(lambda x, y: CONVOLVE(x, y, mode=mode), [ndarray._make(a), ndarray._make(b)], order=2,
                modes=("rev", "fwd"))


def test_a_third_order_derivative():
    rng = numpy.random.default_rng(3)
    check_grads(lambda x: CONVOLVE(x, x * x, mode="same"), [ndarray._make(rng.standard_normal(5))], order=3)


def test_bad_calls_name_the_problem():
    x = tnp.ones(3)
    with pytest.raises(ValueError, match="same dimensionality"):
        tapegrad.grad(lambda a: tnp.sum(tsig.convolve(a, numpy.ones((2, 2)))))(numpy.ones(3))
    with pytest.raises(ValueError, match="mode must be 'full', 'valid' or 'same'"):
        tapegrad.grad(lambda a: tnp.sum(tsig.convolve(a, x, mode="circular")))(numpy.ones(3))
    with pytest.raises(ValueError, match="at least as large"):
        tapegrad.grad(lambda a: tnp.sum(tsig.convolve(a, numpy.ones((1, 3)), mode="valid")))(numpy.ones((2, 2)))
    with pytest.raises(TypeError, match="axes/dot_axes are not supported"):
        tapegrad.grad(lambda a: tnp.sum(tsig.convolve(a, a, axes=([0], [0]))))(numpy.ones(3))


def test_the_door_is_scipys_module_with_convolve_differentiable():
    assert tsig.convolve.op is CONVOLVE
    assert inspect.signature(tsig.convolve) == inspect.signature(scipy_signal.convolve)
    assert CONVOLVE.public == "scipy.signal" and CONVOLVE.__module__ == "tapegrad.scipy.signal"
    # integer inputs, on plain values: SciPy's own result (dtype included)
    r = tsig.convolve(numpy.arange(3), numpy.arange(2))
    assert r.dtype == scipy_signal.convolve(numpy.arange(3), numpy.arange(2)).dtype
    x = numpy.arange(5.0)  # the rest of scipy.signal, on plain values
    assert numpy.array_equal(tsig.lfilter([1.0], [1.0, -0.5], x), scipy_signal.lfilter([1.0], [1.0, -0.5], x))
    assert tsig.windows is scipy_signal.windows
    # a function without a gradient refuses an array being differentiated, instead of dropping its gradient
    with pytest.raises(TypeError, match="correlate is not differentiable"):
        tapegrad.grad(lambda a: tnp.sum(tsig.correlate(a, numpy.ones(2))))(numpy.ones(3))

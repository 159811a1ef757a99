"""NumPy interop: NumPy's own functions and operators on tapegrad arrays are recorded."""
import numpy
import pytest

import tapegrad as tg
from tapegrad import autograd, np


def test_numpy_functions_are_recorded():
    x = np.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = numpy.sum(numpy.mean(x * x) * x) + numpy.linalg.norm(x)
    assert isinstance(y, np.ndarray)
    y.backward()
    v = numpy.array([1.0, 2.0, 3.0])
    expected = 2 * v / 3 * v.sum() + numpy.mean(v * v) + v / numpy.linalg.norm(v)
    numpy.testing.assert_allclose(x.grad.asnumpy(), expected, rtol=1e-6)


def test_numpy_array_on_the_left_gives_a_tapegrad_result():
    x = np.array([1.0, 2.0])
    for r in (numpy.ones(2) * x, numpy.ones(2) + x, numpy.eye(2) @ x):
        assert isinstance(r, np.ndarray)


def test_functional_api_differentiates_plain_numpy_calls():
    numpy.testing.assert_allclose(tg.grad(lambda v: numpy.sum(numpy.exp(v)))(numpy.array([0.0, 1.0])),
                                  numpy.exp([0.0, 1.0]))


def test_python_builtins_and_scalar_conversions():
    a, b = np.array(1.0), np.array(2.0)
    assert float(sum([a, b])) == 3.0
    assert len(np.zeros((4, 2))) == 4
    assert numpy.int64(np.array(3.0)) == 3
    nested = tg.grad(lambda v: np.sum(np.array([[v[0], v[1]], [v[1] * 2, 1.0]])))(numpy.array([1.0, 2.0]))
    numpy.testing.assert_allclose(nested, [1.0, 3.0])


def test_numpy_functions_without_a_tapegrad_version():
    assert float(numpy.median(np.array([1.0, 5.0, 2.0]))) == 2.0  # constants: computed by NumPy
    x = np.array([1.0, 5.0, 2.0])
    x.attach_grad()
    with autograd.record():
        with pytest.raises(TypeError, match="no differentiable version"):
            numpy.median(x * 2)

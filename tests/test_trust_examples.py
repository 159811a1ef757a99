"""Issue 12's opening examples, each with the answer HIPS autograd 1.9.1 or PyTorch 2.13 gives
(measured with the real packages) or the clear error."""
import pickle

import numpy
import pytest

import tapegrad as tg
import tapegrad.torch as torch
from tapegrad import np


@pytest.mark.parametrize("f, want", [
    (lambda x: np.sum([x, 2 * x]), 3.0),
    (lambda x: np.mean([x, x]), 1.0),
    (lambda x: np.linalg.norm([x, x]), 2 ** 0.5),
])
def test_a_list_holding_a_traced_value_is_differentiated(f, want):
    assert float(tg.grad(f)(3.0)) == pytest.approx(want, rel=1e-12)


def test_power_with_exponent_zero_has_gradient_zero_at_zero():
    assert float(tg.grad(lambda x: np.power(x, 0.0))(0.0)) == 0.0


def test_the_norm_of_a_complex_vector_follows_the_functional_convention():
    z = numpy.array([1 + 2j, 3 - 1j])
    g = tg.grad(lambda z: np.linalg.norm(z))(z)
    numpy.testing.assert_allclose(numpy.asarray(g), numpy.conj(z) / numpy.linalg.norm(z), rtol=1e-12)


def test_the_vjp_of_a_tuple_output_takes_a_tuple_cotangent():
    vjp_fn, ans = tg.make_vjp(lambda x: (x, 2 * x))(1.0)
    assert float(vjp_fn((1.0, 1.0))) == 3.0
    assert [float(a) for a in ans] == [1.0, 2.0]


def test_op_objects_have_names_and_pickle_by_reference():
    assert np.sin.__name__ == "sin"
    assert pickle.loads(pickle.dumps(np.sin)) is np.sin


def test_float64_creation_does_not_detour_through_float32():
    assert torch.tensor(0.1, dtype=torch.float64).item() == 0.1
    assert torch.tensor([[-1.8248]], dtype=torch.float64).item() == -1.8248


def test_an_int_tensor_refuses_a_float_result_in_place():
    t = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        t += 1.5
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        t.add_(1.5)


def test_softplus_exists_with_pytorchs_keywords():
    x = torch.tensor([-30.0, 0.0, 1.0, 30.0], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.softplus(x, beta=2.0, threshold=20.0)
    want = numpy.where(2 * x.detach().numpy() > 20, x.detach().numpy(),
                       numpy.log1p(numpy.exp(2 * x.detach().numpy())) / 2)
    numpy.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("inner, want", [
    (lambda x, y: x * y, lambda x, y: 1.0),
    (lambda x, y: np.sin(x * y), lambda x, y: numpy.cos(x * y) - x * y * numpy.sin(x * y)),
])
def test_a_gradient_of_a_closure_over_an_outer_variable_is_differentiated(inner, want):
    # d/dy of (d/dx inner(x, y) at x = 1.3): the inner backward must build a graph, because the
    # function it differentiates reads y, the outer transform's variable, from its closure
    got = tg.grad(lambda y: tg.grad(lambda x: inner(x, y))(1.3))(0.7)
    assert float(got) == pytest.approx(want(1.3, 0.7), rel=1e-12)


def test_a_list_of_float64_numpy_arrays_stays_float64_in_the_mxnet_door():
    a = numpy.array([0.1, 0.2])
    for res in (np.sum([a, a]), np.array([a, a]), np.add([a], 1), np.mean([a, 2 * a], axis=0)):
        assert res.dtype == numpy.float64
    numpy.testing.assert_array_equal(np.array([a, a]).asnumpy(), [a, a])
    # Python data alone keeps MXNet's float32 (complex: complex64)
    assert np.array([1, 2]).dtype == numpy.float32 and np.add([1.0, 2.0], 1).dtype == numpy.float32
    assert np.array([1j, 2]).dtype == numpy.complex64

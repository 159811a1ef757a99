"""Misuses that used to pass quietly or fail with the wrong error (issue 12, items 6 and 2): MXNet's
higher-order behaviour on piecewise-linear functions, variables the heads do not use, products of
mismatched shapes or mixed dtypes."""
from __future__ import annotations

import numpy
import pytest

import tapegrad as tg
import tapegrad.torch as torch
from tapegrad import AutogradError, autograd, np, npx

X0 = [0.5, -1.0, 2.0]
V0 = [1.0, 2.0, 3.0]

# piecewise-linear functions (second derivative zero) and one that is not, with its HVP
PIECEWISE = {
    "relu": npx.relu,
    "minimum": lambda x: np.minimum(x, 0.3),
    "maximum": lambda x: np.maximum(0.3, x),
    "clip": lambda x: np.clip(x, -0.5, 1.0),
    "min": lambda x: np.min(x),
    "max_method": lambda x: x.max(),
    "indexing": lambda x: x[1],
    "fancy_indexing": lambda x: x[numpy.array([0, 2, 2])],
    "abs": np.abs,
    "linear": lambda x: 2 * x + 1,
}


def _hvp_by_backward(fn, grad_req="write"):
    x = np.array(X0)
    x.attach_grad(grad_req)
    v = np.array(V0)
    with autograd.record():
        y = fn(x)
        g = autograd.grad(y, [x], create_graph=True)[0]
        s = (g * v).sum()
    s.backward()
    return x.grad.asnumpy(), g.asnumpy()


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_hvp_of_a_piecewise_linear_function_is_zero(name):
    """MXNet records every op whose input is in a graph, so the gradient is in the graph and the
    second backward gives zeros; it used to raise "not in a computational graph"."""
    fn = PIECEWISE[name]
    hv, g = _hvp_by_backward(fn)
    numpy.testing.assert_array_equal(hv, numpy.zeros(3))
    numpy.testing.assert_allclose(g, tg.elementwise_grad(lambda x: np.sum(fn(x)))(numpy.array(X0)), rtol=1e-6)


def test_hvp_through_grad_is_zero_too_and_add_accumulates():
    x = np.array(X0)
    x.attach_grad()
    with autograd.record():
        g = autograd.grad(npx.relu(x), [x], create_graph=True)[0]
        s = (g * np.array(V0)).sum()
    numpy.testing.assert_array_equal(autograd.grad(s, [x])[0].asnumpy(), numpy.zeros(3))
    hv, _ = _hvp_by_backward(lambda x: np.sin(x) + npx.relu(x), grad_req="add")
    numpy.testing.assert_allclose(hv, -numpy.sin(X0) * numpy.array(V0), rtol=1e-6)


def test_hvp_of_a_smooth_function_is_unchanged():
    hv, g = _hvp_by_backward(lambda x: np.sin(x) * x)
    x, v = numpy.array(X0), numpy.array(V0)
    numpy.testing.assert_allclose(hv, (2 * numpy.cos(x) - x * numpy.sin(x)) * v, rtol=1e-5)


def test_create_graph_outside_record_gives_a_differentiable_gradient():
    """Measured in MXNet (probes): grad(create_graph=True) outside record, then dx.backward()."""
    x = np.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = npx.relu(x)
    autograd.grad(y, [x], create_graph=True)[0].backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), numpy.zeros(3))
    with autograd.record():
        y = np.sin(x)
    autograd.grad(y, [x], create_graph=True)[0].backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), -numpy.sin([1.0, 2.0, 3.0]), rtol=1e-6)


def test_grad_without_create_graph_stays_a_constant():
    x = np.array(X0)
    x.attach_grad()
    with autograd.record():
        g = autograd.grad(npx.relu(x), [x])[0]
    assert g._node is None


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_grad_refuses_a_variable_the_heads_do_not_use(order):
    x, w = np.array(X0), np.array(V0)
    x.attach_grad()
    w.attach_grad()
    with autograd.record():
        y = (x * 2).sum()
    variables = [[x, w][i] for i in order]
    with pytest.raises(AutogradError, match=f"the {order.index(1) + 1}-th variable because the heads do not "
                                            "depend on it"):
        autograd.grad(y, variables)
    with autograd.record():
        y = (x * 2).sum()
    numpy.testing.assert_array_equal(autograd.grad(y, [x])[0].asnumpy(), [2.0, 2.0, 2.0])

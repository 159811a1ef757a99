"""The engine's contracts: iterative backward, freeing, buffers kept, threads, higher order."""
from __future__ import annotations

import gc
import threading
import weakref

import numpy
import pytest

from tapegrad import AutogradError, autograd, np


def _var(values, req="write"):
    x = np.array(values)
    x.attach_grad(req)
    return x


def test_second_derivative_of_sum_cubed_is_6x():
    x = _var([1.0, 2.0, -3.0])
    with autograd.record():
        y = (x ** 3).sum()
    (g,) = autograd.grad(y, [x], create_graph=True)
    numpy.testing.assert_allclose(g.asnumpy(), 3 * x.asnumpy() ** 2, rtol=1e-6)
    g.backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), 6 * x.asnumpy(), rtol=1e-6)


def test_third_derivative_of_sin_is_minus_cos():
    x = _var(numpy.linspace(-3, 3, 7))
    with autograd.record():
        y = np.sin(x)
        (d1,) = autograd.grad(y, [x], create_graph=True)
        (d2,) = autograd.grad(d1, [x], create_graph=True)
    d2.backward()
    numpy.testing.assert_allclose(d1.asnumpy(), numpy.cos(x.asnumpy()), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(d2.asnumpy(), -numpy.sin(x.asnumpy()), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(x.grad.asnumpy(), -numpy.cos(x.asnumpy()), rtol=1e-5, atol=1e-6)


def test_a_200000_op_chain_backpropagates_without_recursion():
    x = _var([1.0, 2.0])
    with autograd.record():
        y = x
        for _ in range(200_000):
            y = y + 0.5
    y.backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [1.0, 1.0])
    del y  # releasing the long chain must not overflow the stack either
    gc.collect()


def test_saved_intermediates_are_freed_after_backward():
    x = _var([1.0, 2.0, 3.0])
    with autograd.record():
        y = np.exp(x)       # saves its output
        z = (y * y).sum()   # saves y twice
    refs = [weakref.ref(y._data)]
    del y
    gc.collect()
    assert all(r() is not None for r in refs), "backward still needs them"
    z.backward()
    gc.collect()
    assert all(r() is None for r in refs), "a saved intermediate outlived the backward"


def test_retain_graph_keeps_saved_values_until_the_last_backward():
    x = _var([1.0, 2.0])
    with autograd.record():
        y = np.exp(x)
        z = (y * y).sum()
    r = weakref.ref(y._data)
    del y
    z.backward(retain_graph=True)
    gc.collect()
    assert r() is not None
    z.backward()
    gc.collect()
    assert r() is None
    numpy.testing.assert_allclose(x.grad.asnumpy(), 2 * numpy.exp(2 * x.asnumpy()), rtol=1e-6)


@pytest.mark.parametrize("req", ["write", "add"])
def test_gradient_buffer_is_the_same_memory_across_backwards(req):
    x = _var([1.0, 2.0, 3.0], req)
    buf = x._grad
    address = x.grad._data.__array_interface__["data"][0]
    view = x.grad
    for i in range(3):
        with autograd.record():
            y = (x * x).sum()
        y.backward()
        assert x._grad is buf
        assert x.grad._data.__array_interface__["data"][0] == address
    expected = 2 * x.asnumpy() * (3 if req == "add" else 1)
    numpy.testing.assert_allclose(view.asnumpy(), expected)  # a reference taken before sees the values


def test_null_request_is_never_written():
    x = _var([1.0, 2.0], "null")
    w = _var([3.0, 4.0])
    with autograd.record():
        y = (x * w).sum()
    y.backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [0.0, 0.0])
    numpy.testing.assert_array_equal(w.grad.asnumpy(), [1.0, 2.0])


def test_only_null_variables_means_nothing_requires_gradients():
    x = _var([1.0, 2.0], "null")
    with autograd.record():
        y = (x * 2).sum()
    with pytest.raises(AutogradError, match="There are no inputs in computation graph that require gradients"):
        y.backward()


def test_threads_record_independently():
    errors = []
    barrier = threading.Barrier(4)

    def work(k):
        try:
            x = _var(numpy.arange(5.0) + k)
            barrier.wait()
            for _ in range(50):
                with autograd.record():
                    assert autograd.is_recording()
                    y = (x ** 2 * k).sum()
                y.backward()
                numpy.testing.assert_allclose(x.grad.asnumpy(), 2 * k * x.asnumpy())
            assert not autograd.is_recording()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    with autograd.record():  # the main thread's state does not leak into the workers
        for t in threads:
            t.join()
    assert not errors, errors


def test_paused_computation_is_a_constant():
    x = _var([1.0, 2.0])
    with autograd.record():
        y = x * 2
        with autograd.pause():
            z = y * 3
        w = z + x
    w.backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [1.0, 1.0])


def test_grad_returns_one_array_per_variable_and_leaves_buffers_alone():
    x, w = _var([1.0, 2.0]), _var([3.0, 4.0])
    with autograd.record():
        y = (x * w).sum()
    gx, gw = autograd.grad(y, [x, w])
    assert isinstance(gx, np.ndarray)
    numpy.testing.assert_array_equal(gx.asnumpy(), [3.0, 4.0])
    numpy.testing.assert_array_equal(gw.asnumpy(), [1.0, 2.0])
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [0.0, 0.0])


def test_unreached_variable_is_refused_by_grad():
    """MXNet refuses a variable the heads do not depend on (issue 12; more in test_misuse.py)."""
    x, u = _var([1.0, 2.0]), _var([5.0])
    with autograd.record():
        y = (x * 2).sum()
    with pytest.raises(AutogradError, match="2-th variable because the heads do not depend on it"):
        autograd.grad(y, [x, u])


def test_shared_subexpressions_sum_their_cotangents():
    x = _var([1.0, 2.0])
    with autograd.record():
        a = x * x
        y = (a + a * a + np.sin(a)).sum()
    y.backward()
    xv = x.asnumpy()
    a = xv * xv
    numpy.testing.assert_allclose(x.grad.asnumpy(), (1 + 2 * a + numpy.cos(a)) * 2 * xv, rtol=1e-6)


def test_mark_variables_uses_the_given_buffer():
    x = np.array([1.0, 2.0])
    buf = np.array([10.0, 10.0])
    autograd.mark_variables([x], [buf], "add")
    with autograd.record():
        y = (x * 3).sum()
    autograd.backward([y])
    numpy.testing.assert_array_equal(buf.asnumpy(), [13.0, 13.0])
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [13.0, 13.0])


def test_custom_function_with_two_outputs():
    class DivMul(autograd.Function):
        def forward(self, x, y):
            self.save_for_backward(x, y)
            return x / y, x * y

        def backward(self, dq, dp):
            x, y = self.saved_tensors
            return dq / y + dp * y, -dq * x / (y * y) + dp * x

    x, y = _var([1.0, 2.0]), _var([3.0, 4.0])
    with autograd.record():
        q, p = DivMul()(x, y)
        s = (q + 2 * p).sum()
    s.backward()
    xv, yv = x.asnumpy(), y.asnumpy()
    numpy.testing.assert_allclose(x.grad.asnumpy(), 1 / yv + 2 * yv, rtol=1e-6)
    numpy.testing.assert_allclose(y.grad.asnumpy(), -xv / yv ** 2 + 2 * xv, rtol=1e-6)
    f = DivMul()
    f(x, y)
    with pytest.raises(RuntimeError, match="only be called once"):
        f(x, y)


def test_detach_shares_memory_and_cuts_history():
    x = _var([1.0, 2.0])
    with autograd.record():
        y = x * x
        u = y.detach()
        z = u * x
    z.backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), u.asnumpy())
    u[0] = 100.0
    assert y.asnumpy()[0] == 100.0
    assert u.grad is None


def test_plain_backward_runs_rules_on_raw_buffers_and_leaves_no_trace_of_it():
    """Without create_graph, rules see raw buffers (no Array is made inside them); user code called
    from the backward (a custom Function's backward) sees arrays; an error inside a rule leaves ops
    producing arrays again."""
    from tapegrad.ndarray import ndarray
    from tapegrad.ops import elementwise
    seen = []

    class Spy(autograd.Function):
        def forward(self, x):
            return x * 1

        def backward(self, dy):
            seen.append((type(dy), type(np.sin(dy))))
            return dy * 3

    x = _var([0.5, -1.0])
    with autograd.record():
        y = Spy()(np.sin(x)).sum()
    y.backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), 3 * numpy.cos([0.5, -1.0]), rtol=1e-6)
    assert seen == [(ndarray, ndarray)]

    rule_args = []
    original = elementwise.sin.run_raw
    elementwise.sin.run_raw = lambda node, g, outs=None: (rule_args.append(type(g)), original(node, g, outs))[1]
    try:
        with autograd.record():
            y = np.sin(x).sum()
        y.backward()
    finally:
        elementwise.sin.run_raw = original
    assert rule_args == [numpy.ndarray]

    class Broken(autograd.Function):
        def forward(self, x):
            return x * 1

        def backward(self, dy):
            raise ZeroDivisionError("inside a rule")

    with autograd.record():
        y = (Broken()(x) * 2).sum()
    with pytest.raises(ZeroDivisionError):
        y.backward()
    assert type(np.sin(x)) is ndarray and type(x * 2) is ndarray


def test_assigning_an_unknown_attribute_is_an_error():
    """A misspelt or other-dialect attribute (``requires_grad`` on an MXNet ndarray) must not be
    silently stored."""
    x = np.array([1.0])
    with pytest.raises(AttributeError):
        x.requires_grad = True


@pytest.mark.parametrize("name", ["dot", "inner", "outer", "kron", "multiply"])
@pytest.mark.parametrize("number_first", [True, False])
def test_products_with_a_python_number_operand_differentiate(name, number_first):
    """A rule receives a Python number as it was given (not as a 0-d array), in a plain backward
    (raw buffers) and in one that builds a graph (arrays) alike."""
    f = getattr(np, name)
    x0 = numpy.array([1.0, 2.0, 3.0])
    ref = getattr(numpy, name)(2.5, x0) if number_first else getattr(numpy, name)(x0, 2.5)
    for create_graph in (False, True):
        x = np.array(x0)
        x.attach_grad()
        with autograd.record():
            y = f(2.5, x) if number_first else f(x, 2.5)
        numpy.testing.assert_allclose(y.asnumpy(), ref)
        (gx,) = autograd.grad([y], [x], create_graph=create_graph)
        numpy.testing.assert_allclose(gx.asnumpy(), numpy.full(3, 2.5))  # d/dx sum(2.5 x) = 2.5


# --- a rule writing straight into a variable's gradient buffer (engine._offers) -------------------

def _spy_direct_writes(monkeypatch):
    """Record, per leaf write, whether the gradient already was the variable's own buffer."""
    from tapegrad._core import array as array_mod
    from tapegrad._core import engine
    seen = []
    real = array_mod.write_buffer

    def spy(v, g):
        seen.append(g is not None and g is v._grad)
        real(v, g)
    monkeypatch.setattr(engine, "write_buffer", spy)
    return seen


def _mats(seed=0):
    rng = numpy.random.default_rng(seed)
    return rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))


def test_a_product_writes_the_weight_gradient_into_its_buffer(monkeypatch):
    seen = _spy_direct_writes(monkeypatch)
    X, W, V = _mats()
    w, v = np.array(W), np.array(V)
    w.attach_grad()
    v.attach_grad()
    bufs = (id(w._grad), id(v._grad))  # ids: holding the buffers would keep them from being offered
    for _ in range(2):
        with autograd.record():
            y = np.dot(np.tanh(np.dot(np.array(X), w)), v).sum()
        y.backward()
    assert seen == [True, True] * 2  # both gradients were written in place by the products
    assert (id(w._grad), id(v._grad)) == bufs
    t = numpy.tanh(X @ W)
    gv = t.T @ numpy.ones((5, 2))
    gw = X.T @ ((numpy.ones((5, 2)) @ V.T) * (1 - t ** 2))
    numpy.testing.assert_allclose(v.grad.asnumpy(), gv, rtol=1e-12)
    numpy.testing.assert_allclose(w.grad.asnumpy(), gw, rtol=1e-12)


def test_a_buffer_read_by_the_graph_is_not_written_early(monkeypatch):
    """w.grad saved as an input of an earlier node must still hold its old values when that node's
    rule reads it, although a later product's rule computes w's new gradient first."""
    seen = _spy_direct_writes(monkeypatch)
    X, W, _ = _mats(1)
    w = np.array(W)
    w.attach_grad()
    old = numpy.random.default_rng(2).standard_normal(W.shape)
    w._grad[...] = old
    u = np.array(numpy.ones((4, 2)))
    u.attach_grad()
    with autograd.record():
        p = np.dot(w.grad, u).sum()  # created first, so its rule (reading w.grad for u) runs last
        q = np.dot(np.array(X), w).sum()
        y = p + q
    y.backward()
    assert sorted(seen) == [False, True]  # u's buffer was written in place, w's was not
    numpy.testing.assert_allclose(u.grad.asnumpy(), old.T @ numpy.ones((3, 2)), rtol=1e-12)
    numpy.testing.assert_allclose(w.grad.asnumpy(), X.T @ numpy.ones((5, 4)), rtol=1e-12)


def test_a_held_gradient_sees_the_new_values_and_the_same_leaf_twice_sums(monkeypatch):
    seen = _spy_direct_writes(monkeypatch)
    A = numpy.random.default_rng(3).standard_normal((3, 3))
    a = np.array(A)
    a.attach_grad()
    held = a.grad  # the caller holds the buffer: the rule's result is copied in, not written early
    with autograd.record():
        y = np.dot(a, a).sum()  # one node, the same variable twice
    y.backward()
    ones = numpy.ones((3, 3))
    numpy.testing.assert_allclose(held.asnumpy(), ones @ A.T + A.T @ ones, rtol=1e-12)
    del held
    with autograd.record():
        y = np.dot(a, a).sum()
    y.backward()
    assert seen[-1] is False  # offered to one input at most; the other's cotangent was added out of place
    numpy.testing.assert_allclose(a.grad.asnumpy(), ones @ A.T + A.T @ ones, rtol=1e-12)


def test_an_add_buffer_is_never_offered(monkeypatch):
    seen = _spy_direct_writes(monkeypatch)
    X, W, _ = _mats(4)
    w = np.array(W)
    w.attach_grad("add")
    for _ in range(2):
        with autograd.record():
            y = np.dot(np.array(X), w).sum()
        y.backward()
    assert True not in seen
    numpy.testing.assert_allclose(w.grad.asnumpy(), 2 * X.T @ numpy.ones((5, 4)), rtol=1e-12)

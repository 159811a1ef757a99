"""The routes an op call and a rule call take, pinned (see tapegrad/_core/op.py and rules.py).

An op call: (1) raw mode, ``Op.raw_call``; (2) the fast route of a declared ufunc, in
``UfuncOp1/UfuncOp2.__call__``; (3) ``dispatch.apply``. A VJP: (1) ``run_vjp`` on Arrays;
(2) ``run_raw`` on raw buffers; (3) ``call_vjp_direct`` / ``call_jvp`` on live values. Both
dialects take the same routes.
"""
import numpy
import pytest

import tapegrad
import tapegrad.torch as torch
from tapegrad import autograd, np
from tapegrad._core import dispatch, op as op_mod, rules
from tapegrad._core.array import OPS


@pytest.fixture
def taken(monkeypatch):
    """Which routes the calls inside the test took: 'raw', 'apply' (a call of the fast route is
    neither); and which rule calls: 'run_vjp', 'run_raw', 'direct'."""
    seen = []
    real_apply, real_raw = op_mod.apply, op_mod.Op.raw_call
    monkeypatch.setattr(op_mod, "apply", lambda *a: (seen.append("apply"), real_apply(*a))[1])
    monkeypatch.setattr(op_mod.Op, "raw_call", lambda self, *a: (seen.append("raw"), real_raw(self, *a))[1])
    for op in (OPS.sin, OPS.sum, OPS.multiply):
        for name in ("run_vjp", "run_raw"):
            real = getattr(op, name)
            monkeypatch.setattr(op, name, lambda node, g, outs=None, real=real, name=name:
                                (seen.append(name), real(node, g, outs))[1])
    real_direct = rules.call_vjp_direct
    monkeypatch.setattr(rules, "call_vjp_direct", lambda *a: (seen.append("direct"), real_direct(*a))[1])
    return seen


@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
def test_an_op_call_takes_one_of_three_routes(taken, dialect):
    if dialect == "mxnet":
        x = np.array([0.5, 1.0])
        x.attach_grad()
        scope = autograd.record
    else:
        x = torch.tensor([0.5, 1.0], requires_grad=True)
        scope = torch.enable_grad
    with scope():
        y = OPS.sin(x)  # a declared ufunc on one host array: the fast route
        assert taken == [] and y._node.op is OPS.sin
        z = y * 2.0  # an array and a Python number: the fast route
        assert taken == [] and z._node.op is OPS.multiply
        s = OPS.sum(z)  # not a ufunc: apply
        assert taken == ["apply"]
        OPS.multiply(x, [2.0, 3.0])  # an array-like operand: apply
        assert taken == ["apply", "apply"]
    del taken[:]
    s.backward()  # no graph built: the rules run on raw buffers, and their ops in raw mode
    assert "run_raw" in taken and "run_vjp" not in taken and "apply" not in taken
    assert "raw" in taken  # sum's rule broadcasts g back: a non-ufunc op in raw mode


def test_a_rule_is_called_on_arrays_when_the_backward_builds_a_graph(taken):
    x = np.array([0.5, 1.0])
    x.attach_grad()
    with autograd.record():
        y = OPS.sin(x)
        (gx,) = autograd.grad([OPS.sum(y)], [x], create_graph=True)
    assert "run_vjp" in taken and "run_raw" not in taken
    numpy.testing.assert_allclose(gx.asnumpy(), numpy.cos([0.5, 1.0]), rtol=1e-6)


def test_a_rule_is_called_on_live_values_in_forward_mode(taken):
    (_, t) = tapegrad.jvp(lambda v: np.sin(v), (np.array([0.5, 1.0]),), (np.array([1.0, 0.0]),))
    assert taken.count("direct") == 1  # sin has no JVP of its own: derived from its VJP on live values
    assert "run_vjp" not in taken and "run_raw" not in taken
    numpy.testing.assert_allclose(t.asnumpy(), [numpy.cos(0.5), 0.0], rtol=1e-6)


def test_the_fast_route_steps_aside_under_a_forward_trace_and_for_other_arrays(taken):
    x = np.array([0.5, 1.0])
    tapegrad.jvp(lambda v: np.sin(v), (x,), (np.array([1.0, 1.0]),))
    assert "apply" in taken  # a forward trace needs the general route's tangent propagation
    del taken[:]
    np.sin(numpy.array([0.5, 1.0]))  # a NumPy array, not a tapegrad one
    np.add(x, numpy.float32(1.0))  # a NumPy scalar
    assert taken == ["apply", "apply"]


def test_the_dialect_policy_is_read_on_the_fast_route_as_on_the_general_one():
    i = torch.tensor([1, 2, 3])
    assert (i * 2.5).dtype == dispatch.apply(OPS.multiply, (i, 2.5), {}).dtype == torch.float32
    a = np.array([1.0, 2.0], dtype="float64")
    b = np.array([[1.0], [2.0]], dtype="float32")
    with pytest.raises(TypeError, match="products need one dtype"):
        np.matmul(a, b)  # the fast route refuses MXNet's mixed-dtype product like the general one


def test_an_output_of_a_multi_output_op_on_the_fast_route_keeps_its_index():
    """``sin(w)`` for ``w, v = eigh(a)``: the node must name output 0 of eigh (the general node),
    and the gradient must be the general route's."""
    a0 = numpy.array([[2.0, 0.5], [0.5, 1.0]])
    grads = []
    for call in (lambda w: OPS.sin(w), lambda w: dispatch.apply(OPS.sin, (w,), {})):
        a = np.array(a0)
        a.attach_grad()
        with autograd.record():
            w, v = np.linalg.eigh(a)
            y = call(w)
            assert y._node.pidx == [0]
            s = OPS.sum(y * 3.0)
        s.backward()
        grads.append(a.grad.asnumpy())
    numpy.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_a_dialect_function_of_a_ufunc_op_enters_the_fast_route(taken):
    """``torch.sin`` is an ``Entry`` of the op ``sin``: a floating tensor takes the op's fast route (no frame
    of the dialect on the way); every other input goes to the dialect's own function, as before."""
    from tapegrad._core.op import Entry
    assert isinstance(torch.sin, Entry) and torch.sin.__name__ == "sin"
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    y = torch.sin(x)
    assert taken == [] and y._node.op is OPS.sin and y.grad_fn.name() == "SinBackward0"
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), numpy.cos([0.5, 1.0]), rtol=1e-6)
    i = torch.tensor([1, 2])
    assert torch.sin(i).dtype == torch.float32  # PyTorch's int-to-float: computed in the default dtype
    numpy.testing.assert_array_equal(torch.sin(i).numpy(), numpy.sin(numpy.float32([1, 2])))
    assert torch.reciprocal(i).dtype == torch.float32  # (NumPy's reciprocal of an int is an int)
    assert torch.square(i).dtype == torch.int64
    with pytest.raises(TypeError, match=r"sin\(\): argument 'input' \(position 1\) must be Tensor, not float"):
        torch.sin(1.0)
    with pytest.raises(TypeError, match="must be Tensor, not ndarray"):
        torch.exp(np.array([1.0]))  # another dialect's array is not the fast route's
    assert x.sin().grad_fn.name() == "SinBackward0"  # the method: the dialect's function


def test_a_product_with_a_number_watches_no_versions_but_one_with_a_tensor_does():
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    a = x * 1.0
    b = a * 2.8  # multiply's rule reads only the number for a's gradient: nothing of a is saved
    assert b._node.vcheck is None
    a.add_(1.0)
    b.sum().backward()  # no saved value was modified: allowed, as in PyTorch
    c = x * 1.0
    d = c * c
    assert d._node.vcheck is not None
    c.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        d.sum().backward()


def test_every_route_notes_the_users_line():
    """A node notes the line of the user's call on each route: the fast one, ``apply`` (which skips its
    own known frames without looking), a method, a multi-output op, a dialect's function and an Entry."""
    import inspect
    from tapegrad._core.site import site_of

    def line() -> int:
        return inspect.currentframe().f_back.f_lineno

    def resolve_line(e) -> int:
        from tapegrad._core.site import resolve
        return resolve(e.code, e.lasti).lineno

    x = np.array([0.5, 1.0])
    x.attach_grad()
    with autograd.record():
        y = np.sin(x); n = line()  # noqa: E702
        assert site_of(y._node).lineno == n
        y = x * 2.0; n = line()  # noqa: E702  (an operator: the op's Operator view, one frame further out)
        assert site_of(y._node).lineno == n and y._node.op is OPS.multiply
        y = x @ x; n = line()  # noqa: E702
        assert site_of(y._node).lineno == n and y._node.op is OPS.matmul
        y = x / 3.0; n = line()  # noqa: E702  (divide is not a ufunc op: the operator calls the op itself)
        assert site_of(y._node).lineno == n
        y = np.linalg.norm(x); n = line()  # noqa: E702
        assert site_of(y._node).lineno == n and y._node.op is OPS.norm
        y = x.sum(); n = line()  # noqa: E702
        assert site_of(y._node).lineno == n
        y = dispatch.apply(OPS.sin, (x,), {}); n = line()  # noqa: E702
        assert y._node.code.co_name != "apply"  # (a caller of apply other than Op.__call__: a frame further)
        w, v = np.linalg.eigh(np.array([[2.0, 0.5], [0.5, 1.0]]) * x[0]); n = line()  # noqa: E702
        y = np.sin(w); n = line()  # noqa: E702
        assert site_of(y._node).lineno == n  # a multi-output op's output on the fast route: record
    with autograd.record():
        y = x * 1.0
        y < 3.0; n = line()  # noqa: E702  (a comparison notes explain's breadcrumb at the user's line)
    from tapegrad._core.events import events_of
    assert resolve_line(events_of(y._node)["nondiff"]) == n
    t = torch.tensor([0.5, 1.0], requires_grad=True)
    y = t + 1.0; n = line()  # noqa: E702
    assert site_of(y._node).lineno == n
    y = torch.sin(t); n = line()  # noqa: E702
    assert site_of(y._node).lineno == n
    y = torch.sigmoid(t); n = line()  # noqa: E702
    assert site_of(y._node).lineno == n
    y = torch.nn.functional.linear(t, torch.ones(3, 2)); n = line()  # noqa: E702
    assert site_of(y._node).lineno == n

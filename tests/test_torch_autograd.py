"""The PyTorch dialect's autograd policy, as measured on PyTorch 2.13 (reference/semantics.md §10)."""
from __future__ import annotations

import warnings

import numpy
import pytest

import tapegrad.torch as torch
from tapegrad import AutogradError, autograd as mx_autograd, np as mx_np


def test_grad_is_none_until_backward_then_accumulates_in_the_same_tensor():
    x = torch.arange(4.0, requires_grad=True)
    assert x.grad is None and x.is_leaf and x.grad_fn is None
    y = 2 * torch.dot(x, x)
    assert not y.is_leaf and y.requires_grad
    y.backward()
    g = x.grad
    assert repr(g) == "tensor([ 0.,  4.,  8., 12.])"
    (x * x).sum().backward()
    assert x.grad is g and repr(g) == "tensor([ 0.,  6., 12., 18.])"
    assert x.grad.zero_() is g and repr(g) == "tensor([0., 0., 0., 0.])"
    x.grad = None
    assert x.grad is None


def test_zero_on_missing_grad_is_an_attribute_error():
    x = torch.arange(4.0, requires_grad=True)
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'zero_'"):
        x.grad.zero_()


def test_non_scalar_backward_needs_a_gradient():
    x = torch.arange(4.0, requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar outputs$"):
        y.backward()
    assert x.grad is None
    y.backward(torch.ones(4))
    assert repr(x.grad) == "tensor([0., 2., 4., 6.])"
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"torch.Size\(\[3\]\) and output\[0\] has a shape of torch.Size\(\[4\]\)."):
        (x * x).backward(torch.ones(3))
    a = torch.tensor([1.5], requires_grad=True)
    (a * 2).backward()  # one element: implicit gradient allowed
    assert repr(a.grad) == "tensor([2.])"


SECOND = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
          "already been freed).")


def test_second_backward_fails_only_where_a_saved_value_is_needed():
    x = torch.arange(4.0, requires_grad=True)
    y = x.sum()
    y.backward()
    y.backward()  # sum saves nothing
    assert repr(x.grad) == "tensor([2., 2., 2., 2.])"
    for make in (lambda: 2 * torch.dot(x, x), lambda: (x * x).sum(), lambda: (x * 2).sum()):
        y = make()
        y.backward()
        with pytest.raises(AutogradError) as e:
            y.backward()
        assert str(e.value).startswith(SECOND) and "retain_graph=True" in str(e.value)


def test_retain_graph_accumulates():
    x = torch.arange(4.0, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert repr(x.grad) == "tensor([ 0.,  4.,  8., 12.])"


def test_no_graph_errors_and_grad_modes():
    x = torch.arange(4.0)
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        x.sum().backward()
    w = torch.arange(4.0, requires_grad=True)
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = torch.dot(w, w)
        with torch.enable_grad():
            assert torch.is_grad_enabled()
    assert repr(y) == "tensor(14.)" and not y.requires_grad
    assert torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    assert not torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    with torch.inference_mode():
        z = w * 2
    assert repr(z) == "tensor([0., 2., 4., 6.])"

    @torch.no_grad()
    def f(t):
        return t * 3
    assert not f(w).requires_grad


def test_non_leaf_grad_warns_and_retain_grad_populates():
    x = torch.arange(4.0, requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert y.grad is None
    y.retain_grad()
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert repr(y.grad) == "tensor([1., 1., 1., 1.])"


def test_hooks_can_replace_gradients():
    x = torch.arange(3.0, requires_grad=True)
    y = x * 2
    seen = []
    h = y.register_hook(lambda g: seen.append(g) or g * 10)
    y.sum().backward()
    assert repr(x.grad) == "tensor([20., 20., 20.])" and len(seen) == 1
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert repr(x.grad) == "tensor([2., 2., 2.])"


def test_detach_shares_storage():
    x = torch.arange(4.0, requires_grad=True)
    y = x * x
    u = y.detach()
    assert not u.requires_grad and u.is_leaf and u.grad is None
    u[0] = 100
    assert repr(y) == "tensor([100.,   1.,   4.,   9.], grad_fn=<MulBackward0>)"
    z = x * 3
    assert z.detach_() is z and repr(z) == "tensor([0., 3., 6., 9.])"


def test_in_place_rules():
    x = torch.arange(4.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in an in-place operation.$"):
        x += 1
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad. Use tensor.detach"):
        x.numpy()
    buf = x._data
    with torch.no_grad():
        x -= 0.1
    assert x._data is buf and repr(x) == "tensor([-0.1000,  0.9000,  1.9000,  2.9000], requires_grad=True)"
    y = x.exp()
    y += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation: \\[torch.FloatTensor \\[4\\]\\], which is "
                                           "output 0 of Exp, is at version 1; expected version 0 instead"):
        y.sum().backward()


def test_setitem_on_a_non_leaf_is_differentiable():
    K = torch.tensor([[1.0, -1.0]], requires_grad=True)
    X = torch.arange(6.0).reshape(2, 3) if hasattr(torch.Tensor, "reshape") else None
    if X is None:
        pytest.skip("reshape not yet available")
    Y = torch.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            Y[i, j] = (X[i:i + 1, j:j + 2] * K).sum()
    assert Y.requires_grad and Y.grad_fn is not None
    Y.sum().backward()
    numpy.testing.assert_allclose(numpy.asarray(K.grad), [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5]])


def test_autograd_grad_create_graph_and_unused():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    assert repr(g) == "tensor([ 3., 12., 27.], grad_fn=<MulBackward0>)" or g.grad_fn is not None
    assert x.grad is None
    g.sum().backward()
    assert repr(x.grad) == "tensor([ 6., 12., 18.])"
    z = torch.tensor([1.0], requires_grad=True)
    w = (x * 2).sum()
    with pytest.raises(RuntimeError, match="The differentiated Tensor at index 0 appears to not have been used"):
        torch.autograd.grad(w, [z], retain_graph=True)
    assert torch.autograd.grad(w, [z], allow_unused=True) == (None,)
    y = (x * x).sum()
    res = torch.autograd.grad(y, [x])
    assert isinstance(res, tuple) and res[0].grad_fn is None
    with pytest.raises(AutogradError, match="a second time"):
        torch.autograd.grad(y, [x])


def test_requires_grad_only_for_floating_point():
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype can require gradients$"):
        torch.tensor([1, 2], requires_grad=True)


def test_item_and_bool_errors():
    with pytest.raises(RuntimeError, match="^a Tensor with 4 elements cannot be converted to Scalar$"):
        torch.arange(4.0).item()
    with pytest.raises(RuntimeError, match="^Boolean value of Tensor with more than one value is ambiguous$"):
        bool(torch.arange(4.0))
    assert torch.tensor(2.5).item() == 2.5 and torch.tensor([7]).item() == 7


def test_grad_fn_names_and_next_functions():
    a = torch.tensor([1.0], requires_grad=True)
    d = a * 2 / a
    assert d.grad_fn.name() == "DivBackward0"
    mul, acc = [f for f, _ in d.grad_fn.next_functions]
    assert mul.name() == "MulBackward0" and acc.name() == "AccumulateGrad" and acc.variable is a
    assert repr(torch.arange(4.0, requires_grad=True).sum()) == "tensor(6., grad_fn=<SumBackward0>)"


def test_custom_function_with_ctx():
    class Exp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            r = x.exp()
            ctx.save_for_backward(r)
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True,)
            return g * r

    x = torch.tensor([0.0, 1.0], requires_grad=True)
    y = Exp.apply(x)
    assert y.grad_fn is not None
    y.sum().backward()
    numpy.testing.assert_allclose(numpy.asarray(x.grad), numpy.exp([0.0, 1.0]), rtol=1e-6)


def test_gradcheck_and_gradgradcheck():
    x = torch.tensor(numpy.array([0.3, -0.7, 1.1]), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: (t.exp() * t).sum(), (x,))
    assert torch.autograd.gradgradcheck(lambda t: (t.exp() * t).sum(), (x,))


def test_both_dialects_in_one_process_keep_their_semantics():
    xm = mx_np.arange(4.0)
    xm.attach_grad()
    xt = torch.arange(4.0, requires_grad=True)
    with mx_autograd.record():
        ym = (xm * xm).sum()
    yt = (xt * xt).sum()
    assert not mx_autograd.is_recording()
    zm = xm * 2  # outside record(): not recorded, even though torch's grad mode is on
    assert zm._node is None
    ym.backward()
    yt.backward()
    assert repr(xm.grad) == "array([0., 2., 4., 6.])" and repr(xt.grad) == "tensor([0., 2., 4., 6.])"
    with mx_autograd.record():
        ym = (xm * xm).sum()
    ym.backward()
    (xt * xt).sum().backward()
    assert repr(xm.grad) == "array([0., 2., 4., 6.])"      # MXNet writes
    assert repr(xt.grad) == "tensor([ 0.,  4.,  8., 12.])"  # PyTorch accumulates
    with torch.no_grad():
        with mx_autograd.record():
            ym = (xm * 3).sum()  # torch's no_grad does not pause MXNet's recording
    ym.backward()
    assert repr(xm.grad) == "array([3., 3., 3., 3.])"
    with pytest.raises(TypeError, match="cannot mix"):
        xm + xt


def test_complex_gradients_follow_pytorchs_convention():
    """Measured on PyTorch 2.13: the conjugate of the HIPS/JAX convention the other dialects use."""
    z = torch.tensor(1 + 2j, requires_grad=True)
    (z * z).real.backward()
    assert repr(z.grad) == "tensor(2.-4.j)"
    z = torch.tensor(1 + 2j, requires_grad=True)
    (z * z).backward(torch.tensor(1 + 0j))
    assert repr(z.grad) == "tensor(2.-4.j)"
    z = torch.tensor(1 + 2j, requires_grad=True)
    assert repr(torch.autograd.grad(z * z, z, grad_outputs=torch.tensor(1j))[0]) == "tensor(4.+2.j)"


def test_post_accumulate_grad_hooks_run_after_the_leaf_gradient_is_accumulated():
    # as PyTorch 2.13 (measured): the hook gets the leaf, after .grad holds the new sum; remove() stops it
    x = torch.ones(2, requires_grad=True)
    seen = []
    h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert [s.tolist() for s in seen] == [[3.0, 3.0], [6.0, 6.0]]
    h.remove()
    (x * 3).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="^post accumulate grad hooks cannot be registered on non-leaf tensors$"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that doesn't require gradient$"):
        torch.ones(2).register_post_accumulate_grad_hook(lambda t: None)


def test_a_hooked_leaf_whose_gradient_the_graph_read_is_accumulated_after_its_readers():
    # a post-accumulate hook lets the engine accumulate w.grad as soon as w's gradient is complete, but
    # never before a rule that reads w.grad's buffer (saved here for u's gradient) has run
    rng = numpy.random.default_rng(3)
    W, old, X = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), rng.standard_normal((5, 3))
    w = torch.tensor(W, requires_grad=True)
    w.grad = torch.tensor(old.copy())
    u = torch.ones(2, 4, dtype=torch.float64, requires_grad=True)
    order = []
    w.register_post_accumulate_grad_hook(lambda t: order.append("w"))
    u.register_post_accumulate_grad_hook(lambda t: order.append("u"))
    p = (w.grad @ u).sum()  # created first: its rule (reading w.grad for u) runs last
    q = (torch.tensor(X) @ w).sum()
    (p + q).backward()
    numpy.testing.assert_allclose(u.grad.numpy(), old.sum(axis=0)[:, None] * numpy.ones((2, 4)), rtol=1e-12)
    numpy.testing.assert_allclose(w.grad.numpy(), old + X.T @ numpy.ones((5, 2)), rtol=1e-12)
    assert order == ["u", "w"]  # w held back until u's rule had read its buffer

"""Gradient buffers: a first PyTorch-dialect gradient is kept without a copy only when nothing else
holds its buffer (the engine's ``_fresh``), so no two gradients, and no gradient and a user's
tensor, ever share memory."""
import numpy
import pytest

import tapegrad.torch as torch
from tapegrad._core import engine


def _shares(a, b):
    return numpy.shares_memory(a.detach().numpy(), b.detach().numpy())


def test_a_fresh_gradient_is_kept_without_a_copy(monkeypatch):
    kept = []
    real = engine._write_leaf

    def spy(node, g, create_graph, raw=False, owned=False):
        kept.append(owned)
        real(node, g, create_graph, raw, owned)
    monkeypatch.setattr(engine, "_write_leaf", spy)
    w = torch.tensor(numpy.ones((3, 2)), requires_grad=True)
    x = torch.tensor(numpy.arange(6.0).reshape(2, 3))
    (x @ w).sum().backward()
    assert kept == [True]
    numpy.testing.assert_array_equal(w.grad.numpy(), x.numpy().T @ numpy.ones((2, 2)))


def test_a_cotangent_passed_to_two_leaves_is_copied_for_each():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, 4.0], requires_grad=True)
    (a + b).backward(torch.tensor([1.0, 1.0]))
    assert not _shares(a.grad, b.grad)
    a.grad.add_(1)
    numpy.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("f", [lambda x: x * 1, lambda x: x + 0, lambda x: x.reshape(2, 2).reshape(4), lambda x: +x])
def test_a_head_gradient_never_becomes_a_leaf_gradient(f):
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    t = torch.tensor([1.0, 2.0, 3.0, 4.0])
    f(x).backward(t)
    assert not _shares(x.grad, t)
    t.mul_(0)
    numpy.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0, 4.0])


def test_a_saved_buffer_never_becomes_a_leaf_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([5.0, 6.0])
    (x * y).sum().backward()
    assert not _shares(x.grad, y)
    x.grad.zero_()
    numpy.testing.assert_array_equal(y.numpy(), [5.0, 6.0])


def test_versions_are_checked_only_after_some_write(monkeypatch):
    """A backward compares saved versions only when an in-place write happened since the node was
    recorded (the process-wide write count moved); a write is still always caught."""
    checked = []
    real = engine._check_versions
    monkeypatch.setattr(engine, "_check_versions", lambda node: (checked.append(node), real(node)))
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    torch.exp(x).sum().backward()
    assert checked == []
    y = torch.exp(x)
    z = torch.ones(2)
    z.add_(1)  # a write elsewhere: the check runs, and passes
    y.sum().backward()
    assert len(checked) == 1
    y = torch.exp(x)
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()

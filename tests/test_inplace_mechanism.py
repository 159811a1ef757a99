"""One in-place mechanism for both dialects (issue 13, item 5).

Augmented assignment, the PyTorch dialect's ``add_``-style methods and ``x[k] = v`` all reach the core's
template ``Array._update``; each dialect differs only in its entry points' refusals and in the hooks the
template consults: ``_records_update`` (is the update recorded), ``_fit`` (the casting rule), ``_adopt``
(the recorded update) and ``_check_writable`` (the error for read-only memory).
"""
from __future__ import annotations

import numpy
import pytest

import tapegrad.np as mnp
import tapegrad.torch as tt
from tapegrad import autograd
from tapegrad._core.array import Array
from tapegrad.ndarray import ndarray
from tapegrad.torch._functions import inplace


@pytest.fixture
def updates(monkeypatch):
    """The names of the updates that went through ``Array._update``, in order."""
    seen: list = []
    template = Array._update

    def spy(self, name, *args, **kwargs):
        seen.append((type(self).__name__, name))
        return template(self, name, *args, **kwargs)
    monkeypatch.setattr(Array, "_update", spy)
    return seen


def _mx(values=(1.0, 2.0, 3.0), dtype="float32"):
    return mnp.array(numpy.array(values, dtype=dtype))


def test_mxnet_augmented_assignment_item_writes_and_sort_reach_the_template(updates):
    x = _mx()
    w = _mx((1.0, 1.0, 1.0))
    w.attach_grad()
    buf = x._data
    x += 1  # written in place by the op (nothing recorded)
    x *= 2
    x /= 2
    x **= 1
    x[0] = 7.0
    x.sort()
    assert x._data is buf and x._node is None
    y = _mx()
    with autograd.record():
        x -= w  # recorded: x takes the result's place
        y[1] = w[1]
        loss = x.sum() + y.sum()
    loss.backward()
    assert w.grad.tolist() == [-1.0, 0.0, -1.0]
    assert updates == [("ndarray", n) for n in ("add", "multiply", "divide", "power", "setitem", "sort",
                                                "subtract", "setitem")]
    assert x.tolist() == [2.0, 3.0, 6.0] and y.tolist() == [1.0, 1.0, 3.0]


@pytest.mark.parametrize("grad", [False, True])
def test_torch_augmented_assignment_methods_and_item_writes_reach_the_template(updates, grad):
    x = tt.tensor([1.0, 2.0, 3.0])
    with tt.set_grad_enabled(grad):
        x += 1
        x.add_(1)
        x.sub_(1, alpha=2)
        x.mul_(2)
        x[0] = 7.0
        x.exp_()
        x.zero_()
        x.fill_(3)
        x.clamp_(max=2)
    names = [n for _, n in updates]
    assert names == ["add", "add", "subtract", "multiply", "setitem", "", "fill_", "fill_", ""]
    assert {c for c, _ in updates} == {"Tensor"}
    assert x.tolist() == [2.0, 2.0, 2.0]


def test_each_update_moves_the_version_once_in_both_dialects():
    for x in (_mx(), tt.tensor([1.0, 2.0, 3.0])):
        v = x._version
        x += 1
        x[1] = 5.0
        assert x._version == v + 2


def test_the_hooks_are_the_dialects_own():
    assert ndarray._fit is Array._fit and ndarray._adopt is Array._adopt
    assert tt.Tensor._fit is inplace._fit and tt.Tensor._adopt is inplace._adopt
    assert tt.Tensor._check_writable is inplace._check_writable
    assert tt.Tensor._records_update is not Array._records_update


def test_mxnet_casting_rule_casts_silently_both_written_and_recorded():
    a = _mx((1, 2), "int32")
    a += 1.7  # written by the op itself, cast as NumPy's unsafe casting does
    assert a.dtype == numpy.int32 and a.tolist() == [2, 3]
    w = _mx((1.0, 2.0))
    w.attach_grad()
    z = _mx((0.0, 0.0))
    with autograd.record():
        z += w.astype("float64") * 2  # recorded: the float64 result is cast to z's float32 by _fit
        loss = z.sum()
    loss.backward()
    assert z.dtype == numpy.float32 and z.tolist() == [2.0, 4.0]
    assert w.grad.tolist() == [2.0, 2.0]


def test_mxnet_recorded_update_keeps_the_shape():
    w = _mx((1.0, 2.0))
    w.attach_grad()
    x = _mx((1.0, 2.0))
    with autograd.record(), pytest.raises(ValueError, match=r"in-place add would change the shape from \(2,\)"):
        x += w.reshape((2, 1))


def test_torch_casting_rule_refuses_what_pytorch_refuses_and_casts_the_rest():
    t = tt.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        t += 1.5
    t.copy_(tt.tensor([2.7, 3.2]))  # copy_ casts silently (check=False), as in PyTorch
    assert t.dtype == tt.int64 and t.tolist() == [2, 3]
    f = tt.tensor([1.0, 2.0])
    f += tt.tensor([1.0, 1.0], dtype=tt.float64)  # a float64 result cast back to float32
    assert f.dtype == tt.float32 and f.tolist() == [2.0, 3.0]


def test_read_only_memory_raises_each_dialects_error():
    e = tt.ones(1, 3).expand(2, 3)
    for write in (lambda: e.add_(1), lambda: e.__setitem__(0, 2.0), lambda: e.fill_(1), lambda: e.exp_()):
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor") as info:
            write()
        assert info.value.__suppress_context__
    buf = numpy.zeros(3, dtype=numpy.float32)
    buf.flags.writeable = False
    a = ndarray._make(buf)
    with pytest.raises(ValueError, match="read-only"):
        a += 1  # MXNet: NumPy's own error stands


def test_torch_writes_through_a_view_of_a_recorded_tensor_are_recorded_alike():
    # the view has no history of its own (made without grad mode); its base does: every in-place op
    # on it, fill_ included, is recorded into the base's history (CopySlices)
    for write in (lambda v: v.fill_(0.0), lambda v: v.mul_(0.0), lambda v: v.__setitem__(..., 0.0)):
        w = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = w * 2
        with tt.no_grad():
            v = b[1:]
        write(v)
        b.sum().backward()
        assert w.grad.tolist() == [2.0, 0.0, 0.0]

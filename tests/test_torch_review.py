"""Regressions found by a review of the PyTorch dialect's issue-12 changes (version counters shared by
views and detached copies, the one in-place path, PyTorch's result types), each against PyTorch 2.13
where it is installed."""
from __future__ import annotations

import sys

import numpy

import tapegrad.torch as torch

_tensor_mod = sys.modules["tapegrad.torch.tensor"]


def test_replaced_data_lends_its_counter_to_no_other_tensor():
    # the shared counters are found by the id of the buffer owning the memory; once `w.data = ...` let go
    # of w's old buffer, a new buffer at the same address joined w's counter, and w's next in-place write
    # failed an unrelated backward with "modified by an inplace operation"
    w = torch.tensor(numpy.ones((4, 4)))
    d = w.detach()  # w and d share a counter
    del d
    w.data = torch.tensor(numpy.zeros((4, 4)))
    for key, ref in _tensor_mod._BY_OWNER.items():
        g = ref()
        assert g is None or id(g.owner) == key
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    keep = []
    for _ in range(2000):  # fresh buffers, which reused the old buffer's address within a few before
        y = x * 2
        assert y._storage is None or y._storage is not w._storage
        keep.append(y)
    z = sum((y * y).sum() for y in keep[:50])
    w.mul_(0.5)
    z.backward()
    numpy.testing.assert_allclose(x.grad.numpy(), 400 * x.detach().numpy())


def test_a_view_of_data_does_not_read_as_a_write_to_a_saved_tensor():
    # `.data` has a version counter of its own in PyTorch; a view of it (`a.data[0]`, printing a row) made
    # a counter for the memory that started at .data's version 0, and a backward that had saved `a` at
    # version 1 (after a.mul_) failed with a false "modified by an inplace operation" once `a` was gone
    x = torch.ones(3, requires_grad=True)
    a = x * 1
    a.mul_(2)
    b = (a * a).sum()
    d = a.data
    del a
    d[0]
    b.backward()  # PyTorch 2.13: no error, x.grad == [8, 8, 8]
    numpy.testing.assert_array_equal(x.grad.numpy(), [8.0, 8.0, 8.0])
    # a write through .data goes unseen in both systems; one through detach() is seen
    x = torch.ones(3, requires_grad=True)
    a = x * 1
    b = (a * a).sum()
    a.data.add_(1)
    b.backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])


def test_real_and_imag_are_views_of_a_complex_tensor():
    # .real/.imag were copies (the ops copy), so writes through them were silently lost; PyTorch 2.13:
    # x.real.mul_(2); x.imag.add_(1) on [1+2j, 3-1j] gives [2+3j, 6+0j]
    x = torch.tensor([1 + 2j, 3 - 1j])
    r = x.real
    r.mul_(2)
    x.imag.add_(1)
    numpy.testing.assert_array_equal(x.numpy(), [2 + 3j, 6 + 0j])
    assert r._version == x._version == 2 and r._base is x
    y = torch.tensor([1.0, 2.0])  # a real tensor's .real is the tensor; .imag is refused
    assert y.real is y
    try:
        y.imag
    except RuntimeError as e:
        assert "non-complex" in str(e)
    else:
        raise AssertionError("imag of a real tensor")
    # gradients through the parts, and a write through one part to a saved other part is detected
    z = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    w = z * (1 + 1j)
    ((w.real ** 2).sum() + (w.imag * 3).sum()).backward()
    numpy.testing.assert_allclose(z.grad.numpy(), [1 + 5j, 11 - 5j])  # PyTorch 2.13
    w = z * 2
    e = (w.real * w.real).sum()
    with torch.no_grad():
        w.imag.mul_(2)
    try:
        e.backward()
    except RuntimeError as err:
        assert "modified by an inplace operation" in str(err)
    else:
        raise AssertionError("the write through .imag went unseen")


def test_a_write_to_a_linear_weight_before_backward_is_detected():
    # F.linear saved OPS.transpose(weight), an alias nothing linked to weight: with no view or detached
    # copy of the weight around, optimizer.step() (or any write to the weight) between forward and
    # backward went unseen and the input's gradient used the new weight. PyTorch 2.13 refuses it:
    # "[torch.FloatTensor [3, 2]], which is output 0 of AsStrided, is at version 2; expected version 1"
    for through_view in (False, True):
        lin = torch.nn.Linear(3, 2)
        x = torch.ones(4, 3, requires_grad=True)
        out = lin(x).sum()
        with torch.no_grad():
            (lin.weight[0] if through_view else lin.weight).mul_(2)
        try:
            out.backward()
        except RuntimeError as e:
            assert "[torch.FloatTensor [3, 2]], which is output 0 of AsStrided, is at version 2; expected version 1" \
                in str(e)
        else:
            raise AssertionError("the write to the weight went unseen")


def test_nn_flatten_is_a_view_that_shares_the_version_counter():
    # F.flatten (and so nn.Flatten) reshaped without linking the result to its input, so a write to the
    # input after the flattened tensor was saved went unseen and the gradient silently used the new
    # values (6 instead of PyTorch 2.13's refusal: "[torch.FloatTensor [6]], which is output 0 of
    # AsStrided, is at version 1; expected version 0")
    for flat in (torch.nn.Flatten(0), lambda t: torch.nn.functional.flatten(t)):
        a = torch.ones(2, 3, requires_grad=True)
        x = a * 1
        y = flat(x)
        assert y._base is x
        loss = (y * y).sum()
        x.mul_(3)
        try:
            loss.backward()
        except RuntimeError as e:
            assert ("[torch.FloatTensor [6]], which is output 0 of AsStrided, is at version 1; expected version 0"
                    in str(e))
        else:
            raise AssertionError("the write to the flattened input went unseen")


def test_modified_leaf_error_text_has_no_stray_comma():
    # PyTorch 2.13 names a saved leaf without ", which is output i of ..." and without the comma before
    # "is at version": "[torch.FloatTensor [3]] is at version 1; expected version 0 instead."
    w = torch.ones(3, requires_grad=True)
    x = torch.ones(3, requires_grad=True)
    y = (x * w).sum()
    with torch.no_grad():
        w.mul_(2)
    try:
        y.backward()
    except RuntimeError as e:
        assert "by an inplace operation: [torch.FloatTensor [3]] is at version 1; expected version 0 instead." in str(e)
    else:
        raise AssertionError("the write to the leaf went unseen")


def test_modules_create_parameters_in_the_default_dtype():
    # nn.Linear and nn.Conv2d made float32 parameters under set_default_dtype(float64), so a float64
    # program failed its first layer (mat1 and mat2 of different dtypes); PyTorch 2.13 makes them float64
    torch.set_default_dtype(torch.float64)
    try:
        lin, conv = torch.nn.Linear(2, 3), torch.nn.Conv2d(1, 2, 3)
        for p in (lin.weight, lin.bias, conv.weight, conv.bias, torch.nn.Parameter()):
            assert p.dtype == torch.float64
        assert torch.nn.Linear(2, 3, dtype=torch.float32).weight.dtype == torch.float32
        x = torch.tensor([[0.1, 0.2]])  # float64 now
        assert lin(x).dtype == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.nn.Linear(2, 3).weight.dtype == torch.float32


def test_numpy_scalars_count_as_python_numbers_in_the_result_type():
    # NumPy scalars reached NumPy's arithmetic as strongly typed values (numpy.float64 even passed for a
    # Python float), so x_half * np.float64(2) was float32 and np.int64(3) - x_int32 int64; PyTorch 2.13
    # reads them as the Python numbers they hold: float16 and int32
    h = torch.ones(2, dtype=torch.float16)
    i = torch.ones(2, dtype=torch.int32)
    assert (h * numpy.float64(2)).dtype == torch.float16
    assert (numpy.float64(3) / h).dtype == torch.float16
    assert torch.mul(h, numpy.float64(3)).dtype == torch.float16
    assert (numpy.int64(3) - i).dtype == torch.int32
    assert (torch.ones(2, dtype=torch.int8) + numpy.int64(3)).dtype == torch.int8
    assert (torch.ones(2) * numpy.complex128(1j)).dtype == torch.complex64
    assert (torch.ones(2, dtype=torch.int64) / numpy.int64(2)).dtype == torch.float32
    assert (torch.ones(2, dtype=torch.int64) * numpy.float64(1.5)).dtype == torch.float32
    assert torch.where(torch.ones(2) > 0, h, numpy.float64(0)).dtype == torch.float16


def test_a_write_to_the_input_of_a_norm_over_all_dims_is_detected():
    # torch.norm over several dims saved a moveaxis + reshape of its input that nothing linked to the
    # input, so a write to the input before backward went unseen and the gradient silently used the new
    # values (row 0 doubled); PyTorch 2.13 refuses it
    w = torch.tensor([[0.5, -1.0, 0.25], [1.5, -0.3, 0.8]], requires_grad=True)
    y = (torch.norm(w) * torch.ones(4, 3)).sum()
    with torch.no_grad():
        w[0].mul_(2)
    try:
        y.backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
    else:
        raise AssertionError("the write to the norm's input went unseen")
    v = torch.tensor([[0.5, -1.0, 0.25], [1.5, -0.3, 0.8]], requires_grad=True)
    torch.norm(v, 3, (1, 0), True).sum().backward()  # the keepdim path, against PyTorch 2.13
    numpy.testing.assert_allclose(v.grad.numpy()[0], [0.08488169, -0.33952677, 0.02122042], rtol=1e-5)


def test_retain_grad_follows_an_in_place_write():
    # PyTorch moves a tensor's retain_grad to the history an in-place write gives it, so .grad is the
    # gradient of the values the tensor holds at the end; it stayed on the old history here (x.grad was
    # [4, -72, 108, 2], PyTorch 2.13's is [4, -24, 36, 2]), and a view's retained grad is None once a
    # write through it made it leave the graph; a hook registered before the write still sees the old one
    w = torch.tensor([1.0, -2.0, 3.0, 0.5], requires_grad=True)
    x = w * 2
    x.retain_grad()
    v = x[1:3]
    v.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    v.mul_(3)
    (x ** 2).sum().backward()
    assert x.grad.tolist() == [4.0, -24.0, 36.0, 2.0]
    assert v.grad is None
    assert seen == [[4.0, -72.0, 108.0, 2.0]]
    assert w.grad.tolist() == [8.0, -144.0, 216.0, 4.0]
    w = torch.tensor([1.0, -2.0, 3.0, 0.5], requires_grad=True)
    x = w * 2
    x.retain_grad()
    x[0] = w[1] * 5
    (x ** 2).sum().backward()
    assert x.grad.tolist() == [-20.0, -8.0, 12.0, 2.0] and w.grad.tolist() == [0.0, -116.0, 24.0, 4.0]


def test_a_0d_integer_tensor_index_gives_a_view():
    # PyTorch indexes with a 0-d integer tensor as with an int (x[torch.argmax(y)] is a view); it was an
    # advanced index here, a copy, so x[i].add_(10) or x[:, i].mul_(0) silently left x as it was
    x = torch.arange(4.0)
    x[torch.tensor(2)].add_(10)
    w = torch.arange(6.0).reshape(2, 3)
    w[:, torch.tensor(1)].mul_(0)
    assert x.tolist() == [0.0, 1.0, 12.0, 3.0] and x._version == 1
    assert w.tolist() == [[0.0, 0.0, 2.0], [3.0, 0.0, 5.0]] and w._version == 1
    a = torch.arange(6.0, requires_grad=True) * 1
    assert a[torch.tensor(3)].grad_fn.name() == "SelectBackward0"
    assert tuple(a[torch.tensor([1])].shape) == (1,)  # a 1-d index stays an advanced index
    assert tuple(w[torch.tensor(True)].shape) == (1, 2, 3)  # and a 0-d bool a mask


def test_reciprocal_of_an_integer_tensor_is_floating():
    # NumPy's reciprocal of an integer is an integer, so torch.reciprocal(tensor([1, 2, 3])) was the int
    # tensor [1, 0, 0]; PyTorch 2.13 gives float32 [1, 0.5, 0.3333] (reciprocal_ already refused the int)
    x = torch.tensor([1, 2, 3])
    for r in (torch.reciprocal(x), x.reciprocal(), torch.reciprocal(torch.tensor([1, 2, 3], dtype=torch.uint8))):
        assert r.dtype == torch.float32
        numpy.testing.assert_allclose(r.numpy(), [1.0, 0.5, 1 / 3], rtol=1e-7)
    assert torch.exp(x).dtype == torch.float32 and torch.sqrt(torch.tensor([True])).dtype == torch.float32


def test_unrecorded_augmented_assignment_writes_through_the_op_itself():
    # +=, -=, *=, /= and add_/sub_/mul_/div_ with nothing to record write into the memory with the op
    # (SGD-momentum step: 105 -> 67 us); views and detached copies still see it and count it
    x = torch.arange(6.0).reshape(2, 3)
    v, d = x[:, 1], x.detach()
    x += 1
    x.sub_(torch.ones(2, 3))
    x *= 2
    x /= 4
    x.add_(0.5, alpha=2)  # alpha != 1: the general path
    assert x.tolist() == [[1.0, 1.5, 2.0], [2.5, 3.0, 3.5]] and v.tolist() == [1.5, 3.0]
    assert x._version == v._version == d._version == 5
    a = torch.ones(3, requires_grad=True)
    y = a * 1
    z = (y * y).sum()
    with torch.no_grad():
        y.detach().add_(1)  # PyTorch 2.13: "... is at version 1; expected version 0"
    try:
        z.backward()
    except RuntimeError as e:
        assert "is at version 1; expected version 0" in str(e)
    else:
        raise AssertionError("the write through the detached copy went unseen")
    e = torch.ones(3).expand(2, 3)
    try:
        e += 1
    except RuntimeError as err:
        assert "single memory location" in str(err)
    else:
        raise AssertionError("a write to an expanded tensor")

"""Red-team tests for ``tapegrad.compile``'s elementwise fusion (``fuse=True``).

The first group are bugs the red team found, fixed since (``fusion._loop_ok``): each docstring says
what went wrong. The second group are attacks that held up (in-place writes between runs, views, escaping intermediates,
broadcasting, the singular-cotangent repair, dialects, the functional API), kept as regressions.
Every case compares a fused compiled function, over several calls (the first traces, the rest
replay), with the eager function run on separate but identical inputs."""
from __future__ import annotations

import numpy
import pytest

import tapegrad
import tapegrad.torch as torch
from tapegrad import autograd, np

numba = pytest.importorskip("numba")


from _fusion_cases import _assert_same, _host, _kernels, _versus_eager  # noqa: F401


# == bugs ==========================================================================================

def test_bug_int_compare_with_out_of_range_python_int():
    """``int8_array > 1000`` is valid NumPy (all False: NumPy 2 compares Python ints exactly); the kernel
    generator converted the constant to the loop dtype, ``numpy.int8(1000)``, which raised OverflowError
    while the Program was built. Now a number its loop dtype cannot hold keeps that op out of kernels."""
    def f(x):
        return (x * 2 > 1000) * x

    c = _versus_eager(f, lambda i: (np.array(numpy.array([1, 2, 3], dtype=numpy.int8)),), rtol=0)
    assert c.replays == 2


def test_bug_sign_of_unsigned_integers():
    """Numba's ``sign`` on unsigned integers reads values >= 2**(bits-1) as negative: ``sign(uint8 200)``
    gave 255 (that is -1) in the fused replay, 1 eagerly. Integer loops fuse only ``INT_OK`` ufuncs now."""
    def f(x):
        return np.sign(x * 1)

    c = _versus_eager(f, lambda i: (np.array(numpy.array([0, 1, 200, 255], dtype=numpy.uint8)),), rtol=0)
    assert c.replays == 2 and not any("sign" in k.names for k in _kernels(c))


def test_bug_reciprocal_of_uint64_zero():
    """``reciprocal`` of an unsigned 0: NumPy gives 0 (integer division by zero), the fused kernel gave
    2**64 - 1."""
    def f(x):
        return np.reciprocal(x * 1)

    c = _versus_eager(f, lambda i: (np.array(numpy.array([0, 1, 2], dtype=numpy.uint64)),), rtol=0)
    assert c.replays == 2 and not any("reciprocal" in k.names for k in _kernels(c))


def test_bug_integer_power_to_negative_exponent():
    """An integer ``power`` whose exponent turns negative after the trace: eagerly (and in the unfused
    replay) NumPy raises ValueError("Integers to negative integer powers are not allowed"); the fused
    replay silently returned 0 for ``3 ** -1``. Integer ``power`` stays a library call now."""
    def f(x, k):
        return (x * 1) ** k

    c = tapegrad.compile(f, fuse=True)
    x = np.array(numpy.array([2, 3]))
    for _ in range(2):
        numpy.testing.assert_array_equal(c(x, np.array(numpy.array([1, 2]))).asnumpy(), [2, 9])
    assert c.replays == 1 and not any("power" in k.names for k in _kernels(c))
    with pytest.raises(ValueError, match="negative integer powers"):
        f(x, np.array(numpy.array([1, -1])))
    with pytest.raises(ValueError, match="negative integer powers"):
        c(x, np.array(numpy.array([1, -1])))


# == attacks that held up ==========================================================================

def _mx(x0, dtype="float64", grad=True):
    def make(i):
        x = np.array(numpy.asarray(x0), dtype=dtype)
        if grad:
            x.attach_grad()
        return (x,)
    return make


X0 = numpy.random.default_rng(0).standard_normal((3, 4))


def test_inplace_writes_between_runs():
    """``x += 1`` on an input, ``y[0] = ...`` and ``y += ...`` on run results, and a write through a view,
    each between two runs: the runs read the values as they are at that point, every call."""
    def f(x):
        y = x * 2 + 1
        w = y + 1
        v = y[::2]
        x += 1
        y[0] = 100.0
        y += 3
        z = w * y + np.sin(x) + v.sum()
        return z, w, v

    c = _versus_eager(f, _mx(X0, grad=False), state=lambda a: a[0])
    assert c.replays == 2 and _kernels(c)


def test_reduction_read_then_write_into_run_result():
    """A reduction of a run value (moved after the run), then an in-place update by it, then a run."""
    def f(x):
        y = x * 2 + 1
        m = y.mean()
        y -= m
        return y * y + np.abs(y), y

    c = _versus_eager(f, _mx(X0, grad=False))
    assert c.replays == 2 and _kernels(c)


def test_intermediates_returned_and_same_operand_twice():
    """Values from inside a run leave the function (they must not be kept buffers reused next call),
    and one value is both operands of an op."""
    def f(x):
        a = x * x
        b = a * a + a
        c_ = np.sin(b) / a
        return a, c_

    c = tapegrad.compile(f, fuse=True)
    outs = [c(np.array(X0)) for _ in range(3)]
    want = f(np.array(X0))
    for a, c_ in outs:  # (each call's outputs stay as they were: new memory per call)
        numpy.testing.assert_allclose(a.asnumpy(), want[0].asnumpy(), rtol=1e-12)
        numpy.testing.assert_allclose(c_.asnumpy(), want[1].asnumpy(), rtol=1e-12)
    assert c.replays == 2 and _kernels(c)


def test_broadcast_row_column_and_zero_d_with_grads():
    """(1,)- and (3,1)-shaped operands and a 0-d one broadcast into the run; their gradients reduce."""
    rng = numpy.random.default_rng(1)
    vals = [X0, rng.standard_normal(1), rng.standard_normal((3, 1)), numpy.array(0.7)]

    def make(i):
        out = tuple(np.array(v) for v in vals)
        for a in out:
            a.attach_grad()
        return out

    def f(x, b, col, z):
        with autograd.record():
            y = np.tanh(x * b + col) * z - col
            s = (y * y).sum()
        s.backward()
        return s, y

    c = _versus_eager(f, make, state=lambda a: [v.grad for v in a])
    assert c.replays == 2 and _kernels(c)


def test_zero_d_run_with_grad():
    def f(x):
        with autograd.record():
            y = (np.sin(x * 2) + x) * x
        y.backward()
        return y, x.grad

    c = _versus_eager(f, _mx(numpy.array(0.7)))
    assert c.replays == 2 and _kernels(c)


def test_noncontiguous_arguments_after_contiguous_trace():
    """The trace sees C-contiguous arguments; replays get transposed and reversed views."""
    rng = numpy.random.default_rng(2)
    a = [rng.standard_normal((4, 3)) for _ in range(3)]
    b = [rng.standard_normal((3, 4)) for _ in range(3)]

    def make(i):
        x = np.array(a[i].T.copy()) if i == 0 else np.array(a[i]).T  # (a transposed view)
        y = np.array(b[i]) if i < 2 else np.array(b[i][:, ::-1].copy())[:, ::-1]
        if i:
            assert not x._data.flags.c_contiguous
        return x, y

    def f(x, y):
        return np.exp(x * 2) * y - x

    c = _versus_eager(f, make)
    assert c.replays == 2 and _kernels(c)


def test_nan_inf_zero_division_comparisons_and_mixed_dtypes():
    """maximum/minimum/fmax with NaN, division by zero, sign at -0.0, an int64 and a bool operand."""
    v = numpy.array([[1.0, -2.0, 0.0, numpy.nan], [numpy.inf, -numpy.inf, 3.5, -0.0]])
    k = numpy.array([[1, 0, 3, -2], [2, 2, 0, 1]])

    def f(x, k):
        y = np.maximum(x * 1, 0.5) + np.minimum(x, 0.5) * 2 + np.fmax(x, k)
        z = y / (x * 0) + np.sign(x * 1) * k + (x > 0) * (k == 0) + ((x > 0) & (k < 3))
        return y, z

    c = _versus_eager(f, lambda i: (np.array(v), np.array(k)))
    assert c.replays == 2 and _kernels(c)


def test_integer_overflow_wraps_as_numpy():
    def f(x):
        return x * 100 + x * x

    c = _versus_eager(f, lambda i: (np.array(numpy.array([1, -2, 100, -100], dtype=numpy.int8)),), rtol=0)
    assert c.replays == 2 and _kernels(c)


def test_repair_with_head_gradient_zero_only_after_the_trace():
    """sqrt and log at 0: where the head gradient is 0 the gradient stays 0 (inf elsewhere), also when
    the trace saw no zero at all (the repair decides again at each replay, inside the kernel)."""
    seq = [([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]), ([0.0, 2.0, 0.0], [0.0, 1.0, 2.0]), ([0.0, 0.0, 1.0], [0.0, 0.0, 0.0])]

    def make(i):
        x = np.array(numpy.array(seq[i][0]))
        x.attach_grad()
        return x, np.array(numpy.array(seq[i][1]))

    def f(x, h):
        with autograd.record():
            y = np.sqrt(x * 1) * 2 + np.log(x)
        y.backward(h)
        return x.grad, y

    c = _versus_eager(f, make, rtol=1e-12)
    assert c.replays == 2 and any("repair" in k.names for k in _kernels(c))


def test_grad_req_add_accumulates_over_calls():
    def make(i):
        x = np.array(X0)
        x.attach_grad(grad_req="add")
        return (x,)

    def f(x):
        with autograd.record():
            y = (np.sin(x) * x + 1).sum()
        y.backward()
        return y

    c = tapegrad.compile(f, fuse=True)
    xe, xc = make(0)[0], make(0)[0]
    for _ in range(3):
        f(xe)
        c(xc)
        numpy.testing.assert_allclose(xc.grad.asnumpy(), xe.grad.asnumpy(), rtol=1e-12)
    assert c.replays == 2 and _kernels(c)


def test_create_graph_second_order():
    def f(x):
        with autograd.record():
            y = np.sin(x) * x * x
            gx = autograd.grad(y.sum(), [x], create_graph=True)[0]
            z = (gx * gx + np.exp(gx)).sum()
        z.backward()
        return z, gx, x.grad

    c = _versus_eager(f, _mx(X0))
    assert c.replays == 2 and _kernels(c)


def test_torch_hook_retain_graph_and_inplace_sgd():
    """A tensor hook, two backward calls in one function (.grad accumulates), then an in-place SGD
    update under no_grad: parameters after each call agree."""
    def make(i):
        return (torch.tensor(X0, requires_grad=True),)

    def f(x):
        y = torch.exp(x * 0.3) * x
        y.register_hook(lambda g: g * 2 + 1)
        s = (y * y).sum()
        s.backward(retain_graph=True)
        (y.sum()).backward()
        g = x.grad.clone()
        with torch.no_grad():
            x -= 0.01 * x.grad
            x.grad.zero_()
            sv = s * 1  # (s.detach() would make the call run eagerly: detach is not captured)
        return sv, g

    c = tapegrad.compile(f, fuse=True)
    xe, xc = make(0)[0], make(0)[0]
    for _ in range(4):
        want, got = _host(f(xe)), _host(c(xc))
        _assert_same(got, want, 1e-10)
        _assert_same(_host(xc), _host(xe), 1e-10)
    assert c.replays >= 2 and _kernels(c)


def test_torch_dropout_and_randn_between_elementwise_ops():
    """A random draw between runs: with the same seed, the same values as eager at every call."""
    def f(x):
        d = torch.nn.functional.dropout(x * 2, 0.5, training=True)
        r = torch.randn(3, 4, dtype=torch.float64)
        y = torch.exp(d * 0.1) + d * r
        y.sum().backward()
        return y, x.grad

    c = tapegrad.compile(f, fuse=True)
    for i in range(3):
        xe, xc = torch.tensor(X0, requires_grad=True), torch.tensor(X0, requires_grad=True)
        torch.manual_seed(i)
        want = _host(f(xe))
        torch.manual_seed(i)
        got = _host(c(xc))
        _assert_same(got, want, 1e-10)
    assert c.replays == 2 and _kernels(c)


def test_functional_jit_grad_on_numpy_inputs_fresh_values(monkeypatch):
    """``tapegrad.jit(tapegrad.grad(f))`` on NumPy inputs, new values at every call (jit fuses by default)."""
    from tapegrad._core import compiled as compiled_mod
    monkeypatch.setattr(compiled_mod, "FUSE", True)
    import tapegrad.numpy as tnp

    def f(x, y):
        return tnp.sum(tnp.tanh(x * y) / (1 + y * y) + tnp.exp(x * 0.1))

    rng = numpy.random.default_rng(5)
    vals = [(rng.standard_normal(5), rng.standard_normal(5)) for _ in range(3)]
    g = tapegrad.grad(f, (0, 1))
    c = tapegrad.jit(g)
    for x, y in vals:
        want, got = g(x.copy(), y.copy()), c(x.copy(), y.copy())
        for a, b in zip(got, want):
            numpy.testing.assert_allclose(numpy.asarray(a), numpy.asarray(b), rtol=1e-12)
    assert c.replays == 2 and _kernels(c)

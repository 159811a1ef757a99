"""The PyTorch dialect's out-of-place operators: result dtypes, values and refusals as PyTorch 2.13's.

The grid (operator x dtype x operand: Python numbers, 0-d and 1-d tensors of every dtype) runs against
real PyTorch where it is installed; the rules it found, the default dtype and the in-place activations
are also checked without it."""
from __future__ import annotations

import operator
import warnings

import numpy
import pytest

import tapegrad.torch as tt

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64", "complex64", "complex128"]
SCALARS = [True, 2, 1.5, 1 + 2j]
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_, "|": operator.or_,
          "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift, "==": operator.eq, "!=": operator.ne,
          "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
UNARY = {"-": operator.neg, "~": operator.invert, "abs": abs, "+": operator.pos}


@pytest.fixture
def float64_default():
    tt.set_default_dtype(tt.float64)
    try:
        yield
    finally:
        tt.set_default_dtype(tt.float32)


def _make(lib, dt, which=0, zero_d=False):
    if dt == "bool":
        v = [True, False, True] if which == 0 else [True, True, False]
    else:
        v = [1, 2, 3] if which == 0 else [2, 1, 3]
    return lib.tensor(v[0] if zero_d else v, dtype=getattr(lib, dt))


def _skipped(dt, other):
    """PyTorch's complex32 (float16 meeting complex): the dialect has no such dtype (README)."""
    return dt == "float16" and ("complex" in str(other) or isinstance(other, complex))


def _cases():
    for dt in DTYPES:
        for name, f in BINARY.items():
            for s in SCALARS:
                if _skipped(dt, s):
                    continue
                yield f"{dt} {name} {s!r}", lambda lib, f=f, dt=dt, s=s: f(_make(lib, dt), s)
                if name not in COMPARISONS:
                    yield f"{s!r} {name} {dt}", lambda lib, f=f, dt=dt, s=s: f(s, _make(lib, dt))
            for od in DTYPES:
                if _skipped(dt, od) or _skipped(od, dt):
                    continue
                for z in (True, False):
                    yield (f"{dt} {name} {od}{'[0-d]' if z else ''}",
                           lambda lib, f=f, dt=dt, od=od, z=z: f(_make(lib, dt), _make(lib, od, 1, z)))
            yield f"{dt}[0-d] {name} {dt}", lambda lib, f=f, dt=dt: f(_make(lib, dt, 0, True), _make(lib, dt, 1))
        for name, f in UNARY.items():
            yield f"{name} {dt}", lambda lib, f=f, dt=dt: f(_make(lib, dt))
    for dt in ("uint8", "int32", "int64"):  # integer division by zero, negative powers
        yield f"{dt} // 0", lambda lib, dt=dt: _make(lib, dt) // 0
        yield f"{dt} % 0", lambda lib, dt=dt: _make(lib, dt) % 0
        yield f"{dt} // tensor 0", lambda lib, dt=dt: _make(lib, dt)[:2] // lib.tensor([0, 1], dtype=getattr(lib, dt))
        yield f"{dt} % tensor 0", lambda lib, dt=dt: _make(lib, dt)[:2] % lib.tensor([0, 1], dtype=getattr(lib, dt))
        yield f"{dt} ** -1", lambda lib, dt=dt: _make(lib, dt) ** -1


def _outcome(f, lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = f(lib)
        except Exception as e:  # noqa: BLE001 - the error is the outcome compared
            return ("error", type(e).__name__, str(e).split("\n")[0])
    return ("value", str(r.dtype).replace("torch.", ""), tuple(r.shape),
            numpy.asarray(r.detach().numpy() if hasattr(r, "detach") else r).astype(numpy.complex128))


@pytest.mark.parametrize("default", ["float32", "float64"])
def test_operators_give_pytorchs_dtype_values_and_errors(default):
    real_torch = pytest.importorskip("torch")
    bad: list = []
    before = real_torch.get_default_dtype()
    real_torch.set_default_dtype(getattr(real_torch, default))
    tt.set_default_dtype(getattr(tt, default))
    try:
        _compare_grid(real_torch, bad)
    finally:
        real_torch.set_default_dtype(before)
        tt.set_default_dtype(tt.float32)
    assert not bad, f"{len(bad)} differ:\n" + "\n".join(bad[:30])


def _compare_grid(real_torch, bad):
    n = 0
    for label, f in _cases():
        n += 1
        want, got = _outcome(f, real_torch), _outcome(f, tt)
        if want[:3] != got[:3] or (want[0] == "value" and
                                   not numpy.allclose(want[3], got[3], rtol=2e-3, atol=1e-6, equal_nan=True)):
            bad.append(f"{label}: PyTorch {want[:3]}, tapegrad {got[:3]}")
    assert n > 3500


FUNCTIONS = ["add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "atan2", "maximum", "minimum",
             "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "lt", "le", "gt",
             "ge", "eq", "ne"]


def test_binary_functions_share_the_operators_rules():
    real_torch = pytest.importorskip("torch")
    bad = []
    for dt in DTYPES:
        for name in FUNCTIONS:
            others = [(repr(s), s) for s in SCALARS] + [
                (f"{od}{'[0-d]' if z else ''}", (od, z)) for od in DTYPES for z in (True, False)]
            for label, o in others:
                od = o[0] if isinstance(o, tuple) else o
                if _skipped(dt, od) or _skipped(od, dt):
                    continue

                def f(lib, name=name, dt=dt, o=o):
                    other = _make(lib, o[0], 1, o[1]) if isinstance(o, tuple) else o
                    return getattr(lib, name)(_make(lib, dt), other)
                want, got = _outcome(f, real_torch), _outcome(f, tt)
                if want[:3] != got[:3] or (want[0] == "value" and
                                           not numpy.allclose(want[3], got[3], rtol=2e-3, atol=1e-6, equal_nan=True)):
                    bad.append(f"torch.{name}({dt}, {label}): PyTorch {want[:3]}, tapegrad {got[:3]}")
    assert not bad, f"{len(bad)} differ:\n" + "\n".join(bad[:30])


def test_a_python_float_or_complex_meets_an_int_tensor_in_the_default_dtype():
    i = tt.tensor([1, 2])
    assert (i * 0.5).dtype == tt.float32
    assert (i + 1j).dtype == tt.complex64 and (1j * i).dtype == tt.complex64
    assert (i / 2).dtype == tt.float32
    assert (tt.tensor([1.0], dtype=tt.float32) + 1j).dtype == tt.complex64
    assert (tt.tensor([1.0], dtype=tt.float64) + 1j).dtype == tt.complex128


def test_dimensioned_tensors_outrank_0d_tensors_within_a_category():
    assert (tt.tensor([1, 2], dtype=tt.int32) + tt.tensor(1, dtype=tt.int64)).dtype == tt.int32
    assert (tt.tensor([1, 2], dtype=tt.uint8) * tt.tensor(3)).dtype == tt.uint8
    f = tt.tensor([1.0], dtype=tt.float32) + tt.tensor(0.1, dtype=tt.float64)
    assert f.dtype == tt.float32
    assert (tt.tensor([1.0], dtype=tt.float16) * tt.tensor(2.0)).dtype == tt.float16
    assert (tt.tensor([1.0], dtype=tt.float32) * tt.tensor(1j, dtype=tt.complex128)).dtype == tt.complex64
    # a 0-d tensor of a higher category counts
    assert (tt.tensor([1, 2], dtype=tt.int32) + tt.tensor(0.5, dtype=tt.float64)).dtype == tt.float64
    assert (tt.tensor([1, 2], dtype=tt.int64) + tt.tensor([0.5], dtype=tt.float32)).dtype == tt.float32


def test_default_dtype_float64_reaches_results_and_repr(float64_default):
    i = tt.tensor([1, 2])
    assert (i * 0.5).dtype == tt.float64
    assert (i + 1j).dtype == tt.complex128
    assert (i / 2).dtype == tt.float64
    assert i.sqrt().dtype == tt.float64
    assert (i + [0.5, 1.5]).dtype == tt.float64  # a list is packed as a tensor of the default dtype
    assert tt.pow(2.0, i).dtype == tt.float64 and tt.pow(2j, i).dtype == tt.complex128
    assert repr(tt.tensor([1.0])) == "tensor([1.])"
    assert repr(tt.tensor([1.0], dtype=tt.float32)) == "tensor([1.], dtype=torch.float32)"
    assert repr(tt.tensor([1j])) == "tensor([0.+1.j])"


def test_default_dtype_float32_repr():
    assert repr(tt.tensor([1.0], dtype=tt.float64)) == "tensor([1.], dtype=torch.float64)"
    assert repr(tt.tensor([1.0])) == "tensor([1.])"


def test_operator_refusals_with_pytorchs_texts():
    b, i, f = tt.tensor([True, False]), tt.tensor([1, 2]), tt.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors"):
        b - b
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        f - b
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        1 - b
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor"):
        -b
    with pytest.raises(NotImplementedError, match="\"bitwise_and_cpu\" not implemented for 'Float'"):
        f & f
    with pytest.raises(NotImplementedError, match="\"lshift_cpu\" not implemented for 'Float'"):
        f << 1
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        ~f
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        i // 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        i % tt.tensor([1, 0])
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        i ** -1
    with pytest.raises(NotImplementedError, match="\"lt_cpu\" not implemented for 'ComplexFloat'"):
        f < 1j
    assert (i << 2).tolist() == [4, 8] and (i >> 1).tolist() == [0, 1] and (1 << i).tolist() == [2, 4]
    assert (f // 0).tolist() == [float("inf")] * 2  # floating division by zero is no error
    r = b ** True
    assert r.dtype == tt.bool and r.tolist() == [True, False]


def test_operators_keep_gradients():
    x = tt.tensor([1.5, 2.0], dtype=tt.float64, requires_grad=True)
    y = (1.0 - x) * (x - 0.5) + (-x) ** 2 + abs(x) + x // 1.0
    y.sum().backward()
    assert numpy.allclose(x.grad.numpy(), [-2 * 1.5 + 1.5 + 2 * 1.5 + 1, -2 * 2.0 + 1.5 + 2 * 2.0 + 1])


@pytest.mark.parametrize("name,kw", [("relu", {}), ("elu", {}), ("selu", {}), ("celu", {"alpha": 0.5}),
                                     ("leaky_relu", {"negative_slope": 0.1}), ("hardtanh", {}), ("relu6", {}),
                                     ("threshold", {"threshold": 0.1, "value": 3.0}), ("silu", {}), ("mish", {}),
                                     ("hardsigmoid", {}), ("hardswish", {})])
def test_inplace_activations_write_through_the_one_inplace_path(name, kw):
    import tapegrad.torch.nn.functional as F
    x = tt.tensor([-1.5, 0.5, 2.0, -0.2], dtype=tt.float64, requires_grad=True)
    want = getattr(F, name)(x, **kw)
    y = x * 1
    v, d = y[1:3], y.detach()
    assert getattr(F, name)(y, inplace=True, **kw) is y
    numpy.testing.assert_allclose(y.detach().numpy(), want.detach().numpy())
    numpy.testing.assert_allclose(v.detach().numpy(), want.detach().numpy()[1:3])  # the view sees the write
    numpy.testing.assert_allclose(d.numpy(), want.detach().numpy())  # and the detached alias
    assert y._version == v._version == d._version == 1
    (y.sum() + 2 * v.sum()).backward()
    g = tt.autograd.grad((want.sum() + 2 * want[1:3].sum()), x)[0]
    numpy.testing.assert_allclose(x.grad.numpy(), g.numpy())
    with tt.no_grad():  # not recorded: still one write into the same memory
        z = tt.tensor([-1.5, 0.5, 2.0, -0.2], dtype=tt.float64)
        w = z[:2]
        getattr(F, name)(z, inplace=True, **kw)
        numpy.testing.assert_allclose(w.numpy(), want.detach().numpy()[:2])
        assert w._version == 1


def test_inplace_relu_of_a_leaf_that_requires_grad_is_refused():
    import tapegrad.torch.nn.functional as F
    x = tt.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        F.relu(x, inplace=True)

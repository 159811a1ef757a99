"""A float64 program stays float64: creation converts Python data straight to the requested dtype,
and every registry op, run on float64 inputs forward and backward (orders 1 and 2), produces no
float32 array anywhere (results, cotangents, values saved for the backward).

The creation values are compared with PyTorch 2.13 bit for bit where it is installed; the bits
that do not need it (0.1 as float64 is the double nearest 0.1) are checked always.
"""
from __future__ import annotations

import numpy
import pytest

import tapegrad  # noqa: F401 - declares the ops
import tapegrad.torch as tt
from tapegrad._core import engine, forward
from tapegrad._core.array import Array
from tapegrad._core.mode import StateScope
from tapegrad.ndarray import ndarray
from tapegrad.ops.registry import REGISTRY
from tapegrad.ops.samples import registry_cases

F64, F32 = numpy.dtype(numpy.float64), numpy.dtype(numpy.float32)


def _bits(a) -> tuple:
    a = numpy.asarray(a)
    return str(a.dtype), a.shape, a.tobytes()


# --- creation in the requested dtype -------------------------------------------------------------


def test_python_floats_become_float64_directly():
    assert tt.tensor(0.1, dtype=tt.float64).item() == 0.1
    assert tt.tensor([[-1.8248]], dtype=tt.float64)._data[0, 0] == -1.8248
    assert tt.as_tensor([0.1, 1 / 3], dtype=tt.float64)._data.tolist() == [0.1, 1 / 3]
    assert tt.scalar_tensor(0.1, dtype=tt.float64).item() == 0.1
    assert tt.tensor([0.1 + 0.2j], dtype=tt.complex128)._data[0] == 0.1 + 0.2j
    assert tt.ones(2, dtype=tt.float64).new_tensor([0.1])._data[0] == 0.1
    assert tt.full((2,), 0.1, dtype=tt.float64)._data[0] == 0.1
    assert tt.ones(2, dtype=tt.float64).new_full((2,), 0.1)._data[0] == 0.1
    assert tt.full_like(tt.zeros(2), 0.1, dtype=tt.float64)._data[0] == 0.1
    # a float64 tensor inside a list keeps its value and makes the result float64, as in PyTorch
    t = tt.tensor([tt.tensor(0.1, dtype=tt.float64), tt.tensor(0.2, dtype=tt.float64)])
    assert t.dtype == tt.float64 and t._data.tolist() == [0.1, 0.2]
    # NumPy float64 scalars are float64 data; Python's float as a dtype means float64
    assert tt.tensor(numpy.float64(0.1)).dtype == tt.float64
    assert tt.tensor([0.1], dtype=float).dtype == tt.float64


def test_inferred_dtypes_follow_pytorch_promotion():
    cases = [([numpy.float32(0.1), 0.5], F32), ([numpy.float16(1), 2], numpy.float16),
             ([numpy.int32(1), 2], numpy.int64), ([True, 2], numpy.int64), ([True, 2.5], F32),
             ([1, 2 + 1j], numpy.complex64), ([numpy.float64(1), 1j], numpy.complex128),
             ([numpy.uint8(1), numpy.int8(2)], numpy.int16), ([], F32)]
    for data, dt in cases:
        assert tt.tensor(data)._data.dtype == numpy.dtype(dt), data


def test_the_default_dtype_drives_creation():
    try:
        tt.set_default_dtype(tt.float64)
        assert tt.get_default_dtype() == tt.float64
        assert tt.tensor(0.1).item() == 0.1 and tt.tensor(0.1).dtype == tt.float64
        assert tt.tensor([1j]).dtype == tt.complex128
        for t in (tt.zeros(2), tt.ones(2), tt.full((2,), 0.5), tt.eye(2), tt.linspace(0, 1, 3), tt.arange(0.0, 1.0),
                  tt.randn(2), tt.rand(2), tt.logspace(0, 1, 3), tt.scalar_tensor(1.5)):
            assert t.dtype == tt.float64
        assert tt.tensor([1]).dtype == tt.int64 and tt.arange(3).dtype == tt.int64
    finally:
        tt.set_default_dtype(tt.float32)
    assert tt.tensor(0.1).dtype == tt.float32
    for bad in (tt.int64, tt.complex128, "int32"):
        with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
            tt.set_default_dtype(bad)


def test_range_errors_are_pytorchs():
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        tt.arange(0, 1, 0)
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
        tt.arange(1, 0, 0.1)
    with pytest.raises(ValueError, match="step must be nonzero"):
        tt.arange(0, 5, 0.5, dtype=tt.int64)  # the step is cast to the integer type first
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        tt.linspace(0, 1, -1)


def _creation_cases(torch):
    """Creation calls whose results must match PyTorch's bit for bit."""
    f64, f32, i64 = torch.float64, torch.float32, torch.int64
    a = numpy.array([0.1, 1 / 3, -1.8248])
    return {
        "tensor": lambda: torch.tensor([0.1, 1 / 3, 1e-40, 3.4e39], dtype=f64),
        "tensor_default": lambda: torch.tensor([0.1, 1 / 3, 1e-46]),
        "tensor_bigint": lambda: torch.tensor([2 ** 53 + 1, 3], dtype=f64),
        "tensor_np": lambda: torch.tensor(a, dtype=f32),
        "tensor_to_int": lambda: torch.tensor([1.7, -1.7], dtype=i64),
        "full_complex": lambda: torch.full((2,), 0.1 + 1j),
        "full_int_from_float": lambda: torch.full((2,), 2.7, dtype=i64),
        "arange_f64": lambda: torch.arange(0, 1, 0.1, dtype=f64),
        "arange_f32": lambda: torch.arange(-1.3, 2.9, 0.37),
        "arange_f64_long": lambda: torch.arange(-1.3, 40.9, 0.037, dtype=f64),
        "arange_neg": lambda: torch.arange(1, -0.5, -0.1, dtype=f64),
        "arange_negzero": lambda: torch.arange(-0.0, -7.5, -0.25),
        "arange_int": lambda: torch.arange(-2.5, 3, 1, dtype=i64),
        "linspace_f32": lambda: torch.linspace(-1.3, 2.9, 17),
        "linspace_f64": lambda: torch.linspace(0.1, 7.3, 1001, dtype=f64),
        "linspace_int": lambda: torch.linspace(2.7, -1.1, 6, dtype=i64),
        "linspace_one": lambda: torch.linspace(0.1, 1, 1, dtype=f64),
        "logspace_f32": lambda: torch.logspace(-1.3, 2.9, 17),
        "logspace_base2": lambda: torch.logspace(0, 3, 4, base=2),
        "eye": lambda: torch.eye(2, 3, dtype=f64),
    }


def test_creation_matches_pytorch_bit_for_bit():
    torch = pytest.importorskip("torch")
    ref, got = _creation_cases(torch), _creation_cases(tt)
    for name in ref:
        r = ref[name]()
        with numpy.errstate(over="ignore"):
            g = got[name]()
        assert _bits(g._data) == _bits(r.numpy()), name


def test_ranges_match_pytorch_on_random_bounds():
    torch = pytest.importorskip("torch")
    rng = numpy.random.default_rng(0)
    for _ in range(60):
        a = round(float(rng.uniform(-5, 5)), int(rng.integers(0, 4)))
        step = round(float(rng.uniform(0.01, 2)), 3) * (1 if rng.random() < 0.7 else -1)
        b = a + step * int(rng.integers(1, 300)) + step * float(rng.random())
        n = int(rng.integers(0, 300))
        for dt in ("float64", "float32", "int64") if abs(step) >= 1 else ("float64", "float32"):
            r, g = getattr(torch, dt), getattr(tt, dt)
            assert _bits(tt.arange(a, b, step, dtype=g)._data) == _bits(torch.arange(a, b, step, dtype=r).numpy())
            assert _bits(tt.linspace(a, b, n, dtype=g)._data) == _bits(torch.linspace(a, b, n, dtype=r).numpy())
        assert _bits(tt.logspace(a / 4, b / 4, n)._data) == _bits(torch.logspace(a / 4, b / 4, n).numpy())


# --- every registry op in float64, forward and backward to order 2 ---------------------------------


CASES = [pytest.param(op, case, id=i) for op, case, i in registry_cases(REGISTRY)]


def _low(x) -> bool:
    """A floating or complex buffer below float64 / complex128 precision."""
    d = getattr(x._data if isinstance(x, Array) else x, "dtype", None)
    return d is not None and d.kind in "fc" and (d.itemsize < 8 if d.kind == "f" else d.itemsize < 16)


def _asks_for_low_precision(op, params: dict) -> bool:
    """A call that asks for a lower-precision result itself (``one_hot``: float32 unless told)."""
    d = params.get("dtype", getattr(op, "defaults", {}).get("dtype"))
    try:
        return d is not None and _low(numpy.empty(0, dtype=d))
    except TypeError:
        return False


def _seq_call(op, xs, params):
    return op(list(xs), **params) if op.seq else op(*xs, **params)


def _run(op, case, cls):
    """The op's forward, a VJP, the VJP of that VJP (create_graph) and a JVP, every array the ops
    see captured; returns (captured calls, final arrays)."""
    wrt = case.wrt if case.wrt is not None else [
        i for i, a in enumerate(case.args) if isinstance(a, numpy.ndarray) and a.dtype.kind in "fc"]
    wrt = wrt if op.diff else []
    xs = [cls._make(numpy.array(a)) if isinstance(a, numpy.ndarray) else a for a in case.args]
    for i in wrt:
        xs[i] = xs[i]._as_variable()
    calls, finals = [], []
    rng = numpy.random.default_rng(0)
    with forward.Activation(forward.CAPTURE, calls), StateScope(recording=True, grad_enabled=True):
        ys = _seq_call(op, xs, case.params)
        ys = list(ys) if isinstance(ys, (tuple, list)) else [ys]
        finals += ys
        heads = [y for y in ys if isinstance(y, Array) and y._data.dtype.kind in "fc" and y._node is not None]
        if not heads or not wrt:
            return calls, finals
        s = sum((y * cls._make(rng.standard_normal(y.shape))).sum() for y in heads)
        gs = engine.backward([s], None, retain_graph=True, create_graph=True, variables=[xs[i] for i in wrt])
        gs = [g for g in gs if g is not None]
        finals += gs
        if case.order >= 2:
            taped = [g for g in gs if g._node is not None]
            if taped:
                s2 = sum((g * cls._make(rng.standard_normal(g.shape))).sum() for g in taped)
                finals += [g for g in engine.backward([s2], None, variables=[xs[i] for i in wrt]) if g is not None]
    if cls is ndarray:  # forward mode (the functional API's jvp), its rules captured too
        def f(*ws):
            full = list(case.args)
            for i, w in zip(wrt, ws):
                full[i] = w
            return _seq_call(op, full, case.params)
        with forward.Activation(forward.CAPTURE, calls):
            _, tangent = tapegrad.jvp(f, [case.args[i] for i in wrt], [rng.standard_normal(case.args[i].shape)
                                                                      for i in wrt])
        finals += [t for t in (tangent if isinstance(tangent, (tuple, list)) else [tangent]) if isinstance(t, Array)]
    return calls, finals


@pytest.mark.parametrize("cls", [ndarray, tt.Tensor], ids=["mxnet", "torch"])
@pytest.mark.parametrize("op,case", CASES)
def test_a_float64_program_has_no_float32_intermediate(op, case, cls):
    calls, finals = _run(op, case, cls)
    for called, args, params in calls:
        if _asks_for_low_precision(called, params):
            continue
        low = [a for a in (args[0] if called.seq and args and isinstance(args[0], (list, tuple)) else args)
               if _low(a)]
        assert not low, (f"{called.name} got a {low[0]._data.dtype if isinstance(low[0], Array) else low[0].dtype} "
                         f"input while running {op.name} in float64")
    if not _asks_for_low_precision(op, case.params):
        for y in finals:
            assert not _low(y), f"{op.name}: a {y._data.dtype} result or gradient from float64 inputs"

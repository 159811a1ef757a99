"""The sweep generated from the op registry: values against NumPy, gradients against central
finite differences in float64 to order 2 (3 where declared), on contiguous and non-contiguous inputs.
Broadcasting pairs and axis/keepdims variants come from each op's declared samples."""
from __future__ import annotations

from types import SimpleNamespace

import numpy
import pytest

import tapegrad  # noqa: F401 - declares the ops
from tapegrad.backend import cupy_backend, numpy_backend
from tapegrad.ndarray import ndarray
from tapegrad.ops.registry import REGISTRY
from tapegrad.ops.samples import registry_cases
from tapegrad.testing import check_grads


CASES = [pytest.param(op, case, id=i) for op, case, i in registry_cases(REGISTRY)]


def _reference(op):
    for ns in (numpy, numpy.linalg):
        f = getattr(ns, op.name, None)
        if f is not None and (op.public != "np.linalg" or ns is numpy.linalg):
            return f
    return None


def _wrap(a):
    return ndarray._make(a) if isinstance(a, numpy.ndarray) else a


def _noncontiguous(a):
    """The same values in a strided (non-contiguous) view."""
    if not isinstance(a, numpy.ndarray) or a.ndim == 0 or a.size == 0:
        return a
    buf = numpy.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    buf[..., ::2] = a
    view = buf[..., ::2]
    assert not view.flags.c_contiguous or a.shape[-1] == 1
    return view


def _invoke(op, xs, params):
    return op(list(xs), **params) if op.seq else op(*xs, **params)


def _call(op, case):
    return lambda *xs: _invoke(op, xs, case.params)


@pytest.mark.parametrize("op,case", CASES)
def test_forward_matches_reference(op, case):
    if not case.check_value:
        pytest.skip("value checked elsewhere")
    ref = case.ref or _reference(op)
    assert ref is not None, f"op {op.name!r} needs a reference: give its samples ref=..."
    expected = ref(*case.args, **case.params)
    got = _invoke(op, [_wrap(a) for a in case.args], case.params)
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected)
        pairs = list(zip(got, expected))
    else:
        pairs = [(got, expected)]
    for g, e in pairs:
        e = numpy.asarray(e)
        assert g.shape == e.shape, f"shape {g.shape} != NumPy's {e.shape}"
        numpy.testing.assert_allclose(g.asnumpy(), e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op,case", [c for c in CASES if c.values[0].diff])
@pytest.mark.parametrize("layout", ["contiguous", "noncontiguous"])
def test_gradients_match_finite_differences(op, case, layout):
    args = case.args if layout == "contiguous" else tuple(_noncontiguous(a) for a in case.args)
    modes = ("fwd", "rev") if layout == "contiguous" else ("rev",)
    check_grads(_call(op, case), [_wrap(a) for a in args], order=case.order, wrt=case.wrt, modes=modes)


@pytest.mark.parametrize("op,case", [c for c in CASES if c.values[0].diff])
def test_gradients_through_the_pytorch_dialect(op, case):
    """The same rules run on Tensors (torch.autograd.grad(create_graph=True) to order 2)."""
    from tapegrad.torch import Tensor
    args = [Tensor._make(a) if isinstance(a, numpy.ndarray) else a for a in case.args]
    check_grads(_call(op, case), args, order=min(case.order, 2), wrt=case.wrt)


def test_every_differentiable_op_has_a_rule_and_samples():
    missing = [n for n, op in REGISTRY.items() if op.diff and (op.vjp_fn is None or op.samples is None)]
    assert not missing, f"ops without a VJP or samples: {missing}"


def _first_order(op, case, create_graph, put=lambda a: a):
    """Gradients of sum(v * f(x)) (v fixed, random) from one backward, as (dtype, host array) pairs.
    ``put`` places the inputs' buffers (``tests/test_gpu.py`` puts them on a GPU)."""
    from tapegrad._core import engine
    from tapegrad._core.mode import StateScope
    from tapegrad.backend import to_host
    wrt = case.wrt if case.wrt is not None else [
        i for i, a in enumerate(case.args) if isinstance(a, numpy.ndarray) and a.dtype.kind in "fc"]
    xs = [ndarray._make(put(a)) if isinstance(a, numpy.ndarray) else a for a in case.args]
    for i in wrt:
        xs[i] = ndarray._make(put(numpy.array(case.args[i])))._as_variable()
    with StateScope(recording=True):
        ys = _invoke(op, xs, case.params)
        ys = list(ys) if isinstance(ys, (tuple, list)) else [ys]
        rng = numpy.random.default_rng(1)
        s = None
        for y in ys:
            if y._data.dtype.kind in "fc" and y._node is not None:
                v = rng.standard_normal(y.shape).astype(y._data.dtype)
                term = (y * ndarray._make(put(v))).sum()
                s = term if s is None else s + term
    if s is None:
        return None
    gs = engine.backward([s], None, create_graph=create_graph, variables=[xs[i] for i in wrt])
    return [None if g is None else (g._data.dtype, to_host(g._data)) for g in gs]


@pytest.mark.parametrize("op,case", [c for c in CASES if c.values[0].diff])
def test_plain_backward_matches_the_differentiable_one(op, case):
    """A backward that builds no graph runs the rules on raw buffers (no Arrays, no tape); it must
    give what the same rules give on Arrays (which the finite-difference sweep checks)."""
    plain = _first_order(op, case, create_graph=False)
    taped = _first_order(op, case, create_graph=True)
    if taped is None:
        assert plain is None
        return
    assert len(plain) == len(taped)
    for p, t in zip(plain, taped):
        assert (p is None) == (t is None)
        if p is not None:
            assert p[0] == t[0], f"dtype {p[0]} != {t[0]}"
            assert type(p[1]) is type(t[1]) and p[1].shape == t[1].shape
            numpy.testing.assert_allclose(p[1], t[1], rtol=1e-6, atol=1e-12)


class _OtherModule:
    """NumPy under another identity: ``backend_for`` gives forwards the CuPy backend for it, whose
    functions a machine without a GPU can then check."""

    def __getattr__(self, name):
        return getattr(numpy, name)


# the two ``cupyx`` functions the CuPy backend calls, from NumPy (and SciPy when installed)
_FAKE_CUPYX = SimpleNamespace(scatter_add=numpy.add.at,
                              scipy=SimpleNamespace(special=SimpleNamespace(erf=numpy_backend.erf)))
# cupyx.scipy.signal.convolve and cupyx.scipy.linalg's solve_triangular and expm take SciPy's parameters
# (the ops that call them have no samples without SciPy)
_FAKE_CUPYX.scipy.signal = SimpleNamespace(convolve=lambda *a, **k: numpy_backend._scipy("signal").convolve(*a, **k))
_FAKE_CUPYX.scipy.linalg = SimpleNamespace(
    solve_triangular=lambda *a, **k: numpy_backend._scipy("linalg").solve_triangular(*a, **k),
    expm=lambda a: numpy_backend._scipy("linalg").expm(a))


@pytest.fixture
def numpy_as_cupy(monkeypatch):
    """The array module to pass for "CuPy": NumPy under another name, with ``cupyx`` faked."""
    monkeypatch.setattr(cupy_backend, "_cupyx", lambda: _FAKE_CUPYX)
    return _OtherModule()


@pytest.mark.parametrize("op,case", CASES)
def test_the_branch_for_other_array_modules_matches_numpy(op, case, numpy_as_cupy):
    if op.name in cupy_backend.HOST_ONLY:  # SciPy functions cupyx.scipy lacks: refused, naming the fix
        with pytest.raises(cupy_backend.HostOnlyError, match="move its inputs to the CPU"):
            op.forward(numpy_as_cupy, *case.args, **case.params)
        return
    try:
        ref = op.forward(numpy, *case.args, **case.params)
    except ValueError as e:  # a call the public function routes to other ops: refused on both branches
        with pytest.raises(ValueError, match=str(e)[:20]):
            op.forward(numpy_as_cupy, *case.args, **case.params)
        return
    got = op.forward(numpy_as_cupy, *case.args, **case.params)
    ref, got = (r if isinstance(r, tuple) else (r,) for r in (ref, got))
    for r, g in zip(ref, got):
        assert numpy.shape(g) == numpy.shape(r)
        numpy.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)

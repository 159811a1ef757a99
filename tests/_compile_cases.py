"""The registry sweep of ``tests/test_compile.py``: every differentiable op sample run as a training-like
step (forward, weighted sum, backward) eagerly and under ``tapegrad.compile``, in the three doors.

Each case is called three times with new arrays: the first call traces, the next two replay; the third
call gets fresh values of the same shapes (the op's samples drawn again from another seed), so a replay
that kept a value of the first call as a constant gives a different result from eager. Results are
compared bitwise (NaN-aware, and the sign of zero), values and gradients.
"""
from __future__ import annotations

import re
import zlib
from collections import defaultdict
from typing import Any, Callable

import numpy

import tapegrad
from tapegrad import autograd
from tapegrad.ndarray import ndarray
from tapegrad.ops.registry import REGISTRY
from tapegrad.ops.samples import registry_cases

#: (op, case, id) for every sample of every differentiable op, as ``tests/test_ops.py`` sweeps them.
DIFF_CASES = [(op, case, cid) for op, case, cid in registry_cases(REGISTRY) if op.diff]
#: op name -> its cases, in registry order.
CASES_BY_OP: dict = {}
for _c in DIFF_CASES:
    CASES_BY_OP.setdefault(_c[0].name, []).append(_c)

#: dialect -> {reason (without its source location) -> {op name + where}}: what ran eagerly, for the summary.
EAGER: dict = defaultdict(lambda: defaultdict(set))
#: dialect -> {"replayed": n, "eager": n, "stale-checked": n}: counts over the cases that ran.
COUNTS: dict = defaultdict(lambda: defaultdict(int))

try:  # PyTorch's API for each op (the table the differential test against real PyTorch keeps)
    from test_differential_torch import TORCH_CALL, Inexpressible
except BaseException:  # noqa: BLE001 - pytest.importorskip raises Skipped (a BaseException) without torch
    TORCH_CALL, Inexpressible = {}, Exception


# -- inputs -------------------------------------------------------------------------------------

def _eq(x: Any, y: Any) -> bool:
    """Structural equality of sample parameters (arrays by value)."""
    if isinstance(x, numpy.ndarray) or isinstance(y, numpy.ndarray):
        return (isinstance(x, numpy.ndarray) and isinstance(y, numpy.ndarray) and x.dtype == y.dtype
                and numpy.array_equal(x, y))
    if type(x) is not type(y):
        return False
    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(_eq(a, b) for a, b in zip(x, y))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_eq(x[k], y[k]) for k in x)
    return bool(x == y)


def _same_structure(a: tuple, b: tuple) -> bool:
    """The same inputs but for the values of the arrays."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, numpy.ndarray):
            if not isinstance(y, numpy.ndarray) or x.shape != y.shape or x.dtype != y.dtype:
                return False
        elif not _eq(x, y):
            return False
    return True


_FRESH: dict = {}  # op name -> its samples drawn from the second seed


def call_values(op: Any, case: Any, cid: str) -> tuple[list, bool]:
    """The positional inputs of the three calls, and whether the third call's values are fresh (the
    op's samples drawn again with another seed, where that gives the same shapes and parameters)."""
    index = int(cid.rsplit("-", 1)[1])
    fresh = _FRESH.get(op.name)
    if fresh is None:
        fresh = _FRESH[op.name] = list(op.samples(numpy.random.default_rng(zlib.crc32(op.name.encode()) + 7919)))
    third = case.args
    if index < len(fresh):
        other = fresh[index]
        if _same_structure(case.args, other.args) and _eq(case.params, other.params) \
                and other.wrt == case.wrt:
            third = other.args
    changed = any(isinstance(a, numpy.ndarray) and not numpy.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
                  for a, b in zip(case.args, third))
    return [case.args, case.args, third], changed


def wrt_of(case: Any) -> list:
    return list(case.wrt) if case.wrt is not None else [
        i for i, a in enumerate(case.args) if isinstance(a, numpy.ndarray) and a.dtype.kind in "fc"]


def invoke(op: Any, xs: Any, params: dict) -> Any:
    return op(list(xs), **params) if op.seq else op(*xs, **params)


def as_list(ys: Any) -> list:
    return list(ys) if isinstance(ys, (tuple, list)) else [ys]


def head_weights(ys: list) -> list:
    """A fixed random weight per floating output (None for the others)."""
    rng = numpy.random.default_rng(1)
    out = []
    for y in ys:
        d = numpy.asarray(y._data) if hasattr(y, "_data") else numpy.asarray(y)
        if d.dtype.kind in "fc" and getattr(y, "_node", None) is not None:
            w = rng.standard_normal(d.shape)
            if d.dtype.kind == "c":
                w = w + 1j * rng.standard_normal(d.shape)
            out.append(w.astype(d.dtype))
        else:
            out.append(None)
    return out


# -- comparing ----------------------------------------------------------------------------------

def host(x: Any) -> Any:
    """A host copy of an array-like result (None stays None)."""
    if x is None:
        return None
    d = getattr(x, "_data", x)
    return numpy.array(d, copy=True) if isinstance(d, (numpy.ndarray, numpy.generic)) else d


def bitwise_equal(a: Any, b: Any) -> str | None:
    """None when ``a`` and ``b`` are the same: type, dtype, shape, values with NaN equal to NaN and the
    sign of zero; otherwise what differs."""
    if a is None or b is None:
        return None if a is None and b is None else f"{a!r} vs {b!r}"
    if not isinstance(a, numpy.ndarray) or not isinstance(b, numpy.ndarray):
        return None if type(a) is type(b) and (a == b or (a != a and b != b)) else f"{a!r} vs {b!r}"
    if a.dtype != b.dtype or a.shape != b.shape:
        return f"dtype/shape {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    nan = a.dtype.kind in "fc"
    if not numpy.array_equal(a, b, equal_nan=nan):
        return f"values differ: max |diff| {numpy.nanmax(numpy.abs(a - b)) if nan else '?'}"
    if a.dtype.kind == "f" and not numpy.array_equal(numpy.signbit(a), numpy.signbit(b)):
        return "the sign of a zero differs"
    return None


#: Relative tolerance by dtype kind for a fused replay (Numba's math library is not NumPy's, and a
#: kernel may keep a value in a register NumPy would round); None: bitwise (``bitwise_equal``).
TOLERANCE: dict | None = None


def close_equal(a: Any, b: Any) -> str | None:
    """None when ``a`` and ``b`` have one type, dtype and shape and values within ``TOLERANCE``."""
    if not isinstance(a, numpy.ndarray) or not isinstance(b, numpy.ndarray) or a.dtype.kind not in "fc":
        return bitwise_equal(a, b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return f"dtype/shape {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    assert TOLERANCE is not None
    rtol = TOLERANCE[a.dtype.itemsize // (2 if a.dtype.kind == "c" else 1)]
    fin = numpy.isfinite(a)
    scale = float(numpy.abs(a[fin]).max()) if fin.any() else 1.0
    if not numpy.allclose(a, b, rtol=rtol, atol=rtol * max(scale, 1.0), equal_nan=True):
        return f"values differ beyond rtol {rtol:g}: max |diff| {numpy.nanmax(numpy.abs(a - b))}"
    return None


def compare(eager: list, compiled: list) -> list:
    """The differences between two runs (lists over calls of lists of results)."""
    bad = []
    same = bitwise_equal if TOLERANCE is None else close_equal
    for k, (e, c) in enumerate(zip(eager, compiled)):
        if len(e) != len(c):
            bad.append(f"call {k}: {len(e)} results vs {len(c)}")
            continue
        for j, (x, y) in enumerate(zip(e, c)):
            why = same(x, y)
            if why is not None:
                bad.append(f"call {k} result {j}: {why}")
    return bad


_AT = re.compile(r"\s*\((first )?at [^()]*\)")


def reason_of(compiled: Any) -> str | None:
    """Why the (single) signature of ``compiled`` runs eagerly, without source locations; None if it replays."""
    for e in compiled._entries.values():
        if e.eager is not None:
            return _AT.sub("", e.eager)
    return None


def where_of(compiled: Any) -> str:
    """Where the refusal of ``compiled`` happened: 'vjp' (in an op's VJP) or 'call' (the forward, the
    dialect's function or the door)."""
    for e in compiled._entries.values():
        if e.eager is not None:
            return "vjp" if "<VJP of" in e.eager else "call"
    return ""


def explained(compiled: Any) -> bool:
    return "runs eagerly: " in compiled.explain()


# -- the three doors ------------------------------------------------------------------------------

def _run_calls(step: Callable, make_inputs: Callable, collect: Callable, values: list) -> list:
    out = []
    for vals in values:
        xs = make_inputs(vals)
        res = step(*xs)
        out.append(collect(res, xs))
    return out


def _weighted_sum(ys: Any, ws: list, real: bool = False) -> Any:
    """The head of a sweep step: sum of ``y * w`` over the outputs that have a weight (``real``: the
    real part of a complex term, as PyTorch's backward needs a real head); None when none has one."""
    head = None
    for y, w in zip(as_list(ys), ws):
        if w is not None:
            t = (y * w).sum()
            if real and t.is_complex():
                t = t.real
            head = t if head is None else head + t
    return head


def _eager_and_compiled(step: Callable, compile_fn: Callable, inputs: Callable, wrt: Any,
                        values: list) -> tuple[list, list, Any]:
    """The outputs and the gradients of ``wrt`` from ``step`` run eagerly and compiled by
    ``compile_fn``, over the calls' ``values``; and the compiled function."""
    def collect(ys, xs):
        return [host(y) for y in as_list(ys)] + [host(xs[i].grad) for i in wrt]

    eager = _run_calls(step, inputs, collect, values)
    c = compile_fn(step)
    return eager, _run_calls(c, inputs, collect, values), c


def mxnet_run(op: Any, case: Any, values: list) -> tuple[list, list, Any]:
    """MXNet dialect: ``attach_grad`` on the differentiated inputs, ``with autograd.record():`` the op and
    a weighted sum, ``backward()``; results: the outputs and the gradients."""
    wrt = wrt_of(case)
    params = case.params

    def inputs(vals):
        xs = [ndarray._make(numpy.array(a)) if isinstance(a, numpy.ndarray) else a for a in vals]
        for i in wrt:
            xs[i].attach_grad()
        return xs

    probe = inputs(values[0])
    with autograd.record():
        ws = [None if w is None else ndarray._make(w) for w in head_weights(as_list(invoke(op, probe, params)))]

    def step(*xs):
        with autograd.record():
            ys = invoke(op, xs, params)
            head = _weighted_sum(ys, ws)
        if head is not None:
            head.backward()
        return ys

    return _eager_and_compiled(step, tapegrad.compile, inputs, wrt, values)


def functional_run(op: Any, case: Any, values: list) -> tuple[list, list, Any] | None:
    """Functional API on plain NumPy inputs: ``tapegrad.jit(tapegrad.grad(f, argnum=wrt))`` with ``f``
    the weighted sum of the op's outputs (the real part for complex outputs); None when no output is
    floating."""
    wrt = wrt_of(case)
    params = case.params
    real = REGISTRY["real"]
    with autograd.record():
        probe = [ndarray._make(numpy.array(a)) if isinstance(a, numpy.ndarray) else a for a in values[0]]
        for i in wrt:
            probe[i].attach_grad()
        ws = head_weights(as_list(invoke(op, probe, params)))
    if all(w is None for w in ws):
        return None  # nothing to differentiate (grad needs an array result)

    def f(*xs):
        head = None
        for y, w in zip(as_list(invoke(op, xs, params)), ws):
            if w is not None:
                t = (y * w).sum()
                if w.dtype.kind == "c":
                    t = real(t)
                head = t if head is None else head + t
        return head

    g = tapegrad.grad(f, argnum=tuple(wrt))

    def inputs(vals):
        return [numpy.array(a) if isinstance(a, numpy.ndarray) else a for a in vals]

    def collect(gs, xs):
        return [host(x) for x in gs]

    eager = _run_calls(g, inputs, collect, values)
    c = tapegrad.jit(g)
    got = _run_calls(c, inputs, collect, values)
    return eager, got, c


def torch_run(op: Any, case: Any, values: list) -> tuple[list, list, Any]:
    """PyTorch dialect: the op through the ``torch`` namespace where the differential test's
    ``TORCH_CALL`` expresses it (the registry op on Tensors otherwise), ``(y * w).sum().backward()``
    into gradients that exist before the call (zeros: the accumulation path; the first write of a
    ``.grad`` is tested on its own in ``test_compile.py``)."""
    import tapegrad.torch as torch
    from tapegrad.torch import Tensor

    wrt = wrt_of(case)
    params = case.params

    def inputs(vals):
        xs = [Tensor._make(numpy.array(a)) if isinstance(a, numpy.ndarray) else a for a in vals]
        for i in wrt:
            xs[i].requires_grad_()
            xs[i].grad = torch.zeros_like(xs[i])
        return xs

    call = TORCH_CALL.get(op.name)
    probe = inputs(values[0])
    if call is not None:
        try:
            ys0 = call(torch, *probe, **params)
        except Inexpressible:
            call = None
    if call is None:
        ys0 = invoke(op, probe, params)
    ws = [None if w is None else Tensor._make(w) for w in head_weights(as_list(ys0))]

    def step(*xs):
        ys = call(torch, *xs, **params) if call is not None else invoke(op, xs, params)
        head = _weighted_sum(ys, ws, real=True)
        if head is not None:
            head.backward()
        return ys

    return _eager_and_compiled(step, torch.compile, inputs, wrt, values)


RUNNERS = {"mxnet": mxnet_run, "functional": functional_run, "torch": torch_run}


def summary() -> str:
    """What ran eagerly in the sweep, grouped by reason, per door."""
    lines = []
    for dialect in RUNNERS:
        counts = COUNTS.get(dialect)
        if not counts:
            continue
        lines.append(f"{dialect}: {counts['replayed']} case(s) replayed, {counts['eager']} ran eagerly, "
                     f"{counts['stale-checked']} with fresh values on the third call")
        for why, ops in sorted(EAGER[dialect].items(), key=lambda kv: -len(kv[1])):
            lines.append(f"  runs eagerly: {why}:")
            for where, label in (("vjp", "read in the op's VJP"), ("call", "read in the forward call")):
                names = sorted({n for n, w in ops if w == where})
                if names:
                    lines.append(f"    {label} ({len(names)}): {', '.join(names)}")
    return "\n".join(lines)

"""Differential fuzz: random straight-line float64 programs of registry ops, run in the functional
API against HIPS autograd 1.9.1 and in the PyTorch dialect against PyTorch 2.13 (where installed),
comparing values and first- and second-order gradients.

Hypothesis draws a program: two input arrays, then steps that each apply one registry op (elementwise
unary and binary with broadcasting, reductions with ``axis``/``keepdims``, reshapes and transposes,
matmul, softmax, cumulative sums, concatenation) to earlier values, with shapes tracked as it draws.
Each op is called through the differential tests' tables (``HIPS_EQUIVALENT`` / the public doors and
``TORCH_CALL``), so the fuzz speaks each system's own API. The program's result is
``L = sum_k sum(W_k * v_k)`` over every value ``v_k`` it computed (fixed random ``W_k``); order 1
compares ``grad L``, order 2 the gradient of ``sum(U * grad L)`` (and, in the functional API, the same
with the inner gradient closing over the outer variable, as HIPS code nests ``grad``).

``TAPEGRAD_FUZZ_EXAMPLES=1000`` runs 1,000 programs per test (default 40).
"""
from __future__ import annotations

import os

import numpy
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

autograd = pytest.importorskip("autograd")
import autograd.numpy as anp  # noqa: E402

import tapegrad  # noqa: E402
from tapegrad import np as tnp  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from test_differential_hips import _hips, _ns  # noqa: E402

EXAMPLES = int(os.environ.get("TAPEGRAD_FUZZ_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 40,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
RTOL, ATOL = 1e-6, 1e-8

UNARY = ("sin", "cos", "tanh", "arctan", "square", "negative", "abs", "exp", "sigmoid", "sinh")
BINARY = ("add", "subtract", "multiply", "maximum", "minimum", "arctan2", "hypot", "logaddexp")
REDUCTIONS = ("sum", "mean", "prod", "max", "min", "amax", "var", "std", "logsumexp")
#: ops whose input the fuzz first makes positive (``x * x + 0.5``): log, sqrt, reciprocal, divide's divisor
POSITIVE = ("log", "sqrt", "reciprocal", "divide")
#: reductions of a Python list of two same-shaped values (``np.sum([a, b], axis=0)``): the list is an array
LIST_REDUCTIONS = ("sum", "mean", "max", "min", "prod")
#: PyTorch activations (torch.nn.functional), in the PyTorch half only: (registry op, parameter choices)
ACTIVATIONS = (("softplus", ({}, {"beta": 2.0, "threshold": 1.0})), ("elu", ({}, {"alpha": 0.5})),
               ("celu", ({"alpha": 1.5},)), ("gelu", ({}, {"approximate": "tanh"})), ("silu", ({},)),
               ("mish", ({},)), ("leaky_relu", ({"negative_slope": 0.2},)), ("hardtanh", ({"min_val": -0.5},)),
               ("hardswish", ({},)), ("log_sigmoid", ({},)), ("softsign", ({},)), ("tanhshrink", ({},)),
               ("softshrink", ({"lambd": 0.3},)), ("hardshrink", ({"lambd": 0.3},)),
               ("threshold", ({"threshold": 0.1, "value": -1.0},)), ("glu", ({"dim": -1},)))

#: steps whose derivative at an exact 0 input is a convention (or NaN): programs feeding them a 0 are redrawn
ZERO_SENSITIVE = ("prod", "list:prod", "abs", "hypot", "arctan2")

SHAPES = ((3,), (2, 3), (3, 2), (2, 1), (1, 3), (2, 2, 3), (), (2, 4))

for _n in (*UNARY, *BINARY, *REDUCTIONS, *POSITIVE, "reshape", "transpose", "swapaxes", "expand_dims", "flip",
           "flipud", "matmul", "softmax", "log_softmax", "cumsum", "concatenate", "stack",
           *(a for a, _ in ACTIVATIONS)):
    assert _n in REGISTRY, _n  # every step is a registry op


# --- drawing a program ---------------------------------------------------------------------------


def _broadcast(a, b):
    try:
        return numpy.broadcast_shapes(a, b)
    except ValueError:
        return None


@st.composite
def programs(draw, torch=False):
    """(input shapes, steps, seed); a step is (op name, input indices, NumPy-style params). A step
    named ``list:<reduction>`` reduces the Python list of its two inputs; ``torch`` adds PyTorch's
    activations."""
    shapes = [draw(st.sampled_from(SHAPES)), draw(st.sampled_from(SHAPES))]
    steps = []
    kinds = ("unary", "binary", "positive", "reduce", "shape", "matmul", "softmax", "cumsum", "join", "list")
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(kinds + (("activation",) * 3 if torch else ())))
        i = draw(st.integers(0, len(shapes) - 1))
        s = shapes[i]
        step = None
        if kind == "unary":
            step = (draw(st.sampled_from(UNARY)), (i,), {}), s
        elif kind == "binary":
            j = draw(st.integers(0, len(shapes) - 1))
            out = _broadcast(s, shapes[j])
            if out is not None:
                step = (draw(st.sampled_from(BINARY)), (i, j), {}), out
        elif kind == "positive":
            name = draw(st.sampled_from(POSITIVE))
            if name == "divide":
                j = draw(st.integers(0, len(shapes) - 1))
                out = _broadcast(s, shapes[j])
                if out is not None:
                    step = ("divide", (j, i), {}), out
            else:
                step = (name, (i,), {}), s
        elif kind == "reduce" and s:
            name = draw(st.sampled_from(REDUCTIONS))
            axis = draw(st.sampled_from((None, *range(-len(s), len(s)))))
            keep = draw(st.booleans())
            size = numpy.prod(s) if axis is None else s[axis]
            if name in ("var", "std") and size < 2:  # a one-element spread has no derivative (std)
                name = "mean"
            if name in ("max", "min", "prod") and axis is None:
                keep = False  # torch.max() / prod() take no keepdim without a dim
            out = numpy.zeros(s).sum(axis=axis, keepdims=keep).shape
            step = (name, (i,), dict(axis=axis, keepdims=keep)), out
        elif kind == "shape" and s:
            name = draw(st.sampled_from(("reshape", "transpose", "swapaxes", "expand_dims", "flip")))
            if name == "reshape":
                out = (int(numpy.prod(s)),) if len(s) > 1 else (1, s[0])
                step = ("reshape", (i,), dict(shape=out)), out
            elif name == "transpose":
                step = ("transpose", (i,), {}), s[::-1]
            elif name == "swapaxes" and len(s) > 1:
                out = list(s)
                out[0], out[-1] = out[-1], out[0]
                step = ("swapaxes", (i,), dict(axis1=0, axis2=-1)), tuple(out)
            elif name == "expand_dims":
                step = ("expand_dims", (i,), dict(axis=0)), (1, *s)
            elif name == "flip":  # HIPS has no VJP for flip; flipud is flip along axis 0
                step = ("flipud", (i,), {}), s
        elif kind == "matmul" and len(s) >= 1:
            partners = [j for j, t in enumerate(shapes) if len(t) >= 1 and t[-2 if len(t) > 1 else 0] == s[-1]
                        and len(t) <= 2 and len(s) <= 2]
            if partners:
                j = draw(st.sampled_from(partners))
                out = numpy.matmul(numpy.zeros(s), numpy.zeros(shapes[j])).shape
                step = ("matmul", (i, j), {}), out
        elif kind == "softmax" and s:
            name = draw(st.sampled_from(("softmax", "log_softmax")))
            step = (name, (i,), dict(axis=draw(st.integers(-len(s), len(s) - 1)))), s
        elif kind == "cumsum" and s:
            step = ("cumsum", (i,), dict(axis=draw(st.integers(-len(s), len(s) - 1)))), s
        elif kind == "join" and s:
            same = [j for j, t in enumerate(shapes) if t == s]
            j = draw(st.sampled_from(same))
            if draw(st.booleans()):
                axis = draw(st.integers(-len(s), len(s) - 1))
                out = list(s)
                out[axis] *= 2
                step = ("concatenate", (i, j), dict(axis=axis)), tuple(out)
            else:
                step = ("stack", (i, j), dict(axis=0)), (2, *s)
        elif kind == "list":
            j = draw(st.sampled_from([j for j, t in enumerate(shapes) if t == s]))
            axis = draw(st.sampled_from((None, 0)))
            out = numpy.zeros((2, *s)).sum(axis=axis).shape
            step = ("list:" + draw(st.sampled_from(LIST_REDUCTIONS)), (i, j), dict(axis=axis)), out
        elif kind == "activation":
            name, choices = draw(st.sampled_from(ACTIVATIONS))
            params = dict(draw(st.sampled_from(choices)))
            if name != "glu":
                step = (name, (i,), params), s
            elif s and s[-1] % 2 == 0:
                step = (name, (i,), params), (*s[:-1], s[-1] // 2)
        if step is not None:
            steps.append(step[0])
            shapes.append(tuple(int(n) for n in step[1]))
    assume(steps)
    return shapes[:2], steps, draw(st.integers(0, 2**31 - 1))


# --- running a program in one system ---------------------------------------------------------------


def _positive(x, m):
    return m.add(m.multiply(x, x), 0.5)


def _hips_step(name, args, params):
    if name.startswith("list:"):  # HIPS reduces some lists of boxes to object arrays: stack them first
        return getattr(anp, name[5:])(anp.stack(list(args)), **params)
    if name in POSITIVE:
        args = list(args)
        args[-1] = _positive(args[-1], anp)
    return _apply(REGISTRY[name], _hips(REGISTRY[name]), args, params)


def _functional_step(name, args, params):
    if name.startswith("list:"):
        return getattr(tnp, name[5:])(list(args), **params)
    if name in POSITIVE:
        args = list(args)
        args[-1] = _positive(args[-1], tnp)
    return _apply(REGISTRY[name], _ns(REGISTRY[name]), args, params)


def _apply(op, fn, args, params):
    return fn(list(args), **params) if op.seq else fn(*args, **params)


def _program(step, m, weights):
    """``L(x0, x1)`` of the program, each step run by ``step(name, args, params)``."""
    def run(steps):
        def L(x0, x1):
            vals = [x0, x1]
            for name, idx, params in steps:
                vals.append(step(name, [vals[k] for k in idx], params))
            total = 0.0
            for v, w in zip(vals[2:], weights):
                total = total + m.sum(m.multiply(v, w))
            return total
        return L
    return run


def _data(shapes, steps, seed):
    rng = numpy.random.default_rng(seed)
    xs = [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
    # the value shapes come from HIPS on plain NumPy arrays (which it passes through)
    vals = list(xs)
    for name, idx, params in steps:
        args = [vals[k] for k in idx]
        if name in dict(ACTIVATIONS):  # no NumPy/HIPS function: the shapes from the dialect
            import tapegrad.torch as tt
            from test_differential_torch import TORCH_CALL
            vals.append(TORCH_CALL[name](tt, *[tt.tensor(a) for a in args], **params).numpy())
        else:
            vals.append(numpy.asarray(_hips_step(name, args, params)))
    assume(all(numpy.all(numpy.isfinite(v)) and numpy.max(numpy.abs(v), initial=0) < 1e6 for v in vals))
    # exact zeros (x - x, shrink activations) where the systems' conventions differ on purpose: HIPS's
    # prod divides by its input (NaN), std's gradient at a zero spread is 0 in tapegrad (NaN elsewhere)
    for (name, idx, params), out in zip(steps, vals[2:]):
        if name in ZERO_SENSITIVE and any(numpy.any(vals[k] == 0) for k in idx):
            assume(False)
        if name == "std":
            assume(numpy.all(out != 0))
    weights = [rng.standard_normal(v.shape) for v in vals[2:]]
    us = [rng.standard_normal(s) for s in shapes]
    return xs, weights, us


def _close(got, want, what):
    got, want = numpy.asarray(got, dtype=numpy.float64), numpy.asarray(want, dtype=numpy.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    numpy.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


def _host(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else numpy.asarray(x)


def _describe(shapes, steps):
    return f"inputs {shapes}, steps {steps}"


# --- functional API against HIPS -------------------------------------------------------------------


def _functional_vs_hips(program, order):
    shapes, steps, seed = program
    xs, weights, us = _data(shapes, steps, seed)
    where = _describe(shapes, steps)
    hips_L = _program(_hips_step, anp, weights)(steps)
    ours_L = _program(_functional_step, tnp, weights)(steps)
    # the value as the functional API computes it, on traced inputs (untraced, tapegrad.np reads a list
    # of NumPy float64 arrays as MXNet does a list: float32 by default)
    value = tapegrad.value_and_grad(ours_L, (0, 1))(*xs)[0]
    _close(_host(value), hips_L(*xs), f"{where}: value")
    if order == 1:
        got, want = tapegrad.grad(ours_L, (0, 1))(*xs), autograd.grad(hips_L, (0, 1))(*xs)
    else:
        def second(L, lib, m):
            def h(x0, x1):
                g0, g1 = lib.grad(L, (0, 1))(x0, x1)
                return m.sum(m.multiply(g0, us[0])) + m.sum(m.multiply(g1, us[1]))
            return lib.grad(h, (0, 1))(*xs)
        got, want = second(ours_L, tapegrad, tnp), second(hips_L, autograd, anp)

        def mixed(L, lib, m):  # the inner gradient closes over the outer variable (HIPS style)
            def h(x1):
                return m.sum(m.multiply(lib.grad(lambda x0: L(x0, x1))(xs[0]), us[0]))
            return lib.grad(h)(xs[1])
        _close(_host(mixed(ours_L, tapegrad, tnp)), mixed(hips_L, autograd, anp),
               f"{where}: order 2 through a closure over input 1")
    for k in (0, 1):
        _close(_host(got[k]), want[k], f"{where}: order {order}, input {k}")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("order", [1, 2])
@SETTINGS
@given(programs())
def test_functional_api_matches_hips(order, program):
    _functional_vs_hips(program, order)


# --- PyTorch dialect against PyTorch ---------------------------------------------------------------


def _torch_grads(T, TORCH_CALL, steps, xs, weights, us, order):
    # from Python data in the requested dtype, as a user writes it (issue 12, item 5)
    x = [T.tensor(a.tolist(), dtype=T.float64, requires_grad=True) for a in xs]
    half = T.tensor(0.5, dtype=T.float64)
    with T.enable_grad():
        vals = list(x)
        for name, idx, params in steps:
            args = [vals[k] for k in idx]
            if name.startswith("list:"):  # PyTorch reduces a stacked tensor, not a list
                vals.append(TORCH_CALL[name[5:]](T, T.stack(args), **params))
                continue
            if name in POSITIVE:
                args[-1] = args[-1] * args[-1] + half
            vals.append(TORCH_CALL[name](T, *args, **params))
        L = sum((T.sum(v * T.tensor(w.tolist(), dtype=T.float64)) for v, w in zip(vals[2:], weights)),
                T.tensor(0.0, dtype=T.float64))
        gs = T.autograd.grad([L], x, create_graph=order > 1, allow_unused=True)
        gs = [T.zeros_like(xi) if g is None else g for g, xi in zip(gs, x)]
        if order > 1:
            h = sum((T.sum(g * T.tensor(u.tolist(), dtype=T.float64)) for g, u in zip(gs, us)),
                    T.tensor(0.0, dtype=T.float64))
            if not h.requires_grad:
                return float(L.detach()), [numpy.zeros(a.shape) for a in xs]
            gs = T.autograd.grad([h], x, allow_unused=True)
            gs = [T.zeros_like(xi) if g is None else g for g, xi in zip(gs, x)]
    return float(L.detach()), [_numpy(g) for g in gs]


def _numpy(t):
    t = t.detach()
    if getattr(t, "_is_zerotensor", lambda: False)():  # PyTorch's lazy zeros (abs'' = 0)
        return numpy.zeros(tuple(t.shape))
    return t.numpy()


def _torch_vs_dialect(program, order):
    real_torch = pytest.importorskip("torch")
    import tapegrad.torch as tt
    from test_differential_torch import TORCH_CALL
    shapes, steps, seed = program
    xs, weights, us = _data(shapes, steps, seed)
    where = _describe(shapes, steps)
    want = _torch_grads(real_torch, TORCH_CALL, steps, xs, weights, us, order)
    got = _torch_grads(tt, TORCH_CALL, steps, xs, weights, us, order)
    _close(got[0], want[0], f"{where}: value")
    for k in (0, 1):
        _close(got[1][k], want[1][k], f"{where}: order {order}, input {k}")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("order", [1, 2])
@SETTINGS
@given(programs(torch=True))
def test_pytorch_dialect_matches_pytorch(order, program):
    _torch_vs_dialect(program, order)

"""W5 Hessian-vector product: time of one HVP in all parameters / time of one gradient.

Loss 0.5·mean((tanh(x W1 + b1) W2 + b2 − y)²) of a 100-100-1 network on a batch of 64. The
parameters are one flat float32 vector θ (W1, b1, W2, b2 sliced out of it), as the functional
API takes one argument: ``tapegrad.grad(loss)(θ, x, y)`` against ``tapegrad.hvp(loss)(θ, x, y, v)``
(forward-over-reverse). PyTorch's ratio is measured the same way with ``torch.func``:
``grad(loss)`` against ``jvp(grad(loss), (θ,), (v,))``; and a hand-written NumPy gradient against a
hand-written forward-over-reverse HVP (each step of the gradient with its tangent beside it,
computing only what the HVP needs), the ratio with no tape and no per-op overhead.

The float64 reference is a hand-written gradient, and the HVP is its central difference along v
(exact to ~1e-9 here: the loss is smooth and the step small).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ._harness import (COMPILED, Ctx, Row, WrongResult, alternate, check_close, compiled_rows, torch_rows_missing,
                       verify_lockstep, wrong_row)

ID = "W5"
D_IN, HIDDEN, D_OUT, BATCH = 100, 100, 1, 64
TINY = {"d_in": 6, "hidden": 5, "batch": 4}


def shapes(d_in: int, hidden: int) -> list[tuple]:
    return [(d_in, hidden), (hidden,), (hidden, D_OUT), (D_OUT,)]


def inputs(d_in: int = D_IN, hidden: int = HIDDEN, batch: int = BATCH, seed: int = 0) -> tuple:
    """(θ, x, y, v), float32."""
    rng = numpy.random.default_rng(seed)
    parts = [rng.standard_normal(s) / numpy.sqrt(s[0]) if len(s) == 2 else 0.1 * rng.standard_normal(s)
             for s in shapes(d_in, hidden)]
    theta = numpy.concatenate([p.ravel() for p in parts]).astype(numpy.float32)
    x = rng.standard_normal((batch, d_in)).astype(numpy.float32)
    y = rng.standard_normal((batch, D_OUT)).astype(numpy.float32)
    v = rng.standard_normal(theta.size).astype(numpy.float32)
    return theta, x, y, v


def unflatten(theta: Any, d_in: int, hidden: int) -> list:
    """W1, b1, W2, b2 as slices of the flat vector (works on tapegrad, torch and NumPy arrays)."""
    out, i = [], 0
    for s in shapes(d_in, hidden):
        n = int(numpy.prod(s))
        out.append(theta[i:i + n].reshape(s))
        i += n
    return out


def make_loss(m: Any, d_in: int, hidden: int) -> Callable:
    """The loss written once for ``tapegrad.np``, ``torch`` and ``numpy`` (``m``)."""
    def loss(theta: Any, x: Any, y: Any) -> Any:
        W1, b1, W2, b2 = unflatten(theta, d_in, hidden)
        r = m.tanh(x @ W1 + b1) @ W2 + b2 - y
        return 0.5 * m.mean(r * r)
    return loss


# -- float64 reference ---------------------------------------------------------------------------

def numpy_grad(theta: numpy.ndarray, x: numpy.ndarray, y: numpy.ndarray, d_in: int, hidden: int) -> numpy.ndarray:
    W1, b1, W2, b2 = unflatten(theta, d_in, hidden)
    h = numpy.tanh(x @ W1 + b1)
    r = h @ W2 + b2 - y
    gr = r / r.size
    gW2 = h.T @ gr
    gb2 = gr.sum(axis=0)
    gz = (gr @ W2.T) * (1 - h * h)
    gW1 = x.T @ gz
    gb1 = gz.sum(axis=0)
    return numpy.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])


def numpy_hvp(theta: numpy.ndarray, x: numpy.ndarray, y: numpy.ndarray, v: numpy.ndarray,
              d_in: int, hidden: int) -> numpy.ndarray:
    """Forward-over-reverse by hand: ``numpy_grad`` with every step's tangent along ``v`` beside it."""
    W1, b1, W2, b2 = unflatten(theta, d_in, hidden)
    V1, c1, V2, c2 = unflatten(v, d_in, hidden)
    h = numpy.tanh(x @ W1 + b1)
    s = 1 - h * h
    dh = s * (x @ V1 + c1)
    r = h @ W2 + b2 - y
    dr = dh @ W2 + h @ V2 + c2
    gr, dgr = r / r.size, dr / r.size
    dgW2 = dh.T @ gr + h.T @ dgr
    dgb2 = dgr.sum(axis=0)
    gh = gr @ W2.T
    dgh = dgr @ W2.T + gr @ V2.T
    dgz = dgh * s - 2 * gh * h * dh
    dgW1 = x.T @ dgz
    dgb1 = dgz.sum(axis=0)
    return numpy.concatenate([dgW1.ravel(), dgb1, dgW2.ravel(), dgb2])


def reference(theta, x, y, v, d_in: int = D_IN, hidden: int = HIDDEN) -> dict:
    t, x, y, v = (a.astype(numpy.float64) for a in (theta, x, y, v))
    eps = 1e-5 / max(1.0, float(numpy.linalg.norm(v)) / numpy.sqrt(v.size))
    hv = (numpy_grad(t + eps * v, x, y, d_in, hidden) - numpy_grad(t - eps * v, x, y, d_in, hidden)) / (2 * eps)
    return {"grad": numpy_grad(t, x, y, d_in, hidden), "hvp": hv}


# -- implementations --------------------------------------------------------------------------------

def tapegrad_pair(theta, x, y, v, d_in: int = D_IN, hidden: int = HIDDEN) -> tuple[Callable, Callable]:
    """(one gradient, one HVP) with the functional API."""
    import tapegrad
    from tapegrad import np
    loss = make_loss(np, d_in, hidden)
    th, xt, yt, vt = (np.array(a) for a in (theta, x, y, v))
    grad_fn = tapegrad.grad(loss)
    hvp_fn = tapegrad.hvp(loss)
    return (lambda: {"grad": grad_fn(th, xt, yt)}), (lambda: {"hvp": hvp_fn(th, xt, yt, vt)})


def compiled_pair(theta, x, y, v, d_in: int = D_IN, hidden: int = HIDDEN) -> tuple[Callable, Callable, dict]:
    """(one gradient, one HVP, {"grad": compiled, "hvp": compiled}): ``tapegrad_pair``'s functions
    under ``tapegrad.jit`` (the functional API's name for ``tapegrad.compile``)."""
    import tapegrad
    from tapegrad import np
    loss = make_loss(np, d_in, hidden)
    th, xt, yt, vt = (np.array(a) for a in (theta, x, y, v))
    grad_fn = tapegrad.jit(tapegrad.grad(loss), fuse=False)
    hvp_fn = tapegrad.jit(tapegrad.hvp(loss), fuse=False)
    return ((lambda: {"grad": grad_fn(th, xt, yt)}), (lambda: {"hvp": hvp_fn(th, xt, yt, vt)}),
            {"grad": grad_fn, "hvp": hvp_fn})


def verify_compiled(cpair: tuple, pair: tuple, ref: dict) -> None:
    """Each compiled function's first call (the trace) and second against the reference, then two
    more against the eager function's, call by call."""
    for _ in range(2):
        _verify(COMPILED, cpair[:2], ref)
    for c, e in zip(cpair[:2], pair):
        verify_lockstep(f"{ID} {COMPILED}", c, e)


def numpy_pair(theta, x, y, v, d_in: int = D_IN, hidden: int = HIDDEN) -> tuple[Callable, Callable]:
    """(one gradient, one HVP) written by hand in NumPy: the floor for the ratio."""
    return ((lambda: {"grad": numpy_grad(theta, x, y, d_in, hidden)}),
            (lambda: {"hvp": numpy_hvp(theta, x, y, v, d_in, hidden)}))


def torch_pair(torch: Any, theta, x, y, v, d_in: int = D_IN, hidden: int = HIDDEN) -> tuple[Callable, Callable]:
    """(one gradient, one HVP) with torch.func: grad, and jvp of grad (forward-over-reverse)."""
    from torch.func import grad, jvp
    loss = make_loss(torch, d_in, hidden)
    th, xt, yt, vt = (torch.tensor(a) for a in (theta, x, y, v))
    g = grad(loss)
    return ((lambda: {"grad": g(th, xt, yt)}),
            (lambda: {"hvp": jvp(lambda t: g(t, xt, yt), (th,), (vt,))[1]}))


RTOL = 2e-3


def _verify(label: str, pair: tuple, ref: dict) -> None:
    for fn in pair:
        for k, val in fn().items():
            check_close(f"{ID} {label} {k}", val, ref[k], RTOL)


def check(torch: Any = None, d_in: int = D_IN, hidden: int = HIDDEN, batch: int = BATCH) -> None:
    data = inputs(d_in, hidden, batch)
    ref = reference(*data, d_in=d_in, hidden=hidden)
    pair = tapegrad_pair(*data, d_in=d_in, hidden=hidden)
    _verify("tapegrad", pair, ref)
    verify_compiled(compiled_pair(*data, d_in=d_in, hidden=hidden), pair, ref)
    _verify("NumPy by hand", numpy_pair(*data, d_in=d_in, hidden=hidden), ref)
    if torch is not None:
        _verify("torch", torch_pair(torch, *data, d_in=d_in, hidden=hidden), ref)


def run(ctx: Ctx) -> list[Row]:
    data = inputs()
    ref = reference(*data)
    measure = "HVP / gradient, ms"
    pairs = {"tapegrad": tapegrad_pair(*data)}
    if ctx.torch is not None:
        pairs["PyTorch"] = torch_pair(ctx.torch, *data)
    pairs["NumPy by hand"] = numpy_pair(*data)
    try:
        for label, pair in pairs.items():
            _verify(label, pair, ref)
    except WrongResult as e:
        return [wrong_row(ID, measure, e)]
    rows = []
    for label, (g, h) in pairs.items():
        t = alternate({"hvp": h, "grad": g}, ctx)
        rows.append(Row(ID, measure, [s * 1e3 for s in t["hvp"]], impl=label, base=f"{label} gradient",
                        base_value=[s * 1e3 for s in t["grad"]],
                        target="≤ 1.8" if label == "tapegrad" else "(for comparison)",
                        target_ratio=1.8 if label == "tapegrad" else None))
    if ctx.torch is None:
        rows += torch_rows_missing(ctx, ID, [(measure, "(for comparison)")])
    return rows + _compiled_rows(ctx, data, ref, pairs)


def _compiled_rows(ctx: Ctx, data: tuple, ref: dict, pairs: dict) -> list[Row]:
    """``tapegrad.jit`` of the gradient and of the HVP, timed in one alternation with the eager
    gradient and HVP and the other libraries' HVPs: the W5 ratio compiled, and each side against the
    others."""
    cg, ch, compiled = cpair = compiled_pair(*data)
    try:
        verify_compiled(cpair, pairs["tapegrad"], ref)
    except WrongResult as e:
        return [wrong_row(ID, "HVP / gradient, compiled", e)]
    fns = {"c hvp": ch, "c grad": cg, "hvp": pairs["tapegrad"][1], "grad": pairs["tapegrad"][0]}
    fns.update({f"{label} hvp": pair[1] for label, pair in pairs.items() if label != "tapegrad"})
    ms = {k: [s * 1e3 for s in v] for k, v in alternate(fns, ctx).items()}
    rows = compiled_rows(ID, "HVP / gradient, ms, compiled", ms, compiled,
                         [("c grad", f"{COMPILED} gradient", "≤ 1.8 (both compiled)", 1.8, None)], key="c hvp")
    against = [("hvp", "tapegrad HVP (eager)")]
    against += [(f"{label} hvp", f"{label} HVP") for label in pairs if label != "tapegrad"]
    rows += compiled_rows(ID, "HVP, ms, compiled", ms, {"hvp": compiled["hvp"]},
                          [(k, label, "(for comparison)", None, None) for k, label in against], key="c hvp")
    rows += compiled_rows(ID, "gradient, ms, compiled", ms, {"grad": compiled["grad"]},
                          [("grad", "tapegrad gradient (eager)", "(for comparison)", None, None)], key="c grad")
    for r in rows[1:]:
        r.note = ""  # the first row's note counts both
    ctx.log(f"  {ID} {rows[0].note}")
    return rows


def profile_step() -> Callable[[], Any]:
    """tapegrad: one HVP, tapegrad.hvp (forward-over-reverse) (what ``--profile`` profiles)."""
    return tapegrad_pair(*inputs())[1]

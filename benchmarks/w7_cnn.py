"""W7 small CNN step: batch 32 of 1×28×28, conv 3×3 with 16 output channels (padding 1), ReLU, 2×2
max-pool, dense to 10, mean softmax cross-entropy, SGD (lr 0.01) in place.

Metric: milliseconds per step against PyTorch. tapegrad runs it twice: in the MXNet dialect
(``npx.convolution`` / ``npx.pooling``) and in the PyTorch dialect, where ``torch_like_step`` is
the very function PyTorch runs, given ``tapegrad.torch`` instead of ``torch``. A dialect whose conv
ops are not there yet is reported as skipped. The float64 reference is a hand-written NumPy
forward and backward (im2col through ``sliding_window_view``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy
from numpy.lib.stride_tricks import sliding_window_view

from ._harness import (COMPILED, MXNET_DIALECT, TORCH_DIALECT, Ctx, Row, WrongResult, alternate, check_close,
                       compiled_rows, torch_rows_missing, verify_lockstep, wrong_row)

ID = "W7"
BATCH, CHANNELS, SIDE, FILTERS, CLASSES = 32, 1, 28, 16, 10
LR = 0.01
TINY = {"batch": 2, "side": 6, "filters": 3}
NAMES = ("conv W", "conv b", "dense W", "dense b")


def missing() -> dict[str, list[str]]:
    """The conv/pool functions each tapegrad dialect still lacks (empty lists: all there)."""
    from tapegrad import npx
    import tapegrad.torch.nn.functional as tF
    return {"MXNet": [f"npx.{n}" for n in ("convolution", "pooling") if not hasattr(npx, n)],
            "PyTorch": [f"torch.nn.functional.{n}" for n in ("conv2d", "max_pool2d") if not hasattr(tF, n)]}


def inputs(batch: int = BATCH, side: int = SIDE, filters: int = FILTERS, seed: int = 0) -> tuple:
    """(params, X, y), float32: conv weight (F, C, 3, 3), conv bias, dense weight (in, out), bias."""
    rng = numpy.random.default_rng(seed)
    fan_conv = CHANNELS * 9
    flat = filters * (side // 2) ** 2
    params = [(rng.standard_normal((filters, CHANNELS, 3, 3)) * numpy.sqrt(2 / fan_conv)).astype(numpy.float32),
              numpy.zeros(filters, numpy.float32),
              (rng.standard_normal((flat, CLASSES)) * numpy.sqrt(2 / flat)).astype(numpy.float32),
              numpy.zeros(CLASSES, numpy.float32)]
    X = rng.standard_normal((batch, CHANNELS, side, side)).astype(numpy.float32)
    y = rng.integers(0, CLASSES, batch)
    return params, X, y


# -- float64 reference --------------------------------------------------------------------------

def numpy_loss_and_grads(params: list, X: numpy.ndarray, y: numpy.ndarray) -> tuple:
    Wc, bc, Wd, bd = params
    n, _, side, _ = X.shape
    win = sliding_window_view(numpy.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))
    z = numpy.einsum("nchwij,fcij->nfhw", win, Wc) + bc[:, None, None]
    h = numpy.maximum(z, 0)
    f = h.shape[1]
    blocks = h.reshape(n, f, side // 2, 2, side // 2, 2)
    p = blocks.max(axis=(3, 5))
    o = p.reshape(n, -1) @ Wd + bd
    o = o - o.max(axis=1, keepdims=True)
    e = numpy.exp(o)
    s = e.sum(axis=1, keepdims=True)
    rows = numpy.arange(n)
    loss = (numpy.log(s[:, 0]) - o[rows, y]).mean()
    go = e / s
    go[rows, y] -= 1
    go /= n
    gWd = p.reshape(n, -1).T @ go
    gbd = go.sum(axis=0)
    gp = (go @ Wd.T).reshape(p.shape)
    mask = blocks == p[:, :, :, None, :, None]
    mask = mask / mask.sum(axis=(3, 5), keepdims=True)  # ties (only among zeros, after the ReLU) share
    gz = (mask * gp[:, :, :, None, :, None]).reshape(h.shape) * (z > 0)
    gWc = numpy.einsum("nfhw,nchwij->fcij", gz, win)
    gbc = gz.sum(axis=(0, 2, 3))
    return loss, [gWc, gbc, gWd, gbd]


def reference(params: list, X: numpy.ndarray, y: numpy.ndarray, lr: float = LR) -> dict:
    p64 = [p.astype(numpy.float64) for p in params]
    loss, grads = numpy_loss_and_grads(p64, X.astype(numpy.float64), y)
    ref = {"loss": loss}
    for name, p, g in zip(NAMES, p64, grads):
        ref["grad " + name] = g
        ref["new " + name] = p - lr * g
    return ref


def _result(loss: Any, grads: list, params: list) -> dict:
    out = {"loss": loss}
    for name, g, p in zip(NAMES, grads, params):
        out["grad " + name] = g
        out["new " + name] = p
    return out


# -- implementations ----------------------------------------------------------------------------

def tapegrad_step(params: list, X: numpy.ndarray, y: numpy.ndarray, lr: float = LR) -> Callable[[], dict]:
    """MXNet dialect: npx.convolution, npx.relu, npx.pooling, np.dot, pick of log_softmax."""
    from tapegrad import autograd, np, npx
    ps = [np.array(p) for p in params]
    for p in ps:
        p.attach_grad()
    Xt, yt = np.array(X), np.array(y)
    filters = params[0].shape[0]

    def step() -> dict:
        Wc, bc, Wd, bd = ps
        with autograd.record():
            h = npx.convolution(Xt, Wc, bc, kernel=(3, 3), pad=(1, 1), num_filter=filters)
            h = npx.pooling(npx.relu(h), kernel=(2, 2), stride=(2, 2), pool_type="max")
            o = np.dot(h.reshape(h.shape[0], -1), Wd) + bd
            loss = -npx.pick(npx.log_softmax(o), yt).mean()
        loss.backward()
        for p in ps:
            p -= lr * p.grad
        return _result(loss, [p.grad for p in ps], ps)
    # what the step updates, read from the live parameters (checked on the compiled step)
    step.state = lambda: {k: v for k, v in _result(None, [p.grad for p in ps], ps).items() if k != "loss"}
    return step


def compiled_step(params: list, X: numpy.ndarray, y: numpy.ndarray, lr: float = LR) -> Any:
    """``tapegrad_step`` (MXNet dialect) under ``tapegrad.compile``: its first call traces, later calls replay."""
    import tapegrad
    return tapegrad.compile(tapegrad_step(params, X, y, lr), fuse=False)


def verify_compiled(compiled: Callable[[], dict], eager: Callable[[], dict], ref: dict) -> None:
    """The compiled step's first call (the trace) against the reference, its second run as ``_verify``
    runs it, then two more steps (replays) against the eager step's, call by call (the eager step
    must have been called twice too)."""
    _verify(COMPILED, compiled, ref)
    verify_lockstep(f"{ID} {COMPILED}", compiled, eager, rtol=1e-5)


def torch_like_step(torch: Any, params: list, X: numpy.ndarray, y: numpy.ndarray,
                    lr: float = LR) -> Callable[[], dict]:
    """The PyTorch program, for ``torch`` or ``tapegrad.torch``: F.conv2d, F.relu, F.max_pool2d,
    F.linear, F.cross_entropy, backward, update under no_grad, grad = None."""
    F = torch.nn.functional
    Wc, bc, Wd, bd = params
    ps = [torch.tensor(Wc, requires_grad=True), torch.tensor(bc, requires_grad=True),
          torch.tensor(Wd.T.copy(), requires_grad=True), torch.tensor(bd, requires_grad=True)]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def step() -> dict:
        Wc, bc, Wd, bd = ps
        h = F.max_pool2d(F.relu(F.conv2d(Xt, Wc, bc, padding=1)), 2)
        loss = F.cross_entropy(F.linear(h.reshape(h.shape[0], -1), Wd, bd), yt)
        loss.backward()
        grads = []
        with torch.no_grad():
            for p in ps:
                p -= lr * p.grad
                grads.append(p.grad)
                p.grad = None
        return _result(loss, [grads[0], grads[1], grads[2].T, grads[3]], [ps[0], ps[1], ps[2].T, ps[3]])
    return step


RTOL = 1e-3


def _verify(label: str, step: Callable[[], dict], ref: dict) -> None:
    out = step()
    for k, r in ref.items():
        check_close(f"{ID} {label} {k}", out[k], r, RTOL)
    step()  # timing repeats the step: the second must run too (it sees the first's update and views)


def available_steps(params: list, X: numpy.ndarray, y: numpy.ndarray) -> dict[str, Callable[[], dict]]:
    """tapegrad's steps for the dialects whose conv ops exist."""
    import tapegrad.torch as ttorch
    lacks = missing()
    steps = {}
    if not lacks["MXNet"]:
        steps[MXNET_DIALECT] = tapegrad_step(params, X, y)
    if not lacks["PyTorch"]:
        steps[TORCH_DIALECT] = torch_like_step(ttorch, params, X, y)
    return steps


def check(torch: Any = None, batch: int = BATCH, side: int = SIDE, filters: int = FILTERS) -> list[str]:
    """Check what exists; returns the labels checked (an empty list when no conv op is there yet)."""
    params, X, y = inputs(batch, side, filters)
    ref = reference(params, X, y)
    steps = available_steps(params, X, y)
    if torch is not None:
        steps["torch"] = torch_like_step(torch, params, X, y)
    for label, step in steps.items():
        _verify(label, step, ref)
    if MXNET_DIALECT in steps:
        verify_compiled(compiled_step(params, X, y), steps[MXNET_DIALECT], ref)
        return list(steps) + [COMPILED]
    return list(steps)


def run(ctx: Ctx) -> list[Row]:
    measure = "ms per SGD step"
    lacks = missing()
    if all(lacks.values()):
        return [Row(ID, measure, base="PyTorch", target="≤ 1.5× PyTorch", status="skipped: conv ops missing",
                    note="missing: " + ", ".join(lacks["MXNet"] + lacks["PyTorch"]))]
    params, X, y = inputs()
    ref = reference(params, X, y)
    steps = available_steps(params, X, y)
    if ctx.torch is not None:
        steps["PyTorch"] = torch_like_step(ctx.torch, params, X, y)
    try:
        for label, step in steps.items():
            _verify(label, step, ref)
    except WrongResult as e:
        return [wrong_row(ID, measure, e)]
    compiled, c_rows = None, []
    if MXNET_DIALECT in steps:
        compiled = compiled_step(params, X, y)
        try:
            verify_compiled(compiled, steps[MXNET_DIALECT], ref)
        except WrongResult as e:
            compiled, c_rows = None, [wrong_row(ID, f"{measure}, compiled", e)]
    timed = dict(steps, **({COMPILED: compiled} if compiled is not None else {}))
    ms = {k: [v * 1e3 for v in vs] for k, vs in alternate(timed, ctx).items()}
    rows = []
    if ctx.torch is None:
        rows = torch_rows_missing(ctx, ID, [(measure, "≤ 1.5× PyTorch")])
        for label in steps:
            rows.append(Row(ID, measure, ms[label], impl=label, target="(no PyTorch to compare)"))
    else:
        for label in steps:
            if label != "PyTorch":
                rows.append(Row(ID, measure, ms[label], impl=label, base="PyTorch", base_value=ms["PyTorch"],
                                target="≤ 1.5× PyTorch", target_ratio=1.5))
    if compiled is not None:
        # issue 15 sets no compiled target for W7: its compiled rows are for comparison
        against = [("PyTorch", "PyTorch", "(for comparison)", None, None)] if ctx.torch is not None else []
        against.append((MXNET_DIALECT, f"{MXNET_DIALECT}, eager", "(for comparison)", None, None))
        c_rows = compiled_rows(ID, f"{measure}, compiled", ms, compiled, against)
        ctx.log(f"  {ID} {c_rows[0].note}")
    rows += c_rows
    for dialect, names in lacks.items():
        if names:
            rows.append(Row(ID, f"{measure}, {dialect} dialect", base="PyTorch", target="≤ 1.5× PyTorch",
                            status="skipped: conv ops missing", note="missing: " + ", ".join(names)))
    return rows


def profile_step() -> Callable[[], Any]:
    """tapegrad: one SGD step of the CNN, MXNet dialect (what ``--profile`` profiles)."""
    return tapegrad_step(*inputs())

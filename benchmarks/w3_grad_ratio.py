"""W3 gradient ratio: on W2's network, time(forward + backward) / time(forward with no tape).

No parameter update: the ratio is what the tape and the backward cost over plain evaluation. The
same ratio is measured for PyTorch (forward under ``torch.no_grad()``) and for W2's hand-written
NumPy forward and backward, for comparison: the hand-written pair is the ratio with no tape at all.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from . import w2_mlp
from ._harness import Ctx, Row, WrongResult, alternate, check_close, wrong_row

ID = "W3"
TINY = w2_mlp.TINY


def reference(params: list, X: numpy.ndarray, y: numpy.ndarray) -> dict:
    p64 = [p.astype(numpy.float64) for p in params]
    loss, grads = w2_mlp.numpy_loss_and_grads(p64, X.astype(numpy.float64), y)
    return {"loss": loss, **{"grad " + n: g for n, g in zip(w2_mlp.NAMES, grads)}}


def tapegrad_pair(params: list, X: numpy.ndarray, y: numpy.ndarray) -> tuple[Callable, Callable]:
    """(forward + backward, forward with no tape), MXNet dialect."""
    from tapegrad import autograd
    ps, loss_fn = w2_mlp.tapegrad_forward_fn(params, X, y)

    def fwd_bwd() -> dict:
        with autograd.record():
            loss = loss_fn()
        loss.backward()
        return {"loss": loss, **{"grad " + n: p.grad for n, p in zip(w2_mlp.NAMES, ps)}}

    def fwd() -> dict:
        return {"loss": loss_fn()}
    return fwd_bwd, fwd


def numpy_pair(params: list, X: numpy.ndarray, y: numpy.ndarray) -> tuple[Callable, Callable]:
    """(forward + backward, forward) written by hand in NumPy: the ratio with no tape at all."""
    def fwd_bwd() -> dict:
        loss, grads = w2_mlp.numpy_loss_and_grads(params, X, y)
        return {"loss": loss, **{"grad " + n: g for n, g in zip(w2_mlp.NAMES, grads)}}
    return fwd_bwd, lambda: {"loss": w2_mlp.numpy_forward(params, X, y)}


def torch_pair(torch: Any, params: list, X: numpy.ndarray, y: numpy.ndarray) -> tuple[Callable, Callable]:
    ps, loss_fn = w2_mlp.torch_forward_fn(torch, params, X, y)

    def fwd_bwd() -> dict:
        for p in ps:
            p.grad = None
        loss = loss_fn()
        loss.backward()
        return {"loss": loss, **{"grad " + n: (p.grad.T if p.ndim == 2 else p.grad)
                                 for n, p in zip(w2_mlp.NAMES, ps)}}

    def fwd() -> dict:
        with torch.no_grad():
            return {"loss": loss_fn()}
    return fwd_bwd, fwd


def _verify(label: str, pair: tuple, ref: dict) -> None:
    for fn in pair:
        for k, v in fn().items():
            check_close(f"{ID} {label} {k}", v, ref[k], w2_mlp.RTOL)


def check(torch: Any = None, sizes: tuple = w2_mlp.SIZES, batch: int = w2_mlp.BATCH) -> None:
    params, X, y = w2_mlp.inputs(sizes, batch)
    ref = reference(params, X, y)
    _verify("tapegrad", tapegrad_pair(params, X, y), ref)
    _verify("NumPy by hand", numpy_pair(params, X, y), ref)
    if torch is not None:
        _verify("torch", torch_pair(torch, params, X, y), ref)


def run(ctx: Ctx) -> list[Row]:
    params, X, y = w2_mlp.inputs()
    ref = reference(params, X, y)
    measure = "(forward + backward) / forward, ms"
    pairs = {"tapegrad": tapegrad_pair(params, X, y)}
    if ctx.torch is not None:
        pairs["PyTorch"] = torch_pair(ctx.torch, params, X, y)
    pairs["NumPy by hand"] = numpy_pair(params, X, y)
    try:
        for label, pair in pairs.items():
            _verify(label, pair, ref)
    except WrongResult as e:
        return [wrong_row(ID, measure, e)]
    rows = []
    for label, (fwd_bwd, fwd) in pairs.items():
        t = alternate({"fwd_bwd": fwd_bwd, "fwd": fwd}, ctx)
        base = f"{label} forward only" if label == "NumPy by hand" else f"{label} forward, no tape"
        rows.append(Row(ID, measure, [v * 1e3 for v in t["fwd_bwd"]], impl=label,
                        base=base, base_value=[v * 1e3 for v in t["fwd"]],
                        target="≤ 2.45" if label == "tapegrad" else "(for comparison)",
                        target_ratio=2.45 if label == "tapegrad" else None))
    if ctx.torch is None:
        rows[0].note = f"PyTorch's ratio not measured: {ctx.torch_note}"
    return rows


def profile_step() -> Callable[[], Any]:
    """tapegrad: forward + backward of the MLP (what ``--profile`` profiles)."""
    return tapegrad_pair(*w2_mlp.inputs())[0]

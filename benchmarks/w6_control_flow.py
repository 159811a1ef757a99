"""W6 control flow: the gradient of the seed's f, with a Python loop and branch on array values.

f(a): b = 2a; double b while its norm is below 1000; then c = b if sum(b) > 0 else 100·b. One
call = record f, backward, read a.grad (= f(a) / a). Metric: microseconds per call, on a scalar
and on a 1000-vector, against PyTorch.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ._harness import Ctx, Row, WrongResult, alternate, check_close, torch_rows_missing, wrong_row

ID = "W6"
SIZES = {"scalar": None, "1000-vector": 1000}
TINY = {"sizes": {"scalar": None, "10-vector": 10}}


def inputs(size: int | None, seed: int = 0) -> numpy.ndarray:
    if size is None:
        return numpy.array(0.7, dtype=numpy.float32)
    return numpy.random.default_rng(seed).standard_normal(size).astype(numpy.float32)


def f_mxnet(a: Any) -> Any:
    """The seed's f in the MXNet dialect (D2L's code, unchanged)."""
    from tapegrad import np
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def f_torch(a: Any) -> Any:
    """The seed's f in PyTorch (D2L's code, unchanged)."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def reference(a0: numpy.ndarray) -> dict:
    a = a0.astype(numpy.float64)
    b = a * 2
    while numpy.linalg.norm(b) < 1000:
        b = b * 2
    c = b if b.sum() > 0 else 100 * b
    return {"grad": c / a, "value": c}


def tapegrad_step(a0: numpy.ndarray) -> Callable[[], dict]:
    from tapegrad import autograd, np
    a = np.array(a0)
    a.attach_grad()

    def step() -> dict:
        with autograd.record():
            d = f_mxnet(a)
        d.backward()
        return {"grad": a.grad, "value": d}
    return step


def torch_step(torch: Any, a0: numpy.ndarray) -> Callable[[], dict]:
    a = torch.tensor(a0, requires_grad=True)

    def step() -> dict:
        a.grad = None
        d = f_torch(a)
        (d if d.dim() == 0 else d.sum()).backward()
        return {"grad": a.grad, "value": d}
    return step


def _verify(label: str, step: Callable[[], dict], ref: dict) -> None:
    for k, v in step().items():
        check_close(f"{ID} {label} {k}", v, ref[k], 1e-5)


def check(torch: Any = None, sizes: dict = SIZES) -> None:
    for name, size in sizes.items():
        a0 = inputs(size)
        ref = reference(a0)
        _verify(f"tapegrad {name}", tapegrad_step(a0), ref)
        if torch is not None:
            _verify(f"torch {name}", torch_step(torch, a0), ref)


def run(ctx: Ctx) -> list[Row]:
    rows = []
    for name, size in SIZES.items():
        measure = f"µs per gradient, {name}"
        a0 = inputs(size)
        ref = reference(a0)
        steps = {"tapegrad": tapegrad_step(a0)}
        if ctx.torch is not None:
            steps["torch"] = torch_step(ctx.torch, a0)
        try:
            for label, step in steps.items():
                _verify(f"{label} {name}", step, ref)
        except WrongResult as e:
            rows.append(wrong_row(ID, measure, e))
            continue
        us = {k: [v * 1e6 for v in vs] for k, vs in alternate(steps, ctx).items()}
        if ctx.torch is None:
            (row,) = torch_rows_missing(ctx, ID, [(measure, "≤ 0.5× PyTorch")])
            row.value = us["tapegrad"]
            rows.append(row)
        else:
            rows.append(Row(ID, measure, us["tapegrad"], base="PyTorch", base_value=us["torch"],
                            target="≤ 0.5× PyTorch", target_ratio=0.5))
    return rows

def profile_step() -> Callable[[], Any]:
    """tapegrad: one gradient of f on the scalar (what ``--profile`` profiles)."""
    return tapegrad_step(inputs(None))

"""W6 control flow: the gradient of the seed's f, with a Python loop and branch on array values.

f(a): b = 2a; double b while its norm is below 1000; then c = b if sum(b) > 0 else 100·b. One
call = record f, backward, read a.grad (= f(a) / a). Metric: microseconds per call, on a scalar
and on a 1000-vector, against PyTorch.

The compiled rows time the same call under ``tapegrad.compile`` on inputs that vary the loop count
and the branch: the scalar takes the values ``CYCLE`` in turn (0.7, 3.0, -0.2, 40.0: 10, 8, 12 and
4 doublings, the third through the 100·b branch), the vector the seed input times ``VECTOR_CYCLE``.
One trace per path (the loop's and the branch's guards), then replays; the eager tapegrad call and
PyTorch are timed on the same cycle of inputs, and every compiled result, value and gradient, is
checked bit for bit against the eager one.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

import itertools

from ._harness import (COMPILED, Ctx, Row, WrongResult, alternate, check_close, check_same, compiled_rows,
                       torch_rows_missing, wrong_row)

ID = "W6"
SIZES = {"scalar": None, "1000-vector": 1000}
TINY = {"sizes": {"scalar": None, "10-vector": 10}}
#: The compiled rows' inputs, in turn: the scalar's values, and the factors on the vector's input.
CYCLE = (0.7, 3.0, -0.2, 40.0)
VECTOR_CYCLE = (1.0, 0.01, -0.3, 20.0)
#: Issue 15's target for the compiled scalar call on inputs that vary the loop count: ≤ 0.5× PyTorch
#: eager on the same inputs, its values and gradients identical to eager tapegrad (``verify_cycle``
#: checks them bit for bit before timing; a difference is a wrong result, not a row).
COMPILED_RATIO = 0.5
COMPILED_TARGET = f"≤ {COMPILED_RATIO:g}× PyTorch, gradients identical to eager (checked)"


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


def cycle_inputs(size: int | None, seed: int = 0) -> list[numpy.ndarray]:
    """The inputs the compiled rows cycle through (see ``CYCLE``)."""
    if size is None:
        return [numpy.array(v, dtype=numpy.float32) for v in CYCLE]
    a0 = inputs(size, seed)
    return [(a0 * numpy.float32(k)).astype(numpy.float32) for k in VECTOR_CYCLE]


def path(a0: numpy.ndarray) -> str:
    """The path f takes on ``a0``: its number of doublings and branch, e.g. ``10×2, b``."""
    b = a0.astype(numpy.float64) * 2
    n = 0
    while numpy.linalg.norm(b) < 1000:
        b, n = b * 2, n + 1
    return f"{n}×2, {'b' if b.sum() > 0 else '100·b'}"


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


def tapegrad_call() -> Callable[[Any], dict]:
    """``tapegrad_step``'s body as a function of the variable ``a`` (what the compiled rows compile)."""
    from tapegrad import autograd

    def call(a: Any) -> dict:
        with autograd.record():
            d = f_mxnet(a)
        d.backward()
        return {"grad": a.grad, "value": d}
    return call


def cycle_steps(a0s: list[numpy.ndarray], torch: Any = None) -> dict[str, Callable[[], dict]]:
    """Zero-argument steps that take the inputs ``a0s`` in turn, one per call: the eager tapegrad
    call, the same under ``tapegrad.compile`` and, given ``torch``, PyTorch's."""
    import tapegrad
    from tapegrad import np
    arrays = []
    for a0 in a0s:
        a = np.array(a0)
        a.attach_grad()
        arrays.append(a)
    eager, compiled = tapegrad_call(), tapegrad.compile(tapegrad_call(), fuse=False)
    ie, ic = itertools.cycle(arrays), itertools.cycle(arrays)
    steps = {"tapegrad cycle": lambda: eager(next(ie)), COMPILED: lambda: compiled(next(ic))}
    steps[COMPILED].compiled = compiled
    if torch is not None:
        ts = [torch_step(torch, a0) for a0 in a0s]
        it = itertools.cycle(ts)
        steps["torch cycle"] = lambda: next(it)()
    return steps


def verify_cycle(label: str, a0s: list[numpy.ndarray], steps: dict, passes: int = 3) -> None:
    """``passes`` times through the cycle: the compiled call (the first pass traces each path, the
    later ones replay) against the float64 reference and bit for bit against the eager call, and
    PyTorch's against the reference."""
    refs = [reference(a0) for a0 in a0s]
    for p in range(passes):
        for i, ref in enumerate(refs):
            what = f"{ID} {label} input {i + 1} pass {p + 1}"
            got, want = steps[COMPILED](), steps["tapegrad cycle"]()
            for k, v in got.items():
                check_close(f"{what} {COMPILED} {k}", v, ref[k], 1e-5)
            check_same(f"{what} {COMPILED} against eager", got, want, exact=True)
            if "torch cycle" in steps:
                for k, v in steps["torch cycle"]().items():
                    check_close(f"{what} torch {k}", v, ref[k], 1e-5)


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
        a0s = cycle_inputs(size)
        verify_cycle(f"{name} cycle", a0s, cycle_steps(a0s, torch))


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
        # the compiled rows: the same call on inputs that take different paths, in turn
        a0s = cycle_inputs(size)
        paths = "; ".join(path(a) for a in a0s)
        c_measure = f"µs per gradient, {name}, compiled, {len(a0s)} inputs in turn ({paths})"
        cyc = cycle_steps(a0s, ctx.torch)
        try:
            verify_cycle(f"{name} cycle", a0s, cyc)
            steps.update(cyc)
            c_wrong = None
        except WrongResult as e:
            c_wrong = wrong_row(ID, c_measure, e)
        us = {k: [v * 1e6 for v in vs] for k, vs in alternate(steps, ctx).items()}
        if ctx.torch is None:
            (row,) = torch_rows_missing(ctx, ID, [(measure, "≤ 0.5× PyTorch")])
            row.value = us["tapegrad"]
            rows.append(row)
        else:
            rows.append(Row(ID, measure, us["tapegrad"], base="PyTorch", base_value=us["torch"],
                            target="≤ 0.5× PyTorch", target_ratio=0.5))
        if c_wrong is not None:
            rows.append(c_wrong)
            continue
        # issue 15 sets the scalar's target (the seed's case); the vector's compiled rows are for comparison
        target = COMPILED_TARGET if size is None else "(for comparison)"
        ratio = COMPILED_RATIO if size is None else None
        against = [("torch cycle", "PyTorch, same inputs", target, ratio, None)] if ctx.torch else []
        against.append(("tapegrad cycle", "tapegrad (eager), same inputs", "(for comparison)", None, None))
        new = compiled_rows(ID, c_measure, us, cyc[COMPILED].compiled, against)
        ctx.log(f"  {ID} {name}: {new[0].note}")
        if ctx.torch is None and size is None:  # the target's row, saying why it has no numbers
            rows += torch_rows_missing(ctx, ID, [(c_measure, target)])
        rows += new
    return rows

def profile_step() -> Callable[[], Any]:
    """tapegrad: one gradient of f on the scalar (what ``--profile`` profiles)."""
    return tapegrad_step(inputs(None))

"""W1 small ops: the per-op cost of the tape.

x holds 4 float32 values uniform in [-1, 1]; a chain of 200 ops cycles multiply-by-2.8, add 0.1,
sin, exp, tanh, square; then sum and backward. Metric: microseconds per op, (forward + backward)
/ 200. The same chain with no recording is timed against raw NumPy.

One function, ``chain``, is the program for every library: only the namespace of
``sin``/``exp``/``tanh``/``square`` changes (``tapegrad.np``, ``tapegrad.torch``, ``torch`` or
``numpy``). tapegrad runs it in both dialects: the MXNet dialect (``attach_grad``, ``record``) and
the PyTorch dialect, where ``torch_step`` is the very function real PyTorch runs, given
``tapegrad.torch`` instead of ``torch``; the two dialects are also timed against each other.
"""
from __future__ import annotations

import statistics
from typing import Any, Callable

import numpy

from ._harness import (COMPILED, FUSED, TORCH_DIALECT, Ctx, Row, WrongResult, alternate, check_close, compiled_rows,
                       dialect_rows, torch_rows_missing, verify_lockstep, wrong_row)

ID = "W1"
N_OPS = 200
SIZE = 4
TINY = {"n_ops": 30, "size": 4}


def inputs(size: int = SIZE, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).uniform(-1.0, 1.0, size).astype(numpy.float32)


def chain(y: Any, n_ops: int, m: Any) -> Any:
    """The op chain, written once for tapegrad.np, tapegrad.torch, torch and numpy (``m``)."""
    for i in range(n_ops):
        k = i % 6
        if k == 0:
            y = y * 2.8
        elif k == 1:
            y = y + 0.1
        elif k == 2:
            y = m.sin(y)
        elif k == 3:
            y = m.exp(y)
        elif k == 4:
            y = m.tanh(y)
        else:
            y = m.square(y)
    return y


# -- hand-written NumPy (also the float64 reference) -------------------------------------------

def numpy_forward_backward(x: numpy.ndarray, n_ops: int) -> tuple:
    """Forward keeping only what the backward needs, then the backward by hand: (sum, gradient)."""
    saved = []
    y = x
    for i in range(n_ops):
        k = i % 6
        if k == 0:
            y = y * 2.8
        elif k == 1:
            y = y + 0.1
        elif k == 2:
            saved.append(y)
            y = numpy.sin(y)
        elif k == 3:
            y = numpy.exp(y)
            saved.append(y)
        elif k == 4:
            y = numpy.tanh(y)
            saved.append(y)
        else:
            saved.append(y)
            y = numpy.square(y)
    s = y.sum()
    g = numpy.ones_like(y)
    for i in reversed(range(n_ops)):
        k = i % 6
        if k == 0:
            g = g * 2.8
        elif k == 2:
            g = g * numpy.cos(saved.pop())
        elif k == 3:
            g = g * saved.pop()
        elif k == 4:
            t = saved.pop()
            g = g * (1 - t * t)
        elif k == 5:
            g = g * (2 * saved.pop())
    return s, g


def reference(x: numpy.ndarray, n_ops: int) -> dict:
    x64 = x.astype(numpy.float64)
    s, g = numpy_forward_backward(x64, n_ops)
    return {"sum": s, "grad": g, "forward": chain(x64, n_ops, numpy)}


# -- the implementations under test: each returns a zero-argument step -----------------------

def tapegrad_step(x0: numpy.ndarray, n_ops: int) -> Callable[[], dict]:
    """MXNet dialect: attach_grad, record, backward."""
    from tapegrad import autograd, np
    x = np.array(x0)
    x.attach_grad()

    def step() -> dict:
        with autograd.record():
            s = chain(x, n_ops, np).sum()
        s.backward()
        return {"sum": s, "grad": x.grad}
    step.state = lambda: {"grad": x.grad}  # what the step updates (checked on the compiled step)
    return step


def compiled_step(x0: numpy.ndarray, n_ops: int, fuse: bool = False) -> Any:
    """``tapegrad_step`` under ``tapegrad.compile``: its first call traces, later calls replay
    (``fuse``: elementwise runs as Numba kernels, the issue's ``tapegrad[jit]`` row)."""
    import tapegrad
    return tapegrad.compile(tapegrad_step(x0, n_ops), fuse=fuse)


def tapegrad_forward(x0: numpy.ndarray, n_ops: int) -> Callable[[], dict]:
    """The same chain on a tapegrad array with nothing recording."""
    from tapegrad import np
    x = np.array(x0)
    return lambda: {"forward": chain(x, n_ops, np)}


def torch_step(torch: Any, x0: numpy.ndarray, n_ops: int) -> Callable[[], dict]:
    """The PyTorch program, for ``torch`` or ``tapegrad.torch``: a leaf with ``requires_grad``,
    ``.sum().backward()``, ``grad = None`` before each step."""
    x = torch.tensor(x0, requires_grad=True)

    def step() -> dict:
        x.grad = None
        s = chain(x, n_ops, torch).sum()
        s.backward()
        return {"sum": s, "grad": x.grad}
    return step


def numpy_step(x0: numpy.ndarray, n_ops: int) -> Callable[[], dict]:
    x = x0.copy()

    def step() -> dict:
        s, g = numpy_forward_backward(x, n_ops)
        return {"sum": s, "grad": g}
    return step


def numpy_forward(x0: numpy.ndarray, n_ops: int) -> Callable[[], dict]:
    x = x0.copy()
    return lambda: {"forward": chain(x, n_ops, numpy)}


RTOL = 1e-3  # float32 through a chain of hundreds of ops

#: Issue 15's targets for the compiled step: the replay ≤ 1.0 µs/op, where hand-written NumPy took
#: ~2.0 µs/op on the issue writer's machine, hence ≤ 0.5× NumPy by hand on any machine; with
#: elementwise fusion (``tapegrad[jit]``) ≤ 0.25 µs/op, what JAX's jit took there.
COMPILED_US, ISSUE_NUMPY_US = 1.0, 2.0
COMPILED_RATIO = COMPILED_US / ISSUE_NUMPY_US
COMPILED_TARGET = (f"≤ {COMPILED_RATIO:g}× NumPy by hand (issue: ≤ {COMPILED_US:.1f} µs/op, "
                   f"NumPy ~{ISSUE_NUMPY_US:.1f})")
FUSION_US = 0.25
M_FUSION = f"µs/op, compiled with fusion (tapegrad[jit]): (forward + backward) / {N_OPS}"
FUSION_TARGET = f"≤ {FUSION_US / ISSUE_NUMPY_US:g}× NumPy by hand (issue: ≤ {FUSION_US:g} µs/op, NumPy ~{ISSUE_NUMPY_US:.1f})"


def fusion_available() -> bool:
    from tapegrad.backend import numba_kernels
    return numba_kernels.available()


def fusion_rows(scaled: dict, fused: Any) -> list[Row]:
    """Issue 15's fusion target: the compiled step with ``fuse=True`` (one Numba kernel for the whole
    chain, forward and backward), timed in the same alternation as NumPy by hand. The issue gives
    ≤ 0.25 µs/op where hand-written NumPy took ~2.0, hence the verdict on ≤ 0.125× NumPy by hand;
    the absolute figure is in the note. Without Numba the row says so."""
    if fused is None:
        return [Row(ID, M_FUSION, base="NumPy by hand", target=FUSION_TARGET,
                    status="not measured: Numba is not installed (pip install 'tapegrad[jit]')")]
    rows = compiled_rows(ID, M_FUSION, scaled, fused,
                         [("numpy", "NumPy by hand", FUSION_TARGET, FUSION_US / ISSUE_NUMPY_US, None)], key=FUSED)
    med = statistics.median(rows[0].value)
    kernels = [ln.strip() for ln in fused.explain().splitlines() if ln.strip().startswith("fused:")]
    rows[0].impl = FUSED + rows[0].impl[len(COMPILED):]
    rows[0].note += (f"; absolute: median {med:.3f} µs/op against the issue's ≤ {FUSION_US:g} µs/op (JAX jit there); "
                     + (kernels[0] if kernels else "nothing fused"))
    return rows


def verify(label: str, step: Callable[[], dict], ref: dict) -> None:
    """Check one call of ``step``, then check a second: timing repeats the step on the same leaf."""
    for _ in range(2):
        out = step()
        for k, v in out.items():
            check_close(f"{ID} {label} {k}", v, ref[k], RTOL)


def torch_dialect_step(x0: numpy.ndarray, n_ops: int) -> Callable[[], dict]:
    """PyTorch dialect: ``torch_step`` given ``tapegrad.torch``."""
    import tapegrad.torch
    return torch_step(tapegrad.torch, x0, n_ops)


def check(torch: Any = None, n_ops: int = N_OPS, size: int = SIZE) -> None:
    """Every implementation against the float64 reference (torch's only when given)."""
    x0 = inputs(size)
    ref = reference(x0, n_ops)
    steps = {"tapegrad": tapegrad_step(x0, n_ops), TORCH_DIALECT: torch_dialect_step(x0, n_ops),
             COMPILED: compiled_step(x0, n_ops), "tapegrad no-record": tapegrad_forward(x0, n_ops),
             "numpy": numpy_step(x0, n_ops), "numpy forward": numpy_forward(x0, n_ops)}
    if torch is not None:
        steps["torch"] = torch_step(torch, x0, n_ops)
    if fusion_available():
        steps[FUSED] = compiled_step(x0, n_ops, fuse=True)
    for label, step in steps.items():
        verify(label, step, ref)
    verify_lockstep(f"{ID} {COMPILED}", steps[COMPILED], steps["tapegrad"])
    if FUSED in steps:
        verify_lockstep(f"{ID} {FUSED}", steps[FUSED], steps["tapegrad"], rtol=1e-4)


def run(ctx: Ctx) -> list[Row]:
    x0 = inputs()
    ref = reference(x0, N_OPS)
    us_per_op = 1e6 / N_OPS
    rows: list[Row] = []
    m_rec = "µs/op, record + backward"
    m_fwd = "µs/op, no recording"

    m_cmp = f"µs/op, compiled replay: (forward + backward) / {N_OPS}"

    steps = {"tapegrad": tapegrad_step(x0, N_OPS), TORCH_DIALECT: torch_dialect_step(x0, N_OPS),
             "numpy": numpy_step(x0, N_OPS)}
    if ctx.torch is not None:
        steps["torch"] = torch_step(ctx.torch, x0, N_OPS)
    try:
        for label, step in steps.items():
            verify(label, step, ref)
    except WrongResult as e:
        return [wrong_row(ID, m_rec, e)]
    # The compiled step: its first call (the trace) and second (a replay) against the reference,
    # two more against the eager step's; the trace is thus done before timing starts.
    compiled = compiled_step(x0, N_OPS)
    try:
        verify(COMPILED, compiled, ref)
        verify_lockstep(f"{ID} {COMPILED}", compiled, steps["tapegrad"])
        steps[COMPILED] = compiled
    except WrongResult as e:
        compiled_wrong = wrong_row(ID, m_cmp, e)
    else:
        compiled_wrong = None
    fused = None
    if fusion_available():  # (its trace compiles the kernel: done here, before timing)
        fused = compiled_step(x0, N_OPS, fuse=True)
        try:
            verify(FUSED, fused, ref)
            verify_lockstep(f"{ID} {FUSED}", fused, steps["tapegrad"], rtol=1e-4)
            steps[FUSED] = fused
        except WrongResult as e:
            fused_wrong = wrong_row(ID, M_FUSION, e)
            fused = None
        else:
            fused_wrong = None
    t = alternate(steps, ctx)
    scaled = {k: [v * us_per_op for v in vs] for k, vs in t.items()}
    if ctx.torch is not None:
        rows.append(Row(ID, m_rec, scaled["tapegrad"], base="PyTorch", base_value=scaled["torch"],
                        target="≤ 0.35× PyTorch", target_ratio=0.35))
    else:
        rows += torch_rows_missing(ctx, ID, [(m_rec, "≤ 0.35× PyTorch")])
    rows.append(Row(ID, m_rec, scaled["tapegrad"], base="NumPy by hand", base_value=scaled["numpy"],
                    target="≤ 3.0 µs/op", target_value=3.0))
    rows += dialect_rows(ID, m_rec, scaled, 1.1)
    if compiled_wrong is not None:
        rows.append(compiled_wrong)
    else:
        # Issue 15: the replay ≤ 1.0 µs/op where hand-written NumPy takes ~2.0 on the issue writer's
        # machine. Machines differ, so the verdict is on the ratio that implies (≤ 0.5× NumPy by
        # hand, timed in the same alternation); the absolute figure is shown beside it.
        against = [("numpy", "NumPy by hand", COMPILED_TARGET, COMPILED_RATIO, None)]
        if ctx.torch is not None:
            against.append(("torch", "PyTorch", "(for comparison)", None, None))
        against.append(("tapegrad", "tapegrad (eager)", "(for comparison)", None, None))
        new = compiled_rows(ID, m_cmp, scaled, compiled, against)
        med = statistics.median(new[0].value)
        new[0].note += (f"; absolute: median {med:.2f} µs/op against the issue's ≤ {COMPILED_US:.1f} µs/op "
                        f"({'within' if med <= COMPILED_US else 'above'} it on this machine; the verdict "
                        "is on the ratio)")
        ctx.log(f"  {ID} {new[0].note}")
        rows += new
    if fused is None and fusion_available():
        rows.append(fused_wrong)
    else:
        rows += fusion_rows(scaled, fused)

    fwd = {"tapegrad": tapegrad_forward(x0, N_OPS), "numpy": numpy_forward(x0, N_OPS)}
    try:
        for label, step in fwd.items():
            verify(label + " no-record", step, ref)
    except WrongResult as e:
        return rows + [wrong_row(ID, m_fwd, e)]
    t = alternate(fwd, ctx)
    rows.append(Row(ID, m_fwd, [v * us_per_op for v in t["tapegrad"]], base="raw NumPy",
                    base_value=[v * us_per_op for v in t["numpy"]], target="≤ 1.5× NumPy", target_ratio=1.5))
    return rows


def profile_step() -> Callable[[], Any]:
    """tapegrad: record + backward of the 200-op chain on 4 values (what ``--profile`` profiles)."""
    return tapegrad_step(inputs(), N_OPS)

"""W1's floor for a tape written in Python: hand NumPy, a minimal tape and tapegrad, side by side.

The minimal tape knows only W1's six ops on a single chain: a node is a tuple (which op, its
input, what its gradient reads), and backward walks the chain with no topological sort, no
cotangent table and no checks (broadcasting, dtypes, hooks, retained graphs, multi-output ops...).
What it costs over hand-written NumPy is what Python itself charges for a tape; what tapegrad costs
over it is the price of a general engine. Two more rows split tapegrad's time: its recorded forward
alone, and forward + backward with every gradient rule replaced by a stub that returns its
cotangent unchanged (so what remains of the backward is the engine's own work per node; the
gradient is then wrong, and not used). The no-recording row has its yardstick too: the chain on a
minimal array wrapper (one slot, each op a new wrapper around NumPy's result, no checks at all)
against raw NumPy and tapegrad with nothing recording. Not part of the suite's table: a yardstick
for the W1 rows.

    python -m benchmarks.w1_floor [rounds]
"""
from __future__ import annotations

import statistics
import sys
import time
import types
from typing import Callable

import numpy

from . import w1_small_ops
from .w1_small_ops import N_OPS, chain, inputs, numpy_forward_backward


class _Value:
    """A value on the minimal tape: its buffer and the step that made it (None for the input)."""

    __slots__ = ("d", "step")

    def __init__(self, d: numpy.ndarray, step: tuple | None = None) -> None:
        self.d, self.step = d, step

    def __mul__(self, c: float) -> "_Value":
        return _Value(self.d * c, ("scale", self, c))

    def __add__(self, c: float) -> "_Value":
        return _Value(self.d + c, ("shift", self, None))


class _Ops:
    """The namespace ``chain`` calls (as it calls ``numpy`` or ``tapegrad.np``)."""

    @staticmethod
    def sin(v: _Value) -> _Value:
        return _Value(numpy.sin(v.d), ("sin", v, v.d))

    @staticmethod
    def exp(v: _Value) -> _Value:
        y = numpy.exp(v.d)
        return _Value(y, ("exp", v, y))

    @staticmethod
    def tanh(v: _Value) -> _Value:
        y = numpy.tanh(v.d)
        return _Value(y, ("tanh", v, y))

    @staticmethod
    def square(v: _Value) -> _Value:
        return _Value(numpy.square(v.d), ("square", v, v.d))


class _Bare:
    """The least an array wrapper can be: its buffer, and ops that wrap NumPy's result."""

    __slots__ = ("d",)

    def __init__(self, d: numpy.ndarray) -> None:
        self.d = d

    def __mul__(self, c: float) -> "_Bare":
        return _Bare(self.d * c)

    def __add__(self, c: float) -> "_Bare":
        return _Bare(self.d + c)


def _bare_op(f: numpy.ufunc) -> Callable[[_Bare], _Bare]:
    return lambda v: _Bare(f(v.d))


#: The namespace ``chain`` calls for the minimal wrapper: NumPy's function on the buffer, wrapped.
_BARE_OPS = types.SimpleNamespace(**{n: _bare_op(getattr(numpy, n)) for n in ("sin", "exp", "tanh", "square")})


def minimal_tape_gradient(x: numpy.ndarray, n_ops: int = N_OPS) -> numpy.ndarray:
    """The gradient of sum(chain(x)) on the minimal tape."""
    y = chain(_Value(x), n_ops, _Ops)
    g = numpy.ones_like(y.d)
    while y.step is not None:
        kind, y, s = y.step
        if kind == "scale":
            g = g * s
        elif kind == "sin":
            g = g * numpy.cos(s)
        elif kind == "exp":
            g = g * s
        elif kind == "tanh":
            g = g * (1 - s * s)
        elif kind == "square":
            g = g * (2 * s)
    return g


def check(n_ops: int = 30) -> None:
    """The minimal tape's gradient is hand NumPy's (raises AssertionError otherwise)."""
    x = inputs()
    _, g = numpy_forward_backward(x, n_ops)
    numpy.testing.assert_allclose(minimal_tape_gradient(x, n_ops), g, rtol=1e-5)
    numpy.testing.assert_array_equal(chain(_Bare(x), n_ops, _BARE_OPS).d, chain(x, n_ops, numpy))


def main(rounds: int = 20) -> None:
    from tapegrad import autograd, np
    from tapegrad.ops.registry import REGISTRY
    check()
    x0 = inputs()
    tapegrad_step = w1_small_ops.tapegrad_step(x0, N_OPS)  # the W1 row's own step
    x = np.array(x0)
    x.attach_grad()

    def tapegrad_forward() -> None:
        with autograd.record():
            chain(x, N_OPS, np).sum()

    def stubbed_step() -> None:
        rules = {op: op.run_raw for op in REGISTRY.values() if op.vjp_fn is not None and op.name != "sum"}
        for op in rules:
            op.run_raw = _stub_rule
        try:
            tapegrad_step()
        finally:
            for op, rule in rules.items():
                op.run_raw = rule

    steps = {"NumPy by hand": lambda: numpy_forward_backward(x0, N_OPS),
             "minimal tape": lambda: minimal_tape_gradient(x0),
             "tapegrad": tapegrad_step,
             "tapegrad, recorded forward only": tapegrad_forward,
             "tapegrad, rules stubbed": stubbed_step,
             "raw NumPy, no recording": lambda: chain(x0, N_OPS, numpy),
             "minimal wrapper, no recording": lambda: chain(_Bare(x0), N_OPS, _BARE_OPS),
             "tapegrad, no recording": lambda: chain(x, N_OPS, np)}
    for f in steps.values():
        f()
    times: dict = {k: [] for k in steps}
    for _ in range(rounds):
        for k, f in steps.items():
            t = time.perf_counter()
            for _ in range(20):
                f()
            times[k].append((time.perf_counter() - t) / 20 / N_OPS * 1e6)
    base, raw = times["NumPy by hand"], times["raw NumPy, no recording"]
    print(f"W1 chain of {N_OPS} ops, µs per op; median of {rounds} interleaved rounds")
    for k, v in times.items():
        line = f"{k:32s} {statistics.median(v):6.2f} µs/op"
        if k in ("minimal tape", "tapegrad"):  # the whole step, as the hand-written one
            line += f"  {statistics.median(b / a for a, b in zip(base, v)):5.2f}× hand NumPy"
        elif k in ("minimal wrapper, no recording", "tapegrad, no recording"):
            line += f"  {statistics.median(b / a for a, b in zip(raw, v)):5.2f}× raw NumPy"
        print(line)


def _stub_rule(node, g):
    """A gradient rule that does no arithmetic: the cotangent passes to every input unchanged."""
    return (g,) * len(node.parents)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)

"""Test inputs declared next to each op; ``tests/test_ops.py`` sweeps them.

A samples factory is a callable ``f(rng) -> list[Case]``. Inputs are float64 NumPy arrays, so
that central differences are accurate; the sweep also feeds non-contiguous copies of them.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy

UNARY_SHAPES = ((), (3,), (2, 3))
BINARY_SHAPES = (((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)),
                 ((2, 1), (1, 3)), ((), (2, 3)), ((2, 3), ()), ((4, 1, 3), (2, 1)))
AXIS_SHAPE = (2, 3, 4)
AXES = (None, 0, 1, -1, (0, 2), (0, 1, 2))


@dataclass
class Case:
    """One call of an op: positional array inputs, static parameters, and how to check it."""

    args: tuple
    params: dict = field(default_factory=dict)
    #: reference forward on NumPy inputs; None = the NumPy function of the op's name
    ref: Callable | None = None
    #: which positional args to differentiate (None = every float array)
    wrt: tuple | None = None
    #: highest derivative order to check
    order: int = 2
    #: compare the forward against the reference
    check_value: bool = True

    def __repr__(self) -> str:
        shapes = [getattr(a, "shape", a) for a in self.args]
        return f"Case(shapes={shapes}, params={self.params})"


def draw(rng: numpy.random.Generator, shape: tuple, domain=(-2.0, 2.0), avoid=()) -> numpy.ndarray:
    """Random float64 values in ``domain`` kept at least 0.1 away from each point in ``avoid``."""
    lo, hi = domain
    x = rng.uniform(lo, hi, size=shape)
    for p in avoid:
        close = numpy.abs(x - p) < 0.1
        x = numpy.where(close, numpy.where(x >= p, p + 0.1 + 0.3 * rng.random(shape), p - 0.1 - 0.3 * rng.random(shape)), x)
    return numpy.asarray(x, dtype=numpy.float64)


def unary(domain=(-2.0, 2.0), avoid=(), shapes=UNARY_SHAPES, order: int = 2, **params: Any) -> Callable:
    """Samples for an elementwise one-input op."""
    def make(rng):
        return [Case((draw(rng, s, domain, avoid),), dict(params), order=order) for s in shapes]
    return make


def binary(x_domain=(-2.0, 2.0), y_domain=(-2.0, 2.0), x_avoid=(), y_avoid=(), shapes=BINARY_SHAPES,
           order: int = 2) -> Callable:
    """Samples for a broadcasting two-input op, including every broadcasting pattern."""
    def make(rng):
        return [Case((draw(rng, a, x_domain, x_avoid), draw(rng, b, y_domain, y_avoid)), order=order)
                for a, b in shapes]
    return make


def reduction(domain=(-2.0, 2.0), axes=AXES, keepdims=(False, True), shape=AXIS_SHAPE, distinct=False,
              order: int = 2, **params: Any) -> Callable:
    """Samples for an ``axis``/``keepdims`` reduction: every axis variant with and without keepdims."""
    def make(rng):
        cases = []
        for ax in axes:
            for kd in keepdims:
                x = draw(rng, shape, domain)
                if distinct:  # well-separated values: max/min/sort have no ties
                    x = rng.permutation(numpy.arange(x.size, dtype=numpy.float64)).reshape(shape) * 0.25 - 1
                cases.append(Case((x,), dict(axis=ax, keepdims=kd, **params), order=order))
        return cases
    return make


def where_cases() -> Callable:
    def make(rng):
        out = []
        for a, b in (((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3))):
            x, y = draw(rng, a), draw(rng, b)
            cond = numpy.broadcast_to(rng.random(numpy.broadcast_shapes(a, b)) > 0.5, numpy.broadcast_shapes(a, b))
            out.append(Case((numpy.array(cond), x, y), wrt=(1, 2)))
        return out
    return make


def cases(*fixed: Case) -> Callable:
    """Samples given as explicit cases (arguments drawn by the caller)."""
    return lambda rng: list(fixed)


def custom(fn: Callable) -> Callable:
    """Samples computed by ``fn(rng) -> list[Case]``."""
    return fn


def op_cases(op: Any) -> list:
    """An op's sample cases, drawn from a generator seeded by the op's name: the same inputs in
    every run (``zlib.crc32``, not ``hash()``, which Python salts per process)."""
    return list(op.samples(numpy.random.default_rng(zlib.crc32(op.name.encode()))))


def registry_cases(registry: dict) -> list:
    """``(op, case, id)`` for every sample case of every op in ``registry`` that has samples."""
    return [(op, case, f"{name}-{i}") for name, op in registry.items() if op.samples is not None
            for i, case in enumerate(op_cases(op))]

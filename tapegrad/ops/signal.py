"""SciPy's ``signal.convolve`` (``tapegrad.scipy.signal``): n-D convolution, differentiable in both inputs.

Every mode is a window of the full convolution, so the cotangent of either input is the cotangent,
set in that window of the full output, correlated with the other input: a 'valid' convolution with
the other input flipped. The rule is the same op again, so every order of derivative comes free.
SciPy computes the values (``cupyx.scipy.signal`` on a GPU).
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import numpy

from .._core.array import OPS as T
from ..backend import backend_for
from ._util import bilinear_tangent
from .registry import defop
from .samples import Case, draw

__all__ = ["MODES", "mode_window"]

MODES = ("full", "valid", "same")


def _check(in1: Any, in2: Any, mode: str) -> None:
    """SciPy's checks, before the forward runs (the same on every backend)."""
    if mode not in MODES:
        raise ValueError(f"convolve: mode must be 'full', 'valid' or 'same', got {mode!r}")
    s1, s2 = numpy.shape(in1), numpy.shape(in2)
    if len(s1) != len(s2):
        raise ValueError(f"convolve: in1 and in2 should have the same dimensionality (shapes {s1} and {s2}); "
                         "add axes of length 1 to the smaller one (x[None] or np.expand_dims)")
    if mode == "valid" and not (all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))):
        raise ValueError(f"convolve: for 'valid' mode, one input must be at least as large as the other in every "
                         f"dimension (shapes {s1} and {s2}); use mode='full' or 'same', or crop one input")


def mode_window(n1: int, n2: int, mode: str) -> tuple:
    """``(start, stop)`` of the output of ``mode`` along one axis within the full convolution
    (length ``n1 + n2 - 1``), as SciPy defines the modes."""
    if mode == "full":
        return 0, n1 + n2 - 1
    if mode == "same":  # in1's length, centred
        start = (n2 - 1) // 2
        return start, start + n1
    start = min(n1, n2) - 1  # valid: where the shorter input lies wholly inside the longer
    return start, start + abs(n1 - n2) + 1


def _scipy_convolve(in1, in2, mode="full", method="auto"):
    return importlib.import_module("scipy.signal").convolve(in1, in2, mode=mode, method=method)


def _convolve_cases(rng):
    if importlib.util.find_spec("scipy") is None:  # the reference is SciPy's
        return []
    pairs = [((5,), (3,)), ((3,), (5,)), ((4,), (4,)), ((1,), (3,)), ((3, 4), (2, 2)), ((2, 3), (3, 5)),
             ((4, 2), (2, 3)), ((2, 3, 4), (2, 2, 3)), ((), ())]
    cases = []
    for s1, s2 in pairs:
        for mode in MODES:
            if mode == "valid" and not (all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))):
                continue
            cases.append(Case((draw(rng, s1), draw(rng, s2)), dict(mode=mode), ref=_scipy_convolve, order=3
                              if len(s1) == 1 else 2))
    cases.append(Case((draw(rng, (6, 5)), draw(rng, (3, 2))), dict(mode="same", method="fft"), ref=_scipy_convolve))
    return cases


@defop(samples=_convolve_cases, public="scipy.signal")
def convolve(xp, in1, in2, mode="full", method="auto"):
    """Convolve two N-dimensional arrays, as ``scipy.signal.convolve``: ``mode`` 'full' (every overlap),
    'valid' (where one input lies wholly inside the other) or 'same' (``in1``'s shape, centred);
    ``method`` 'auto', 'direct' or 'fft' picks SciPy's algorithm. Differentiable in both inputs, to
    any order."""
    _check(in1, in2, mode)
    return backend_for(xp).convolve(xp, in1, in2, mode, method)


@convolve.vjp
def _(g, in1, in2, mode, method, shapes, needs):
    s1, s2 = shapes
    if not s1:  # 0-d: a product
        return (g * in2 if needs[0] else None, g * in1 if needs[1] else None)
    windows = [mode_window(a, b, mode) for a, b in zip(s1, s2)]
    widths = tuple((start, a + b - 1 - stop) for (start, stop), a, b in zip(windows, s1, s2))
    gf = T.pad(g, widths) if any(w != (0, 0) for w in widths) else g  # g in its window of the full output
    return (T.convolve(gf, T.flip(in2), mode="valid", method=method) if needs[0] else None,
            T.convolve(gf, T.flip(in1), mode="valid", method=method) if needs[1] else None)


@convolve.jvp
def _(ts, in1, in2, mode, method):
    return bilinear_tangent(lambda a, b: T.convolve(a, b, mode=mode, method=method), ts, in1, in2)

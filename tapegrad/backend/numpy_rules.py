"""NumPy's definitions of the calls that CuPy lacks or reads differently, as plain steps on host
values: the 1-D stages of an n-D FFT and the gather behind each ``pad`` mode. The CuPy backend runs
these steps; the ops' rules read the same definitions to differentiate the calls."""
from __future__ import annotations

from typing import Any

import numpy

__all__ = ["fft_cook", "fft_stages", "pad_widths", "pad_index"]


def fft_cook(shape: tuple, s: Any, axes: Any, invreal: bool = False) -> tuple:
    """NumPy's ``_cook_nd_args``: the transform lengths and (non-negative) axes of an n-D call."""
    ndim = len(shape)
    shapeless = s is None
    if axes is None:
        axes = list(range(-len(s), 0)) if s is not None else list(range(ndim))
    elif isinstance(axes, (int, numpy.integer)):
        axes = [int(axes)]
    axes = [int(a) for a in axes]
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for array of dimension {ndim}")
    axes = [a % ndim for a in axes]
    s = [shape[a] for a in axes] if s is None else list(s)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if invreal and shapeless and s:
        s[-1] = (shape[axes[-1]] - 1) * 2
    s = [shape[a] if n == -1 else n for n, a in zip(s, axes)]
    return s, axes


def fft_stages(shape: tuple, kind: str, s: list, axes: list) -> list:
    """The 1-D transforms NumPy applies, in order: ``(what, n, axis, shape before)``; ``what`` is
    "c" (complex fft/ifft), "r2c" (rfft) or "c2r" (irfft). ``n=None`` resolves as in the 1-D call."""
    k = len(axes)
    if kind == "c":
        order = [("c", s[i], axes[i]) for i in reversed(range(k))]
    elif kind == "r2c":
        order = [("r2c", s[-1], axes[-1])] + [("c", s[i], axes[i]) for i in range(k - 2, -1, -1)]
    else:
        order = [("c", s[i], axes[i]) for i in range(k - 1)] + [("c2r", s[-1], axes[-1])]
    out = []
    cur = list(shape)
    for what, n, ax in order:
        if n is None:
            n = 2 * (cur[ax] - 1) if what == "c2r" else cur[ax]
        n = int(n)
        out.append((what, n, ax, tuple(cur)))
        cur[ax] = n // 2 + 1 if what == "r2c" else n
    return out


def pad_widths(pad_width: numpy.ndarray, ndim: int) -> list:
    """``pad``'s host ``pad_width`` as one ``(before, after)`` pair of ints per axis."""
    w = numpy.broadcast_to(pad_width, (ndim, 2))
    return [(int(b), int(a)) for b, a in w]


def pad_index(n: int, before: int, after: int, mode: str) -> numpy.ndarray:
    """For the gather modes, which input element each output position along one axis copies."""
    i = numpy.arange(-before, n + after)
    if mode == "edge":
        return numpy.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    if mode == "reflect":  # mirror about the edge elements: period 2(n-1)
        if n == 1:
            return numpy.zeros_like(i)
        p = 2 * (n - 1)
        j = i % p
        return numpy.where(j < n, j, p - j)
    p = 2 * n  # symmetric: mirror including the edge elements
    j = i % p
    return numpy.where(j < n, j, p - 1 - j)

"""The NumPy (CPU) side of the backend seam: each function is NumPy's own call. ``cupy_backend``
has the same functions with the same parameters; ``backend_for(xp)`` picks the module. Each takes the
array module ``xp`` first (NumPy here), so that both modules are called alike."""
from __future__ import annotations

import importlib
import math
from typing import Any

import numpy

__all__ = ["scatter_add", "fft_nd", "pad", "sort", "argsort_stable", "partition", "erf", "clip_index",
           "strided_view", "tensordot", "solve", "cholesky", "pinv", "special", "convolve", "sqrtm", "expm",
           "solve_triangular", "cho_factor", "cho_solve", "solve_sylvester", "odeint"]


def scatter_add(out: Any, key: Any, g: Any) -> None:
    """Add ``g`` into ``out`` at ``key`` in place; repeated indices add up."""
    numpy.add.at(out, key, g)


def fft_nd(xp: Any, name: str, a: Any, s: Any, axes: Any, norm: Any) -> Any:
    """The n-D transform ``name`` (fft2, ifft2, fftn, ifftn, rfft2, rfftn, irfft2, irfftn) as NumPy
    defines it."""
    return getattr(numpy.fft, name)(a, s=s, axes=axes, norm=norm)


def pad(xp: Any, array: Any, pad_width: numpy.ndarray, mode: str, kw: dict) -> Any:
    """NumPy's ``pad`` (``pad_width`` on the host; ``kw``: the mode's keyword arguments)."""
    return numpy.pad(array, pad_width, mode=mode, **kw)  # type: ignore[call-overload]  # (mode: any of NumPy's)


def sort(xp: Any, a: Any, axis: Any, options: dict) -> Any:
    """A sorted copy along ``axis``; ``options``: NumPy's ``kind``/``order``/``stable`` given."""
    return numpy.sort(a, axis=axis, **options)


def argsort_stable(xp: Any, x: Any, axis: Any) -> Any:
    """The indices that sort ``x`` along ``axis``, equal elements kept in input order."""
    return numpy.argsort(x, axis=axis, kind="stable")


def partition(xp: Any, a: Any, kth: list, axis: Any, options: dict) -> Any:
    """NumPy's ``partition``; ``options``: its ``kind``/``order`` given."""
    return numpy.partition(a, kth, axis=axis, **options)


def erf(x: Any) -> Any:
    """The error function elementwise: SciPy's when installed, else Python's ``math.erf`` applied to
    each element (NumPy has none)."""
    try:
        from scipy.special import erf as scipy_erf  # noqa: PLC0415 - optional
    except ImportError:
        x = numpy.asarray(x)
        return numpy.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype if x.dtype.kind == "f" else numpy.float64)
    return scipy_erf(x)


def clip_index(xp: Any, idx: Any, n: int) -> Any:
    """Integer indices ``idx`` clipped into ``[0, n)``."""
    if idx.size == 0 or (idx.min() >= 0 and idx.max() < n):
        return idx  # already in range: clip would only copy it (and costs more than the check)
    return numpy.clip(idx, 0, max(n - 1, 0))


def strided_view(xp: Any, x: Any, shape: tuple, strides: tuple) -> Any:
    """A read-only view of ``x``'s memory with this shape and these strides."""
    return numpy.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def tensordot(xp: Any, a: Any, b: Any, axes: Any) -> Any:
    """NumPy's ``tensordot`` (0-d operands included)."""
    return numpy.tensordot(a, b, axes)


def solve(xp: Any, a: Any, b: Any) -> Any:
    """NumPy 2's ``linalg.solve``: ``b`` is a vector only when 1-D; batch axes broadcast."""
    return numpy.linalg.solve(a, b)


def cholesky(xp: Any, a: Any, upper: bool) -> Any:
    """The Cholesky factor ``L`` of ``a``, or ``U = L^H`` with ``upper``."""
    return numpy.linalg.cholesky(a, upper=upper)


def pinv(xp: Any, a: Any, rcond: Any, hermitian: bool, rtol: Any) -> Any:
    """NumPy's ``linalg.pinv``; ``rtol`` is ``numpy._NoValue`` when not given."""
    if rtol is numpy._NoValue:
        return numpy.linalg.pinv(a, rcond=rcond, hermitian=hermitian)
    return numpy.linalg.pinv(a, rcond=rcond, hermitian=hermitian, rtol=rtol)


SCIPY_MISSING = ("tapegrad.scipy needs SciPy, which is not installed: pip install 'tapegrad[scipy]' "
                 "(or pip install scipy)")


def _scipy_special() -> Any:
    """``scipy.special``, imported on first use (SciPy is an optional extra)."""
    try:
        import scipy.special  # noqa: PLC0415 - optional
    except ImportError as e:
        raise ImportError(SCIPY_MISSING) from e
    return scipy.special


def special(xp: Any, name: str) -> Any:
    """SciPy's special function ``name`` (``scipy.special.<name>``), for host arrays."""
    return getattr(_scipy_special(), name)


# --- scipy.signal, scipy.linalg, scipy.integrate ----------------------------------------------------


def _scipy(sub: str) -> Any:
    """``scipy.<sub>``, imported on first use (SciPy is an optional extra)."""
    try:
        return importlib.import_module(f"scipy.{sub}")
    except ImportError as e:
        raise ImportError(SCIPY_MISSING) from e


def convolve(xp: Any, in1: Any, in2: Any, mode: str, method: str) -> Any:
    """SciPy's n-D ``signal.convolve``."""
    return _scipy("signal").convolve(in1, in2, mode=mode, method=method)


def sqrtm(xp: Any, a: Any) -> Any:
    """SciPy's principal matrix square root (complex where a real matrix has no real one)."""
    return _scipy("linalg").sqrtm(a)


def expm(xp: Any, a: Any) -> Any:
    """SciPy's matrix exponential (of each matrix of a stack)."""
    return _scipy("linalg").expm(a)


def solve_triangular(xp: Any, a: Any, b: Any, trans: int, lower: bool, unit_diagonal: bool) -> Any:
    """SciPy's ``linalg.solve_triangular``: ``b`` is a vector only when 1-D; batch axes broadcast."""
    return _scipy("linalg").solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def cho_factor(xp: Any, a: Any, lower: bool) -> Any:
    """The matrix ``c`` of SciPy's ``cho_factor``: the Cholesky factor in one triangle, ``a``'s
    entries in the other."""
    return _scipy("linalg").cho_factor(a, lower=lower)[0]


def cho_solve(xp: Any, c: Any, b: Any, lower: bool) -> Any:
    """SciPy's ``cho_solve((c, lower), b)``."""
    return _scipy("linalg").cho_solve((c, lower), b)


def solve_sylvester(xp: Any, a: Any, b: Any, q: Any) -> Any:
    """SciPy's ``solve_sylvester``: ``x`` with ``a x + x b = q``."""
    return _scipy("linalg").solve_sylvester(a, b, q)


def odeint(xp: Any, func: Any, y0: Any, t: Any, args: tuple, tfirst: bool, options: dict) -> Any:
    """SciPy's ``integrate.odeint`` (LSODA), ``func(y, t, *args)`` called with host arrays."""
    return _scipy("integrate").odeint(func, y0, t, args=args, tfirst=tfirst, **options)

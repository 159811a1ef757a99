"""The CuPy (GPU) side of the backend seam: the functions of ``numpy_backend``, with the same
parameters and NumPy's results, where CuPy lacks a NumPy call or reads it differently. They run
through the array module ``xp`` they are given; ``scatter_add``, ``erf`` and SciPy's functions need
``cupyx``, imported on first use, so importing this module never imports CuPy. The special functions
``cupyx.scipy.special`` lacks run on a host copy; the other SciPy functions ``cupyx.scipy`` lacks
(``HOST_ONLY``) raise ``HostOnlyError`` with the fix."""
from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy

from .numpy_backend import special as _host_special
from .numpy_rules import fft_cook, fft_stages, pad_index, pad_widths

__all__ = ["scatter_add", "fft_nd", "pad", "sort", "argsort_stable", "partition", "erf", "clip_index",
           "strided_view", "tensordot", "solve", "cholesky", "pinv", "special", "convolve", "sqrtm", "expm",
           "solve_triangular", "cho_factor", "cho_solve", "solve_sylvester", "odeint"]


@functools.cache
def _cupyx() -> Any:
    """``cupyx`` with its ``scipy.special``, imported once, on first use."""
    import cupyx  # noqa: PLC0415 - optional; a CuPy buffer is there, so CuPy is installed
    import cupyx.scipy.special  # noqa: PLC0415, F401
    return cupyx


def scatter_add(out: Any, key: Any, g: Any) -> None:
    """Add ``g`` into ``out`` at ``key`` in place; repeated indices add up."""
    _cupyx().scatter_add(out, key, g)


# (kind, inverse) of each n-D transform: "c" complex, "r2c" real input, "c2r" real output
_FFT_ND = {"fft2": ("c", False), "fftn": ("c", False), "ifft2": ("c", True), "ifftn": ("c", True),
           "rfft2": ("r2c", False), "rfftn": ("r2c", False), "irfft2": ("c2r", True), "irfftn": ("c2r", True)}


def fft_nd(xp: Any, name: str, a: Any, s: Any, axes: Any, norm: Any) -> Any:
    """The n-D transform ``name`` as the 1-D transforms NumPy applies (CuPy's n-D calls read
    ``s=-1`` and repeated axes differently)."""
    kind, inverse = _FFT_ND[name]
    s, axes = fft_cook(a.shape, s, axes, invreal=kind == "c2r")
    for what, n, ax, _ in fft_stages(a.shape, kind, s, axes):
        f = (xp.fft.ifft if inverse else xp.fft.fft) if what == "c" else xp.fft.rfft if what == "r2c" else xp.fft.irfft
        a = f(a, n=n, axis=ax, norm=norm)
    return a


def pad(xp: Any, array: Any, pad_width: numpy.ndarray, mode: str, kw: dict) -> Any:
    """NumPy's ``pad``: CuPy's for ``constant``; the others as the gather the VJP undoes, axis by
    axis (CuPy's wrap differs from NumPy's for widths beyond the size)."""
    if mode == "constant":
        return xp.pad(array, pad_width, mode=mode, **kw)
    for ax, ((b, a), n) in enumerate(zip(pad_widths(pad_width, array.ndim), array.shape)):
        if b or a:
            array = xp.take(array, xp.asarray(pad_index(n, b, a, mode)), axis=ax)
    return array


def sort(xp: Any, a: Any, axis: Any, options: dict) -> Any:
    """A sorted copy along ``axis``; CuPy's sort is stable and takes no ``kind``/``order``/``stable``."""
    return xp.sort(a, axis=axis)


def argsort_stable(xp: Any, x: Any, axis: Any) -> Any:
    """The indices that sort ``x`` along ``axis``, equal elements kept in input order (CuPy's
    argsort is stable)."""
    return xp.argsort(x, axis=axis)


def partition(xp: Any, a: Any, kth: list, axis: Any, options: dict) -> Any:
    """``partition``; CuPy takes no ``kind``/``order``."""
    return xp.partition(a, kth, axis=axis)


def erf(x: Any) -> Any:
    """The error function elementwise (CuPy's)."""
    return _cupyx().scipy.special.erf(x)


def clip_index(xp: Any, idx: Any, n: int) -> Any:
    """Integer indices ``idx`` clipped into ``[0, n)`` (no range check: it would wait for the GPU)."""
    return xp.clip(idx, 0, max(n - 1, 0))


def strided_view(xp: Any, x: Any, shape: tuple, strides: tuple) -> Any:
    """A view of ``x``'s memory with this shape and these strides (CuPy has no read-only views)."""
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def tensordot(xp: Any, a: Any, b: Any, axes: Any) -> Any:
    """``tensordot``; with a 0-d operand and no axes contracted, the outer product (CuPy refuses
    0-d operands)."""
    if (a.ndim == 0 or b.ndim == 0) and _contracts_nothing(axes):
        return a.reshape(a.shape + (1,) * b.ndim) * b
    return xp.tensordot(a, b, axes)


def _contracts_nothing(axes: Any) -> bool:
    if isinstance(axes, (int, numpy.integer)):
        return bool(axes <= 0)
    return all(not isinstance(ax, (int, numpy.integer)) and len(ax) == 0 for ax in axes)


def solve(xp: Any, a: Any, b: Any) -> Any:
    """NumPy 2's ``linalg.solve``: CuPy wants ``b`` as (..., M, K) with ``a``'s batch axes, so give
    it NumPy 2's reading explicitly."""
    vec = b.ndim == 1
    if vec:
        b = b[:, None]
    batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:]))
    return x[..., 0] if vec else x


def cholesky(xp: Any, a: Any, upper: bool) -> Any:
    """The Cholesky factor; CuPy has no ``upper``: U is the conjugate transpose of the factor of a^H."""
    if not upper:
        return xp.linalg.cholesky(a)
    return xp.conj(xp.swapaxes(xp.linalg.cholesky(xp.conj(xp.swapaxes(a, -1, -2))), -1, -2))


def pinv(xp: Any, a: Any, rcond: Any, hermitian: bool, rtol: Any) -> Any:
    """NumPy's ``linalg.pinv``: CuPy takes ``rcond`` alone, so apply NumPy's cutoff rules, and its
    reading of the lower triangle when ``hermitian``."""
    if rcond is None:
        rcond = (1e-15 if rtol is numpy._NoValue else rtol if rtol is not None
                 else max(a.shape[-2:]) * numpy.finfo(a.dtype).eps)
    if hermitian:
        low = xp.tril(a, -1)
        diag = xp.real(xp.diagonal(a, 0, -2, -1))[..., None] * xp.eye(a.shape[-1], dtype=a.dtype)
        a = low + xp.conj(xp.swapaxes(low, -1, -2)) + diag
    return xp.linalg.pinv(a, rcond=rcond)


def special(xp: Any, name: str) -> Any:
    """The special function ``name`` on device arrays: ``cupyx.scipy.special``'s, else (a function
    CuPy lacks) SciPy's on a host copy, its result copied back."""
    f = getattr(_cupyx().scipy.special, name, None)
    if f is not None:
        return f
    host = _host_special(numpy, name)

    def on_host(*args: Any, **kwargs: Any) -> Any:
        res = host(*[_to_host(a) for a in args], **{k: _to_host(v) for k, v in kwargs.items()})
        return tuple(xp.asarray(r) for r in res) if isinstance(res, tuple) else xp.asarray(res)
    return on_host


def _to_host(a: Any) -> Any:
    """A device array's host copy; anything else as it is."""
    return a.get() if hasattr(a, "get") and not isinstance(a, (numpy.ndarray, dict)) else a


# --- SciPy's functions (tapegrad.scipy), from cupyx.scipy where it has them ---------------------------


class HostOnlyError(NotImplementedError):
    """A SciPy function with no CuPy version, called on GPU arrays."""


#: The functions below that have no GPU version (``cupyx.scipy`` lacks them).
HOST_ONLY = ("sqrtm", "solve_sylvester", "odeint")


def _host_only(what: str) -> HostOnlyError:
    return HostOnlyError(f"{what} has no GPU version (cupyx.scipy lacks it): move its inputs to the CPU "
                         "(x.as_in_ctx(npx.cpu()) in the MXNet dialect, x.cpu() in the PyTorch dialect), compute "
                         "it there and move the result back; gradients flow through the copies")


def _cupyx_scipy(sub: str) -> Any:
    """``cupyx.scipy.<sub>``, imported on first use."""
    mod = getattr(_cupyx().scipy, sub, None)
    if mod is None:
        try:
            mod = importlib.import_module(f"cupyx.scipy.{sub}")
        except ImportError as e:
            raise HostOnlyError(f"scipy.{sub} on GPU arrays needs cupyx.scipy.{sub} (CuPy 13 or later): upgrade "
                                "CuPy, or compute on host arrays") from e
    return mod


def convolve(xp: Any, in1: Any, in2: Any, mode: str, method: str) -> Any:
    """``cupyx.scipy.signal.convolve``."""
    return _cupyx_scipy("signal").convolve(in1, in2, mode=mode, method=method)


def sqrtm(xp: Any, a: Any) -> Any:
    raise _host_only("scipy.linalg.sqrtm")


def expm(xp: Any, a: Any) -> Any:
    """``cupyx.scipy.linalg.expm``, which takes one matrix: each matrix of a stack in turn."""
    f = _cupyx_scipy("linalg").expm
    if a.ndim == 2:
        return f(a)
    flat = a.reshape((-1,) + a.shape[-2:])
    if flat.shape[0] == 0:
        return xp.empty_like(a)
    return xp.stack([f(m) for m in flat]).reshape(a.shape)


def solve_triangular(xp: Any, a: Any, b: Any, trans: int, lower: bool, unit_diagonal: bool) -> Any:
    """SciPy's reading (``b`` a vector only when 1-D, batch axes broadcast), given to
    ``cupyx.scipy.linalg.solve_triangular`` explicitly."""
    vec = b.ndim == 1
    if vec:
        b = b[:, None]
    batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = _cupyx_scipy("linalg").solve_triangular(xp.broadcast_to(a, batch + a.shape[-2:]),
                                                xp.broadcast_to(b, batch + b.shape[-2:]),
                                                trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    return x[..., 0] if vec else x


def cho_factor(xp: Any, a: Any, lower: bool) -> Any:
    """SciPy's ``cho_factor`` matrix: the factor of the triangle read, ``a``'s other triangle kept."""
    f = cholesky(xp, a, not lower)
    return xp.tril(f) + xp.triu(a, 1) if lower else xp.triu(f) + xp.tril(a, -1)


def cho_solve(xp: Any, c: Any, b: Any, lower: bool) -> Any:
    """``(L L^H) x = b`` (or ``(U^H U) x = b``) as two triangular solves."""
    def tri(r: Any, trans: int) -> Any:
        return solve_triangular(xp, c, r, trans, lower, False)
    return tri(tri(b, 0), 2) if lower else tri(tri(b, 2), 0)


def solve_sylvester(xp: Any, a: Any, b: Any, q: Any) -> Any:
    raise _host_only("scipy.linalg.solve_sylvester")


def odeint(xp: Any, func: Any, y0: Any, t: Any, args: tuple, tfirst: bool, options: dict) -> Any:
    raise _host_only("scipy.integrate.odeint")

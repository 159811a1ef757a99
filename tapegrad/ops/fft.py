"""Discrete Fourier transforms: ``np.fft`` (fft, ifft, fft2, ifft2, fftn, ifftn, rfft, irfft, rfft2,
irfft2, rfftn, irfftn, fftshift, ifftshift) with NumPy's ``n``, ``s``, ``axis``/``axes`` and ``norm``.

Complex numbers follow the HIPS autograd / JAX convention: a cotangent ``g`` pairs with a tangent
``u`` through ``Re(sum(g * u))``, so the VJP of a complex-linear map ``L`` is its transpose ``L^T``
(not the conjugate transpose), and the cotangent of a real input is the real part of the complex
one. Every transform is linear over the reals, so its JVP is the transform of the tangent
(``linear=True``) and its VJP is the transpose, built from these same ops (any order works):

* ``fft``/``ifft`` matrices are symmetric: the transpose of ``fft(x, n, axis, norm)`` is ``fft`` of the
  cotangent with the same ``norm``, then cropped (where ``n`` padded) or zero-padded (where ``n``
  cropped) back to the input's length.
* ``rfft`` keeps the first ``n//2 + 1`` outputs of a complex FFT of a real signal, so its transpose is
  ``Re(fft(zero-padded g))``, computed as ``irfft(conj(g) / f, n)`` with the opposite scaling, where
  ``f`` is 1 at the zero frequency (and at ``n/2`` for even ``n``) and 2 elsewhere — the terms that
  ``irfft`` counts twice through Hermitian symmetry.
* ``irfft`` reads ``Re`` of the zero (and, for even ``n``, the Nyquist) coefficient and both halves of
  the others, so its transpose is ``f * conj(rfft(g, n))`` with the opposite scaling.

``norm`` scaling of the transposes: ``fft``'s transpose keeps ``norm``; ``rfft``'s and ``irfft``'s swap
"backward" and "forward" (and keep "ortho"). Repeated ``axes`` (which NumPy applies in turn) are
differentiated transform by transform.
"""
from __future__ import annotations

from typing import Any

import numpy

from .._core.array import OPS as T, Array
from ..backend import backend_for, xp_of
from ..backend.numpy_rules import fft_cook, fft_stages
from .registry import constant, defop
from .samples import Case, draw

__all__: list = []

_NS = "np.fft"
_SWAP = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


# --- helpers ----------------------------------------------------------------------------------


def _raw(a: Any) -> Any:
    return a._data if isinstance(a, Array) else a


def _is_complex(v: Any) -> bool:
    return getattr(getattr(_raw(v), "dtype", None), "kind", "") == "c"


def _real(v: Any) -> Any:
    """Re(v): the cotangent of a real input from a complex one."""
    return T.real(v) if _is_complex(v) else v


def _conj(v: Any) -> Any:
    return T.conj(v) if _is_complex(v) else v


def _swap(norm: Any) -> str:
    if norm not in _SWAP:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')
    return _SWAP[norm]


def _resize(g: Any, shape: tuple) -> Any:
    """``g`` cropped or zero-padded (at the end of each axis) to ``shape``."""
    shape = tuple(int(n) for n in shape)
    return g if tuple(g.shape) == shape else T._fft_resize(g, shape)


def _hermitian_factor(g: Any, n: int, axis: int) -> Any:
    """``f`` along ``axis`` of ``g`` (length ``n//2 + 1``): 1 at frequency 0 and, for even ``n``, at
    ``n/2``; 2 elsewhere — how many times ``irfft`` counts each coefficient."""
    m = n // 2 + 1
    xp = xp_of((_raw(g),))
    f = numpy.full(m, 2.0)
    f[0] = 1.0
    if n % 2 == 0:
        f[-1] = 1.0
    shape = [1] * g.ndim
    shape[axis] = m
    dt = numpy.empty(0, dtype=_raw(g).dtype).real.dtype
    buf = xp.asarray(f.reshape(shape), dtype=dt)
    return constant(g, buf)


def _transpose(g: Any, stages: list, inverse: bool, norm: Any, in_shape: tuple, real_in: bool) -> Any:
    """The transpose of the chain of ``stages`` applied to ``g``: each stage's transpose in reverse
    order; consecutive complex stages on distinct axes go in one ``fftn``/``ifftn`` call."""
    cfun = T.ifftn if inverse else T.fftn
    i = len(stages) - 1
    while i >= 0:
        what, n, ax, before = stages[i]
        if what == "c":
            group = [ax]
            j = i - 1
            while j >= 0 and stages[j][0] == "c" and stages[j][2] not in group:
                group.append(stages[j][2])
                j -= 1
            g = _resize(cfun(g, axes=tuple(group), norm=norm), stages[j + 1][3])
            i = j
            continue
        if what == "r2c":
            g = _resize(T.irfft(_conj(g) / _hermitian_factor(g, n, ax), n=n, axis=ax, norm=_swap(norm)), before)
        else:
            y = T.rfft(g, n=n, axis=ax, norm=_swap(norm))
            g = _resize(_hermitian_factor(y, n, ax) * _conj(y), before)
        i -= 1
    if tuple(g.shape) != tuple(in_shape):  # pragma: no cover - the stages end at the input's shape
        raise AssertionError(f"fft transpose: shape {g.shape} != {in_shape}")
    return _real(g) if real_in else g


def _distinct(axes: list) -> bool:
    return len(set(axes)) == len(axes)


def _ref(name: str):
    """The NumPy reference for a sample, by name in numpy.fft."""
    return getattr(numpy.fft, name)


#: Whether the sweep's samples include complex inputs. ``check_grads`` pairs outputs with real
#: directions and calls float() on the result, so a complex input fails there (TypeError) and only the
#: real part of a complex output is compared; tests/test_fft.py checks both through real wrappers.
#: Turn on once tapegrad/testing.py perturbs complex inputs along complex directions.
COMPLEX_SAMPLES = True


def _table(name: str, rows: list, real: bool = True, complex_: bool = True):
    """Samples from ``(shape, params)`` rows: each drawn real and (where NumPy accepts it) complex."""
    ref = _ref(name)

    def make(rng):
        cases = []
        for shape, params in rows:
            x = draw(rng, shape)
            z = x + 1j * draw(rng, shape)
            if real:
                cases.append(Case((x,), dict(params), ref=ref))
            if complex_ and COMPLEX_SAMPLES:
                cases.append(Case((z,), dict(params), ref=ref))
        return cases
    return make


# --- crop / zero-pad (a private op, so the rules stay differentiable) -----------------------------


def _resize_ref(x, shape):
    out = numpy.zeros(shape, dtype=x.dtype)
    idx = tuple(slice(0, min(a, b)) for a, b in zip(x.shape, shape))
    out[idx] = x[idx]
    return out


def _resize_cases(rng):
    return [Case((draw(rng, (5,)),), dict(shape=(3,)), ref=_resize_ref),
            Case((draw(rng, (3,)),), dict(shape=(6,)), ref=_resize_ref),
            Case((draw(rng, (2, 4)),), dict(shape=(3, 2)), ref=_resize_ref)]


@defop(nin=1, linear=True, public=None, samples=_resize_cases)
def _fft_resize(xp, x, shape):
    """Crop or zero-pad each axis at its end to ``shape`` (how ``n`` and ``s`` act on the input)."""
    shape = tuple(int(n) for n in shape)
    out = xp.zeros(shape, dtype=x.dtype)
    idx = tuple(slice(0, min(a, b)) for a, b in zip(x.shape, shape))
    out[idx] = x[idx]
    return out


@_fft_resize.vjp
def _(g, shapes):
    return (T._fft_resize(g, tuple(shapes[0])),)


# --- fft, ifft, fft2, ifft2, fftn, ifftn ------------------------------------------------------


def _c2c_rule(g, shape, s, axes, norm, inverse, real_in):
    return (_transpose(g, fft_stages(shape, "c", s, axes), inverse, norm, shape, real_in),)


# sample tables, (shape, params): lengths that pad and crop, odd and even, every norm, repeated axes
_FFT1 = [((8,), {}), ((5,), dict(n=8)), ((3, 8), dict(n=5, norm="ortho")), ((3, 4), dict(axis=0, norm="forward")),
         ((2, 3, 4), dict(axis=1, n=4, norm="backward")), ((6,), dict(n=4)),
         ((2, 5), dict(n=7, axis=-1, norm="ortho"))]
_FFT2 = [((4, 5), {}), ((2, 3, 4), dict(s=(5, 3), axes=(0, 2), norm="ortho")),
         ((3, 4), dict(axes=(1, 0), norm="forward")), ((3, 4), dict(s=(2, 6))), ((2, 3, 4), dict(norm="ortho"))]
_FFTN = [((2, 3, 4), {}), ((2, 3, 4), dict(axes=(0, 2))), ((3, 4), dict(s=(5, 3), axes=(1, 0), norm="ortho")),
         ((3, 4), dict(s=(-1, 6), axes=(0, 1), norm="forward")), ((3, 4), dict(s=(4, 2), axes=(0, 0))),
         ((2, 3, 4), dict(axes=(-1,), norm="ortho")), ((3, 4), dict(s=(2, 5), axes=(0, 1)))]


@defop(linear=True, public=_NS, samples=_table("fft", _FFT1))
def fft(xp, a, n=None, axis=-1, norm=None):
    return xp.fft.fft(a, n=n, axis=axis, norm=norm)


@fft.vjp
def _(g, n, axis, norm, shapes, dtypes):
    return _c2c_rule(g, tuple(shapes[0]), *fft_cook(shapes[0], [n], [axis]), norm, False, dtypes[0].kind != "c")


@defop(linear=True, public=_NS, samples=_table("ifft", _FFT1))
def ifft(xp, a, n=None, axis=-1, norm=None):
    return xp.fft.ifft(a, n=n, axis=axis, norm=norm)


@ifft.vjp
def _(g, n, axis, norm, shapes, dtypes):
    return _c2c_rule(g, tuple(shapes[0]), *fft_cook(shapes[0], [n], [axis]), norm, True, dtypes[0].kind != "c")


@defop(linear=True, public=_NS, samples=_table("fft2", _FFT2))
def fft2(xp, a, s=None, axes=(-2, -1), norm=None):
    return backend_for(xp).fft_nd(xp, "fft2", a, s, axes, norm)


@defop(linear=True, public=_NS, samples=_table("ifft2", _FFT2))
def ifft2(xp, a, s=None, axes=(-2, -1), norm=None):
    return backend_for(xp).fft_nd(xp, "ifft2", a, s, axes, norm)


@defop(linear=True, public=_NS, samples=_table("fftn", _FFTN))
def fftn(xp, a, s=None, axes=None, norm=None):
    return backend_for(xp).fft_nd(xp, "fftn", a, s, axes, norm)


@defop(linear=True, public=_NS, samples=_table("ifftn", _FFTN))
def ifftn(xp, a, s=None, axes=None, norm=None):
    return backend_for(xp).fft_nd(xp, "ifftn", a, s, axes, norm)


@fft2.vjp
@fftn.vjp
def _(g, s, axes, norm, shapes, dtypes):
    return _c2c_rule(g, tuple(shapes[0]), *fft_cook(shapes[0], s, axes), norm, False, dtypes[0].kind != "c")


@ifft2.vjp
@ifftn.vjp
def _(g, s, axes, norm, shapes, dtypes):
    return _c2c_rule(g, tuple(shapes[0]), *fft_cook(shapes[0], s, axes), norm, True, dtypes[0].kind != "c")


# --- rfft, rfft2, rfftn (real input), irfft, irfft2, irfftn (real output) ----------------------


def _resolved(shape: tuple, s: list, axes: list, c2r: bool) -> list:
    """``s`` with ``None`` entries (deprecated in NumPy 2) resolved; axes are distinct here."""
    out = [shape[a] if n is None else int(n) for n, a in zip(s, axes)]
    if c2r and s and s[-1] is None:
        out[-1] = 2 * (shape[axes[-1]] - 1)
    return out


def _rfft_rule(g, shape, s, axes, norm):
    """Transpose of ``rfftn(x, s, axes, norm)`` for a real ``x`` of ``shape`` (s and axes cooked)."""
    if not _distinct(axes):
        return (_transpose(g, fft_stages(shape, "r2c", s, axes), False, norm, shape, True),)
    s = _resolved(shape, s, axes, False)
    # Re(F^T pad(g)) = irfftn(conj(g) / f) with the opposite scaling (see the module docstring)
    h = _conj(g) / _hermitian_factor(g, s[-1], axes[-1])
    return (_resize(T.irfftn(h, s=tuple(s), axes=tuple(axes), norm=_swap(norm)), shape),)


def _irfft_rule(g, shape, s, axes, norm, real_in):
    """Transpose of ``irfftn(X, s, axes, norm)`` for ``X`` of ``shape`` (s and axes cooked)."""
    if not _distinct(axes):
        return (_transpose(g, fft_stages(shape, "c2r", s, axes), True, norm, shape, real_in),)
    s = _resolved(shape, s, axes, True)
    y = T.rfftn(g, s=tuple(s), axes=tuple(axes), norm=_swap(norm))
    r = _resize(_hermitian_factor(y, s[-1], axes[-1]) * _conj(y), shape)
    return (_real(r) if real_in else r,)


_RFFT1 = [((8,), {}), ((7,), {}), ((5,), dict(n=6)), ((4,), dict(n=9, norm="ortho")),
          ((3, 6), dict(n=5, axis=0, norm="forward")), ((2, 6, 3), dict(axis=1, norm="backward"))]
_RFFT2 = [((4, 6), {}), ((3, 5), dict(norm="ortho")), ((2, 3, 4), dict(s=(4, 5), axes=(2, 0), norm="forward")),
          ((3, 4), dict(s=(2, 7), axes=(1, 0)))]
_RFFTN = _RFFT2 + [((2, 3, 4), {}), ((3, 4), dict(s=(5,), axes=(0,), norm="ortho")),
                   ((4, 3), dict(s=(3, 6), axes=(0, 0)))]
_IRFFT1 = [((5,), {}), ((5,), dict(n=9)), ((4,), dict(n=4, norm="ortho")), ((3,), dict(n=10, norm="forward")),
           ((2, 3, 4), dict(axis=1, norm="ortho")), ((4, 3), dict(axis=0, n=7))]
_IRFFT2 = [((4, 4), {}), ((3, 5), dict(s=(3, 9), axes=(0, 1), norm="ortho")),
           ((2, 3, 4), dict(s=(4, 4), axes=(2, 0), norm="forward")), ((3, 4), dict(s=(2, 5), axes=(1, 0)))]
_IRFFTN = _IRFFT2 + [((2, 3, 4), {}), ((3, 4), dict(s=(6,), axes=(0,), norm="ortho")),
                     ((4, 3), dict(s=(3, 6), axes=(0, 0))), ((3, 4), dict(s=(-1, 5), axes=(0, 1)))]


@defop(linear=True, public=_NS, samples=_table("rfft", _RFFT1, complex_=False))
def rfft(xp, a, n=None, axis=-1, norm=None):
    """Real input only (NumPy refuses complex input)."""
    return xp.fft.rfft(a, n=n, axis=axis, norm=norm)


@rfft.vjp
def _(g, n, axis, norm, shapes):
    return _rfft_rule(g, tuple(shapes[0]), *fft_cook(shapes[0], [n], [axis]), norm)


@defop(linear=True, public=_NS, samples=_table("rfft2", _RFFT2, complex_=False))
def rfft2(xp, a, s=None, axes=(-2, -1), norm=None):
    return backend_for(xp).fft_nd(xp, "rfft2", a, s, axes, norm)


@defop(linear=True, public=_NS, samples=_table("rfftn", _RFFTN, complex_=False))
def rfftn(xp, a, s=None, axes=None, norm=None):
    return backend_for(xp).fft_nd(xp, "rfftn", a, s, axes, norm)


@rfft2.vjp
@rfftn.vjp
def _(g, s, axes, norm, shapes):
    return _rfft_rule(g, tuple(shapes[0]), *fft_cook(shapes[0], s, axes), norm)


@defop(linear=True, public=_NS, samples=_table("irfft", _IRFFT1))
def irfft(xp, a, n=None, axis=-1, norm=None):
    """Reads only the real part of the zero-frequency (and, for even ``n``, the Nyquist) coefficient,
    so those imaginary parts get a zero gradient."""
    return xp.fft.irfft(a, n=n, axis=axis, norm=norm)


@irfft.vjp
def _(g, n, axis, norm, shapes, dtypes):
    shape = tuple(shapes[0])
    return _irfft_rule(g, shape, *fft_cook(shape, [n], [axis]), norm, dtypes[0].kind != "c")


@defop(linear=True, public=_NS, samples=_table("irfft2", _IRFFT2))
def irfft2(xp, a, s=None, axes=(-2, -1), norm=None):
    return backend_for(xp).fft_nd(xp, "irfft2", a, s, axes, norm)


@defop(linear=True, public=_NS, samples=_table("irfftn", _IRFFTN))
def irfftn(xp, a, s=None, axes=None, norm=None):
    return backend_for(xp).fft_nd(xp, "irfftn", a, s, axes, norm)


@irfft2.vjp
@irfftn.vjp
def _(g, s, axes, norm, shapes, dtypes):
    shape = tuple(shapes[0])
    return _irfft_rule(g, shape, *fft_cook(shape, s, axes, invreal=True), norm, dtypes[0].kind != "c")


# --- fftshift, ifftshift -------------------------------------------------------------------------


_SHIFT = [((5,), {}), ((4, 5), {}), ((4, 5), dict(axes=0)), ((3, 4, 5), dict(axes=(2, 0))),
          ((3, 4), dict(axes=(-1,)))]


@defop(linear=True, public=_NS, samples=_table("fftshift", _SHIFT))
def fftshift(xp, x, axes=None):
    return xp.fft.fftshift(x, axes=axes)


@defop(linear=True, public=_NS, samples=_table("ifftshift", _SHIFT))
def ifftshift(xp, x, axes=None):
    return xp.fft.ifftshift(x, axes=axes)


# A permutation's transpose is its inverse.
fftshift.vjp(lambda g, axes: (T.ifftshift(g, axes=axes),))
ifftshift.vjp(lambda g, axes: (T.fftshift(g, axes=axes),))

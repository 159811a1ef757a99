"""np.fft beyond the generated sweep: values against numpy.fft for real and complex inputs; every
gradient checked through real-valued wrappers (check_grads compares real outputs only), to order 2
in both modes; and the HIPS/JAX complex convention checked exactly, from each transform's own
matrix: the VJP of a cotangent g is c = dl/da - i dl/db with l = Re(sum(g * f(a + i b)))."""
from __future__ import annotations

import warnings
import zlib

import numpy
import pytest

import tapegrad  # noqa: F401 - declares the ops
from tapegrad import autograd
from tapegrad.ndarray import ndarray
from tapegrad.np import fft as tfft
from tapegrad.ops.registry import REGISTRY
from tapegrad.testing import check_grads

T_real = REGISTRY["real"]
T_imag = REGISTRY["imag"]

C2C = ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn")
R2C = ("rfft", "rfft2", "rfftn")
C2R = ("irfft", "irfft2", "irfftn")
SHIFT = ("fftshift", "ifftshift")
NAMES = C2C + R2C + C2R + SHIFT

# (name, input shape, params): lengths that pad and crop, odd and even, every norm, repeated axes
CASES = [
    ("fft", (8,), {}), ("fft", (5,), dict(n=8)), ("fft", (7,), dict(n=4, norm="ortho")),
    ("fft", (3, 4), dict(axis=0, norm="forward")), ("fft", (2, 3, 5), dict(axis=-2, n=2, norm="backward")),
    ("ifft", (6,), {}), ("ifft", (5,), dict(n=3, norm="ortho")), ("ifft", (2, 4), dict(n=7, axis=1, norm="forward")),
    ("fft2", (4, 5), {}), ("fft2", (2, 3, 4), dict(s=(5, 2), axes=(0, 2), norm="ortho")),
    ("fft2", (3, 4), dict(axes=(1, 0), norm="forward")),
    ("ifft2", (3, 4), dict(s=(2, 6))), ("ifft2", (2, 3, 4), dict(norm="ortho")),
    ("fftn", (2, 3, 4), {}), ("fftn", (2, 3, 4), dict(axes=(2, 0), s=(3, 3), norm="ortho")),
    ("fftn", (3, 4), dict(s=(-1, 6), axes=(0, 1), norm="forward")), ("fftn", (3, 4), dict(s=(4, 2), axes=(0, 0))),
    ("fftn", (3, 4), dict(s=(2, 5, 3), axes=(1, 0, 1), norm="ortho")),
    ("ifftn", (2, 3, 4), dict(axes=(1,))), ("ifftn", (3, 4), dict(s=(5, 2), axes=(0, 1), norm="forward")),
    ("ifftn", (4, 3), dict(s=(3, 6), axes=(1, 1))),
    ("rfft", (8,), {}), ("rfft", (7,), {}), ("rfft", (5,), dict(n=6)), ("rfft", (4,), dict(n=9, norm="ortho")),
    ("rfft", (3, 6), dict(n=5, axis=0, norm="forward")), ("rfft", (2, 6, 3), dict(axis=1)),
    ("rfft2", (4, 6), {}), ("rfft2", (3, 5), dict(norm="ortho")),
    ("rfft2", (2, 3, 4), dict(s=(4, 5), axes=(2, 0), norm="forward")),
    ("rfftn", (2, 3, 4), {}), ("rfftn", (3, 4), dict(s=(2, 7), axes=(1, 0))),
    ("rfftn", (3, 4), dict(s=(5,), axes=(0,), norm="ortho")), ("rfftn", (4, 3), dict(s=(3, 6), axes=(0, 0))),
    ("rfftn", (4, 3), dict(s=(5, 4), axes=(1, 1), norm="forward")),
    ("irfft", (5,), {}), ("irfft", (5,), dict(n=9)), ("irfft", (4,), dict(n=4, norm="ortho")),
    ("irfft", (3,), dict(n=10, norm="forward")), ("irfft", (2, 3, 4), dict(axis=1, norm="ortho")),
    ("irfft", (4, 3), dict(axis=0, n=7)),
    ("irfft2", (4, 4), {}), ("irfft2", (3, 5), dict(s=(3, 9), norm="ortho")),
    ("irfft2", (2, 3, 4), dict(s=(4, 4), axes=(2, 0), norm="forward")),
    ("irfftn", (2, 3, 4), {}), ("irfftn", (3, 4), dict(s=(2, 5), axes=(1, 0))),
    ("irfftn", (3, 4), dict(s=(6,), axes=(0,), norm="ortho")), ("irfftn", (4, 3), dict(s=(3, 6), axes=(0, 0))),
    ("irfftn", (3, 4), dict(s=(-1, 5), axes=(0, 1))), ("irfftn", (4, 3), dict(s=(2, 4, 5), axes=(1, 0, 1))),
    ("fftshift", (5,), {}), ("fftshift", (4, 5), {}), ("fftshift", (3, 4, 5), dict(axes=(2, 0))),
    ("ifftshift", (5,), {}), ("ifftshift", (4, 5), dict(axes=0)), ("ifftshift", (3, 4), dict(axes=(-1,))),
]
IDS = [f"{n}-{'x'.join(map(str, s))}-{p}" for n, s, p in CASES]
COMPLEX_OK = [c for c in CASES if c[0] not in R2C]  # NumPy's rfft* refuse complex input


def _rng(*key):
    """A generator seeded from ``key`` the same way in every process (str hashes are salted)."""
    return numpy.random.default_rng(zlib.crc32(repr(key).encode()))


def _op(name):
    return getattr(tfft, name)


def _input(name, shape, params, complex_):
    rng = _rng(name, shape, tuple(sorted(params.items())), complex_)
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


def _out_shape(name, x, params):
    return getattr(numpy.fft, name)(x, **params).shape


def _weights(name, x, params):
    rng = _rng("w", name, x.shape)
    shape = _out_shape(name, x, params)
    return rng.standard_normal(shape), rng.standard_normal(shape)


def _as_real(y, w1, w2):
    """A real function of a (possibly complex) output: sum(Re(y) w1 + Im(y) w2)."""
    if y.dtype.kind == "c":
        return (T_real(y) * w1 + T_imag(y) * w2).sum()
    return (y * w1).sum()


# --- namespace and values --------------------------------------------------------------------


def test_namespace():
    for name in NAMES:
        assert getattr(tfft, name) is REGISTRY[name]
        assert REGISTRY[name].public == "np.fft"
    with pytest.raises(AttributeError, match="fftfreq"):
        tfft.fftfreq  # noqa: B018


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("name,shape,params", CASES, ids=IDS)
def test_values_match_numpy(name, shape, params, complex_):
    if complex_ and name in R2C:
        pytest.skip("numpy.fft.rfft* refuse complex input")
    x = _input(name, shape, params, complex_)
    expected = getattr(numpy.fft, name)(x, **params)
    got = _op(name)(ndarray._make(x), **params)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    numpy.testing.assert_allclose(got.asnumpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_float32_keeps_single_precision(name):
    x = numpy.random.default_rng(0).standard_normal((4, 6)).astype(numpy.float32)
    if name in C2R:
        x = numpy.fft.rfft2(x)
    expected = getattr(numpy.fft, name)(x)
    xa = ndarray._make(x)
    xa.attach_grad()
    with autograd.record():
        y = _op(name)(xa)
        s = _as_real(y, *(ndarray._make(w.astype(numpy.float32)) for w in _weights(name, x, {})))
    assert y.dtype == expected.dtype
    s.backward()
    assert xa.grad.dtype == x.dtype


def test_invalid_norm():
    with pytest.raises(ValueError, match="norm"):
        tfft.fft(ndarray._make(numpy.ones(4)), norm="unitary")


# --- gradients by finite differences (real wrappers) ---------------------------------------------


@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("name,shape,params", CASES, ids=IDS)
def test_gradients_real_input(name, shape, params):
    """Real input; the imaginary part of a complex output is checked through its own weights."""
    x = _input(name, shape, params, False)
    w1, w2 = (ndarray._make(w) for w in _weights(name, x, params))
    op = _op(name)
    check_grads(lambda a: _as_real(op(a, **params), w1, w2), [x], order=2, modes=("rev", "fwd"))


# Building a + 1j*b makes b's cotangent complex before the engine casts it to float64 (with a
# ComplexWarning from astype): silence that one, raised in elementwise.py, and no other.
@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning:tapegrad.ops.elementwise")
@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("name,shape,params", COMPLEX_OK, ids=[i for i, c in zip(IDS, CASES) if c in COMPLEX_OK])
def test_gradients_complex_input(name, shape, params):
    """Complex input a + 1j b, differentiated in a and b."""
    z = _input(name, shape, params, True)
    w1, w2 = (ndarray._make(w) for w in _weights(name, z, params))
    op = _op(name)
    check_grads(lambda a, b: _as_real(op(a + 1j * b, **params), w1, w2), [z.real.copy(), z.imag.copy()],
                order=2, modes=("rev", "fwd"))


# --- the complex convention, exactly -------------------------------------------------------------


def _expected_cotangent(name, x, params, g):
    """c = dl/da - i dl/db for l(x) = Re(sum(g * f(x))), from f applied to basis vectors (f is linear
    over the reals); for a real x, just dl/da."""
    f = getattr(numpy.fft, name)
    c = numpy.zeros(x.shape, dtype=x.dtype)
    for k in numpy.ndindex(x.shape):
        e = numpy.zeros(x.shape, dtype=x.dtype)
        e[k] = 1
        c[k] = numpy.real(numpy.sum(g * f(e, **params)))
        if x.dtype.kind == "c":
            c[k] -= 1j * numpy.real(numpy.sum(g * f(1j * e, **params)))
    return c


@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("name,shape,params", CASES, ids=IDS)
def test_vjp_follows_the_hips_jax_convention(name, shape, params, complex_):
    if complex_ and name in R2C:
        pytest.skip("numpy.fft.rfft* refuse complex input")
    x = _input(name, shape, params, complex_)
    y = getattr(numpy.fft, name)(x, **params)
    rng = _rng("g", name, shape)
    g = rng.standard_normal(y.shape)
    if y.dtype.kind == "c":
        g = g + 1j * rng.standard_normal(y.shape)
    xa = ndarray._make(x)
    xa.attach_grad()
    with autograd.record():
        out = _op(name)(xa, **params)
    out.backward(ndarray._make(g))
    expected = _expected_cotangent(name, x, params, g)
    assert xa.grad.dtype == x.dtype
    numpy.testing.assert_allclose(xa.grad.asnumpy(), expected, rtol=1e-10, atol=1e-10)


def test_fft_vjp_is_the_transpose_not_the_adjoint():
    """For a complex-linear map the VJP is L^T g: for fft (a symmetric matrix), fft(g), not conj."""
    rng = numpy.random.default_rng(3)
    z = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    g = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    for norm in (None, "ortho", "forward"):
        za = ndarray._make(z)
        za.attach_grad()
        with autograd.record():
            y = tfft.fft(za, norm=norm)
        y.backward(ndarray._make(g))
        numpy.testing.assert_allclose(za.grad.asnumpy(), numpy.fft.fft(g, norm=norm), rtol=1e-12, atol=1e-12)


def test_irfft_ignores_imaginary_dc_and_nyquist():
    """irfft reads only Re of the zero and (even n) Nyquist coefficients: their Im gets no gradient;
    the other coefficients count twice (Hermitian symmetry)."""
    X = ndarray._make(numpy.array([1 + 2j, 3 - 1j, 0.5 + 1j, 2 - 3j]))
    X.attach_grad()
    with autograd.record():
        s = tfft.irfft(X, n=6).sum()  # sum of irfft = X[0] (backward norm)
    s.backward()
    numpy.testing.assert_allclose(X.grad.asnumpy(), [1, 0, 0, 0], atol=1e-14)
    X2 = ndarray._make(numpy.zeros(4, dtype=complex))
    X2.attach_grad()
    g = numpy.array([1.0, -1, 1, -1, 1, -1])  # picks the Nyquist term
    with autograd.record():
        y = tfft.irfft(X2, n=6)
    y.backward(ndarray._make(g))
    numpy.testing.assert_allclose(X2.grad.asnumpy(), [0, 0, 0, 1], atol=1e-14)


# --- through the functional API ------------------------------------------------------------------


def test_grad_of_spectral_energy():
    """Parseval: sum |fft(x)|^2 = n sum x^2, so its gradient is 2 n x."""
    x = numpy.random.default_rng(4).standard_normal(8)

    def energy(v):
        y = tfft.fft(v)
        return (T_real(y) ** 2 + T_imag(y) ** 2).sum()

    numpy.testing.assert_allclose(numpy.asarray(tapegrad.grad(energy)(x)), 16 * x, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning:tapegrad.ops.elementwise")  # imag's rule
def test_hessian_through_rfft():
    """sum |rfft(x)|^2 is quadratic: its Hessian is constant and matches the explicit matrix."""
    n = 6
    x = numpy.random.default_rng(5).standard_normal(n)

    def energy(v):
        y = tfft.rfft(v, norm="ortho")
        return (T_real(y) ** 2 + T_imag(y) ** 2).sum()

    h = tapegrad.hessian(energy)(x)
    h = h.asnumpy() if hasattr(h, "asnumpy") else numpy.asarray(h)
    m = numpy.fft.rfft(numpy.eye(n), axis=0, norm="ortho")  # columns: rfft of basis vectors
    expected = 2 * (m.real.T @ m.real + m.imag.T @ m.imag)
    numpy.testing.assert_allclose(h, expected, rtol=1e-10, atol=1e-12)


def test_jvp_of_fft_is_fft_of_tangent():
    rng = numpy.random.default_rng(6)
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", numpy.exceptions.ComplexWarning)
        _, jt = tapegrad.jvp(lambda v: tfft.fft2(v, s=(4, 3)), (x,), (t,))
    numpy.testing.assert_allclose(numpy.asarray(jt.asnumpy() if hasattr(jt, "asnumpy") else jt),
                                  numpy.fft.fft2(t, s=(4, 3)), rtol=1e-12, atol=1e-12)

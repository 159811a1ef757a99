"""The backend seam: ``numpy_backend`` and ``cupy_backend`` offer the same functions, and on the same
input give the same results. The CuPy module runs on NumPy under another name (``numpy_as_cupy`` in
test_ops), so a machine without a GPU checks its code, and on CuPy itself where a GPU is."""
from __future__ import annotations

import inspect
import pathlib
import subprocess
import sys
import types

import numpy
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from test_ops import numpy_as_cupy  # noqa: E402, F401 - the fixture

import tapegrad  # noqa: E402
from tapegrad.backend import backend_for, cupy_backend, num_gpus, numpy_backend  # noqa: E402

RNG = numpy.random.default_rng(13)


@pytest.fixture(params=["numpy posing as cupy", "cupy"])
def cp(request):
    """The array module the CuPy backend runs on."""
    if request.param == "cupy":
        if num_gpus() == 0:
            pytest.skip("needs CuPy and an NVIDIA GPU")
        import cupy  # noqa: PLC0415 - only where a GPU is
        return cupy
    return request.getfixturevalue("numpy_as_cupy")


def _dev(cp, a):
    return cp.asarray(a) if isinstance(a, numpy.ndarray) else a


def _host(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, (numpy.ndarray, numpy.generic)) else a


def _both(cp, name, *args):
    """``name`` from each backend on the same arguments: (NumPy's result, CuPy's on the host)."""
    copy = [_dev(cp, a.copy()) if isinstance(a, numpy.ndarray) else a for a in args]
    return getattr(numpy_backend, name)(numpy, *args), _host(getattr(cupy_backend, name)(cp, *copy))


def _same(r, g):
    """Equal results (a NumPy scalar counts as a 0-d array: NumPy under another name makes scalars
    where CuPy makes 0-d arrays)."""
    assert numpy.shape(g) == numpy.shape(r) and g.dtype == r.dtype
    numpy.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


def test_both_backends_offer_the_same_functions_with_the_same_parameters():
    assert numpy_backend.__all__ == cupy_backend.__all__
    for name in numpy_backend.__all__:
        assert inspect.signature(getattr(numpy_backend, name)) == inspect.signature(getattr(cupy_backend, name)), name


def test_backend_for_picks_the_module_by_array_module(numpy_as_cupy):
    assert backend_for(numpy) is numpy_backend
    assert backend_for(numpy_as_cupy) is cupy_backend


def test_importing_tapegrad_imports_no_cupy():
    code = "import sys, tapegrad, tapegrad.np, tapegrad.torch; print(sorted(m for m in sys.modules if 'cupy' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tapegrad.backend.cupy_backend']"


def test_device_error_is_the_backends_and_keeps_its_old_homes():
    from tapegrad._core.errors import DeviceError
    from tapegrad.backend import DeviceError as BackendDeviceError
    assert DeviceError is BackendDeviceError is tapegrad.DeviceError


def test_scatter_add(cp):
    g = RNG.standard_normal((4, 3))
    key = numpy.array([0, 2, 2, 0])
    out = numpy.zeros((3, 3))
    assert numpy_backend.scatter_add(out, (key, slice(None)), g) is None
    dev = cp.zeros((3, 3))
    assert cupy_backend.scatter_add(dev, (_dev(cp, key), slice(None)), _dev(cp, g)) is None
    _same(out, _host(dev))
    numpy.testing.assert_allclose(out[2], g[1] + g[2])


@pytest.mark.parametrize("name,shape,s,axes,norm", [
    ("fft2", (3, 4), None, (-2, -1), None), ("ifft2", (2, 3, 4), (4, 5), (2, 0), "ortho"),
    ("fftn", (2, 3, 4), None, None, "forward"), ("ifftn", (3, 4), (-1, 6), (0, 1), None),
    ("fftn", (4, 3), (3, 6), (0, 0), None), ("rfft2", (4, 6), None, (-2, -1), None),
    ("rfftn", (2, 3, 4), (4, 5), (2, 0), "ortho"), ("irfft2", (3, 5), (3, 9), (0, 1), None),
    ("irfftn", (2, 3, 4), None, None, "forward"), ("irfftn", (4, 3), (3, 6), (0, 0), None)])
def test_fft_nd(cp, name, shape, s, axes, norm):
    a = RNG.standard_normal(shape)
    if not name.startswith("rfft"):
        a = a + 1j * RNG.standard_normal(shape)
    _same(*_both(cp, "fft_nd", name, a, s, axes, norm))


@pytest.mark.parametrize("mode,kw", [("constant", dict(constant_values=1.5)), ("edge", {}), ("reflect", {}),
                                     ("symmetric", {}), ("wrap", {})])
def test_pad(cp, mode, kw):
    a = RNG.standard_normal((2, 3))
    r, g = _both(cp, "pad", a, numpy.array([[1, 4], [2, 7]]), mode, kw)
    _same(r, g)


def test_sort_argsort_and_partition(cp):
    a = RNG.integers(0, 3, (4, 6)).astype(numpy.float64)
    _same(*_both(cp, "sort", a, 1, {}))
    _same(*_both(cp, "sort", a, None, {}))
    assert (numpy_backend.argsort_stable(numpy, a, 1) == numpy.argsort(a, axis=1, kind="stable")).all()
    # without ties (CuPy's argsort is stable on a GPU; NumPy posing as CuPy is not)
    _same(*_both(cp, "argsort_stable", RNG.permutation(24).reshape(4, 6), 1))
    if isinstance(cp, types.ModuleType):  # CuPy itself
        _same(*_both(cp, "argsort_stable", a, 1))
    _same(*_both(cp, "partition", RNG.permutation(12).reshape(3, 4).astype(float), [1, 2], 1, {}))


def test_erf(cp):
    x = numpy.linspace(-3, 3, 13)
    r = numpy_backend.erf(x)
    g = _host(cupy_backend.erf(_dev(cp, x)))
    assert g.dtype == r.dtype
    numpy.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-15)
    numpy.testing.assert_allclose(r[6:8], [0.0, 0.5204998778130465], rtol=1e-12)


@pytest.mark.parametrize("idx", [numpy.array([0, 4, 2]), numpy.array([-1, 7, 3]), numpy.array([], dtype=int)])
def test_clip_index(cp, idx):
    r, g = _both(cp, "clip_index", idx, 5)
    _same(r, g)
    assert (r == numpy.clip(idx, 0, 4)).all()


def test_strided_view(cp):
    r, g = _both(cp, "strided_view", numpy.arange(12.0), (3, 4), (24, 8))
    _same(r, g)
    assert not r.flags.writeable  # NumPy's view is read-only; CuPy has no read-only views


@pytest.mark.parametrize("sa,sb,axes", [((), (2, 3), 0), ((2,), (), ([], [])), ((), (), 0),
                                         ((2, 3), (3, 4), 1), ((2, 3, 4), (3, 4, 5), 2)])
def test_tensordot(cp, sa, sb, axes):
    _same(*_both(cp, "tensordot", RNG.standard_normal(sa), RNG.standard_normal(sb), axes))


def test_tensordot_of_a_0d_operand_refuses_contraction_on_both(cp):
    for be, xp in ((numpy_backend, numpy), (cupy_backend, cp)):
        with pytest.raises((ValueError, IndexError)):
            be.tensordot(xp, xp.asarray(2.0), xp.ones((2, 3)), 1)


@pytest.mark.parametrize("sa,sb", [((3, 3), (3,)), ((2, 3, 3), (3, 2)), ((2, 1, 3, 3), (4, 3, 1))])
def test_solve(cp, sa, sb):
    a = RNG.standard_normal(sa) + 3 * numpy.eye(sa[-1])
    _same(*_both(cp, "solve", a, RNG.standard_normal(sb)))


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(cp, upper):
    b = RNG.standard_normal((2, 3, 3)) + 1j * RNG.standard_normal((2, 3, 3))
    a = b @ numpy.conj(numpy.swapaxes(b, -1, -2)) + 3 * numpy.eye(3)
    a[..., 2, 0] += 5 if upper else 0  # junk in the triangle not read
    a[..., 0, 2] += 0 if upper else 5
    _same(*_both(cp, "cholesky", a, upper))


@pytest.mark.parametrize("rcond,hermitian,rtol", [(None, False, numpy._NoValue), (1e-10, False, numpy._NoValue),
                                                  (None, False, None), (None, False, 0.3),
                                                  (None, True, numpy._NoValue)])
def test_pinv(cp, rcond, hermitian, rtol):
    a = RNG.standard_normal((2, 3, 3))
    if hermitian:
        a = a + numpy.swapaxes(a, -1, -2)
        a[..., 0, 2] += 5  # NumPy reads the lower triangle
    _same(*_both(cp, "pinv", a, rcond, hermitian, rtol))


# --- SciPy's functions (tapegrad.scipy): cupyx.scipy where it has them, else a clear refusal ---------


def _spd(n):
    b = RNG.standard_normal((n, n))
    return b @ b.T + n * numpy.eye(n)


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_convolve(cp, mode, method):
    pytest.importorskip("scipy")
    _same(*_both(cp, "convolve", RNG.standard_normal((4, 5)), RNG.standard_normal((2, 3)), mode, method))


def test_scipy_linalg(cp):
    pytest.importorskip("scipy")
    a = RNG.standard_normal((2, 3, 3))
    _same(*_both(cp, "expm", a[0]))
    _same(*_both(cp, "expm", a))
    tri = RNG.standard_normal((2, 3, 3)) + 3 * numpy.eye(3)
    for b in (RNG.standard_normal(3), RNG.standard_normal((3, 2)), RNG.standard_normal((4, 1, 3, 2))):
        for trans in (0, 1, 2):
            for lower in (False, True):
                _same(*_both(cp, "solve_triangular", tri, b, trans, lower, trans == 1))
    for lower in (False, True):
        a = _spd(3) + numpy.triu(RNG.standard_normal((3, 3)), 1)  # unrelated values where one factor is not read
        c = numpy_backend.cho_factor(numpy, a, lower)
        _same(*_both(cp, "cho_factor", a, lower))
        _same(*_both(cp, "cho_solve", c, RNG.standard_normal((3, 2)), lower))
        _same(*_both(cp, "cho_solve", c, RNG.standard_normal(3), lower))


def test_what_cupyx_lacks_is_refused_with_the_fix(cp):
    a = _dev(cp, numpy.eye(2))
    calls = {"sqrtm": (a,), "solve_sylvester": (a, a, a), "odeint": (lambda y, t: -y, a[0], a[0], (), False, {})}
    assert set(calls) == set(cupy_backend.HOST_ONLY)
    for name, args in calls.items():
        with pytest.raises(cupy_backend.HostOnlyError, match="no GPU version.*move its inputs to the CPU"):
            getattr(cupy_backend, name)(cp, *args)
    assert issubclass(cupy_backend.HostOnlyError, NotImplementedError)

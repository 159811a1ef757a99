"""``tapegrad.scipy.special``: every differentiable function of the door, generated from one table of
(function, argument domains): on traced arrays its value is SciPy's, and its gradients match central
finite differences in float64 to order 2, in both modes. (The ops behind them are also swept by
tests/test_ops.py through their samples, and compared with HIPS in tests/test_differential_hips.py.)
Plus the door's behaviour on plain values, the gradient conventions, the refusals and the import
without SciPy."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy
import pytest

scipy_special = pytest.importorskip("scipy.special")

import tapegrad  # noqa: E402
import tapegrad.scipy.special as tsp  # noqa: E402
from tapegrad.numpy import ArrayBox  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from tapegrad.testing import check_grads  # noqa: E402

from conftest import script_env  # noqa: E402
from test_ops import numpy_as_cupy  # noqa: E402, F401 - the fixture

DOOR = {n: f for n, f in vars(tsp).items() if callable(f) and getattr(f, "op", None) is not None}


@dataclass
class Spec:
    """One call of a door function: ``make(rng)`` draws the arrays, ``call(f, *arrays)`` applies f."""

    make: Callable
    call: Callable = lambda f, *xs: f(*xs)
    wrt: tuple | None = None  # the arrays to differentiate (None: all)
    order: int = 2
    kw: dict = field(default_factory=dict)


def u(lo, hi, shape=(2, 3)):
    return lambda rng: rng.uniform(lo, hi, shape)


def arrays(*makers):
    return lambda rng: tuple(m(rng) if callable(m) else m for m in makers)


def unary(lo, hi, **kw):
    return [Spec(arrays(u(lo, hi, s)), **kw) for s in ((), (4,), (2, 3))]


def _lse(**kw):
    return lambda f, a, *b: f(a, b=b[0], **kw) if b else f(a, **kw)


def _first_of(fn):
    return lambda f, *xs: fn(f, *xs)[0]


ORDERS = numpy.array([0.0, 1.0, 2.5])
SPECS: dict[str, list] = {
    "logsumexp": [Spec(arrays(u(-2, 2, (2, 3, 4))), _lse(**kw)) for kw in (
        {}, dict(axis=1), dict(axis=(0, 2), keepdims=True), dict(axis=-1, keepdims=False))] + [
        Spec(arrays(u(-2, 2, (2, 3)), u(0.5, 2.0, (3,))), _lse(axis=-1)),
        Spec(arrays(u(-2, 2, (2, 3)), u(0.5, 2.0, (2, 1))), _lse()),
        Spec(arrays(u(-2, 2, (2, 3)), numpy.array([1.0, -0.2, 0.5])), _first_of(_lse(axis=1, return_sign=True)),
             wrt=(0, 1)),
        Spec(arrays(u(-2, 2, (3,))), _first_of(_lse(return_sign=True)))],
    "softmax": [Spec(arrays(u(-2, 2, (2, 3))), lambda f, x, ax=ax: f(x, axis=ax)) for ax in (None, 0, -1, (0, 1))],
    "log_softmax": [Spec(arrays(u(-2, 2, (2, 3))), lambda f, x, ax=ax: f(x, axis=ax)) for ax in (None, 0, -1, (0, 1))],
    "expit": unary(-4, 4), "log_expit": unary(-4, 4), "logit": unary(0.05, 0.95),
    "gammaln": unary(0.2, 5) + unary(-0.9, -0.1), "digamma": unary(0.2, 5), "psi": unary(0.2, 5),
    "gamma": unary(0.2, 4) + unary(-1.9, -1.1),
    "polygamma": [Spec(arrays(n, u(0.3, 4)), wrt=(1,)) for n in (0, 2, numpy.array([1, 2, 3]))],
    "beta": [Spec(arrays(u(0.3, 3), u(0.3, 3, (3,))))], "betaln": [Spec(arrays(u(0.3, 3), u(0.3, 3, (3,))))],
    "multigammaln": [Spec(arrays(u(1.2, 4)), lambda f, a, d=d: f(a, d)) for d in (1, 3)],
    "gammainc": [Spec(arrays(u(0.5, 3), u(0.1, 4)), wrt=(1,))],
    "gammaincc": [Spec(arrays(u(0.5, 3), u(0.1, 4)), wrt=(1,))],
    "betainc": [Spec(arrays(u(0.5, 3), u(0.5, 3, (3,)), u(0.05, 0.95)), wrt=(2,))],
    "stdtr": [Spec(arrays(u(0.5, 8), u(-4, 4)), wrt=(1,))],
    "erf": unary(-2, 2), "erfc": unary(-2, 2), "erfinv": unary(-0.9, 0.9), "erfcinv": unary(0.1, 1.9),
    "ndtr": unary(-4, 4), "log_ndtr": unary(-4, 4) + unary(-30, -10),
    "i0": unary(-3, 3), "i1": unary(-3, 3),
    "iv": [Spec(arrays(v, u(0.2, 3)), wrt=(1,)) for v in (0, 1.5, ORDERS)],
    "ive": [Spec(arrays(v, u(0.2, 3)), wrt=(1,)) for v in (0, 1.5, ORDERS)] + [Spec(arrays(1, u(-3, -0.2)), wrt=(1,))],
    "j0": unary(-6, 6), "j1": unary(-6, 6), "y0": unary(0.3, 6), "y1": unary(0.3, 6),
    "jv": [Spec(arrays(v, u(0.2, 6)), wrt=(1,)) for v in (0, 2, ORDERS)],
    "jn": [Spec(arrays(v, u(0.2, 6)), wrt=(1,)) for v in (0, 2)],
    "yv": [Spec(arrays(v, u(0.3, 6)), wrt=(1,)) for v in (0, 2, ORDERS)],
    "yn": [Spec(arrays(v, u(0.3, 6)), wrt=(1,)) for v in (0, 3, numpy.array([0, 1, 2]))],
    "xlogy": [Spec(arrays(u(-2, 2), u(0.2, 3, (3,)))), Spec(arrays(numpy.array([0.0, 1.0, 0.0]), u(0.2, 3, (3,))))],
    "xlog1py": [Spec(arrays(u(-2, 2), u(-0.8, 2, (3,)))), Spec(arrays(numpy.array([0.0, 1.0]), u(-0.8, 2, (2,))))],
}

CASES = [pytest.param(name, i, id=f"{name}-{i}") for name in SPECS for i in range(len(SPECS[name]))]


def _drawn(name, i):
    spec = SPECS[name][i]
    rng = numpy.random.default_rng([len(name), i])
    return spec, spec.make(rng)


def _box(x):
    return ArrayBox._make(numpy.asarray(x, dtype=numpy.float64)) if isinstance(x, numpy.ndarray) and \
        x.dtype.kind == "f" else x


def _host(y):
    return numpy.asarray(y._data if hasattr(y, "_data") else y)


def test_the_table_covers_every_differentiable_function_of_the_door():
    assert set(SPECS) == set(DOOR), (sorted(set(DOOR) - set(SPECS)), sorted(set(SPECS) - set(DOOR)))
    assert {"logsumexp", "expit", "gammaln", "psi", "polygamma", "multigammaln", "xlogy", "iv", "j1"} <= set(DOOR)
    for name, f in DOOR.items():  # each runs a registry op or a composite of them
        assert f.op in REGISTRY.values() or f.op.__module__ == "tapegrad.ops.special", name


@pytest.mark.parametrize("name,i", CASES)
def test_traced_values_are_scipys(name, i):
    spec, xs = _drawn(name, i)
    want = spec.call(getattr(scipy_special, name), *xs)
    got = spec.call(DOOR[name], *map(_box, xs))
    assert isinstance(got, ArrayBox)
    assert got.shape == numpy.shape(want)
    numpy.testing.assert_allclose(_host(got), want, rtol=1e-10, atol=1e-12)
    plain = spec.call(DOOR[name], *xs)  # plain values: SciPy's own function
    numpy.testing.assert_array_equal(plain, want)
    assert type(plain) is type(want)


@pytest.mark.parametrize("name,i", CASES)
def test_gradients_match_finite_differences(name, i):
    spec, xs = _drawn(name, i)
    boxed = [_box(x) for x in xs]
    wrt = spec.wrt if spec.wrt is not None else [k for k, x in enumerate(boxed) if isinstance(x, ArrayBox)]
    check_grads(lambda *a: spec.call(DOOR[name], *a), boxed, order=spec.order, wrt=wrt, modes=("rev", "fwd"))


# --- plain values, conventions, refusals ------------------------------------------------------------


def test_plain_values_run_scipy_itself():
    assert type(tsp.gammaln(2.5)) is numpy.float64 and tsp.gammaln(2.5) == scipy_special.gammaln(2.5)
    assert tsp.logsumexp([1.0, 2.0]) == scipy_special.logsumexp([1.0, 2.0])
    assert tsp.comb(5, 2) == 10.0  # a non-differentiable function is SciPy's, every keyword included
    assert tsp.comb(5, 2, exact=True) == 10
    assert tsp.gammaln.__name__ == "gammaln" and tsp.gammaln.__module__ == "tapegrad.scipy.special"
    assert "gamma" in tsp.gammaln.__doc__.lower()
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        tsp.not_a_function  # noqa: B018


def test_functional_api_returns_numpy_values():
    g = tapegrad.grad(lambda x: tsp.gammaln(x).sum())(numpy.array([1.5, 2.5]))
    assert type(g) is numpy.ndarray
    numpy.testing.assert_allclose(g, scipy_special.digamma([1.5, 2.5]), rtol=1e-12)
    h = tapegrad.grad(tapegrad.grad(lambda x: tsp.gammaln(x)))(2.5)
    numpy.testing.assert_allclose(h, scipy_special.polygamma(1, 2.5), rtol=1e-12)


def test_a_non_differentiable_function_refuses_a_traced_argument():
    with pytest.raises(TypeError, match="erfcx is not differentiable"):
        tapegrad.grad(lambda x: tsp.erfcx(x))(0.5)


@pytest.mark.parametrize("fn,args,argnum,what", [
    ("polygamma", (1.0, 0.5), 0, "order n"), ("gammainc", (1.5, 0.5), 0, "in a"), ("gammaincc", (1.5, 0.5), 0, "in a"),
    ("betainc", (1.5, 2.0, 0.5), 1, "in b"), ("betainc", (1.5, 2.0, 0.5), 0, "in a"), ("stdtr", (3.0, 0.5), 0, "in df"),
    ("iv", (1.0, 0.5), 0, "order v"), ("ive", (1.0, 0.5), 0, "order v"), ("jv", (1.0, 0.5), 0, "order v"),
    ("yv", (1.0, 0.5), 0, "order v")])
def test_a_gradient_in_a_parameter_without_one_is_refused_by_name(fn, args, argnum, what):
    with pytest.raises(NotImplementedError, match=f"{fn} is differentiable in its last argument only: the gradient "
                                                  f".*{what}"):
        tapegrad.grad(lambda *a: getattr(tsp, fn)(*a), argnum)(*args)
    tapegrad.grad(lambda *a: getattr(tsp, fn)(*a), len(args) - 1)(*args)  # the last argument is fine


def test_xlogy_gradients_at_x_zero():
    """x-gradient log(y) (JAX; PyTorch gives 0), y-gradient 0 at x = 0, also at y = 0 (JAX: NaN)."""
    for f, shift, log in ((tsp.xlogy, 0.0, numpy.log), (tsp.xlog1py, -1.0, numpy.log1p)):
        gx, gy = tapegrad.grad(lambda x, y: f(x, y).sum(), (0, 1))(numpy.zeros(2), numpy.array([0.5, 2.0]))
        numpy.testing.assert_allclose(gx, log([0.5, 2.0]))
        assert numpy.all(gy == 0)
        gy0 = tapegrad.grad(lambda y: f(0.0, y), 0)(shift)
        assert gy0 == 0.0
        gy1 = tapegrad.grad(lambda y: f(2.0, y), 0)(0.5)
        numpy.testing.assert_allclose(gy1, 2.0 / (0.5 - shift))


def test_logsumexp_follows_scipy_on_signs_zeros_and_large_values():
    a = numpy.array([[1000.0, 999.0, -1000.0], [0.0, 1.0, 2.0]])
    b = numpy.array([[1.0, -3.0, 2.0], [0.0, 0.0, 0.0]])
    for kw in (dict(axis=1), dict(axis=1, b=b), dict(axis=1, b=b, return_sign=True), dict(b=-b, return_sign=True)):
        want = scipy_special.logsumexp(a, **kw)
        got = tsp.logsumexp(ArrayBox._make(a), **kw)
        for w, g in zip(want if isinstance(want, tuple) else (want,), got if isinstance(got, tuple) else (got,)):
            numpy.testing.assert_allclose(_host(g), w, rtol=1e-12)
    # a negative sum without return_sign is NaN (SciPy); the gradient of a positive sum is finite
    assert numpy.isnan(_host(tsp.logsumexp(ArrayBox._make(numpy.array([0.0, 1.0])), b=numpy.array([1.0, -2.0]))))
    g = tapegrad.grad(lambda x: tsp.logsumexp(x, axis=1).sum())(a)
    numpy.testing.assert_allclose(g.sum(axis=1), 1.0)


def test_logsumexp_gradient_in_a_with_weights_matches_hips():
    pytest.importorskip("autograd")
    import autograd
    import autograd.scipy.special as asp
    rng = numpy.random.default_rng(3)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, (4,))
    for kw in (dict(axis=1), dict(axis=0, keepdims=True), {}):
        want = autograd.grad(lambda x: (asp.logsumexp(x, b=b, **kw) ** 2).sum())(a)
        got = tapegrad.grad(lambda x: (tsp.logsumexp(x, b=b, **kw) ** 2).sum())(a)
        numpy.testing.assert_allclose(got, want, rtol=1e-10)


def test_softmax_takes_every_axis_by_default_as_scipy():
    x = numpy.arange(6.0).reshape(2, 3)
    numpy.testing.assert_allclose(_host(tsp.softmax(ArrayBox._make(x))).sum(), 1.0)
    numpy.testing.assert_allclose(_host(tsp.softmax(ArrayBox._make(x))), scipy_special.softmax(x), rtol=1e-12)


def test_the_gpu_seam_falls_back_to_scipy_on_the_host(numpy_as_cupy):
    """Through the CuPy backend (NumPy posing as CuPy, cupyx faked with erf only), a function cupyx
    lacks runs SciPy's on the host, keyword arguments and tuples of results included."""
    from tapegrad.backend import cupy_backend
    x = numpy.array([[0.5, 1.5], [2.0, 3.0]])
    numpy.testing.assert_array_equal(cupy_backend.special(numpy_as_cupy, "gammaln")(x), scipy_special.gammaln(x))
    out, sign = cupy_backend.special(numpy_as_cupy, "logsumexp")(x, axis=1, b=-x, return_sign=True)
    w_out, w_sign = scipy_special.logsumexp(x, axis=1, b=-x, return_sign=True)
    numpy.testing.assert_array_equal(out, w_out)
    numpy.testing.assert_array_equal(sign, w_sign)
    assert cupy_backend.special(numpy_as_cupy, "erf") is cupy_backend._cupyx().scipy.special.erf


# --- imports ------------------------------------------------------------------------------------------


def test_tapegrad_scipy_imports_its_submodules_lazily():
    code = ("import sys, tapegrad, tapegrad.numpy, tapegrad.scipy as ts; assert 'scipy' not in sys.modules; "
            "assert 'tapegrad.scipy.special' not in sys.modules; s = ts.special; assert 'scipy.special' in sys.modules; "
            "assert s.__name__ == 'tapegrad.scipy.special' and ts.stats.norm.logpdf is not None; "
            "import tapegrad.scipy.stats.norm as norm; assert norm is ts.stats.norm; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=script_env())
    assert out.stdout.strip() == "ok", out.stderr
    import tapegrad.scipy as ts
    with pytest.raises(AttributeError, match="its submodules: special, stats"):
        ts.optimize  # noqa: B018
    for name in ("signal", "linalg", "integrate"):  # written elsewhere: a module or a clear AttributeError
        try:
            getattr(ts, name)
        except AttributeError as e:
            assert "not available" in str(e)


def test_without_scipy_the_door_says_how_to_install_it():
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import tapegrad, tapegrad.numpy as np\n"
            "print(tapegrad.grad(lambda x: np.sin(x))(0.0))\n"
            "for mod in ('tapegrad.scipy.special', 'tapegrad.scipy.stats'):\n"
            "    try:\n"
            "        __import__(mod)\n"
            "    except ImportError as e:\n"
            "        print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=script_env())
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "1.0", out.stderr
    assert len(lines) == 3 and all("pip install 'tapegrad[scipy]'" in line for line in lines[1:]), out.stdout


# --- drawn by hypothesis: logsumexp over any shape, axis and weights of either sign ---------------------

from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_logsumexp_with_any_weights_is_scipys_and_its_gradient_is_the_signed_softmax(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    elems = st.floats(-30, 30)
    a = data.draw(hnp.arrays(numpy.float64, shape, elements=elems))
    b = data.draw(hnp.arrays(numpy.float64, data.draw(hnp.broadcastable_shapes(shape, max_dims=3)),
                             elements=st.floats(-3, 3)))
    axis = data.draw(st.sampled_from([None, 0, -1, tuple(range(len(shape)))]))
    keepdims = data.draw(st.booleans())
    full = numpy.broadcast_shapes(a.shape, b.shape)
    want, want_sign = scipy_special.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
    got, sign = tsp.logsumexp(ArrayBox._make(a), axis=axis, b=ArrayBox._make(b), keepdims=keepdims, return_sign=True)
    numpy.testing.assert_allclose(_host(got), want, rtol=1e-9, atol=1e-9)
    numpy.testing.assert_array_equal(_host(sign), want_sign)
    if not numpy.all(numpy.isfinite(want)):
        return
    ga, gb = tapegrad.grad(lambda x, y: tsp.logsumexp(x, axis=axis, b=y, keepdims=keepdims, return_sign=True)[0].sum(),
                           (0, 1))(a, b)
    reduced = range(len(full)) if axis is None else [ax % len(full) for ax in numpy.atleast_1d(axis)]
    kept = tuple(1 if i in reduced else n for i, n in enumerate(full))
    w = numpy.broadcast_to(numpy.reshape(want_sign, kept) * numpy.exp(a - numpy.reshape(want, kept)), full)  # d/db
    numpy.testing.assert_allclose(ga, _sum_to(w * b, a.shape), rtol=1e-8, atol=1e-12)
    numpy.testing.assert_allclose(gb, _sum_to(w, b.shape), rtol=1e-8, atol=1e-12)


def _sum_to(x, shape):
    """``x`` summed down to ``shape`` (the reverse of broadcasting)."""
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    return x.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1), keepdims=True)

"""``tapegrad.scipy.stats``: every function of every distribution, generated from one table of
(distribution, function, argument domains): on traced arrays the value is SciPy's, the gradients
match central finite differences in float64 to order 2 (both modes), and they equal HIPS autograd's
wherever HIPS differentiates. Plus SciPy's conventions at the edges (outside the support, invalid
parameters, argument shapes), the refusals, and the HIPS examples' usage."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy
import pytest

scipy_stats = pytest.importorskip("scipy.stats")

import tapegrad  # noqa: E402
import tapegrad.scipy.stats as tst  # noqa: E402
from tapegrad.numpy import ArrayBox  # noqa: E402
from tapegrad.ops import stats as ops_stats  # noqa: E402
from tapegrad.testing import check_grads  # noqa: E402


@dataclass
class Spec:
    """A call ``call(f, *arrays)`` of arrays drawn by ``make(rng)``; ``wrt``: the differentiable ones
    (the others are constants); ``hips``: the ones HIPS autograd differentiates (None: not compared)."""

    make: Callable
    wrt: tuple
    call: Callable = lambda f, *xs: f(*xs)
    hips: tuple | None = None
    order: int = 2
    grad: bool = True  # False: points where the value is infinite (the edge tests check those)


def u(lo, hi, shape=(2, 3)):
    return lambda rng: rng.uniform(lo, hi, shape)


def arrays(*makers):
    return lambda rng: tuple(m(rng) if callable(m) else m for m in makers)


def _spd(d):
    def make(rng):
        a = rng.standard_normal((d, d))
        return a @ a.T / d + numpy.eye(d)
    return make


def _simplex(k, n=None):
    def make(rng):
        x = rng.dirichlet(numpy.full(k, 2.0), n)
        return x if n is None else x.T
    return make


def _counts(shape=(2, 3), lo=0, hi=8):
    return lambda rng: rng.integers(lo, hi, shape).astype(float)


X, LOC, SCALE = u(-3, 3), u(-1, 1, (3,)), u(0.5, 2, (2, 1))


def _hips_cdf(f):
    """HIPS differentiates these cdfs in x, and has no logcdf."""
    return (0,) if f == "cdf" else None
ALL4 = (0, 1, 2, 3)

UNIVARIATE: dict = {
    "norm": {f: [Spec(arrays(X, LOC, SCALE), (0, 1, 2), hips=(0, 1, 2)),
                 Spec(arrays(X), (0,), hips=(0,)),
                 Spec(arrays(X, SCALE), (0, 1), lambda f, x, s: f(x, scale=s))]
             for f in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")},
    "t": {**{f: [Spec(arrays(X, u(0.5, 10, (3,)), LOC, SCALE), ALL4, hips=ALL4),
                 Spec(arrays(X, u(1, 5, ())), (0, 1), lambda f, x, df: f(x, df=df))] for f in ("pdf", "logpdf")},
          **{f: [Spec(arrays(X, u(0.5, 10, (3,)), LOC, SCALE), (0, 2, 3), hips=(0, 2))] for f in ("cdf", "logcdf")}},
    "gamma": {**{f: [Spec(arrays(u(0.3, 5), u(0.5, 4, (3,)), u(-0.2, 0.2, (3,)), SCALE), ALL4),
                     Spec(arrays(u(0.3, 5), u(0.5, 4, (3,))), (0, 1), hips=(0, 1))] for f in ("pdf", "logpdf")},
              **{f: [Spec(arrays(u(0.3, 5), u(0.5, 4, (3,)), u(-0.2, 0.2, (3,)), SCALE), (0, 2, 3)),
                     Spec(arrays(u(0.3, 5), u(0.5, 4, (3,))), (0,), hips=_hips_cdf(f))] for f in ("cdf", "logcdf")}},
    "beta": {**{f: [Spec(arrays(u(0.1, 0.9), u(0.5, 4, (3,)), u(0.5, 4, (2, 1)), u(-0.05, 0.05), u(1, 1.2)),
                         (0, 1, 2, 3, 4)),
                    Spec(arrays(u(0.1, 0.9), u(0.5, 4, (3,)), u(0.5, 4, (2, 1))), (0, 1, 2), hips=(0, 1, 2))]
                for f in ("pdf", "logpdf")},
             **{f: [Spec(arrays(u(0.1, 0.9), u(0.5, 4, (3,)), u(0.5, 4, (2, 1)), u(-0.05, 0.05), u(1, 1.2)),
                         (0, 3, 4)),
                    Spec(arrays(u(0.1, 0.9), u(0.5, 4, (3,)), u(0.5, 4, (2, 1))), (0,), hips=_hips_cdf(f))]
                for f in ("cdf", "logcdf")}},
    "chi2": {**{f: [Spec(arrays(u(0.3, 6), u(1, 6, (3,)), u(-0.2, 0.2, (3,)), SCALE), ALL4),
                    Spec(arrays(u(0.3, 6), numpy.array([1.0, 2.0, 5.0])), (0, 1), hips=(0,))]  # HIPS: integer df
                for f in ("pdf", "logpdf")},
             **{f: [Spec(arrays(u(0.3, 6), u(1, 6, (3,)), u(-0.2, 0.2, (3,)), SCALE), (0, 2, 3)),
                    Spec(arrays(u(0.3, 6), u(1, 6, (3,))), (0,), hips=_hips_cdf(f))] for f in ("cdf", "logcdf")}},
    "poisson": {f: [Spec(arrays(_counts(), u(0.5, 6, (3,))), (1,), hips=None if f == "logcdf" else (1,)),
                    Spec(arrays(_counts(), u(0.5, 6, (3,)), 1), (1,)),
                    Spec(arrays(numpy.array([0.0, 1.0, 2.5, -1.0]), u(0.5, 6, (4,))), (1,), grad=False)]
                for f in ("pmf", "logpmf", "cdf", "logcdf")},
}


def _mvn_specs(f):
    full = arrays(u(-2, 2, (5, 3)), u(-1, 1, (3,)), _spd(3))
    specs = [Spec(full, (0, 1, 2), hips=(0, 1, 2)),
             Spec(arrays(u(-2, 2, (3,)), u(-1, 1, (3,)), _spd(3)), (0, 1, 2), hips=(0, 1, 2)),
             Spec(arrays(u(-2, 2, (4,)), u(-1, 1, (1,)), u(0.5, 2, ())), (0, 1, 2)),  # dim 1: x holds 4 points
             Spec(arrays(u(-2, 2, (2, 3)), u(-1, 1, (3,)), u(0.5, 2, (3,))), (0, 1, 2)),  # cov: the diagonal
             Spec(arrays(u(-2, 2, (2, 3)), _spd(3)), (0, 1), lambda f, x, c: f(x, cov=c)),  # mean None
             Spec(arrays(u(-2, 2, (2, 2, 3)), u(-1, 1, (3,)), _spd(3)), (0, 1, 2))]
    return specs


DISTRIBUTIONS: dict = {
    **UNIVARIATE,
    "multivariate_normal": {
        "logpdf": _mvn_specs("logpdf"), "pdf": _mvn_specs("pdf"),
        "entropy": [Spec(arrays(u(-1, 1, (3,)), _spd(3)), (1,), hips=(1,)),
                    Spec(arrays(_spd(4)), (0,), lambda f, c: f(cov=c))]},
    "dirichlet": {f: [Spec(arrays(_simplex(4), u(0.5, 3, (4,))), (1,), hips=(0, 1)),
                      Spec(arrays(_simplex(3, 5), u(0.5, 3, (3,))), (1,)),  # HIPS's rule takes one point
                      Spec(arrays(lambda rng: _simplex(4)(rng)[:3], u(0.5, 3, (4,))), (0, 1)),
                      Spec(arrays(lambda rng: _simplex(3, 2)(rng)[:2], u(0.5, 3, (3,))), (0, 1))]
                  for f in ("pdf", "logpdf")},
}

CASES = [pytest.param(d, f, i, id=f"{d}.{f}-{i}") for d, fs in DISTRIBUTIONS.items() for f, specs in fs.items()
         for i in range(len(specs))]


def _drawn(d, f, i):
    spec = DISTRIBUTIONS[d][f][i]
    return spec, spec.make(numpy.random.default_rng([len(d), len(f), i]))


def _box(x):
    return ArrayBox._make(numpy.asarray(x, dtype=numpy.float64)) if isinstance(x, numpy.ndarray) else x


def _host(y):
    return numpy.asarray(y._data if hasattr(y, "_data") else y)


def test_the_table_covers_every_function_of_every_distribution():
    assert set(DISTRIBUTIONS) == set(ops_stats.COMPOSITES) == set(tst.DISTRIBUTIONS)
    for d, fns in ops_stats.COMPOSITES.items():
        assert set(DISTRIBUTIONS[d]) == set(fns), d
        module = getattr(tst, d)
        for f in fns:
            door = getattr(module, f)
            assert door.op is fns[f] and door.__module__ == f"tapegrad.scipy.stats.{d}"


@pytest.mark.parametrize("d,f,i", CASES)
def test_traced_values_are_scipys(d, f, i):
    spec, xs = _drawn(d, f, i)
    want = spec.call(getattr(getattr(scipy_stats, d), f), *xs)
    door = getattr(getattr(tst, d), f)
    got = spec.call(door, *[_box(x) if k in spec.wrt else x for k, x in enumerate(xs)])
    assert isinstance(got, ArrayBox) and got.dtype == numpy.float64
    assert got.shape == numpy.shape(want)
    numpy.testing.assert_allclose(_host(got), want, rtol=1e-9, atol=1e-12)
    numpy.testing.assert_array_equal(spec.call(door, *xs), want)  # plain values: SciPy's own


GRAD_CASES = [c for c in CASES if DISTRIBUTIONS[c.values[0]][c.values[1]][c.values[2]].grad]


@pytest.mark.parametrize("d,f,i", GRAD_CASES)
def test_gradients_match_finite_differences(d, f, i):
    spec, xs = _drawn(d, f, i)
    door = getattr(getattr(tst, d), f)
    check_grads(lambda *a: spec.call(door, *a), [_box(x) if k in spec.wrt else x for k, x in enumerate(xs)],
                order=spec.order, wrt=spec.wrt, modes=("rev", "fwd"))


HIPS_CASES = [c for c in CASES if DISTRIBUTIONS[c.values[0]][c.values[1]][c.values[2]].hips is not None]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("d,f,i", HIPS_CASES)
def test_gradients_equal_hips(d, f, i):
    autograd = pytest.importorskip("autograd")
    import importlib
    hips = getattr(importlib.import_module(f"autograd.scipy.stats.{d}"), f)
    spec, xs = _drawn(d, f, i)
    door = getattr(getattr(tst, d), f)
    v = numpy.random.default_rng(5).standard_normal(numpy.shape(spec.call(hips, *xs)))
    for k in spec.hips:
        def through(fn, **kw):
            def h(a):
                args = list(xs)
                args[k] = a
                return (spec.call(fn, *args) * v).sum()
            return h
        want = autograd.grad(through(hips))(xs[k])
        got = tapegrad.grad(through(door))(xs[k])
        numpy.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=f"{d}.{f} argument {k}")


# --- SciPy's conventions at the edges --------------------------------------------------------------

EDGES = {  # (x, shape parameters..., loc, scale) with points outside the support and invalid parameters
    "norm": (numpy.array([-1.0, 0.0, 2.0, 1.0]), numpy.array([0.0, 0.0, 1.0, 0.0]), numpy.array([1.0, -1.0, 2.0, 0.0])),
    "t": (numpy.array([-1.0, 0.0, 2.0, 1.0]), numpy.array([2.0, -1.0, 3.0, 0.0]), 0.5, numpy.array([1.0, 1.0, 2.0, 1.0])),
    "gamma": (numpy.array([-1.0, 0.0, 0.0, 0.0, 2.0, 1.0]), numpy.array([2.0, 0.5, 1.0, 2.0, -1.0, 0.0]), 0.0, 1.0),
    "beta": (numpy.array([-0.5, 0.0, 1.0, 1.5, 0.5, 0.3]), numpy.array([2.0, 2.0, 0.5, 2.0, -1.0, 2.0]),
             numpy.array([3.0, 0.5, 2.0, 2.0, 1.0, 0.0]), 0.0, 1.0),
    "chi2": (numpy.array([-1.0, 0.0, 0.0, 3.0, 1.0]), numpy.array([3.0, 2.0, 4.0, -1.0, 0.0]), 0.0, 1.0),
}


@pytest.mark.parametrize("d", sorted(EDGES))
@pytest.mark.parametrize("f", ["pdf", "logpdf", "cdf", "logcdf"])
def test_outside_the_support_and_for_invalid_parameters_the_values_are_scipys(d, f):
    args = EDGES[d]
    want = getattr(getattr(scipy_stats, d), f)(*args)
    door = getattr(getattr(tst, d), f)
    with numpy.errstate(all="ignore"):
        got = door(_box(args[0]), *args[1:])
        numpy.testing.assert_array_equal(_host(got), want)
        # the gradient in x is finite wherever the value is (0 outside the support, not NaN)
        g = tapegrad.grad(lambda x: door(x, *args[1:]))(args[0]) if numpy.ndim(want) == 0 else \
            tapegrad.grad(lambda x: (door(x, *args[1:]) * numpy.isfinite(want)).sum())(args[0])
    assert numpy.all(numpy.isfinite(g[numpy.isfinite(want)])), g


def test_an_invalid_number_parameter_gives_nans_of_the_results_shape():
    x = numpy.array([0.5, 1.5, 2.0])
    for d, args in (("norm", (0.0, -1.0)), ("gamma", (-2.0,)), ("beta", (2.0, 0.0)), ("t", (-1.0,))):
        for f in ("pdf", "logpdf", "cdf", "logcdf"):
            got = getattr(getattr(tst, d), f)(_box(x), *args)
            assert got.shape == (3,) and numpy.all(numpy.isnan(_host(got))), (d, f)
            assert numpy.all(numpy.isnan(getattr(getattr(scipy_stats, d), f)(x, *args)))


def test_poisson_takes_integers_only():
    k, mu = numpy.array([0.0, 1.5, 3.0, -2.0]), numpy.array([0.0, 2.0, 2.0, 2.0])
    for f in ("pmf", "logpmf", "cdf", "logcdf"):
        numpy.testing.assert_array_equal(_host(getattr(tst.poisson, f)(k, _box(mu))), getattr(scipy_stats.poisson, f)(k, mu))
    # k is an integer: never differentiated
    with pytest.raises(TypeError, match="poisson: k is an integer and has no gradient"):
        tapegrad.grad(lambda k: tst.poisson.logpmf(k, 2.0))(3.0)


def test_results_are_float64_as_scipys():
    x = ArrayBox._make(numpy.array([0.5, 1.0], dtype=numpy.float32))
    assert tst.norm.logpdf(x).dtype == numpy.float64 == scipy_stats.norm.logpdf(numpy.float32(0.5)).dtype
    assert tst.gamma.cdf(x, 2.0).dtype == numpy.float64


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("d,f,args,k,what", [
    ("t", "cdf", (0.5, 3.0), 1, "stdtr.*in df"), ("gamma", "cdf", (0.5, 2.0), 1, "gammainc.*in a"),
    ("beta", "cdf", (0.5, 2.0, 3.0), 2, "betainc.*in b"), ("chi2", "logcdf", (0.5, 3.0), 1, "gammainc.*in a")])
def test_a_cdf_refuses_the_gradient_in_its_shape_parameter(d, f, args, k, what):
    fn = getattr(getattr(tst, d), f)
    with pytest.raises(NotImplementedError, match=what):
        tapegrad.grad(lambda *a: fn(*a), k)(*args)


def test_multivariate_normal_refusals_are_scipys():
    x, mean = numpy.zeros(2), numpy.zeros(2)
    with pytest.raises(NotImplementedError, match="allow_singular=True is not differentiable"):
        tapegrad.grad(lambda m: tst.multivariate_normal.logpdf(x, m, numpy.eye(2), allow_singular=True))(mean)
    with pytest.raises(ValueError, match="symmetric positive semidefinite"):
        tapegrad.grad(lambda m: tst.multivariate_normal.logpdf(x, m, numpy.diag([1.0, -1.0])))(mean)
    with pytest.raises(numpy.linalg.LinAlgError, match="positive definite"):
        tapegrad.grad(lambda m: tst.multivariate_normal.logpdf(x, m, numpy.ones((2, 2))))(mean)
    with pytest.raises(ValueError, match="'mean' must be a vector of length 3"):
        tapegrad.grad(lambda m: tst.multivariate_normal.logpdf(x, m, numpy.eye(3)))(numpy.zeros((3, 1)))


@pytest.mark.parametrize("x,alpha", [
    (numpy.array([0.2, 0.3, 0.4]), numpy.array([1.0, 2.0, 3.0])),  # not on the simplex
    (numpy.array([0.5, 0.5]), numpy.array([1.0, -2.0])),
    (numpy.array([0.5, 0.5]), numpy.array([1.0, 2.0, 3.0, 4.0])),
    (numpy.array([1.2, -0.2]), numpy.array([1.0, 2.0])),
    (numpy.array([0.0, 1.0]), numpy.array([0.5, 2.0]))])
def test_dirichlet_checks_its_input_as_scipy(x, alpha):
    with pytest.raises(ValueError) as want:
        scipy_stats.dirichlet.logpdf(x, alpha)
    with pytest.raises(ValueError) as got:
        tst.dirichlet.logpdf(_box(x), _box(alpha))
    assert str(got.value).split(",")[0] == str(want.value).split(",")[0]


def test_calls_take_scipys_arguments_and_name_a_missing_one():
    x = _box(numpy.array([0.5, 1.5]))
    numpy.testing.assert_allclose(_host(tst.gamma.logpdf(x, a=2.0, scale=2.0)), scipy_stats.gamma.logpdf([0.5, 1.5], a=2.0, scale=2.0))
    numpy.testing.assert_allclose(_host(tst.t.logpdf(x, 3.0, 0.5, 2.0)), scipy_stats.t.logpdf([0.5, 1.5], 3.0, 0.5, 2.0))
    with pytest.raises(TypeError, match="missing required argument.*'a'"):
        tst.gamma.logpdf(x)
    with pytest.raises(TypeError, match="multiple values for argument 'loc'"):
        tst.norm.logpdf(x, 0.0, loc=1.0)
    with pytest.raises(AttributeError, match="no differentiable 'expon'"):
        tst.expon  # noqa: B018
    # SciPy's other functions of a distribution run on plain values
    assert tst.norm.ppf(0.5) == 0.0 and tst.norm.mean() == 0.0


# --- the HIPS examples' usage ----------------------------------------------------------------------


def test_the_hips_examples_usage_patterns_run_and_agree_with_hips():
    """``from ...special import logsumexp; import ...stats.norm as norm; norm.logpdf(x, mu, sigma)``
    under ``grad``, with only the imports changed (a mixture of Gaussians' log-likelihood, as in
    HIPS's gmm example)."""
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    import autograd.scipy.stats.norm as anorm
    from autograd.scipy.special import logsumexp as alogsumexp

    import tapegrad.numpy as np
    import tapegrad.scipy.stats.norm as norm
    from tapegrad.scipy.special import logsumexp

    def make(np_, norm_, lse):
        def loglik(params, x):
            log_w, mu, log_sigma = params
            log_w = log_w - lse(log_w)
            return np_.sum(lse(log_w + norm_.logpdf(x[:, None], mu, np_.exp(log_sigma)), axis=1))
        return loglik

    rng = numpy.random.default_rng(0)
    x = numpy.concatenate([rng.normal(-2, 0.5, 20), rng.normal(1.5, 1.0, 30)])
    params = (numpy.zeros(2), numpy.array([-1.0, 1.0]), numpy.zeros(2))
    want = autograd.grad(make(anp, anorm, alogsumexp))(params, x)
    value, got = tapegrad.value_and_grad(make(np, norm, logsumexp))(params, x)
    assert numpy.isclose(value, make(anp, anorm, alogsumexp)(params, x))
    for a, b in zip(got, want):
        numpy.testing.assert_allclose(a, b, rtol=1e-10)
    # norm.logpdf(x, mu, sigma) itself, in mu and sigma
    g = tapegrad.grad(lambda m, s: norm.logpdf(x, m, s).sum(), (0, 1))(0.3, 1.2)
    h = autograd.grad(lambda m, s: anorm.logpdf(x, m, s).sum(), (0, 1))(0.3, 1.2)
    numpy.testing.assert_allclose(g, h, rtol=1e-12)


# --- drawn by hypothesis: any point, any parameters (inside or outside the support, valid or not) ----

from hypothesis import given, settings, strategies as st  # noqa: E402

_REAL = st.floats(-50, 50).filter(lambda v: v == 0 or abs(v) > 1e-6)  # no slope beyond float64's range
# (loc likewise: x - loc = 2e-308 puts beta(0.5, 1)'s slope, -x**-1.5 / 4, beyond float64's range, so
# its gradient is rightly -inf where the pdf is finite)
_LOC = st.floats(-5, 5).filter(lambda v: v == 0 or abs(v) > 1e-6)
_PARAM = st.one_of(st.floats(0.01, 50), st.floats(-2, 0), st.sampled_from([1.0, 2.0, 0.5]))
_SHAPES = {"norm": 0, "t": 1, "gamma": 1, "beta": 2, "chi2": 1}


@settings(max_examples=200, deadline=None)
@given(d=st.sampled_from(sorted(_SHAPES)), f=st.sampled_from(["pdf", "logpdf", "cdf", "logcdf"]), x=_REAL,
       shapes=st.lists(_PARAM, min_size=2, max_size=2), loc=_LOC, scale=_PARAM)
def test_any_point_and_parameters_give_scipys_value_and_a_finite_gradient_where_it_is_finite(d, f, x, shapes, loc,
                                                                                           scale):
    args = (x, *shapes[:_SHAPES[d]], loc, scale)
    with numpy.errstate(all="ignore"):
        want = getattr(getattr(scipy_stats, d), f)(*args)
        door = getattr(getattr(tst, d), f)
        got = _host(door(_box(numpy.array(x)), *args[1:]))
        numpy.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-300, equal_nan=True)
        if numpy.isfinite(want):
            g = tapegrad.grad(lambda x: door(x, *args[1:]))(x)
            assert numpy.isfinite(g) or abs(want) < 1e-300, (g, want)

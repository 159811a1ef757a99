"""SciPy's distributions (``tapegrad.scipy.stats``) as compositions of ops: densities, log densities
and CDFs with ``loc``, ``scale`` and the shape parameters differentiable, SciPy's conventions kept
(results in float64, ``-inf`` log density and 0 density outside the support, NaN for an invalid
parameter, ``multivariate_normal``'s and ``dirichlet``'s argument shapes).

The CDFs are differentiable in x, ``loc`` and ``scale`` (and poisson's in mu); their shape
parameters (t's df, gamma's a, beta's a and b, chi2's df) enter through the incomplete gamma and
beta functions, whose gradients in those arguments are not implemented (as in HIPS autograd):
asking for one raises NotImplementedError. poisson's k (and loc) are integers, never differentiated.

``multivariate_normal`` reads ``cov`` as a whole symmetric matrix (its gradient is symmetric, as
HIPS autograd's), where SciPy reads its lower triangle; ``allow_singular=True`` is refused for traced
values (a singular covariance has no derivative).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy

from .._core.array import OPS as T, Array
from ..backend import to_host
from .registry import buffer
from .special import call, t_logpdf

_LOG_2PI = math.log(2 * math.pi)
_INF, _NAN = float("inf"), float("nan")
_F64 = numpy.dtype(numpy.float64)


# --- helpers: values that may be traced Arrays or plain constants ---------------------------------


def _f64(v: Any) -> Any:
    """``v`` in float64, as SciPy computes (a Python number stays one: it is weakly typed)."""
    if isinstance(v, Array):
        return v if v._data.dtype == _F64 else T.astype(v, _F64)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return numpy.asarray(v, dtype=numpy.float64)


def _traced(*vs: Any) -> bool:
    return any(isinstance(v, Array) for v in vs)


def _where(cond: Any, a: Any, b: Any) -> Any:
    """``a`` where ``cond`` holds, else ``b`` (``cond`` True: ``a`` itself, which has the result's shape)."""
    if cond is True:
        return a
    if _traced(cond, a, b):
        return T.where(cond, a, b)
    return numpy.where(cond, a, b)


def _all(*conds: Any) -> Any:
    """The conjunction of conditions (Python bools or boolean arrays)."""
    out = True
    for c in conds:
        if isinstance(c, (bool, numpy.bool_)):
            if not c:
                return False
            continue
        out = c if out is True else out & c
    return out


def _positive(*vs: Any) -> Any:
    return _all(*[v > 0 for v in vs])


def _valid(cond: Any, value: Any) -> Any:
    """``value`` where the parameters are valid, NaN elsewhere (SciPy's answer to a bad parameter)."""
    return _where(cond, value, _NAN)


def _log(v: Any) -> Any:
    if isinstance(v, (int, float)):
        return math.log(v) if v > 0 else (-_INF if v == 0 else _NAN)
    return call(T.log, v)


def _exp(v: Any) -> Any:
    return call(T.exp, v)


def _inside(z: Any, lo: float | None, hi: float | None) -> Any:
    """Whether z lies in the closed interval [lo, hi] (None: unbounded)."""
    return _all(*([z >= lo] if lo is not None else []), *([z <= hi] if hi is not None else []))


def _safe(z: Any, inside: Any, at: float) -> Any:
    """z inside the support, ``at`` (a point inside) elsewhere: the formulas are then finite everywhere,
    so the gradient of the branch not taken is 0, not NaN."""
    return _where(inside, z, at)


def _std(x: Any, loc: Any, scale: Any) -> tuple:
    x, loc, scale = _f64(x), _f64(loc), _f64(scale)
    return (x - loc) / scale, scale


def _log_density(logpdf_std: Callable, x, loc, scale, shapes: tuple, support: tuple) -> Any:
    """SciPy's ``logpdf`` of a location-scale family: ``logpdf_std((x - loc) / scale, *shapes) -
    log(scale)`` inside the support, -inf outside, NaN for a parameter that is not positive."""
    z, scale = _std(x, loc, scale)
    shapes = tuple(_f64(s) for s in shapes)
    lo, hi = support
    inside = _inside(z, lo, hi)
    zs = _safe(z, inside, 0.5 if hi == 1 else 1.0)
    value = logpdf_std(zs, *shapes) - _log(scale)
    return _valid(_positive(scale, *shapes), _where(inside, value, -_INF))


def _cdf(cdf_std: Callable, sf_std: Callable | None, x, loc, scale, shapes: tuple, support: tuple) -> Any:
    """SciPy's ``cdf`` (``sf_std`` None) or ``logcdf``: ``cdf_std`` of the standardized x strictly
    inside the support (computed at a point inside elsewhere, so that no infinite slope at the
    boundary reaches the gradient), 0 below and 1 above it, NaN for a bad parameter. The log takes
    ``log1p(-sf)`` where the CDF passes 1/2, as SciPy does (accurate in the upper tail)."""
    z, scale = _std(x, loc, scale)
    shapes = tuple(_f64(s) for s in shapes)
    lo, hi = support
    inside = _all(*([z > lo] if lo is not None else []), *([z < hi] if hi is not None else []))
    zs = _safe(z, inside, 0.5 if hi == 1 else 1.0)
    value = cdf_std(zs, *shapes)
    low, high = 0.0, 1.0
    if sf_std is not None:
        value = _where(value < 0.5, _log(value), call(T.log1p, -sf_std(zs, *shapes)))
        low, high = -_INF, 0.0
    if inside is not True:
        value = _where(inside, value, low if hi is None else _where(z >= hi, high, low))
    return _valid(_positive(scale, *shapes), value)


def _arguments(name: str, shape_names: tuple, args: tuple, kw: dict) -> tuple:
    """(shapes, loc, scale) of SciPy's call ``f(x, *shapes, loc=0, scale=1)``, every one of them also
    by position (``norm.logpdf(x, mu, sigma)``) or by name."""
    names = shape_names + ("loc", "scale")
    if len(args) > len(names):
        raise TypeError(f"{name}() takes at most {len(names) + 1} positional arguments ({len(args) + 1} given)")
    vals = dict(zip(names, args))
    for k, v in kw.items():
        if k not in names:
            raise TypeError(f"{name}() got an unexpected keyword argument {k!r}")
        if k in vals:
            raise TypeError(f"{name}() got multiple values for argument {k!r}")
        vals[k] = v
    missing = [n for n in shape_names if n not in vals]
    if missing:
        raise TypeError(f"{name}() missing required argument(s): {', '.join(repr(n) for n in missing)}")
    return tuple(vals[n] for n in shape_names), vals.get("loc", 0.0), vals.get("scale", 1.0)


def _distribution(dist: str, shape_names: tuple, logpdf_std: Callable, cdf_std: Callable, sf_std: Callable,
                  support: tuple = (None, None)) -> dict:
    """pdf, logpdf, cdf and logcdf of a location-scale family with these shape parameters (``sf_std``:
    the standardized survival function, for the upper tail of logcdf)."""
    def logpdf(x, *args, **kw):
        shapes, loc, scale = _arguments(f"{dist}.logpdf", shape_names, args, kw)
        return _log_density(logpdf_std, x, loc, scale, shapes, support)

    def pdf(x, *args, **kw):
        shapes, loc, scale = _arguments(f"{dist}.pdf", shape_names, args, kw)
        return _exp(_log_density(logpdf_std, x, loc, scale, shapes, support))

    def cdf(x, *args, **kw):
        shapes, loc, scale = _arguments(f"{dist}.cdf", shape_names, args, kw)
        return _cdf(cdf_std, None, x, loc, scale, shapes, support)

    def logcdf(x, *args, **kw):
        shapes, loc, scale = _arguments(f"{dist}.logcdf", shape_names, args, kw)
        return _cdf(cdf_std, sf_std, x, loc, scale, shapes, support)
    return {"pdf": pdf, "logpdf": logpdf, "cdf": cdf, "logcdf": logcdf}


# --- the univariate families -----------------------------------------------------------------------


def _norm_logpdf(z):
    return z * z * -0.5 - 0.5 * _LOG_2PI


def _norm_pdf(x, loc=0.0, scale=1.0):
    z, scale = _std(x, loc, scale)
    return _valid(_positive(scale), _exp(z * z * -0.5) / (scale * math.sqrt(2 * math.pi)))


def _norm_tail(sign: float, log: bool) -> Callable:
    """The normal CDF (sign 1) or survival function (sign -1), or their logs, through ``ndtr`` and
    ``log_ndtr`` (accurate far into either tail)."""
    def f(x, loc=0.0, scale=1.0):
        z, scale = _std(x, loc, scale)
        return _valid(_positive(scale), call(T.log_ndtr if log else T.ndtr, z * sign))
    return f


norm = {**_distribution("norm", (), _norm_logpdf, lambda z: call(T.ndtr, z), lambda z: call(T.ndtr, -z)),
        "pdf": _norm_pdf, "cdf": _norm_tail(1.0, False), "logcdf": _norm_tail(1.0, True),
        "sf": _norm_tail(-1.0, False), "logsf": _norm_tail(-1.0, True)}


t = _distribution("t", ("df",), t_logpdf, lambda z, df: call(T.stdtr, df, z), lambda z, df: call(T.stdtr, df, -z))


def _gamma_logpdf(z, a):
    return call(T.xlogy, a - 1, z) - z - call(T.gammaln, a)


gamma = _distribution("gamma", ("a",), _gamma_logpdf, lambda z, a: call(T.gammainc, a, z),
                      lambda z, a: call(T.gammaincc, a, z), (0.0, None))


def _beta_logpdf(z, a, b):
    return call(T.xlog1py, b - 1, -z) + call(T.xlogy, a - 1, z) - call(T.betaln, a, b)


beta = _distribution("beta", ("a", "b"), _beta_logpdf, lambda z, a, b: call(T.betainc, a, b, z),
                     lambda z, a, b: call(T.betainc, b, a, 1 - z), (0.0, 1.0))


def _chi2_logpdf(z, df):
    return call(T.xlogy, df * 0.5 - 1, z) - z * 0.5 - call(T.gammaln, df * 0.5) - df * (0.5 * math.log(2))


chi2 = _distribution("chi2", ("df",), _chi2_logpdf, lambda z, df: call(T.gammainc, df * 0.5, z * 0.5),
                     lambda z, df: call(T.gammaincc, df * 0.5, z * 0.5), (0.0, None))


# --- poisson (k is an integer: never differentiated) ----------------------------------------------


def _integer_value(v: Any, name: str) -> Any:
    """``v``'s values as a float64 constant; a traced ``v`` is refused (an integer has no gradient)."""
    if isinstance(v, Array):
        if v._node is not None:
            raise TypeError(f"poisson: {name} is an integer and has no gradient; differentiate in mu only, "
                            f"and pass {name} as a constant")
        return buffer(v).astype(numpy.float64)
    return float(v) if isinstance(v, (int, float)) else numpy.asarray(v, dtype=numpy.float64)


def _poisson_logpmf(k, mu, loc=0):
    k = _integer_value(k, "k") - _integer_value(loc, "loc")
    mu = _f64(mu)
    inside = _all(k >= 0, numpy.floor(k) == k)
    ks = numpy.where(inside, k, 0.0)
    value = call(T.xlogy, ks, mu) - call(T.gammaln, ks + 1.0) - mu
    return _valid(_all(mu >= 0), _where(inside, value, -_INF))


def _poisson_cdf(k, mu, loc=0):
    k = numpy.floor(_integer_value(k, "k") - _integer_value(loc, "loc"))
    mu = _f64(mu)
    inside = k >= 0
    value = call(T.gammaincc, numpy.where(inside, k, 0.0) + 1.0, mu)
    return _valid(_all(mu >= 0), _where(inside, value, 0.0))


poisson = {
    "logpmf": _poisson_logpmf,
    "pmf": lambda k, mu, loc=0: _exp(_poisson_logpmf(k, mu, loc)),
    "cdf": _poisson_cdf,
    "logcdf": lambda k, mu, loc=0: _log(_poisson_cdf(k, mu, loc)),
}


# --- multivariate normal ----------------------------------------------------------------------------


def _shape(v: Any) -> tuple:
    return tuple(v.shape) if hasattr(v, "shape") else numpy.shape(v)


def _reshape(v: Any, shape: tuple) -> Any:
    return T.reshape(v, shape) if isinstance(v, Array) else numpy.reshape(v, shape)


def _mvn_parameters(mean: Any, cov: Any) -> tuple:
    """(dim, mean, cov) as SciPy's ``multivariate_normal`` reads them: ``cov`` a number (times the
    identity), a vector (the diagonal) or a matrix; ``mean`` None (zeros) or a vector."""
    mean = None if mean is None else _f64(mean)
    cov = _f64(1.0 if cov is None else cov)
    if mean is None:
        dim = 1 if len(_shape(cov)) < 2 else _shape(cov)[0]
        mean = numpy.zeros(dim)
    else:
        dim = int(numpy.prod(_shape(mean)))
    if dim == 1:
        mean, cov = _reshape(mean, (1,)), _reshape(cov, (1, 1))
    if len(_shape(mean)) != 1 or _shape(mean)[0] != dim:
        raise ValueError(f"Array 'mean' must be a vector of length {dim}.")
    nd = len(_shape(cov))
    if nd == 0:
        cov = cov * numpy.eye(dim)
    elif nd == 1:
        cov = T.diag(cov) if isinstance(cov, Array) else numpy.diag(cov)
    elif nd == 2 and _shape(cov) != (dim, dim):
        rows, cols = _shape(cov)
        raise ValueError(f"Array 'cov' must be square if it is two dimensional, but cov.shape = {_shape(cov)}."
                         if rows != cols else f"Dimension mismatch: array 'cov' is of shape {_shape(cov)}, but "
                         f"'mean' is a vector of length {dim}.")
    elif nd > 2:
        raise ValueError(f"Array 'cov' must be at most two-dimensional, but cov.ndim = {nd}")
    _check_positive_definite(cov)
    return dim, mean, cov


def _check_positive_definite(cov: Any) -> None:
    """SciPy's test (its ``_PSD``, on the values): symmetric positive definite, up to rounding."""
    s = numpy.linalg.eigvalsh(to_host(buffer(cov)))
    eps = 1e6 * numpy.finfo(numpy.float64).eps * numpy.max(numpy.abs(s))
    if numpy.min(s) < -eps:
        raise ValueError("The input matrix must be symmetric positive semidefinite.")
    if numpy.min(s) <= eps:
        raise numpy.linalg.LinAlgError("When `allow_singular is False`, the input matrix must be symmetric "
                                       "positive definite (and a singular covariance has no derivative: "
                                       "tapegrad.scipy.stats.multivariate_normal takes no allow_singular=True "
                                       "for traced values).")


def _squeeze(out: Any) -> Any:
    return T.squeeze(out) if isinstance(out, Array) else numpy.squeeze(out)[()]


def _refuse_singular(allow_singular: bool) -> None:
    if allow_singular:
        raise NotImplementedError("multivariate_normal with allow_singular=True is not differentiable (a "
                                  "singular covariance has no derivative); pass allow_singular=False, or plain "
                                  "NumPy values for SciPy's own function")


def _mvn_logpdf(x, mean=None, cov=1, allow_singular=False):
    _refuse_singular(allow_singular)
    dim, mean, cov = _mvn_parameters(mean, cov)
    x = _f64(x)
    nd = len(_shape(x))
    if nd == 0:
        x = _reshape(x, (1,))
    if nd <= 1:
        x = _reshape(x, (-1, 1) if dim == 1 else (1, -1))
    dev = x - mean
    logdet = call(T.slogdet, cov)[1]
    sol = call(T.solve, cov, _reshape(dev, _shape(dev) + (1,)))
    maha = call(T.sum, dev * _reshape(sol, _shape(dev)), axis=-1)
    return _squeeze((maha + logdet + dim * _LOG_2PI) * -0.5)


def _mvn_entropy(mean=None, cov=1):
    dim, _, cov = _mvn_parameters(mean, cov)
    return (call(T.slogdet, cov)[1] + dim * (_LOG_2PI + 1)) * 0.5


multivariate_normal = {
    "logpdf": _mvn_logpdf,
    "pdf": lambda x, mean=None, cov=1, allow_singular=False: _exp(_mvn_logpdf(x, mean, cov, allow_singular)),
    "entropy": _mvn_entropy,
}


# --- Dirichlet ---------------------------------------------------------------------------------------


def _dirichlet_input(x: Any, alpha: Any) -> Any:
    """SciPy's checks and reading of x (the components along the first axis; one fewer than alpha's:
    the last is ``1 - sum``)."""
    a = to_host(buffer(alpha))
    if numpy.min(a) <= 0:
        raise ValueError("All parameters must be greater than 0")
    if a.ndim != 1:
        raise ValueError(f"Parameter vector 'a' must be one dimensional, but a.shape = {a.shape}.")
    xs = _shape(x)
    if xs[0] + 1 != a.shape[0] and xs[0] != a.shape[0]:
        raise ValueError("Vector 'x' must have either the same number of entries as, or one entry fewer than, "
                         f"parameter vector 'a', but alpha.shape = {a.shape} and x.shape = {xs}.")
    if xs[0] != a.shape[0]:
        if len(xs) > 2:
            raise ValueError("The input must be one dimensional or a two dimensional matrix containing the "
                             "entries.")
        last = 1 - call(T.sum, x, axis=0, keepdims=True)
        x = T.concatenate([x, last], axis=0) if _traced(x, last) else numpy.concatenate([x, last], axis=0)
    v = to_host(buffer(x))
    if numpy.min(v) < 0:
        raise ValueError("Each entry in 'x' must be greater than or equal to zero.")
    if numpy.max(v) > 1:
        raise ValueError("Each entry in 'x' must be smaller or equal one.")
    below_one = a.reshape(a.shape + (1,) * (v.ndim - 1)) < 1
    if numpy.any((v == 0) & below_one):
        raise ValueError("Each entry in 'x' must be greater than zero if its alpha is less than one.")
    if (numpy.abs(numpy.sum(v, 0) - 1.0) > 10e-10).any():
        raise ValueError(f"The input vector 'x' must lie within the normal simplex. but np.sum(x, 0) = "
                         f"{numpy.sum(v, 0)}.")
    return x


def _dirichlet_logpdf(x, alpha):
    x, alpha = _f64(x), _f64(alpha)
    x = _dirichlet_input(x, alpha)
    k = _shape(alpha)[0]
    lnb = call(T.sum, call(T.gammaln, alpha)) - call(T.gammaln, call(T.sum, alpha))
    a1 = _reshape(alpha - 1, (k,) + (1,) * (len(_shape(x)) - 1))
    return _squeeze(call(T.sum, call(T.xlogy, a1, x), axis=0) - lnb)


dirichlet = {
    "logpdf": _dirichlet_logpdf,
    "pdf": lambda x, alpha: _exp(_dirichlet_logpdf(x, alpha)),
}

#: distribution -> function -> composite: the differentiable functions of ``tapegrad.scipy.stats``.
COMPOSITES = {"norm": norm, "t": t, "gamma": gamma, "beta": beta, "chi2": chi2, "poisson": poisson,
              "multivariate_normal": multivariate_normal, "dirichlet": dirichlet}
for _dist, _fns in COMPOSITES.items():
    for _k, _f in _fns.items():
        _f.__name__ = _k
        _f.__qualname__ = f"{_dist}.{_k}"

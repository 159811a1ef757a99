"""``tapegrad.scipy.stats``: SciPy's distributions with gradients (as ``autograd.scipy.stats``).

One module per distribution, each with SciPy's functions of that distribution: ``norm`` (pdf, logpdf,
cdf, logcdf, sf, logsf), ``t``, ``gamma``, ``beta``, ``chi2`` (pdf, logpdf, cdf, logcdf), ``poisson``
(pmf, logpmf, cdf, logcdf), ``multivariate_normal`` (pdf, logpdf, entropy) and ``dirichlet`` (pdf,
logpdf). On plain values they are SciPy's own; on tapegrad arrays they are compositions of
differentiable ops (``tapegrad/ops/stats.py``). Use them as HIPS autograd's::

    import tapegrad.scipy.stats.norm as norm
    tapegrad.grad(lambda mu: norm.logpdf(x, mu, 1.0).sum())(0.5)
"""
from __future__ import annotations

from typing import Any

from .._door import scipy_module

_scipy_stats = scipy_module("stats")

from . import beta, chi2, dirichlet, gamma, multivariate_normal, norm, poisson, t  # noqa: E402

#: The distributions with differentiable functions here.
DISTRIBUTIONS = ("norm", "t", "gamma", "beta", "chi2", "poisson", "multivariate_normal", "dirichlet")
__all__ = list(DISTRIBUTIONS)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_scipy_stats, name, None)
    if value is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} (scipy.stats has none either)")
    if isinstance(value, (_scipy_stats.rv_continuous, _scipy_stats.rv_discrete)) or \
            type(value).__module__.startswith("scipy.stats._multivariate"):
        raise AttributeError(f"tapegrad.scipy.stats has no differentiable {name!r}: it offers "
                             f"{', '.join(DISTRIBUTIONS)}; use scipy.stats.{name} on plain values, or write its "
                             "density with tapegrad.scipy.special and tapegrad.numpy")
    raise AttributeError(f"tapegrad.scipy.stats.{name}: only the distributions {', '.join(DISTRIBUTIONS)} are "
                         f"here; use scipy.stats.{name} on plain values")


def __dir__() -> list:
    return sorted(set(globals()) | set(DISTRIBUTIONS))

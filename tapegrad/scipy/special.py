"""``tapegrad.scipy.special``: ``scipy.special`` with gradients (as ``autograd.scipy.special``).

On plain values every function is SciPy's own; on tapegrad arrays (inside ``tapegrad.grad`` and the
other transforms) these are differentiable: logsumexp, softmax, log_softmax, expit, log_expit, logit,
gammaln, digamma/psi, polygamma, gamma, beta, betaln, multigammaln, gammainc, gammaincc, betainc,
stdtr, erf, erfc, erfinv, erfcinv, ndtr, log_ndtr, i0, i1, iv, ive, j0, j1, y0, y1, jv/jn, yv, yn,
xlogy, xlog1py (see ``tapegrad/ops/special.py`` for which arguments carry a gradient). Any other
function of ``scipy.special`` runs on the values and refuses an argument being differentiated.
"""
from __future__ import annotations

from typing import Any

from ._door import install, scipy_module

_scipy_special = scipy_module("special")

from ..ops import special as _special  # noqa: E402
from ..ops.registry import REGISTRY as _REGISTRY  # noqa: E402

_FUNCTIONS: dict[str, Any] = {n: op for n, op in _REGISTRY.items() if op.public == "scipy.special"}
_FUNCTIONS.update({alias: _REGISTRY[name] for alias, name in _special.ALIASES.items()})
_FUNCTIONS.update(_special.COMPOSITES)

__getattr__, __dir__ = install(_scipy_special, "tapegrad.scipy.special", _FUNCTIONS, globals())

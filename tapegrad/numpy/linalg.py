"""``tapegrad.numpy.linalg``: ``numpy.linalg`` with the registry's linear-algebra ops differentiable."""
from __future__ import annotations

import numpy as _onp

from .. import ops as _ops  # noqa: F401 - declares every op
from ..ops.registry import REGISTRY as _REGISTRY
from ._door import Namespace as _Namespace

_NS = _Namespace(_onp.linalg, "np.linalg", "tapegrad.numpy.linalg",
                 {n: op for n, op in _REGISTRY.items() if op.public == "np.linalg"})
__getattr__, __dir__ = _NS.install(globals())

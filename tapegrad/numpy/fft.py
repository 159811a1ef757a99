"""``tapegrad.numpy.fft``: ``numpy.fft`` with the registry's discrete Fourier transforms differentiable."""
from __future__ import annotations

from typing import Any

import numpy as _onp

from .. import ops as _ops  # noqa: F401 - declares every op
from ..ops.registry import REGISTRY as _REGISTRY
from ._door import Namespace as _Namespace

_NS = _Namespace(_onp.fft, "np.fft", "tapegrad.numpy.fft",
                 {n: op for n, op in _REGISTRY.items() if op.public == "np.fft"})
globals().update(_NS.table)


def __getattr__(name: str) -> Any:
    value = _NS.get(name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return _NS.names()

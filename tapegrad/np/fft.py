"""``tapegrad.np.fft``: the registry's discrete Fourier transforms (see ``tapegrad/ops/fft.py``)."""
from __future__ import annotations

from .. import ops as _ops  # noqa: F401 - declares every op
from ..ops.registry import REGISTRY as _REGISTRY

for _name, _op in _REGISTRY.items():
    if _op.public == "np.fft":
        globals()[_name] = _op


def __getattr__(name: str):
    raise AttributeError(f"tapegrad.np.fft has no {name!r} yet")

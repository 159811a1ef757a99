"""``tapegrad.np.linalg``: the registry's linear-algebra ops."""
from __future__ import annotations

from ..ops.registry import REGISTRY as _REGISTRY

for _name, _op in _REGISTRY.items():
    if _op.public == "np.linalg":
        globals()[_name] = _op


def __getattr__(name: str):
    raise AttributeError(f"tapegrad.np.linalg has no {name!r} yet")

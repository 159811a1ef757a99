"""``tapegrad.np.linalg``: the registry's linear-algebra ops; the decompositions return NumPy's named
tuples (thin wrappers, see ``ops.linalg.NUMPY_CALLS``)."""
from __future__ import annotations

from ..ops.linalg import NUMPY_CALLS as _NUMPY_CALLS
from ..ops.registry import REGISTRY as _REGISTRY
from ._wrap import numpy_call as _numpy_call

for _name, _op in _REGISTRY.items():
    if _op.public == "np.linalg":
        globals()[_name] = _op
for _name, (_result, _route) in _NUMPY_CALLS.items():
    globals()[_name] = _numpy_call(_REGISTRY[_name], _result, _route)


def __getattr__(name: str):
    raise AttributeError(f"tapegrad.np.linalg has no {name!r} yet")

"""The NumPy door: ``import tapegrad.numpy as np``, NumPy with gradients, for HIPS autograd and JAX users.

Outside a differentiated function every function is NumPy's own and returns what NumPy returns
(NumPy's dtypes, NumPy scalars, every keyword argument); inside ``tapegrad.grad`` and the other
transforms the same functions record what they do on traced ``ArrayBox`` arrays. ``np.random`` is
NumPy's own generator. Code written for ``autograd.numpy`` runs with its imports changed.
"""
from __future__ import annotations

import numpy as _onp

from .. import ops as _ops  # noqa: F401 - declares every op
from .._core.functional import set_plain_class as _set_plain_class
from ..ops.registry import REGISTRY as _REGISTRY
from ._door import ArrayBox, Namespace as _Namespace, array, asarray, full, full_like
from . import fft, linalg, random  # noqa: F401

_set_plain_class(ArrayBox)  # the functional API's class for plain values (results come back as NumPy's)

_composites: dict = {}
for _mod in (_ops.elementwise, _ops.shape, _ops.linalg):
    _composites.update(getattr(_mod, "COMPOSITES", {}))
_NS = _Namespace(_onp, "np", "tapegrad.numpy",
                 {**{n: op for n, op in _REGISTRY.items() if op.public == "np"}, **_composites},
                 {"array": array, "asarray": asarray, "full": full, "full_like": full_like,
                  "ndarray": _onp.ndarray, "ArrayBox": ArrayBox,
                  "linalg": linalg, "fft": fft, "random": random})
__getattr__, __dir__ = _NS.install(globals())

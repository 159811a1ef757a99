"""NumPy-compatible namespace of the MXNet dialect: ``from tapegrad import np``.

Every differentiable function here comes from the op registry; the rest (creation, dtypes,
constants) is listed in ``NONDIFF_NAMES``. A name NumPy has and tapegrad lacks raises
AttributeError saying so, rather than falling back to NumPy silently.
"""
from __future__ import annotations

import sys as _sys

import numpy as _onp

from .. import ops as _ops  # noqa: F401 - declares every op
from ..ndarray import ndarray
from .._core.array import NUMPY_NAMESPACES as _NUMPY_NAMESPACES
from .._core.dispatch import set_default_class as _set_default_class
from ..ops.registry import REGISTRY as _REGISTRY
from . import fft, linalg, random  # noqa: F401
from ._creation import *  # noqa: F401,F403
from ._creation import __all__ as _creation_names

_set_default_class(ndarray)  # NumPy-style calls on plain values give the MXNet dialect's arrays
# NumPy's functions called on tapegrad arrays (__array_function__) run these namespaces' functions
_NUMPY_NAMESPACES.update({"": _sys.modules[__name__], "linalg": linalg, "fft": fft})

for _name, _op in _REGISTRY.items():
    if _op.public == "np":
        globals()[_name] = _op

#: Public functions composed of differentiable ops (split, einsum...), so they need no rule of their own.
COMPOSITE_NAMES: set = set()
for _mod in (_ops.elementwise, _ops.shape, _ops.linalg):
    for _name, _fn in getattr(_mod, "COMPOSITES", {}).items():
        globals()[_name] = _fn
        COMPOSITE_NAMES.add(_name)
for _name, _fn in _ops.nondiff.FUNCTIONS.items():  # predicates returning Python bools
    globals()[_name] = _fn

pi = _onp.pi
e = _onp.e
inf = _onp.inf
nan = _onp.nan
newaxis = None
# NumPy's scalar types, concrete (float32, longdouble, intp...) and abstract (generic, floating...):
# every one this NumPy has (float128 only where the platform's long double is that wide)
for _name in dir(_onp):
    _obj = getattr(_onp, _name)
    if not _name.startswith("_") and isinstance(_obj, type) and issubclass(_obj, _onp.generic):
        globals()[_name] = _obj
#: Platform-dependent scalar types a NumPy may lack; asking for one says so.
_PLATFORM_TYPES = {"float96", "float128", "complex192", "complex256"}
dtype = _onp.dtype
finfo, iinfo = _onp.finfo, _onp.iinfo
ndim = _onp.ndim
shape = _onp.shape

#: Public callables that are not differentiable on purpose (creation, dtype helpers...).
NONDIFF_NAMES = frozenset(_creation_names) | frozenset(_ops.nondiff.FUNCTIONS) | {"dtype", "ndim", "shape", "ndarray"} | {
    f"npx.{n}" for n in ("set_np", "reset_np", "is_np_array", "cpu", "gpu", "num_gpus", "current_context",
                       "from_dlpack", "to_dlpack_for_read", "to_dlpack_for_write")}


def __getattr__(name: str):
    if name in _PLATFORM_TYPES:
        raise AttributeError(f"tapegrad.np has no {name!r} because NumPy has none on this platform (its long "
                             f"double is {_onp.dtype(_onp.longdouble).name}); use np.longdouble")
    if hasattr(_onp, name):
        raise AttributeError(f"tapegrad.np has no {name!r} yet; use numpy.{name} on x.asnumpy() "
                             "(not differentiable) or file an issue")
    raise AttributeError(f"module 'tapegrad.np' has no attribute {name!r}")

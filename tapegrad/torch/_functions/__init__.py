"""PyTorch's functions and Tensor methods, as thin maps onto the op registry.

Every public function here is also bound as a Tensor method when ``METHODS`` lists it. No function
computes a gradient of its own: each calls registry ops (``OPS.*``), which carry the rules.

The modules mirror ``tapegrad/ops``: ``elementwise``, ``reduce``, ``shape``, ``indexing`` and ``linalg``
hold the functions of those kinds, ``conversion`` the dtype and device conversions, ``inplace`` the one
in-place path (the ``*_`` methods, augmented assignment, ``__setitem__``), ``operators`` the operators
PyTorch refuses for some dtypes, ``_util`` the argument helpers they share; ``bindings`` builds the
tables bound onto Tensor (``METHODS``, ``PROPERTIES``) and ``__all__``. Imports go one way, down this
list: ``bindings``; ``inplace``, ``operators``; ``conversion``, ``reduce``, ``linalg``; ``shape``,
``elementwise``, ``indexing``; ``_util`` (an import-linter layers contract can pin it).
"""
from __future__ import annotations

from .bindings import METHODS, PROPERTIES, __all__, bind  # noqa: F401
from .conversion import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403

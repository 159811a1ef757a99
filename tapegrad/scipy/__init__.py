"""``tapegrad.scipy``: SciPy's functions with gradients, for the NumPy door (as ``autograd.scipy``).

Each submodule is imported on first use (``tapegrad.scipy.special``, ``tapegrad.scipy.stats``...);
each needs SciPy, an optional extra: ``pip install 'tapegrad[scipy]'``.
"""
from __future__ import annotations

import importlib
from typing import Any

#: The submodules, imported when first named.
SUBMODULES = ("special", "stats", "signal", "linalg", "integrate")
__all__ = list(SUBMODULES)


def __getattr__(name: str) -> Any:
    if name not in SUBMODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} (its submodules: "
                             f"{', '.join(SUBMODULES)})")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise  # SciPy itself (or something it needs) is missing: the error says what to install
        raise AttributeError(f"{__name__}.{name} is not available in this version of tapegrad") from None
    globals()[name] = module
    return module


def __dir__() -> list:
    return sorted(set(globals()) | set(SUBMODULES))

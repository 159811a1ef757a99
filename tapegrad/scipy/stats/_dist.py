"""A distribution's door module: SciPy's ``scipy.stats.<name>`` on plain values, the composites of
``tapegrad.ops.stats`` on tapegrad arrays."""
from __future__ import annotations

from typing import Callable

from .._door import install, scipy_module
from ...ops import stats as _stats


def distribution(name: str, module_globals: dict) -> tuple[Callable, Callable]:
    """Fill the module of distribution ``name``; returns its ``__getattr__`` and ``__dir__``."""
    ref = getattr(scipy_module("stats"), name)
    return install(ref, f"tapegrad.scipy.stats.{name}", _stats.COMPOSITES[name], module_globals)

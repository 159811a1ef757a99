"""What the door modules of ``tapegrad.scipy`` share: SciPy imported with a clear message, and the
door's functions presented as the registry's ops they run on tapegrad arrays."""
from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any, Callable

from ..ops.registry import REGISTRY


def scipy_module(name: str) -> ModuleType:
    """``scipy.<name>``; without SciPy, an ImportError that says how to install it."""
    try:
        return importlib.import_module(f"scipy.{name}")
    except ImportError as e:
        raise ImportError(f"tapegrad.scipy.{name} wraps SciPy's scipy.{name}, and SciPy is not installed: "
                          "pip install scipy") from e


def present(table: dict, module: str, ref: ModuleType) -> None:
    """Each differentiable function of ``table`` as the op of its name: it unwraps to the op
    (``inspect.unwrap``), has SciPy's signature and documentation, and pickles by its name in ``module``."""
    for name, fn in table.items():
        op = REGISTRY.get(name)
        if op is None or not callable(fn) or not hasattr(fn, "op"):
            continue
        scipy_fn: Callable[..., Any] = getattr(ref, name)
        fn.__module__ = module
        fn.__wrapped__ = op
        try:
            fn.__signature__ = inspect.signature(scipy_fn)
        except (TypeError, ValueError):  # pragma: no cover - a SciPy function without one
            pass

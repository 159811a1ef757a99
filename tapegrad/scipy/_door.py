"""What the modules of ``tapegrad.scipy`` share: SciPy imported with a clear error where it is
missing, and a module's table of differentiable functions built with the NumPy door's ``Namespace``."""
from __future__ import annotations

import importlib
from typing import Any, Callable

from ..numpy._door import Namespace  # also sets the functional API's class for plain values (ArrayBox)

MISSING = "tapegrad.scipy needs SciPy, which is not installed: pip install 'tapegrad[scipy]' (or pip install scipy)"


def scipy_module(name: str) -> Any:
    """``scipy.<name>``, or ImportError saying how to install SciPy."""
    try:
        return importlib.import_module(f"scipy.{name}")
    except ImportError as e:
        raise ImportError(MISSING) from e


def install(ref: Any, where: str, functions: dict, module_globals: dict) -> tuple[Callable, Callable]:
    """Fill a door module from ``Namespace(ref, ...)``: ``functions`` (SciPy name -> op or composite)
    run on tapegrad arrays, SciPy's own ``ref.<name>`` on plain values; any other name of ``ref`` is
    SciPy's (a function refuses traced arguments whose gradient it would lose). Returns the module's
    ``__getattr__`` and ``__dir__``."""
    ns = Namespace(ref, where, where, functions)
    for f in ns.table.values():
        f.__module__ = where
    return ns.install(module_globals)

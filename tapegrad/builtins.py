"""``tapegrad.builtins``: HIPS autograd's ``autograd.builtins`` for code that imports it.

HIPS needs its own ``tuple``, ``list`` and ``dict`` to differentiate through containers; tapegrad's
transforms take Python's own containers, so these are Python's. ``isinstance`` and ``type`` see a
traced array (``tapegrad.numpy.ArrayBox``) as the NumPy array it stands for, as HIPS's do.
"""
from __future__ import annotations

import builtins as _builtins
from typing import Any

import numpy as _numpy

from .numpy import ArrayBox as _ArrayBox

__all__ = ["tuple", "list", "dict", "isinstance", "type"]

tuple = _builtins.tuple  # noqa: A001 - HIPS's names
list = _builtins.list  # noqa: A001
dict = _builtins.dict  # noqa: A001


def isinstance(obj: Any, classinfo: Any) -> bool:  # noqa: A001
    """Python's ``isinstance``, with a traced array counting as a ``numpy.ndarray``."""
    if _builtins.isinstance(obj, _ArrayBox):
        return _builtins.isinstance(obj, classinfo) or _builtins.issubclass(_numpy.ndarray, classinfo)
    return _builtins.isinstance(obj, classinfo)


def type(obj: Any) -> Any:  # noqa: A001
    """Python's ``type``, with ``numpy.ndarray`` for a traced array."""
    return _numpy.ndarray if _builtins.isinstance(obj, _ArrayBox) else _builtins.type(obj)

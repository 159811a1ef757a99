"""``tapegrad.misc``: HIPS autograd's helpers: ``flatten`` (containers of arrays to one vector and
back), ``optimizers`` (sgd, rmsprop, adam over containers) and ``fixed_points`` (a fixed point
differentiated through its implicit function)."""
from __future__ import annotations

from . import fixed_points, optimizers  # noqa: F401
from .flatten import flatten, flatten_func

__all__ = ["flatten", "flatten_func", "optimizers", "fixed_points"]

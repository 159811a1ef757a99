"""``tapegrad.numpy.random``: NumPy's own random module (``seed``, ``RandomState``, ``default_rng`` and
every distribution), so seeded programs draw exactly NumPy's numbers. Draws are constants."""
from __future__ import annotations

from typing import Any

import numpy.random as _npr
from numpy.random import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    return getattr(_npr, name)


def __dir__() -> list:
    return dir(_npr)

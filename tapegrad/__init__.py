"""tapegrad: automatic differentiation on n-dimensional arrays, in the MXNet and PyTorch dialects.

MXNet dialect: ``from tapegrad import autograd, np, npx``.
"""
from __future__ import annotations

from . import np, npx, autograd  # noqa: F401
from ._core.errors import AutogradError, DeviceError, GradShapeError  # noqa: F401
from .ndarray import ndarray  # noqa: F401

__version__ = "0.1.0"
__all__ = ["np", "npx", "autograd", "AutogradError", "DeviceError", "GradShapeError", "ndarray"]

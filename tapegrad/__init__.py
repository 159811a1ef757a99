"""tapegrad: automatic differentiation on n-dimensional arrays, in the MXNet and PyTorch dialects
and with NumPy's own semantics.

MXNet dialect: ``from tapegrad import autograd, np, npx``. PyTorch dialect: ``import tapegrad.torch
as torch``. NumPy door and functional API (HIPS autograd, JAX): ``import tapegrad.numpy as np`` and
``tapegrad.grad(f)(x)``.
"""
from __future__ import annotations

from . import np, npx, autograd, numpy, viz  # noqa: F401
from ._core.errors import AutogradError, DeviceError, GradShapeError  # noqa: F401
from .ndarray import ndarray  # noqa: F401
from ._core.functional import (checkpoint, custom_jvp, custom_vjp, elementwise_grad, grad, hessian,  # noqa: F401
                               hessian_vector_product, hvp, jacobian, jvp, make_jvp, make_vjp,
                               value_and_grad, vjp)

from ._core.compiled import Compiled, compile  # noqa: F401,A004
from ._core.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: F401
from ._core.site import set_source_lines  # noqa: F401
from ._core.explain import Explanation, explain  # noqa: F401

#: ``tapegrad.jit(f)``: the functional API's name (as in JAX) for ``compile``.
jit = compile

__version__ = "0.1.0"
__all__ = ["np", "npx", "autograd", "viz", "AutogradError", "DeviceError", "GradShapeError", "ndarray", "grad",
           "value_and_grad", "elementwise_grad", "make_vjp", "vjp", "make_jvp", "jvp", "jacobian", "hessian",
           "hvp", "hessian_vector_product", "checkpoint", "custom_vjp", "custom_jvp", "compile", "jit", "Compiled",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "set_source_lines", "explain", "Explanation"]

"""``torch.nn``: Parameter, Module and the layers and losses of D2L's first chapters."""
from __future__ import annotations

from . import functional, init, parallel  # noqa: F401
from .modules import (CELU, ELU, GELU, GLU, SELU, AvgPool2d, Conv2d, CrossEntropyLoss, Dropout,  # noqa: F401
                      Flatten, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, Identity, LeakyReLU, Linear,
                      LogSigmoid, LogSoftmax, MaxPool2d, Mish, Module, ModuleList, MSELoss, NLLLoss, ReLU, ReLU6,
                      Sequential, Sigmoid, SiLU, Softmax, Softplus, Softshrink, Softsign, Tanh, Tanhshrink,
                      Threshold)
from .parameter import Parameter  # noqa: F401

__all__ = ["functional", "init", "parallel", "Parameter", "Module", "Sequential", "ModuleList", "Linear", "Identity", "ReLU",
           "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten", "Dropout", "CrossEntropyLoss", "NLLLoss", "MSELoss",
           "Conv2d", "MaxPool2d", "AvgPool2d", "Softplus", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "LeakyReLU",
           "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "Softshrink",
           "Hardshrink", "Threshold", "GLU"]

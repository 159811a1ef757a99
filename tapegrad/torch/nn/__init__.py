"""``torch.nn``: Parameter, Module and the layers and losses of D2L's first chapters."""
from __future__ import annotations

from . import functional, init  # noqa: F401
from .modules import (AvgPool2d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Identity, Linear,  # noqa: F401
                      LogSoftmax, MaxPool2d, Module, ModuleList, MSELoss, NLLLoss, ReLU, Sequential, Sigmoid,
                      Softmax, Tanh)
from .parameter import Parameter  # noqa: F401

__all__ = ["functional", "init", "Parameter", "Module", "Sequential", "ModuleList", "Linear", "Identity", "ReLU",
           "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten", "Dropout", "CrossEntropyLoss", "NLLLoss", "MSELoss",
           "Conv2d", "MaxPool2d", "AvgPool2d"]

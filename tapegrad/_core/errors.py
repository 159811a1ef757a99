"""Exception types. Every message says what went wrong and how to fix it."""
from __future__ import annotations

from ..backend import DeviceError  # noqa: F401 - the backend's error, re-exported here


class AutogradError(RuntimeError):
    """An autograd misuse: backward outside a graph, through a freed graph, on a non-variable..."""


AutogradError.__module__ = "tapegrad"


class GradShapeError(AutogradError, ValueError):
    """A head gradient whose shape differs from its head."""


GradShapeError.__module__ = "tapegrad"


# MXNet 1.9.1's sentences (reference/semantics.md §7), kept verbatim so that code matching on them works.
NOT_IN_GRAPH = (
    "Cannot differentiate node because it is not in a computational graph. You need to set "
    "is_recording to true or use autograd.record() to save computational graphs for backward. "
    "If you want to differentiate the same graph twice, you need to pass retain_graph=True to backward."
)
NO_INPUTS = ("There are no inputs in computation graph that require gradients. Call attach_grad() on the "
             "arrays to differentiate (with grad_req 'write' or 'add') before recording.")
NOT_VARIABLE = (
    "Cannot differentiate with respect to the {i}-th variable because it does not require gradient."
    " Call attach_grad() on it before recording."
)
INPLACE_IN_GRAPH = (
    "Assigning to NDArrays that are already in a computational graph will cause undefined behavior "
    "when evaluating gradients. Please call backward first to clear the graph or do this out side of "
    "a record section. Also note that you cannot use inplace operations like +=, *=, relu(x, out=x), "
    "y[idx]=x, etc inside a record section."
)

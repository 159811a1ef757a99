"""MXNet's ``autograd`` module over tapegrad's engine: ``from tapegrad import autograd``."""
from __future__ import annotations

from typing import Any

from ._core import engine
from ._core.array import OPS, Array
from ._core.mode import RECORDING, TRAINING, StateScope, set_flag
from ._core.custom import Function
from ._core.errors import NOT_VARIABLE, AutogradError
from .backend import zeros_like

# MXNet 1.9.1's first words for a variable it cannot differentiate with respect to (§7); its graph
# pass has no check of its own for a variable that the heads do not reach, so the rest is ours.
NOT_REACHED = ("Cannot differentiate with respect to the {i}-th variable because the heads do not depend on it. "
               "Pass only variables that the heads were computed from inside autograd.record().")

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "set_recording", "set_training", "mark_variables", "backward", "grad", "Function"]


def record(train_mode: bool = True) -> StateScope:
    """Record operations for differentiation inside this ``with`` block (training on by default)."""
    return StateScope(recording=True, training=train_mode)


def pause(train_mode: bool = False) -> StateScope:
    """Stop recording inside this ``with`` block (training off by default)."""
    return StateScope(recording=False, training=train_mode)


def train_mode() -> StateScope:
    """Training behaviour on; recording unchanged."""
    return StateScope(training=True)


def predict_mode() -> StateScope:
    """Training behaviour off; recording unchanged."""
    return StateScope(training=False)


def is_recording() -> bool:
    """Whether operations are being recorded."""
    return RECORDING.get()


def is_training() -> bool:
    """Whether training behaviour (dropout...) is on."""
    return TRAINING.get()


def set_recording(is_recording: bool) -> bool:  # noqa: FBT001
    """Turn recording on or off; returns the previous state."""
    return set_flag(RECORDING, is_recording)


def set_training(train_mode: bool) -> bool:  # noqa: FBT001
    """Turn training behaviour on or off; returns the previous state."""
    return set_flag(TRAINING, train_mode)


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def mark_variables(variables: Any, gradients: Any, grad_reqs: Any = "write") -> None:
    """Make each array a variable whose gradient buffer is the given array."""
    if isinstance(variables, Array):
        if not isinstance(gradients, Array):
            raise TypeError("a single variable needs a single gradient array")
        variables, gradients = [variables], [gradients]
    variables, gradients = list(variables), list(gradients)
    if len(variables) != len(gradients):
        raise ValueError(f"{len(variables)} variables but {len(gradients)} gradient buffers; give one each")
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    for v, g, r in zip(variables, gradients, reqs):
        if g.shape != v.shape:
            raise ValueError(f"gradient buffer of shape {g.shape} for a variable of shape {v.shape}")
        v._attach(r, buffer=g._data)


def backward(heads: Any, head_grads: Any = None, retain_graph: bool = False, train_mode: bool = True) -> None:
    """Gradients of the heads (each summed) into the variables' buffers."""
    heads = _as_list(heads)
    if head_grads is not None:
        head_grads = _as_list(head_grads)
    engine.backward(heads, head_grads, retain_graph=retain_graph, train_mode=train_mode)


def grad(heads: Any, variables: Any, head_grads: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, train_mode: bool = True) -> list:
    """Gradients of the heads with respect to ``variables``, returned as a list of arrays (one per
    variable) without touching ``.grad``. ``create_graph=True`` makes them differentiable."""
    variables = _as_list(variables)  # MXNet returns a list even for one variable; so do we
    if not variables:
        raise ValueError("variables cannot be an empty list; pass the arrays to differentiate with respect to")
    for i, v in enumerate(variables):
        if not isinstance(v, Array) or v._node is None or v._node.op is not None:
            raise AutogradError(NOT_VARIABLE.format(i=i + 1))
    heads = _as_list(heads)
    if head_grads is not None:
        head_grads = _as_list(head_grads)
    if retain_graph is None:
        retain_graph = create_graph
    unreached: list = []
    res = engine.backward(heads, head_grads, retain_graph=retain_graph, create_graph=create_graph,
                          variables=variables, train_mode=train_mode, unreached=unreached)
    if unreached:
        raise AutogradError(NOT_REACHED.format(i=min(unreached) + 1))
    grads = [type(v)._make(zeros_like(v._data)) if g is None else g for v, g in zip(variables, res)]
    if create_graph:
        grads = [_in_graph(g, v) for g, v in zip(grads, variables)]
    return grads


def _in_graph(g: Array, v: Array) -> Array:
    """``g`` recorded as a function of variable ``v`` with a zero derivative.

    MXNet records every op of the backward pass whose input is in a graph, so a gradient computed
    with ``create_graph=True`` is always in the graph of its variables, even where it does not depend
    on them (the gradient of relu, clip, maximum, indexing...: the second derivative is zero).
    Differentiating it again then gives zeros, where tapegrad's rule, which reads the variable only
    through a comparison or not at all, would leave a constant and "not in a computational graph"."""
    with StateScope(recording=True):
        return OPS.where(False, v, g)

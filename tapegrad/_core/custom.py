"""Custom gradients: an op whose VJP is a user's hand-written backward (both dialects' Function)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..backend import zeros_like
from .array import Array
from .node import Node, new_node


class CustomOp:
    """The tape entry of one custom-function call: its VJP calls ``backward(*output_grads)``."""

    broadcast = False
    singular = False
    save_in = ()
    save_out = False
    raw_ok = False  # the user's backward takes the dialect's arrays
    user_rule = True  # errors in its results are the user's to fix (see the engine)

    def __init__(self, name: str, backward: Callable, out_buffers: list, single: bool) -> None:
        self.name = name
        self.backward = backward
        self.out_buffers = out_buffers  # only their shapes/dtypes are used, for zero gradients
        self.single = single

    def run_vjp(self, node: Node, g: Any) -> tuple:
        gs = [g] if self.single else list(g)
        gs = [node.cls._make(zeros_like(o)) if x is None else x for x, o in zip(gs, self.out_buffers)]
        res = self.backward(*gs)
        if not isinstance(res, (tuple, list)):
            res = (res,)
        if len(res) != len(node.parents):
            raise ValueError(f"{self.name}.backward returned {len(res)} gradients for {len(node.parents)} "
                             "inputs; return one gradient (or None) per forward input")
        return tuple(r if isinstance(r, Array) or r is None else node.cls._make(node.cls._coerce(r)) for r in res)


def record_custom(name: str, inputs: Sequence[Any], outputs: Sequence[Array], backward: Callable,
                  single: bool, differentiable: Sequence[bool] | None = None) -> list:
    """Put one custom call on the tape; returns the outputs linked to it (the inputs' class).

    ``differentiable[k]`` False leaves output k off the tape (a constant)."""
    arrays = [a for a in inputs if isinstance(a, Array)]
    cls = type(arrays[0])
    op = CustomOp(name, backward, [o._data for o in outputs], single)
    parents = tuple(a._node if isinstance(a, Array) else None for a in inputs)
    pidx = tuple(a._idx if isinstance(a, Array) else None for a in inputs)
    node = new_node(op, parents, pidx, None, None, {}, tuple(getattr(a, "shape", ()) for a in inputs),
                    tuple(getattr(a, "dtype", None) for a in inputs), cls, None if single else len(outputs))
    res = []
    for i, o in enumerate(outputs):
        keep = differentiable is None or differentiable[i]
        res.append(cls._make(o._data, node if keep else None, None if single or not keep else i))
    return res


class Function:
    """MXNet's custom step with a hand-written gradient.

    Subclass it; ``forward(*inputs)`` computes outputs (recording is paused inside) and may call
    ``save_for_backward``; ``backward(*output_grads)`` returns one gradient per input. Each instance
    is called once.
    """

    def __init__(self) -> None:
        self._used = False
        self.saved_tensors: tuple = ()

    def save_for_backward(self, *args: Any) -> None:
        """Keep values for ``backward`` in ``self.saved_tensors``."""
        self.saved_tensors = args

    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError("override forward(self, *inputs) in your Function subclass")

    def backward(self, *output_grads: Any) -> Any:
        raise NotImplementedError("override backward(self, *output_grads) in your Function subclass")

    def __call__(self, *inputs: Any) -> Any:
        from .mode import RECORDING, StateScope
        if self._used:
            raise RuntimeError("Each Function instance can only be called once. Please create another instance.")
        self._used = True
        recording = RECORDING.get()
        with StateScope(recording=False):
            outputs = self.forward(*inputs)
        single = not isinstance(outputs, (tuple, list))
        outs = [outputs] if single else list(outputs)
        if not (recording and any(isinstance(a, Array) and a._node is not None for a in inputs)):
            return outputs
        res = record_custom(type(self).__name__, inputs, outs, self.backward, single)
        return res[0] if single else tuple(res)

"""Custom gradients: MXNet's ``autograd.Function`` (a forward and a hand-written backward)."""
from __future__ import annotations

from typing import Any

from .array import Array
from .node import Node


class _CustomOp:
    """The tape entry of one ``Function`` call: its VJP is the user's ``backward``."""

    broadcast = False
    save_in = ()
    save_out = False

    def __init__(self, fn: "Function", n_out: int | None) -> None:
        self.fn = fn
        self.name = type(fn).__name__
        self.n_out = n_out

    def run_vjp(self, node: Node, g: Any) -> tuple:
        gs = [g] if self.n_out is None else list(g)
        outs = self.fn._out_shapes
        gs = [node.cls._make(_zeros(o)) if x is None else x for x, o in zip(gs, outs)]
        res = self.fn.backward(*gs)
        if not isinstance(res, (tuple, list)):
            res = (res,)
        if len(res) != len(node.parents):
            raise ValueError(f"{self.name}.backward returned {len(res)} gradients for {len(node.parents)} "
                             "inputs; return one array per forward input")
        return tuple(r if isinstance(r, Array) or r is None else node.cls._make(node.cls._coerce(r)) for r in res)


def _zeros(like: Any) -> Any:
    from ..backend import zeros_like
    return zeros_like(like)


class Function:
    """A differentiable step with a hand-written gradient.

    Subclass it; ``forward(*inputs)`` computes outputs (recording is paused inside) and may call
    ``save_for_backward``; ``backward(*output_grads)`` returns one gradient per input. Each instance
    is called once.
    """

    def __init__(self) -> None:
        self._used = False
        self.saved_tensors: tuple = ()
        self._out_shapes: list = []

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
        outs = (outputs,) if single else tuple(outputs)
        arrays = [a for a in inputs if isinstance(a, Array)]
        if not (recording and any(a._node is not None for a in arrays)):
            return outputs
        cls = type(arrays[0])
        self._out_shapes = [o._data for o in outs]
        op = _CustomOp(self, None if single else len(outs))
        parents = tuple(a._node if isinstance(a, Array) else None for a in inputs)
        pidx = tuple(a._idx if isinstance(a, Array) else None for a in inputs)
        node = Node(op, parents, pidx, None, None, {}, tuple(getattr(a, "shape", ()) for a in inputs),
                    tuple(getattr(a, "dtype", None) for a in inputs), cls, None if single else len(outs))
        res = [cls._make(o._data, node, None if single else i) for i, o in enumerate(outs)]
        return res[0] if single else tuple(res)

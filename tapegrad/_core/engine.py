"""The backward engine: one iterative reverse sweep over the tape."""
from __future__ import annotations

from typing import Any, Sequence

from . import mode
from .array import OPS, Array
from .errors import NO_INPUTS, NOT_IN_GRAPH, NOT_VARIABLE, AutogradError, GradShapeError
from .node import Node
from ..backend import ones_like, zeros_like

_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
    "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second "
    "time or if you need to access saved tensors after calling backward."
)


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return OPS.add(a, b)


def _deposit(grads: dict, node: Node, idx: int | None, g: Any) -> None:
    """Add cotangent ``g`` for output ``idx`` of ``node``."""
    if idx is None:
        grads[node] = _add(grads.get(node), g)
    else:
        slot = grads.get(node)
        if slot is None:
            slot = grads[node] = [None] * node.nout
        slot[idx] = _add(slot[idx], g)


def _collect(heads: Sequence[Node], strict: bool) -> list[Node]:
    """Every node reachable from the heads, latest first. Iterative: deep graphs are fine."""
    seen = set(heads)
    stack = list(heads)
    while stack:
        n = stack.pop()
        if strict and n.freed:
            raise AutogradError(NOT_IN_GRAPH)
        for p in n.parents:
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=_seq_key, reverse=True)


def _seq_key(n: Node) -> int:
    return n.seq


def backward(heads: Sequence[Array], head_grads: Sequence[Any] | None = None, *, retain_graph: bool = False,
             create_graph: bool = False, variables: Sequence[Array] | None = None,
             train_mode: bool | None = None, implicit_ones: bool = True) -> list | None:
    """Propagate cotangents from ``heads`` to the variables.

    With ``variables`` None, gradients go into the variables' buffers according to their
    ``grad_req``; otherwise the gradients with respect to ``variables`` are returned (zeros for a
    variable the heads do not reach) and no buffer is touched.
    """
    if head_grads is None:
        head_grads = [None] * len(heads)
    if len(head_grads) != len(heads):
        raise ValueError(f"heads and head_grads must be lists of the same length: {len(heads)} heads, "
                         f"{len(head_grads)} head gradients")
    grads: dict = {}
    roots = []
    strict = True
    for h, hg in zip(heads, head_grads):
        if not isinstance(h, Array):
            raise TypeError(f"backward heads must be arrays, got {type(h).__name__}")
        node = h._node
        if node is None:
            raise AutogradError(NOT_IN_GRAPH)
        strict = strict and type(h)._strict_free
        if hg is None:
            if not implicit_ones and h.size != 1:
                raise AutogradError("grad can be implicitly created only for scalar outputs")
            hg = type(h)._make(ones_like(h._data))
        elif not isinstance(hg, Array):
            hg = type(h)._make(type(h)._coerce(hg))
        if hg.shape != h.shape:
            raise GradShapeError(f"head gradient has shape {tuple(hg.shape)} but its head has shape "
                                 f"{tuple(h.shape)}; pass a head gradient of the head's shape")
        _deposit(grads, node, h._idx, hg)
        roots.append(node)

    order = _collect(roots, strict)
    wanted = None
    if variables is not None:
        wanted = {}
        for i, v in enumerate(variables):
            n = v._node if isinstance(v, Array) else None
            if n is None or n.op is not None:
                raise AutogradError(NOT_VARIABLE.format(i=i + 1))
            wanted[n] = i
    elif not any(n.op is None and n.var is not None and _req(n) != "null" for n in order):
        raise AutogradError(NO_INPUTS)

    results: list = [None] * (len(variables) if variables is not None else 0)
    scope = mode.StateScope(recording=create_graph, grad_enabled=create_graph, training=train_mode)
    with scope:
        for node in order:
            g = grads.pop(node, None)
            op = node.op
            if op is None:
                if wanted is not None:
                    if node in wanted:
                        results[wanted[node]] = g
                else:
                    _write_leaf(node, g, create_graph)
                continue
            if g is None or (node.nout is not None and all(x is None for x in g)):
                if not retain_graph:
                    node.release()
                continue
            if node.freed and (op.save_in or op.save_out):
                raise AutogradError(_SECOND_BACKWARD if not strict else NOT_IN_GRAPH)
            gin = op.run_vjp(node, g)
            if len(gin) != len(node.parents):
                raise AutogradError(f"the VJP of {op.name!r} returned {len(gin)} cotangents for "
                                    f"{len(node.parents)} inputs; this is a bug in the op's rule")
            for i, (p, gi) in enumerate(zip(node.parents, gin)):
                if p is None or gi is None:
                    continue
                shape = node.shapes[i]
                if gi.shape != shape:
                    if op.broadcast:
                        gi = OPS.sum_to(gi, shape)
                    else:
                        raise AutogradError(f"the VJP of {op.name!r} returned a cotangent of shape "
                                            f"{gi.shape} for input {i} of shape {shape}; this is a bug")
                dt = node.dtypes[i]
                if dt is not None and gi.dtype != dt and dt.kind in "fc":
                    gi = OPS.astype(gi, dt)
                _deposit(grads, p, node.pidx[i] if node.pidx is not None else None, gi)
            if not retain_graph:
                node.release()
    if variables is not None:
        for i, v in enumerate(variables):
            if results[i] is None:
                results[i] = type(v)._make(zeros_like(v._data))
        return results
    return None


def _req(node: Node) -> str | None:
    v = node.var()
    return None if v is None else v._grad_req


def _write_leaf(node: Node, g: Any, create_graph: bool) -> None:
    v = node.var() if node.var is not None else None
    if v is None or v._node is not node:
        return
    v._write_grad(g, create_graph)

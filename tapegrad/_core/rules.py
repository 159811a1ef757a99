"""Gradient rules: what a VJP or JVP asks for, by its parameter names, and the three ways one is called.

A rule names what it needs (``g``, ``out``, inputs, static parameters, ``needs``, ``shapes``,
``dtypes``, ``outs``); ``spec`` reads that once, at declaration. A VJP is then called:

1. ``run_vjp(node, g)``: on the tape, its arguments Arrays of the node's class (a backward that
   builds a graph, a custom op's user code);
2. ``run_raw(node, g, outs)``: on the tape, its arguments the raw saved buffers (a backward that
   builds no graph; ops inside run in raw mode, see ``mode.RAW``);
3. ``call_vjp_direct`` / ``call_jvp``: on live values (forward mode).

``run_vjp`` and ``run_raw`` are generated once per rule from its parameter names.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from .node import Node

# Argument kinds of a rule
G, IN, VARIN, OUT, PARAM, NEEDS, SHAPES, DTYPES, OUTS = range(9)
_SCALARS = (int, float, bool, complex)


def spec(op: Any, fn: Callable, tangents: bool) -> list:
    """How to build a rule's arguments, from its parameter names (checked now, not at run time)."""
    out: list = []
    incoming = ("ts",) if tangents else ("g", "gs")
    for pname in inspect.signature(fn).parameters:
        if pname in incoming:
            out.append((G, None))
        elif pname == "out":
            out.append((OUT, None))
        elif pname == "needs":
            out.append((NEEDS, None))
        elif pname == "shapes":
            out.append((SHAPES, None))
        elif pname == "dtypes":
            out.append((DTYPES, None))
        elif pname == "outs" and not tangents:
            out.append((OUTS, None))
        elif pname in op.input_names:
            i = op.input_names.index(pname)
            if op.variadic and i == len(op.input_names) - 1 and i >= op.nin:
                out.append((VARIN, None))
            else:
                out.append((IN, i))
        elif pname in op.param_names:
            out.append((PARAM, pname))
        else:
            names = f"{' / '.join(incoming)}, out, needs, shapes, dtypes{'' if tangents else ', outs'}"
            raise TypeError(f"{'JVP' if tangents else 'VJP'} of {op.name!r} names {pname!r}, which is neither "
                            f"{names} nor a parameter of the forward "
                            f"({op.input_names + op.param_names})")
    return out


def compile_vjp(op: Any, raw: bool) -> Callable:
    """``run_vjp(node, g, outs=None)`` (``raw``: ``run_raw``): ``op``'s VJP for one recorded application,
    its arguments fetched from the node by code generated once from the rule's parameter names.
    ``run_vjp`` gives the rule Arrays of the node's class; ``run_raw`` the raw saved buffers. Both
    return one cotangent (or None) per input."""
    env = {"op": op, "defaults": op.defaults, "wrap_in": wrap_input, "wrap_out": wrap_output}
    parts = []
    for kind, key in op.vjp_spec:
        if kind == G:
            parts.append("g")
        elif kind == IN:
            parts.append(f"node.saved[{key}]" if raw else f"wrap_in(node, {key})")
        elif kind == VARIN:
            parts.append("tuple(node.saved)" if raw else
                         "tuple([wrap_in(node, i) for i in range(len(node.parents))])")
        elif kind == OUT:
            parts.append("node.out" if raw else "wrap_out(node)")
        elif kind == PARAM:
            parts.append(f"node.params.get({key!r}, defaults.get({key!r}))")
        elif kind == NEEDS:
            parts.append("node.needs" if op.variadic else
                         "(" + "".join(f"node.parents[{i}] is not None, " for i in range(op.nin)) + ")")
        elif kind == SHAPES:
            parts.append("node.shapes")
        elif kind == OUTS:
            parts.append("outs if outs is not None else (None,) * len(node.parents)")
        else:
            parts.append("node.dtypes")
    src = (f"def run(node, g, outs=None):\n"
           f"    res = op.vjp_fn({', '.join(parts)})\n"  # looked up per call: vjp_fn may be replaced
           f"    return res if isinstance(res, (tuple, list)) else (res,)\n")
    exec(compile(src, f"<{'raw ' if raw else ''}VJP of {op.name}>", "exec"), env)  # noqa: S102 - our template
    return env["run"]


def call_jvp(op: Any, args: tuple, params: dict, res: Any, ts: list) -> Any:
    """Call ``op``'s declared JVP on primal values ``args`` (with output ``res``) and tangents ``ts``."""
    needs = tuple(t is not None for t in ts)
    return op.jvp_fn(*_direct_args(op, op.jvp_spec, tuple(ts), args, params, res, needs))


def call_vjp_direct(op: Any, args: tuple, params: dict, res: Any, g: Any, needs: tuple) -> tuple:
    """Call ``op``'s VJP on primal values given directly (used to derive elementwise JVPs)."""
    r = op.vjp_fn(*_direct_args(op, op.vjp_spec, g, args, params, res, needs))
    return tuple(r) if isinstance(r, (tuple, list)) else (r,)


def _direct_args(op: Any, rule_spec: list, incoming: Any, args: tuple, params: dict, res: Any,
                 needs: tuple) -> list:
    """A rule's arguments from live values (``run_vjp`` builds them from a tape node instead)."""
    vals = []
    for kind, key in rule_spec:
        if kind == G:
            vals.append(incoming)
        elif kind == IN:
            vals.append(args[key])
        elif kind == VARIN:
            vals.append(tuple(args))
        elif kind == OUT:
            vals.append(res)
        elif kind == PARAM:
            vals.append(params[key] if key in params else op.defaults.get(key))
        elif kind == NEEDS:
            vals.append(needs)
        elif kind == SHAPES:
            vals.append(tuple(getattr(a, "shape", ()) for a in args))
        elif kind == OUTS:
            vals.append((None,) * len(args))
        else:
            vals.append(tuple(getattr(getattr(a, "_data", a), "dtype", None) for a in args))
    return vals


def wrap_input(node: Node, i: int) -> Any:
    """Saved input ``i`` of a node as an Array of the node's class, linked to its parent."""
    d = node.saved[i]
    if d is None or type(d) in _SCALARS:  # not kept (see needed_for), or a weakly typed Python number
        return d
    pidx = node.pidx[i] if node.pidx is not None else None
    a = node.cls._make(d, node.parents[i], pidx)
    return a if node.vcheck is None else _saved_version(node, f"input {i}", a)


def wrap_output(node: Node) -> Any:
    """A node's saved output(s) as Arrays of its class, linked to the node."""
    cls = node.cls
    if node.nout is None:
        a = cls._make(node.out, node)
        return a if node.vcheck is None else _saved_version(node, "output 0", a)
    outs = tuple(cls._make(o, node, i) for i, o in enumerate(node.out))
    return outs if node.vcheck is None else tuple(_saved_version(node, f"output {i}", a) for i, a in enumerate(outs))


def _saved_version(node: Node, what: str, a: Any) -> Any:
    """``a``, wrapping a saved buffer, with the version the buffer had when saved (a dialect that checks
    versions compares it with the version of that memory when a higher-order backward reads it)."""
    for _, version, w in node.vcheck:
        if w == what:
            a._version = version
    return a

"""The MXNet dialect's thin wrappers around ops: MXNet's calling convention (``npx``) and NumPy's
result types (``np.linalg``). Each presents itself as the op it wraps."""
from __future__ import annotations

import functools
from typing import Any, Callable

from ..ops.registry import Op


def keyword_arrays(op: Op) -> Callable:
    """``op`` called MXNet's way: its arrays may also be given by keyword (``npx.convolution(data=x,
    weight=w, bias=b, ...)``); a bias that is None, or dropped by ``no_bias=True``, is left out."""
    def call(*arrays: Any, **params: Any) -> Any:
        args: Any = arrays
        if params:
            names = op.input_names
            if any(n in params for n in names):
                args = list(args)
                for n in names[len(args):]:
                    if n not in params:
                        break
                    args.append(params.pop(n))
            if params.get("no_bias") and len(args) > 2:
                args = args[:2]
        while args and args[-1] is None:
            args = args[:-1]
        return op(*args, **params)
    return _presented_as(op, call)


def numpy_call(op: Op, result: type, route: Callable | None = None) -> Callable:
    """``op`` called as NumPy's function: its outputs as the named tuple ``result``; ``route`` first
    takes the arguments NumPy answers otherwise (``svd(compute_uv=False)``, ``qr(mode='r')``) and
    returns their result, or NotImplemented for the op itself."""
    def call(*args: Any, **params: Any) -> Any:
        if route is not None:
            res = route(*args, **params)
            if res is not NotImplemented:
                return res
        return result(*op(*args, **params))
    return _presented_as(op, call)


def _presented_as(op: Op, call: Callable) -> Callable:
    """``call`` with ``op``'s name, module and doc; ``__wrapped__`` is the op, so ``inspect.signature``
    gives the op's."""
    return functools.update_wrapper(call, op, assigned=("__module__", "__name__", "__qualname__", "__doc__"),
                                    updated=())

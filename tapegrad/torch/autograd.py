"""``torch.autograd`` over tapegrad's engine: grad, backward, Function, gradcheck, grad modes."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy

from .._core import engine
from .._core.array import Array
from .._core.custom import record_custom
from .._core.errors import AutogradError
from .._core.explain import explain  # noqa: F401  # (tapegrad's own: why a .grad is None or zero)
from .._core.mode import GRAD_ENABLED, StateScope
from .._core.anomaly import (detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled,  # noqa: F401
                             set_detect_anomaly)
from .tensor import Tensor, _to_torch_convention

__all__ = ["grad", "backward", "Function", "gradcheck", "gradgradcheck", "detect_anomaly", "set_detect_anomaly", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "is_grad_enabled", "Variable"]


def _seq(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is left alone."""
    outputs, inputs = _seq(outputs), _seq(inputs)
    if grad_outputs is not None:
        grad_outputs = _seq(grad_outputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise AutogradError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    if grad_outputs is not None:
        grad_outputs = [_to_torch_convention(g) for g in grad_outputs]
    res = engine.backward(outputs, grad_outputs, retain_graph=retain_graph, create_graph=create_graph,
                          variables=inputs, implicit_ones=False)
    res = [_to_torch_convention(g) for g in res]
    out = []
    for i, (t, g) in enumerate(zip(inputs, res)):
        if g is None:
            if materialize_grads:
                g = Tensor._make(numpy.zeros_like(t._data))
            elif not allow_unused:
                raise AutogradError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                    "graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph and g._node is not None:
            g = g.detach()
        out.append(g)
    return tuple(out)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``."""
    tensors = _seq(tensors)
    if grad_tensors is not None:
        grad_tensors = [_to_torch_convention(g) for g in _seq(grad_tensors)]
    if retain_graph is None:
        retain_graph = create_graph
    engine.backward(tensors, grad_tensors, retain_graph=retain_graph, create_graph=create_graph,
                    implicit_ones=False, inputs=None if inputs is None else _seq(inputs))


class _GradMode:
    """A context manager that is also a decorator (``@torch.no_grad()``)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = bool(enabled)
        self._scopes: list = []

    def __enter__(self) -> None:
        scope = StateScope(grad_enabled=self._enabled)
        scope.__enter__()
        self._scopes.append(scope)

    def __exit__(self, *exc: object) -> None:
        self._scopes.pop().__exit__(*exc)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)(*self._args()):
                return fn(*args, **kwargs)
        return wrapper

    def _args(self) -> tuple:
        return ()


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Turn recording off inside the block (or the decorated function)."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):  # noqa: N801
    """Turn recording back on inside the block."""

    def __init__(self) -> None:
        super().__init__(True)


class inference_mode(_GradMode):  # noqa: N801
    """Like ``no_grad`` (tapegrad has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__(not mode)
        self._mode = mode

    def _args(self) -> tuple:
        return (self._mode,)


class set_grad_enabled(_GradMode):  # noqa: N801
    """Set grad mode: immediately (as a function call) and for the ``with`` block."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._prev = GRAD_ENABLED.get()
        self._token = GRAD_ENABLED.set(bool(mode))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        GRAD_ENABLED.reset(self._token)

    def _args(self) -> tuple:
        return (self._enabled,)


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are being recorded."""
    return GRAD_ENABLED.get()


class _Ctx:
    """The ``ctx`` of a custom Function: saved tensors and flags for backward."""

    def __init__(self, needs: tuple) -> None:
        self.needs_input_grad = needs
        self._saved: tuple = ()
        self._non_diff: set = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        return self._saved

    def mark_non_differentiable(self, *outputs: Any) -> None:
        self._non_diff.update(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class Function:
    """A differentiable step with a hand-written gradient: subclass with static ``forward(ctx, ...)``
    and ``backward(ctx, *grad_outputs)``, then call ``YourFunction.apply(...)``."""

    @staticmethod
    def forward(ctx: _Ctx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("define forward(ctx, *inputs) as a staticmethod")

    @staticmethod
    def backward(ctx: _Ctx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("define backward(ctx, *grad_outputs) as a staticmethod")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = _Ctx(needs)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = [outputs] if single else list(outputs)
        if not (GRAD_ENABLED.get() and any(needs)):
            return outputs
        diff = [id(o) not in ctx._non_diff for o in outs]

        def run_backward(*gs: Any) -> Any:
            res = cls.backward(ctx, *gs)
            return res if isinstance(res, tuple) else (res,)

        res = record_custom(cls.__name__, args, outs, run_backward, single, diff)
        return res[0] if single else tuple(res)


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_: Any) -> bool:
    """Compare ``func``'s analytic Jacobian with central differences (inputs should be float64)."""
    return _check_order(func, inputs, 1, eps, atol, rtol, raise_exception)


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, **_: Any) -> bool:
    """Like ``gradcheck`` for second derivatives."""
    return _check_order(func, inputs, 2, eps, atol, rtol, raise_exception)


def _check_order(func: Callable, inputs: Any, order: int, eps: float, atol: float, rtol: float,
                 raise_exception: bool) -> bool:
    """``check_grads`` to ``order`` in the inputs that require grad; False or raise on a mismatch."""
    from ..testing import GradCheckError, check_grads  # noqa: PLC0415
    inputs = _as_tuple(inputs)
    wrt = [i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a.requires_grad]
    try:
        check_grads(lambda *xs: func(*xs), list(inputs), order=order, wrt=wrt, eps=eps, rtol=rtol, atol=atol)
    except GradCheckError:
        if raise_exception:
            raise
        return False
    return True


def Variable(data: Any, requires_grad: bool = False) -> Tensor:  # noqa: N802 - PyTorch's legacy name
    """Legacy wrapper: returns the tensor (optionally requiring grad)."""
    t = data if isinstance(data, Tensor) else Tensor._make(Tensor._coerce(data))
    return t.requires_grad_(requires_grad) if requires_grad else t


_ = Array, Sequence

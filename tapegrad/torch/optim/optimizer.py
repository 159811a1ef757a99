"""``torch.optim.Optimizer``: parameter groups, per-parameter state, ``zero_grad`` and state dicts in
PyTorch's structure, and the raw-buffer arithmetic the built-in optimizers share.

A built-in step runs outside recording, as PyTorch's does under ``torch.no_grad()``: it reads each
gradient's buffer, updates the state buffers and the parameter's buffer in place with whole-array NumPy
(or CuPy) operations, and moves the parameter's version counter on. The arithmetic follows PyTorch's
single-tensor CPU code (``torch/optim/*.py``, ``_single_tensor_*``), operation for operation, with
Python floats as the scalars, so a float64 run agrees with PyTorch's to the last few bits.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import chain
from typing import Any, Callable

import numpy

from ..._core import mode as _mode
from ..._core.array import Array
from ...backend import device_of, to_device, xp_of
from .._dtypes import get_default_dtype
from ..autograd import enable_grad
from ..nn.modules import _zero_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


#: The marker for a hyperparameter without a default (``torch.optim.optimizer.required``).
required = _Required()



def _apply_update(update: Callable, group: dict, param: Any, p: Any, g: Any) -> None:
    """One built-in optimizer update of parameter ``param`` (buffer ``p``, gradient buffer ``g``), as a
    compiled step replays it."""
    update(group, param, _real(p), _real(g))

class Optimizer:
    """Holds ``param_groups`` (dicts with ``'params'`` and the hyperparameters) and per-parameter
    ``state``; subclasses implement ``step``."""

    _opt_called: bool  # set, once step() has run, by the step wrapper an LR scheduler installs

    def __init__(self, params: Any, defaults: dict) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list = []
        if isinstance(params, Array):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with its own hyperparameters; missing ones take the defaults).
        ``params`` may hold ``(name, tensor)`` pairs, as ``named_parameters()`` gives; the names are kept
        under ``'param_names'``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Array):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for p in param_group["params"]:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        seen: set[int] = set()
        for g in self.param_groups:
            seen.update(id(p) for p in g["params"])
            if ("param_names" in param_group) != ("param_names" in g):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: ``None`` (default) or zeros in the same tensor."""
        for group in self.param_groups:
            for p in group["params"]:
                _zero_grad(p, set_to_none)

    def step(self, closure: Callable | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()`` when given. (A
        built-in optimizer defines ``_update``, see ``_steps``; another subclass overrides ``step``.)"""
        update = getattr(self, "_update", None)
        if update is None:
            raise NotImplementedError(f"{type(self).__name__}.step: a subclass of Optimizer defines step()")
        return self._steps(closure, update)

    def state_dict(self) -> dict:
        """``{'state': {index: state}, 'param_groups': [group with 'params' as index lists]}``: parameters
        are numbered in group order; the state's tensors are the optimizer's own (not copies), as in
        PyTorch."""
        index: dict = {}
        groups = []
        for g in self.param_groups:
            for p in g["params"]:
                index.setdefault(id(p), len(index))
            groups.append({**{k: v for k, v in g.items() if k != "params"},
                           "params": [index[id(p)] for p in g["params"]]})
        state = {(index[id(p)] if isinstance(p, Tensor) else p): s for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the hyperparameters and state of ``state_dict`` (from :meth:`state_dict`, of an optimizer
        with groups of the same sizes). State tensors are copied onto each parameter's device, and all but
        ``'step'`` cast to a floating parameter's dtype."""
        saved_groups = [_copy_value(g) for g in state_dict["param_groups"]]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, v)
            else:
                state[k] = v
        for g, s in zip(self.param_groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})

    def __repr__(self) -> str:
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += "\n" + f"Parameter Group {i}"
            for key in sorted(group):
                if key != "params":
                    s += "\n" + f"    {key}: {group[key]}"
        return s + "\n)"

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    #: Group options that a state pickled by an older PyTorch may lack, and the values filled in on load.
    _LOAD_DEFAULTS: dict[str, Any] = {}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for group in self.param_groups:
            for name, value in self._LOAD_DEFAULTS.items():
                group.setdefault(name, value)

    # -- shared by the built-in optimizers --------------------------------------------------------
    def _steps(self, closure: Callable | None, update: Callable) -> Any:
        """The loop of every built-in ``step``: evaluate ``closure`` with grad mode on, then, for each
        parameter with a gradient, ``update(group, param, p, g)`` with ``p`` and ``g`` the raw buffers of the
        parameter and its gradient (viewed as real for complex parameters), then count one write to the
        parameter. ``update`` creates the parameter's state (``self.state[param]``) where it keeps any."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                buf = p._data
                rec = _mode.RECORDER.get()
                if rec is not None:  # a compiled step replays the update whole, on the same objects
                    rec.update(_apply_update, (update, group, p), (p, grad), (0,))
                try:
                    update(group, p, _real(buf), _real(grad._data))
                except ValueError:
                    p._check_writable(buf)
                    raise
                p._bump()
        return loss


def _typename(x: Any) -> str:
    if isinstance(x, Array):
        return "torch." + {"float32": "Float", "float64": "Double", "int64": "Long"}.get(x._data.dtype.name, "") + "Tensor"
    return type(x).__name__


def _copy_value(v: Any) -> Any:
    """A deep copy of a saved parameter group: containers rebuilt, tensors cloned."""
    if isinstance(v, Array):
        return Tensor._make(v._data.copy())
    if isinstance(v, dict):
        return {k: _copy_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_copy_value(x) for x in v)
    return v


def _cast_state(param: Tensor, value: Any, key: Any = None) -> Any:
    """A copy of a parameter's saved state: tensors on the parameter's device, cast to its dtype when it is
    floating (all but ``'step'``, which keeps its own), as ``Optimizer.load_state_dict`` does in PyTorch."""
    if isinstance(value, Array):
        data = value._data
        if key != "step" and param._data.dtype.kind in "fc" and data.dtype != param._data.dtype:
            data = data.astype(param._data.dtype)
        if key != "step":
            data = to_device(data, device_of(param._data))
        return Tensor._make(data.copy())
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return value


# -- raw-buffer arithmetic ------------------------------------------------------------------------
# Each helper is one ATen call of PyTorch's single-tensor optimizers, with ATen's operation order.

def _check_lr(lr: Any) -> None:
    """PyTorch's checks of a learning rate (a number, or a one-element tensor)."""
    if isinstance(lr, Array) and lr._data.size != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= _scalar(lr):
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_nonnegative(**values: Any) -> None:
    """PyTorch's range checks of hyperparameters that must be at least 0 (``epsilon=eps`` names the
    value as PyTorch's message does), in the order given."""
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {name} value: {value}")


def _check_options(differentiable: bool, fused: Any = None, foreach: Any = None) -> None:
    """Refuse what tapegrad's optimizers do not do. ``foreach``, ``fused`` and ``capturable`` are
    accepted (and stored in the groups, as PyTorch's state dicts have them) but every step runs the same
    per-parameter code; ``fused=True`` with ``differentiable=True`` is PyTorch's own error."""
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if differentiable:
        raise NotImplementedError("differentiable=True (a step recorded on the tape) is not supported: tapegrad's "
                                  "optimizers update parameters in place outside recording; write the update with "
                                  "tensor operations to differentiate through it")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _real(a: Any) -> Any:
    """A view of a buffer for the update arithmetic: at least 1-d (so that NumPy's operations return
    arrays, never scalars) and, for a complex buffer, ``torch.view_as_real`` (a float view with a last
    axis of 2)."""
    if a.ndim == 0:
        a = a[None]
    if a.dtype.kind != "c":
        return a
    return a[..., None].view(a.real.dtype)


def _scalar(v: Any) -> Any:
    """A hyperparameter as a Python number (a one-element tensor's value)."""
    if isinstance(v, Array):
        if v._data.size != 1:
            raise ValueError("Tensor hyperparameters must be 1-element")
        return v._data.reshape(()).item()
    return v


def _unreal(a: Any, like: Any) -> Any:
    """The inverse of :func:`_real` for a contiguous buffer ``a``: ``like``'s shape and kind again."""
    if like.dtype.kind == "c":
        a = a.view(like.dtype)[..., 0]
    return a.reshape(like.shape)


def _xp(a: Any) -> Any:
    """The array module of a raw buffer."""
    return xp_of((a,))


def _add(a: Any, b: Any, alpha: float) -> Any:
    """``a.add(b, alpha=alpha)``: a new buffer ``a + alpha * b``."""
    xp = xp_of((a,))
    return xp.add(a, b) if alpha == 1 else xp.add(a, alpha * b)


def _grad_in(g: Any, p: Any, maximize: bool, weight_decay: float) -> Any:
    """The gradient a step uses: negated under ``maximize``, plus ``weight_decay * p`` (L2 decay); a new
    buffer whenever it differs from ``g``, which is never written."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = _add(g, p, weight_decay)
    return g


def _lerp_(a: Any, end: Any, weight: float) -> None:
    """``a.lerp_(end, weight)`` with ATen's two formulas (the small-weight one below 0.5)."""
    if abs(weight) < 0.5:
        a += weight * (end - a)
    else:
        a[...] = end - (end - a) * (1 - weight)


def _addcmul_(a: Any, t1: Any, t2: Any, value: float) -> None:
    """``a.addcmul_(t1, t2, value=value)``: ``a + value * t1 * t2``."""
    a += (value * t1) * t2


def _new_step(value: float = 0.0) -> Tensor:
    """A ``'step'`` state: a 0-d tensor on the host, float32 (float64 when that is the default dtype)."""
    dt = numpy.float64 if get_default_dtype().dtype == numpy.float64 else numpy.float32
    return Tensor._make(numpy.full((), value, dtype=dt))


def _count(state: dict) -> float:
    """``state['step'] += 1``; returns the new count as a Python float. A number there (a state dict
    written by hand or by an old PyTorch) becomes a tensor first, as PyTorch's ``__setstate__`` does."""
    step = state["step"]
    if not isinstance(step, Array):
        step = state["step"] = _new_step(float(step))
    d = step._data
    d += 1
    return float(d)


def _zeros_state(p: Tensor) -> Tensor:
    """``torch.zeros_like(p)`` for an optimizer's state (same device and dtype)."""
    return Tensor._make(xp_of((p._data,)).zeros_like(p._data))

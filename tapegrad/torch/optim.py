"""``torch.optim``: the ``Optimizer`` base class and ``SGD`` (with momentum, dampening, Nesterov and
weight decay). Steps run under ``torch.no_grad()`` and update each parameter in place, so the
parameters stay the same tensor objects over the same buffers."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Iterable

from .._core.array import Array
from .autograd import no_grad
from .nn.modules import _zero_grad
from .tensor import Tensor

__all__ = ["Optimizer", "SGD"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Holds ``param_groups`` (dicts with ``'params'`` and the hyperparameters) and per-parameter
    ``state``; subclasses implement ``step``."""

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
        """Add a group of parameters (with its own hyperparameters; missing ones take the defaults)."""
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
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: ``None`` (default) or zeros in the same tensor."""
        for group in self.param_groups:
            for p in group["params"]:
                _zero_grad(p, set_to_none)

    def step(self, closure: Callable | None = None) -> Any:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """``{'state': {index: state}, 'param_groups': [group with parameter indices]}``."""
        index: dict = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        params = [p for g in self.param_groups for p in g["params"]]
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
            mine.update({k: v for k, v in theirs.items() if k != "params"})
        self.state = defaultdict(dict)
        for i, s in state_dict["state"].items():
            self.state[params[i]] = {k: (v.clone() if isinstance(v, Tensor) and hasattr(v, "clone") else v)
                                     for k, v in s.items()}

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

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


def _typename(x: Any) -> str:
    if isinstance(x, Array):
        return "torch." + {"float32": "Float", "float64": "Double", "int64": "Long"}.get(x._data.dtype.name, "") + "Tensor"
    return type(x).__name__


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * d_p`` where ``d_p`` is the gradient, plus weight decay
    and (Nesterov) momentum as PyTorch computes them."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False) -> None:
        if isinstance(lr, Array) and lr._data.size != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=None, differentiable=False,
                                      fused=None))

    def step(self, closure: Callable | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()`` when given."""
        loss = None
        if closure is not None:
            from .autograd import enable_grad  # noqa: PLC0415
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
                weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    d_p = -g if maximize else g
                    if weight_decay != 0:
                        d_p = d_p + weight_decay * p
                    if momentum != 0:
                        state = self.state[p]
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = Tensor._make(d_p._data.copy())
                            state["momentum_buffer"] = buf
                        else:
                            buf *= momentum
                            buf += (1 - dampening) * d_p if dampening != 0 else d_p
                        d_p = d_p + momentum * buf if nesterov else buf
                    p -= lr * d_p
        return loss

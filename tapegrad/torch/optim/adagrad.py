"""``torch.optim.Adagrad`` (with ``lr_decay``, ``initial_accumulator_value``, ``weight_decay`` and
``maximize``), as PyTorch's single-tensor step computes it."""
from __future__ import annotations

from typing import Any, Iterable

from ...backend import xp_of
from ..tensor import Tensor
from .optimizer import (Optimizer, _addcmul_, _check_lr, _check_nonnegative, _check_options, _count, _grad_in,
                        _new_step, _real, _scalar)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: ``s += g**2`` and ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)``, with ``s``
    starting at ``initial_accumulator_value``. Its state exists from construction on, as in PyTorch."""

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonnegative(lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, epsilon=eps)
        _check_options(differentiable, fused, foreach)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    _LOAD_DEFAULTS = {"foreach": None, "maximize": False, "differentiable": False, "fused": None}

    def _init_state(self, p: Tensor) -> None:
        state = self.state[p]
        state["step"] = _new_step()
        init = self.defaults["initial_accumulator_value"]
        d = p._data
        state["sum"] = Tensor._make(xp_of((d,)).full_like(d, complex(init, init) if d.dtype.kind == "c" else init))

    def _update(self, group: dict, param: Tensor, p: Any, g: Any) -> None:
        state = self.state[param]
        if not state:  # a parameter of a group added after construction
            self._init_state(param)
        step = _count(state)
        g = _grad_in(g, p, group["maximize"], group["weight_decay"])
        clr = _scalar(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        s = _real(state["sum"]._data)
        _addcmul_(s, g, g, 1)
        std = xp_of((s,)).sqrt(s)
        std += group["eps"]
        p += -clr * (g / std)

"""``torch.optim.SGD``: stochastic gradient descent with momentum, dampening, Nesterov momentum, weight
decay and ``maximize``, as PyTorch's single-tensor step computes it."""
from __future__ import annotations

from typing import Any, Iterable

from ..tensor import Tensor
from .optimizer import Optimizer, _add, _check_lr, _check_options, _grad_in, _real, _scalar, _unreal

__all__ = ["SGD"]


class SGD(Optimizer):
    """``p -= lr * d`` with ``d`` the gradient (negated under ``maximize``) plus ``weight_decay * p``,
    replaced by the momentum buffer ``b = momentum * b + (1 - dampening) * d`` (the first ``b`` is ``d``)
    when ``momentum`` is nonzero, or by ``d + momentum * b`` with ``nesterov``."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))
        _check_options(differentiable, fused)

    _LOAD_DEFAULTS = {"nesterov": False, "maximize": False, "foreach": None, "differentiable": False,
                      "fused": False}

    def _update(self, group: dict, param: Tensor, p: Any, g: Any) -> None:
        d = _grad_in(g, p, group["maximize"], group["weight_decay"])
        momentum = group["momentum"]
        if momentum != 0:
            state = self.state[param]
            buf = state.get("momentum_buffer")
            if buf is None:
                b = d.copy() if d is g else d
                state["momentum_buffer"] = Tensor._make(_unreal(b, param._data))
            else:
                b = _real(buf._data)
                b *= momentum
                dampening = group["dampening"]
                b += d if dampening == 0 else (1 - dampening) * d
            d = _add(d, b, momentum) if group["nesterov"] else b
        p -= _scalar(group["lr"]) * d

"""``torch.optim.Adadelta`` (with ``rho``, ``eps``, ``weight_decay``, ``lr`` and ``maximize``), as
PyTorch's single-tensor step computes it."""
from __future__ import annotations

from typing import Any, Iterable

from ..tensor import Tensor
from .optimizer import (Optimizer, _addcmul_, _check_lr, _check_nonnegative, _check_options, _count, _grad_in,
                        _new_step, _real, _scalar, _xp, _zeros_state)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: ``v = rho * v + (1 - rho) * g**2``, ``d = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho * u + (1 - rho) * d**2`` and ``p -= lr * d``."""

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonnegative(epsilon=eps, weight_decay=weight_decay)
        _check_options(differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    _LOAD_DEFAULTS = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def _update(self, group: dict, param: Tensor, p: Any, g: Any) -> None:
        state = self.state[param]
        if not state:
            state["step"] = _new_step()
            state["square_avg"] = _zeros_state(param)
            state["acc_delta"] = _zeros_state(param)
        _count(state)
        rho, eps = group["rho"], group["eps"]
        g = _grad_in(g, p, group["maximize"], group["weight_decay"])
        square_avg = _real(state["square_avg"]._data)
        acc_delta = _real(state["acc_delta"]._data)
        square_avg *= rho
        _addcmul_(square_avg, g, g, 1 - rho)
        xp = _xp(p)
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= g
        acc_delta *= rho
        _addcmul_(acc_delta, delta, delta, 1 - rho)
        p += -_scalar(group["lr"]) * delta

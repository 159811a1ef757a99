"""``torch.optim.RMSprop`` (with ``centered``, ``momentum``, ``weight_decay`` and ``maximize``), as
PyTorch's single-tensor step computes it."""
from __future__ import annotations

from typing import Any, Iterable

from ..tensor import Tensor
from .optimizer import (Optimizer, _addcmul_, _check_lr, _check_nonnegative, _check_options, _count, _grad_in,
                        _lerp_, _new_step, _real, _scalar, _xp, _zeros_state)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop: ``v = alpha * v + (1 - alpha) * g**2`` and ``p -= lr * g / (sqrt(v) + eps)``; ``centered``
    subtracts the squared running mean of ``g`` from ``v``, ``momentum`` accumulates ``g / (sqrt(v) + eps)``
    in a buffer that the step then applies."""

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative(epsilon=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        _check_options(differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    _LOAD_DEFAULTS = {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                      "differentiable": False, "capturable": False}

    def _update(self, group: dict, param: Tensor, p: Any, g: Any) -> None:
        state = self.state[param]
        momentum, centered = group["momentum"], group["centered"]
        if not state:
            state["step"] = _new_step()
            state["square_avg"] = _zeros_state(param)
            if momentum > 0:
                state["momentum_buffer"] = _zeros_state(param)
            if centered:
                state["grad_avg"] = _zeros_state(param)
        _count(state)
        alpha, lr = group["alpha"], _scalar(group["lr"])
        g = _grad_in(g, p, group["maximize"], group["weight_decay"])
        square_avg = _real(state["square_avg"]._data)
        square_avg *= alpha
        _addcmul_(square_avg, g, g, 1 - alpha)
        xp = _xp(p)
        if centered:
            grad_avg = _real(state["grad_avg"]._data)
            _lerp_(grad_avg, g, 1 - alpha)
            avg = square_avg + (-1 * grad_avg) * grad_avg
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buf = _real(state["momentum_buffer"]._data)
            buf *= momentum
            buf += g / avg
            p -= lr * buf
        else:
            p += -lr * (g / avg)

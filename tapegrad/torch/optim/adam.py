"""``torch.optim.Adam`` and ``AdamW`` (Adam with decoupled weight decay), with ``amsgrad`` and
``maximize``, as PyTorch's single-tensor step computes them."""
from __future__ import annotations

from typing import Any, Iterable

from ..tensor import Tensor
from .optimizer import (Optimizer, _addcmul_, _check_lr, _check_nonnegative, _check_options, _count, _grad_in,
                        _lerp_, _new_step, _real, _scalar, _xp, _zeros_state)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam: running averages ``m`` and ``v`` of the gradient and its square, and
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)`` (``v`` replaced by its running
    maximum with ``amsgrad``). ``weight_decay`` adds ``weight_decay * p`` to the gradient, or, with
    ``decoupled_weight_decay`` (AdamW), multiplies ``p`` by ``1 - lr * weight_decay`` first."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative(epsilon=eps)
        if not 0.0 <= _scalar(betas[0]) < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= _scalar(betas[1]) < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_nonnegative(weight_decay=weight_decay)
        _check_options(differentiable, fused, foreach)
        super().__init__(params, dict(lr=lr, betas=(_scalar(betas[0]), _scalar(betas[1])), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                                      foreach=foreach, capturable=capturable, differentiable=differentiable,
                                      fused=fused, decoupled_weight_decay=decoupled_weight_decay))

    _LOAD_DEFAULTS = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                      "differentiable": False, "fused": None, "decoupled_weight_decay": False}

    def _update(self, group: dict, param: Tensor, p: Any, g: Any) -> None:
        state = self.state[param]
        amsgrad = group["amsgrad"]
        if not state:
            state["step"] = _new_step()
            state["exp_avg"] = _zeros_state(param)
            state["exp_avg_sq"] = _zeros_state(param)
            if amsgrad:
                state["max_exp_avg_sq"] = _zeros_state(param)
        lr = _scalar(group["lr"])
        beta1, beta2 = (_scalar(b) for b in group["betas"])
        weight_decay = group["weight_decay"]
        step = _count(state)
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            p *= 1 - lr * weight_decay
            g = _grad_in(g, p, group["maximize"], 0)
        else:
            g = _grad_in(g, p, group["maximize"], weight_decay)
        exp_avg = _real(state["exp_avg"]._data)
        exp_avg_sq = _real(state["exp_avg_sq"]._data)
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        _addcmul_(exp_avg_sq, g, g, 1 - beta2)
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        if amsgrad:
            v = _real(state["max_exp_avg_sq"]._data)
            xp = _xp(v)
            xp.maximum(v, exp_avg_sq, out=v)
        else:
            v = exp_avg_sq
            xp = _xp(v)
        denom = xp.sqrt(v)
        denom /= bias_correction2_sqrt
        denom += group["eps"]
        p += -step_size * (exp_avg / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam update);
    ``weight_decay`` defaults to 0.01."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

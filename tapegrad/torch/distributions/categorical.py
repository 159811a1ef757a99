"""``torch.distributions.Categorical``: one class index per draw, from (normalised) ``probs``."""
from __future__ import annotations

from typing import Any

import numpy

from ..._core.array import Array
from ...backend import to_host
from .. import _random
from .._dtypes import Size
from ..tensor import Tensor
from .distribution import Distribution

__all__ = ["Categorical"]


def _host(t: Any) -> numpy.ndarray:
    return numpy.asarray(to_host(t._data)) if isinstance(t, Array) else numpy.asarray(t)


class Categorical(Distribution):
    """Class indices ``0..K-1`` drawn with probabilities ``probs / probs.sum(-1)`` (or softmax of ``logits``)."""

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self._given = "probs" if probs is not None else "logits"
        if probs is not None:
            p = _host(probs)
            if p.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            with numpy.errstate(invalid="ignore", divide="ignore"):
                self._p = p / p.sum(-1, keepdims=True)
        else:
            lg = _host(logits)
            if lg.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            e = numpy.exp(lg - lg.max(-1, keepdims=True))
            self._p = e / e.sum(-1, keepdims=True)
            self._logits = lg - numpy.log(numpy.exp(lg - lg.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
                - lg.max(-1, keepdims=True)
        self._num_events = self._p.shape[-1]
        super().__init__(self._p.shape[:-1], (), validate_args)
        if self._validate_args:
            ok = numpy.all(self._p >= 0, axis=-1) & (numpy.abs(self._p.sum(-1) - 1) < 1e-6)
            if not numpy.all(ok):
                raise ValueError(f"Expected parameter probs (Tensor of shape {tuple(self._p.shape)}) of distribution "
                                 f"{self!r} to satisfy the constraint Simplex(), but found invalid values:\n"
                                 f"{Tensor._make(self._p)!r}")

    @property
    def probs(self) -> Tensor:
        return Tensor._make(self._p)

    @property
    def param_shape(self) -> Size:
        return Size(self._p.shape)

    def _repr_params(self) -> list:
        v = self._p if self._given == "probs" else self._logits
        return [(self._given, Tensor._make(v) if v.size == 1 else Size(v.shape))]

    def _draw(self, n: int, generator: Any = None) -> numpy.ndarray:
        """``torch.multinomial(probs_2d, n, True).T``: shape (n, batch)."""
        gen = generator or _random.default_generator
        p2 = self._p.reshape(-1, self._num_events)
        return gen.multinomial(p2, n, True).reshape(p2.shape[0], n).T

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """int64 class indices of shape ``sample_shape + batch_shape``."""
        sample_shape = Size(sample_shape)
        return Tensor._make(self._draw(sample_shape.numel()).reshape(self._extended_shape(sample_shape)))

"""``torch.distributions.multinomial.Multinomial``: counts of ``total_count`` categorical draws."""
from __future__ import annotations

from typing import Any

import numpy

from .._dtypes import Size
from ..tensor import Tensor
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """How often each of K classes comes up in ``total_count`` draws with probabilities ``probs``
    (normalised along the last dimension). ``sample(shape)`` returns counts of shape
    ``shape + batch_shape + (K,)`` in ``probs``' dtype, drawn as PyTorch draws them."""

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(total_count, int) or isinstance(total_count, bool):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return Tensor._make(self._categorical._p * self.total_count)

    @property
    def variance(self) -> Tensor:
        p = self._categorical._p
        return Tensor._make(self.total_count * p * (1 - p))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Counts of shape ``sample_shape + batch_shape + (K,)``, in ``probs``' dtype."""
        sample_shape = Size(sample_shape)
        cat = self._categorical
        shape = Size((self.total_count,) + tuple(sample_shape))
        draws = cat._draw(shape.numel()).reshape(cat._extended_shape(shape))  # (total_count, *sample, *batch)
        draws = numpy.moveaxis(draws, 0, -1)  # (*sample, *batch, total_count)
        k = cat._num_events
        counts = (draws[..., None] == numpy.arange(k)).sum(axis=-2)
        return Tensor._make(counts.astype(cat._p.dtype).reshape(self._extended_shape(sample_shape)))

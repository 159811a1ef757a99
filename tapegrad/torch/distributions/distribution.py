"""``torch.distributions.Distribution``: batch and event shapes, and argument validation."""
from __future__ import annotations

from typing import Any

from .._dtypes import Size

__all__ = ["Distribution"]


class Distribution:
    """Base class: a batch of distributions of shape ``batch_shape`` over events of ``event_shape``."""

    _validate_args = __debug__

    def __init__(self, batch_shape: Any = (), event_shape: Any = (), validate_args: bool | None = None) -> None:
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> Size:
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape: Any = ()) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}: {v}" for k, v in self._repr_params())
        return f"{type(self).__name__}({params})"

    def _repr_params(self) -> list:
        return []

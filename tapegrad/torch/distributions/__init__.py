"""``torch.distributions``: the part D2L's probability chapter uses (``multinomial.Multinomial``)."""
from __future__ import annotations

from . import categorical, distribution, multinomial  # noqa: F401
from .categorical import Categorical  # noqa: F401
from .distribution import Distribution  # noqa: F401
from .multinomial import Multinomial  # noqa: F401

__all__ = ["Distribution", "Categorical", "Multinomial", "categorical", "distribution", "multinomial"]

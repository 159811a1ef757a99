"""``tapegrad.scipy.stats.t``: ``scipy.stats.t``'s functions, differentiable on tapegrad arrays
(see ``tapegrad/ops/stats.py``)."""
from __future__ import annotations

from ._dist import distribution

__getattr__, __dir__ = distribution("t", globals())

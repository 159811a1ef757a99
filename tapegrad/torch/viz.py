"""``torch.viz.draw(loss)``: a picture of the graph behind a tensor, nodes named by their ``grad_fn``
(``MulBackward0``); see ``tapegrad.viz``."""
from __future__ import annotations

from ..viz import Picture, draw

__all__ = ["draw", "Picture"]

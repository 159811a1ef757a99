"""``torch.utils``: ``dlpack`` (zero-copy exchange with other array libraries)."""
from . import dlpack  # noqa: F401

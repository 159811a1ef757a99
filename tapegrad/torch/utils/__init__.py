"""``torch.utils``: ``data`` (datasets, samplers, ``DataLoader``) and ``dlpack`` (zero-copy exchange
with other array libraries)."""
from . import data, dlpack  # noqa: F401

"""The op library. Importing it declares every op into the registry."""
from . import registry  # noqa: F401
from . import elementwise, reduce, shape, indexing, linalg, nn, nondiff, fft, conv, special  # noqa: F401
from . import signal, scipy_linalg, integrate  # noqa: F401 - tapegrad.scipy's ops
from .._core.array import check_engine_ops

check_engine_ops()

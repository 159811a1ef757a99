"""Elementwise kernels compiled by Numba, for ``tapegrad.compile``'s fusion on the CPU (the optional
extra ``tapegrad[jit]``). Numba is imported on first use; without it ``available()`` is False and
the compiler replays op by op on NumPy."""
from __future__ import annotations

import functools
import linecache
from typing import Any, Callable

import numpy


@functools.cache
def available() -> bool:
    """Whether Numba can be imported."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


_CACHE: dict[tuple, Callable] = {}


def compile_kernel(src: str, name: str, env: dict[str, Any], args: list[tuple[numpy.dtype, int, bool]]) -> Callable:
    """The function ``name`` defined by ``src`` (globals ``env``), compiled by Numba in nopython mode
    for arrays described by ``args``: (dtype, ndim, C-contiguous) each. Other layouts met later
    compile on first call. The same source and arguments give the same kernel."""
    import numba
    key = (src, tuple((numpy.dtype(d).str, n, c) for d, n, c in args),
           tuple(sorted((k, repr(v)) for k, v in env.items())))
    k = _CACHE.get(key)
    if k is not None:
        return k
    filename = f"<tapegrad fused kernel {len(_CACHE)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = dict(env)
    exec(compile(src, filename, "exec"), ns)
    k = numba.njit(nogil=True, error_model="numpy")(ns[name])  # (x / 0 is inf, as in NumPy)
    k.compile(tuple(numba.types.Array(numba.from_dtype(numpy.dtype(d)), max(n, 1), "C" if c else "A")
                    for d, n, c in args))
    _CACHE[key] = k
    return k

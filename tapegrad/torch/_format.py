"""PyTorch-exact ``repr`` of CPU tensors, computed from NumPy arrays.

This is a NumPy port of the algorithm in PyTorch's ``torch/_tensor_str.py``
(PyTorch 2.x): one ``_Formatter`` per tensor (two for complex tensors, one
for the real parts and one for the imaginary parts) decides between integer
mode (``0.``), fixed mode (``{:.4f}``) and scientific mode (``{:.4e}``) and a
common field width; the nested-bracket layout, line wrapping at
``linewidth``, summarization with ``...`` above ``threshold`` elements and
the placement of the suffixes (``dtype=...``, ``requires_grad=True``,
``grad_fn=<...>``) follow the same rules, quirks included.

Only dense CPU tensors are covered: no device, layout, sparse, quantized,
named or nested tensor suffixes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = [
    "format_tensor",
    "set_printoptions",
    "get_printoptions",
    "printoptions",
    "torch_dtype_name",
]


# ---------------------------------------------------------------------------
# print options (module-level state, like torch._tensor_str.PRINT_OPTS)
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
):
    """Mirror of ``torch.set_printoptions``.

    As in PyTorch, a profile (``"default"``, ``"short"``, ``"full"``) is
    applied first and the explicit arguments override it; ``sci_mode`` is
    always assigned, so a call without it resets it to ``None`` (automatic).
    An unknown profile name is ignored, as PyTorch does.
    """
    if profile is not None and profile in _PROFILES:
        for key, value in _PROFILES[profile].items():
            setattr(_OPTS, key, value)
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Mirror of ``torch._tensor_str.get_printoptions``: the current options."""
    return dataclasses.asdict(_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs) -> Iterator[None]:
    """Mirror of ``torch._tensor_str.printoptions``: options for a ``with`` block."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------

# NumPy dtype name -> PyTorch dtype name (``str(torch.<dtype>)`` is "torch.<name>")
_TORCH_DTYPES = {
    "bool": "bool",
    "uint8": "uint8",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "float16": "float16",
    "bfloat16": "bfloat16",  # only reachable through ml_dtypes
    "float32": "float32",
    "float64": "float64",
    "complex64": "complex64",
    "complex128": "complex128",
}


def torch_dtype_name(dtype) -> str:
    """``str(torch_dtype)`` for a NumPy dtype, e.g. ``"torch.float64"``."""
    dtype = np.dtype(dtype)
    name = _TORCH_DTYPES.get(dtype.name)
    if name is None:
        raise TypeError(f"no PyTorch dtype corresponds to NumPy dtype {dtype}")
    return "torch." + name


def _kind(dtype: np.dtype) -> str:
    """'b' bool, 'i' integer, 'f' floating, 'c' complex."""
    if dtype.name == "bfloat16":
        return "f"
    if dtype.kind == "b":
        return "b"
    if dtype.kind in "iu":
        return "i"
    if dtype.kind == "f":
        return "f"
    if dtype.kind == "c":
        return "c"
    raise TypeError(f"no PyTorch dtype corresponds to NumPy dtype {dtype}")


# ---------------------------------------------------------------------------
# the formatter
# ---------------------------------------------------------------------------


class _Formatter:
    """Chooses one display mode and one field width for a set of values.

    ``values`` is the (possibly summarized) array; ``floating`` says whether
    it is of a floating type (the real or imaginary part of a complex tensor
    counts as floating).
    """

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        flat = values.reshape(-1)
        precision = _OPTS.precision

        if not floating:
            # integers and bools print with str(); the widest string of an
            # integer set is that of its largest or its smallest element
            if flat.size:
                if flat.dtype.kind == "b":
                    candidates: set = {bool(v) for v in np.unique(flat)}
                else:
                    candidates = {int(flat.min()), int(flat.max())}
                for value in candidates:
                    self.max_width = max(self.max_width, len(str(value)))
        else:
            flat = flat.astype(np.float64)
            nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
            if nonzero_finite.size == 0:
                # nothing to measure: keep the defaults (and, as in PyTorch,
                # do not apply a forced sci_mode either)
                return

            magnitudes = np.abs(nonzero_finite)
            vmin = float(magnitudes.min())
            vmax = float(magnitudes.max())
            self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
            # distinct values give the same widths and are cheaper to format
            distinct = np.unique(nonzero_finite).tolist()

            if self.int_mode:
                # integers get a trailing '.', hence the + 1
                if vmax / vmin > 1000.0 or vmax > 1.0e8:
                    self.sci_mode = True
                    for value in distinct:
                        width = len(f"{value:.{precision}e}")
                        self.max_width = max(self.max_width, width)
                else:
                    for value in distinct:
                        width = len(f"{value:.0f}") + 1
                        self.max_width = max(self.max_width, width)
            else:
                if vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4:
                    self.sci_mode = True
                    for value in distinct:
                        width = len(f"{value:.{precision}e}")
                        self.max_width = max(self.max_width, width)
                else:
                    for value in distinct:
                        width = len(f"{value:.{precision}f}")
                        self.max_width = max(self.max_width, width)

        if _OPTS.sci_mode is not None:
            self.sci_mode = _OPTS.sci_mode

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        precision = _OPTS.precision
        if self.floating_dtype:
            value = float(value)
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = str(value)
        return " " * (self.max_width - len(text)) + text


def _complex_text(value: complex, real_fmt: _Formatter, imag_fmt: _Formatter) -> str:
    real_text = real_fmt.format(value.real)
    imag_text = (imag_fmt.format(value.imag) + "j").lstrip()
    # a sign of its own (negative numbers, -0.0, forced '+') needs no '+'
    if imag_text[0] in "+-":
        return real_text + imag_text
    return real_text + "+" + imag_text


# ---------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------


class _Layout:
    def __init__(self, summarize: bool, fmt1: _Formatter, fmt2: _Formatter | None):
        self.summarize = summarize
        self.fmt1 = fmt1
        self.fmt2 = fmt2

    def element(self, value) -> str:
        if self.fmt2 is not None:
            return _complex_text(complex(value), self.fmt1, self.fmt2)
        return self.fmt1.format(value)

    def _cut(self, length: int) -> bool:
        return self.summarize and length > 2 * _OPTS.edgeitems

    def scalar(self, arr: np.ndarray) -> str:
        return self.element(arr.item())

    def vector(self, arr: np.ndarray, indent: int) -> str:
        # every element takes its width plus ", "
        element_length = self.fmt1.width() + 2
        if self.fmt2 is not None:
            element_length += self.fmt2.width() + 1  # the imaginary part and 'j'
        per_line = max(1, int(math.floor((_OPTS.linewidth - indent) / element_length)))

        edge = _OPTS.edgeitems
        if self._cut(arr.shape[0]):
            items = (
                [self.element(v) for v in arr[:edge].tolist()]
                + [" ..."]
                + [self.element(v) for v in arr[-edge:].tolist()]
            )
        else:
            items = [self.element(v) for v in arr.tolist()]

        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"

    def nested(self, arr: np.ndarray, indent: int) -> str:
        if arr.ndim == 0:
            return self.scalar(arr)
        if arr.ndim == 1:
            return self.vector(arr, indent)

        edge = _OPTS.edgeitems
        n = arr.shape[0]
        if self._cut(n):
            parts = (
                [self.nested(arr[i], indent + 1) for i in range(0, edge)]
                + ["..."]
                + [self.nested(arr[i], indent + 1) for i in range(n - edge, n)]
            )
        else:
            parts = [self.nested(arr[i], indent + 1) for i in range(n)]
        separator = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
        return "[" + separator.join(parts) + "]"


def _summarized(arr: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows (edge rows of every dimension)."""
    if arr.ndim == 0:
        return arr
    edge = _OPTS.edgeitems
    n = arr.shape[0]
    if arr.ndim == 1:
        if n > 2 * edge:
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if n > 2 * edge:
        rows = [arr[i] for i in range(0, edge)] + [arr[i] for i in range(n - edge, n)]
    else:
        rows = [arr[i] for i in range(n)]
    return np.stack([_summarized(row) for row in rows])


def _tensor_body(arr: np.ndarray, indent: int) -> str:
    if arr.size == 0:
        return "[]"
    summarize = arr.size > _OPTS.threshold
    kind = _kind(arr.dtype)

    if kind == "f" and arr.dtype.itemsize < 4:
        # half precision types are printed through float32, as in PyTorch
        arr = arr.astype(np.float32)

    if kind == "c":
        real, imag = arr.real, arr.imag
        real_fmt = _Formatter(_summarized(real) if summarize else real, True)
        imag_fmt = _Formatter(_summarized(imag) if summarize else imag, True)
        return _Layout(summarize, real_fmt, imag_fmt).nested(arr, indent)

    fmt = _Formatter(_summarized(arr) if summarize else arr, kind == "f")
    return _Layout(summarize, fmt, None).nested(arr, indent)


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int) -> str:
    pieces = [text]
    # PyTorch's measure of the last line (rfind gives -1 on a one-line text,
    # which makes a one-line text count two characters longer; kept as is)
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _OPTS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last_line_len += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------


def format_tensor(
    data,
    suffixes: Sequence[str] | None = None,
    *,
    default_dtype="float32",
) -> str:
    """PyTorch's ``repr`` of a dense CPU tensor holding ``data``.

    ``suffixes`` are the parts PyTorch adds after the dtype, in order, such
    as ``"requires_grad=True"`` or ``"grad_fn=<MulBackward0>"``.  The dtype
    suffix is added here: it is left out for the default floating type
    (``default_dtype``, float32 unless ``torch.set_default_dtype`` changed
    it), its complex counterpart, int64 and bool; empty tensors always show
    a non-default dtype and, unless 1-D, their size.
    """
    arr = np.asarray(data)
    dtype_text = torch_dtype_name(arr.dtype)  # rejects dtypes PyTorch lacks
    default = np.dtype(default_dtype)
    default_complex = np.dtype(np.complex128 if default == np.float64 else np.complex64)

    prefix = "tensor("
    indent = len(prefix)
    parts: list[str] = []
    if arr.size == 0:
        if arr.ndim != 1:
            parts.append("size=" + str(tuple(int(n) for n in arr.shape)))
        if arr.dtype != default:
            parts.append("dtype=" + dtype_text)
    else:
        if arr.dtype not in (default, default_complex, np.dtype(np.int64), np.dtype(np.bool_)):
            parts.append("dtype=" + dtype_text)
    body = _tensor_body(arr, indent)
    parts.extend(suffixes or ())
    return _add_suffixes(prefix + body, parts, indent)

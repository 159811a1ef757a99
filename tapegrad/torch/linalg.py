"""``torch.linalg``: PyTorch's linear algebra over the op registry's ``tapegrad.ops.linalg`` ops.

Each function checks its arguments as PyTorch 2.13 does (with its messages) and calls registry ops, whose
rules carry the gradients: nothing here differentiates. Decompositions return PyTorch's named tuples
(``torch.return_types.linalg_qr`` with ``.Q`` and ``.R``, ``linalg_eigh`` with ``.eigenvalues`` and
``.eigenvectors``...). Failures of the factorizations (a singular matrix, one that is not positive-definite)
raise ``torch.linalg.LinAlgError``, a RuntimeError, naming the batch element as PyTorch does.

Gradients of the functions that read one triangle of a Hermitian matrix (``cholesky``, ``eigh``,
``eigvalsh``) follow PyTorch's convention: Hermitian, shared by both triangles; that of
``pinv(hermitian=True)`` is, as PyTorch's, pinv's general one at the Hermitian matrix read.

Compositions where PyTorch has a kernel of its own: ``lstsq`` is ``pinv(A) @ B`` (PyTorch's own backward
of ``lstsq`` goes through ``pinv``, so the gradients are the same), ``vector_norm`` over several dimensions
merges them into one first, ``matrix_rank`` counts singular values (no gradient, as in PyTorch).
"""
from __future__ import annotations

import builtins
import math
from typing import Any, Callable

import numpy

from .._core.array import OPS, Array
from .._core.mode import ACTIVE as _FORWARD
from ..backend import to_host, xp_of
from ._dtypes import to_numpy_dtype
from ._functions._util import _KIND, _cast, _kind, _norm_dim, _t
from ._functions.linalg import _broadcast_batch, matmul
from ._functions.reduce import _return_type
from ._functions.shape import movedim, reshape
from .tensor import Tensor

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "solve", "det", "slogdet", "cholesky", "qr",
           "svd", "svdvals", "eigh", "eigvalsh", "pinv", "lstsq", "matrix_rank", "cross", "matmul"]

_INF = math.inf
_int, _float, _bool = builtins.int, builtins.float, builtins.bool


class LinAlgError(RuntimeError):
    """A factorization failed on its input (singular, not positive-definite...): PyTorch's
    ``torch.linalg.LinAlgError``, a RuntimeError."""


_SLOGDET = _return_type("linalg_slogdet", ("sign", "logabsdet"))
_QR = _return_type("linalg_qr", ("Q", "R"))
_SVD = _return_type("linalg_svd", ("U", "S", "Vh"))
_EIGH = _return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
_LSTSQ = _return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


# -- PyTorch's checks -------------------------------------------------------------------------------


def _floating(x: Tensor, fname: str) -> None:
    """PyTorch's dtype check of a linear-algebra input (floating or complex, not half)."""
    kind = x._data.dtype.kind
    if kind not in "fc":
        raise RuntimeError(f"{fname}: Expected a floating point or complex tensor as input. Got {_kind(x)}")
    if x._data.dtype.itemsize < 4:
        raise RuntimeError(f"{fname}: Low precision dtypes not supported. Got {_kind(x)}")


def _matrix(x: Tensor, fname: str, square: bool = False, floating: bool = True) -> None:
    """At least two dimensions (and square matrices, and a floating dtype, where asked)."""
    if x.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    if square and x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"{fname}: A must be batches of square matrices, but they are {x.shape[-2]} by "
                           f"{x.shape[-1]} matrices")
    if floating:
        _floating(x, fname)


def _batches(shape: tuple) -> list:
    return list(numpy.ndindex(*shape)) if shape else [()]


def _failing(x: Tensor, test: Callable) -> tuple:
    """The first batch index whose matrix makes ``test`` (a NumPy call) fail, and its PyTorch prefix
    (``"(Batch element 1): "``, empty for a single matrix); read only when a call failed."""
    a = numpy.asarray(x)
    batch = a.shape[:-2]
    for k, idx in enumerate(_batches(batch)):
        try:
            test(a[idx])
        except numpy.linalg.LinAlgError:
            return idx, (f"(Batch element {k}): " if batch else "")
    return None, ""


def _minor_order(a: numpy.ndarray, upper: bool) -> int:
    """The order of the first leading minor of ``a`` that is not positive-definite (LAPACK's ``info``): the
    minors' definiteness is monotone (a minor of a positive-definite matrix is one), so a bisection finds it."""
    lo, hi = 1, a.shape[-1]
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            numpy.linalg.cholesky(a[:mid, :mid] if not upper else a[:mid, :mid].conj().T)
            lo = mid + 1
        except numpy.linalg.LinAlgError:
            hi = mid
    return lo


def _dims(dim: Any) -> tuple:
    if isinstance(dim, (_int, numpy.integer, Array)):
        return (_int(dim),)
    return tuple(_int(d) for d in dim)


def _as_hermitian(A: Tensor, lower: bool) -> Tensor:
    """``A`` for an op that reads one triangle of it (cholesky, eigh, eigvalsh),
    with PyTorch's gradient convention: PyTorch differentiates these as functions of a Hermitian matrix, so
    the gradient is Hermitian, shared by both triangles (the registry's ops, like NumPy, put it on the
    triangle read). The values are those the op reads; the gradient goes through ``(A + A^H) / 2``."""
    if A._node is None and not _FORWARD.get():
        return A  # no gradient to shape
    a = A._data
    xp = xp_of((a,))
    ah = xp.conj(xp.swapaxes(a, -1, -2))
    read = xp.tril(a) + xp.triu(ah, 1) if lower else xp.triu(a) + xp.tril(ah, -1)
    herm = OPS.multiply(OPS.add(A, OPS.conj(OPS.swapaxes(A, -1, -2))), 0.5)
    return OPS.add(herm, Tensor._make(read - (a + ah) * 0.5))  # (a constant: the values the op reads)


# -- norms ------------------------------------------------------------------------------------------


def _norm_dtype(x: Tensor, dtype: Any, fname: str) -> Tensor:
    """``x`` cast to the ``dtype=`` of a norm, with PyTorch's refusals."""
    if dtype is None:
        return x
    dt = to_numpy_dtype(dtype)
    src = x._data.dtype
    if dt.kind not in "fc":
        raise RuntimeError(f"{fname}: dtype should be floating point or complex, but got {_kind(dt)}")
    if src.kind == "c" and dt.kind != "c":
        raise RuntimeError(f"{fname}: dtype should be complex for complex inputs, but got {_kind(dt)}")
    if src.kind != "c" and dt.kind == "c":
        raise RuntimeError(f"{fname}: dtype should be real for real inputs, but got {_kind(dt)}")
    if dt.itemsize < src.itemsize:
        raise RuntimeError(f"{fname}: the dtype of the input ({_kind(src)}) should be convertible without "
                           f"narrowing to the specified dtype ({_kind(dt)})")
    return _cast(x, dt)


def _ord_number(ord: Any, fname: str) -> Any:  # noqa: A002
    if isinstance(ord, (str, bytes)) or not isinstance(ord, (_int, _float, numpy.number)):
        raise TypeError(f"{fname}(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
    return ord.item() if isinstance(ord, numpy.number) else ord


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
                dtype: Any = None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (an int, a tuple of any length; None or ``()``: every element):
    ``ord`` any real number, ``inf``, ``-inf`` or 0 (the count of nonzeros). The gradient is 0 where the norm
    is 0 (see ``tapegrad.ops.linalg.norm`` for the conventions at kinks)."""
    x = _t(x, "linalg_vector_norm", argname="input")
    ord = _ord_number(ord, "linalg_vector_norm")  # noqa: A001
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {_kind(x)}")
    x = _norm_dtype(x, dtype, "linalg.vector_norm")
    nd = x.ndim
    dims = tuple(range(nd)) if dim is None else _dims(dim)
    if not dims:
        dims = tuple(range(nd))
    axes = tuple(_norm_dim(d, nd) for d in dims)
    if len(set(axes)) != len(axes):
        dup = next(a for a in axes if axes.count(a) > 1)
        raise RuntimeError(f"dim {dup} appears multiple times in the list of dims")
    if ord in (_INF, -_INF):
        for a in axes:
            if nd and x.shape[a] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {'' if ord > 0 else '-'}inf norm on the "
                                   f"dimension {a}because this dimension is empty and the operation does not have "
                                   "an identity")
    o = None if ord == 2 else ord
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    if nd == 0:
        res = OPS.norm(reshape(x, (1,)), o, 0, False)
        return res
    if dim is None or len(axes) == nd:  # every element: a vector's norm of the flattened tensor
        if ord == 2 or nd == 1:  # (one flat 2-norm, or the vector itself)
            return OPS.norm(x, o, None, keepdim)
        res = OPS.norm(reshape(x, (-1,)), o, None, False)
        return OPS.reshape(res, kept) if keepdim else res
    if len(axes) == 1:
        return OPS.norm(x, o, dims[0], keepdim)  # (the dim as given: the node records it, as PyTorch's)
    # several dimensions: merge them into the last one (views linked to x, as the norm saves its input)
    ax = tuple(sorted(axes))
    moved = movedim(x, ax, tuple(range(nd - len(ax), nd)))
    flat = reshape(moved, tuple(moved.shape[:nd - len(ax)]) + (-1,))
    res = OPS.norm(flat, o, -1, False)
    return OPS.reshape(res, kept) if keepdim else res


_MATRIX_ORDS = ("fro", "nuc", _INF, -_INF, 1, -1, 2, -2)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,  # noqa: A002
                dtype: Any = None) -> Tensor:
    """The matrix norm over the two dimensions ``dim``: ``ord`` 'fro', 'nuc', inf, -inf, 1, -1, 2, -2
    (2, -2 and 'nuc' through the singular values, which need to be distinct for their gradients)."""
    A = _t(A, "linalg_matrix_norm", argname="input")
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    else:
        ord = _ord_number(ord, "linalg_matrix_norm")  # noqa: A001
        if abs(ord) not in (1, 2, _INF):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord:g} not supported.")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.matrix_norm")
    dims = _dims(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dims))}")
    axes = tuple(_norm_dim(d, A.ndim) for d in dims)
    if axes[0] == axes[1]:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({axes[0]}, {axes[1]})")
    A = _norm_dtype(A, dtype, "linalg.matrix_norm")
    return OPS.norm(A, None if ord == "fro" else ord, axes, keepdim)


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """A vector norm (``dim`` of one dimension, or ``ord=None`` with no ``dim``: every element) or a matrix
    norm (``dim`` of two dimensions, or a 2-D ``A`` with ``ord`` given), as PyTorch chooses."""
    A = _t(A, "linalg_norm", argname="input")
    dims = None if dim is None else _dims(dim)
    if dims is not None:
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    elif ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.ndim}D.")
    if isinstance(ord, str):
        return matrix_norm(A, ord, dims if dims is not None else (0, 1), keepdim, dtype=dtype)
    if ord is not None and ((dims is not None and len(dims) == 2) or (dims is None and A.ndim == 2)):
        return matrix_norm(A, ord, dims if dims is not None else (0, 1), keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)


# -- inverses, determinants, solves ---------------------------------------------------------------


def inv(A: Tensor) -> Tensor:
    """The inverse of a (batch of) square matrices; a singular one raises ``LinAlgError``."""
    A = _t(A, "linalg_inv", argname="A")
    _matrix(A, "linalg.inv", square=True)
    try:
        return OPS.inv(A)
    except numpy.linalg.LinAlgError:
        pass
    _idx, where = _failing(A, numpy.linalg.inv)
    raise LinAlgError(f"linalg.inv: {where}The inversion could not be completed because the input matrix is "
                      "singular (a zero pivot in its LU factorization).")


def det(A: Tensor) -> Tensor:
    """The determinant of a (batch of) square matrices (0 for a singular one; its gradient needs an
    invertible matrix)."""
    A = _t(A, "linalg_det", argname="A")
    _matrix(A, "linalg.det", square=True)
    return OPS.det(A)


def slogdet(A: Tensor) -> Any:
    """``(sign, logabsdet)`` of the determinant (``sign`` 0 and ``logabsdet`` -inf for a singular matrix)."""
    A = _t(A, "linalg_slogdet", argname="A")
    _matrix(A, "linalg.slogdet", square=True)
    sign, logabsdet = OPS.slogdet(A)
    return _SLOGDET(sign, logabsdet)


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule: ``B`` is a (batch of) vectors when 1-D, or when it has A's batch shape and one
    dimension less than A."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A @ X = B`` (``left=False``: ``X @ A = B``); ``B`` is a (batch of) vectors where PyTorch
    reads it so; batch dimensions broadcast. A singular ``A`` raises ``LinAlgError``."""
    A = _t(A, "linalg_solve", argname="A")
    B = _t(B, "linalg_solve", 2, "B")
    _matrix(A, "linalg.solve", square=True)
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type {_kind(A)} "
                           f"and B of type {_kind(B)} instead")
    vector = left and _is_vector_rhs(A, B)
    n = A.shape[-1]
    if vector:
        rows = B.shape[-1]
        if rows != n:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({n}x{n} and "
                               f"{rows}x1)")
    elif B.ndim < 2 or B.shape[-2 if left else -1] != n:
        shape_b = f"{B.shape[-2]}x{B.shape[-1]}" if B.ndim >= 2 else f"{B.shape[-1]}x1"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {'AX' if left else 'XA'} "
                           f"= B ({n}x{n} and {shape_b})")
    if not vector:
        _broadcast_batch(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    a, b = A, B
    if not left:  # X A = B  <=>  A^T X^T = B^T
        a, b = OPS.swapaxes(A, -1, -2), OPS.swapaxes(B, -1, -2)
    elif vector and B.ndim > 1:  # NumPy 2 reads only a 1-D b as a vector
        b = OPS.expand_dims(B, -1)
    try:
        x = OPS.solve(a, b)
    except numpy.linalg.LinAlgError:
        _idx, where = _failing(A, numpy.linalg.inv)
        raise LinAlgError(f"torch.linalg.solve: {where}The solver failed because the input matrix is "
                          "singular.") from None
    if not left:
        return OPS.swapaxes(x, -1, -2)
    if vector and B.ndim > 1:
        return OPS.squeeze(x, -1)
    return x


# -- decompositions --------------------------------------------------------------------------------


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor ``L`` (``A = L L^H``; ``upper=True``: ``U = L^H``) of a Hermitian positive-definite
    matrix, read from its lower triangle (upper with ``upper=True``); otherwise ``LinAlgError``."""
    A = _t(A, "linalg_cholesky", argname="A")
    _matrix(A, "linalg.cholesky", square=True)
    try:
        return OPS.cholesky(_as_hermitian(A, not upper), upper=upper)
    except numpy.linalg.LinAlgError:
        pass
    test = (lambda a: numpy.linalg.cholesky(a.conj().T)) if upper else numpy.linalg.cholesky
    idx, where = _failing(A, test)
    order = _minor_order(numpy.asarray(A)[idx], upper) if idx is not None else A.shape[-1]
    raise LinAlgError(f"linalg.cholesky: {where}The factorization could not be completed because the input is not "
                      f"positive-definite (the leading minor of order {order} is not positive-definite).")


def qr(A: Tensor, mode: str = "reduced") -> Any:
    """``(Q, R)`` with ``A = Q R``: ``mode`` 'reduced' (Q is m x k), 'complete' (Q is m x m) or 'r' (R only;
    Q is empty). Unlike PyTorch, R from ``mode='r'`` has a gradient (through the reduced factorization)."""
    A = _t(A, "linalg_qr", argname="A")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    _matrix(A, "linalg.qr")
    if mode == "r":
        _q, r = OPS.qr(A, mode="reduced")
        return _QR(Tensor._make(xp_of((A._data,)).zeros((0,), dtype=A._data.dtype)), r)
    q, r = OPS.qr(A, mode=mode)
    return _QR(q, r)


def svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None) -> Any:
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``; gradients need distinct nonzero singular values (and, with
    ``full_matrices=True`` on a non-square ``A``, no cotangent on the extra columns of U / rows of Vh)."""
    A = _t(A, "linalg_svd", argname="A")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    _matrix(A, "linalg.svd")
    u, s, vh = OPS.svd(A, full_matrices=_bool(full_matrices))
    return _SVD(u, s, vh)


def svdvals(A: Tensor, *, driver: Any = None) -> Tensor:
    """The singular values, descending (their gradient needs no distinct values)."""
    A = _t(A, "linalg_svdvals", argname="A")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    _matrix(A, "linalg.svd")
    return OPS.svdvals(A)


def _uplo(UPLO: str) -> str:  # noqa: N803
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO.upper()


def eigh(A: Tensor, UPLO: str = "L") -> Any:  # noqa: N803 - PyTorch's name
    """Eigenvalues (ascending, real) and orthonormal eigenvectors of a Hermitian matrix read from its lower
    (``UPLO='L'``) or upper triangle; the eigenvectors' gradient needs distinct eigenvalues."""
    A = _t(A, "linalg_eigh", argname="A")
    _matrix(A, "linalg.eigh", square=True)
    uplo = _uplo(UPLO)
    w, v = OPS.eigh(_as_hermitian(A, uplo == "L"), UPLO=uplo)
    return _EIGH(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues of a Hermitian matrix (see ``eigh``), ascending."""
    A = _t(A, "linalg_eigvalsh", argname="A")
    _matrix(A, "linalg.eigh", square=True)
    uplo = _uplo(UPLO)
    return OPS.eigvalsh(_as_hermitian(A, uplo == "L"), UPLO=uplo)


# -- pseudo-inverse, least squares, rank ----------------------------------------------------------


def _eps_rtol(A: Tensor) -> float:
    """PyTorch's default relative tolerance: the dtype's epsilon times the larger matrix dimension."""
    real = numpy.finfo(A._data.dtype).eps
    return _float(real) * builtins.max(A.shape[-2], A.shape[-1])


def _tolerances(A: Tensor, atol: Any, rtol: Any, fname: str) -> tuple:
    """PyTorch's ``(atol, rtol)``: ``rtol`` defaults to eps * max(m, n), or to 0 when ``atol`` > 0 is given."""
    def number(v: Any) -> Any:
        return v.item() if isinstance(v, (Array, numpy.generic)) and numpy.size(v) == 1 else v
    atol, rtol = number(atol), number(rtol)
    if isinstance(atol, Array) or isinstance(rtol, Array):
        raise NotImplementedError(f"{fname}: tensor-valued atol/rtol with more than one element are not supported; "
                                  "pass Python numbers")
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else _eps_rtol(A)
    return (0.0 if atol is None else _float(atol)), _float(rtol)


def _largest_singular(A: Tensor, hermitian: bool) -> numpy.ndarray:
    a = A._data
    xp = xp_of((a,))
    if hermitian:
        return xp.abs(xp.linalg.eigvalsh(a)).max(axis=-1) if a.shape[-1] else xp.zeros(a.shape[:-2])
    s = xp.linalg.svd(a, compute_uv=False)
    return s[..., 0] if s.shape[-1] else xp.zeros(a.shape[:-2], dtype=s.dtype)


def _pinv_call(A: Tensor, atol: float, rtol: float, hermitian: bool) -> Tensor:
    """The registry's ``pinv`` with the cutoff ``max(atol, rtol * s_max)`` given as NumPy's relative ``rcond``
    (per matrix where ``atol`` counts; a constant, so the gradient stays the op's own)."""
    if hermitian:  # PyTorch's backward is pinv's general one: the op on the Hermitian matrix read (same values)
        if A._node is not None or _FORWARD.get():
            a = A._data
            xp = xp_of((a,))
            read = xp.tril(a) + xp.triu(xp.conj(xp.swapaxes(a, -1, -2)), 1)
            A, hermitian = OPS.add(A, Tensor._make(read - a)), False
    if atol == 0.0:
        return OPS.pinv(A, rcond=rtol, hermitian=hermitian)
    smax = numpy.asarray(to_host(_largest_singular(A, hermitian)), dtype=numpy.float64)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        rel = numpy.where(smax > 0, numpy.maximum(atol / numpy.where(smax > 0, smax, 1.0), rtol), _INF)
    rcond = _float(rel) if rel.ndim == 0 else xp_of((A._data,)).asarray(rel)
    return OPS.pinv(A, rcond=rcond, hermitian=hermitian)


def pinv(A: Tensor, rcond: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse, singular values below ``max(atol, rtol * s_max)`` dropped (``rcond``:
    PyTorch's older name of ``rtol``). The gradient is that of a rank-preserving perturbation (Golub-Pereyra)."""
    A = _t(A, "linalg_pinv", argname="input")
    if rcond is not None:
        if atol is not None or rtol is not None:
            raise TypeError("linalg_pinv() received an invalid combination of arguments: rcond (the older name of "
                            "rtol) cannot be given with atol or rtol")
        rtol = rcond
    if A.ndim < 2 or A._data.dtype.kind not in "fc" or A._data.dtype.itemsize < 4:
        kinds = {"float32": "Float", "float64": "Double"}
        raise RuntimeError(f"linalg.pinv({kinds.get(A._data.dtype.name, _kind(A))}{{{list(A.shape)}}}): expected a "
                           "tensor with 2 or more dimensions of float, double, cfloat or cdouble types")
    a_tol, r_tol = _tolerances(A, atol, rtol, "linalg.pinv")
    return _pinv_call(A, a_tol, r_tol, _bool(hermitian))


def _rank_from(A: Tensor, atol: float, rtol: float, hermitian: bool) -> Tensor:
    """The number of singular values above ``max(atol, rtol * s_max)``, an int64 tensor (no gradient)."""
    a = A._data
    xp = xp_of((a,))
    if a.shape[-1] == 0 or a.shape[-2] == 0:
        return Tensor._make(xp.zeros(a.shape[:-2], dtype=numpy.int64))
    s = xp.abs(xp.linalg.eigvalsh(a)) if hermitian else xp.linalg.svd(a, compute_uv=False)
    smax = s.max(axis=-1, keepdims=True)
    cut = xp.maximum(atol, rtol * smax)
    return Tensor._make(xp.asarray((s > cut).sum(axis=-1), dtype=numpy.int64))


def matrix_rank(A: Tensor, tol: Any = None, hermitian: bool = False, *, atol: Any = None,
                rtol: Any = None) -> Tensor:
    """The numerical rank: how many singular values (|eigenvalues| with ``hermitian=True``) exceed
    ``max(atol, rtol * s_max)`` (``tol``: PyTorch's older name of ``atol``). An int64 tensor of the batch shape."""
    A = _t(A, "linalg_matrix_rank", argname="input")
    if tol is not None:
        if atol is not None or rtol is not None:
            raise TypeError("linalg_matrix_rank() received an invalid combination of arguments: tol (the older name "
                            "of atol) cannot be given with atol or rtol")
        atol = tol
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    if A._data.dtype.kind not in "fc":
        raise RuntimeError("This function doesn't handle types other than float and double")
    if hermitian and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.eigh: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    a_tol, r_tol = _tolerances(A, atol, rtol, "linalg.matrix_rank")
    return _rank_from(A, a_tol, r_tol, _bool(hermitian))


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _gels_full_rank(A: Tensor) -> None:
    """LAPACK's gels fails where the triangular factor of ``A`` (R of its QR when tall, L of its LQ when
    wide) has an exact zero on its diagonal; PyTorch reports the first (1-based) as the error code."""
    a = numpy.asarray(A)
    m, n = a.shape[-2:]
    r = numpy.linalg.qr(a if m >= n else numpy.conj(numpy.swapaxes(a, -1, -2)), mode="r")
    diag = numpy.diagonal(r, axis1=-2, axis2=-1).reshape(-1, min(m, n))
    for row in diag:
        zero = numpy.flatnonzero(row == 0)
        if zero.size:
            raise LinAlgError("torch.linalg.lstsq: The least squares solution could not be computed because the "
                              f"input matrix does not have full rank (error code: {int(zero[0]) + 1}).")


def lstsq(A: Tensor, B: Tensor, rcond: Any = None, *, driver: str | None = None) -> Any:
    """The least-squares solution of ``A X = B`` (the minimum-norm one where ``A`` is wide or rank-deficient),
    as ``(solution, residuals, rank, singular_values)``, the fields filled as PyTorch's CPU driver fills them:
    'gelsy' (the default) gives the rank; 'gelsd' and 'gelss' the rank, the singular values and, where
    every matrix is tall and of full rank, the residuals (squared norms of the columns of ``A X - B``);
    'gels' (which needs full rank: otherwise ``LinAlgError``) the residuals of tall matrices. The others are
    empty tensors. Rank and singular values are of ``A``'s own batch, the rest of the broadcast one.

    The solution is ``pinv(A) @ B`` with singular values below ``rcond * s_max`` dropped (``rcond``: the
    dtype's epsilon times max(m, n) by default), so solution and residuals have gradients (PyTorch's backward
    of lstsq goes through ``pinv`` too); rank and singular values have none."""
    A = _t(A, "linalg_lstsq", argname="self")
    B = _t(B, "linalg_lstsq", 2, "b")
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if not (A.ndim >= B.ndim and A.ndim - B.ndim <= 1):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                           f"dtype {_kind(A)} and other's dtype {_kind(B)}")
    if A._data.dtype.kind not in "fc":
        raise RuntimeError("This function doesn't handle types other than float and double")
    vector = B.ndim == A.ndim - 1
    b = OPS.expand_dims(B, -1) if vector else B
    batch = _broadcast_batch(tuple(A.shape[:-2]), tuple(b.shape[:-2]))
    if A.shape[-2] != b.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2], A.shape[-1]
    r_tol = _float(rcond.item() if isinstance(rcond, Array) else rcond) if rcond is not None else _eps_rtol(A)
    if r_tol < 0:  # LAPACK reads a negative rcond as machine precision
        r_tol = _float(numpy.finfo(A._data.dtype).eps)
    real = numpy.finfo(A._data.dtype).dtype
    xp = xp_of((A._data,))

    def empty(dt: Any) -> Tensor:
        return Tensor._make(xp.zeros((0,), dtype=dt))

    if driver == "gels":  # QR (LQ) without pivoting: it needs full rank, and says where it lacks it
        _gels_full_rank(A)
    # rank and singular values are A's own (its batch, not broadcast), as in PyTorch; neither has a gradient
    rank = _rank_from(A, 0.0, r_tol, False) if driver != "gels" else empty(numpy.int64)
    svals = Tensor._make(xp.linalg.svd(A._data, compute_uv=False)) if driver in ("gelsd", "gelss") else empty(real)
    a = A if tuple(A.shape[:-2]) == batch else OPS.broadcast_to(A, batch + (m, n))
    x = matmul(_pinv_call(a, 0.0, r_tol, False), b)
    solution = OPS.squeeze(x, -1) if vector else x
    residuals = empty(real)
    full = driver == "gels" or _bool((numpy.asarray(to_host(rank._data)) == n).all())
    if m > n and full and driver != "gelsy":
        r = OPS.subtract(matmul(a, x), b)
        residuals = OPS.sum(OPS.real(OPS.multiply(OPS.conj(r), r)) if r._data.dtype.kind == "c"
                            else OPS.square(r), axis=-2)
    return _LSTSQ(solution, residuals, rank, svals)


# -- products ---------------------------------------------------------------------------------------


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (batch dimensions broadcast)."""
    a = _t(input, "linalg_cross", argname="input")
    b = _t(other, "linalg_cross", 2, "other")
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = _norm_dim(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and "
                           f"{b.shape[d]}")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_KIND.get(a._data.dtype.name)} but found "
                           f"{_KIND.get(b._data.dtype.name)}")
    _broadcast_batch(tuple(s for i, s in enumerate(a.shape) if i != d),
                     tuple(s for i, s in enumerate(b.shape) if i != d))
    return OPS.cross(a, b, axis=dim)


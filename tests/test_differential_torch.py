"""The PyTorch dialect against real PyTorch 2.13, generated from the op registry.

For every differentiable op of ``tapegrad.ops.registry.REGISTRY`` the PyTorch dialect exposes, on the
op's own samples in float64, real and complex (``complex_variants``): the value, the VJP of a random
cotangent (``torch.autograd.grad``) and the VJP of the VJP (``create_graph=True``, order 2), each
computed by ``tapegrad.torch`` and by ``torch`` through the same call. ``TORCH_CALL`` says how each op
is called in PyTorch's API (a case the API cannot express raises ``Inexpressible`` and is skipped);
an op added to the registry fails ``test_every_op_is_called_or_listed`` until it gets a
``TORCH_CALL`` or a ``TORCH_LACKS`` entry. On complex inputs both give PyTorch's convention (the
conjugate of the functional API's). The dialect has no forward mode, so there is no JVP to compare.

Skipped where PyTorch is not installed (``pip install '.[torch]'``).
"""
from __future__ import annotations

import numpy
import pytest

real_torch = pytest.importorskip("torch")

import tapegrad.torch as tt  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from test_complex import phase_free, real_and_complex_cases  # noqa: E402

RTOL, ATOL = 1e-6, 1e-8


class Inexpressible(Exception):
    """A sample PyTorch's API cannot express (NumPy-only parameters)."""


def _dims(axis, ndim):
    """NumPy's ``axis`` as PyTorch's ``dim`` (None: every axis)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(axis) if isinstance(axis, (tuple, list)) else axis


def _reduce(name):
    def call(T, x, axis=None, keepdims=False, **kw):
        if kw.get("dtype") is not None or kw.get("out") is not None:
            raise Inexpressible("dtype/out")
        if axis is None and not keepdims:
            return getattr(T, name)(x)
        return getattr(T, name)(x, dim=_dims(axis, x.dim()), keepdim=keepdims)
    return call


def _int_dim_reduce(name):
    def call(T, x, axis=None, keepdims=False, **kw):
        if axis is None and not keepdims:
            return getattr(T, name)(x)
        if not isinstance(axis, int):
            raise Inexpressible(f"torch.{name} takes one int dim")
        return getattr(T, name)(x, dim=axis, keepdim=keepdims)
    return call


def _extremum(name):
    def call(T, x, axis=None, keepdims=False, **kw):
        if axis is None and not keepdims:
            return getattr(T, name)(x)
        if not isinstance(axis, int):
            raise Inexpressible(f"torch.{name}(dim) takes one int dim")
        return getattr(T, name)(x, dim=axis, keepdim=keepdims)[0]
    return call


def _spread(name):
    def call(T, x, axis=None, ddof=0, keepdims=False, **kw):
        return getattr(T, name)(x, dim=_dims(axis, x.dim()), correction=ddof, keepdim=keepdims)
    return call


def _cum(name):
    def call(T, x, axis=None, **kw):
        if axis is None:
            return getattr(T, name)(x.reshape(-1), 0)
        return getattr(T, name)(x, axis)
    return call


def _transpose(T, x, axes=None):
    return x.permute(*(axes if axes is not None else range(x.dim())[::-1]))


def _expand_dims(T, x, axis):
    if not isinstance(axis, int):
        raise Inexpressible("unsqueeze takes one int dim")
    return T.unsqueeze(x, axis)


def _squeeze(T, x, axis=None):
    return T.squeeze(x) if axis is None else T.squeeze(x, axis)


def _seq(name, dim_kw="dim"):
    def call(T, *xs, axis=0, **kw):
        if axis is None or kw.get("dtype") is not None:
            raise Inexpressible("axis=None / dtype")
        return getattr(T, name)(list(xs), axis)
    return call


def _flip(T, x, axis=None):
    return T.flip(x, _dims(axis, x.dim()) if isinstance(axis, (tuple, list)) or axis is None else (axis,))


def _repeat(T, x, repeats, axis=None):
    if not isinstance(repeats, int):
        raise Inexpressible("array repeats")
    return T.repeat_interleave(x, repeats, axis)


def _roll(T, x, shift, axis=None):
    if isinstance(shift, int) and isinstance(axis, tuple):  # NumPy rolls every axis by the one shift
        shift = (shift,) * len(axis)
    if isinstance(shift, tuple) and not isinstance(axis, tuple):
        raise Inexpressible("several shifts of one axis")
    return T.roll(x, shift, axis)


def _sort(T, x, axis=-1, kind=None, order=None, stable=None):
    if axis is None:
        raise Inexpressible("axis=None")
    return T.sort(x, dim=axis)[0]


def _clip(T, x, a_min=None, a_max=None):
    if isinstance(a_min, numpy.ndarray) or isinstance(a_max, numpy.ndarray):
        raise Inexpressible("array bounds")
    return T.clamp(x, a_min, a_max)


def _diagonal(T, x, offset=0, axis1=0, axis2=1):
    return T.diagonal(x, offset, axis1, axis2)


def _trace(T, x, offset=0, axis1=0, axis2=1):
    if x.dim() != 2 or offset != 0:
        raise Inexpressible("torch.trace takes a matrix, no offset")
    return T.trace(x)


def _tensordot(T, a, b, axes=2):
    return T.tensordot(a, b, dims=axes)


def _norm(T, x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """NumPy's norm in torch.norm's terms: vector p-norms over an int dim, 2-norm/'fro' over any
    dims, 'nuc' over two; NumPy's matrix ord numbers have no torch.norm spelling."""
    nd = x.dim()
    dims = tuple(range(nd)) if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else axis)
    if ord in (None, "fro"):
        return T.norm(x, 2, dim=dims, keepdim=keepdims) if nd else T.norm(x, 2)
    if ord == "nuc":
        if nd < 2 or (isinstance(dims, tuple) and len(dims) != 2):
            raise Inexpressible("nuc over two dims")
        return T.norm(x, "nuc", dim=dims if isinstance(dims, tuple) else (0, 1), keepdim=keepdims)
    if isinstance(dims, tuple) and len(dims) != 1:
        raise Inexpressible("NumPy's matrix ord numbers")
    return T.norm(x, ord, dim=dims[0] if isinstance(dims, tuple) else dims, keepdim=keepdims)


def _take_along(T, x, idx, axis):
    if axis is None:
        raise Inexpressible("axis=None")
    return T.take_along_dim(x, _idx(T, idx), axis)


def _idx(T, a):
    return T.tensor(numpy.asarray(a))


def _where(T, cond, x, y):
    if x.is_complex() != y.is_complex():
        raise Inexpressible("PyTorch's where refuses a complex gradient for its real input")
    return T.where(_idx(T, cond), x, y)


def _gather(T, x, idx, axis):
    return T.gather(x, axis, _idx(T, idx))


def _index_select(T, x, idx, axis):
    return T.index_select(x, axis, _idx(T, idx))


def _masked_fill(T, x, mask, value):
    return T.masked_fill(x, _idx(T, mask), value)


def _scatter(T, x, idx, src, axis):
    if not hasattr(src, "shape") or tuple(src.shape) != tuple(numpy.shape(idx)):
        raise Inexpressible("PyTorch's backward raises for a src larger than index (tapegrad gives zeros "
                            "for its unused entries)")
    return T.scatter(x, axis, _idx(T, idx), src)


def _softmax(name):
    def call(T, x, axis=-1):
        if x.dim() == 0:
            raise Inexpressible("0-d")
        return getattr(T, name)(x, dim=axis)
    return call


def _logsumexp(T, x, axis=None, keepdims=False):
    return T.logsumexp(x, dim=_dims(axis, x.dim()), keepdim=keepdims)


def _nll(T, x, target, weight=None, reduction="mean", ignore_index=-100):
    w = None if weight is None else T.tensor(numpy.asarray(weight))
    return T.nn.functional.nll_loss(x, _idx(T, target), weight=w, reduction=reduction, ignore_index=ignore_index)


def _mse(T, x, y, reduction="mean"):
    return T.nn.functional.mse_loss(x, y, reduction=reduction)


def _getitem(T, x, key):
    keys = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, (numpy.ndarray, list)) or (isinstance(k, slice) and (k.step or 1) < 0) for k in keys):
        raise Inexpressible("advanced indexing / a negative step")
    return x[key]


def _diff(T, x, n=1, axis=-1):
    if n >= x.shape[axis]:
        raise Inexpressible("n empties the axis")
    return T.diff(x, n, axis) if hasattr(T, "diff") else x


#: NumPy name -> PyTorch name, for elementwise ops called the same way.
_RENAMED = {"negative": "neg", "power": "pow", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
            "arctan2": "atan2", "subtract": "sub", "multiply": "mul", "divide": "div", "absolute": "abs",
            "conjugate": "conj", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "mod": "remainder",
            "fix": "trunc", "rint": "round"}

_ELEMENTWISE = ("add", "subtract", "multiply", "divide", "true_divide", "negative", "positive", "power", "log",
                "exp", "sin", "cos", "sqrt", "abs", "absolute", "tanh", "square", "reciprocal", "expm1", "log2",
                "log10", "log1p", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "hypot",
                "logaddexp", "exp2", "real", "imag", "sign", "floor", "ceil", "trunc", "rint", "fix", "mod",
                "remainder", "fmod", "maximum", "minimum", "fmax", "fmin", "sigmoid", "relu")


def _named(name):
    tname = _RENAMED.get(name, name)

    def call(T, *xs, **params):
        if params:
            raise Inexpressible(f"NumPy parameters {sorted(params)}")
        if name in ("real", "imag"):
            if not xs[0].is_complex():
                raise Inexpressible("torch.real/imag of a real tensor")
            return getattr(xs[0], name)  # the dialect has them as properties only
        if name == "sign" and xs[0].is_complex():
            return T.sgn(xs[0])  # torch.sign refuses complex input; sgn is NumPy's complex sign
        return getattr(T, tname)(*xs)
    return call


#: op -> ``call(T, *inputs, **numpy_params)`` computing it in PyTorch's API on module ``T`` (real
#: ``torch`` or ``tapegrad.torch``).
TORCH_CALL = {
    **{n: _named(n) for n in _ELEMENTWISE},
    "clip": _clip, "where": _where,
    "sum": _reduce("sum"), "mean": _reduce("mean"), "prod": _int_dim_reduce("prod"),
    "amax": _reduce("amax"), "amin": _reduce("amin"), "max": _extremum("max"), "min": _extremum("min"),
    "var": _spread("var"), "std": _spread("std"), "cumsum": _cum("cumsum"), "cumprod": _cum("cumprod"),
    "reshape": lambda T, x, shape: T.reshape(x, shape), "transpose": _transpose,
    "broadcast_to": lambda T, x, shape: T.broadcast_to(x, shape),
    "moveaxis": lambda T, x, source, destination: T.movedim(x, source, destination),
    "swapaxes": lambda T, x, axis1, axis2: T.swapaxes(x, axis1, axis2),
    "expand_dims": _expand_dims, "squeeze": _squeeze,
    "concatenate": _seq("cat"), "stack": _seq("stack"),
    "vstack": lambda T, *xs, **kw: T.vstack(list(xs)), "hstack": lambda T, *xs, **kw: T.hstack(list(xs)),
    "flip": _flip, "fliplr": lambda T, x: T.fliplr(x), "flipud": lambda T, x: T.flipud(x),
    "tile": lambda T, x, reps: T.tile(x, reps if isinstance(reps, tuple) else (reps,)),
    "repeat": _repeat, "ravel": lambda T, x, order="C": T.flatten(x), "flatten": lambda T, x, order="C": T.flatten(x),
    "diag": lambda T, x, k=0: T.diag(x, k), "diagonal": _diagonal,
    "tril": lambda T, x, k=0: T.tril(x, k) if x.dim() >= 2 else _inexpressible("torch.tril takes a matrix"),
    "triu": lambda T, x, k=0: T.triu(x, k) if x.dim() >= 2 else _inexpressible("torch.triu takes a matrix"),
    "sort": _sort, "roll": _roll, "getitem": _getitem,
    "take_along_axis": _take_along, "gather": _gather, "index_select": _index_select,
    "masked_fill": _masked_fill, "scatter": _scatter, "clone": lambda T, x: T.clone(x), "t": lambda T, x: T.t(x),
    "dot": lambda T, a, b: T.dot(a, b) if a.dim() == b.dim() == 1 else _inexpressible("torch.dot takes 1-D"),
    "vdot": lambda T, a, b: T.vdot(a, b) if a.dim() == b.dim() == 1 else _inexpressible("torch.vdot takes 1-D"),
    "inner": lambda T, a, b: T.inner(a, b),
    "outer": lambda T, a, b: T.outer(a, b) if a.dim() == b.dim() == 1 else _inexpressible("torch.outer takes 1-D"),
    "matmul": lambda T, a, b: T.matmul(a, b), "tensordot": _tensordot,
    "linear": lambda T, x, w: T.nn.functional.linear(x, w),
    "_einsum": lambda T, *ops, subscripts, optimize=False: T.einsum(subscripts, *ops),
    "trace": _trace, "norm": _norm,
    "softmax": _softmax("softmax"), "log_softmax": _softmax("log_softmax"), "logsumexp": _logsumexp,
    "nll_loss": _nll, "mse_loss": _mse,
}


def _activation(name):
    def call(T, x, *inputs, **params):
        if params.get("scale", 1.0) != 1.0 or params.get("input_scale", 1.0) != 1.0:
            raise Inexpressible("selu's internal scales")
        params = {k: v for k, v in params.items() if k not in ("scale", "input_scale")}
        return getattr(T.nn.functional, name)(x, *inputs, **params)
    return call


_ACTIVATIONS = {"softplus": "softplus", "elu": "elu", "celu": "celu", "gelu": "gelu", "silu": "silu",
                "mish": "mish", "leaky_relu": "leaky_relu", "hardtanh": "hardtanh", "hardsigmoid": "hardsigmoid",
                "hardswish": "hardswish", "log_sigmoid": "logsigmoid", "softsign": "softsign",
                "tanhshrink": "tanhshrink", "softshrink": "softshrink", "hardshrink": "hardshrink",
                "threshold": "threshold", "glu": "glu"}
TORCH_CALL.update({n: _activation(f) for n, f in _ACTIVATIONS.items()})


def _inexpressible(why):
    raise Inexpressible(why)


_NO_DIALECT = "the PyTorch dialect does not expose it (no torch.linalg / torch.fft in tapegrad.torch)"

#: Differentiable ops the PyTorch dialect does not expose under PyTorch's API, with the reason.
TORCH_LACKS = {
    **{n: _NO_DIALECT for n in ("inv", "det", "solve", "cholesky", "eigh", "eigvalsh", "eig", "eigvals", "slogdet",
                                "pinv", "svd", "svdvals", "qr", "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn",
                                "rfft", "rfft2", "rfftn", "irfft", "irfft2", "irfftn", "fftshift", "ifftshift")},
    **{n: "NumPy function with no PyTorch counterpart in the dialect" for n in (
        "cbrt", "logaddexp2", "deg2rad", "radians", "rad2deg", "degrees", "nan_to_num", "real_if_close",
        "round", "around", "column_stack", "dstack", "append", "rollaxis", "rot90", "kron", "cross", "partition",
        "pad", "_diff", "linspace", "pack")},
    **{n: "internal op (reached through the public ops compared here)" for n in (
        "astype", "device_copy", "sum_to", "shift_along", "masked_grad", "scatter_add", "setitem", "_svd",
        "_la_real", "_la_conj", "_fft_resize", "conv_input_grad", "conv_weight_grad", "pool_route",
        "pool_gather", "pool_spread")},
    **{n: "missing from the dialect's namespace (PyTorch has torch." + _RENAMED.get(n, n) + ")" for n in (
        "arcsinh", "arccosh", "arctanh", "sinc", "conj", "conjugate", "angle", "erf")},
    "fabs": "PyTorch has no fabs",
    **{n: "tapegrad.scipy function (the NumPy door's SciPy); the PyTorch dialect does not expose it" for n in (
        "convolve", "sqrtm", "expm", "solve_triangular", "cho_factor", "cho_solve", "solve_sylvester", "odeint")},
    "pick": "MXNet op (npx.pick)",
    "convolution": "MXNet call convention (npx.convolution); F.conv2d is tested in tests/test_torch_nn.py",
    "pooling": "MXNet call convention (npx.pooling); F.max_pool2d/avg_pool2d in tests/test_torch_nn.py",
}

# SciPy's special functions (tapegrad.scipy.special, for the NumPy door): the dialect has no torch.special
TORCH_LACKS.update({n: "scipy.special function (tapegrad.scipy.special); the dialect has no torch.special" for n in (
    "logit", "gammaln", "digamma", "polygamma", "gamma", "beta", "betaln", "multigammaln", "gammainc", "gammaincc",
    "betainc", "stdtr", "erfc", "erfinv", "erfcinv", "ndtr", "log_ndtr", "i0", "i1", "iv", "ive", "j0", "j1", "y0",
    "y1", "jv", "yv", "xlogy", "xlog1py", "_logsumexp_b")})

#: op -> (predicate on the case, reason): cases where the dialect differs from PyTorch on purpose.
TORCH_DIFFERS = {
    "max": (lambda c: c.params.get("axis") is not None,
            "ties share the gradient evenly (README: PyTorch sends it to the returned index)"),
    "min": (lambda c: c.params.get("axis") is not None,
            "ties share the gradient evenly (README: PyTorch sends it to the returned index)"),
}


def test_every_op_is_called_or_listed():
    missing = [n for n, op in REGISTRY.items() if op.diff and n not in TORCH_CALL and n not in TORCH_LACKS]
    assert not missing, (f"ops neither compared with PyTorch nor listed: {missing}; give each a TORCH_CALL entry "
                         "(its call in PyTorch's API) or a TORCH_LACKS entry (why the dialect has none)")
    stale = [n for t in (TORCH_CALL, TORCH_LACKS, TORCH_DIFFERS) for n in t if n not in REGISTRY]
    assert not stale, f"table entries for ops no longer in the registry: {stale}"


def _compared_ops():
    return [op for n, op in REGISTRY.items() if op.diff and op.samples is not None and n in TORCH_CALL]


def _to(T, a, grad):
    if not isinstance(a, numpy.ndarray):
        return a
    if a.dtype.kind not in "fc":
        return T.tensor(a)
    return T.tensor(a.copy(), requires_grad=grad)


def _np(t):
    t = t.detach()
    if getattr(t, "_is_zerotensor", lambda: False)():  # PyTorch's lazy zeros
        return numpy.zeros(tuple(t.shape), dtype=_np(real_torch.zeros((), dtype=t.dtype)).dtype)
    return t.resolve_conj().numpy() if hasattr(t, "resolve_conj") else t.numpy()


def _run(T, op, case, wrt, gs, ws):
    """Value, VJP of ``gs`` and VJP of that VJP along ``ws``, in module ``T``; as NumPy arrays."""
    xs = [_to(T, a, i in wrt) for i, a in enumerate(case.args)]
    call = TORCH_CALL[op.name]
    with T.enable_grad():
        y = call(T, *xs, **case.params)
        ys = phase_free(op, tuple(y) if isinstance(y, (tuple, list)) else (y,), False, T.abs)
        value = [_np(o) for o in ys]
        if gs is None:
            return value, None, None
        pairs = [(o, T.tensor(g)) for o, g in zip(ys, gs) if g is not None and o.requires_grad]
        if not pairs:
            return value, None, None
        outs, cots = zip(*pairs)
        vs = T.autograd.grad(list(outs), [xs[i] for i in wrt], list(cots), create_graph=True, allow_unused=True)
        vjp = [None if v is None else _np(v) for v in vs]
        terms = [(v * T.tensor(w)).sum() for v, w in zip(vs, ws) if v is not None and v.requires_grad]
        if not terms:
            return value, vjp, [None] * len(wrt)
        s = sum(terms[1:], terms[0])
        if s.is_complex():
            s = s.real
        try:
            v2 = T.autograd.grad([s], [xs[i] for i in wrt], allow_unused=True)
        except RuntimeError as e:  # PyTorch has no second derivative for a few ops (hardsigmoid)
            if T is real_torch and "not implemented" in str(e):
                return value, vjp, None
            raise
        return value, vjp, [None if v is None else _np(v) for v in v2]


def _rand_like(rng, a):
    r = rng.standard_normal(numpy.shape(a))
    if numpy.asarray(a).dtype.kind == "c":
        r = r + 1j * rng.standard_normal(numpy.shape(a))
    return numpy.asarray(r)


def _close(got, want, what):
    if want is None or got is None:  # no dependence: None in one system may be zeros in the other
        other = got if want is None else want
        if other is not None:
            numpy.testing.assert_allclose(other, 0, atol=ATOL, err_msg=f"{what}: one system has no gradient")
        return
    assert got.shape == want.shape, f"{what}: shape {got.shape} != PyTorch's {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != PyTorch's {want.dtype}"
    numpy.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("op", _compared_ops(), ids=lambda op: op.name)
def test_value_vjp_and_order_two_match_pytorch(op):
    compared = 0
    for case in real_and_complex_cases(op):
        entry = TORCH_DIFFERS.get(op.name)
        if entry is not None and entry[0](case):
            continue
        try:
            compared += _compare(op, case)
        except Inexpressible:
            continue
        except Exception as e:
            raise AssertionError(f"{op.name} {case!r} {[getattr(a, 'dtype', '') for a in case.args]}: "
                                 f"{type(e).__name__}: {e}") from e
    assert compared or op.name in TORCH_DIFFERS, f"no sample of {op.name} could be called in PyTorch's API"


def _compare(op, case):
    wrt = case.wrt if case.wrt is not None else [
        i for i, a in enumerate(case.args) if isinstance(a, numpy.ndarray) and a.dtype.kind in "fc"]
    value, _, _ = _run(real_torch, op, case, wrt, None, None)
    rng = numpy.random.default_rng(0)
    gs = [_rand_like(rng, v) if v.dtype.kind in "fc" else None for v in value]
    ws = [_rand_like(rng, case.args[i]) for i in wrt]
    want = _run(real_torch, op, case, wrt, gs, ws)
    got = _run(tt, op, case, wrt, gs, ws)
    where = f"{op.name} {case!r}"
    for k, (a, b) in enumerate(zip(got[0], want[0])):
        _close(a, b, f"{where}: value {k}")
    if want[1] is None:
        return 1
    for i, a, b in zip(wrt, got[1], want[1]):
        _close(a, b, f"{where}: VJP for argument {i}")
    if min(case.order, 2) >= 2 and want[2] is not None:
        for i, a, b in zip(wrt, got[2], want[2]):
            _close(a, b, f"{where}: order 2 (VJP of the VJP), argument {i}")
    return 1

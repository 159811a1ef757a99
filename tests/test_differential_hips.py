"""The functional API against HIPS autograd 1.9.1, generated from the op registry.

For every differentiable op of ``tapegrad.ops.registry.REGISTRY`` that HIPS also has (found by name
in ``autograd.numpy``, ``.linalg`` or ``.fft``, or through ``HIPS_EQUIVALENT`` where the name or the
call differs), on the op's own samples in float64, real and complex (``complex_variants``): the
value, the VJP of a random cotangent, the JVP of a random tangent (against HIPS's forward mode where
HIPS has it, else against HIPS's VJP through ``Re(sum(g * J t)) == Re(sum(J^T g * t))``) and the
VJP of the VJP (order 2). An op added to the registry is compared automatically, or fails
``test_every_op_is_compared_or_listed`` until it gets a ``HIPS_EQUIVALENT`` or ``HIPS_LACKS`` entry.

Both systems pair a cotangent with a tangent through the bilinear ``Re(sum(g * t))``, so on complex
inputs this checks the convention the README states for the functional API (HIPS/JAX: the VJP of a
holomorphic ``f`` is ``g f'(z)``; the gradient of a real ``L(x + iy)`` is ``dL/dx - i dL/dy``).
Where HIPS is wrong or refuses, ``HIPS_WRONG`` and ``HIPS_GAPS`` say which cases and why (finite
differences in tests/test_complex.py settle those cases instead).
"""
from __future__ import annotations

import numpy
import pytest

autograd = pytest.importorskip("autograd")
import autograd.numpy as anp  # noqa: E402
import autograd.scipy.special as asp  # noqa: E402
import autograd.scipy.integrate as aint  # noqa: E402
import autograd.scipy.linalg as asl  # noqa: E402
import autograd.scipy.signal as asig  # noqa: E402
from autograd.builtins import tuple as atuple  # noqa: E402 - HIPS's traced tuple (args may hold boxes)

import tapegrad  # noqa: E402
from tapegrad import npx as tnpx  # noqa: E402
from tapegrad import np as tnp  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from test_complex import phase_free, real_and_complex_cases  # noqa: E402

RTOL, ATOL = 1e-6, 1e-8


def _softmax(x, axis=-1):
    return anp.exp(x - asp.logsumexp(x, axis=axis, keepdims=True))


def _log_softmax(x, axis=-1):
    return x - asp.logsumexp(x, axis=axis, keepdims=True)


def _take_along_axis(a, indices, axis):
    """HIPS has no take_along_axis; indexing with broadcast open grids is the same selection."""
    axis %= a.ndim
    shape = numpy.broadcast_shapes(a.shape[:axis] + (1,) + a.shape[axis + 1:], indices.shape)
    grids = list(numpy.ix_(*[numpy.arange(n) if a.shape[d] == n else numpy.zeros(n, int)
                             for d, n in enumerate(shape)]))
    grids[axis] = numpy.broadcast_to(indices, shape)
    return a[tuple(grids)]


def _pack(*leaves, tree, dtype=None):
    """HIPS's array of a nested list: the list that ``tree`` (nested tuples of leaf indices) describes."""
    def build(t):
        return [build(u) for u in t] if isinstance(t, tuple) else leaves[t]
    return anp.array(build(tree), dtype=dtype)


def _odeint(y0, t, *args, func, tree=None, tfirst=False, options=None):
    """HIPS's odeint on a sample of ours (a flat args tuple; func may return a list)."""
    assert tree is None and not tfirst
    return aint.odeint(lambda y, s, *a: anp.array(func(y, s, *a)), y0, t, atuple(args), **(options or {}))


#: tapegrad op -> the HIPS callable computing it, where the name or the call convention differs.
HIPS_EQUIVALENT = {
    # tapegrad.scipy (its ops take SciPy's parameters: method is SciPy's algorithm choice, HIPS has none)
    "convolve": lambda in1, in2, mode="full", method="auto": asig.convolve(in1, in2, mode=mode),
    "sqrtm": asl.sqrtm,
    "solve_sylvester": asl.solve_sylvester,
    "solve_triangular": lambda a, b, trans=0, lower=False, unit_diagonal=False: asl.solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal),
    "odeint": _odeint,
    "_einsum": lambda *ops, subscripts, optimize=False: anp.einsum(subscripts, *ops),
    "_diff": lambda a, n=1, axis=-1: anp.diff(a, n, axis),
    "logsumexp": lambda a, axis=None, keepdims=False: asp.logsumexp(a, axis=axis, keepdims=keepdims),
    "sigmoid": asp.expit,
    "erf": asp.erf,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "relu": lambda x: anp.where(x > 0, x, 0.0),
    "linear": lambda x, w: anp.matmul(x, anp.swapaxes(w, -1, -2)),
    "clone": lambda a: a + 0.0,
    "t": anp.transpose,
    "flatten": lambda a, order="C": anp.ravel(a, order),
    "getitem": lambda a, key: a[key],
    "take_along_axis": _take_along_axis,
    "pack": _pack,
    "linspace": lambda start, stop, num=50, endpoint=True, dtype=None, axis=0: anp.linspace(
        start, stop, num),
    # HIPS's rules take these parameters by position only
    "broadcast_to": lambda a, shape: anp.broadcast_to(a, shape),
    "pad": lambda a, pad_width, mode="constant": anp.pad(a, pad_width, mode),
    "rot90": lambda a, k=1, axes=(0, 1): anp.rot90(a, k),
    "trace": lambda a, offset=0, axis1=0, axis2=1: anp.trace(a, offset),
    "pinv": lambda a, rcond=None, hermitian=False, rtol=None: anp.linalg.pinv(a),
    # tapegrad.scipy.special: the ops of SciPy's names, and the two HIPS calls by another name
    **{n: getattr(asp, n) for n in (
        "logit", "gammaln", "digamma", "polygamma", "gamma", "beta", "betaln", "gammainc", "gammaincc", "betainc",
        "erfc", "erfinv", "erfcinv", "i0", "i1", "iv", "ive", "j0", "j1", "y0", "y1")},
    "multigammaln": lambda a, d: asp.multigammaln(a, d),
    "jv": asp.jn,  # SciPy's jn is jv
    "yv": asp.yn,  # integer orders (HIPS_GAPS: SciPy's yn truncates others)
}

_NO_VJP = "HIPS 1.9.1 defines no VJP for it"

#: Differentiable ops with no HIPS counterpart to compare (tests/test_ops.py checks them against
#: finite differences, and tests/test_complex.py on complex inputs).
HIPS_LACKS = {
    "true_divide": "numpy 2 made it an alias of divide; HIPS 1.9.1 registers no VJP under the name",
    "positive": _NO_VJP, "cbrt": _NO_VJP, "fmod": _NO_VJP, "fmax": _NO_VJP, "fmin": _NO_VJP,
    "cumprod": _NO_VJP, "flip": _NO_VJP, "vdot": _NO_VJP, "eigvalsh": _NO_VJP, "eigvals": _NO_VJP,
    "svdvals": _NO_VJP, "qr": _NO_VJP,
    "astype": "internal cast op; HIPS's ArrayBox.astype is the same NumPy call, nothing to compare",
    "device_copy": "device transfer; HIPS has no devices",
    "sum_to": "internal (the unbroadcast of a VJP)",
    "shift_along": "internal (cumulative-op rules)",
    "masked_grad": "internal (gradient masks)",
    "scatter_add": "internal (the VJP of getitem)",
    "setitem": "HIPS refuses assignment to arrays (no in-place ops)",
    "gather": "PyTorch-dialect op (torch.gather), no NumPy/HIPS function",
    "index_select": "PyTorch-dialect op, no NumPy/HIPS function",
    "masked_fill": "PyTorch-dialect op, no NumPy/HIPS function",
    "scatter": "PyTorch-dialect op, no NumPy/HIPS function",
    "_svd": "internal thin SVD (np.linalg.svd, compared, calls it)",
    "_la_real": "internal (linalg rules)",
    "_la_conj": "internal (linalg rules)",
    "pick": "MXNet op (npx.pick), no NumPy/HIPS function",
    **{n: "PyTorch activation (torch.nn.functional), no NumPy/HIPS function" for n in (
        "softplus", "elu", "celu", "gelu", "silu", "mish", "leaky_relu", "hardtanh", "hardsigmoid", "hardswish",
        "log_sigmoid", "softsign", "tanhshrink", "softshrink", "hardshrink", "threshold", "glu")},
    "nll_loss": "PyTorch loss, no NumPy/HIPS function",
    "mse_loss": "PyTorch loss, no NumPy/HIPS function",
    "_fft_resize": "internal (fft's n/s parameters)",
    "convolution": "MXNet op (npx.convolution), no NumPy/HIPS function",
    "conv_input_grad": "internal (convolution rules)",
    "conv_weight_grad": "internal (convolution rules)",
    "pooling": "MXNet op (npx.pooling), no NumPy/HIPS function",
    **{n: "HIPS 1.9.1 wraps scipy.linalg." + n + " without a VJP" for n in ("expm", "cho_factor", "cho_solve")},
    "pool_route": "internal (pooling rules)",
    "pool_gather": "internal (pooling rules)",
    "pool_spread": "internal (pooling rules)",
    "stdtr": "autograd.scipy.special has no stdtr (its stats.t.cdf is compared in tests/test_scipy_stats.py)",
    "ndtr": "autograd.scipy.special has no ndtr (its stats.norm.cdf is compared in tests/test_scipy_stats.py)",
    "log_ndtr": "autograd.scipy.special has no log_ndtr (stats.norm.logcdf is compared in tests/test_scipy_stats.py)",
    "xlogy": "autograd.scipy.special has no xlogy",
    "xlog1py": "autograd.scipy.special has no xlog1py",
    "_logsumexp_b": "HIPS's logsumexp differentiates a only, and not with return_sign (its gradient in a with "
                    "positive b is compared in tests/test_scipy_special.py)",
}

#: op -> reason: ops some of whose cases HIPS refuses with NotImplementedError (those are skipped,
#: the rest compared). A refusal by any other op fails the test.
HIPS_REFUSES = {
    "norm": "HIPS implements the gradient for vector ord None/2/p > 1 and matrix 'fro'/'nuc' only",
    "svd": "HIPS raises for full_matrices=True",
    "sort": "HIPS sorts only 1-D arrays differentiably",
    "rollaxis": "HIPS refuses a negative axis",
    "partition": "HIPS partitions only 1-D arrays differentiably",
    "diagonal": "HIPS supports offset=0, axis1=-1, axis2=-2 only",
    **{n: "HIPS refuses odd-length last axes" for n in ("rfft", "rfft2", "rfftn", "irfft", "irfft2", "irfftn")},
}


def _arrays(case):
    return [a for a in case.args if isinstance(a, numpy.ndarray)]


def _given(case, *names):
    return any(case.params.get(n) is not None for n in names)


def _repeated_index(subscripts):
    return any(len(set(term)) < len(term) for term in subscripts.split("->")[0].split(","))


#: op -> (predicate on the case, reason): cases HIPS's rule cannot take (it raises or computes
#: something else); the op's other cases are compared.
HIPS_GAPS = {
    "where": (lambda c: len({a.shape for a in _arrays(c)}) > 1, "HIPS's where does not unbroadcast"),
    "broadcast_to": (lambda c: len(c.params["shape"]) != c.args[0].ndim, "HIPS cannot add leading axes"),
    "concatenate": (lambda c: "axis" in c.params and c.params["axis"] is None, "HIPS refuses axis=None"),
    "repeat": (lambda c: not isinstance(c.params.get("repeats"), int) or c.args[0].ndim == 0,
               "HIPS takes an int repeats and an array of at least one axis only"),
    "pad": (lambda c: c.params.get("mode", "constant") != "constant" or _given(c, "constant_values", "reflect_type"),
            "HIPS pads with zeros only"),
    "diag": (lambda c: c.args[0].ndim == 2 and c.args[0].shape[0] != c.args[0].shape[1],
             "HIPS's rule assumes a square matrix"),
    "tril": (lambda c: c.args[0].ndim < 2, "HIPS's rule needs a matrix"),
    "triu": (lambda c: c.args[0].ndim < 2, "HIPS's rule needs a matrix"),
    "_diff": (lambda c: c.params.get("n", 1) >= c.args[0].shape[c.params.get("axis", -1)],
              "HIPS's rule fails when n empties the axis"),
    "roll": (lambda c: isinstance(c.params.get("shift"), tuple), "HIPS takes an int shift only"),
    "rot90": (lambda c: tuple(c.params.get("axes", (0, 1))) != (0, 1), "HIPS's rule rotates axes (0, 1) only"),
    "trace": (lambda c: (c.params.get("axis1", 0), c.params.get("axis2", 1)) != (0, 1), "HIPS traces axes (0, 1) only"),
    "pinv": (lambda c: _given(c, "rcond", "rtol") or c.params.get("hermitian"), "HIPS takes no rcond/rtol/hermitian"),
    "cross": (lambda c: _given(c, "axisa", "axisb", "axisc", "axis") or len({a.shape for a in _arrays(c)}) > 1
              or c.args[0].shape[-1] == 2, "HIPS's rule ignores the axis parameters, does not unbroadcast and "
              "takes 3-vectors only"),
    "take_along_axis": (lambda c: c.params.get("axis") is None, "the open-grid equivalent needs an axis"),
    "norm": (lambda c: c.params.get("keepdims") and c.params.get("axis") is not None
             and not isinstance(c.params["axis"], tuple), "HIPS's rule fails for keepdims with an int axis"),
    "outer": (lambda c: any(a.ndim != 1 for a in _arrays(c)), "HIPS's rule does not flatten its inputs"),
    "cholesky": (lambda c: bool(c.params.get("upper")), "HIPS takes no upper"),
    "svd": (lambda c: bool(c.params.get("hermitian")), "HIPS takes no hermitian"),
    "linspace": (lambda c: _given(c, "endpoint", "dtype") or c.params.get("axis", 0) != 0
                 or any(a.ndim for a in _arrays(c)), "HIPS's rule takes scalar endpoints, num only"),
    **{n: (lambda c: _given(c, "n", "s", "axis", "axes"), "HIPS's real-FFT rules ignore n, s, axis and axes")
       for n in ("rfft", "rfft2", "rfftn", "irfft", "irfft2", "irfftn")},
    "_einsum": (lambda c: _repeated_index(c.params["subscripts"]), "HIPS's rule fails on a repeated index (ii->)"),
    "solve": (lambda c: c.args[0].ndim != c.args[1].ndim or c.args[0].shape[:-2] != c.args[1].shape[:-2],
              "HIPS's rule does not broadcast the batch axes"),
    "nan_to_num": (lambda c: bool(c.params), "HIPS's rule takes no parameters"),
    "angle": (lambda c: bool(c.params), "HIPS's rule takes no deg"),
    "real_if_close": (lambda c: bool(c.params), "HIPS's rule takes no tol"),
    **{n: (lambda c: any(a.ndim > 2 for a in _arrays(c)), "HIPS's rule transposes every axis (no stacks of matrices)")
       for n in ("sqrtm", "solve_sylvester", "solve_triangular")},
    "convolve": (lambda c: c.args[0].ndim == 0, "HIPS refuses 0-d inputs"),
    **{n: (lambda c: c.args[0].ndim == 0, "HIPS's logsumexp gives a 0-d input shape (1,)")
       for n in ("softmax", "log_softmax", "logsumexp")},
    "yv": (lambda c: numpy.any(numpy.asarray(c.args[0]) % 1 != 0), "HIPS has yn, which truncates a non-integer order"),
}

#: op -> (predicate on the case, reason): cases where HIPS's own rule is wrong; tapegrad's rule
#: is checked there against central differences (tests/test_ops.py, tests/test_complex.py).
HIPS_WRONG = {
    "tile": (lambda c: True, "HIPS's VJP sums the wrong blocks (tile(x, 2) on a (2, 3) x)"),
    "dstack": (lambda c: any(a.ndim < 3 for a in _arrays(c)), "HIPS's VJP is zero for inputs of fewer than 3 axes"),
    "prod": (lambda c: any((a == 0).any() for a in _arrays(c)), "HIPS divides by the input: NaN at zeros"),
    "fftn": (lambda c: len(set(c.params.get("axes") or ())) < len(c.params.get("axes") or ()),
             "HIPS's rule is wrong for repeated axes"),
    "ifftn": (lambda c: len(set(c.params.get("axes") or ())) < len(c.params.get("axes") or ()),
              "HIPS's rule is wrong for repeated axes"),
    "arccosh": (lambda c: _complex(c), "HIPS's 1/sqrt(z^2 - 1) has the wrong sign off the right half-plane; "
                "the derivative is 1/(sqrt(z - 1) sqrt(z + 1))"),
    "sign": (lambda c: _complex(c), "HIPS (and JAX) give sign a zero gradient; for complex z, sign(z) = z/|z| "
             "varies and tapegrad gives its derivative"),
    "cholesky": (lambda c: _complex(c), "HIPS's rule transposes without conjugating: wrong for complex input"),
    "norm": (lambda c: not isinstance(c.params.get("ord"), str) and c.params.get("ord") is not None
             and not 1 < abs(c.params["ord"]) < float("inf"),
             "HIPS applies its p-norm formula to ord inf, 0 and p < 1 (NaN, or a wrong gradient)"),
    "pinv": (lambda c: _complex(c), "HIPS's rule transposes without conjugating: wrong for complex input"),
    "slogdet": (lambda c: _complex(c), "HIPS gives the sign output a zero gradient; for complex input the sign "
                "det/|det| varies (JAX: nonzero)"),
    "solve_triangular": (lambda c: bool(c.params.get("unit_diagonal")), "HIPS's rule ignores unit_diagonal: it gives "
                         "the diagonal, which is not read, a gradient"),
}

#: ops whose HIPS JVP is wrong on complex input (compared against HIPS's VJP instead).
HIPS_JVP_WRONG = {
    "norm": "HIPS's JVP of norm gives a complex tangent for complex input (the norm is real)",
}

#: ops that read only one triangle of a Hermitian input, where HIPS spreads the gradient over both:
#: gradients agree on Hermitian perturbations, so their Hermitian parts are compared.
HERMITIAN_INPUT = {"cholesky", "eigh"}


def _complex(case):
    return any(a.dtype.kind == "c" for a in _arrays(case))


def _ns(op):
    """The functional API's function for ``op`` (its public door, else the op itself)."""
    mod = {"np": tnp, "np.linalg": tnp.linalg, "np.fft": tnp.fft, "npx": tnpx}.get(op.public)
    if op.public == "scipy.special":
        import tapegrad.scipy.special as mod  # noqa: PLC0415 - the door for HIPS's autograd.scipy.special
    return op if mod is None else getattr(mod, op.name)


def _hips(op):
    """HIPS's function for ``op``, or None."""
    if op.name in HIPS_EQUIVALENT:
        return HIPS_EQUIVALENT[op.name]
    mod = {"np": anp, "np.linalg": anp.linalg, "np.fft": anp.fft}.get(op.public)
    return getattr(mod, op.name, None) if mod is not None else None


def _compared_ops():
    return [op for op in REGISTRY.values()
            if op.diff and op.samples is not None and op.name not in HIPS_LACKS and _hips(op) is not None]


def test_every_op_is_compared_or_listed():
    """A new differentiable op is compared with HIPS or listed, with the reason, in HIPS_LACKS."""
    missing = [op.name for op in REGISTRY.values()
               if op.diff and op.name not in HIPS_LACKS and _hips(op) is None]
    assert not missing, (f"ops neither compared with HIPS nor listed: {missing}; give each a HIPS_EQUIVALENT "
                         "entry (the HIPS callable) or a HIPS_LACKS entry (why HIPS has none)")
    tables = (HIPS_LACKS, HIPS_EQUIVALENT, HIPS_REFUSES, HIPS_GAPS, HIPS_WRONG, HIPS_JVP_WRONG, HERMITIAN_INPUT)
    stale = [n for t in tables for n in t if n not in REGISTRY]
    assert not stale, f"table entries for ops no longer in the registry: {stale}"



# --- running one case in both systems -----------------------------------------------------------


def _host(x):
    if hasattr(x, "asnumpy"):
        return x.asnumpy()
    return numpy.asarray(x)


def _outputs(y):
    return [_host(o) for o in y] if isinstance(y, (tuple, list)) else [_host(y)]


def _call(fn, op, xs, params):
    return fn(list(xs), **params) if op.seq else fn(*xs, **params)


def _is_float(a):
    return isinstance(a, numpy.ndarray) and a.dtype.kind in "fc"


def _rand_like(rng, a):
    a = numpy.asarray(a)
    r = rng.standard_normal(a.shape)
    if a.dtype.kind == "c":
        r = r + 1j * rng.standard_normal(a.shape)
    return numpy.asarray(r)


def _close(got, want, what):
    got, want = numpy.asarray(got), numpy.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != HIPS's {want.shape}"
    if want.dtype.kind == "c" and got.dtype.kind != "c":  # HIPS may keep a complex zero imaginary part
        numpy.testing.assert_allclose(want.imag, 0, atol=ATOL, err_msg=f"{what}: imaginary part")
        want = want.real
    numpy.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


def _pair(gs, ys, m):
    """``Re(sum_k sum(g_k * y_k))`` in module ``m`` (anp or tapegrad.np)."""
    total = 0.0
    for k, g in enumerate(gs):  # indexed: HIPS traces a tuple output as one SequenceBox
        if g is not None:
            total = total + m.real(m.sum(ys[k] * g))
    return total


class System:
    """One of the two systems: its function for the op, its NumPy module and its autograd module."""

    def __init__(self, fn, m, lib):
        self.fn, self.m, self.lib = fn, m, lib

    def value(self, op, xs, params):
        return _call(self.fn, op, xs, params)

    def _of(self, op, xs, params, wrt):
        """The op as a function of the arguments at positions ``wrt``."""
        def f(*ws):
            args = list(xs)
            for i, w in zip(wrt, ws):
                args[i] = w
            return _call(self.fn, op, args, params)
        return f

    def vjp(self, op, xs, params, wrt, gs):
        """The VJPs of cotangents ``gs`` (one per output) for the arguments at ``wrt``, in one pass."""
        f, nums, ws = self._of(op, xs, params, wrt), tuple(range(len(wrt))), [xs[i] for i in wrt]
        if len(gs) == 1:  # one output (svd(compute_uv=False) too): the VJP itself
            back, _ = self.lib.make_vjp(f, nums)(*ws)
            return back(gs[0])
        return self.lib.grad(lambda *a: _pair(gs, f(*a), self.m), nums)(*ws)

    def vjp2(self, op, xs, params, wrt, gs, ws):
        """Order 2: the gradients of ``Re(sum_i sum(w_i * vjp_i))`` for the arguments at ``wrt``."""
        m = self.m

        def h(*a):
            args = list(xs)
            for i, v in zip(wrt, a):
                args[i] = v
            vs = self.vjp(op, args, params, wrt, gs)
            return sum(m.real(m.sum(v * w)) for w, v in zip(ws, vs))
        return self.lib.grad(h, tuple(range(len(wrt))))(*[xs[i] for i in wrt])

    def jvp(self, op, xs, params, i, t):
        return self.lib.make_jvp(self._of(op, xs, params, (i,)))(xs[i])(t)[1]


def _skipped(case, table, op):
    entry = table.get(op.name)
    return entry is not None and entry[0](case)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("op", _compared_ops(), ids=lambda op: op.name)
def test_value_vjp_jvp_and_order_two_match_hips(op):
    compared = 0
    for case in real_and_complex_cases(op):
        if _skipped(case, HIPS_GAPS, op) or _skipped(case, HIPS_WRONG, op):
            continue
        cplx = _complex(case)
        ours = System(_post(op, _ns(op), cplx, tnp.abs), tnp, tapegrad)
        hips = System(_post(op, _hips(op), cplx, anp.abs), anp, autograd)
        try:
            _compare_case(op, case, ours, hips)
        except Exception as e:
            if isinstance(e, NotImplementedError) and op.name in HIPS_REFUSES and _raised_by_hips(e):
                continue
            raise AssertionError(f"{op.name} {case!r} {[getattr(a, 'dtype', '') for a in case.args]}: "
                                 f"{type(e).__name__}: {e}") from e
        compared += 1
    documented = op.name in HIPS_WRONG or op.name in HIPS_REFUSES
    assert compared or documented, f"no sample of {op.name} is compared with HIPS: list it in HIPS_LACKS instead"


def _post(op, fn, cplx, abs_):
    return lambda *a, **k: phase_free(op, fn(*a, **k), cplx, abs_)


def _raised_by_hips(e):
    tb = e.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return "autograd" in tb.tb_frame.f_code.co_filename.replace("\\", "/").split("/")


def _hermitian(a):
    return (a + numpy.conj(numpy.swapaxes(a, -1, -2))) / 2


def _compare_case(op, case, ours, hips):
    xs, params = list(case.args), dict(case.params)
    where = f"{op.name} {case!r} {[getattr(a, 'dtype', '') for a in xs]}"
    y_ours, y_hips = ours.value(op, xs, params), hips.value(op, xs, params)
    outs_ours, outs_hips = _outputs(y_ours), _outputs(y_hips)
    assert len(outs_ours) == len(outs_hips), where
    for k, (a, b) in enumerate(zip(outs_ours, outs_hips)):
        _close(a, b, f"{where}: value {k}")
    wrt = case.wrt if case.wrt is not None else [i for i, a in enumerate(xs) if _is_float(a)]
    rng = numpy.random.default_rng(0)
    gs = [_rand_like(rng, o) if o.dtype.kind in "fc" else None for o in outs_hips]
    if not wrt or all(g is None for g in gs):
        return
    herm = op.name in HERMITIAN_INPUT
    proj = _hermitian if herm else (lambda a: a)  # the part of a gradient both systems define
    vs_ours, vs_hips = ours.vjp(op, xs, params, wrt, gs), hips.vjp(op, xs, params, wrt, gs)
    for i, v_ours, v_hips in zip(wrt, vs_ours, vs_hips):
        _close(proj(_host(v_ours)), proj(numpy.asarray(v_hips)), f"{where}: VJP for argument {i}")
        t = proj(_rand_like(rng, xs[i]))
        jt = ours.jvp(op, xs, params, i, t)
        try:
            if _complex(case) and op.name in HIPS_JVP_WRONG:
                raise NotImplementedError
            _close_outputs(jt, hips.jvp(op, xs, params, i, t), f"{where}: JVP for argument {i}")
        except (NotImplementedError, NameError):  # no (working) forward mode in HIPS: pair with its VJP
            lhs = sum(numpy.real(numpy.sum(g * o)) for g, o in zip(gs, _outputs(jt)) if g is not None)
            rhs = numpy.real(numpy.sum(numpy.asarray(v_hips) * t))
            numpy.testing.assert_allclose(lhs, rhs, rtol=RTOL, atol=ATOL,
                                          err_msg=f"{where}: <g, J t> for argument {i} against HIPS's VJP")
    if min(case.order, 2) >= 2:
        ws = [proj(_rand_like(rng, xs[i])) for i in wrt]
        for i, a, b in zip(wrt, ours.vjp2(op, xs, params, wrt, gs, ws), hips.vjp2(op, xs, params, wrt, gs, ws)):
            _close(proj(_host(a)), proj(numpy.asarray(b)), f"{where}: order 2 (VJP of the VJP), argument {i}")


def _close_outputs(a, b, what):
    for k, (x, y) in enumerate(zip(_outputs(a), _outputs(b))):
        _close(x, y, f"{what} (output {k})")

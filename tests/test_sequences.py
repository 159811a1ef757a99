"""Sequences of arrays are arrays: a (nested) list or tuple holding tapegrad arrays, mixed with NumPy
arrays and Python numbers, is packed by one differentiable op wherever an array-like is taken, so
every element keeps its gradient (issue 12, item 1). Gradients are checked against central finite
differences in float64 and, for the examples, against HIPS autograd."""
from __future__ import annotations

import math
import warnings

import numpy
import pytest
from hypothesis import given, settings, strategies as st

import tapegrad as tg
from tapegrad import autograd, np
from tapegrad.ops.registry import REGISTRY

hips = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


def central(f, x, h=1e-6):
    """Central differences of a scalar function of a float64 vector (evaluated on ndarrays)."""
    x = numpy.asarray(x, dtype=numpy.float64)
    g = numpy.zeros_like(x)
    for i in range(x.size):
        e = numpy.zeros_like(x)
        e.flat[i] = h
        hi = float(f(np.array(x + e, dtype="float64")))
        lo = float(f(np.array(x - e, dtype="float64")))
        g.flat[i] = (hi - lo) / (2 * h)
    return g


def grad_and_check(f, x, rtol=1e-6, atol=1e-7):
    got = numpy.asarray(tg.grad(f)(numpy.asarray(x, dtype=numpy.float64)))
    numpy.testing.assert_allclose(got, central(f, x), rtol=rtol, atol=atol)
    return got


# --- the issue's examples, and one per kind of function, against HIPS autograd and finite differences

EXAMPLES = {
    "sum": lambda xp, x: xp.sum([x, 2 * x]),
    "mean": lambda xp, x: xp.mean([x, x]),
    "linalg.norm": lambda xp, x: xp.linalg.norm([x, x]),
    "max": lambda xp, x: xp.max([x, 0.5]),
    "min": lambda xp, x: xp.min([x, 5.0 * x]),
    "prod": lambda xp, x: xp.prod([x, 2.0, x]),
    "std": lambda xp, x: xp.std([x, 2.0]),
    "var": lambda xp, x: xp.var((x, 2.0, x * x)),
    "array nested": lambda xp, x: xp.sum(xp.array([[x, 1.0], [2.0, x * x]]) ** 2),
    "array of arrays": lambda xp, x: xp.sum(xp.array([xp.array([x, 1.0]), [x, x]]) ** 2),
    "tuple": lambda xp, x: xp.sum((x, (3 * x))),
    "multiply ufunc": lambda xp, x: xp.sum(xp.multiply([x, 2.0], [[1.0, x], [x, 3.0]])),
    "operator": lambda xp, x: xp.sum(xp.array([1.0, 2.0]) * [x, x * x]),
    "where": lambda xp, x: xp.sum(xp.where([True, False], [x, 1.0], [2.0, x]) ** 2),
    "append": lambda xp, x: xp.sum(xp.append([x, 1.0], [x]) ** 2),
    "stack": lambda xp, x: xp.sum(xp.stack([[x, 1.0], [x, x * x]]) ** 2),
    "vstack": lambda xp, x: xp.sum(xp.vstack([[x, 1.0], [x, x]]) ** 2),
    "dot": lambda xp, x: xp.dot([x, 1.0], [2.0, x]),
    "matmul": lambda xp, x: xp.sum(xp.matmul([[x, 1.0]], [[x], [2.0]])),
    "linspace start": lambda xp, x: xp.sum(xp.linspace(x, 5.0, 4) ** 2),
    "linspace stop": lambda xp, x: xp.sum(xp.linspace(1.0, x, 4) ** 2),
    "full": lambda xp, x: xp.sum(xp.full(3, x) ** 2),
    "cumsum": lambda xp, x: xp.sum(xp.cumsum([x, x, 1.0]) ** 2),
    "reshape": lambda xp, x: xp.sum(xp.reshape([x, x * x], (2, 1)) ** 2),
    "clip": lambda xp, x: xp.sum(xp.clip([x, 1.0, -x], -2.0, 2.0) ** 2),
    "tile": lambda xp, x: xp.sum(xp.tile([x, 1.0], 2) ** 2),
    "diff": lambda xp, x: xp.sum(xp.diff([x, 3 * x * x, 1.0]) ** 2),
    "atleast_2d": lambda xp, x: xp.sum(xp.atleast_2d([x, 2 * x]) ** 2),
    "einsum": lambda xp, x: xp.einsum("i,i", [x, 1.0], [2.0, x]),
}
# HIPS raises on these lists (asarray and add make object arrays, det and split take no lists), or
# loses the gradient of a list inside concatenate and hstack ([[x, 1.0], array([x])] gives 1.0, not
# 2.0): these are checked against finite differences only
FD_ONLY = {
    "asarray": lambda xp, x: xp.sum(xp.sin(xp.asarray([x, 1.0]))),
    "add ufunc": lambda xp, x: xp.sum(xp.add([x, 1.0], x) ** 2),
    "hstack": lambda xp, x: xp.sum(xp.hstack(([x, 1.0], xp.array([x]))) ** 2),
    "det": lambda xp, x: xp.linalg.det([[x, 1.0], [2.0, x]]),
    "split": lambda xp, x: xp.sum(xp.split(xp.array([x, 2 * x]), 2)[1] ** 2) + xp.sum(xp.split([x, 5 * x], 2)[1] ** 2),
    "concatenate": lambda xp, x: xp.sum(xp.concatenate([[x, 1.0], xp.array([x])])),
    "column_stack": lambda xp, x: xp.sum(xp.column_stack(([x, 1.0], [x, x])) ** 2),
    "linspace both, list ends": lambda xp, x: xp.sum(xp.linspace([x, 1.0], 2 * x, 5) ** 2),
    "meshgrid": lambda xp, x: xp.sum(xp.meshgrid([x, 1.0], [x])[0] ** 2),
    "nested mixed": lambda xp, x: xp.sum(xp.array([[x, 1], [numpy.float64(2.0), (x * x)]]) ** 2),
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_match_hips_and_finite_differences(name):
    f = EXAMPLES[name]
    x = 1.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = hips.grad(lambda v: f(anp, v))(x)
    assert want != 0  # each example depends on x through the list
    got = grad_and_check(lambda v: f(np, v), x)
    numpy.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("name", FD_ONLY)
def test_more_examples_match_finite_differences(name):
    got = grad_and_check(lambda v: FD_ONLY[name](np, v), 1.3)
    assert got != 0


def test_the_issue_examples_give_hips_numbers():
    assert tg.grad(lambda x: np.sum([x, 2 * x]))(3.0) == 3.0
    assert tg.grad(lambda x: np.mean([x, x]))(3.0) == 1.0
    assert math.isclose(tg.grad(lambda x: np.linalg.norm([x, x]))(3.0), math.sqrt(2), rel_tol=1e-12)


def test_vector_elements_and_second_order():
    x = numpy.array([0.3, -1.2, 0.7])
    f = lambda v: np.sum(np.array([v, v ** 2, [1.0, 2.0, 3.0]]) ** 3)  # noqa: E731
    grad_and_check(f, x)
    hess_diag = tg.elementwise_grad(tg.grad(f))(x)
    want = hips.elementwise_grad(hips.grad(lambda v: anp.sum(anp.array([v, v ** 2, [1.0, 2.0, 3.0]]) ** 3)))(x)
    numpy.testing.assert_allclose(numpy.asarray(hess_diag), want, rtol=1e-10)


def test_forward_mode_through_a_list():
    x = numpy.array([0.5, 2.0])
    _, tangent = tg.jvp(lambda v: np.array([v * v, [1.0, 2.0]]), (x,), (numpy.array([1.0, -1.0]),))
    numpy.testing.assert_allclose(numpy.asarray(tangent), [[1.0, -4.0], [0.0, 0.0]])


def test_in_place_updates_and_assignment_with_a_list_keep_gradients():
    def f(x):
        a = np.zeros(3, dtype="float64")
        a[:] = [x, 2 * x, 1.0]
        b = np.ones(3, dtype="float64")
        b += [x * x, 0.0, x]
        return np.sum(a * b)
    grad_and_check(f, 1.5)


def test_the_mxnet_door_records_lists_of_arrays():
    x = np.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = np.sum(np.array([x, x * x]) ** 2) + np.sum([x, [1.0, 3.0]]) + np.linalg.norm((x, x))
    y.backward()
    v = numpy.array([1.0, 2.0])
    want = 2 * v + 4 * v ** 3 + 1 + 2 * v / numpy.sqrt(2 * numpy.sum(v * v))
    numpy.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-6)


def test_dtypes_follow_the_elements_with_python_numbers_weak():
    x32 = np.array([1.0, 2.0])  # float32, MXNet's default
    x64 = np.array([1.0, 2.0], dtype="float64")
    assert np.array([x32, [3, 4]]).dtype == numpy.float32
    assert np.array([x32, 3.5 * x32]).dtype == numpy.float32
    assert np.array([x64, [3.0, 4.0]]).dtype == numpy.float64
    assert np.array([x32, numpy.array([3.0, 4.0])]).dtype == numpy.float64  # a NumPy array is not weak
    assert np.array([x32, [3, 4]], dtype="float64").dtype == numpy.float64
    assert np.array([np.array([1, 2], dtype="int32"), [3, 4]]).dtype == numpy.int32
    assert np.array([x32, [1j, 2]]).dtype == numpy.complex64
    numpy.testing.assert_array_equal(np.array([x32, (3, 4)]).asnumpy(), [[1, 2], [3, 4]])


def test_a_complex_list_gives_a_real_input_the_real_part():
    # HIPS/JAX: the cotangent of a real input is real
    got = tg.grad(lambda x: np.real(np.sum(np.array([x, 1j * x]) * np.array([2.0, 3.0 - 1j]))))(1.0)
    want = hips.grad(lambda x: anp.real(anp.sum(anp.array([x, 1j * x]) * anp.array([2.0, 3.0 - 1j]))))(1.0)
    assert got == want == 3.0


def test_a_ragged_list_of_arrays_says_so():
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="rectangular.*element \\[1\\] has shape \\(3,\\)"):
        np.array([x, [1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="rectangular"):
        np.sum([x, 1.0])


def test_a_list_of_traced_arrays_is_never_read_as_a_constant():
    # every array-like reaches an op through the packing; the raw conversion refuses one that did not
    def f(x):
        with pytest.raises(TypeError, match="cannot be read as a constant"):
            type(x)._coerce([x, 1.0])
        return np.sum(x)
    tg.grad(f)(1.0)
    # a list of constants is still converted directly
    assert np.ndarray._coerce([np.array(1.0), 2.0]).dtype == numpy.float32


def test_the_pack_op_is_declared_once_with_its_samples():
    op = REGISTRY["pack"]
    assert op.public is None and op.samples is not None and op.vjp_fn is not None and op.jvp_fn is not None


# --- hypothesis: nested structures of traced arrays, constants and numbers -----------------------

LEAF_KINDS = ("traced", "traced", "numpy", "number")
FUNCTIONS = {
    "sum of squares of array": lambda L: np.sum(np.array(L) ** 2),
    "sum": lambda L: np.sum(L),
    "mean": lambda L: np.mean(L),
    "std": lambda L: np.std(L),
    "prod": lambda L: np.prod(L),
    "norm": lambda L: np.linalg.norm(np.reshape(L, (-1,))),
    "sin ufunc": lambda L: np.sum(np.sin(L)),
    "multiply with itself": lambda L: np.sum(np.multiply(L, L)),
    "where": lambda L: np.sum(np.where(numpy.asarray(np.array(L)) > 0, L, 0.5) ** 2),
    "stack twice": lambda L: np.sum(np.stack([L, L], axis=-1) ** 3),
    "append": lambda L: np.sum(np.append(L, [2.0]) ** 2),
    "concatenate the elements": lambda L: np.sum(np.concatenate([np.atleast_1d(e) if not isinstance(e, list)
                                                                 else np.array(e).reshape(-1) for e in L]) ** 2),
}


@st.composite
def structures(draw):
    """(dims of the list nesting, leaf shape, kind of each leaf, whether the innermost lists are
    given as one traced array each: a list mixing depths)."""
    dims = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    leaf = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    n = math.prod(dims)
    kinds = draw(st.lists(st.sampled_from(LEAF_KINDS if not leaf else LEAF_KINDS[:3]), min_size=n, max_size=n))
    collapse = draw(st.lists(st.booleans(), min_size=n // dims[-1], max_size=n // dims[-1])) if len(dims) > 1 else []
    seq = draw(st.sampled_from([list, tuple]))
    return dims, leaf, kinds, collapse, seq


def build(p, dims, leaf, kinds, collapse, seq, consts):
    """The nested sequence: traced leaves are smooth functions of slices of ``p``; an innermost list
    whose ``collapse`` flag is set is given as one float64 array instead (the nesting mixes depths)."""
    size = math.prod(leaf)
    leaves = []
    for i, kind in enumerate(kinds):
        if kind == "traced":
            v = p[i * size:(i + 1) * size]
            leaves.append(np.reshape(np.sin(v) + v ** 2, leaf))
        elif kind == "numpy":
            leaves.append(consts[i].reshape(leaf))
        else:
            leaves.append(float(consts[i].reshape(-1)[0]))
    flags = iter(collapse)

    def nest(items, ds):
        if len(ds) == 1:
            return seq(items)
        step = len(items) // ds[0]
        groups = [nest(items[k * step:(k + 1) * step], ds[1:]) for k in range(ds[0])]
        if len(ds) == 2:
            groups = [np.array(g, dtype="float64") if next(flags) else g for g in groups]
        return seq(groups)
    return nest(leaves, dims)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(structure=structures(), fname=st.sampled_from(sorted(FUNCTIONS)), seed=st.integers(0, 2 ** 16))
def test_nested_sequences_are_differentiable_through_every_element(structure, fname, seed):
    dims, leaf, kinds, collapse, seq = structure
    if "traced" not in kinds:
        kinds = ["traced"] + kinds[1:]
    rng = numpy.random.default_rng(seed)
    n, size = len(kinds), math.prod(leaf)
    consts = [rng.uniform(0.5, 1.5, leaf) * rng.choice([-1, 1]) for _ in range(n)]
    p0 = rng.uniform(0.2, 1.0, n * size)
    fn = FUNCTIONS[fname]
    if fname == "concatenate the elements" and (len(dims) == 1 and not leaf):
        fn = FUNCTIONS["sum"]

    def f(p):
        return fn(build(p, dims, leaf, kinds, collapse, seq, consts))
    value = f(np.array(p0, dtype="float64"))
    assert value.dtype == numpy.float64
    got = grad_and_check(f, p0, rtol=1e-5, atol=1e-6)
    traced = [i for i, k in enumerate(kinds) if k == "traced"]
    assert numpy.any(got.reshape(n, size)[traced] != 0)  # every traced leaf reached the gradient


# --- the PyTorch dialect: PyTorch's own rules for lists holding tensors, measured on torch 2.13 ---

def _outcome(fn):
    """(kind, value or error, warnings) of a call, for comparing the dialect with PyTorch."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            r = fn()
            out = ("ok", (numpy.asarray(r.detach().numpy() if hasattr(r, "numpy") else r.detach().tolist()),
                          bool(r.requires_grad)))
        except Exception as e:  # noqa: BLE001 - compared with PyTorch's
            out = ("err", (type(e).__name__, str(e)))
    return out + ([str(w.message).split(" (Triggered internally")[0] for w in caught],)


TORCH_CALLS = {
    "tensor of a list of tensors that require grad": lambda t, a, b: t.tensor([a, b]),
    "tensor of a nested list, mixed": lambda t, a, b: t.tensor([[a, 1.0], [2.0, b]]),
    "tensor of a tuple": lambda t, a, b: t.tensor((a, 2.0)),
    "as_tensor of a list": lambda t, a, b: t.as_tensor([a, b]),
    "tensor of detached tensors": lambda t, a, b: t.tensor([a.detach(), b.detach()]),
    "tensor of one-element 2-d tensors": lambda t, a, b: t.tensor([t.ones(1, 1), t.ones(1, 1)]),
    "tensor of many-element tensors": lambda t, a, b: t.tensor([t.ones(2), t.ones(2)]),
    "tensor of a tensor": lambda t, a, b: t.tensor(a),
    "stack with a number": lambda t, a, b: t.stack([a, 1.0]),
    "stack with lists": lambda t, a, b: t.stack([[a], [b]]),
    "cat with a list": lambda t, a, b: t.cat([t.ones(2), [1.0, 2.0]]),
    "stack of tensors": lambda t, a, b: t.stack((a, b)),
    "full with a tensor that requires grad": lambda t, a, b: t.full((2,), a),
    "full_like with a tensor that requires grad": lambda t, a, b: t.full_like(t.ones(2), a),
}


@pytest.mark.parametrize("name", TORCH_CALLS)
def test_the_pytorch_dialect_treats_lists_of_tensors_as_pytorch_does(name):
    real = pytest.importorskip("torch")
    import tapegrad.torch as tt
    results = []
    for t in (real, tt):
        a = t.tensor(3.0, dtype=t.float64, requires_grad=True)
        b = t.tensor(2.0, dtype=t.float64, requires_grad=True)
        results.append(_outcome(lambda: TORCH_CALLS[name](t, a, b)))
    (kind, value, warned), (got_kind, got_value, got_warned) = results
    assert got_kind == kind, f"PyTorch: {kind} {value}; tapegrad.torch: {got_kind} {got_value}"
    if kind == "err":
        assert got_value == value
    else:
        numpy.testing.assert_array_equal(got_value[0], value[0])
        assert got_value[1] == value[1]  # requires_grad
    # the same warnings, word for word; PyTorch gives this one only once a process, the dialect each time
    once = "Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n" \
           "Consider using tensor.detach() first."
    assert got_warned == warned or (not warned and got_warned == [once])


def test_the_pytorch_dialect_warns_where_pytorch_reads_a_range_bound_silently():
    real = pytest.importorskip("torch")
    import tapegrad.torch as tt
    for t in (real, tt):
        a = t.tensor(3.0, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = t.linspace(a, 5.0, 3)
        assert not r.requires_grad
        numpy.testing.assert_array_equal(r.detach().numpy(), [3.0, 4.0, 5.0])
        if t is tt:  # PyTorch says nothing; the dialect says the gradient is lost, and how to keep it
            assert len(caught) == 1 and "torch.linspace(0, 1, steps)" in str(caught[0].message)
        else:
            assert not caught


def test_the_pytorch_dialect_differentiates_through_stack_and_through_list_operands():
    import tapegrad.torch as tt
    # torch.stack keeps the gradient (PyTorch's way); a list operand of an op, which PyTorch refuses
    # with a TypeError, is packed like any array-like, never read as a constant
    a = tt.tensor([1.5, -0.5], dtype=tt.float64, requires_grad=True)
    y = (tt.stack([a, a * a]) ** 2).sum() + (tt.add([a, [1.0, 2.0]], a) ** 2).sum()
    y.backward()
    v = numpy.array([1.5, -0.5])
    numpy.testing.assert_allclose(a.grad.numpy(), 2 * v + 4 * v ** 3 + 2 * 2 * (2 * v) + 2 * (v + [1.0, 2.0]))

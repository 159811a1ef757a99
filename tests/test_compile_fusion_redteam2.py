"""Red-team tests, second round, for ``tapegrad.compile``'s elementwise fusion (``fuse=True``).

Targets: the declared scalar forms of non-ufunc elementwise ops (relu, sigmoid, where, masked_grad),
the planner's rule that a fusable step reading a deferred step's output starts a new run, ``detach()``
replayed as a view step, and training steps in both dialects.

The first group are bugs (failing when written, fixed since: ``fusion._WRITTEN`` for the ties,
``masked_grad``'s +0.0, a scalar form tried in ``_shape_of``; each docstring says what went wrong).
The second group are attacks that held up, kept as regressions. Every case compares a fused compiled function,
over several calls (the first traces, the rest replay), with the eager function run on separate
but identical inputs. Signed zeros are compared too (``1 / x`` turns them into infinities)."""
from __future__ import annotations

import numpy
import pytest

import tapegrad
import tapegrad.torch as torch
from tapegrad import autograd, np, npx
from tapegrad._core import fusion

numba = pytest.importorskip("numba")


from _fusion_cases import _assert_same, _host, _kernels, _names, _versus_eager  # noqa: F401


def _mx(*vals, dtype="float64", grad=True):
    def make(i):
        out = tuple(np.array(numpy.asarray(v).astype(dtype)) for v in vals)
        if grad:
            for a in out:
                if a.dtype.kind == "f":
                    a.attach_grad()
        return out
    return make


def _grads(f):
    """``f``'s value and the gradients of ``sum(f(...)**2)`` for every floating argument."""
    def g(*a):
        with autograd.record():
            y = f(*a)
            s = (y * y).sum()
        s.backward()
        return [y] + [v.grad if v.dtype.kind == "f" else None for v in a]
    return g


RNG = numpy.random.default_rng(0)
X0 = RNG.standard_normal((3, 4))
W0 = RNG.standard_normal((4, 4))
R0 = RNG.standard_normal(4)
SPECIAL = numpy.array([[1.5, -2.0, 0.0, numpy.nan], [numpy.inf, -numpy.inf, 800.0, -0.0],
                       [-800.0, 40.0, -40.0, 1e-300]])
ZEROS = numpy.array([-0.0, 0.0, -1.0, 2.0])


# == bugs ==========================================================================================

@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
def test_bug_relu_of_negative_zero_is_negative_zero_in_a_kernel(dialect):
    """``relu(-0.0)``: eagerly ``maximum(-0.0, 0)`` is +0.0 (NumPy's maximum gives the second operand
    when they compare equal), so ``1 / relu(x)`` is +inf; the fused kernel calls Numba's scalar
    ``np.maximum``, which keeps the first operand on ties, so relu gives -0.0 and ``1 / relu(x)`` -inf.
    (Cause: ``fusion._kernel``/``_Namespace`` emit ``numpy.maximum`` as Numba compiles it; relu's scalar
    form is ``m.maximum(x, 0)``.)"""
    if dialect == "mxnet":
        fn, make = (lambda x: 1 / npx.relu(x * 1)), (lambda i: (np.array(ZEROS),))
    else:
        fn, make = (lambda x: 1 / torch.relu(x * 1)), (lambda i: (torch.tensor(ZEROS),))
    c = _versus_eager(fn, make)
    assert c.replays == 2 and "relu" in _names(c)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_bug_maximum_minimum_ties_of_signed_zeros(name):
    """The same tie rule for the plain ufuncs (fused since round 1): on x86 NumPy's ``maximum(a, b)`` and
    ``minimum(a, b)`` return ``b`` when ``a == b``, so ``maximum(-0.0, 0.0)`` is +0.0 and
    ``maximum(0.0, -0.0)`` is -0.0; Numba's scalar versions return ``a``. ``1 / maximum(...)`` flips
    between +inf and -inf in the fused replay. (NumPy on ARM returns +0.0 for max and -0.0 for min in
    both orders, which agrees with neither, so the expected value is read from NumPy itself.)"""
    uf = getattr(np, name)

    def f(x):
        z = 0.0 * np.abs(x)  # +0.0 everywhere
        return 1 / uf(x * 1, 0), 1 / uf(z, x * 1)

    c = _versus_eager(f, lambda i: (np.array(ZEROS),))
    assert c.replays == 2 and name in _names(c)


@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
def test_bug_relu_gradient_zero_sign_differs_from_eager(dialect):
    """relu's backward, ``masked_grad(g, out > 0)``: eagerly (all of ``g`` finite) it is ``g * mask``, which
    is -0.0 where ``g < 0`` and the mask is False; the kernel writes its scalar form
    ``m.where(mask, g, 0)``, +0.0 there. So ``1 / x.grad`` is -inf eagerly and +inf compiled. (Cause:
    ``tapegrad/ops/nn.py`` ``masked_grad``: its forward and its declared scalar form disagree on the
    sign of zero; either make the forward's multiply give +0.0, e.g. ``g * mask + 0.0`` in place, or
    give the scalar form the forward's rule.)"""
    x0 = numpy.array([-1.0, 2.0, -3.0, 0.5])
    h0 = numpy.array([-2.0, -1.0, 3.0, -4.0])
    if dialect == "mxnet":
        def make(i):
            x = np.array(x0)
            x.attach_grad()
            return x, np.array(h0)

        def f(x, h):
            with autograd.record():
                y = npx.relu(x * 1) * 2
            y.backward(h)
            return 1 / x.grad
    else:
        def make(i):
            return torch.tensor(x0, requires_grad=True), torch.tensor(h0)

        def f(x, h):
            (torch.relu(x * 1) * 2).backward(h)
            return 1 / x.grad
    c = _versus_eager(f, make)
    assert c.replays == 2 and "masked_grad" in _names(c)


def test_bug_a_scalar_form_that_refuses_its_dtypes_unfuses_the_whole_run():
    """sigmoid of an int64 array (float64 result) joins a run of float64 ops: ``_shape_of`` accepts every
    op with a ``scalar`` form without trying it, the form then raises in ``_kernel`` (``absolute`` on an
    integer loop is not in ``INT_OK``), and ``_kernel`` returns None for the whole run: here 9 ops replay
    one by one and ``explain()`` says "no run of two or more elementwise ops". Values are right; the
    fusion is lost (a run of up to ``MAX_RUN`` steps). ``where`` with a Python int its integer branch
    cannot hold does the same. Expected: the refusing op stays out of the run (as ``_loop_ok`` keeps a
    refused ufunc out in ``_shape_of``) and the rest fuses."""
    k0 = numpy.arange(12).reshape(3, 4) - 6

    def f(x, k):
        y = np.sin(x) * 2 + 1
        y = np.exp(y * 0.1) + npx.sigmoid(k)
        return np.tanh(y) * x

    c = _versus_eager(f, lambda i: (np.array(numpy.ones((3, 4)) * (1 + i)), np.array(k0)))
    assert c.replays == 2 and _kernels(c), c.explain()


# == attacks that held up: scalar forms ==============================================================

@pytest.mark.parametrize("dtype", ["float32"])
def test_relu_sigmoid_nan_inf_large_and_gradients(dtype):
    """relu and sigmoid at NaN, +-inf, +-800 (sigmoid must not overflow), +-40, 1e-300 (0 in float32),
    and their gradients (the repair of singular cotangents in the same kernel)."""
    tol = 1e-5 if dtype == "float32" else 1e-12

    def f(x):
        return npx.relu(x * 1) + npx.sigmoid(x * 1) + np.log(npx.sigmoid(x * 2))

    c = _versus_eager(_grads(f), _mx(SPECIAL, dtype=dtype), rtol=tol)
    assert c.replays == 2 and {"relu", "sigmoid", "masked_grad"} <= set(_names(c))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int64", "uint64", "bool"])
def test_relu_of_integers_and_sigmoid_of_integers(dtype):
    """relu fuses on integer loops (``maximum`` is in ``INT_OK``); sigmoid of integers has the eager values."""
    v = numpy.array([[1, -2, 0, 100], [127, -128, 5, -5]]).astype(dtype)
    c = _versus_eager(lambda x: npx.relu(x * 1) + 1, _mx(v, dtype=dtype, grad=False), rtol=0)
    assert c.replays == 2 and "relu" in _names(c)
    c = _versus_eager(lambda x: npx.sigmoid(x * 1) * 1, _mx(v, dtype=dtype, grad=False), rtol=1e-12)
    assert c.replays == 2


WHERE_CASES = {
    "scalar-else": lambda x: np.where(x > 0, x * 1, 0) + 1,
    "scalar-then": lambda x: np.where(x > 0, 2.5, x * 1) + 1,
    "both-scalars": lambda x: np.where(x * 1 > 0, 1, 2) * x,
    "float-and-int-scalars": lambda x: np.where(x * 1 > 0, 1.5, 2) + x,
    "bool-scalars": lambda x: np.where(x * 1 > 0, True, False) * x,
    "nonbool-condition": lambda x: np.where(x * 1, x + 1, x - 1),
    "bool-branch": lambda x: np.where(x > 0, x * 1, x > 1) * 1,
    "constant-condition": lambda x: np.where(True, x * 1, 0) + np.where(0, x * 1, 3),
    "negative-zero": lambda x: 1 / np.where(x > 0, -0.0, x * 1),
    "nan-branch": lambda x: np.where(x > 0, x * 1, numpy.nan) + 1,
    "big-int": lambda x: np.where(x > 0, x * 1, 70000) + 1,
    "negative-int": lambda x: np.where(x > 0, x * 1, -1) + 1,
    "huge-float": lambda x: np.where(x > 0, x * 1, 1e300) + 1,
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", ["float32", "int8", "bool"])
def test_where_dtypes_python_scalars_and_conditions(dtype):
    """``where`` with Python numbers in either branch (ints that int8/uint8 cannot hold, floats into
    integer arrays, NaN, -0.0, 1e300 into float32), a non-bool condition (NaN is true), a constant
    condition: dtype and values as eager (a number the loop dtype cannot hold keeps ``where`` out)."""
    x0 = numpy.array([[1.5, -2.0, 0.0, numpy.nan], [numpy.inf, -numpy.inf, 3.0, -0.0]])
    make = _mx(numpy.nan_to_num(x0) if dtype in ("int8", "uint8", "bool") else x0, dtype=dtype, grad=False)
    fused = 0
    for f in WHERE_CASES.values():
        c = _versus_eager(f, make, rtol=1e-12)
        assert c.replays == 2
        fused += "where" in _names(c)
    assert fused >= 5


@pytest.mark.parametrize("dtype", ["float32"])
def test_where_broadcast_condition_and_branches_with_gradients(dtype):
    """Condition and branches from a row, a column and a 0-d array, Python-number branches and a float
    condition; gradients of both branches (``where`` in the backward too)."""
    tol = 1e-5 if dtype == "float32" else 1e-10
    col = RNG.standard_normal((3, 1))
    z0 = numpy.array(0.3)
    for f, vals in [(lambda x, r: np.where(x > r, x * r, r - x), (X0, R0)),
                    (lambda x, c: np.where(c > 0, x * 1, c * 2), (X0, col)),
                    (lambda x, z: np.where(x > 0, z, x) * x, (X0, z0)),
                    (lambda x: np.where(x, x * 2, 0.5) * x, (X0,)),
                    (lambda z: npx.sigmoid(npx.relu(z * 3)) * np.where(z > 0, z, 1.0), (z0,))]:
        c = _versus_eager(_grads(f), _mx(*vals, dtype=dtype), rtol=tol)
        assert c.replays == 2


def test_mixed_float32_float64_scalar_forms():
    """A float32 and a float64 operand through relu, sigmoid and where (the kernel casts as NumPy does)."""
    def make(i):
        a, b = np.array(X0.astype("float32")), np.array(X0 * 2)
        a.attach_grad()
        b.attach_grad()
        return a, b

    c = _versus_eager(_grads(lambda x, y: np.where(x > 0, x, y) * npx.relu(y) + npx.sigmoid(y) * x), make, rtol=1e-6)
    assert c.replays == 2 and _kernels(c)


@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
def test_second_order_through_scalar_forms(dialect):
    """``grad(create_graph=True)`` through relu, sigmoid and where, then a backward of the gradient."""
    if dialect == "mxnet":
        def f(x):
            with autograd.record():
                y = npx.sigmoid(npx.relu(x * 1.5) * x) + np.where(x > 0, x * x, np.exp(x))
                gx = autograd.grad(y.sum(), [x], create_graph=True)[0]
                z = (gx * gx + np.sin(gx) * x).sum()
            z.backward()
            return z, gx, x.grad
        make = _mx(X0)
    else:
        def f(x):
            y = torch.nn.Sigmoid()(torch.nn.ReLU()(x * 1.5) * x) + torch.where(x > 0, x * x, torch.exp(x))
            gx, = torch.autograd.grad(y.sum(), x, create_graph=True)
            z = (gx * gx + torch.sigmoid(gx) * x).sum()
            z.backward()
            return z.detach() * 1, gx.detach() * 1, x.grad * 1

        def make(i):
            return (torch.tensor(X0, requires_grad=True),)
    c = _versus_eager(f, make)
    assert c.replays == 2 and {"relu", "sigmoid", "where"} <= set(_names(c))


# == attacks that held up: the planner ===============================================================

def _f_alternating(x, w, r):
    a = x * 2 + 1
    m = a.mean()  # a reduction of a run value: after the run
    b = np.tanh(a) - m  # reads it: a new run
    c = np.dot(b, w)
    d = np.sin(c) * a + b  # reads the matmul (deferred) and values of both earlier runs
    e = d.reshape(4, 3)
    f = e * 2 + np.exp(e)  # another shape
    return f.reshape(3, 4) * a - np.dot(a, w) * r


def _f_deferred_chain(x, w, r):
    a = np.sin(x) * r
    s = a.sum(axis=0)  # (4,): after the run
    b = a * 3 + x  # still in the run
    t = s * 2 + r  # (4,) elementwise reading a deferred step: deferred too
    c = b / (1 + t * t)  # reads t: a new run
    u = c.sum(axis=1, keepdims=True)
    return c - u + a * b


def _f_view_guard(x, w, r):
    a = x * 1.5
    v = a.T
    b = np.exp(a) + 1
    d = np.dot(v, b) * 2 + w  # (4, 4) run
    if (b.sum() > -1000).item():  # a guard between runs
        e = b * a + np.sum(d)
    else:
        e = b - a
    return npx.relu(e) * npx.sigmoid(d[:3] * 1)


def _f_loop(x, w, r):
    y = x
    for _ in range(4):
        y = np.tanh(y * 1.1 + r)
        y = y - y.max(axis=0) * 0.5
        y = np.dot(y, w) * 0.3 + npx.relu(y)
    return y


@pytest.mark.parametrize("max_run", [None, 3])
@pytest.mark.parametrize("fn", [_f_alternating, _f_deferred_chain, _f_view_guard, _f_loop])
def test_runs_alternating_with_reductions_matmuls_reshapes(fn, max_run, monkeypatch):
    """Elementwise runs interleaved with reductions, matmuls, reshapes and views that read earlier run
    values, values read both inside a run and by a deferred step, a guard, runs of two shapes; forward
    and backward; also with ``MAX_RUN`` cutting the runs anywhere."""
    if max_run is not None:
        monkeypatch.setattr(fusion, "MAX_RUN", max_run)
    c = _versus_eager(_grads(fn), _mx(X0, W0, R0))
    assert c.replays == 2 and _kernels(c)
    if max_run is not None:
        assert all(k.n_ops <= max_run for k in _kernels(c))


def test_torch_inplace_between_deferred_reads():
    """A reduction of a run value, then ``relu_`` on it, then a run reading both; ``sigmoid_`` after a
    matmul read the value; ``clamp_`` on a clone; ``where`` on the results."""
    def f(x, w):
        y = x * 2 + 1
        s = y.sum()
        y.relu_()
        z = y * s + torch.sigmoid(y)
        m = z @ w
        z.sigmoid_()
        b = z.clone()
        b.clamp_(min=0.7)
        return torch.where(z > 0.6, m, z) * 2 + b, y, s

    c = _versus_eager(f, lambda i: (torch.tensor(X0 * (1 + i)), torch.tensor(W0)))
    assert c.replays == 2 and _kernels(c)


# == attacks that held up: detach ===================================================================

def test_detach_write_through_and_reuse_mxnet():
    """A detached view written into (``d += 1`` changes ``y``), then ``y`` and ``d`` both read by the next
    run and by the backward; a detached stop-gradient factor; both returned."""
    def f(x):
        with autograd.record():
            y = np.sin(x) * 2
            d = y.detach()
            d += 1
            w = np.exp(x * 0.5).detach()
            z = (y * x + d * d + w / (1 + w) * y).sum()
        z.backward()
        return z, y, d, w, x.grad

    c = _versus_eager(f, _mx(X0), state=lambda a: a[0])
    assert c.replays == 2 and _kernels(c)


def test_detach_of_an_argument_written_into():
    def f(x):
        d = x.detach()
        d *= 2
        return x * 1 + d

    c = _versus_eager(f, _mx(X0, grad=False), state=lambda a: a[0])
    assert c.replays == 2


def test_detach_torch_writes_and_results():
    """``detach`` of a run value, an item write and ``add_`` through it, then a run reading both; a
    detached relu output scaled in place after another value read it."""
    def f(x):
        y = x * 2
        d = y.detach()
        d[1] = 0.0
        d.add_(1)
        e = torch.sigmoid(y) * d
        r = torch.relu(x * 2)
        dr = r.detach()
        a = r + 1
        dr.mul_(3)
        return y * 1, d.detach(), e, a * r, dr

    c = _versus_eager(f, lambda i: (torch.tensor(X0 * (1 + i)),))
    assert c.replays == 2 and _kernels(c)


def test_detach_torch_with_backward():
    def f(x):
        y = torch.sigmoid(x * 3 + 1)
        d = y.detach()
        z = (torch.relu(y) * d).sum()
        z.backward()
        return d, x.grad

    c = _versus_eager(f, lambda i: (torch.tensor(X0 * (1 + i), requires_grad=True),))
    assert c.replays == 2 and {"sigmoid", "relu"} <= set(_names(c))


# == attacks that held up: training steps =============================================================

def _mx_training(compiled, act, adam, dtype):
    r0 = numpy.random.default_rng(0)
    ps = [np.array((r0.standard_normal(s) * 0.5).astype(dtype)) for s in [(4, 8), (8,), (8, 2), (2,)]]
    for p in ps:
        p.attach_grad()
    ms = [np.zeros(p.shape, dtype=dtype) for p in ps]
    vs = [np.zeros(p.shape, dtype=dtype) for p in ps]
    A = npx.relu if act == "relu" else npx.sigmoid

    def step(X, y, t):
        with autograd.record():
            h = A(np.dot(X, ps[0]) + ps[1])
            o = npx.sigmoid(np.dot(h, ps[2]) + ps[3])
            loss = ((o - y) ** 2).mean()
        loss.backward()
        for p, m, v in zip(ps, ms, vs):
            if adam:
                m[:] = 0.9 * m + 0.1 * p.grad
                v[:] = 0.999 * v + 0.001 * p.grad * p.grad
                p -= 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
            else:
                m[:] = 0.9 * m + p.grad
                p -= 0.1 * m
        return loss

    s = tapegrad.compile(step, fuse=True) if compiled else step
    r = numpy.random.default_rng(1)
    out = [s(np.array(r.standard_normal((5, 4)).astype(dtype)), np.array(r.random((5, 2)).astype(dtype)),
             np.array(numpy.array(t, dtype=dtype))).asnumpy().copy() for t in range(1, 7)]
    return out + [p.asnumpy().copy() for p in ps], s


def _torch_training(compiled, act, adam, dtype):
    torch.manual_seed(0)
    A = torch.nn.ReLU if act == "relu" else torch.nn.Sigmoid
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), A(), torch.nn.Linear(8, 2), torch.nn.Sigmoid())
    if dtype == "float64":
        net = net.double()
    opt = (torch.optim.Adam(net.parameters(), lr=0.01) if adam
           else torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9))

    def step(X, y):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X), y)
        loss.backward()
        opt.step()
        return loss.detach()

    s = tapegrad.compile(step, fuse=True) if compiled else step
    r = numpy.random.default_rng(1)
    out = [s(torch.tensor(r.standard_normal((5, 4)).astype(dtype)), torch.tensor(r.random((5, 2)).astype(dtype)))
           .numpy().copy() for _ in range(6)]
    return out + [p.detach().numpy().copy() for p in net.parameters()], s


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("act", ["relu", "sigmoid"])
@pytest.mark.parametrize("run", [_mx_training, _torch_training], ids=["mxnet", "torch"])
def test_training_steps_fused_match_eager(run, act, adam, dtype):
    """A ReLU or Sigmoid MLP with SGD (momentum) or Adam, 6 steps: losses and parameters as eager."""
    tol = 1e-4 if dtype == "float32" else 1e-10
    want, _ = run(False, act, adam, dtype)
    got, c = run(True, act, adam, dtype)
    for g, w in zip(got, want):
        numpy.testing.assert_allclose(g, w, rtol=tol, atol=tol * 1e-2)
    assert c.replays >= 4 and act in _names(c) and "Numba kernel" in c.explain()

"""``tapegrad.compile``'s elementwise fusion on the CPU (Numba, the extra ``tapegrad[jit]``): a fused
replay agrees with the eager call within rounding, wherever the run it fused came from (forward,
backward, the repair of singular cotangents, broadcasting, mixed dtypes, a guard between runs), and
``explain()`` says what fused. Without Numba, fusion is off and says so."""
from __future__ import annotations

import numpy
import pytest

import tapegrad
import tapegrad.torch as torch
from tapegrad import autograd, np
from tapegrad._core import compiled as compiled_mod
from tapegrad._core import fusion
from tapegrad.backend import numba_kernels

import _compile_cases as cc
from _fusion_cases import _kernels

numba = pytest.importorskip("numba")

#: rtol by itemsize (float16, float32, float64; complex by its parts)
TOL = {2: 1e-2, 4: 1e-4, 8: 1e-10}


@pytest.fixture
def fused(monkeypatch):
    """``compile(fn)`` fuses (the suite turns it off elsewhere), and the sweep compares within ``TOL``."""
    monkeypatch.setattr(compiled_mod, "FUSE", True)
    monkeypatch.setattr(cc, "TOLERANCE", TOL)


def _variables(x0, dtype=None):
    """Two variables holding ``x0`` (one for the eager run, one for the compiled run)."""
    xs = (np.array(x0, dtype=dtype), np.array(x0, dtype=dtype))
    for x in xs:
        x.attach_grad()
    return xs


# -- the registry sweep: every op whose forward is a fusable ufunc, first sample, two dialects --

FUSABLE_OPS = sorted(name for name, cases in cc.CASES_BY_OP.items()
                     if (cases[0][0].ufunc is not None and cases[0][0].ufunc.__name__ in fusion.FUSABLE)
                     or cases[0][0].scalar is not None)
SCALAR_OPS = sorted(name for name in FUSABLE_OPS if cc.CASES_BY_OP[name][0][0].scalar is not None)
FUSED_RUNS: dict = {"mxnet": set(), "torch": set()}
SWEPT: dict = {"mxnet": set(), "torch": set()}  # (the summaries below judge a whole sweep only)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
@pytest.mark.parametrize("name", FUSABLE_OPS)
def test_fused_sweep(fused, dialect, name):
    SWEPT[dialect].add(name)
    op, case, cid = cc.CASES_BY_OP[name][0]
    values, _ = cc.call_values(op, case, cid)
    run = cc.RUNNERS[dialect](op, case, values)
    if run is None:
        pytest.skip("no floating output")
    eager, got, c = run
    bad = cc.compare(eager, got)
    assert not bad, f"{cid} {case!r}: fused replay differs from eager: {bad[:3]}\n{c.explain()}"
    if _kernels(c):
        FUSED_RUNS[dialect].add(name)
        assert c.replays >= 1, c.explain()
        assert "Numba kernel" in c.explain()


def test_scalar_forms_are_swept():
    """Every op declared with a ``scalar`` form (not one ufunc) is in the sweep, and its kernel ran."""
    assert {"relu", "sigmoid", "where", "masked_grad"} <= set(SCALAR_OPS)
    if any(len(v) < len(FUSABLE_OPS) for v in SWEPT.values()):
        pytest.skip("the whole sweep did not run in this session")
    for dialect, names in FUSED_RUNS.items():
        assert set(SCALAR_OPS) - {"masked_grad"} <= names or dialect == "torch", (dialect, set(SCALAR_OPS) - names)


def test_fused_sweep_fused_most_ops():
    """The sweep above is not vacuous: most of its ops ran through a kernel in each dialect."""
    if any(len(v) < len(FUSABLE_OPS) for v in SWEPT.values()):
        pytest.skip("the whole sweep did not run in this session")
    for dialect, names in FUSED_RUNS.items():
        assert len(names) >= 0.8 * len(FUSABLE_OPS), (dialect, sorted(set(FUSABLE_OPS) - names))


# -- targeted cases -------------------------------------------------------------------------------

def _chain(y, n):
    for i in range(n):
        k = i % 6
        y = (y * 2.8 if k == 0 else y + 0.1 if k == 1 else np.sin(y) if k == 2 else np.exp(y) if k == 3
             else np.tanh(y) if k == 4 else np.square(y))
    return y


def _mx_step(x, n=60):
    def step():
        with autograd.record():
            s = _chain(x, n).sum()
        s.backward()
        return s, x.grad
    return step


def test_w1_chain_is_one_kernel(fused):
    """Forward, the sum between forward and backward, the backward: one kernel over the whole chain."""
    x0 = numpy.random.default_rng(0).uniform(-1, 1, 4).astype(numpy.float32)
    xe, xc = _variables(x0)
    eager, c = _mx_step(xe), tapegrad.compile(_mx_step(xc))
    for _ in range(3):
        (se, ge), (sc, gc) = eager(), c()
        numpy.testing.assert_allclose(sc.asnumpy(), se.asnumpy(), rtol=1e-5)
        numpy.testing.assert_allclose(gc.asnumpy(), ge.asnumpy(), rtol=1e-4)
    assert c.replays == 2
    ks = _kernels(c)
    assert len(ks) == 1 and ks[0].n_ops > 120, c.explain()
    assert "fused: " in c.explain() and "1 Numba kernel" in c.explain()


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_singular_repair_fuses_and_keeps_zero_gradients(fused):
    """sqrt at 0 has an infinite derivative; where the cotangent is zero, the gradient stays 0, not NaN."""
    x0 = numpy.array([0.0, 1.0, 4.0, 0.0])
    w = np.array([0.0, 2.0, 1.0, 3.0], dtype="float64")

    def step(x):
        with autograd.record():
            y = (np.sqrt(x * 1.0) * w + 1.0).sum()
        y.backward()
        return x.grad

    outs = []
    for compiled in (False, True):
        x = np.array(x0, dtype="float64")
        x.attach_grad()
        s = tapegrad.compile(step) if compiled else step
        outs.append([s(x).asnumpy().copy() for _ in range(3)])
        if compiled:
            assert any("repair" in k.names for k in _kernels(s)), s.explain()
    for e, g in zip(*outs):
        assert e[0] == 0.0 and numpy.isinf(e[3])
        numpy.testing.assert_allclose(g, e, rtol=1e-12)


def test_broadcast_zero_d_and_mixed_dtypes(fused):
    """Operands broadcast into the run's shape (a row, a 0-d array), an integer array and a comparison."""
    rng = numpy.random.default_rng(3)
    x0 = rng.standard_normal((3, 4))
    b0 = rng.standard_normal(4)
    k = np.array(numpy.arange(12).reshape(3, 4) % 3)  # int64
    z = np.array(numpy.float64(0.5))

    def step(x, b):
        with autograd.record():
            y = np.tanh(x * z + b) * k + (x > 0) * x
            s = (y * y).sum()
        s.backward()
        return s, x.grad, b.grad

    res = []
    for compiled in (False, True):
        x, b = np.array(x0), np.array(b0)
        x.attach_grad()
        b.attach_grad()
        s = tapegrad.compile(step) if compiled else step
        res.append([[v.asnumpy().copy() for v in s(x, b)] for _ in range(3)])
        if compiled:
            assert _kernels(s) and s.replays == 2, s.explain()
    for e, g in zip(*res):
        for a, b in zip(e, g):
            numpy.testing.assert_allclose(b, a, rtol=1e-12)


def test_a_guard_between_runs_picks_the_path(fused):
    """A branch on a value between two runs: each path fused, each call gives its own path's values."""
    def step(x):
        with autograd.record():
            y = np.sin(x) * 2 + 1
            z = np.exp(y) if y.sum() > 4 else np.cos(y) * 3
            s = z.sum()
        s.backward()
        return s, x.grad

    c = tapegrad.compile(step)
    for v in ([1.0, 1.0, 1.0], [-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]):
        xe, xc = _variables(v, "float64")
        (se, ge), (sc, gc) = step(xe), c(xc)
        numpy.testing.assert_allclose(sc.asnumpy(), se.asnumpy(), rtol=1e-12)
        numpy.testing.assert_allclose(gc.asnumpy(), ge.asnumpy(), rtol=1e-12)
    assert c.replays == 2 and c.traces == 2 and len(_kernels(c)) >= 2, c.explain()


def test_torch_training_step_fused_matches_eager(fused):
    """The PyTorch dialect's MLP step with SGD (in-place updates between runs) and dropout (a draw)."""
    def run(compiled):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Dropout(0.25),
                                  torch.nn.Linear(8, 3), torch.nn.Sigmoid())
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

        def step(X, y):
            opt.zero_grad()
            loss = ((net(X) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        s = torch.compile(step) if compiled else step
        rng = numpy.random.default_rng(1)
        out = []
        for _ in range(6):
            X = torch.tensor(rng.standard_normal((5, 4)))
            y = torch.tensor(rng.random((5, 3)))
            out.append(s(X, y).item())
        return out + [p.detach().numpy().copy() for p in net.parameters()], s

    eager, _ = run(False)
    got, c = run(True)
    for a, b in zip(eager, got):
        numpy.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    assert c.replays == 4 and _kernels(c), c.explain()  # (the first call of each signature traces: .grad None, then set)


def test_fusion_off_without_numba(monkeypatch):
    """Without Numba: ``fuse=True`` says what to install; the default replays op by op and says why."""
    monkeypatch.setattr(numba_kernels, "available", lambda: False)
    monkeypatch.setattr(compiled_mod, "FUSE", True)
    with pytest.raises(ImportError, match=r"tapegrad\[jit\]"):
        tapegrad.compile(lambda x: x, fuse=True)
    x = np.array([1.0, 2.0])
    x.attach_grad()
    c = tapegrad.compile(_mx_step(x, 12))
    c()
    c()
    assert not _kernels(c) and c.replays == 1
    assert "Numba is not installed" in c.explain() and "tapegrad[jit]" in c.explain()


def test_fuse_false_is_bitwise(monkeypatch):
    """``fuse=False`` keeps the op-by-op replay, equal to eager bit for bit, Numba or not."""
    monkeypatch.setattr(compiled_mod, "FUSE", True)
    x0 = numpy.random.default_rng(0).uniform(-1, 1, 5)
    xe, xc = _variables(x0, "float64")
    eager, c = _mx_step(xe, 30), tapegrad.compile(_mx_step(xc, 30), fuse=False)
    for _ in range(3):
        (se, ge), (sc, gc) = eager(), c()
        assert numpy.array_equal(gc.asnumpy(), ge.asnumpy()) and numpy.array_equal(sc.asnumpy(), se.asnumpy())
    assert not _kernels(c) and "fuse=False" in c.explain()


def test_a_long_run_is_cut_into_kernels(fused, monkeypatch):
    """A run longer than ``MAX_RUN`` steps continues in a new kernel (none of it left unfused)."""
    monkeypatch.setattr(fusion, "MAX_RUN", 8)
    x0 = numpy.random.default_rng(2).uniform(-1, 1, 3)
    xe, xc = _variables(x0, "float64")
    eager, c = _mx_step(xe, 24), tapegrad.compile(_mx_step(xc, 24))
    for _ in range(3):
        (se, ge), (sc, gc) = eager(), c()
        numpy.testing.assert_allclose(gc.asnumpy(), ge.asnumpy(), rtol=1e-10)
    ks = _kernels(c)
    assert all(k.n_ops <= 8 for k in ks) and sum(k.n_ops for k in ks) > 50, c.explain()


def test_a_run_numba_refuses_replays_op_by_op_and_says_why(fused, monkeypatch):
    """When Numba cannot compile a run, the run replays op by op, and ``explain()`` names it and why."""
    def refuse(*a, **k):
        raise RuntimeError("no kernel today")
    monkeypatch.setattr(numba_kernels, "compile_kernel", refuse)
    x0 = numpy.random.default_rng(5).uniform(-1, 1, 4)
    xe, xc = _variables(x0, "float64")
    eager, c = _mx_step(xe, 12), tapegrad.compile(_mx_step(xc, 12))
    for _ in range(3):
        (se, ge), (sc, gc) = eager(), c()
        assert numpy.array_equal(gc.asnumpy(), ge.asnumpy())
    assert c.replays == 2 and not _kernels(c)
    assert "not fused:" in c.explain() and "no kernel today" in c.explain(), c.explain()


def _twice(make, fn, calls=3):
    """``fn`` eagerly and fused, each on its own inputs from ``make()``: the outputs and the inputs
    (written in place) after each call, within float rounding; and the compiled function."""
    c = tapegrad.compile(fn, fuse=True)
    ae, ac = make(), make()
    for _ in range(calls):
        re_, rc = fn(*ae), c(*ac)
        for a, b in zip([re_, *ae], [rc, *ac]):
            numpy.testing.assert_allclose(b.asnumpy(), a.asnumpy(), rtol=1e-12, atol=0)
    return c


def test_an_in_place_update_ends_a_run_in_one_pass(fused):
    """``p -= lr * g`` is one kernel pass over ``p`` (the target read from its own argument)."""
    def make():
        rng = numpy.random.default_rng(7)
        return np.array(rng.standard_normal((4, 5))), np.array(rng.standard_normal((4, 5)))
    c = _twice(make, lambda p, g: p.__isub__(0.1 * np.tanh(g)))
    ks = _kernels(c)
    assert len(ks) == 1 and ks[0].targets and "subtract in place" in ks[0].names, c.explain()


def test_an_in_place_update_reading_a_view_of_its_target(fused):
    """``p -= 0.1 * p.T``: the kernel's input shares the target's memory in another order; the replay
    copies it first, so every element reads the old values, as NumPy's two calls do."""
    c = _twice(lambda: (np.array(numpy.random.default_rng(8).standard_normal((4, 4))),),
               lambda p: p.__isub__(np.tanh(p.T) * 0.1))
    assert any(k.targets for k in _kernels(c)), c.explain()


def test_an_in_place_update_that_a_later_step_reads_before(fused):
    """``y = sin(x); s = y.sum(); x -= y``: the sum runs after the run (it reads the run), so the write
    does not join it (the sum must see x's old values through y, not x's new ones)."""
    def f(x):
        y = np.sin(x) * 2
        s = (y * x).sum()
        x -= y
        return s
    c = _twice(lambda: (np.array(numpy.random.default_rng(9).standard_normal(6)),), f)
    assert _kernels(c) and not any(k.targets for k in _kernels(c)), c.explain()


def test_scalar_forms_take_the_ops_number_parameters(fused):
    """``leaky_relu(x, 0.2)`` and ``softplus(x, beta=2, threshold=3)`` fuse with their parameters as
    constants of the kernel (a parameter changed in the code is another trace: it is in the program)."""
    F = torch.nn.functional

    def step(x):
        return F.softplus(F.leaky_relu(x * 2, 0.2) * 3, beta=2.0, threshold=3.0)
    c = tapegrad.compile(step)
    for v in ([1.0, -2.0, 0.3], [2.0, -1.0, 5.0], [0.1, 0.2, -3.0]):
        x = numpy.array(v)
        numpy.testing.assert_allclose(c(torch.tensor(x)).numpy(), step(torch.tensor(x)).numpy(), rtol=1e-12)
    names = [n for k in _kernels(c) for n in k.names]
    assert c.replays == 2 and "leaky_relu" in names and "softplus" in names, c.explain()

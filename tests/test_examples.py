"""The programs in ``examples/``, each run at a small size and checked against a stated result."""
from __future__ import annotations

import importlib
import pathlib
import re
import types

import numpy
import pytest

pytest.importorskip("scipy")

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
#: The NumPy-door examples, which HIPS autograd runs too once their imports name it.
HIPS_PORTABLE = ("lbfgs_logistic", "rnn", "hmm_em", "gaussian_process", "bayesian_nn")


def run(name: str) -> dict:
    return importlib.import_module(f"examples.{name}").main(small=True)


def run_under_hips(name: str) -> dict:
    """The example's own source with its tapegrad imports rewritten to HIPS autograd's, run."""
    pytest.importorskip("autograd")
    src = (EXAMPLES / f"{name}.py").read_text()
    src = re.sub(r"^import tapegrad$", "import autograd as tapegrad", src, flags=re.M)
    src = src.replace("tapegrad.numpy", "autograd.numpy").replace("tapegrad.scipy", "autograd.scipy")
    src = src.replace("tapegrad.misc", "autograd.misc")
    assert "tapegrad." not in src.replace("import autograd as tapegrad", "").replace("tapegrad.grad", "") \
        .replace("tapegrad.value_and_grad", ""), "an import the rewrite does not know"
    mod = types.ModuleType(f"hips_{name}")
    exec(compile(src, f"<{name} under HIPS>", "exec"), mod.__dict__)
    return mod.main(small=True)


def _same(a, b, path="result"):
    if isinstance(a, dict):
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    else:
        numpy.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10, err_msg=path)


@pytest.mark.parametrize("name", HIPS_PORTABLE)
def test_the_numpy_door_examples_give_hips_autograds_results(name):
    """Code written for tapegrad.numpy runs on HIPS autograd with its imports changed, and the two agree."""
    _same(run(name), run_under_hips(name))


def test_lbfgs_logistic_reaches_the_newton_solution():
    r = run("lbfgs_logistic")
    assert r["success"] and r["grad_norm"] < 1e-4
    # the same optimum by Newton's method in plain NumPy
    from examples.lbfgs_logistic import main  # noqa: F401 - same data as main(small=True)
    rng = numpy.random.default_rng(0)
    n, d = 200, 5
    true_w = 2.0 * rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 1 / (1 + numpy.exp(-(X @ true_w + 0.5)))).astype(float)
    A = numpy.hstack([X, numpy.ones((n, 1))])
    w = numpy.zeros(d + 1)
    reg = numpy.diag([1e-3] * d + [0.0])
    for _ in range(30):
        p = 1 / (1 + numpy.exp(-A @ w))
        g = A.T @ (p - y) / n + reg @ w
        H = (A * (p * (1 - p))[:, None]).T @ A / n + reg
        w -= numpy.linalg.solve(H, g)
    numpy.testing.assert_allclose(r["w"], w, atol=1e-4)


def test_rnn_written_with_augmented_assignment_learns():
    r = run("rnn")
    assert r["end"] < 0.2 * r["start"]


def test_hmm_em_increases_the_likelihood_and_recovers_the_transitions():
    r = run("hmm_em")
    lls = r["log_likelihoods"]
    assert all(b >= a - 1e-8 for a, b in zip(lls, lls[1:])), "EM never lowers the likelihood"
    assert lls[-1] > lls[0] + 1.0
    # the HMM is identifiable up to relabelling the states: compare the diagonal's order-free content
    A = r["params"][1]
    assert abs(numpy.sort(numpy.diag(A)) - numpy.sort(numpy.diag(r["true"][1]))).max() < 0.2


def test_gaussian_process_fit_finds_the_noise_level():
    r = run("gaussian_process")
    assert r["success"] and r["end"] < r["start"] - 5
    assert 0.5 * r["true_noise"] < r["noise"] < 2 * r["true_noise"]


def test_bayesian_neural_net_by_bbvi_fits_the_data():
    r = run("bayesian_nn")
    assert r["end"] > r["start"] + 100
    assert r["rmse"] < 0.3


def test_torch_mlp_with_adam_and_a_cosine_schedule_separates_the_spirals():
    r = run("torch_mlp_adam")
    assert r["accuracy"] > 0.95
    assert r["lr"] < 1e-3


def test_ode_fit_through_odeint_recovers_the_parameters():
    r = run("ode_fit")
    assert r["success"] and r["end"] < 1e-3 * r["start"]
    assert abs(r["k"] - 2.0) < 0.02 and abs(r["c"] - 0.3) < 0.02

"""The CuPy backend on an NVIDIA GPU: every op's values and gradients against the same op on the CPU
and against finite differences, device copies, and both dialects' GPU code. Skipped without CuPy and
a GPU (``pip install cupy-cuda12x``)."""
from __future__ import annotations

import numpy
import pytest

from tapegrad.backend import num_gpus

pytestmark = pytest.mark.skipif(num_gpus() == 0, reason="needs CuPy and an NVIDIA GPU")

import tapegrad  # noqa: E402
from tapegrad import autograd, np, npx  # noqa: E402
from tapegrad._core.errors import DeviceError  # noqa: E402
from tapegrad.backend import cupy_backend, to_host  # noqa: E402
from tapegrad.ndarray import ndarray  # noqa: E402
from tapegrad.testing import check_grads  # noqa: E402
from test_ops import CASES, _call, _first_order, _invoke  # noqa: E402


def _cupy():
    import cupy  # noqa: PLC0415 - only where a GPU is
    return cupy


def _gpu(a):
    return _cupy().asarray(a) if isinstance(a, numpy.ndarray) else a


def _on_gpu(arr) -> bool:
    return type(arr._data).__module__.startswith("cupy")


# The device copy's samples name the CPU as both ends; it is tested across devices below. Without a
# GPU the sweep is empty rather than thousands of skips.
# SciPy's functions that cupyx.scipy lacks refuse GPU arrays (tested below).
SWEEP = [c for c in CASES if c.values[0].name != "device_copy"
         and c.values[0].name not in cupy_backend.HOST_ONLY] if num_gpus() else []
# Singular and eigen-vectors are defined up to sign (phase): cuSOLVER and LAPACK pick differently, so
# these are compared with finite differences (of sign-invariant functions, see their samples) alone.
_SIGN_FREE = {"eigh", "svd", "_svd"}


def _skip_unsupported(case):
    """CuPy has no extended precision (float128 / complex256)."""
    dts = [numpy.dtype(v) for v in case.params.values() if isinstance(v, (type, numpy.dtype))
           and issubclass(numpy.dtype(v).type, numpy.generic)]
    if any(dt.itemsize > 8 and dt.kind == "f" or dt.itemsize > 16 for dt in dts):
        pytest.skip("CuPy has no extended precision")


@pytest.mark.parametrize("op,case", SWEEP)
def test_values_on_the_gpu_match_the_cpu(op, case):
    _skip_unsupported(case)
    if op.name in _SIGN_FREE:
        pytest.skip("vectors defined up to sign: checked by finite differences")
    cpu = _invoke(op, [ndarray._make(a) if isinstance(a, numpy.ndarray) else a for a in case.args], case.params)
    gpu = _invoke(op, [ndarray._make(_gpu(a)) if isinstance(a, numpy.ndarray) else a for a in case.args],
                  case.params)
    cpu, gpu = (list(r) if isinstance(r, (tuple, list)) else [r] for r in (cpu, gpu))
    assert len(cpu) == len(gpu)
    for c, g in zip(cpu, gpu):
        assert _on_gpu(g), f"{op.name} returned a host array for GPU inputs"
        assert g.shape == c.shape and g._data.dtype == c._data.dtype
        numpy.testing.assert_allclose(to_host(g._data), c._data, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op,case", [c for c in SWEEP if c.values[0].diff])
def test_gradients_on_the_gpu_match_finite_differences(op, case):
    _skip_unsupported(case)
    args = [ndarray._make(_gpu(a)) if isinstance(a, numpy.ndarray) else a for a in case.args]
    check_grads(_call(op, case), args, order=min(case.order, 2), wrt=case.wrt, modes=("fwd", "rev"))


@pytest.mark.parametrize("op,case", [c for c in SWEEP if c.values[0].diff])
def test_plain_backward_on_the_gpu_matches_the_cpu(op, case):
    """The raw-buffer backward (no graph) and the graph-building one, on the GPU, against the CPU's."""
    _skip_unsupported(case)
    if op.name in _SIGN_FREE:
        pytest.skip("vectors defined up to sign: checked by finite differences")
    cpu = _first_order(op, case, create_graph=False)
    for create_graph in (False, True):
        gpu = _first_order(op, case, create_graph=create_graph, put=_gpu)
        if cpu is None:
            assert gpu is None
            continue
        for c, g in zip(cpu, gpu):
            assert (c is None) == (g is None)
            if c is not None:
                assert c[0] == g[0]
                numpy.testing.assert_allclose(g[1], c[1], rtol=1e-7, atol=1e-12)


def test_the_seed_on_the_gpu():
    x = np.arange(4.0, ctx=npx.gpu(0))
    x.attach_grad()
    assert repr(x.grad) == "array([0., 0., 0., 0.], ctx=gpu(0))"
    buf = x.grad._data.data.ptr
    for _ in range(2):
        with autograd.record():
            y = 2 * np.dot(x, x)
        y.backward()
    assert repr(y) == "array(28., ctx=gpu(0))"
    assert repr(x.grad) == "array([ 0.,  4.,  8., 12.], ctx=gpu(0))"
    assert x.grad._data.data.ptr == buf, "the gradient buffer was reallocated"
    assert npx.num_gpus() >= 1


def test_as_in_ctx_is_differentiable_both_ways():
    x = np.array([1.0, -2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        z = x.as_in_ctx(npx.gpu(0))
        assert _on_gpu(z)
        y = (z ** 2).as_in_ctx(npx.cpu()).sum()
    y.backward()
    assert not _on_gpu(x.grad)
    numpy.testing.assert_allclose(x.grad.asnumpy(), [2.0, -4.0, 6.0])
    check_grads(lambda a: (a.as_in_ctx(npx.gpu(0)) * a.as_in_ctx(npx.gpu(0))).as_in_ctx(npx.cpu()),
                [np.array([0.5, 1.5], dtype="float64")], order=2, modes=("fwd", "rev"))


def test_mixing_devices_says_how_to_move():
    a, b = np.ones(2), np.ones(2, ctx=npx.gpu(0))
    with pytest.raises(DeviceError, match="as_in_ctx"):
        a + b
    with pytest.raises(DeviceError, match="gpu"):
        np.ones(2, ctx=npx.gpu(num_gpus()))


def test_torch_dialect_on_cuda():
    import tapegrad.torch as torch
    assert torch.cuda.is_available() and torch.cuda.device_count() >= 1
    x = torch.arange(4.0, device="cuda", requires_grad=True)
    assert x.device == torch.device("cuda", 0) and x.is_cuda
    y = 2 * torch.dot(x, x)
    assert repr(y) == "tensor(28., device='cuda:0', grad_fn=<MulBackward0>)"
    y.backward()
    assert repr(x.grad) == "tensor([ 0.,  4.,  8., 12.], device='cuda:0')"
    x.grad.zero_()
    (x.sum()).backward()
    assert repr(x.grad) == "tensor([1., 1., 1., 1.], device='cuda:0')"
    with pytest.raises(TypeError, match="Use Tensor.cpu"):
        x.detach().numpy()
    c = torch.tensor([1.0, 2.0], requires_grad=True)
    (c.cuda() ** 2).sum().backward()
    assert not c.grad.is_cuda and c.grad.tolist() == [2.0, 4.0]
    assert (c.to("cuda") ** 2).grad_fn.name() == "PowBackward0"
    for t in (torch.zeros(2, 3, device="cuda"), torch.ones_like(x), torch.randn(3, device="cuda:0"),
              torch.full((2,), 1.5, device=torch.device("cuda"))):
        assert t.is_cuda


def test_a_torch_training_step_on_cuda_matches_the_cpu():
    import tapegrad.torch as torch
    from tapegrad.torch import nn

    def losses(device):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        x = torch.randn(16, 6).to(device)
        t = torch.randint(0, 3, (16,)).to(device)
        out = []
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x), t)
            loss.backward()
            opt.step()
            out.append(loss.item())
        assert all(p.is_cuda == (device == "cuda") for p in net.parameters())
        return out

    numpy.testing.assert_allclose(losses("cuda"), losses("cpu"), rtol=1e-5)


def test_functional_api_on_the_gpu():
    def f(x):
        return np.sum(np.tanh(x) * x)

    xc = np.array([0.3, -1.2, 2.0], dtype="float64")
    xg = xc.as_in_ctx(npx.gpu(0))
    for fn in (tapegrad.grad(f), tapegrad.hessian(f)):
        g = fn(xg)
        assert _on_gpu(g)
        numpy.testing.assert_allclose(to_host(g._data), fn(xc).asnumpy(), rtol=1e-12)


def test_the_gpu_benchmark_checks_and_times_both(capsys):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA build of PyTorch")
    from benchmarks import gpu_mlp
    assert gpu_mlp.main(["1"]) == 0
    out = capsys.readouterr().out
    assert "WRONG" not in out and out.count("×") == len(gpu_mlp.BATCHES)


_HOST_ONLY = {c.values[0].name: c for c in reversed(CASES) if c.values[0].name in cupy_backend.HOST_ONLY}


@pytest.mark.parametrize("op,case", list(_HOST_ONLY.values()) if num_gpus() else [])
def test_scipy_functions_without_a_gpu_version_refuse_gpu_arrays(op, case):
    args = [ndarray._make(_gpu(a)) if isinstance(a, numpy.ndarray) else a for a in case.args]
    with pytest.raises(cupy_backend.HostOnlyError, match="move its inputs to the CPU"):
        _invoke(op, args, case.params)

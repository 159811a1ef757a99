"""red17 probes of DistributedDataParallel (PyTorch dialect) on real MPI ranks.

    mpiexec -n 2 python tests/mpi/red17_ddp.py MODE [MODE ...]
"""
import numpy
import tapegrad.torch as torch
import tapegrad.torch.distributed as dist
from _modes import run_modes  # noqa: E402 - (tests/mpi is the script's folder)

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
nn = torch.nn
DDP = nn.parallel.DistributedDataParallel


def mean_over_ranks(local):
    everyone = [numpy.empty_like(local) for _ in range(n)]
    from tapegrad import distributed as core
    core.all_gather_into(everyone, numpy.ascontiguousarray(local))
    return sum(everyone) / n


def tied():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3, bias=False)
        def forward(self, x):
            return self.lin(self.lin(x))
    torch.manual_seed(0)
    m = DDP(Tied())
    x = torch.tensor(numpy.arange(6.0).reshape(2, 3) + r, dtype=torch.float32)
    m(x).pow(2).sum().backward()
    g = m.module.lin.weight.grad.numpy().copy()
    m.module.lin.weight.grad = None
    m.module(x).pow(2).sum().backward()
    numpy.testing.assert_allclose(g, mean_over_ranks(m.module.lin.weight.grad.numpy()), rtol=1e-5)


class Scale(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.register_buffer("s", torch.ones(k))
    def forward(self, x):
        return x * self.s


def frozen_mixed_buffers():
    torch.manual_seed(r)
    m = nn.Sequential(nn.Linear(3, 4), Scale(4), nn.Linear(4, 2).double())
    m[0].bias.requires_grad_(False)
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = m
        def forward(self, x):
            h = self.m[1](self.m[0](x))
            return self.m[2](h.double())
    d = DDP(M(), bucket_cap_mb=1e-6)
    w0 = [p.detach().numpy().copy() for p in m.parameters()]
    for a in w0:
        numpy.testing.assert_array_equal(a, mean_over_ranks(a))
    x = torch.tensor(numpy.arange(15.0).reshape(5, 3) * (r + 1), dtype=torch.float32)
    d(x).sum().backward()
    for name, p in m.named_parameters():
        if p.requires_grad:
            numpy.testing.assert_allclose(p.grad.numpy(), mean_over_ranks(p.grad.numpy()), err_msg=name)
        else:
            assert p.grad is None
    m[1].s.add_(r)
    d(x)
    numpy.testing.assert_array_equal(m[1].s.numpy(), numpy.ones(4))  # broadcast of rank 0's buffers before the forward
    # two backwards without no_sync: accumulation
    for p in m.parameters():
        p.grad = None
    d(x).sum().backward()
    d(x).sum().backward()


def set_to_none_steps():
    torch.manual_seed(r)
    m = DDP(nn.Linear(3, 2))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for step in range(3):
        opt.zero_grad(set_to_none=True)
        x = torch.ones(4, 3) * (r + step)
        m(x).sum().backward()
        for p in m.parameters():
            numpy.testing.assert_allclose(p.grad.numpy(), mean_over_ranks(p.grad.numpy()))
        opt.step()
    for p in m.parameters():
        numpy.testing.assert_allclose(p.detach().numpy(), mean_over_ranks(p.detach().numpy()))


def autograd_grad():
    m = DDP(nn.Linear(3, 2))
    x = torch.ones(4, 3) * (r + 1)
    torch.autograd.grad(m(x).sum(), list(m.parameters()))
    assert all(p.grad is None for p in m.parameters())
    m(x).sum().backward()  # the next forward and backward still work


def retain_double():
    m = DDP(nn.Linear(3, 2))
    x = torch.ones(4, 3) * (r + 1)
    loss = m(x).pow(2).sum()
    loss.backward(retain_graph=True)
    g1 = [p.grad.numpy().copy() for p in m.parameters()]
    loss.backward()
    for p, a in zip(m.parameters(), g1):
        numpy.testing.assert_allclose(p.grad.numpy(), 2 * a, rtol=1e-6)


def zero_size():
    class Z(nn.Module):
        def __init__(self):
            super().__init__()
            self.e = nn.Parameter(torch.zeros(0, 3))
            self.w = nn.Parameter(torch.ones(3))
        def forward(self, x):
            return (x * self.w).sum() + self.e.sum()
    m = DDP(Z())
    m(torch.ones(3) * r).backward()
    numpy.testing.assert_allclose(m.module.w.grad.numpy(), numpy.full(3, (n - 1) / 2))
    m(torch.ones(3) * r).backward()


def no_grad_rank0_only():
    m = DDP(nn.Sequential(nn.Linear(3, 4), Scale(4)))
    if r == 0:
        m.eval()
        with torch.no_grad():
            m(torch.ones(2, 3))
    dist.barrier()


def loss_without_ddp_output():
    m = DDP(nn.Linear(3, 2))
    x = torch.ones(4, 3) * (r + 1)
    m.module(x).sum().backward()
    m(x).sum().backward()


def wrap_twice():
    lin = nn.Linear(3, 2)
    a, b = DDP(lin), DDP(lin)
    x = torch.ones(4, 3) * (r + 1)
    b(x).sum().backward()
    numpy.testing.assert_allclose(lin.weight.grad.numpy(), mean_over_ranks(lin.weight.grad.numpy()))
    a(x).sum().backward()


def averages_the_local_gradients(m, *args):
    """A backward through DDP ``m`` leaves on weights ``a`` and ``b`` the mean over the ranks of what a
    backward through the unwrapped module gives each rank."""
    m(*args).pow(2).sum().backward()
    ga, gb = m.module.a.weight.grad.numpy().copy(), m.module.b.weight.grad.numpy().copy()
    m.module.a.weight.grad = m.module.b.weight.grad = None
    m.module(*args).pow(2).sum().backward()
    numpy.testing.assert_allclose(ga, mean_over_ranks(m.module.a.weight.grad.numpy()), rtol=1e-5, err_msg="a")
    numpy.testing.assert_allclose(gb, mean_over_ranks(m.module.b.weight.grad.numpy()), rtol=1e-5, err_msg="b")


def order():
    # data-dependent order of use: buckets become ready in different orders on the ranks
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False)
        def forward(self, x, flip):
            return self.a(self.b(x)) if flip else self.b(self.a(x))
    torch.manual_seed(0)
    m = DDP(Two(), bucket_cap_mb=1e-6)
    x = torch.tensor([[1.0, 2.0]]) * (r + 1)
    averages_the_local_gradients(m, x, r == 1)


def order2():
    # rank 0 replaces a parameter before wrapping (a checkpoint loaded there only): the leaves' creation
    # order differs between the ranks, and with it the order their gradients come in a backward
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False)
        def forward(self, x):
            return self.b(self.a(x))
    torch.manual_seed(0)
    two = Two()
    if r == 0:
        two.a.weight = nn.Parameter(two.a.weight.detach().clone())
    m = DDP(two, bucket_cap_mb=1e-6)
    x = torch.tensor([[1.0, 2.0]]) * (r + 1)
    averages_the_local_gradients(m, x)


def shared_across_modules():
    class Tie(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(3, 3), nn.Linear(3, 3)
            self.dec.weight = self.enc.weight
        def forward(self, x):
            return self.dec(self.enc(x))
    torch.manual_seed(r)
    m = DDP(Tie())
    x = torch.ones(2, 3) * (r + 1)
    m(x).pow(2).sum().backward()
    w = m.module.enc.weight
    numpy.testing.assert_allclose(w.grad.numpy(), mean_over_ranks(w.grad.numpy()))
    m(x).pow(2).sum().backward()


def all_frozen():
    lin = nn.Linear(2, 2)
    lin.requires_grad_(False)
    m = DDP(lin)
    m(torch.ones(1, 2))
    m(torch.ones(1, 2))


def create_graph_backward():
    m = DDP(nn.Linear(3, 1))
    x = torch.ones(2, 3) * (r + 1)
    m(x).sum().backward(create_graph=True)
    g = m.module.weight.grad
    numpy.testing.assert_allclose(g.detach().numpy(), mean_over_ranks(g.detach().numpy()))
    numpy.testing.assert_allclose(g.detach().numpy(), numpy.full((1, 3), 2.0 * (n + 1) / 2))
    m.module.weight.grad = None
    m.module.bias.grad = None
    (m(x) * m(x)).sum().backward(create_graph=True)


def state_dict_names():
    m = DDP(nn.Sequential(nn.Linear(2, 2), Scale(2)))
    sd = m.state_dict()
    assert list(sd) == ["module.0.weight", "module.0.bias", "module.1.s"], list(sd)
    m.load_state_dict(sd)
    assert list(m.module.state_dict()) == ["0.weight", "0.bias", "1.s"]
    assert [k for k, _ in m.named_parameters()] == ["module.0.weight", "module.0.bias"]


def no_sync_forward_decides():
    # as PyTorch: whether a backward averages is decided by its forward (inside no_sync() or not)
    torch.manual_seed(0)
    m = DDP(nn.Linear(3, 2))
    x = torch.ones(2, 3) * (r + 1)
    with m.no_sync():
        loss = m(x).sum()
    loss.backward()  # outside, of a forward inside: local
    local = m.module.weight.grad.numpy().copy()
    numpy.testing.assert_allclose(local, numpy.full((2, 3), 2.0 * (r + 1)))
    m.module.weight.grad = m.module.bias.grad = None
    loss = m(x).sum()
    with torch.no_grad():
        m(x)  # (a forward without grad decides nothing)
    with m.no_sync():
        loss.backward()  # inside, of a forward outside: averaged
    numpy.testing.assert_allclose(m.module.weight.grad.numpy(), numpy.full((2, 3), 2.0 * (n + 1) / 2))


MODES = {k: v for k, v in globals().items() if callable(v) and not k.startswith("_") and k not in
         ("mean_over_ranks", "DDP")}
run_modes(MODES, r, n)

"""Gradients through all_reduce, all_gather, broadcast and reduce_scatter, against their analytic VJPs,
in the MXNet dialect, the PyTorch dialect and the functional API. Each rank differentiates its own
loss ``sum(c_r * f(x_r))``; prints ``gradients ok`` on each rank."""
import numpy

import tapegrad
import tapegrad.numpy as tnp
import tapegrad.torch as torch
from tapegrad import autograd, np
from tapegrad import distributed as dist

dist.init()
r, n = dist.rank(), dist.world_size()
close = numpy.testing.assert_allclose


def x_of(k, m=4):
    return numpy.linspace(-1.0, 1.0, m) * (k + 1) + k


def c_of(k, shape):
    return (numpy.arange(numpy.prod(shape)).reshape(shape) + 1.0) * (k + 2) ** 2


cases = {  # name: (f, x size, cotangent shape, the gradient on rank r as NumPy computes it)
    "all_reduce sum": (lambda x: dist.all_reduce(x), 4, (4,), lambda: sum(c_of(k, (4,)) for k in range(n))),
    "all_reduce mean": (lambda x: dist.all_reduce(x, "mean"), 4, (4,), lambda: sum(c_of(k, (4,)) for k in range(n)) / n),
    "all_gather": (dist.all_gather, 4, (n, 4), lambda: sum(c_of(k, (n, 4))[r] for k in range(n))),
    "broadcast": (lambda x: dist.broadcast(x, n - 1), 4, (4,),
                  lambda: sum(c_of(k, (4,)) for k in range(n)) * (r == n - 1)),
    "reduce_scatter": (dist.reduce_scatter, 2 * n, (2,), lambda: numpy.concatenate([c_of(k, (2,)) for k in range(n)])),
}


def mxnet(f, x, c):
    a = np.array(x)
    a.attach_grad()
    with autograd.record():
        y = f(a)
        loss = (y * np.array(c)).sum()
    loss.backward()
    return a.grad.asnumpy()


def pytorch(f, x, c):
    a = torch.tensor(x, requires_grad=True)
    (f(a) * torch.tensor(c)).sum().backward()
    return a.grad.numpy()


def functional(f, x, c):
    return tapegrad.grad(lambda a: tnp.sum(f(a) * c))(x)


for name, (f, m, cshape, want) in cases.items():
    for door in (mxnet, pytorch, functional):
        got = door(f, x_of(r, m), c_of(r, cshape))
        close(got, want(), err_msg=f"{name} in {door.__name__}")

# a second-order gradient through all_reduce: d/dx sum(c * all_reduce(x)**2)/2 = c_sum... (grad of grad)
a = torch.tensor(x_of(r), requires_grad=True)
(g,) = torch.autograd.grad((dist.all_reduce(a) ** 2).sum() / 2, a, create_graph=True)
s = sum(x_of(k) for k in range(n))
close(g.detach().numpy(), n * s)  # every rank's head: sum over ranks of all_reduce(x)
(h,) = torch.autograd.grad(g.sum(), a)
close(h.numpy(), numpy.full(4, n * n))

# max and min reduce but have no gradient: asking for one is an error on every rank
a = np.array(x_of(r))
a.attach_grad()
with autograd.record():
    loss = dist.all_reduce(a, "max").sum()
try:
    loss.backward()
except dist.DistributedError as e:
    assert "all_reduce(op='max') has no gradient" in str(e), e
else:
    raise AssertionError("no error for the gradient of all_reduce max")
print(f"gradients ok {r}/{n}", flush=True)

"""``torch.nn.parallel.DistributedDataParallel``: data-parallel training over the ranks of an MPI job.

Wrapping a module broadcasts rank 0's parameters and buffers to every rank (after checking that all
ranks hold parameters of the same shapes). During each backward, every parameter's gradient joins a
bucket (about ``bucket_cap_mb`` MB, parameters in reverse order, as their gradients tend to be ready);
as soon as a bucket's gradients (and those of the buckets before it) are all accumulated, its average
over the ranks starts without blocking, and the backward goes on; when the last bucket has started,
the averages are awaited and written back into each ``.grad``. ``no_sync()`` skips the averaging, so
gradients accumulate locally until the next synchronised backward averages the sum.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy

from .. import distributed as _dist
from ..autograd import is_grad_enabled
from .modules import Module

__all__ = ["DistributedDataParallel"]

_SHAPE_SLOTS = 8  # dimensions compared per parameter (more are compared as their product)


class _Bucket:
    __slots__ = ("params", "offsets", "flat", "ready", "work")

    def __init__(self, params: list, dtype: numpy.dtype) -> None:
        self.params = params
        self.offsets = []
        n = 0
        for p in params:
            self.offsets.append((n, n + p._data.size))
            n += p._data.size
        self.flat = numpy.empty(n, dtype)
        self.ready: set = set()
        self.work: Any = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training: call it as the module, backward as usual; the
    parameters' gradients come out averaged over the ranks."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False) -> None:
        super().__init__()
        if not _dist.is_initialized():
            raise ValueError(_dist._NOT_INIT)
        if find_unused_parameters:
            raise NotImplementedError("find_unused_parameters=True is not supported: every parameter must take "
                                      "part in the loss (freeze the others with requires_grad_(False))")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self._sync_backward = True  # whether the last forward with grad enabled ran outside no_sync()
        core = _dist._core()
        params = [p for p in module.parameters() if p.requires_grad]
        self._check_shapes(core, params)
        for p in module.parameters():  # (frozen ones too, as PyTorch: every rank then computes alike)
            core.broadcast_(p._data, 0)
        for buf in module.buffers():
            core.broadcast_(buf._data, 0)
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2**20)
        self._buckets: list[_Bucket] = []
        group: list = []
        size = 0
        for p in reversed(params):
            if group and (size + p._data.nbytes > cap or p._data.dtype != group[0]._data.dtype):
                self._buckets.append(_Bucket(group, group[0]._data.dtype))
                group, size = [], 0
            group.append(p)
            size += p._data.nbytes
        if group:
            self._buckets.append(_Bucket(group, group[0]._data.dtype))
        self._where: dict[int, tuple[_Bucket, int]] = {}
        for bucket in self._buckets:
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (bucket, i)
        self._started = 0  # buckets whose reduction started in this backward
        self.__dict__["_handles"] = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    @staticmethod
    def _check_shapes(core: Any, params: list) -> None:
        """Refuse to wrap when the ranks' parameters differ in number or shape (PyTorch's texts)."""
        n = core.world_size()
        counts = [numpy.zeros(1, numpy.int64) for _ in range(n)]
        core.all_gather_into(counts, numpy.array([len(params)], numpy.int64))
        me = core.rank()
        for r, c in enumerate(counts):
            if int(c[0]) != len(params):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {me} has {len(params)} params, "
                                   f"while rank {r} has inconsistent {int(c[0])} params.")
        sig = numpy.full((len(params), _SHAPE_SLOTS + 1), -1, numpy.int64)
        for i, p in enumerate(params):
            shape = p._data.shape
            sig[i, 0] = len(shape)
            dims = list(shape[:_SHAPE_SLOTS - 1]) + ([int(numpy.prod(shape[_SHAPE_SLOTS - 1:]))]
                                                     if len(shape) >= _SHAPE_SLOTS else [])
            sig[i, 1:1 + len(dims)] = dims
        sigs = [numpy.empty_like(sig) for _ in range(n)]
        core.all_gather_into(sigs, sig)
        for r, other in enumerate(sigs):
            for i, p in enumerate(params):
                if not numpy.array_equal(other[i], sig[i]):
                    raise RuntimeError(f"[{me}]: params[{i}] in this process with sizes {list(p._data.shape)} appears "
                                       f"not to match sizes of the same param in process {r}.")

    # -- the reduction ---------------------------------------------------------------------------
    def _grad_ready(self, p: Any) -> None:
        if not self._sync_backward:
            return
        b, i = self._where[id(p)]
        if i in b.ready:
            raise RuntimeError("Expected to mark a variable ready only once. A parameter's gradient was "
                               "accumulated twice in one backward under DistributedDataParallel (a reentrant "
                               "backward or the module used twice); run the extra backward's forward under "
                               "no_sync()")
        b.ready.add(i)
        # Buckets start in their order, as PyTorch's reducer starts them: the ranks' gradients may come
        # in different orders (leaves made in another order), and MPI pairs reductions in starting order.
        buckets = self._buckets
        while self._started < len(buckets) and len(buckets[self._started].ready) == len(buckets[self._started].params):
            b = buckets[self._started]
            for (lo, hi), q in zip(b.offsets, b.params):
                b.flat[lo:hi] = q.grad._data.reshape(-1)
            b.work = _dist._core().all_reduce_(b.flat, "mean", async_op=True)
            self._started += 1
        if self._started == len(buckets):
            self._finish()

    def _finish(self) -> None:
        for b in self._buckets:
            b.work.wait()
            for (lo, hi), q in zip(b.offsets, b.params):
                g = q.grad._data
                g[...] = b.flat[lo:hi].reshape(g.shape)
            b.ready.clear()
            b.work = None
        self._started = 0

    def _unfinished(self) -> bool:
        return any(b.ready for b in self._buckets)

    # -- the module's face ------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._unfinished():
            missing = [name for name, p in self.module.named_parameters()
                       if id(p) in self._where and self._where[id(p)][1] not in self._where[id(p)][0].ready]
            for b in self._buckets:
                b.ready.clear()
            self._started = 0
            raise RuntimeError("Expected to have finished reduction in the prior iteration before starting a new "
                               "one. This error indicates that your module has parameters that were not used in "
                               "producing loss. Parameters that got no gradient: " + ", ".join(missing))
        if is_grad_enabled():  # (as PyTorch: the forward decides whether its backward averages)
            self._sync_backward = self.require_backward_grad_sync
        if self.broadcast_buffers:
            core = _dist._core()
            for buf in self.module.buffers():
                core.broadcast_(buf._data, 0)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forwards within it (and their backwards, wherever they run) accumulate gradients locally, as in
        PyTorch; the backward of the first forward after it averages them."""
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

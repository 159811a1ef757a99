"""torch.utils.data of the PyTorch dialect against PyTorch's own.

Batches in order equal PyTorch's; shuffled batches partition the data and, because the samplers
draw from the dialect's reproduction of PyTorch's CPU generator exactly as PyTorch's do, equal
PyTorch's for the same seed too; collation gives PyTorch's structures and dtypes.
"""
from __future__ import annotations

from collections import namedtuple

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad.torch as ttorch
from tapegrad.torch.utils import data as tdata

torch = pytest.importorskip("torch")
from torch.utils import data as rdata  # noqa: E402


def _plain(x):
    """A batch as plain Python/NumPy data, for comparing the two libraries."""
    if isinstance(x, torch.Tensor):
        return ("tensor", str(x.dtype).replace("torch.", ""), x.detach().numpy().tolist())
    if isinstance(x, ttorch.Tensor):
        return ("tensor", numpy.dtype(x._data.dtype).name, numpy.asarray(x._data).tolist())
    if isinstance(x, dict):
        return ("dict", type(x).__name__, {k: _plain(v) for k, v in x.items()})
    if isinstance(x, tuple):
        return (type(x).__name__, [_plain(v) for v in x])
    if isinstance(x, list):
        return ("list", [_plain(v) for v in x])
    return ("value", x)


def _datasets(n=23):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((n, 3))
    y = rng.integers(0, 5, n)
    return tdata.TensorDataset(ttorch.tensor(x), ttorch.tensor(y)), rdata.TensorDataset(torch.tensor(x), torch.tensor(y))


def _batches(loader):
    return [_plain(b) for b in loader]


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (5, False), (5, True), (23, False), (30, True),
                                                   (30, False), (None, False)])
def test_in_order_batches_equal_pytorchs(batch_size, drop_last):
    ours_ds, theirs_ds = _datasets()
    ours = tdata.DataLoader(ours_ds, batch_size=batch_size, drop_last=drop_last)
    theirs = rdata.DataLoader(theirs_ds, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert _batches(ours) == _batches(theirs)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 17), drop_last=st.booleans(), seed=st.integers(0, 2 ** 40))
def test_shuffled_batches_partition_the_data_and_equal_pytorchs(n, batch_size, drop_last, seed):
    ours_ds, theirs_ds = _datasets(n)
    ours = tdata.DataLoader(ours_ds, batch_size=batch_size, shuffle=True, drop_last=drop_last,
                            generator=ttorch.Generator().manual_seed(seed))
    theirs = rdata.DataLoader(theirs_ds, batch_size=batch_size, shuffle=True, drop_last=drop_last,
                              generator=torch.Generator().manual_seed(seed))
    for _ in range(2):  # two epochs: the generator moves on between them
        batches = list(ours)
        rows = [tuple(r) for xb, _ in batches for r in numpy.asarray(xb._data).tolist()]
        all_rows = [tuple(r) for r in numpy.asarray(ours_ds.tensors[0]._data).tolist()]
        expected = n - n % batch_size if drop_last else n
        assert len(rows) == len(set(rows)) == expected  # no sample twice
        assert set(rows) <= set(all_rows)
        if not drop_last:
            assert sorted(rows) == sorted(all_rows)  # every sample once
        assert all(len(xb) == batch_size for xb, _ in batches[:-1] if batches)
        assert [_plain(b) for b in batches] == _batches(theirs)


def test_shuffle_from_the_default_generator_equals_pytorchs():
    ours_ds, theirs_ds = _datasets()
    ttorch.manual_seed(123)
    torch.manual_seed(123)
    ours = tdata.DataLoader(ours_ds, batch_size=4, shuffle=True)
    theirs = rdata.DataLoader(theirs_ds, batch_size=4, shuffle=True)
    for _ in range(3):
        assert _batches(ours) == _batches(theirs)
    # the default generator moved as PyTorch's did
    assert ttorch.randn(3).tolist() == pytest.approx(torch.randn(3).tolist(), abs=0)


def test_samplers_equal_pytorchs():
    ours_ds, theirs_ds = _datasets(10)
    pairs = [
        (tdata.RandomSampler(ours_ds, replacement=True, num_samples=70, generator=ttorch.Generator().manual_seed(1)),
         rdata.RandomSampler(theirs_ds, replacement=True, num_samples=70, generator=torch.Generator().manual_seed(1))),
        (tdata.RandomSampler(ours_ds, num_samples=25, generator=ttorch.Generator().manual_seed(2)),
         rdata.RandomSampler(theirs_ds, num_samples=25, generator=torch.Generator().manual_seed(2))),
        (tdata.SubsetRandomSampler([3, 5, 7, 9], generator=ttorch.Generator().manual_seed(3)),
         rdata.SubsetRandomSampler([3, 5, 7, 9], generator=torch.Generator().manual_seed(3))),
        (tdata.SequentialSampler(ours_ds), rdata.SequentialSampler(theirs_ds)),
    ]
    for ours, theirs in pairs:
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    for drop_last in (False, True):
        ours = tdata.BatchSampler(tdata.SequentialSampler(range(10)), 3, drop_last)
        theirs = rdata.BatchSampler(rdata.SequentialSampler(range(10)), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    ours = tdata.DataLoader(ours_ds, batch_sampler=tdata.BatchSampler(range(9, -1, -1), 4, False))
    theirs = rdata.DataLoader(theirs_ds, batch_sampler=rdata.BatchSampler(range(9, -1, -1), 4, False))
    assert _batches(ours) == _batches(theirs)


Point = namedtuple("Point", "x y")


class _Samples:
    """A map-style dataset of mixed samples (a plain class, as PyTorch accepts)."""

    def __init__(self, lib, kind):
        self.lib, self.kind = lib, kind

    def __len__(self):
        return 7

    def __getitem__(self, i):
        lib = self.lib
        if self.kind == "dict":
            return {"x": lib.tensor([i, i + 0.5], dtype=lib.float32), "label": i % 3, "w": i / 4.0,
                    "name": f"s{i}", "flag": i % 2 == 0, "np": numpy.full(2, i, dtype=numpy.int16),
                    "npscalar": numpy.float32(i) / 3}
        if self.kind == "tuple":
            return lib.tensor(float(i)), (i, [i * 2.0, i * 3.0])
        return Point(x=lib.tensor([i], dtype=lib.int64), y=float(i))


@pytest.mark.parametrize("kind", ["dict", "tuple", "namedtuple"])
def test_default_collate_matches_pytorch(kind):
    ours = tdata.DataLoader(_Samples(ttorch, kind), batch_size=3)
    theirs = rdata.DataLoader(_Samples(torch, kind), batch_size=3)
    assert _batches(ours) == _batches(theirs)
    ours_one = tdata.DataLoader(_Samples(ttorch, kind), batch_size=None)
    theirs_one = rdata.DataLoader(_Samples(torch, kind), batch_size=None)
    assert _batches(ours_one) == _batches(theirs_one)


def test_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        tdata.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        tdata.default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        tdata.default_collate([numpy.array(["a"]), numpy.array(["b"])])


def test_random_split_and_subset_equal_pytorchs():
    for lengths in ([3, 7], [0.3, 0.3, 0.4], [0.5, 0.5]):
        ours = tdata.random_split(range(10), lengths, generator=ttorch.Generator().manual_seed(42))
        theirs = rdata.random_split(range(10), lengths, generator=torch.Generator().manual_seed(42))
        assert [list(s) for s in ours] == [list(s) for s in theirs]
        assert [s.indices for s in ours] == [s.indices for s in theirs]
    ttorch.manual_seed(5)
    torch.manual_seed(5)
    assert [s.indices for s in tdata.random_split(range(8), [5, 3])] == \
        [s.indices for s in rdata.random_split(range(8), [5, 3])]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        tdata.random_split(range(10), [3, 3])
    ours_ds, theirs_ds = _datasets(12)
    sub_o, sub_t = tdata.Subset(ours_ds, [11, 0, 4, 4]), rdata.Subset(theirs_ds, [11, 0, 4, 4])
    assert len(sub_o) == 4 and _plain(sub_o[2]) == _plain(sub_t[2])
    assert _batches(tdata.DataLoader(sub_o, batch_size=3)) == _batches(rdata.DataLoader(sub_t, batch_size=3))
    cat_o, cat_t = ours_ds + sub_o, theirs_ds + sub_t
    assert len(cat_o) == len(cat_t) == 16
    assert [_plain(cat_o[i]) for i in (-1, 0, 11, 12, 15)] == [_plain(cat_t[i]) for i in (-1, 0, 11, 12, 15)]


class _Stream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class _RStream(rdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (None, False), (5, False)])
def test_iterable_dataset_batches_equal_pytorchs(batch_size, drop_last):
    ours = tdata.DataLoader(_Stream(10), batch_size=batch_size, drop_last=drop_last)
    theirs = rdata.DataLoader(_RStream(10), batch_size=batch_size, drop_last=drop_last)
    assert _batches(ours) == _batches(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        tdata.DataLoader(_Stream(3), shuffle=True)


def test_loader_errors_and_accepted_worker_options():
    ds, _ = _datasets(6)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        tdata.DataLoader(ds, sampler=tdata.SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        tdata.DataLoader(ds, batch_size=2, batch_sampler=tdata.BatchSampler(range(6), 2, False))
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        tdata.DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        tdata.DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        tdata.DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        tdata.TensorDataset(ttorch.zeros(3), ttorch.zeros(4))
    # worker options are accepted; loading happens here, with the same batches
    fast = tdata.DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True, persistent_workers=True,
                            prefetch_factor=2)
    assert _batches(fast) == _batches(tdata.DataLoader(ds, batch_size=4))
    assert tdata.get_worker_info() is None


def test_generator_is_pytorchs():
    g = ttorch.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert ttorch.Generator(device="cpu").manual_seed(7) is not None
    assert str(ttorch.Generator("cpu").device) == "cpu"
    assert ttorch.randperm(9, generator=ttorch.Generator().manual_seed(9)).tolist() == \
        torch.randperm(9, generator=torch.Generator().manual_seed(9)).tolist()
    assert isinstance(ttorch.default_generator, ttorch.Generator)
    with pytest.raises(RuntimeError, match="CPU generator only"):
        ttorch.Generator(device="cuda")

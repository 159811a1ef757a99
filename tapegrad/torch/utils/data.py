"""``torch.utils.data``: datasets, samplers, ``DataLoader`` and ``random_split``.

The samplers draw from the dialect's reproduction of PyTorch's CPU generator exactly as PyTorch's do
(``RandomSampler``: a ``randperm`` per pass, or, without a generator, a fresh generator seeded by one
``random_()`` of the default one; each ``iter(loader)`` also draws its base seed first), so a loader
with ``shuffle=True`` gives PyTorch's batches for the same seed. Loading runs in the calling process:
``num_workers``, ``pin_memory`` and the other worker options are accepted and change nothing but speed.
"""
from __future__ import annotations

import bisect
import collections.abc
import copy
import itertools
import math
import re
import warnings
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy

from ..._core.array import Array
from .. import _random
from .._creation import as_tensor, randint, randperm, tensor
from .._dtypes import float64
from .._functions import stack
from ..tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "Subset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
           "DataLoader", "default_collate", "default_convert", "get_worker_info"]


# -- datasets -------------------------------------------------------------------------------------

def _len(obj: object) -> int:
    """``len(obj)``: a dataset or sampler need not define ``__len__`` (PyTorch's ``Dataset`` does not)."""
    if not isinstance(obj, collections.abc.Sized):
        raise TypeError(f"object of type '{type(obj).__name__}' has no len()")
    return len(obj)


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``)."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """An iterable-style dataset: subclasses define ``__iter__``; a loader batches what it yields."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; the tensors share their first dimension."""

    def __init__(self, *tensors: Tensor) -> None:
        if any(not isinstance(t, Array) for t in tensors):
            raise TypeError("TensorDataset takes tensors; convert other data with torch.as_tensor first")
        if any(tensors[0].shape[0] != t.shape[0] for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """The datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(_len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx if k == 0 else idx - self.cumulative_sizes[k - 1]]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        inner = getattr(self.dataset, "__getitems__", None)
        if callable(inner):
            return inner([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Any = None) -> list:
    """Split ``dataset`` into non-overlapping ``Subset``s of the given lengths (or fractions summing to 1,
    rounded down, the remainder dealt round-robin), by one ``randperm`` of ``generator`` (the default
    generator when None), as PyTorch does."""
    if generator is None:
        generator = _random.default_generator
    n = _len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = randperm(n, generator=generator).tolist()  # n == sum(lengths), as an int
    return [Subset(dataset, indices[offset - length:offset])
            for offset, length in zip(itertools.accumulate(lengths), lengths)]


# -- samplers -------------------------------------------------------------------------------------

class Sampler:
    """Yields indices (or lists of indices) of a dataset; subclasses define ``__iter__``."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _draw_seed(generator: Any = None) -> int:
    """``torch.empty((), dtype=torch.int64).random_(generator=generator).item()``."""
    gen = _random.default_generator if generator is None else generator
    return int(gen.random_((), numpy.int64))


class RandomSampler(Sampler):
    """A random permutation of the indices per pass (``randperm``), or ``num_samples`` indices drawn with
    replacement (``randint`` in blocks of 32), from ``generator`` or, without one, from a generator
    seeded by a draw of the default generator at each pass (PyTorch's scheme)."""

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        generator = self.generator
        if generator is None:
            generator = _random.Generator(_draw_seed())
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from randint(0, n, (32,), generator=generator).tolist()
            yield from randint(0, n, (self.num_samples % 32,), generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from randperm(n, generator=generator).tolist()
            yield from randperm(n, generator=generator).tolist()[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """``indices`` in a random order (one ``randperm`` per pass)."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last, shorter one is kept unless ``drop_last``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        it = iter(self.sampler)
        if self.drop_last:
            yield from (list(b) for b in zip(*[it] * self.batch_size))
        else:
            batch = list(itertools.islice(it, self.batch_size))
            while batch:
                yield batch
                batch = list(itertools.islice(it, self.batch_size))

    def __len__(self) -> int:
        if self.drop_last:
            return _len(self.sampler) // self.batch_size
        return (_len(self.sampler) + self.batch_size - 1) // self.batch_size


class _InfiniteConstantSampler(Sampler):
    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


# -- collation ------------------------------------------------------------------------------------

_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
_STR_OR_OBJECT = re.compile(r"[SaUO]")


def _like_mapping(elem: Any, fields: dict) -> Any:
    """``fields`` in a mapping of ``elem``'s class (a copy of ``elem`` updated, for a mutable one), or a
    dict where that class cannot be built from them."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(fields)
            return clone
        container: Callable[..., Any] = type(elem)  # a user's class: a TypeError from it falls back
        return container(fields)
    except TypeError:
        return fields


def _like_sequence(elem: Any, items: list) -> Any:
    """``items`` in a sequence of ``elem``'s class (a copy of ``elem`` refilled, for a mutable one), or
    a list where that class cannot be built from them."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            seq = copy.copy(elem)
            for i, item in enumerate(items):
                seq[i] = item
            return seq
        container: Callable[..., Any] = type(elem)
        return container(items)
    except TypeError:
        return items


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch as PyTorch's ``default_collate`` does: tensors are stacked,
    NumPy arrays and scalars become tensors, Python floats a float64 tensor, ints (and bools) an int64
    (bool) tensor, strings stay a list; dicts, named tuples and sequences are collated field by field
    (a tuple of fields becomes a list)."""
    elem = batch[0]
    if isinstance(elem, Array):
        return stack(list(batch), 0)
    if isinstance(elem, numpy.ndarray):
        if _STR_OR_OBJECT.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, (numpy.bool_, numpy.number, numpy.object_)):
        return as_tensor(numpy.asarray(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _like_mapping(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        items = [default_collate(list(s)) for s in zip(*batch)]
        return items if isinstance(elem, tuple) else _like_sequence(elem, items)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """What a loader without batching (``batch_size=None``) returns for a sample: NumPy arrays and scalars
    become tensors, containers are converted field by field, anything else is returned as it is."""
    if isinstance(data, Array):
        return data
    if isinstance(data, numpy.ndarray):
        return data if _STR_OR_OBJECT.search(data.dtype.str) is not None else as_tensor(data)
    if isinstance(data, (numpy.bool_, numpy.number)):
        return as_tensor(data)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _like_mapping(data, {k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        return _like_sequence(data, [default_convert(d) for d in data])
    return data


def get_worker_info() -> None:
    """None: loading always runs in the calling process."""
    return None


# -- the loader -----------------------------------------------------------------------------------

class DataLoader:
    """Batches of a dataset: ``batch_size`` samples at a time (the last batch shorter unless
    ``drop_last``), in order or shuffled (``shuffle=True``, drawn from ``generator``), collated by
    ``collate_fn`` (``default_collate``). Accepts PyTorch's arguments; worker processes are not used."""

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn: Callable | None = None, multiprocessing_context: Any = None,
                 generator: Any = None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> "_LoaderIter":
        return _LoaderIter(self)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self._index_sampler)


class _LoaderIter:
    """One pass over a loader (PyTorch's single-process iterator): the sampler's iterator, then the base
    seed drawn from the loader's generator, as PyTorch draws it, then a batch per ``next``."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._collate = loader.collate_fn
        self._sampler_iter = iter(loader._index_sampler)
        self._base_seed = _draw_seed(loader.generator)
        self._dataset_iter: Iterator[Any] | None = iter(loader.dataset) if loader._iterable else None
        self._ended = False

    def __iter__(self) -> "_LoaderIter":
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        loader = self._loader
        if loader._iterable:
            return self._next_iterable(index)
        ds = loader.dataset
        if not loader._auto_collation:
            return self._collate(ds[index])
        if type(ds) is TensorDataset and self._collate is default_collate and \
                all(type(t._data) is numpy.ndarray for t in ds.tensors):
            # one gather per tensor: the same values as stacking the samples
            key = numpy.asarray(index, dtype=numpy.int64)
            return [t[key] for t in ds.tensors]
        getitems = getattr(ds, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [ds[i] for i in index]
        return self._collate(data)

    def _next_iterable(self, index: Any) -> Any:
        if self._ended:
            raise StopIteration
        dataset_iter = self._dataset_iter
        assert dataset_iter is not None  # set in __init__ for an iterable dataset, the only caller's case
        loader = self._loader
        if not loader._auto_collation:
            return self._collate(next(dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(dataset_iter))
            except StopIteration:
                self._ended = True
                break
        if not data or (self._ended and loader.drop_last):
            raise StopIteration
        return self._collate(data)

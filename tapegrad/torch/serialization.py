"""``torch.save`` and ``torch.load`` in a format of tapegrad's own, which loading never unpickles.

A saved file is a NumPy ``.npz`` archive: each tensor and NumPy array is one ``.npy`` member, and the
member ``__structure__`` holds, as UTF-8 JSON, the object around them: dicts (plain, ``OrderedDict``,
``Counter``; any keys that are themselves storable), lists, tuples, ``torch.Size``, numbers, strings,
``None``, ``torch.dtype`` and ``torch.device`` values, and for each tensor its member, ``requires_grad``,
whether it is an ``nn.Parameter`` and its device. So tensors, module and optimizer state dicts,
scheduler state dicts and checkpoints built of them round-trip; a tensor stored twice in one object
comes back as one tensor. ``load`` opens the archive with ``numpy.load(allow_pickle=False)``: a pickle
(a PyTorch checkpoint among them) is refused before any of it is read as Python objects.

What it does not store (and says so): modules, optimizers, functions and other Python objects (save
their ``state_dict()`` instead), and object arrays. Views come back as separate tensors, not as views.
"""
from __future__ import annotations

import json
import os
import pickle
from collections import Counter, OrderedDict
from typing import Any, BinaryIO

import numpy

from .._core.array import Array
from ..backend import to_host
from ._device import device as _torch_device
from ._dtypes import DTYPES, Size
from ._dtypes import dtype as _torch_dtype
from .nn.parameter import Parameter
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "tapegrad.torch.save"
_VERSION = 1
_HEADER = "__structure__"
_DICTS = {dict: "dict", OrderedDict: "OrderedDict", Counter: "Counter"}
_DICT_TYPES = {v: k for k, v in _DICTS.items()}
_ARRAY_KINDS = "biufcSU"  # what .npy stores without pickling


def save(obj: Any, f: str | os.PathLike | BinaryIO, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Write ``obj`` (tensors, arrays, numbers, strings and containers of them) to ``f``, a path or a
    binary file object, as an ``.npz`` archive (see the module's docstring). The pickle arguments are
    accepted for PyTorch's signature and unused: nothing is pickled."""
    enc = _Encoder()
    root = enc.encode(obj, "obj")
    header = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root}, allow_nan=True)
    members = dict(enc.arrays)
    members[_HEADER] = numpy.frombuffer(header.encode("utf-8"), dtype=numpy.uint8)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:  # numpy.savez would append '.npz' to a name without it
            numpy.savez(fh, **members)
    else:
        numpy.savez(f, **members)


def load(f: str | os.PathLike | BinaryIO, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Read an object written by :func:`save` from ``f`` (a path or a binary file object). Tensors go back
    to the device they were saved from, or as ``map_location`` says: a device (``'cpu'``,
    ``torch.device``) for all, or a dict from saved device names to devices. Never unpickles: a pickle
    file raises ``pickle.UnpicklingError`` without being read."""
    if callable(map_location) and not isinstance(map_location, (str, _torch_device)):
        raise TypeError("map_location as a function is not supported by tapegrad's torch.load; give a device "
                        "('cpu', torch.device(...)) or a dict from saved device names to devices")
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else "the file object"
    try:
        archive = numpy.load(f, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower():  # NumPy refused to unpickle (its wording varies by version)
            raise pickle.UnpicklingError(
                f"torch.load: {name} holds pickled data (a PyTorch checkpoint or a pickle), which tapegrad "
                "never unpickles: unpickling can run arbitrary code. tapegrad.torch.save writes its own .npz "
                "format; to bring a PyTorch checkpoint over, load it with PyTorch and save its tensors as "
                "NumPy arrays (numpy.savez) or with tapegrad.torch.save") from None
        raise
    if not isinstance(archive, numpy.lib.npyio.NpzFile):
        raise ValueError(f"torch.load: {name} is a single .npy array, not a file written by tapegrad.torch.save; "
                         "read it with numpy.load")
    with archive:
        if _HEADER not in archive.files:
            raise ValueError(f"torch.load: {name} is a zip archive but not one written by tapegrad.torch.save "
                             "(it has no __structure__ member). PyTorch's own checkpoints hold pickles, which "
                             "tapegrad never loads; re-save the tensors with tapegrad.torch.save")
        header = json.loads(bytes(archive[_HEADER]).decode("utf-8"))
        if header.get("format") != _FORMAT or header.get("version", 0) > _VERSION:
            raise ValueError(f"torch.load: {name} was written in format {header.get('format')!r} version "
                             f"{header.get('version')!r}; this tapegrad reads {_FORMAT!r} up to version {_VERSION}")
        return _Decoder(archive, map_location).decode(header["root"])


class _Encoder:
    """Turns an object into JSON-ready data, collecting its arrays as ``.npz`` members."""

    def __init__(self) -> None:
        self.arrays: dict = {}
        self.memo: dict = {}   # id(tensor or array) -> its member name
        self.keep: list = []   # the memo's objects, alive until the end (ids stay unique)
        self.active: set = set()

    def _member(self, obj: Any, data: numpy.ndarray, path: str) -> str:
        key = self.memo.get(id(obj))
        if key is None:
            if data.dtype.kind not in _ARRAY_KINDS:
                raise TypeError(f"torch.save cannot store {path}: an array of dtype {data.dtype} (only numeric, "
                                "bool and string arrays are stored; object arrays would need pickle)")
            key = f"a{len(self.arrays)}"
            self.arrays[key] = data
            self.memo[id(obj)] = key
            self.keep.append(obj)
        return key

    def encode(self, obj: Any, path: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if type(obj) in (int, float):
            return obj
        if isinstance(obj, Array):
            if not isinstance(obj, Tensor):
                raise TypeError(f"torch.save cannot store {path}: an array of another tapegrad dialect "
                                f"({type(obj).__name__}); convert it with tapegrad.torch.tensor(x.asnumpy())")
            dev = obj.device
            return {"$": "tensor", "key": self._member(obj, to_host(obj._data), path),
                    "requires_grad": bool(obj.requires_grad), "parameter": isinstance(obj, Parameter),
                    "device": str(dev)}
        if isinstance(obj, numpy.ndarray):
            return {"$": "ndarray", "key": self._member(obj, obj, path)}
        if isinstance(obj, numpy.generic):
            return {"$": "npscalar", "key": self._member(obj, numpy.asarray(obj), path)}
        if isinstance(obj, complex):
            return {"$": "complex", "re": obj.real, "im": obj.imag}
        if isinstance(obj, _torch_dtype):
            return {"$": "dtype", "name": obj.dtype.name}
        if isinstance(obj, _torch_device):
            return {"$": "device", "name": str(obj)}
        if type(obj) in _DICTS or type(obj) in (list, tuple, Size):
            if id(obj) in self.active:
                raise ValueError(f"torch.save cannot store {path}: the container contains itself")
            self.active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = [[self.encode(k, f"a key of {path}"), self.encode(v, f"{path}[{k!r}]")]
                             for k, v in obj.items()]
                    return {"$": _DICTS[type(obj)], "items": items}
                tags: dict[type, str] = {list: "list", tuple: "tuple", Size: "size"}
                tag = tags[type(obj)]
                return {"$": tag, "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
            finally:
                self.active.discard(id(obj))
        raise TypeError(
            f"torch.save cannot store {path}, an object of type {type(obj).__module__}.{type(obj).__qualname__}: "
            "tapegrad saves tensors, NumPy arrays, numbers, strings, None, torch.dtype/torch.device values and "
            "dicts, lists and tuples of them, and never pickles. Save a module's or an optimizer's "
            "state_dict() rather than the object itself")


class _Decoder:
    """Rebuilds a saved object from its JSON data and the archive's members."""

    def __init__(self, archive: Any, map_location: Any) -> None:
        self.archive = archive
        self.map_location = map_location
        self.memo: dict = {}

    def _device(self, saved: str) -> Any:
        m = self.map_location
        if m is None:
            return saved
        if isinstance(m, dict):
            return m.get(saved, saved)
        return m

    def decode(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        tag = node["$"]
        if tag in ("tensor", "ndarray", "npscalar"):
            key = node["key"]
            if (tag, key) in self.memo:
                return self.memo[(tag, key)]
            data = self.archive[key]
            if tag == "ndarray":
                out: Any = data
            elif tag == "npscalar":
                out = data[()]
            else:
                out = self._tensor(data, node)
            self.memo[(tag, key)] = out
            return out
        if tag in _DICT_TYPES:
            return _DICT_TYPES[tag]({self.decode(k): self.decode(v) for k, v in node["items"]})
        if tag == "list":
            return [self.decode(v) for v in node["items"]]
        if tag == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if tag == "size":
            return Size(self.decode(v) for v in node["items"])
        if tag == "complex":
            return complex(node["re"], node["im"])
        if tag == "dtype":
            return DTYPES[numpy.dtype(node["name"])]
        if tag == "device":
            return _torch_device(node["name"])
        raise ValueError(f"torch.load: unknown entry {tag!r} in the file's structure (written by a newer tapegrad?)")

    def _tensor(self, data: numpy.ndarray, node: dict) -> Tensor:
        t = Tensor._make(data)
        dev = self._device(node["device"])
        if str(dev) != "cpu":
            t = t.to(dev)
        if node["parameter"]:
            return Parameter(t, requires_grad=node["requires_grad"])
        if node["requires_grad"]:
            t.requires_grad_(True)
        return t

"""torch.save / torch.load of the PyTorch dialect: an .npz archive with a JSON structure, never unpickled.

Round trips keep values, dtypes, shapes, requires_grad, Parameters, container types and tensor
identity; module and optimizer state dicts load back into fresh objects; pickles (real PyTorch
checkpoints among them) and objects the format cannot hold are refused with errors that say so.
"""
from __future__ import annotations

import io
import pickle
import zipfile
from collections import Counter, OrderedDict

import numpy
import pytest

import tapegrad.torch as ttorch

DTYPES = [numpy.float16, numpy.float32, numpy.float64, numpy.complex64, numpy.complex128, numpy.uint8,
          numpy.int8, numpy.int16, numpy.int32, numpy.int64, numpy.bool_]


def _round_trip(obj, **load_kw):
    f = io.BytesIO()
    ttorch.save(obj, f)
    f.seek(0)
    return ttorch.load(f, **load_kw)


def _same_tensor(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    assert a.requires_grad == b.requires_grad
    numpy.testing.assert_array_equal(numpy.asarray(a._data), numpy.asarray(b._data))


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: numpy.dtype(d).name)
def test_tensors_of_every_dtype_and_shape(dt):
    rng = numpy.random.default_rng(0)
    for shape in [(), (0,), (3,), (2, 3, 4)]:
        raw = rng.standard_normal(shape) * 50
        if numpy.dtype(dt).kind == "c":
            raw = raw + 1j * rng.standard_normal(shape)
        t = ttorch.tensor(raw.astype(dt))
        _same_tensor(_round_trip(t), t)
    # a non-contiguous view and a tensor that requires grad
    x = ttorch.tensor(numpy.arange(24).reshape(4, 6).astype(dt))
    _same_tensor(_round_trip(x[:, ::2].t()), x[:, ::2].t())


def test_special_float_values_and_requires_grad():
    t = ttorch.tensor([numpy.nan, numpy.inf, -numpy.inf, -0.0, 5e-324], dtype=ttorch.float64, requires_grad=True)
    back = _round_trip(t)
    assert back.requires_grad and back.is_leaf
    numpy.testing.assert_array_equal(numpy.asarray(back._data), numpy.asarray(t._data))
    assert numpy.signbit(numpy.asarray(back._data)[3])


def test_nested_structures_numbers_and_identity():
    shared = ttorch.randn(3)
    obj = {
        "a": [1, 2.5, True, None, "text", float("nan"), float("inf"), 10 ** 30, 1 + 2j],
        "b": (shared, {"inner": shared, 3: "int key", (1, "t"): "tuple key", 2.5: "float key", None: 0}),
        "c": OrderedDict([("z", 1), ("y", ttorch.zeros(2, dtype=ttorch.int64))]),
        "d": Counter({5: 2, 7: 1}),
        "e": ttorch.Size([2, 3]),
        "f": [ttorch.float16, ttorch.int32, ttorch.device("cpu")],
        "g": numpy.arange(4.0).reshape(2, 2),
        "h": numpy.float32(1.25),
        "i": (),
        "j": [[], {}],
    }
    back = _round_trip(obj)
    assert list(back) == list(obj)
    a = back["a"]
    assert a[:5] == [1, 2.5, True, None, "text"] and type(a[2]) is bool and type(a[0]) is int
    assert numpy.isnan(a[5]) and a[6] == float("inf") and a[7] == 10 ** 30 and a[8] == 1 + 2j
    assert type(back["b"]) is tuple
    assert back["b"][0] is back["b"][1]["inner"]  # one tensor saved twice is one tensor again
    _same_tensor(back["b"][0], shared)
    assert back["b"][1][3] == "int key" and back["b"][1][(1, "t")] == "tuple key"
    assert back["b"][1][2.5] == "float key" and back["b"][1][None] == 0
    assert type(back["c"]) is OrderedDict and list(back["c"]) == ["z", "y"]
    _same_tensor(back["c"]["y"], obj["c"]["y"])
    assert type(back["d"]) is Counter and back["d"] == obj["d"]
    assert type(back["e"]) is ttorch.Size and back["e"] == (2, 3)
    assert back["f"] == [ttorch.float16, ttorch.int32, ttorch.device("cpu")]
    assert isinstance(back["g"], numpy.ndarray) and (back["g"] == obj["g"]).all()
    assert type(back["h"]) is numpy.float32 and back["h"] == numpy.float32(1.25)
    assert back["i"] == () and back["j"] == [[], {}]


def test_module_state_dict_and_parameters():
    ttorch.manual_seed(0)
    net = ttorch.nn.Sequential(ttorch.nn.Linear(3, 4), ttorch.nn.ReLU(), ttorch.nn.Linear(4, 2))
    sd = _round_trip(net.state_dict())
    assert type(sd) is OrderedDict and list(sd) == list(net.state_dict())
    fresh = ttorch.nn.Sequential(ttorch.nn.Linear(3, 4), ttorch.nn.ReLU(), ttorch.nn.Linear(4, 2))
    fresh.load_state_dict(sd)
    x = ttorch.randn(5, 3)
    numpy.testing.assert_array_equal(numpy.asarray(fresh(x)._data), numpy.asarray(net(x)._data))
    p = _round_trip(net[0].weight)
    assert isinstance(p, ttorch.nn.Parameter) and p.requires_grad
    frozen = _round_trip(ttorch.nn.Parameter(ttorch.ones(2), requires_grad=False))
    assert isinstance(frozen, ttorch.nn.Parameter) and not frozen.requires_grad


def test_optimizer_state_dict_round_trip_keeps_structure():
    p = ttorch.tensor([1.0, 2.0], requires_grad=True)
    opt = ttorch.optim.Adam([p], lr=0.1, betas=(0.8, 0.9))
    (p ** 2).sum().backward()
    opt.step()
    sd = opt.state_dict()
    back = _round_trip(sd)
    assert back["param_groups"] == sd["param_groups"]
    assert type(back["param_groups"][0]["betas"]) is tuple
    assert list(back["state"]) == [0] and list(back["state"][0]) == ["step", "exp_avg", "exp_avg_sq"]
    for k, v in sd["state"][0].items():
        _same_tensor(back["state"][0][k], v)


def test_paths_file_objects_and_map_location(tmp_path):
    t = ttorch.arange(6.0).reshape(2, 3)
    path = tmp_path / "model.pt"
    ttorch.save({"t": t}, path)
    assert path.exists() and not (tmp_path / "model.pt.npz").exists()  # the name is kept as given
    _same_tensor(ttorch.load(path)["t"], t)
    _same_tensor(ttorch.load(str(path), map_location="cpu")["t"], t)
    _same_tensor(ttorch.load(path, map_location=ttorch.device("cpu"))["t"], t)
    _same_tensor(ttorch.load(path, map_location={"cuda:0": "cpu"})["t"], t)
    with open(path, "rb") as f:
        _same_tensor(ttorch.load(f, weights_only=True)["t"], t)
    # the archive is plain NumPy: arrays readable without tapegrad, and no pickle inside
    with numpy.load(path, allow_pickle=False) as z:
        assert "__structure__" in z.files
        numpy.testing.assert_array_equal(z["a0"], numpy.asarray(t._data))
    with pytest.raises(TypeError, match="map_location as a function"):
        ttorch.load(path, map_location=lambda s, loc: s)


class _Boom:
    """Unpickling this object would run code (here: record that it ran)."""
    ran = []

    def __reduce__(self):
        return (_Boom.ran.append, ("unpickled!",))


def test_load_refuses_pickles_without_unpickling(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"x": _Boom()}, f)
    _Boom.ran.clear()
    with pytest.raises(pickle.UnpicklingError, match="never unpickles"):
        ttorch.load(path)
    with pytest.raises(pickle.UnpicklingError, match="pickled data"):
        ttorch.load(io.BytesIO(path.read_bytes()))
    assert _Boom.ran == []
    # a zip that is not ours (PyTorch's own checkpoint layout holds a data.pkl) is refused too
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"x": _Boom()}))
    z.seek(0)
    with pytest.raises(ValueError, match="not one written by tapegrad.torch.save"):
        ttorch.load(z)
    assert _Boom.ran == []
    # a single .npy file
    n = io.BytesIO()
    numpy.save(n, numpy.ones(2))
    n.seek(0)
    with pytest.raises(ValueError, match="single .npy array"):
        ttorch.load(n)


def test_load_refuses_a_real_pytorch_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "real.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match="PyTorch's own checkpoints hold pickles"):
        ttorch.load(path)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(pickle.UnpicklingError, match="never unpickles"):
        ttorch.load(legacy)


def test_save_refuses_what_it_cannot_store():
    net = ttorch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot store obj, an object of type .*Linear.*state_dict"):
        ttorch.save(net, io.BytesIO())
    with pytest.raises(TypeError, match=r"cannot store obj\['f'\], an object of type builtins.function"):
        ttorch.save({"f": lambda: 0}, io.BytesIO())
    with pytest.raises(TypeError, match="cannot store obj\\[1\\]: an array of dtype object"):
        ttorch.save([1, numpy.array([{}, None], dtype=object)], io.BytesIO())
    with pytest.raises(TypeError, match="an object of type builtins.set"):
        ttorch.save({1, 2}, io.BytesIO())
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        ttorch.save(loop, io.BytesIO())
    import tapegrad.np as mxnp  # noqa: PLC0415
    with pytest.raises(TypeError, match="another tapegrad dialect"):
        ttorch.save(mxnp.ones(2), io.BytesIO())


def test_format_version_is_checked():
    import json  # noqa: PLC0415
    f = io.BytesIO()
    header = json.dumps({"format": "tapegrad.torch.save", "version": 99, "root": 1}).encode()
    numpy.savez(f, __structure__=numpy.frombuffer(header, dtype=numpy.uint8))
    f.seek(0)
    with pytest.raises(ValueError, match="version 99"):
        ttorch.load(f)

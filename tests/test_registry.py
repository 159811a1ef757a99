"""Every public name of tapegrad.np is either a registered op with a gradient rule or listed as
deliberately non-differentiable."""
import types

import tapegrad
from tapegrad import np, npx
from tapegrad.ops.registry import REGISTRY, Op


def _public(ns):
    for name in dir(ns):
        if name.startswith("_"):
            continue
        obj = getattr(ns, name)
        if isinstance(obj, types.ModuleType) or not callable(obj) or isinstance(obj, type):
            continue
        yield name, obj


def test_np_names_are_differentiable_or_listed():
    unaccounted = []
    for ns, label in ((np, "np"), (np.linalg, "np.linalg"), (npx, "npx")):
        for name, obj in _public(ns):
            if isinstance(obj, Op):
                if obj.diff and obj.vjp_fn is None:
                    unaccounted.append(f"{label}.{name} (no VJP)")
                continue
            if label == "np" and name in np.COMPOSITE_NAMES:
                continue
            if name not in np.NONDIFF_NAMES and f"{label}.{name}" not in np.NONDIFF_NAMES:
                unaccounted.append(f"{label}.{name}")
    assert not unaccounted, ("public names with neither a gradient rule nor a place on "
                             f"np.NONDIFF_NAMES: {unaccounted}")


def test_registry_detects_an_unlisted_name(monkeypatch):
    monkeypatch.setattr(np, "mystery", lambda x: x, raising=False)
    try:
        test_np_names_are_differentiable_or_listed()
    except AssertionError as e:
        assert "np.mystery" in str(e)
    else:
        raise AssertionError("an unlisted public name went unnoticed")


def test_ops_are_declared_once():
    assert len(REGISTRY) == len(set(REGISTRY))
    assert tapegrad.np.sum is REGISTRY["sum"]

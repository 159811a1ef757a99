import pytest

from tapegrad import autograd


@pytest.fixture(autouse=True)
def _clean_state():
    """Every test starts outside recording and training."""
    prev_r, prev_t = autograd.set_recording(False), autograd.set_training(False)
    yield
    autograd.set_recording(prev_r)
    autograd.set_training(prev_t)


def script_env() -> dict:
    """The environment for a script run in a subprocess: it imports the tapegrad under test, also
    when that one is not installed (a checkout run with ``python -m pytest``)."""
    import os
    from pathlib import Path

    import tapegrad
    root = str(Path(tapegrad.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}


@pytest.fixture(autouse=True)
def _no_fusion(monkeypatch):
    """Compiled steps replay op by op (equal to eager bit for bit) unless a test asks for fusion."""
    from tapegrad._core import compiled
    monkeypatch.setattr(compiled, "FUSE", False)

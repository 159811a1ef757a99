import pytest

from tapegrad import autograd


@pytest.fixture(autouse=True)
def _clean_state():
    """Every test starts outside recording and training."""
    prev_r, prev_t = autograd.set_recording(False), autograd.set_training(False)
    yield
    autograd.set_recording(prev_r)
    autograd.set_training(prev_t)

"""``torch.optim``: the ``Optimizer`` base class; SGD, Adam, AdamW, RMSprop, Adagrad and Adadelta, which
match PyTorch's updates step for step; and ``lr_scheduler``.

Every step runs outside recording and updates each parameter in place, so the parameters stay the same
tensor objects over the same buffers (and their version counters move, as PyTorch's do).
"""
from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer, required  # noqa: F401
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "lr_scheduler"]

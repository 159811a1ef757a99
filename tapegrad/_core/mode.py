"""Recording, training and grad-enabled state, kept per thread (and per asyncio task)."""
from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

#: MXNet dialect and functional API: ops are taped only while this is on.
RECORDING: ContextVar[bool] = ContextVar("tapegrad_recording", default=False)
#: MXNet's training flag (dropout and friends read it).
TRAINING: ContextVar[bool] = ContextVar("tapegrad_training", default=False)
#: PyTorch dialect: ops are taped unless grad mode is off.
GRAD_ENABLED: ContextVar[bool] = ContextVar("tapegrad_grad_enabled", default=True)
#: Set by the engine while a backward that builds no graph runs gradient rules: ops then take and
#: return raw backend buffers, with no Array, no tape and no dispatch (see ``Op.raw_call``).
RAW: ContextVar[bool] = ContextVar("tapegrad_raw", default=False)
#: The active forward traces, outermost first (see ``forward``).
TRACES: ContextVar[tuple] = ContextVar("tapegrad_forward_traces", default=())
#: When a list, every op application is appended to it as (op, args, params) (for check_grads' report).
CAPTURE: ContextVar["list | None"] = ContextVar("tapegrad_capture", default=None)
#: The recorder of a call being traced by ``compile`` (see ``capture``), or None.
RECORDER: ContextVar[Any] = ContextVar("tapegrad_recorder", default=None)
#: How many traces or captures are active, plus one while raw mode is on: an op call on Arrays reads
#: only this one flag to know that it may take the fast route (nothing to trace, capture or unwrap).
ACTIVE: ContextVar[int] = ContextVar("tapegrad_forward_active", default=0)


class StateScope:
    """Context manager that sets some flags on entry and restores those it changed on exit."""

    __slots__ = ("_want", "_tokens")

    def __init__(self, **flags: bool | None) -> None:
        # flags: name -> ContextVar value (None = leave alone); plain loops, as every backward
        # makes one of these (comprehensions cost a frame each on Python < 3.12)
        want = []
        for k, v in flags.items():
            if v is not None:
                want.append((_VARS[k], bool(v)))
        self._want = want
        self._tokens: list = []

    def __enter__(self) -> "StateScope":
        tokens: list[Token] = []
        for var, v in self._want:
            if var.get() != v:
                tokens.append(var.set(v))
                if var is RAW:  # raw mode counts in ACTIVE (see there)
                    tokens.append(ACTIVE.set(ACTIVE.get() + (1 if v else -1)))
        self._tokens = tokens
        return self

    def __exit__(self, *exc: object) -> None:
        for tok in reversed(self._tokens):
            tok.var.reset(tok)
        self._tokens = []


_VARS = {"recording": RECORDING, "training": TRAINING, "grad_enabled": GRAD_ENABLED, "raw": RAW}


def set_flag(var: ContextVar[bool], value: bool) -> bool:
    """Set a flag and return its previous value."""
    prev = var.get()
    var.set(bool(value))
    return prev

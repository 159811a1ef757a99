"""Neural-network primitives (npx): relu, sigmoid, softmax, log_softmax, logsumexp."""
from __future__ import annotations

"""``tapegrad.misc``: HIPS autograd's helpers (flatten, optimizers, fixed points)."""

"""``tapegrad.extend``: HIPS autograd's extension API over ``defop``."""

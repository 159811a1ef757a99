"""``tapegrad.scipy``: SciPy's functions with gradients, for the NumPy door (as ``autograd.scipy``)."""

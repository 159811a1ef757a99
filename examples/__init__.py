"""Short programs in the style users bring, each run by ``tests/test_examples.py`` at a small size.

Each module has ``main(small: bool = False) -> dict`` that prints what it reached and returns it.
Run one with ``python -m examples.<name>``.
"""

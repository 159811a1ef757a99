"""Containers (pytrees): nested tuples (namedtuples too), lists and dicts; None is an empty container.

Every transform of the functional API lays its arguments, outputs, cotangents and tangents out as
leaves with these, and rebuilds its results in the same structure.
"""
from __future__ import annotations

from typing import Any

LEAF = None  # the structure of a leaf


def flatten(x: Any) -> tuple[list, Any]:
    """``(leaves, tree)``: the leaves of ``x`` in order, and its structure for ``unflatten``."""
    leaves: list = []
    return leaves, _walk(x, leaves)


def _walk(x: Any, leaves: list) -> Any:
    if x is None:
        return (None, None, ())
    if isinstance(x, (tuple, list, dict)):
        kind = type(x)
        if kind not in (tuple, list, dict) and not hasattr(x, "_fields"):
            kind = dict if isinstance(x, dict) else list if isinstance(x, list) else tuple
        if isinstance(x, dict):
            return (kind, tuple(x), tuple(_walk(v, leaves) for v in x.values()))
        return (kind, None, tuple(_walk(v, leaves) for v in x))
    leaves.append(x)
    return LEAF


def unflatten(tree: Any, leaves: Any) -> Any:
    """The container of structure ``tree`` holding ``leaves`` in order."""
    return _build(tree, iter(leaves))


def _build(tree: Any, it: Any) -> Any:
    if tree is LEAF:
        return next(it)
    kind, keys, children = tree
    vals = [_build(c, it) for c in children]
    if kind is None:
        return None
    if keys is not None:
        return kind(zip(keys, vals))
    return kind(*vals) if hasattr(kind, "_fields") else kind(vals)


def size(tree: Any) -> int:
    """The number of leaves of ``tree``."""
    return 1 if tree is LEAF else sum(size(c) for c in tree[2])


def describe(tree: Any) -> str:
    """The structure with ``*`` for each leaf, e.g. ``{'a': *, 'b': (*, *)}``."""
    return repr(unflatten(tree, [_STAR] * size(tree)))


class _Star:
    def __repr__(self) -> str:
        return "*"


_STAR = _Star()


def flatten_like(tree: Any, x: Any, what: str) -> list:
    """The leaves of ``x`` laid out as ``tree``: anything stands for a leaf, None for a whole subtree
    (its leaves are None), a tuple or list for either; any other difference raises ``what`` it is."""
    if tree is LEAF:
        return [x]
    leaves: list = []

    def walk(t: Any, v: Any) -> None:
        if t is LEAF:
            leaves.append(v)
        elif v is None:
            leaves.extend([None] * size(t))
        elif t[0] is not None and (isinstance(v, dict) if t[1] is not None else
                                   isinstance(v, (tuple, list)) and len(v) == len(t[2])):
            if t[1] is not None and set(v) != set(t[1]):
                raise ValueError(f"{what} has the keys {sorted(map(repr, v))} where {sorted(map(repr, t[1]))} "
                                 "are expected: give it the structure of the value it pairs with")
            for c, e in zip(t[2], (v[k] for k in t[1]) if t[1] is not None else v):
                walk(c, e)
        else:
            raise ValueError(f"{what} has the structure {describe(flatten(v)[1])} where {describe(t)} is "
                             "expected: give it the structure of the value it pairs with")
    walk(tree, x)
    return leaves

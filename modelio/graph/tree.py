"""Walk nested structures (lists, tuples, dicts) of call arguments and outputs."""

from collections.abc import Callable
from typing import Any


def flatten(structure: Any) -> list:
    """Return the leaves of a nested list/tuple/dict structure, dicts in key-insertion order."""
    leaves = []
    stack = [structure]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        else:
            leaves.append(item)
    return leaves


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """Apply `fn` to every leaf, keeping the list/tuple/dict shape of `structure`."""
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    if isinstance(structure, list):
        return [map_structure(fn, value) for value in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, value) for value in structure)
    return fn(structure)


def pack_like(structure: Any, leaves: list) -> Any:
    """Inverse of `flatten`: put `leaves` back into the shape of `structure`."""
    iterator = iter(leaves)
    return map_structure(lambda _: next(iterator), structure)

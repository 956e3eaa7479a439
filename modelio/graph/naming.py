"""Automatic layer names as Keras makes them: `dense`, `dense_1`, `dense_2`, ..."""

import re

_name_counters: dict[str, int] = {}


def to_snake_case(class_name: str) -> str:
    """`Conv2D` -> `conv2d`, `ReLU` -> `re_lu`, `BatchNormalization` -> `batch_normalization`."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()


def unique_name(prefix: str) -> str:
    """The first call for a prefix returns it as is, later calls append `_1`, `_2`, ..."""
    count = _name_counters.get(prefix, 0)
    _name_counters[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session() -> None:
    """Reset the automatic name counters, like `keras.backend.clear_session()`."""
    _name_counters.clear()

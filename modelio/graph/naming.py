"""Automatic layer names as Keras makes them (`dense`, `dense_1`, `dense_2`, ...), and the two
snake_case rules Keras has used to turn class names into names.

The rules differ where a capital is followed by digits: tf-keras (Keras 2) splits before
`L2` in `L1L2` (`l1_l2`), Keras 3 does not (`l1l2`). Keras 3 also drops non-word characters.
"""

import re

_name_counters: dict[str, int] = {}


def keras2_snake_case(class_name: str) -> str:
    """tf-keras's `generic_utils.to_snake_case` (without its `private` prefix for names that
    start with `_`): `Conv2D` -> `conv2d`, `ReLU` -> `re_lu`, `L1L2` -> `l1_l2`,
    `BatchNormalization` -> `batch_normalization`."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()


def keras3_snake_case(class_name: str) -> str:
    """Keras 3's `keras.src.utils.naming.to_snake_case`: `Conv2D` -> `conv2d`, `ReLU` -> `re_lu`,
    `L1L2` -> `l1l2`, `MultiHeadAttention` -> `multi_head_attention`, `LSTM` -> `lstm`."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """The first call for a prefix returns it as is, later calls append `_1`, `_2`, ..."""
    count = _name_counters.get(prefix, 0)
    _name_counters[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session() -> None:
    """Reset the automatic name counters, like `keras.backend.clear_session()`."""
    _name_counters.clear()

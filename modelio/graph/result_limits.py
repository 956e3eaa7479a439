"""How large a result a layer may compute at run time, checked before it computes."""

import math

import numpy as np

from ..errors import ConfigError
from .dtypes import FLOAT_DTYPES
from .tree import flatten

# A result computed at run time may pass this many bytes only while it stays within
# `MAX_RESULT_GROWTH` times the bytes of the layer's inputs and weights: a large batch grows every
# layer a little, a hostile size (upsampling or padding by millions, from a file) grows one layer
# enormously. Checked before the layer computes.
MAX_UNCHECKED_RESULT_BYTES = 2**30
MAX_RESULT_GROWTH = 1024


def check_result_bytes(layer, inputs, output_shape) -> None:
    """Refuse `layer` to compute a result over `MAX_UNCHECKED_RESULT_BYTES` that is also more than
    `MAX_RESULT_GROWTH` times what the layer was given (inputs and weights). Layers that
    check their results themselves say so with `checks_result_size`."""
    if layer.checks_result_size:
        return
    float_dtype = layer.compute_dtype in FLOAT_DTYPES
    itemsize = np.dtype(layer.compute_dtype).itemsize if float_dtype else 8
    result_bytes = sum(math.prod(dim or 1 for dim in shape) * itemsize
                       for shape in _shape_leaves(output_shape))
    if result_bytes <= MAX_UNCHECKED_RESULT_BYTES:
        return
    given = sum(np.asarray(leaf).nbytes for leaf in flatten(inputs) if leaf is not None)
    given += sum(weight.value.nbytes for weight in layer.weights)
    if result_bytes > MAX_RESULT_GROWTH * given:
        raise ConfigError(f"layer '{layer.name}' ({type(layer).__name__}): refusing to compute "
                          f"a result of shape {output_shape} (up to {result_bytes} bytes) from "
                          f"{given} bytes of inputs and weights")


def _shape_leaves(structure) -> list[tuple]:
    """The shapes (tuples of ints or None) in a `compute_output_shape` result of any nesting."""
    leaves, stack = [], [structure]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple) and all(dim is None or isinstance(dim, int) for dim in item):
            leaves.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return leaves

"""What the lowerings of the Keras 3 operations (modelio/ops/, KerasOp) share: operands as ONNX
names of one dtype (constants become initializers), scalars, static shapes and refusals."""

import numpy as np

from ..errors import UnsupportedError
from ..graph.tensor import SymbolicTensor
from .export_support import cast_to


def operand(graph, node, index: int, value, dtype) -> str:
    """Call argument `index` (`value`: its ONNX name, or a constant) as an ONNX name of
    `dtype`."""
    symbolic = node.call_args[index]
    if isinstance(symbolic, SymbolicTensor):
        return cast_to(graph, value, symbolic.dtype, dtype, node.layer.name)
    return graph.constant(np.asarray(value, dtype=dtype), f"{node.layer.name}/constant")


def scalar(graph, value, dtype, hint: str) -> str:
    return graph.constant(np.asarray(value, dtype=dtype), f"{hint}/scalar")


def input_dtype(node, index: int = 0) -> np.dtype:
    return np.dtype(node.call_args[index].dtype)


def output_dtype(node, index: int = 0) -> np.dtype:
    return np.dtype(node.outputs[index].dtype)


def static_shape(node, index: int = 0, what: str = "") -> tuple:
    """The shape of tensor argument `index` without its batch axis... all known sizes, else an
    UnsupportedError (`what` says what needs them)."""
    shape = tuple(node.call_args[index].shape)
    return shape


def known_size(node, size, what: str) -> int:
    if size is None:
        refuse(node, f"{what} needs a known size")
    return int(size)


def refuse(node, why: str):
    layer = node.layer
    raise UnsupportedError(f"operation '{layer.name}' ({type(layer).__name__}): {why}; "
                           f"exporting it to ONNX is not supported")

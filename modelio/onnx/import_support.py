"""Helpers shared by the ONNX import converters: reading a node's inputs and attributes,
folding constants within size limits, and calling layers with weights taken from the graph."""

import math

import numpy as np
from onnx import helper

from ..errors import FormatError, UnsupportedError
from ..graph.layer import weights_follow
from ..graph.tensor import SymbolicTensor
from .import_context import ImportContext

# No constant computed while importing may hold more elements than this.
MAX_FOLDED_ELEMENTS = 2**28


def is_tensor(value) -> bool:
    return isinstance(value, SymbolicTensor)


def checked_constant(context: ImportContext, node, array) -> np.ndarray:
    """`array` as a numpy array, refused when larger than MAX_FOLDED_ELEMENTS."""
    array = np.asarray(array)
    if array.size > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: a constant of shape {array.shape} is too large "
                          f"(more than {MAX_FOLDED_ELEMENTS} elements)")
    return array


def check_fold_shape(context: ImportContext, node, shape) -> tuple:
    """A shape about to be allocated: non-negative dims, not too many elements."""
    dims = tuple(int(dim) for dim in np.asarray(shape).reshape(-1))
    if any(dim < 0 for dim in dims) or math.prod(dims) > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: refusing to build a constant of shape {dims}")
    return dims


def keras_float(value) -> bool:
    """Whether a Keras layer can take `value` unchanged (a float32 tensor)."""
    return is_tensor(value) and value.dtype == "float32"


def call_layer(layer, inputs, weights=()):
    """Call `layer` on symbolic `inputs` and give it `weights` (arrays in `layer.weights` order)
    without first allocating initial values."""
    with weights_follow():
        output = layer(inputs)
    for weight, array in zip(layer.weights, weights):
        weight.assign(np.asarray(array), copy=False)
    return output


def onnx_layer(context: ImportContext, node, cls, operands: list, **config):
    """Call the Onnx* layer `cls` on `operands` (tensors and numpy constants, in ONNX order):
    the constants become its weights."""
    constants, arrays, tensors = [], [], []
    for index, operand in enumerate(operands):
        if is_tensor(operand):
            tensors.append(operand)
        else:
            array = np.asarray(operand)
            constants.append({"index": index, "shape": list(array.shape),
                              "dtype": array.dtype.name})
            arrays.append(array)
    if not tensors:
        raise FormatError(f"{context.where(node)}: no run-time operand")
    layer = cls(name=context.layer_name(node), constants=constants or None, **config)
    return call_layer(layer, tensors if len(tensors) > 1 else tensors[0], arrays)


def inputs_of(context: ImportContext, node, minimum: int, maximum: int | None = None) -> list:
    """The node's input values (None for omitted ones), after checking how many there are."""
    count = len(node.input)
    if count < minimum or (maximum is not None and count > maximum):
        expected = minimum if maximum == minimum else f"{minimum} to {maximum or 'any'}"
        raise FormatError(f"{context.where(node)}: expected {expected} inputs, got {count}")
    values = [context.value(name) for name in node.input]
    for index in range(minimum):
        if values[index] is None:
            raise FormatError(f"{context.where(node)}: input {index} is missing")
    return values


def ints_input_or_attribute(context: ImportContext, node, index: int, name: str,
                            since_opset: int):
    """A list of ints given as attribute `name` before `since_opset`, as constant input `index`
    from then on (None when absent)."""
    if context.opset < since_opset:
        value = context.attribute(node, name)
        return None if value is None else [int(item) for item in value]
    array = context.constant(node, index, required=False)
    return None if array is None else [int(item) for item in np.asarray(array).reshape(-1)]


def positive_axis(context: ImportContext, node, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise FormatError(f"{context.where(node)}: axis {axis} is out of range for rank {rank}")
    return axis % rank


def numpy_dtype(context: ImportContext, node, onnx_type: int) -> str:
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(onnx_type)))
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedError(f"{context.where(node)}: ONNX type {onnx_type} is not "
                               f"supported") from exc
    if dtype.kind not in "biuf" or dtype.name.startswith(("float8", "bfloat")) or \
            dtype.name in ("int4", "uint4", "float4_e2m1"):
        raise UnsupportedError(f"{context.where(node)}: ONNX type "
                               f"{helper.tensor_dtype_to_string(int(onnx_type))} is not supported")
    return dtype.name


def fold(context: ImportContext, node, function, *arrays):
    """`function(*arrays)` for a node whose inputs are all constants."""
    with np.errstate(all="ignore"):
        return checked_constant(context, node, function(*arrays))


def producer_of(tensor):
    """(layer, its input tensors, its constant weights) of the layer that made `tensor`."""
    history = tensor.keras_history
    if history is None:
        return None, [], []
    layer = history.layer
    call_args = layer.inbound_nodes[history.node_index].call_args
    if not call_args:  # an Input
        return layer, [], []
    call_arg = call_args[0]
    inputs = list(call_arg) if isinstance(call_arg, (list, tuple)) else [call_arg]
    return layer, inputs, [weight.value for weight in layer.weights]

"""Calling Keras and Onnx* layers on imported tensors, with weights taken from the graph, and
looking back at the layer that made a tensor."""

import numpy as np
import onnx

from ...errors import FormatError
from ...graph.layer import weights_follow
from ..import_context import ImportContext
from .constants import is_tensor


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


def extra_name(context, node, suffix: str) -> str:
    """A unique layer name for a second layer made from `node`."""
    base = f"{node.name or node.output[0]}_{suffix}"
    return context.layer_name(onnx.NodeProto(name=base, op_type=node.op_type))


def set_layer_weights(layer, arrays) -> None:
    """Give `layer` the arrays (views of the initializers where they only rearrange them: the
    weights are adopted, not copied, so an imported model holds its weights once)."""
    if len(arrays) != len(layer.weights):
        raise FormatError(f"layer '{layer.name}' expects {len(layer.weights)} weight(s), got "
                          f"{len(arrays)}")
    for weight, array in zip(layer.weights, arrays):
        weight.assign(np.asarray(array, dtype=weight.value.dtype), copy=False)

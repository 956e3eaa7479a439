"""Both ONNX directions for OnnxRecurrent (modelio/layers/recurrent/onnx_recurrent.py):
ONNX's LSTM/GRU/RNN imported as one layer that keeps ONNX's layout and weights, and lowered back
to the same op."""

import numpy as np

from ...errors import FormatError, UnsupportedError
from ...graph.tensor import SymbolicTensor
from ...layers.recurrent import OnnxRecurrent
from ..registry import converts, lowers


@lowers(OnnxRecurrent)
def onnx_recurrent(graph, node, args, kwargs):
    layer = node.layer
    tensors = args[0] if isinstance(args[0], (list, tuple)) else [args[0]]
    inputs = [tensors[0], graph.weight(layer.W), graph.weight(layer.R), graph.weight(layer.B),
              "", *tensors[1:]]
    if layer.cell == "LSTM":
        inputs += [""] * (7 - len(inputs)) + [graph.weight(layer.P)]
    attributes = {"hidden_size": layer.hidden_size, "direction": layer.direction,
                  "activations": list(layer.activations)}
    if layer.activation_alpha is not None:
        attributes["activation_alpha"] = list(layer.activation_alpha)
    if layer.activation_beta is not None:
        attributes["activation_beta"] = list(layer.activation_beta)
    if layer.clip is not None:
        attributes["clip"] = layer.clip
    if layer.cell == "GRU":
        attributes["linear_before_reset"] = int(layer.linear_before_reset)
    if layer.layout:
        attributes["layout"] = 1
    return graph.node(layer.cell, inputs, layer.name, outputs=3 if layer.cell == "LSTM" else 2,
                      **attributes)


_GATE_COUNTS = {"LSTM": 4, "GRU": 3, "RNN": 1}


@converts("LSTM", "GRU", "RNN")
def convert_recurrent(context, node) -> list:
    cell = node.op_type
    where = context.where(node)
    x = context.tensor(node, 0)
    if len(x.shape) != 3:
        raise FormatError(f"{where}: X must have rank 3, got shape {tuple(x.shape)}")
    layout = int(context.attribute(node, "layout", 0))
    hidden = context.attribute(node, "hidden_size", None)
    if hidden is None or int(hidden) < 1:
        raise FormatError(f"{where}: attribute hidden_size is missing or not positive")
    hidden = int(hidden)
    direction = context.attribute(node, "direction", "forward")
    directions = 2 if direction == "bidirectional" else 1
    gates = _GATE_COUNTS[cell]
    weights = context.constant(node, 1)
    recurrent = context.constant(node, 2)
    input_size = x.shape[2] if x.shape[2] is not None else weights.shape[-1]
    seq = x.shape[1] if layout else x.shape[0]
    if weights.shape != (directions, gates * hidden, input_size):
        raise FormatError(f"{where}: W must have shape {(directions, gates * hidden, input_size)}, "
                          f"got {weights.shape}")
    if recurrent.shape != (directions, gates * hidden, hidden):
        raise FormatError(f"{where}: R must have shape {(directions, gates * hidden, hidden)}, "
                          f"got {recurrent.shape}")
    bias = context.constant(node, 3, required=False)
    if bias is None:
        bias = np.zeros((directions, 2 * gates * hidden), weights.dtype)
    if bias.shape != (directions, 2 * gates * hidden):
        raise FormatError(f"{where}: B must have shape {(directions, 2 * gates * hidden)}, got "
                          f"{bias.shape}")
    _check_sequence_lens(context, node, seq)
    states = _initial_states(context, node, cell)
    peepholes = None
    if cell == "LSTM":
        peepholes = context.constant(node, 7, required=False)
        if peepholes is None:
            peepholes = np.zeros((directions, 3 * hidden), weights.dtype)
        if peepholes.shape != (directions, 3 * hidden):
            raise FormatError(f"{where}: P must have shape {(directions, 3 * hidden)}, got "
                              f"{peepholes.shape}")
    try:
        layer = OnnxRecurrent(
            cell, hidden, direction=direction,
            activations=_names(context.attribute(node, "activations", None)),
            activation_alpha=context.attribute(node, "activation_alpha", None),
            activation_beta=context.attribute(node, "activation_beta", None),
            clip=context.attribute(node, "clip", None),
            linear_before_reset=bool(context.attribute(node, "linear_before_reset", 0)),
            input_forget=bool(context.attribute(node, "input_forget", 0)),
            initial_states=len(states), layout=layout, input_size=input_size,
            name=context.layer_name(node))
    except (UnsupportedError, FormatError) as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    outputs = layer([x, *states] if states else x)
    arrays = [array for array in (weights, recurrent, bias, peepholes) if array is not None]
    for weight, array in zip(layer.weights, arrays):  # adopted: the weights are held once
        weight.assign(array.astype(np.float32, copy=False), copy=False)
    return outputs[:len(node.output)]


def _names(values):
    """A strings attribute (bytes from protobuf) as str, or None."""
    if values is None:
        return None
    return [value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            for value in values]


def _check_sequence_lens(context, node, seq) -> None:
    """`sequence_lens` is accepted only when it is a constant equal to the full length."""
    if len(node.input) <= 4 or not node.input[4]:
        return
    lengths = context.value(node.input[4])
    if isinstance(lengths, SymbolicTensor) or seq is None or np.any(np.asarray(lengths) != seq):
        raise UnsupportedError(f"{context.where(node)}: sequence_lens shorter than the sequence "
                               f"(or given at run time) is not supported")


def _initial_states(context, node, cell: str) -> list:
    """The run-time initial states to pass to the layer; constant zero states are dropped."""
    indices = [5, 6] if cell == "LSTM" else [5]
    values = [context.value(node.input[index]) if index < len(node.input) else None
              for index in indices]
    if all(value is None or (not isinstance(value, SymbolicTensor) and not np.any(value))
           for value in values):
        return []
    if cell == "LSTM" and (values[0] is None) != (values[1] is None):
        raise UnsupportedError(f"{context.where(node)}: give both initial_h and initial_c, or "
                               f"neither")
    if any(not isinstance(value, SymbolicTensor) for value in values if value is not None):
        raise UnsupportedError(f"{context.where(node)}: non-zero constant initial states are "
                               f"not supported (pass them as graph inputs)")
    return [value for value in values if value is not None]

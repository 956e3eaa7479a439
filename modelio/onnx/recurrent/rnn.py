"""ONNX lowerings of SimpleRNN, LSTM, GRU and RNN with its cells (modelio/layers/recurrent/):
ONNX's fused RNN/LSTM/GRU ops, or, for masked layers, a Scan whose body is one cell step with
Keras 3's masked-step rule (ONNX's sequence_lens only handles right padding; Keras masks may have
holes). A StackedRNNCells runs as its cells one after the other over the whole sequence, each an
ONNX op (or Scan) of its own, which computes what stepping them together does (see
modelio/layers/recurrent/generic.py)."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ...layers import recurrent
from ...layers.recurrent.rnn import flat_states
from ..activation_functions import lower_activation
from ..export_support import has_mask, mask_of, refuse_export
from ..registry import lowers

# ONNX gate order from Keras's: LSTM i, f, c, o -> i, o, f, c; GRU z, r, h in both.
_GATES = {recurrent.LSTMCell: [0, 3, 1, 2], recurrent.GRUCell: [0, 1, 2],
          recurrent.SimpleRNNCell: [0]}


_OPS = {recurrent.LSTMCell: "LSTM", recurrent.GRUCell: "GRU", recurrent.SimpleRNNCell: "RNN"}


# Keras activation name -> (ONNX activation, alpha, beta)
_RNN_ACTIVATIONS = {"sigmoid": ("Sigmoid", None, None), "tanh": ("Tanh", None, None),
                    "relu": ("Relu", None, None), "linear": ("Affine", 1.0, 0.0),
                    "hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5),
                    "modelio>hard_sigmoid_keras2": ("HardSigmoid", 0.2, 0.5)}


_INT64_MIN = -(2 ** 63)


def refuse_mask(layer, kwargs):
    if has_mask(kwargs):
        refuse_export(layer, "masks (the layer receives a mask)")


def sequence_and_states(layer, args, kwargs):
    if kwargs.get("constants") is not None:
        refuse_export(layer, "constants")
    sequences = args[0] if args else kwargs["sequences"]
    states = args[1] if len(args) > 1 else kwargs.get("initial_state")
    if isinstance(sequences, (list, tuple)):
        sequences, extra = sequences[0], list(sequences[1:])
        states = extra or states
    if states is not None:
        states = flat_states(states)
    if states is not None and (not states or any(state is None for state in states)):
        states = None
    return sequences, (list(states) if states is not None else None)


def cells_of(layer) -> list:
    """The cells a recurrent layer runs one after the other (one, or a stack's)."""
    cell = layer.cell
    return list(cell.cells) if isinstance(cell, recurrent.StackedRNNCells) else [cell]


def _activations(cell, owner):
    names = [cell.activation_name]
    if isinstance(cell, recurrent.LSTMCell):
        names = [cell.recurrent_activation_name, cell.activation_name, cell.activation_name]
    elif isinstance(cell, recurrent.GRUCell):
        names = [cell.recurrent_activation_name, cell.activation_name]
    result = []
    for name in names:
        if name not in _RNN_ACTIVATIONS:
            refuse_export(owner, f"the activation {name!r} inside a recurrent layer")
        result.append(_RNN_ACTIVATIONS[name])
    return result


def _weights(layer):
    """(W, R, B) of one cell in ONNX's layout: (gates*u, in), (gates*u, u), (2*gates*u,)."""
    units, order = layer.units, _GATES[type(layer)]

    def reorder(matrix):  # (rows, gates*u) Keras -> (gates*u, rows) ONNX
        blocks = [matrix[:, g * units:(g + 1) * units] for g in order]
        return np.concatenate(blocks, axis=1).T

    kernel = layer.value_of(layer.kernel)
    recurrent_kernel = layer.value_of(layer.recurrent_kernel)
    gates = len(order)
    if layer.bias is None:
        input_bias = recurrent_bias = np.zeros((1, gates * units), kernel.dtype)
    else:
        bias = layer.value_of(layer.bias)
        if isinstance(layer, recurrent.GRUCell) and layer.reset_after:
            input_bias, recurrent_bias = bias[0:1], bias[1:2]
        else:
            input_bias, recurrent_bias = bias[None, :], np.zeros_like(bias)[None, :]
    bias = np.concatenate([reorder(input_bias).T[0], reorder(recurrent_bias).T[0]])
    return reorder(kernel), reorder(recurrent_kernel), bias


def compatible_directions(forward_layer, backward_layer):
    """Whether one bidirectional ONNX op runs both layers (same kind of single cell)."""
    forward, backward = forward_layer.cell, backward_layer.cell
    if type(forward) is not type(backward) or type(forward) not in _OPS:
        return False
    if forward.units != backward.units:
        return False
    if _activations(forward, forward_layer) != _activations(backward, backward_layer):
        return False
    if isinstance(forward, recurrent.GRUCell) and forward.reset_after != backward.reset_after:
        return False
    return not forward_layer.go_backwards and backward_layer.go_backwards


def reverse_time(graph, x, hint):
    return graph.node("Slice", [x, graph.ints([-1], f"{hint}/start"),
                                graph.ints([_INT64_MIN], f"{hint}/end"),
                                graph.ints([1], f"{hint}/axis"), graph.ints([-1], f"{hint}/step")],
                      hint)


def recurrent_op(graph, cells, owner, x, states, hint, bidirectional):
    """Run `cells` (one cell, or forward and backward) of layer `owner` over batch-major `x`.

    `states` is a list (per cell) of lists of state names or None. Returns ONNX's (Y, Y_h, Y_c):
    Y (time, directions, batch, units), Y_h/Y_c (directions, batch, units)."""
    first = cells[0]
    op = _OPS[type(first)]
    # ONNX's `layout=1` (batch-major, opset >= 14) would spare the transposes, but onnxruntime's
    # CPU kernels refuse it ("Batchwise recurrent operations (layout == 1) are not supported"),
    # so the op runs time-major: one Transpose in, one per sequence output.
    weights = [_weights(cell) for cell in cells]
    stacked = [np.stack([w[i] for w in weights]) for i in range(3)]
    inputs = [graph.node("Transpose", [x], hint, perm=[1, 0, 2])]
    for array, what in zip(stacked, ("W", "R", "B")):
        inputs.append(graph.constant(array, f"{hint}/{what}"))
    state_count = 2 if op == "LSTM" else 1
    state_inputs = []
    if any(cell_states is not None for cell_states in states):
        for index in range(state_count):
            per_direction = []
            for cell_states in states:
                if cell_states is None:
                    refuse_export(owner, "initial states for only one direction")
                axis = graph.ints([0], f"{hint}/axis")
                per_direction.append(graph.node("Unsqueeze", [cell_states[index], axis], hint))
            state_inputs.append(per_direction[0] if len(per_direction) == 1 else graph.node(
                "Concat", per_direction, hint, axis=0))
        inputs += ["", *state_inputs]  # sequence_lens left out
    activations = [spec for cell in cells for spec in _activations(cell, owner)]
    attributes = {"hidden_size": int(first.units),
                  "activations": [name for name, _, _ in activations],
                  "direction": "bidirectional" if bidirectional else "forward"}
    alphas = [alpha for _, alpha, _ in activations if alpha is not None]
    if alphas:
        attributes["activation_alpha"] = alphas
        attributes["activation_beta"] = [beta for _, _, beta in activations if beta is not None]
    if op == "GRU":
        attributes["linear_before_reset"] = int(first.reset_after)
    outputs = graph.node(op, inputs, hint, outputs=3 if op == "LSTM" else 2, **attributes)
    y, y_h = outputs[0], outputs[1]
    y_c = outputs[2] if op == "LSTM" else None
    return y, y_h, y_c


def sequence_output(graph, y, index, count, hint):
    """Direction `index` of Y as a batch-major (batch, time, units) sequence."""
    return graph.node("Transpose", [one_direction(graph, y, 1, index, count, hint)], hint,
                      perm=[1, 0, 2])


def one_direction(graph, tensor, axis, index, count, hint):
    """Drop the directions axis of an op output, keeping direction `index`."""
    if count > 1:
        tensor = graph.node("Slice", [tensor, graph.ints([index], f"{hint}/start"),
                                      graph.ints([index + 1], f"{hint}/end"),
                                      graph.ints([axis], f"{hint}/axis")], hint)
    return graph.node("Squeeze", [tensor, graph.ints([axis], f"{hint}/axis")], hint)


def check_cell(layer, masked=False):
    """Refuse what neither lowering exports. The masked Scan runs any exportable activation;
    the RNN/LSTM/GRU ops only the ones ONNX lists."""
    if layer.stateful:
        refuse_export(layer, "stateful recurrent layers")
    for cell in cells_of(layer):
        if type(cell) not in _OPS:
            refuse_export(layer, f"a {type(cell).__name__} cell")
    if np.dtype(layer.compute_dtype) != np.float32:
        refuse_export(layer, f"{layer.compute_dtype} recurrent layers (onnxruntime's recurrent ops run "
                       f"float32 only)")
    if not masked:
        for cell in cells_of(layer):
            _activations(cell, layer)


def _single(graph, cell, owner, x, states, hint, return_sequences):
    """One cell run forwards: (sequence output or None, last output, [final states])."""
    y, y_h, y_c = recurrent_op(graph, [cell], owner, x, [states], hint, False)
    sequence = sequence_output(graph, y, 0, 1, hint) if return_sequences else None
    last = one_direction(graph, y_h, 0, 0, 1, hint)
    final = [last] if y_c is None else [last, one_direction(graph, y_c, 0, 0, 1, hint)]
    return sequence, last, final


def _masked_single(graph, cell, owner, x, mask, states, hint, return_sequences,
                   zero_output_for_mask):
    """One cell run forwards under a (batch, time) mask, as an ONNX Scan over time whose body
    runs one cell step and keeps the previous states and output at masked steps (Keras 3's
    rule; a mask may have holes mid-sequence, which ONNX's `sequence_lens` cannot express).
    Returns what `_single` returns."""
    units, dtype = int(cell.units), np.dtype(owner.compute_dtype)
    kernel, recurrent_kernel, input_bias, recurrent_bias = _keras_weights(cell)
    projected = graph.node("MatMul", [x, graph.constant(kernel, f"{hint}/kernel")], hint)
    if input_bias is not None:
        projected = graph.node("Add", [projected, graph.constant(input_bias, f"{hint}/bias")], hint)
    projected = graph.node("Transpose", [projected], hint, perm=[1, 0, 2])   # (time, batch, g*u)
    keep = graph.node("Unsqueeze", [graph.node("Transpose", [mask], hint, perm=[1, 0]),
                                    graph.ints([2], f"{hint}/axis")], hint)  # (time, batch, 1)
    batch = graph.node("Slice", [graph.node("Shape", [x], hint), graph.ints([0], f"{hint}/zero"),
                                 graph.ints([1], f"{hint}/one")], hint)
    zeros = graph.node("ConstantOfShape", [graph.node(
        "Concat", [batch, graph.ints([units], f"{hint}/units")], hint, axis=0)], hint,
        value=numpy_helper.from_array(np.zeros((1,), dtype), "value"))
    state_count = len(cell.state_size)
    initial = list(states) if states is not None else [zeros] * state_count
    body = _step_body(graph, cell, owner, recurrent_kernel, recurrent_bias, state_count, hint,
                      zero_output_for_mask)
    outputs = graph.node("Scan", [*initial, zeros, projected, keep], hint,
                         outputs=state_count + 2, num_scan_inputs=2, body=body)
    final, last, sequence = outputs[:state_count], outputs[state_count], outputs[-1]
    if return_sequences:
        sequence = graph.node("Transpose", [sequence], hint, perm=[1, 0, 2])
    else:
        sequence = None
    return sequence, last, final


def _keras_weights(cell):
    """(kernel, recurrent kernel, input bias, recurrent bias) in Keras's (rows, gates * units)
    layout; the recurrent bias is GRU's reset_after row (added inside the reset gate)."""
    kernel, recurrent_kernel, bias = cell.cell_weights()
    if bias is None:
        return kernel, recurrent_kernel, None, None
    if isinstance(cell, recurrent.GRUCell) and cell.reset_after:
        return kernel, recurrent_kernel, bias[0], bias[1]
    return kernel, recurrent_kernel, bias, None


def _step_body(graph, cell, owner, recurrent_kernel, recurrent_bias, state_count, hint,
               zero_output_for_mask):
    """The Scan body: (states..., previous output, projected x_t, keep_t) -> (states...,
    output, output for the sequence). Weights are outer-scope initializers of `graph`."""
    element = helper.np_dtype_to_tensor_dtype(np.dtype(owner.compute_dtype))
    outer_nodes, graph.nodes = graph.nodes, []
    try:
        step = f"{hint}/step"
        states_in = [graph.fresh(f"{step}/state_in") for _ in range(state_count)]
        output_in, x_t, keep = (graph.fresh(f"{step}/{what}")
                                for what in ("output_in", "x_t", "keep"))
        new_states = _cell_step(graph, cell, owner, x_t, states_in, recurrent_kernel,
                                recurrent_bias, step)
        fallback = output_in
        if zero_output_for_mask:
            fallback = graph.constant(np.zeros((), owner.compute_dtype), f"{step}/zero")
        output = graph.node("Where", [keep, new_states[0], fallback], step)
        states_out = [graph.node("Where", [keep, new, old], step)
                      for new, old in zip(new_states, states_in)]
        sequence_out = graph.node("Identity", [output], step)
        body_nodes = graph.nodes
    finally:
        graph.nodes = outer_nodes

    def info(name, element_type=element):
        return helper.make_tensor_value_info(name, element_type, None)

    inputs = [info(name) for name in (*states_in, output_in, x_t)]
    inputs.append(info(keep, TensorProto.BOOL))
    outputs = [info(name) for name in (*states_out, output, sequence_out)]
    return helper.make_graph(body_nodes, f"{hint}_step", inputs, outputs)


def _cell_step(graph, layer, owner, x_t, states, recurrent_kernel, recurrent_bias, hint):
    """One step of the cell `layer` in Keras's gate order: the new states (h first)."""
    units = int(layer.units)

    def activation(x):
        return lower_activation(graph, layer.activation_name, x, hint, owner.name)

    def gate(x):
        return lower_activation(graph, layer.recurrent_activation_name, x, hint, owner.name)

    def split(x, count):
        return graph.node("Split", [x, graph.ints([units] * count, f"{hint}/split")], hint,
                          outputs=count, axis=1)

    def matmul(x, matrix, what):
        return graph.node("MatMul", [x, graph.constant(matrix, f"{hint}/{what}")], hint)

    h = states[0]
    if isinstance(layer, recurrent.SimpleRNNCell):
        new_h = activation(graph.node("Add", [x_t, matmul(h, recurrent_kernel, "recurrent_kernel")],
                                      hint))
        return [new_h]
    if isinstance(layer, recurrent.LSTMCell):
        z = graph.node("Add", [x_t, matmul(h, recurrent_kernel, "recurrent_kernel")], hint)
        i, f, c, o = split(z, 4)
        c_new = graph.node("Add", [graph.node("Mul", [gate(f), states[1]], hint),
                                   graph.node("Mul", [gate(i), activation(c)], hint)], hint)
        return [graph.node("Mul", [gate(o), activation(c_new)], hint), c_new]
    x_z, x_r, x_h = split(x_t, 3)
    if layer.reset_after:
        inner = matmul(h, recurrent_kernel, "recurrent_kernel")
        if recurrent_bias is not None:
            inner = graph.node("Add", [inner, graph.constant(recurrent_bias, f"{hint}/recurrent_bias")],
                               hint)
        inner_z, inner_r, inner_h = split(inner, 3)
        z = gate(graph.node("Add", [x_z, inner_z], hint))
        r = gate(graph.node("Add", [x_r, inner_r], hint))
        candidate = graph.node("Add", [x_h, graph.node("Mul", [r, inner_h], hint)], hint)
    else:
        inner_z, inner_r = split(matmul(h, recurrent_kernel[:, :2 * units], "recurrent_zr"), 2)
        z = gate(graph.node("Add", [x_z, inner_z], hint))
        r = gate(graph.node("Add", [x_r, inner_r], hint))
        reset = graph.node("Mul", [r, h], hint)
        candidate = graph.node("Add", [x_h, matmul(reset, recurrent_kernel[:, 2 * units:],
                                                   "recurrent_h")], hint)
    candidate = activation(candidate)
    # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
    new_h = graph.node("Add", [candidate, graph.node(
        "Mul", [z, graph.node("Sub", [h, candidate], hint)], hint)], hint)
    return [new_h]


def run_layer(graph, layer, x, mask, states, hint):
    """A recurrent layer over batch-major `x` (a stack of cells: each cell in turn over the
    whole sequence): (sequence output in Keras's order or None, last output, [final states])."""
    check_cell(layer, masked=mask is not None)
    if layer.go_backwards:
        x = reverse_time(graph, x, hint)
        mask = None if mask is None else reverse_time(graph, mask, hint)
    cells, final, offset = cells_of(layer), [], 0
    for index, cell in enumerate(cells):
        count, is_last = len(cell.state_size), index == len(cells) - 1
        cell_states = None if states is None else states[offset:offset + count]
        offset += count
        return_sequences = layer.return_sequences or not is_last
        where = hint if len(cells) == 1 else f"{hint}/{cell.name}"
        if mask is None:
            x, last, cell_final = _single(graph, cell, layer, x, cell_states, where,
                                          return_sequences)
        else:
            x, last, cell_final = _masked_single(graph, cell, layer, x, mask, cell_states, where,
                                                 return_sequences,
                                                 layer.zero_output_for_mask and is_last)
        final.extend(cell_final)
    return x, last, final


@lowers(recurrent.SimpleRNN, recurrent.LSTM, recurrent.GRU, recurrent.RNN)
def recurrent_layer(graph, node, args, kwargs):
    """The ONNX RNN/LSTM/GRU op per cell; under a mask, a Scan of the cell step (see
    `_masked_single`)."""
    layer = node.layer
    x, states = sequence_and_states(layer, args, kwargs)
    mask = mask_of(graph, node, kwargs)
    sequence, last, final = run_layer(graph, layer, x, mask, states, layer.name)
    output = sequence if layer.return_sequences else last
    if not layer.return_state:
        return graph.node("Identity", [output], layer.name)
    return [graph.node("Identity", [output], layer.name), *final]


# onnxruntime's RNN/LSTM/GRU and the Scan body run here are exported in float32 for a float16
# layer: the exporter casts the layer's inputs and outputs around it (see onnx/export.py).
recurrent_layer.float32_only = True

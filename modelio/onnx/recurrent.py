"""TODO docstring."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ..errors import FormatError, UnsupportedError
from ..graph.layer import call_parameters
from ..graph.tensor import SymbolicTensor
from ..layers import recurrent
from ..layers.core import Dense
from ..layers.recurrent import OnnxRecurrent, onnx_recurrent
from .activation_functions import lower_activation
from .core import dense
from .export_support import _InnerNode, _refuse, has_mask, mask_of
from .registry import converts, lowering_for, lowers

# ONNX gate order from Keras's: LSTM i, f, c, o -> i, o, f, c; GRU z, r, h in both.
_GATES = {recurrent.LSTM: [0, 3, 1, 2], recurrent.GRU: [0, 1, 2], recurrent.SimpleRNN: [0]}


_OPS = {recurrent.LSTM: "LSTM", recurrent.GRU: "GRU", recurrent.SimpleRNN: "RNN"}


# Keras activation name -> (ONNX activation, alpha, beta)
_RNN_ACTIVATIONS = {"sigmoid": ("Sigmoid", None, None), "tanh": ("Tanh", None, None),
                    "relu": ("Relu", None, None), "linear": ("Affine", 1.0, 0.0),
                    "hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5),
                    "modelio>hard_sigmoid_keras2": ("HardSigmoid", 0.2, 0.5)}


_INT64_MIN = -(2 ** 63)


def _refuse_mask(layer, kwargs):
    if has_mask(kwargs):
        _refuse(layer, "masks (the layer receives a mask)")


def _sequence_and_states(layer, args, kwargs):
    if kwargs.get("constants") is not None:
        _refuse(layer, "constants")
    sequences = args[0] if args else kwargs["sequences"]
    states = args[1] if len(args) > 1 else kwargs.get("initial_state")
    if isinstance(sequences, (list, tuple)):
        sequences, extra = sequences[0], list(sequences[1:])
        states = extra or states
    if states is not None and not isinstance(states, (list, tuple)):
        states = [states]
    if states is not None and (not states or any(state is None for state in states)):
        states = None
    return sequences, (list(states) if states is not None else None)


def _activations(layer):
    names = [layer.activation_name]
    if isinstance(layer, recurrent.LSTM):
        names = [layer.recurrent_activation_name, layer.activation_name, layer.activation_name]
    elif isinstance(layer, recurrent.GRU):
        names = [layer.recurrent_activation_name, layer.activation_name]
    result = []
    for name in names:
        if name not in _RNN_ACTIVATIONS:
            _refuse(layer, f"the activation {name!r} inside a recurrent layer")
        result.append(_RNN_ACTIVATIONS[name])
    return result


def _weights(layer):
    """(W, R, B) of one direction in ONNX's layout: (gates*u, in), (gates*u, u), (2*gates*u,)."""
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
        if isinstance(layer, recurrent.GRU) and layer.reset_after:
            input_bias, recurrent_bias = bias[0:1], bias[1:2]
        else:
            input_bias, recurrent_bias = bias[None, :], np.zeros_like(bias)[None, :]
    bias = np.concatenate([reorder(input_bias).T[0], reorder(recurrent_bias).T[0]])
    return reorder(kernel), reorder(recurrent_kernel), bias


def _compatible(forward, backward):
    if type(forward) is not type(backward) or forward.units != backward.units:
        return False
    if _activations(forward) != _activations(backward):
        return False
    if isinstance(forward, recurrent.GRU) and forward.reset_after != backward.reset_after:
        return False
    return not forward.go_backwards and backward.go_backwards


def _reverse_time(graph, x, hint):
    return graph.node("Slice", [x, graph.ints([-1], f"{hint}/start"),
                                graph.ints([_INT64_MIN], f"{hint}/end"),
                                graph.ints([1], f"{hint}/axis"), graph.ints([-1], f"{hint}/step")],
                      hint)


def _recurrent_op(graph, cells, x, states, hint, bidirectional):
    """Run `cells` (one layer, or forward and backward) over batch-major `x`.

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
                    _refuse(first, "initial states for only one direction")
                axis = graph.ints([0], f"{hint}/axis")
                per_direction.append(graph.node("Unsqueeze", [cell_states[index], axis], hint))
            state_inputs.append(per_direction[0] if len(per_direction) == 1 else graph.node(
                "Concat", per_direction, hint, axis=0))
        inputs += ["", *state_inputs]  # sequence_lens left out
    activations = [spec for cell in cells for spec in _activations(cell)]
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


def _sequence(graph, y, index, count, hint):
    """Direction `index` of Y as a batch-major (batch, time, units) sequence."""
    return graph.node("Transpose", [_direction(graph, y, 1, index, count, hint)], hint,
                      perm=[1, 0, 2])


def _direction(graph, tensor, axis, index, count, hint):
    """Drop the directions axis of an op output, keeping direction `index`."""
    if count > 1:
        tensor = graph.node("Slice", [tensor, graph.ints([index], f"{hint}/start"),
                                      graph.ints([index + 1], f"{hint}/end"),
                                      graph.ints([axis], f"{hint}/axis")], hint)
    return graph.node("Squeeze", [tensor, graph.ints([axis], f"{hint}/axis")], hint)


def _check_cell(layer, masked=False):
    """Refuse what neither lowering exports. The masked Scan runs any exportable activation;
    the RNN/LSTM/GRU ops only the ones ONNX lists."""
    if layer.stateful:
        _refuse(layer, "stateful recurrent layers")
    if type(layer) not in _OPS:
        _refuse(layer, f"a {type(layer).__name__} cell")
    if np.dtype(layer.compute_dtype) != np.float32:
        _refuse(layer, f"{layer.compute_dtype} recurrent layers (onnxruntime's recurrent ops run "
                       f"float32 only)")
    if not masked:
        _activations(layer)


def _single(graph, layer, x, states, hint):
    """One recurrent layer: (sequence output in Keras's order, last output, [final states])."""
    _check_cell(layer)
    if layer.go_backwards:
        x = _reverse_time(graph, x, hint)
    y, y_h, y_c = _recurrent_op(graph, [layer], x, [states], hint, False)
    sequence = _sequence(graph, y, 0, 1, hint) if layer.return_sequences else None
    last = _direction(graph, y_h, 0, 0, 1, hint)
    final = [last] if y_c is None else [last, _direction(graph, y_c, 0, 0, 1, hint)]
    return sequence, last, final


def _masked_single(graph, layer, x, mask, states, hint):
    """One recurrent layer under a (batch, time) mask, as an ONNX Scan over time whose body runs
    one cell step and keeps the previous states and output at masked steps (Keras 3's rule; a
    mask may have holes mid-sequence, which ONNX's `sequence_lens` cannot express). Returns
    what `_single` returns."""
    _check_cell(layer, masked=True)
    if layer.go_backwards:
        x, mask = _reverse_time(graph, x, hint), _reverse_time(graph, mask, hint)
    units, dtype = int(layer.units), np.dtype(layer.compute_dtype)
    kernel, recurrent_kernel, input_bias, recurrent_bias = _keras_weights(layer)
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
    state_count = 2 if isinstance(layer, recurrent.LSTM) else 1
    initial = list(states) if states is not None else [zeros] * state_count
    body = _step_body(graph, layer, recurrent_kernel, recurrent_bias, state_count, hint)
    outputs = graph.node("Scan", [*initial, zeros, projected, keep], hint,
                         outputs=state_count + 2, num_scan_inputs=2, body=body)
    final, last, sequence = outputs[:state_count], outputs[state_count], outputs[-1]
    if layer.return_sequences:
        sequence = graph.node("Transpose", [sequence], hint, perm=[1, 0, 2])
    else:
        sequence = None
    return sequence, last, final


def _keras_weights(layer):
    """(kernel, recurrent kernel, input bias, recurrent bias) in Keras's (rows, gates * units)
    layout; the recurrent bias is GRU's reset_after row (added inside the reset gate)."""
    kernel = layer.value_of(layer.kernel)
    recurrent_kernel = layer.value_of(layer.recurrent_kernel)
    if layer.bias is None:
        return kernel, recurrent_kernel, None, None
    bias = layer.value_of(layer.bias)
    if isinstance(layer, recurrent.GRU) and layer.reset_after:
        return kernel, recurrent_kernel, bias[0], bias[1]
    return kernel, recurrent_kernel, bias, None


def _step_body(graph, layer, recurrent_kernel, recurrent_bias, state_count, hint):
    """The Scan body: (states..., previous output, projected x_t, keep_t) -> (states...,
    output, output for the sequence). Weights are outer-scope initializers of `graph`."""
    element = helper.np_dtype_to_tensor_dtype(np.dtype(layer.compute_dtype))
    outer_nodes, graph.nodes = graph.nodes, []
    try:
        step = f"{hint}/step"
        states_in = [graph.fresh(f"{step}/state_in") for _ in range(state_count)]
        output_in, x_t, keep = (graph.fresh(f"{step}/{what}")
                                for what in ("output_in", "x_t", "keep"))
        new_states = _cell_step(graph, layer, x_t, states_in, recurrent_kernel, recurrent_bias,
                                step)
        fallback = output_in
        if layer.zero_output_for_mask:
            fallback = graph.constant(np.zeros((), layer.compute_dtype), f"{step}/zero")
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


def _cell_step(graph, layer, x_t, states, recurrent_kernel, recurrent_bias, hint):
    """One step of the cell in Keras's gate order: the new states (h first)."""
    units = int(layer.units)

    def activation(x):
        return lower_activation(graph, layer.activation_name, x, hint, layer.name)

    def gate(x):
        return lower_activation(graph, layer.recurrent_activation_name, x, hint, layer.name)

    def split(x, count):
        return graph.node("Split", [x, graph.ints([units] * count, f"{hint}/split")], hint,
                          outputs=count, axis=1)

    def matmul(x, matrix, what):
        return graph.node("MatMul", [x, graph.constant(matrix, f"{hint}/{what}")], hint)

    h = states[0]
    if isinstance(layer, recurrent.SimpleRNN):
        new_h = activation(graph.node("Add", [x_t, matmul(h, recurrent_kernel, "recurrent_kernel")],
                                      hint))
        return [new_h]
    if isinstance(layer, recurrent.LSTM):
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


def _run_layer(graph, layer, x, mask, states, hint):
    if mask is None:
        return _single(graph, layer, x, states, hint)
    return _masked_single(graph, layer, x, mask, states, hint)


@lowers(recurrent.SimpleRNN, recurrent.LSTM, recurrent.GRU)
def recurrent_layer(graph, node, args, kwargs):
    """The ONNX RNN/LSTM/GRU op; under a mask, a Scan of the cell step (see `_masked_single`)."""
    layer = node.layer
    x, states = _sequence_and_states(layer, args, kwargs)
    mask = mask_of(graph, node, kwargs)
    sequence, last, final = _run_layer(graph, layer, x, mask, states, layer.name)
    output = sequence if layer.return_sequences else last
    if not layer.return_state:
        return graph.node("Identity", [output], layer.name)
    return [graph.node("Identity", [output], layer.name), *final]


@lowers(recurrent.Bidirectional)
def bidirectional(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    forward, backward = layer.forward_layer, layer.backward_layer
    mask = mask_of(graph, node, kwargs)
    _check_cell(forward, masked=mask is not None)
    _check_cell(backward, masked=mask is not None)
    x, states = _sequence_and_states(layer, args, kwargs)
    forward_states = backward_states = None
    if states is not None:
        forward_states, backward_states = layer.split_states(states)
    if mask is None and _compatible(forward, backward):
        y, y_h, y_c = _recurrent_op(graph, [forward, backward], x,
                                    [forward_states, backward_states], hint, True)
        halves = []
        for index in range(2):
            final = [_direction(graph, y_h, 0, index, 2, hint)]
            if y_c is not None:
                final.append(_direction(graph, y_c, 0, index, 2, hint))
            # The backward direction's Y is already aligned with the input's time steps.
            output = final[0]
            if layer.return_sequences and layer.merge_mode != "concat":
                output = _sequence(graph, y, index, 2, hint)
            halves.append((output, final))
        if layer.return_sequences and layer.merge_mode == "concat":
            # (time, 2, batch, units) -> (batch, time, 2, units) -> (batch, time, 2 * units)
            both = graph.node("Transpose", [y], hint, perm=[2, 0, 1, 3])
            merged = graph.node("Reshape", [both, graph.ints([0, 0, -1], f"{hint}/concat_shape")],
                                hint)
            return [merged, *halves[0][1], *halves[1][1]] if layer.return_state else merged
    else:
        halves = []
        for cell, cell_states in ((forward, forward_states), (backward, backward_states)):
            sequence, last, final = _run_layer(graph, cell, x, mask, cell_states, hint)
            halves.append((sequence if layer.return_sequences else last, final))
        if layer.return_sequences:
            halves[1] = (_reverse_time(graph, halves[1][0], hint), halves[1][1])
    (out_f, states_f), (out_b, states_b) = halves
    mode = layer.merge_mode
    if mode == "concat":
        outputs = [graph.node("Concat", [out_f, out_b], hint, axis=-1)]
    elif mode == "sum":
        outputs = [graph.node("Add", [out_f, out_b], hint)]
    elif mode == "mul":
        outputs = [graph.node("Mul", [out_f, out_b], hint)]
    elif mode == "ave":
        outputs = [graph.node("Mul", [graph.node("Add", [out_f, out_b], hint),
                                      graph.constant(0.5, f"{hint}/half", "float32")], hint)]
    elif mode is None:
        outputs = [graph.node("Identity", [out_f], hint), graph.node("Identity", [out_b], hint)]
    else:
        _refuse(layer, f"merge_mode {mode!r}")
    if layer.return_state:
        return outputs + states_f + states_b
    return outputs[0] if len(outputs) == 1 else outputs


@lowers(recurrent.TimeDistributed)
def time_distributed(graph, node, args, kwargs):
    """Dense broadcasts over time directly; other layers run on (batch * time, ...) and the
    result is reshaped back to (batch, time, ...). A mask is dropped when the wrapped layer's
    `call` takes none (as TimeDistributed.call does); one it would take is refused."""
    layer, hint = node.layer, node.layer.name
    inner = layer.layer
    if "mask" in call_parameters(type(inner)):
        _refuse_mask(layer, kwargs)
    if type(inner) is Dense:
        return dense(graph, _InnerNode(inner), [args[0]], {})
    lowering = lowering_for(inner)
    inner_in = tuple(node.input_tensors[0].shape[2:])
    inner_out = tuple(node.outputs[0].shape[2:])
    if lowering is None:
        _refuse(layer, f"TimeDistributed around {type(inner).__name__}")
    if None in inner_in or None in inner_out:
        _refuse(layer, "TimeDistributed with unknown sizes after the time axis")
    flat = graph.node("Reshape", [args[0], graph.ints([-1, *inner_in], f"{hint}/flat_shape")], hint)
    child_input = SymbolicTensor((None, *inner_in), node.input_tensors[0].dtype)
    child = _InnerNode(inner, input_tensors=[child_input], call_args=(child_input,),
                       outputs=[SymbolicTensor((None, *inner_out), node.outputs[0].dtype)])
    try:
        result = lowering(graph, child, [flat], {})
    except AttributeError as error:  # a lowering needing more of its node than a wrapper gives
        raise UnsupportedError(f"layer '{hint}': exporting TimeDistributed around "
                               f"{type(inner).__name__} to ONNX is not supported") from error
    if not isinstance(result, str):
        _refuse(layer, f"TimeDistributed around {type(inner).__name__} with several outputs")
    leading = graph.node("Slice", [graph.node("Shape", [args[0]], hint), graph.ints([0], f"{hint}/zero"),
                                   graph.ints([2], f"{hint}/two")], hint)
    shape = graph.node("Concat", [leading, graph.ints(list(inner_out), f"{hint}/inner_shape")], hint,
                       axis=0)
    return graph.node("Reshape", [result, shape], hint)


@lowers(onnx_recurrent.OnnxRecurrent)
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

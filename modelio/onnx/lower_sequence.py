"""ONNX lowerings of the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed)
and of the attention layers (MultiHeadAttention, Attention, AdditiveAttention).

Recurrent layers become ONNX's RNN/LSTM/GRU ops. Keras's `go_backwards` returns its output
sequence in processing order (last input step first), so the input is reversed (a Slice with
step -1) and the op runs forward. Bidirectional layers whose two halves share a type and a
configuration become one `direction="bidirectional"` op, whose backward half is aligned with the
input's time steps, as Keras's Bidirectional returns it; other pairs run as two ops. The ops run
time-major (onnxruntime refuses `layout=1`): one Transpose in, one per returned sequence.
A layer that receives a mask becomes an ONNX Scan over time instead, whose body runs one cell
step and, at masked steps, keeps the previous states and output (Keras 3's rule, holes
mid-sequence included); a masked Bidirectional runs its two halves as two Scans.

Attention is decomposed into MatMul/Reshape/Transpose/Softmax, with masks applied as Keras does
(Where with Keras's large negative value, or Keras 2's additive penalty), the masks carried by
the inputs (`query_mask`/`value_mask`/`key_mask`, `mask=[query_mask, value_mask]`) included.
"""

import inspect
import math

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ..errors import UnsupportedError
from ..graph.layer import call_parameters
from ..graph.tensor import SymbolicTensor
from ..layers import attention, recurrent
from ..layers.core import Dense
from .activations import lower_activation
from .lower_core import dense
from .lower_operations import onnx_type
from .masks import has_mask, mask_of
from .registry import lowering_for, lowers

# ONNX gate order from Keras's: LSTM i, f, c, o -> i, o, f, c; GRU z, r, h in both.
_GATES = {recurrent.LSTM: [0, 3, 1, 2], recurrent.GRU: [0, 1, 2], recurrent.SimpleRNN: [0]}
_OPS = {recurrent.LSTM: "LSTM", recurrent.GRU: "GRU", recurrent.SimpleRNN: "RNN"}
# Keras activation name -> (ONNX activation, alpha, beta)
_RNN_ACTIVATIONS = {"sigmoid": ("Sigmoid", None, None), "tanh": ("Tanh", None, None),
                    "relu": ("Relu", None, None), "linear": ("Affine", 1.0, 0.0),
                    "hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5),
                    "modelio>hard_sigmoid_keras2": ("HardSigmoid", 0.2, 0.5)}
_INT64_MIN = -(2 ** 63)


def _refuse(layer, what):
    raise UnsupportedError(f"layer '{layer.name}': exporting {what} to ONNX is not supported")


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


class _InnerNode:
    """A wrapped layer seen as a node (its layer, inputs and outputs), for reusing its lowering."""

    def __init__(self, layer, input_tensors=(), call_args=(), outputs=()):
        self.layer = layer
        self.input_tensors = list(input_tensors)
        self.call_args = tuple(call_args)
        self.call_kwargs = {}
        self.outputs = list(outputs)


# ----- attention ---------------------------------------------------------------------------------

def _projection(graph, layer, x, kernel, bias, scale=None):
    """x (batch, time, d) @ kernel (d, H, c) + bias (H, c) -> (batch, time, H * c)."""
    weight = layer.value_of(kernel)
    matrix = weight.reshape(weight.shape[0], -1)
    offset = None if bias is None else layer.value_of(bias).reshape(-1)
    if scale is not None:  # folded into the weights: (x W + b) s = x (W s) + b s
        matrix = matrix * np.asarray(scale, matrix.dtype)
        offset = None if offset is None else offset * np.asarray(scale, offset.dtype)
    y = graph.node("MatMul", [x, graph.weight(kernel, matrix)], layer.name)
    if offset is not None:
        y = graph.node("Add", [y, graph.weight(bias, offset)], layer.name)
    return y


def _heads(graph, layer, x, channels, perm):
    """(batch, time, H * c) -> (batch, H, time, c) (perm [0, 2, 1, 3]) or (batch, H, c, time)."""
    split = graph.node("Reshape", [x, graph.ints([0, 0, layer.num_heads, channels],
                                                 f"{layer.name}/heads_shape")], layer.name)
    return graph.node("Transpose", [split], layer.name, perm=perm)


def _causal(graph, query, key, hint, window=None):
    """(query time, key time) booleans: query step i sees key steps j <= i, or with `window`
    the steps with |i - j| < window."""
    def positions(x):
        length = graph.node("Gather", [graph.node("Shape", [x], hint),
                                       graph.constant(np.int64(1), f"{hint}/time_axis")], hint, axis=0)
        return graph.node("Range", [graph.constant(np.int64(0), f"{hint}/zero"), length,
                                    graph.constant(np.int64(1), f"{hint}/one")], hint)

    rows = graph.node("Unsqueeze", [positions(query), graph.ints([1], f"{hint}/axis")], hint)
    if window is not None:
        distance = graph.node("Abs", [graph.node("Sub", [rows, positions(key)], hint)], hint)
        return graph.node("Less", [distance, graph.constant(np.int64(window), f"{hint}/window")], hint)
    return graph.node("LessOrEqual", [positions(key), rows], hint)


def _attention_output(graph, layer, query, attended, position_dims):
    """Gate, then the output projection of (batch, positions..., H * v) attended values."""
    hint = layer.name
    if layer.use_gate:
        gate = _projection(graph, layer, query, layer.gate_kernel, layer.gate_bias)
        attended = graph.node("Mul", [attended, graph.node("Sigmoid", [gate], hint)], hint)
    output_weight = layer.value_of(layer.output_kernel)
    output_dims = output_weight.shape[2:]
    matrix = output_weight.reshape(-1, math.prod(output_dims))
    y = graph.node("MatMul", [attended, graph.weight(layer.output_kernel, matrix)], hint)
    if layer.output_bias is not None:
        y = graph.node("Add", [y, graph.weight(layer.output_bias,
                                                layer.value_of(layer.output_bias).reshape(-1))], hint)
    if len(output_dims) > 1:
        y = graph.node("Reshape", [y, graph.ints([0, *position_dims, *output_dims],
                                                 f"{hint}/output_shape")], hint)
    return y


def _attention_over_axes(graph, layer, query, key, value, arguments, symbolic, return_scores):
    """MultiHeadAttention over any `attention_axes` (inputs of known non-batch sizes, no masks):
    the projected tensors are put in (batch axes, attention axes, channels) order and flattened
    to one batch of (positions, channels) matrices, as Keras's einsum equations do."""
    hint = layer.name
    if (arguments.get("attention_mask") is not None or arguments.get("use_causal_mask")
            or layer.sliding_window is not None):
        _refuse(layer, f"masks (attention_mask, use_causal_mask, sliding_window) with attention_axes {list(layer.attention_axes)}")
    shapes = {name: symbolic[name].shape for name in ("query", "value")}
    shapes["key"] = symbolic["key"].shape if symbolic.get("key") is not None else shapes["value"]
    if any(dim is None for shape in shapes.values() for dim in shape[1:]):
        _refuse(layer, f"attention_axes {list(layer.attention_axes)} on inputs of unknown sizes")
    heads = layer.num_heads
    rank = len(shapes["query"]) + 1
    batch, axes, order = layer.layout(rank)

    def arranged(x, shape, channels, kernel, bias, scale=None, channels_first=False):
        projected = _projection(graph, layer, x, kernel, bias, scale)
        dims = (*shape[:-1], heads, channels)
        split = graph.node("Reshape", [projected, graph.ints([0, *dims[1:]], f"{hint}/heads_shape")],
                           hint)
        perm = (*batch, rank - 1, *axes) if channels_first else order
        moved = graph.node("Transpose", [split], hint, perm=list(perm))
        rest = [dims[axis] for axis in batch[1:]]
        positions = math.prod(dims[axis] for axis in axes)
        flat = [channels, positions] if channels_first else [positions, channels]
        return graph.node("Reshape", [moved, graph.ints([0, *rest, *flat], f"{hint}/flat_shape")],
                          hint), rest, [dims[axis] for axis in axes]

    q, rest, query_positions = arranged(query, shapes["query"], layer.key_dim, layer.query_kernel,
                                        layer.query_bias, 1.0 / math.sqrt(float(layer.key_dim)))
    k, _, key_positions = arranged(key, shapes["key"], layer.key_dim, layer.key_kernel,
                                   layer.key_bias, channels_first=True)
    v, _, _ = arranged(value, shapes["value"], layer.value_dim, layer.value_kernel, layer.value_bias)
    weights = graph.node("Softmax", [graph.node("MatMul", [q, k], hint)], hint, axis=-1)
    attended = graph.node("Reshape", [graph.node("MatMul", [weights, v], hint), graph.ints(
        [0, *rest, *query_positions, layer.value_dim], f"{hint}/positions_shape")], hint)
    attended = graph.node("Transpose", [attended], hint, perm=[int(i) for i in np.argsort(order)])
    query_dims = list(shapes["query"][1:-1])
    attended = graph.node("Reshape", [attended, graph.ints(
        [0, *query_dims, heads * layer.value_dim], f"{hint}/merge_shape")], hint)
    y = _attention_output(graph, layer, query, attended, query_dims)
    if return_scores:  # (batch axes incl. heads, query attention axes, key attention axes)
        return [y, graph.node("Reshape", [weights, graph.ints(
            [0, *rest, *query_positions, *key_positions], f"{hint}/scores_shape")], hint)]
    return y


_INPUT_MASKS = ("query_mask", "value_mask", "key_mask")


@lowers(attention.MultiHeadAttention)
def multi_head_attention(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    arguments = inspect.signature(layer.call).bind(*args, **kwargs).arguments
    return_scores = bool(arguments.get("return_attention_scores"))
    query, value = arguments["query"], arguments["value"]
    key = arguments.get("key") or value
    symbolic = inspect.signature(layer.call).bind(*node.call_args, **node.call_kwargs).arguments
    input_masks = [name for name in _INPUT_MASKS if arguments.get(name) is not None]
    if len(symbolic["query"].shape) != 3 or tuple(layer.attention_axes) != (1,):
        if input_masks:
            _refuse(layer, f"{', '.join(input_masks)} (masks carried by the inputs) with "
                           f"attention_axes {list(layer.attention_axes)} or inputs of rank "
                           f"{len(symbolic['query'].shape)}")
        return _attention_over_axes(graph, layer, query, key, value, arguments, symbolic,
                                    return_scores)
    q = _projection(graph, layer, query, layer.query_kernel, layer.query_bias,
                    1.0 / math.sqrt(float(layer.key_dim)))
    k = _projection(graph, layer, key, layer.key_kernel, layer.key_bias)
    v = _projection(graph, layer, value, layer.value_kernel, layer.value_bias)
    q = _heads(graph, layer, q, layer.key_dim, [0, 2, 1, 3])      # (B, H, T, k)
    k = _heads(graph, layer, k, layer.key_dim, [0, 2, 3, 1])      # (B, H, k, S)
    v = _heads(graph, layer, v, layer.value_dim, [0, 2, 1, 3])    # (B, H, S, v)
    scores = graph.node("MatMul", [q, k], hint)                   # (B, H, T, S)
    mask = None
    if arguments.get("attention_mask") is not None:
        rank = len(symbolic["attention_mask"].shape)
        if rank not in (2, 3):
            _refuse(layer, f"an attention_mask of rank {rank}")
        axes = graph.ints([1] if rank == 3 else [0, 1], f"{hint}/mask_axes")
        mask = graph.node("Unsqueeze", [graph.node("Cast", [arguments["attention_mask"]], hint, to=9),
                                        axes], hint)              # (B or 1, 1, T, S)
    # Keras's masks of the inputs: query steps (B, 1, T, 1), value and key steps (B, 1, 1, S).
    for name in input_masks:
        axes = [1, 3] if name == "query_mask" else [1, 2]
        carried = graph.node("Unsqueeze", [graph.node("Cast", [arguments[name]], hint, to=9),
                                           graph.ints(axes, f"{hint}/{name}_axes")], hint)
        mask = carried if mask is None else graph.node("And", [mask, carried], hint)
    if arguments.get("use_causal_mask"):
        causal = _causal(graph, query, value, hint)
        mask = causal if mask is None else graph.node("And", [mask, causal], hint)
    if layer.sliding_window is not None:
        window = _causal(graph, query, value, hint, int(layer.sliding_window))
        mask = window if mask is None else graph.node("And", [mask, window], hint)
    dtype = np.dtype(layer.compute_dtype)
    softmax_layer = False
    if mask is not None:
        # The large negative value and masking style of each Keras (see layers/attention.py).
        if layer.keras2_semantics and not layer.softmax_robust_masking:
            penalty = graph.node("Sub", [graph.constant(1.0, f"{hint}/one", dtype),
                                         graph.node("Cast", [mask], hint, to=onnx_type(dtype))],
                                 hint)
            scores = graph.node("Add", [scores, graph.node(
                "Mul", [penalty, graph.constant(-1e9, f"{hint}/large_negative", dtype)], hint)], hint)
        else:
            softmax_layer = not layer.keras2_semantics and (layer.dropout != 0.0 or return_scores)
            negative = -1e9 if layer.keras2_semantics or softmax_layer else -0.7 * 3.38953e38
            scores = graph.node("Where", [mask, scores,
                                          graph.constant(negative, f"{hint}/large_negative", dtype)],
                                hint)
    weights = graph.node("Softmax", [scores], hint, axis=-1)
    if softmax_layer:  # Keras 3's Softmax layer zeroes the masked weights afterwards
        weights = graph.node("Where", [mask, weights, graph.constant(0.0, f"{hint}/zero", dtype)],
                             hint)
    attended = graph.node("Transpose", [graph.node("MatMul", [weights, v], hint)], hint,
                          perm=[0, 2, 1, 3])                       # (B, T, H, v)
    attended = graph.node("Reshape", [attended, graph.ints([0, 0, layer.num_heads * layer.value_dim],
                                                           f"{hint}/merge_shape")], hint)
    y = _attention_output(graph, layer, query, attended, [0])
    if return_scores:  # (batch, heads, query time, key time), as Keras returns them
        return [y, graph.node("Identity", [weights], hint)]
    return y


@lowers(attention.Attention, attention.AdditiveAttention)
def dot_or_additive_attention(graph, node, args, kwargs):
    """softmax(scores(query, key)) @ value; scores by `score_mode` (dot, concat) or additive."""
    layer, hint = node.layer, node.layer.name
    query_mask = value_mask = None
    if kwargs.get("mask") is not None:
        masks = list(kwargs["mask"]) + [None, None]
        query_mask, value_mask = (None if item is None else graph.node("Cast", [item], hint, to=9)
                                  for item in masks[:2])
    inputs = list(args[0] if args else kwargs["inputs"])
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) > 2 else value
    rank = len(node.input_tensors[0].shape)
    causal = bool(kwargs.get("use_causal_mask")) or layer.causal
    if causal and rank != 3:
        _refuse(layer, f"a causal mask on inputs of rank {rank}")
    dtype = np.dtype(layer.compute_dtype)
    if isinstance(layer, attention.AdditiveAttention) or layer.score_mode == "concat":
        pairs = graph.node("Add", [
            graph.node("Unsqueeze", [query, graph.ints([-2], f"{hint}/query_axis")], hint),
            graph.node("Unsqueeze", [key, graph.ints([-3], f"{hint}/key_axis")], hint)], hint)
        additive = isinstance(layer, attention.AdditiveAttention)
        if layer.scale is not None and not additive:
            pairs = graph.node("Mul", [pairs, graph.weight(layer.scale)], hint)
        pairs = graph.node("Tanh", [pairs], hint)
        if layer.scale is not None and additive:
            pairs = graph.node("Mul", [pairs, graph.weight(layer.scale)], hint)
        scores = graph.node("ReduceSum", [pairs, graph.ints([-1], f"{hint}/feature_axis")], hint,
                            keepdims=0)
        if not additive:
            scores = graph.node("Mul", [scores, graph.weight(layer.concat_score_weight)], hint)
    else:
        perm = [*range(rank - 2), rank - 1, rank - 2]
        scores = graph.node("MatMul", [query, graph.node("Transpose", [key], hint, perm=perm)], hint)
        if layer.scale is not None:
            scores = graph.node("Mul", [scores, graph.weight(layer.scale)], hint)
    scores_mask = None
    if value_mask is not None:  # (..., 1, value steps)
        scores_mask = graph.node("Unsqueeze", [value_mask, graph.ints([-2], f"{hint}/value_axis")],
                                 hint)
    if causal:
        causal_mask = _causal(graph, query, key, hint)
        scores_mask = causal_mask if scores_mask is None else graph.node(
            "And", [scores_mask, causal_mask], hint)
    if scores_mask is not None:
        max_value = 65504.0 if dtype == np.float16 else 1e9
        lowered = graph.node("Sub", [scores, graph.constant(max_value, f"{hint}/max_value", dtype)],
                             hint)
        scores = graph.node("Where", [scores_mask, scores, lowered], hint)
    weights = graph.node("Softmax", [scores], hint, axis=-1)
    output = graph.node("MatMul", [weights, value], hint)
    if query_mask is not None:  # masked query steps output zeros
        keep = graph.node("Unsqueeze", [query_mask, graph.ints([-1], f"{hint}/query_axis")], hint)
        output = graph.node("Where", [keep, output, graph.constant(0.0, f"{hint}/zero", dtype)],
                            hint)
    if kwargs.get("return_attention_scores"):
        return [output, graph.node("Identity", [weights], hint)]
    return output

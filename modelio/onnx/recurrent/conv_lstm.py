"""ONNX lowering of ConvLSTM1D/2D/3D (modelio/layers/recurrent/conv_lstm.py).

The input convolution of every time step is one ONNX Conv over the (time * batch) frames
(channels-first, Keras's kernel transposed to ONNX's (out, in, *window), bias included); the
recurrence is a Scan over time whose body runs one Conv of h with the recurrent kernel (stride 1,
"same" padding) and the LSTM gates (i, f, c, o). Channels-last layers transpose in and out
around the Scan. Masks are refused (a ConvLSTM takes none from any Keras layer).
"""

import numpy as np
from onnx import helper, numpy_helper

from ...kernels.convolution import padding_amounts
from ...layers import recurrent
from ..activation_functions import lower_activation
from ..export_support import refuse_export
from ..registry import lowers
from .rnn import refuse_mask, reverse_time, sequence_and_states


def _onnx_kernel(kernel: np.ndarray) -> np.ndarray:
    """Keras (*window, in, out) -> ONNX (out, in, *window)."""
    rank = kernel.ndim - 2
    return np.ascontiguousarray(np.transpose(kernel, (rank + 1, rank, *range(rank))))


def _pads(pairs) -> list:
    return [before for before, _ in pairs] + [after for _, after in pairs]


def _step_body(graph, layer, recurrent_kernel, pads, out_spatial, hint):
    """The Scan body: (h, c, x_t) -> (h, c, h for the sequence), all channels-first (shapes
    given: onnxruntime's Scan before opset 16 wants every body output's shape)."""
    cell = layer.cell
    element = helper.np_dtype_to_tensor_dtype(np.dtype(layer.compute_dtype))
    filters = int(cell.filters)
    outer_nodes, graph.nodes = graph.nodes, []
    try:
        step = f"{hint}/step"
        h, c, x_t = (graph.fresh(f"{step}/{what}") for what in ("h_in", "c_in", "x_t"))
        z = graph.node("Conv", [h, graph.constant(recurrent_kernel, f"{hint}/recurrent_kernel")],
                       step, pads=pads)
        z = graph.node("Add", [z, x_t], step)
        i, f, g, o = graph.node("Split", [z, graph.ints([filters] * 4, f"{step}/split")], step,
                                outputs=4, axis=1)

        def gate(x):
            return lower_activation(graph, cell.recurrent_activation_name, x, step, layer.name)

        def activation(x):
            return lower_activation(graph, cell.activation_name, x, step, layer.name)

        c_new = graph.node("Add", [graph.node("Mul", [gate(f), c], step),
                                   graph.node("Mul", [gate(i), activation(g)], step)], step)
        h_new = graph.node("Mul", [gate(o), activation(c_new)], step)
        c_out = graph.node("Identity", [c_new], step)
        sequence_out = graph.node("Identity", [h_new], step)
        body_nodes = graph.nodes
    finally:
        graph.nodes = outer_nodes

    def info(name, width=filters):
        return helper.make_tensor_value_info(name, element, ["batch", width, *out_spatial])

    return helper.make_graph(body_nodes, f"{hint}_step",
                             [info(h), info(c), info(x_t, 4 * filters)],
                             [info(h_new), info(c_out), info(sequence_out)])


@lowers(recurrent.ConvLSTM1D, recurrent.ConvLSTM2D, recurrent.ConvLSTM3D)
def conv_lstm(graph, node, args, kwargs):
    """Conv over all frames, then a Scan of the recurrent step (see the module doc)."""
    layer, hint = node.layer, node.layer.name
    cell = layer.cell
    refuse_mask(layer, kwargs)
    if layer.stateful:
        refuse_export(layer, "stateful recurrent layers")
    if np.dtype(layer.compute_dtype) != np.float32:
        refuse_export(layer, f"{layer.compute_dtype} ConvLSTM layers")
    x, states = sequence_and_states(layer, args, kwargs)
    input_shape = node.input_tensors[0].shape
    rank = cell.rank
    step_shape = (None, *input_shape[2:])
    _, spatial, channels = cell.split_step_shape(step_shape)
    out_spatial = cell.output_spatial(spatial)
    filters = int(cell.filters)
    if layer.go_backwards:
        x = reverse_time(graph, x, hint)
    # (batch, time, ...) -> (time, batch, channels, *spatial) -> (time * batch, channels, ...)
    spatial_axes = list(range(2, 2 + rank))
    to_first = [1, 0, *([2 + rank] if not cell.channels_first else [2])]
    to_first += [axis + 1 for axis in spatial_axes] if cell.channels_first else spatial_axes
    frames = graph.node("Transpose", [x], hint, perm=to_first)
    frames = graph.node("Reshape", [frames, graph.ints([-1, channels, *spatial], f"{hint}/frames")],
                        hint)
    kernel, recurrent_kernel, bias = cell.cell_weights()
    conv_inputs = [frames, graph.constant(_onnx_kernel(kernel), f"{hint}/kernel")]
    if bias is not None:
        conv_inputs.append(graph.constant(bias, f"{hint}/bias"))
    projected = graph.node("Conv", conv_inputs, hint, strides=list(cell.strides),
                           dilations=list(cell.dilation_rate),
                           pads=_pads(cell.input_pads(spatial)))
    shape = graph.node("Shape", [x], hint)
    time_batch = graph.node("Slice", [shape, graph.ints([0], f"{hint}/zero"),
                                      graph.ints([2], f"{hint}/two")], hint)
    time_batch = graph.node("Gather", [time_batch, graph.ints([1, 0], f"{hint}/swap")], hint)
    projected = graph.node("Reshape", [projected, graph.node(
        "Concat", [time_batch, graph.ints([4 * filters, *out_spatial], f"{hint}/gates")], hint,
        axis=0)], hint)
    batch = graph.node("Slice", [shape, graph.ints([0], f"{hint}/zero"),
                                 graph.ints([1], f"{hint}/one")], hint)
    state_shape = graph.node("Concat", [batch, graph.ints([filters, *out_spatial],
                                                          f"{hint}/state")], hint, axis=0)
    last_to_first = [0, rank + 1, *range(1, rank + 1)]
    first_to_last = [0, *range(2, rank + 2), 1]
    if states is None:
        zeros = graph.node("ConstantOfShape", [state_shape], hint,
                           value=numpy_helper.from_array(np.zeros((1,), np.float32), "value"))
        initial = [zeros, zeros]
    elif cell.channels_first:
        initial = list(states)
    else:
        initial = [graph.node("Transpose", [state], hint, perm=last_to_first) for state in states]
    recurrent_pads = _pads([padding_amounts(size, k, 1, 1, "same")
                            for size, k in zip(out_spatial, cell.kernel_size)])
    body = _step_body(graph, layer, _onnx_kernel(recurrent_kernel), recurrent_pads,
                      [int(size) for size in out_spatial], hint)
    h, c, sequence = graph.node("Scan", [*initial, projected], hint, outputs=3,
                                num_scan_inputs=1, body=body)
    if not cell.channels_first:
        h = graph.node("Transpose", [h], hint, perm=first_to_last)
        c = graph.node("Transpose", [c], hint, perm=first_to_last)
    # sequence: (time, batch, filters, *out) -> (batch, time, ...) in the layer's layout
    if cell.channels_first:
        sequence_perm = [1, 0, *range(2, rank + 3)]
    else:
        sequence_perm = [1, 0, *range(3, rank + 3), 2]
    output = (graph.node("Transpose", [sequence], hint, perm=sequence_perm)
              if layer.return_sequences else graph.node("Identity", [h], hint))
    if layer.return_state:
        return [output, graph.node("Identity", [h], hint), graph.node("Identity", [c], hint)]
    return output

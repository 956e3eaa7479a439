"""ONNX lowerings of the recurrent wrappers (modelio/layers/recurrent/wrappers.py):
Bidirectional as one bidirectional ONNX op where the two directions allow it (each direction
apart otherwise), TimeDistributed by running the wrapped layer's lowering on (batch * time, ...)."""

from ...errors import UnsupportedError
from ...graph.layer import call_parameters
from ...graph.tensor import SymbolicTensor
from ...layers import recurrent
from ...layers.core import Dense
from ..core import dense
from ..export_support import InnerNode, mask_of, refuse_export
from ..registry import lowering_for, lowers
from .rnn import (
    check_cell,
    compatible_directions,
    one_direction,
    recurrent_op,
    refuse_mask,
    reverse_time,
    run_layer,
    sequence_and_states,
    sequence_output,
)


@lowers(recurrent.Bidirectional)
def bidirectional(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    forward, backward = layer.forward_layer, layer.backward_layer
    mask = mask_of(graph, node, kwargs)
    check_cell(forward, masked=mask is not None)
    check_cell(backward, masked=mask is not None)
    x, states = sequence_and_states(layer, args, kwargs)
    forward_states = backward_states = None
    if states is not None:
        forward_states, backward_states = layer.split_states(states)
    if mask is None and compatible_directions(forward, backward):
        y, y_h, y_c = recurrent_op(graph, [forward.cell, backward.cell], layer, x,
                                    [forward_states, backward_states], hint, True)
        halves = []
        for index in range(2):
            final = [one_direction(graph, y_h, 0, index, 2, hint)]
            if y_c is not None:
                final.append(one_direction(graph, y_c, 0, index, 2, hint))
            # The backward direction's Y is already aligned with the input's time steps.
            output = final[0]
            if layer.return_sequences and layer.merge_mode != "concat":
                output = sequence_output(graph, y, index, 2, hint)
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
            sequence, last, final = run_layer(graph, cell, x, mask, cell_states, hint)
            halves.append((sequence if layer.return_sequences else last, final))
        if layer.return_sequences:
            halves[1] = (reverse_time(graph, halves[1][0], hint), halves[1][1])
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
        refuse_export(layer, f"merge_mode {mode!r}")
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
        refuse_mask(layer, kwargs)
    if type(inner) is Dense:
        return dense(graph, InnerNode(inner), [args[0]], {})
    lowering = lowering_for(inner)
    inner_in = tuple(node.input_tensors[0].shape[2:])
    inner_out = tuple(node.outputs[0].shape[2:])
    if lowering is None:
        refuse_export(layer, f"TimeDistributed around {type(inner).__name__}")
    if None in inner_in or None in inner_out:
        refuse_export(layer, "TimeDistributed with unknown sizes after the time axis")
    flat = graph.node("Reshape", [args[0], graph.ints([-1, *inner_in], f"{hint}/flat_shape")], hint)
    child_input = SymbolicTensor((None, *inner_in), node.input_tensors[0].dtype)
    child = InnerNode(inner, input_tensors=[child_input], call_args=(child_input,),
                       outputs=[SymbolicTensor((None, *inner_out), node.outputs[0].dtype)])
    try:
        result = lowering(graph, child, [flat], {})
    except AttributeError as error:  # a lowering needing more of its node than a wrapper gives
        raise UnsupportedError(f"layer '{hint}': exporting TimeDistributed around "
                               f"{type(inner).__name__} to ONNX is not supported") from error
    if not isinstance(result, str):
        refuse_export(layer, f"TimeDistributed around {type(inner).__name__} with several outputs")
    leading = graph.node("Slice", [graph.node("Shape", [args[0]], hint), graph.ints([0], f"{hint}/zero"),
                                   graph.ints([2], f"{hint}/two")], hint)
    shape = graph.node("Concat", [leading, graph.ints(list(inner_out), f"{hint}/inner_shape")], hint,
                       axis=0)
    return graph.node("Reshape", [result, shape], hint)

"""Both ONNX directions for keras.ops.numpy's indexing (modelio/ops/numpy/indexing.py):
OnnxGather and OnnxSlice as ONNX nodes; ONNX's Gather and Slice imported."""


import numpy as np
from onnx import NodeProto

from ... import layers as keras_layers
from ... import ops
from ...errors import FormatError, UnsupportedError
from ..export_support import lowers_as, need_opset, onnx_layer_operands
from ..import_context import ImportContext
from ..import_support.constants import fold, is_tensor
from ..import_support.layer_calls import call_layer, onnx_layer
from ..import_support.node_inputs import inputs_of
from ..registry import converts, lowers

lowers_as(ops.OnnxGather, "Gather", axis="axis")


@lowers(ops.OnnxSlice)
def onnx_slice(graph, node, args, kwargs):
    layer = node.layer
    need_opset(graph, layer, 10, "Slice with steps")
    operands = onnx_layer_operands(graph, node, args)
    if layer.starts is None:
        return graph.node("Slice", operands[:5], layer.name)
    parameters = [graph.ints(layer.starts, f"{layer.name}/starts"),
                  graph.ints(layer.ends, f"{layer.name}/ends"),
                  graph.ints(layer.axes if layer.axes is not None else
                             list(range(len(layer.starts))), f"{layer.name}/axes")]
    if layer.steps is not None:
        parameters.append(graph.ints(layer.steps, f"{layer.name}/steps"))
    return graph.node("Slice", [operands[0], *parameters], layer.name)


@converts("Gather")
def convert_gather(context: ImportContext, node: NodeProto) -> list:
    data, indices = inputs_of(context, node, 2, 2)
    axis = int(context.attribute(node, "axis", 0))
    if not is_tensor(data) and not is_tensor(indices):
        layer = ops.OnnxGather(axis=axis)
        data_shape = np.shape(data)
        position = axis % len(data_shape) if data_shape else 0
        shape = (*data_shape[:position], *np.shape(indices), *data_shape[position + 1:])
        return [fold(context, node, lambda *arrays: layer.compute(list(arrays)), data, indices,
                     shape=shape, dtype=np.asarray(data).dtype)]
    if not is_tensor(data) and np.ndim(data) == 2 and axis in (0, -2) \
            and np.asarray(data).dtype == np.float32 and data.shape[0] > 0 and data.shape[1] > 0:
        table = np.asarray(data)
        layer = keras_layers.Embedding(table.shape[0], table.shape[1],
                                       name=context.layer_name(node))
        return [call_layer(layer, indices, [table])]
    return [onnx_layer(context, node, ops.OnnxGather, [data, indices], axis=axis)]


@converts("Slice")
def convert_slice(context: ImportContext, node: NodeProto) -> list:
    if context.opset < 10:
        (x,) = inputs_of(context, node, 1, 1)
        starts, ends = context.attribute(node, "starts"), context.attribute(node, "ends")
        axes, steps = context.attribute(node, "axes"), None
        if starts is None or ends is None:
            raise FormatError(f"{context.where(node)}: starts and ends are required")
    else:
        values = inputs_of(context, node, 3, 5)
        x = values[0]
        if any(is_tensor(value) for value in values[1:]):
            return [_runtime_slice(context, node, values)]
        starts, ends, axes, steps = (
            None if index >= len(values) or values[index] is None
            else context.constant(node, index) for index in (1, 2, 3, 4))
    starts, ends, axes, steps = ([int(item) for item in np.asarray(value).reshape(-1)]
                                 if value is not None else None
                                 for value in (starts, ends, axes, steps))
    layer = ops.OnnxSlice(starts=starts, ends=ends, axes=axes, steps=steps,
                               name=context.layer_name(node))
    if not is_tensor(x):
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    return [layer(x)]


def _runtime_slice(context, node, values):
    """Slice whose starts/ends/axes/steps are (partly) run-time tensors: all become operands."""
    x, starts = values[0], values[1]
    if not is_tensor(x):
        raise UnsupportedError(f"{context.where(node)}: run-time slicing of a constant")
    count = starts.shape[0] if is_tensor(starts) else np.size(starts)
    if count is None:
        raise UnsupportedError(f"{context.where(node)}: starts of unknown length")
    operands = list(values[1:5]) + [None] * (5 - len(values))
    if operands[2] is None:
        operands[2] = np.arange(count, dtype=np.int64)
    if operands[3] is None:
        operands[3] = np.ones(count, dtype=np.int64)
    return onnx_layer(context, node, ops.OnnxSlice, [x, *operands])


# ----- Keras 3 operations: GetItem, Take, TakeAlongAxis, Slice ---------------------------------

@lowers(ops.GetItem)
def get_item(graph, node, args, kwargs):
    """One Slice over the sliced and indexed axes, a Squeeze of the indexed ones, an Unsqueeze
    of the new ones."""
    from ..op_support import refuse
    layer, hint = node.layer, node.layer.name
    shape = tuple(node.call_args[0].shape)
    items = ops.index_items(layer, args[1], len(shape))
    starts, ends, axes, steps, taken, new = [], [], [], [], [], []
    big = np.iinfo(np.int64).max
    position = 0
    for item in items:
        if item[0] == "new":
            new.append(position)
            position += 1
            continue
        axis = item[1]
        if item[0] == "take":
            index = item[2]
            starts.append(index)
            ends.append(index + 1 if index != -1 else big)
            steps.append(1)
            axes.append(axis)
            taken.append(axis)
            continue
        part = item[2]
        position += 1
        if part == slice(None):
            continue
        step = 1 if part.step is None else part.step
        start = part.start if part.start is not None else (0 if step > 0 else big)
        stop = part.stop if part.stop is not None else (big if step > 0 else -big)
        starts.append(start)
        ends.append(stop)
        steps.append(step)
        axes.append(axis)
    x = args[0]
    if any(step != 1 for step in steps) and graph.opset < 10:
        refuse(node, "strided slicing below opset 10")
    if axes:
        x = graph.node("Slice", [x, graph.ints(starts, f"{hint}/starts"),
                                 graph.ints(ends, f"{hint}/ends"),
                                 graph.ints(axes, f"{hint}/axes"),
                                 graph.ints(steps, f"{hint}/steps")], hint)
    if taken:
        x = graph.node("Squeeze", [x, graph.ints(taken, f"{hint}/taken")], hint)
    if new:
        x = graph.node("Unsqueeze", [x, graph.ints(new, f"{hint}/new")], hint)
    if not axes and not taken and not new:
        x = graph.node("Identity", [x], hint)
    return x


def _indices(graph, node, index, value):
    from ..op_support import operand
    return operand(graph, node, index, value, np.int64)


@lowers(ops.Take)
def take(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x, axis = args[0], layer.arguments["axis"]
    if axis is None:
        x, axis = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint), 0
    return graph.node("Gather", [x, _indices(graph, node, 1, args[1])], hint,
                      axis=axis % len(node.call_args[0].shape) if layer.arguments["axis"]
                      is not None else 0)


@lowers(ops.TakeAlongAxis)
def take_along_axis(graph, node, args, kwargs):
    from ..op_support import refuse
    layer, hint = node.layer, node.layer.name
    x, axis = args[0], layer.arguments["axis"]
    indices = _indices(graph, node, 1, args[1])
    x_shape = tuple(node.call_args[0].shape)
    index_symbolic = node.call_args[1]
    index_shape = tuple(getattr(index_symbolic, "shape", np.shape(index_symbolic)))
    if axis is None:
        x, axis = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint), 0
    elif len(x_shape) != len(index_shape) or any(
            a != b for position, (a, b) in enumerate(zip(x_shape, index_shape))
            if position != axis % len(x_shape)):
        refuse(node, f"indices of shape {index_shape} that broadcast against {x_shape}")
    else:
        axis %= len(x_shape)
    return graph.node("GatherElements", [x, indices], hint, axis=axis)


@lowers(ops.Slice)
def keras_slice(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    rank = len(node.call_args[0].shape)
    sizes = layer.arguments["shape"]
    starts = _indices(graph, node, 1, args[1])
    if len(sizes) != rank:
        from ..op_support import refuse
        refuse(node, f"shape {sizes} for a rank-{rank} tensor")
    big = np.iinfo(np.int64).max
    ends = graph.node("Add", [starts, graph.ints([big if size == -1 else size for size in sizes],
                                                 f"{hint}/sizes")], hint)
    if -1 in sizes:
        ends = graph.node("Where", [graph.node("Equal", [graph.ints(sizes, f"{hint}/raw"),
                                                         graph.ints([-1] * rank, f"{hint}/m1")],
                                               hint), graph.ints([big] * rank, f"{hint}/end"),
                                    ends], hint)
    return graph.node("Slice", [args[0], starts, ends, graph.ints(list(range(rank)),
                                                                  f"{hint}/axes")], hint)

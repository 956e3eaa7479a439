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

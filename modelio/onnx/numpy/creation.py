"""Both ONNX directions for keras.ops.numpy's array creation (modelio/ops/numpy/creation.py):
ZerosLike/OnesLike, OnnxRange and OnnxConstantOfShape; ONNX's Range and ConstantOfShape imported
(folded to constants when their inputs are known)."""


import numpy as np
from onnx import NodeProto, numpy_helper

from ... import ops
from ...errors import FormatError
from ...kernels.ranges import range_length, range_values
from ..export_support import lowers_as
from ..import_context import ImportContext
from ..import_support.constants import check_fold_shape, is_tensor
from ..import_support.layer_calls import onnx_layer
from ..import_support.node_inputs import inputs_of
from ..registry import converts, lowers


@lowers(ops.ZerosLike, ops.OnesLike)
def filled_like(graph, node, args, kwargs):
    layer = node.layer
    dtype = np.dtype(node.outputs[0].dtype)
    fill = numpy_helper.from_array(np.full((1,), type(layer).fill, dtype=dtype), "value")
    shape = graph.node("Shape", [args[0]], layer.name)
    return graph.node("ConstantOfShape", [shape], layer.name, value=fill)


lowers_as(ops.OnnxRange, "Range")


@lowers(ops.OnnxConstantOfShape)
def onnx_constant_of_shape(graph, node, args, kwargs):
    layer = node.layer
    value = numpy_helper.from_array(np.asarray([layer.value], dtype=layer.to), "value")
    return graph.node("ConstantOfShape", [args[0]], layer.name, value=value)


@converts("ConstantOfShape")
def convert_constant_of_shape(context: ImportContext, node: NodeProto) -> list:
    (shape,) = inputs_of(context, node, 1, 1)
    value = context.attribute(node, "value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if value.size != 1:
        raise FormatError(f"{context.where(node)}: value must hold one element")
    if is_tensor(shape):
        return [onnx_layer(context, node, ops.OnnxConstantOfShape, [shape],
                           value=value.item(), to=value.dtype.name)]
    return [np.full(check_fold_shape(context, node, shape, value.dtype), value[0],
                    dtype=value.dtype)]


@converts("Range")
def convert_range(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 3, 3)
    if any(is_tensor(value) for value in values):
        return [onnx_layer(context, node, ops.OnnxRange, values)]
    start, limit, delta = values
    start, limit, delta = (np.asarray(value).reshape(()) for value in (start, limit, delta))
    if delta == 0:
        raise FormatError(f"{context.where(node)}: delta is 0")
    count = range_length(start, limit, delta)
    check_fold_shape(context, node, [count], np.result_type(start, limit, delta))
    return [range_values(start, limit, delta)]

"""Both ONNX directions for keras.ops.numpy's shape operations (modelio/ops/numpy/shape.py):
ExpandDims, Squeeze, Concatenate, Stack and the transpose/reshape/squeeze/concat/expand/pad twins;
ONNX's Concat, Transpose, Squeeze/Unsqueeze, Expand and Split imported."""


import math

import numpy as np
from onnx import NodeProto

from ... import layers as keras_layers
from ... import ops
from ...errors import FormatError, UnsupportedError
from ..export_support import cast_to, lowers_as, need_opset, onnx_layer_operands
from ..import_context import ImportContext
from ..import_support.constants import (
    MAX_FOLDED_ELEMENTS,
    check_fold_shape,
    fold,
    is_tensor,
    widest_dtype,
)
from ..import_support.layer_calls import keras_float, onnx_layer
from ..import_support.node_inputs import inputs_of, ints_input_or_attribute, positive_axis
from ..registry import converts, lowers
from .reduction import operation_axes


@lowers(ops.ExpandDims)
def expand_dims(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("Unsqueeze", [args[0], graph.ints([layer.axis], f"{layer.name}/axes")],
                      layer.name)


@lowers(ops.Squeeze)
def squeeze(graph, node, args, kwargs):
    """The size-1 axes are resolved from the symbolic shape: ONNX's axis-less Squeeze would also
    drop a batch axis that happens to be 1 at run time."""
    layer, shape = node.layer, node.input_tensors[0].shape
    if layer.axis is None:
        axes = [index for index, dim in enumerate(shape) if dim == 1]
    else:
        axes = [axis % len(shape) for axis in operation_axes(node)]
    if not axes:
        return graph.node("Identity", [args[0]], layer.name)
    return graph.node("Squeeze", [args[0], graph.ints(axes, f"{layer.name}/axes")], layer.name)


def _joined_inputs(graph, node, args) -> list[str]:
    dtype = node.outputs[0].dtype
    return [cast_to(graph, name, tensor.dtype, dtype, node.layer.name)
            for tensor, name in zip(node.call_args[0], args[0])]


@lowers(ops.Concatenate)
def concatenate(graph, node, args, kwargs):
    return graph.node("Concat", _joined_inputs(graph, node, args), node.layer.name,
                      axis=int(node.layer.axis))


@lowers(ops.Stack)
def stack(graph, node, args, kwargs):
    layer = node.layer
    axes = graph.ints([layer.axis], f"{layer.name}/axis")
    expanded = [graph.node("Unsqueeze", [name, axes], layer.name)
                for name in _joined_inputs(graph, node, args)]
    return graph.node("Concat", expanded, layer.name, axis=int(layer.axis))


@lowers(ops.OnnxTranspose)
def onnx_transpose(graph, node, args, kwargs):
    return graph.node("Transpose", [args[0]], node.layer.name, perm=node.layer.perm)


@lowers(ops.OnnxReshape)
def onnx_reshape(graph, node, args, kwargs):
    layer = node.layer
    operands = onnx_layer_operands(graph, node, args)
    shape = operands[1] if layer.shape is None else graph.ints(layer.shape, f"{layer.name}/shape")
    attributes = {}
    if layer.allowzero:
        need_opset(graph, layer, 14, "Reshape with allowzero")
        attributes["allowzero"] = 1
    return graph.node("Reshape", [operands[0], shape], layer.name, **attributes)


@lowers(ops.OnnxFlatten)
def onnx_flatten(graph, node, args, kwargs):
    return graph.node("Flatten", [args[0]], node.layer.name, axis=node.layer.axis)


def _axes_op(graph, node, args, op: str):
    layer = node.layer
    operands = onnx_layer_operands(graph, node, args)
    if len(operands) > 1:  # run-time axes
        need_opset(graph, layer, 13, f"{op} with run-time axes")
        return graph.node(op, operands[:2], layer.name)
    if layer.axes is None:
        return graph.node(op, [operands[0]], layer.name)
    if graph.opset >= 13:
        return graph.node(op, [operands[0], graph.ints(layer.axes, f"{layer.name}/axes")],
                          layer.name)
    return graph.node(op, [operands[0]], layer.name, axes=layer.axes)


@lowers(ops.OnnxSqueeze)
def onnx_squeeze(graph, node, args, kwargs):
    return _axes_op(graph, node, args, "Squeeze")


@lowers(ops.OnnxUnsqueeze)
def onnx_unsqueeze(graph, node, args, kwargs):
    return _axes_op(graph, node, args, "Unsqueeze")


lowers_as(ops.OnnxConcat, "Concat", axis="axis")


@lowers(ops.OnnxExpand)
def onnx_expand(graph, node, args, kwargs):
    layer = node.layer
    operands = onnx_layer_operands(graph, node, args)
    target = operands[1] if layer.shape is None else graph.ints(layer.shape, f"{layer.name}/shape")
    return graph.node("Expand", [operands[0], target], layer.name)


@lowers(ops.OnnxPad)
def onnx_pad(graph, node, args, kwargs):
    layer = node.layer
    dtype = node.outputs[0].dtype
    inputs = [args[0], graph.ints(layer.pads, f"{layer.name}/pads")]
    if layer.mode == "constant":
        inputs.append(graph.constant(np.asarray(layer.constant_value, dtype=dtype),
                                     f"{layer.name}/constant_value"))
    if layer.mode == "wrap":
        need_opset(graph, layer, 19, "mode 'wrap'")
    return graph.node("Pad", inputs, layer.name, mode=layer.mode)


@converts("Concat")
def convert_concat(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1)
    axis = context.attribute(node, "axis")
    if axis is None:
        raise FormatError(f"{context.where(node)}: the 'axis' attribute is missing")
    rank = np.ndim(values[0]) if not is_tensor(values[0]) else values[0].ndim
    axis = positive_axis(context, node, int(axis), rank)
    if not any(is_tensor(value) for value in values):
        shape = list(np.shape(values[0]))
        shape[axis] = sum(np.shape(value)[axis] for value in values if np.ndim(value) > axis)
        return [fold(context, node, lambda *arrays: np.concatenate(arrays, axis=axis), *values,
                     shape=shape, dtype=widest_dtype(values))]
    if len(values) == 1:
        return values
    if axis != 0 and all(keras_float(value) and value.ndim == rank for value in values):
        return [keras_layers.Concatenate(axis=axis, name=context.layer_name(node))(values)]
    return [onnx_layer(context, node, ops.OnnxConcat, values, axis=axis)]


@converts("Transpose")
def convert_transpose(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    rank = x.ndim if is_tensor(x) else np.ndim(x)
    perm = context.attribute(node, "perm")
    perm = list(range(rank))[::-1] if perm is None else [int(axis) for axis in perm]
    if sorted(perm) != list(range(rank)):
        raise FormatError(f"{context.where(node)}: perm {perm} is not a permutation of the "
                          f"{rank} axes")
    if not is_tensor(x):
        return [np.transpose(x, perm)]
    if perm == list(range(rank)):
        return [x]
    if keras_float(x) and perm[0] == 0:
        return [keras_layers.Permute(perm[1:], name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, ops.OnnxTranspose, [x], perm=perm)]


@converts("Squeeze", "Unsqueeze")
def convert_squeeze(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    squeeze = node.op_type == "Squeeze"
    cls = ops.OnnxSqueeze if squeeze else ops.OnnxUnsqueeze
    if context.opset >= 13 and len(values) > 1 and is_tensor(values[1]):
        if not is_tensor(x):
            raise UnsupportedError(f"{context.where(node)}: run-time axes on a constant")
        return [onnx_layer(context, node, cls, [x, values[1]])]
    axes = ints_input_or_attribute(context, node, 1, "axes", 13)
    if axes is None and not squeeze:
        raise FormatError(f"{context.where(node)}: Unsqueeze needs axes")
    if not is_tensor(x):
        layer = cls(axes=axes)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    probe = cls(axes=axes)
    with probe.shape_errors(x.shape):
        output_shape = probe.compute_output_shape(x.shape)
    rank = len(output_shape) if not squeeze else x.ndim
    touched = [axis % rank for axis in axes] if axes is not None else None
    if keras_float(x) and touched is not None and 0 not in touched and len(output_shape) > 1 \
            and all(dim is not None and dim > 0 for dim in output_shape[1:]):
        return [keras_layers.Reshape(list(output_shape[1:]), name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, cls, [x], axes=axes)]


@converts("Expand")
def convert_expand(context: ImportContext, node: NodeProto) -> list:
    x, shape = inputs_of(context, node, 2, 2)
    if is_tensor(shape):
        if not is_tensor(x):
            raise UnsupportedError(f"{context.where(node)}: a constant expanded to a run-time "
                                   f"shape is not supported")
        return [onnx_layer(context, node, ops.OnnxExpand, [x, shape])]
    dims = tuple(int(dim) for dim in np.asarray(shape).reshape(-1))
    if any(dim < 0 for dim in dims) or math.prod(dims) > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: refusing to expand to the shape {dims}")
    if not is_tensor(x):
        target = check_fold_shape(context, node, np.broadcast_shapes(np.shape(x), dims),
                                  np.asarray(x).dtype)
        return [np.broadcast_to(np.asarray(x), target).copy()]
    return [onnx_layer(context, node, ops.OnnxExpand, [x], shape=list(dims))]


@converts("Split")
def convert_split(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    axis = int(context.attribute(node, "axis", 0))
    rank = x.ndim if is_tensor(x) else np.ndim(x)
    axis = positive_axis(context, node, axis, rank)
    size = x.shape[axis] if is_tensor(x) else np.shape(x)[axis]
    count = len(node.output)
    if context.opset < 13:
        sizes = context.attribute(node, "split")
        if sizes is None and len(values) > 1 and values[1] is not None:
            sizes = context.constant(node, 1)
    else:
        sizes = context.constant(node, 1, required=False)
    if sizes is not None:
        sizes = [int(item) for item in np.asarray(sizes).reshape(-1)]
    elif size is None:
        raise UnsupportedError(f"{context.where(node)}: an even split of an axis whose size is "
                               f"only known at run time")
    else:
        count = int(context.attribute(node, "num_outputs", count))
        part = -(-size // count)
        sizes = [min(part, size - part * index) for index in range(count)]
    if len(sizes) != len(node.output) or any(item < 0 for item in sizes) or (
            size is not None and sum(sizes) != size):
        raise FormatError(f"{context.where(node)}: split sizes {sizes} do not cut the axis of "
                          f"size {size} into {len(node.output)} parts")
    outputs, start = [], 0
    for part in sizes:
        config = {"starts": [start], "ends": [start + part], "axes": [axis], "steps": None}
        if is_tensor(x):
            layer = ops.OnnxSlice(name=context.layer_name(node), **config)
            outputs.append(layer(x))
        else:
            outputs.append(np.asarray(x)[ops.onnx_slices(np.shape(x), **config)])
        start += part
    return outputs

"""Converters for the ONNX shape ops (Concat, Flatten, Reshape, Transpose, Squeeze/Unsqueeze,
Shape, Gather, Slice, Range, Expand, Split) and reductions. Fed constants, they fold to numpy
arrays (shape arithmetic disappears at import); fed tensors, they become Keras layers when one has
the exact semantics without touching the batch axis, else Onnx* layers."""

import math

import numpy as np
from onnx import NodeProto

from .. import layers as keras_layers
from .. import ops as onnx_ops
from ..errors import FormatError, UnsupportedError
from .import_context import ImportContext
from .import_support import (
    MAX_FOLDED_ELEMENTS,
    call_layer,
    check_fold_shape,
    fold,
    inputs_of,
    ints_input_or_attribute,
    is_tensor,
    keras_float,
    onnx_layer,
    positive_axis,
    producer_of,
)
from .registry import converts

# ----- shape ops -----

@converts("Concat")
def convert_concat(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1)
    axis = context.attribute(node, "axis")
    if axis is None:
        raise FormatError(f"{context.where(node)}: the 'axis' attribute is missing")
    rank = np.ndim(values[0]) if not is_tensor(values[0]) else values[0].ndim
    axis = positive_axis(context, node, int(axis), rank)
    if not any(is_tensor(value) for value in values):
        return [fold(context, node, lambda *arrays: np.concatenate(arrays, axis=axis), *values)]
    if len(values) == 1:
        return values
    if axis != 0 and all(keras_float(value) and value.ndim == rank for value in values):
        return [keras_layers.Concatenate(axis=axis, name=context.layer_name(node))(values)]
    return [onnx_layer(context, node, onnx_ops.OnnxConcat, values, axis=axis)]


@converts("Flatten")
def convert_flatten(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    axis = int(context.attribute(node, "axis", 1))
    if not is_tensor(x):
        layer = onnx_ops.OnnxFlatten(axis=axis)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    if not -x.ndim <= axis <= x.ndim:
        raise FormatError(f"{context.where(node)}: axis {axis} is out of range for rank {x.ndim}")
    if axis in (1, 1 - x.ndim) and x.ndim >= 2 and None not in x.shape[1:]:
        return [keras_layers.Flatten(name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, onnx_ops.OnnxFlatten, [x], axis=axis)]


@converts("Reshape")
def convert_reshape(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 2, 2)
    x, shape = values
    allowzero = int(context.attribute(node, "allowzero", 0))
    if is_tensor(shape):
        if not is_tensor(x):
            raise UnsupportedError(f"{context.where(node)}: a constant reshaped to a run-time "
                                   f"shape is not supported")
        rest = _batch_then_constants(x, shape)
        target = _keras_reshape_target(x, [0, *rest], 0) if rest is not None else None
        if target is not None and not (allowzero and 0 in rest):
            return [keras_layers.Reshape(target, name=context.layer_name(node))(x)]
        return [onnx_layer(context, node, onnx_ops.OnnxReshape, [x, shape],
                           allowzero=allowzero)]
    shape = [int(dim) for dim in np.asarray(shape).reshape(-1)]
    where = f"{context.where(node)}: "
    if not is_tensor(x):
        x = np.asarray(x)
        return [x.reshape(onnx_ops.reshape_target(x.shape, shape, allowzero, where))]
    onnx_ops.reshape_target(x.shape, shape, allowzero, where)  # refuse impossible shapes now
    target = _keras_reshape_target(x, shape, allowzero)
    if target is not None:
        return [keras_layers.Reshape(target, name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, onnx_ops.OnnxReshape, [x], shape=shape,
                       allowzero=allowzero)]


def _batch_then_constants(x, shape):
    """The constant dims after the first when a run-time target shape is `[x's batch size,
    constants...]` (PyTorch's `x.view(x.size(0), ...)` with a dynamic batch), else None."""
    layer, inputs, constants = producer_of(shape)
    if not isinstance(layer, onnx_ops.OnnxConcat) or layer.axis != 0 or not inputs:
        return None
    operands = layer.merge_constants(inputs, constants)
    if not is_tensor(operands[0]) or any(is_tensor(operand) for operand in operands[1:]):
        return None
    if not _is_batch_size_of(operands[0], x):
        return None
    return [int(dim) for operand in operands[1:] for dim in np.asarray(operand).reshape(-1)]


def _is_batch_size_of(value, x) -> bool:
    """Whether `value` is the vector [x.shape[0]] computed by Shape -> Gather(0) (-> Unsqueeze)."""
    layer, inputs, _ = producer_of(value)
    if isinstance(layer, onnx_ops.OnnxUnsqueeze) and layer.axes in ([0], [-1]):
        value = inputs[0]
        layer, inputs, _ = producer_of(value)
        scalar_expected = True
    else:
        scalar_expected = False
    if not isinstance(layer, onnx_ops.OnnxGather) or layer.axis not in (0, -1) \
            or len(inputs) != 1 or not layer.constant_weights or layer.constants[0]["index"] != 1:
        return False
    index = layer.constant_weights[0].value
    if index.shape != (() if scalar_expected else (1,)) or int(index.reshape(-1)[0]) != 0:
        return False
    shape_layer, shape_inputs, _ = producer_of(inputs[0])
    return isinstance(shape_layer, onnx_ops.OnnxShape) and shape_layer.start == 0 \
        and shape_inputs[0] is x


def _keras_reshape_target(x, shape, allowzero):
    """Keras Reshape's target_shape when the ONNX Reshape keeps the batch axis, else None."""
    if not keras_float(x) or not shape:
        return None
    copies = [axis for axis, dim in enumerate(shape) if dim == 0 and not allowzero]
    rest = [x.shape[axis] if axis in copies else dim for axis, dim in enumerate(shape)][1:]
    if None in rest or 0 in rest or sum(dim == -1 for dim in rest) > 1:
        return None
    sample_size = None if None in x.shape[1:] else math.prod(x.shape[1:])
    keeps_batch = 0 in copies or (x.shape[0] is not None and shape[0] == x.shape[0]) or (
        shape[0] == -1 and -1 not in rest and sample_size == math.prod(rest))  # x.view(-1, n)
    return rest if keeps_batch else None


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
    return [onnx_layer(context, node, onnx_ops.OnnxTranspose, [x], perm=perm)]


@converts("Squeeze", "Unsqueeze")
def convert_squeeze(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    squeeze = node.op_type == "Squeeze"
    cls = onnx_ops.OnnxSqueeze if squeeze else onnx_ops.OnnxUnsqueeze
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


@converts("Shape")
def convert_shape(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    start = int(context.attribute(node, "start", 0))
    end = context.attribute(node, "end")
    end = None if end is None else int(end)
    dims = tuple(x.shape if is_tensor(x) else np.shape(x))[start:end]
    if None not in dims and (node.output[0] not in context.graph_outputs or not is_tensor(x)):
        return [np.asarray(dims, dtype=np.int64)]
    return [onnx_layer(context, node, onnx_ops.OnnxShape, [x], start=start, end=end)]


@converts("Size")
def convert_size(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    dims = tuple(x.shape if is_tensor(x) else np.shape(x))
    if None in dims:
        raise UnsupportedError(f"{context.where(node)}: the size of {dims} is only known at run "
                               f"time")
    return [np.asarray(math.prod(dims), dtype=np.int64)]


@converts("Gather")
def convert_gather(context: ImportContext, node: NodeProto) -> list:
    data, indices = inputs_of(context, node, 2, 2)
    axis = int(context.attribute(node, "axis", 0))
    if not is_tensor(data) and not is_tensor(indices):
        layer = onnx_ops.OnnxGather(axis=axis)
        return [fold(context, node, lambda *arrays: layer.compute(list(arrays)), data, indices)]
    if not is_tensor(data) and np.ndim(data) == 2 and axis in (0, -2) \
            and np.asarray(data).dtype == np.float32 and data.shape[0] > 0 and data.shape[1] > 0:
        table = np.asarray(data)
        layer = keras_layers.Embedding(table.shape[0], table.shape[1],
                                       name=context.layer_name(node))
        return [call_layer(layer, indices, [table])]
    return [onnx_layer(context, node, onnx_ops.OnnxGather, [data, indices], axis=axis)]


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
    layer = onnx_ops.OnnxSlice(starts=starts, ends=ends, axes=axes, steps=steps,
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
    return onnx_layer(context, node, onnx_ops.OnnxSlice, [x, *operands])


@converts("Range")
def convert_range(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 3, 3)
    if any(is_tensor(value) for value in values):
        return [onnx_layer(context, node, onnx_ops.OnnxRange, values)]
    start, limit, delta = values
    start, limit, delta = (np.asarray(value).reshape(()) for value in (start, limit, delta))
    if delta == 0:
        raise FormatError(f"{context.where(node)}: delta is 0")
    count = max(int(np.ceil((limit - start) / delta)), 0)
    if count > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: a range of {count} elements is too large")
    dtype = np.result_type(start, limit, delta)
    return [(start + np.arange(count, dtype=dtype) * delta).astype(dtype)]


@converts("Expand")
def convert_expand(context: ImportContext, node: NodeProto) -> list:
    x, shape = inputs_of(context, node, 2, 2)
    if is_tensor(shape):
        if not is_tensor(x):
            raise UnsupportedError(f"{context.where(node)}: a constant expanded to a run-time "
                                   f"shape is not supported")
        return [onnx_layer(context, node, onnx_ops.OnnxExpand, [x, shape])]
    dims = check_fold_shape(context, node, shape)
    if not is_tensor(x):
        target = check_fold_shape(context, node, np.broadcast_shapes(np.shape(x), dims))
        return [np.broadcast_to(np.asarray(x), target).copy()]
    return [onnx_layer(context, node, onnx_ops.OnnxExpand, [x], shape=list(dims))]


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
            layer = onnx_ops.OnnxSlice(name=context.layer_name(node), **config)
            outputs.append(layer(x))
        else:
            outputs.append(np.asarray(x)[onnx_ops.onnx_slices(np.shape(x), **config)])
        start += part
    return outputs


REDUCE_OPS = {"ReduceMean": 18, "ReduceSum": 13, "ReduceMax": 18, "ReduceMin": 18,
              "ReduceProd": 18, "ReduceL1": 18, "ReduceL2": 18, "ReduceSumSquare": 18,
              "ReduceLogSum": 18, "ReduceLogSumExp": 18}


@converts(*REDUCE_OPS)
def convert_reduce(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    config = {"op": node.op_type,
              "keepdims": int(context.attribute(node, "keepdims", 1)),
              "noop_with_empty_axes": int(context.attribute(node, "noop_with_empty_axes", 0))}
    runtime_axes = context.opset >= REDUCE_OPS[node.op_type] and len(values) > 1 \
        and is_tensor(values[1])
    if runtime_axes and is_tensor(x):
        return [onnx_layer(context, node, onnx_ops.OnnxReduce, [x, values[1]], **config)]
    if runtime_axes:
        raise UnsupportedError(f"{context.where(node)}: run-time axes on a constant")
    config["axes"] = ints_input_or_attribute(context, node, 1, "axes", REDUCE_OPS[node.op_type])
    if not is_tensor(x):
        layer = onnx_ops.OnnxReduce(**config)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    return [onnx_layer(context, node, onnx_ops.OnnxReduce, [x], **config)]

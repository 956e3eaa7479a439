"""Both ONNX directions for the reshaping family (modelio/layers/reshaping.py): Flatten, Reshape,
Permute, RepeatVector, ZeroPadding/Cropping/UpSampling as ONNX nodes; ONNX's Flatten, Reshape and
Pad imported as those layers where their semantics match."""

import math

import numpy as np
from onnx import NodeProto

from .. import layers as keras_layers
from .. import ops
from ..errors import FormatError, UnsupportedError
from ..graph.tensor import SymbolicTensor
from ..kernels.padding import onnx_pad
from ..kernels.resize_filters import FILTERED_INTERPOLATIONS
from ..layers import reshaping
from ..ops import (
    OnnxPad,
)
from .export_support import (
    as_declared,
    channels_first_call,
    filtered_resize,
    float_work,
    linear_resize,
    onnx_pads,
    spatial_sizes,
    to_channels_first,
    to_channels_last,
)
from .import_context import ImportContext
from .import_support.constants import bounded_tensor, check_fold_shape, fold, is_tensor
from .import_support.layer_calls import keras_float, onnx_layer, producer_of
from .import_support.node_inputs import inputs_of
from .registry import (
    converts,
    lowers,
    lowers_float32,  # these lowerings write float32 constants
)


@lowers(reshaping.Flatten)
def flatten(graph, node, args, kwargs):
    x, layer = args[0], node.layer
    rank = len(node.input_tensors[0].shape)
    if layer.data_format == "channels_first" and rank > 2:
        x = graph.node("Transpose", [x], layer.name, perm=[0, *range(2, rank), 1])
    return graph.node("Reshape", [x, graph.ints([0, -1], f"{layer.name}/shape")], layer.name)


@lowers(reshaping.Reshape)
def reshape(graph, node, args, kwargs):
    shape = graph.ints([0, *node.layer.target_shape], f"{node.layer.name}/shape")
    return graph.node("Reshape", [args[0], shape], node.layer.name)


@lowers(reshaping.Permute)
def permute(graph, node, args, kwargs):
    return graph.node("Transpose", [args[0]], node.layer.name, perm=[0, *node.layer.dims])


@lowers(reshaping.RepeatVector)
def repeat_vector(graph, node, args, kwargs):
    layer = node.layer
    expanded = graph.node("Unsqueeze", [args[0], graph.ints([1], f"{layer.name}/axis")], layer.name)
    return graph.node("Tile", [expanded, graph.ints([1, layer.n, 1], f"{layer.name}/repeats")],
                      layer.name)


@lowers_float32(reshaping.ZeroPadding1D, reshaping.ZeroPadding2D, reshaping.ZeroPadding3D)
def zero_padding(graph, node, args, kwargs):
    layer = node.layer
    rank = len(layer.padding)
    pads = onnx_pads([(0, 0), (0, 0), *[tuple(pair) for pair in layer.padding]])
    pads_name = graph.ints(pads, f"{layer.name}/pads")
    return as_declared(graph, node, channels_first_call(
        graph, layer, args[0], rank, lambda x: graph.node("Pad", [x, pads_name], layer.name)))


@lowers_float32(reshaping.Cropping1D, reshaping.Cropping2D, reshaping.Cropping3D)
def cropping(graph, node, args, kwargs):
    """Slice in channels-first order (so its layout Transposes cancel between convolutions)."""
    layer = node.layer
    rank = len(layer.cropping)
    big = np.iinfo(np.int64).max
    starts = graph.ints([before for before, _ in layer.cropping], f"{layer.name}/starts")
    ends = graph.ints([-after if after else big for _, after in layer.cropping], f"{layer.name}/ends")
    axes = graph.ints(list(range(2, rank + 2)), f"{layer.name}/axes")
    return as_declared(graph, node, channels_first_call(
        graph, layer, args[0], rank, lambda x: graph.node("Slice", [x, starts, ends, axes],
                                                          layer.name)))


@lowers_float32(reshaping.UpSampling1D, reshaping.UpSampling2D, reshaping.UpSampling3D)
def up_sampling(graph, node, args, kwargs):
    """Nearest: Resize with integer scales, asymmetric floor rounding (exact for integer factors).
    Bilinear (UpSampling2D): half-pixel linear Resize; the other interpolations (bicubic,
    lanczos3/5, area, gaussian, mitchellcubic): a constant weight matrix per axis (known image
    sizes); integer images rounded back as modelio does."""
    layer = node.layer
    factors = list(layer.factors())
    rank = len(factors)
    scales = graph.constant([1.0, 1.0, *map(float, factors)], f"{layer.name}/scales", "float32")
    interpolation = getattr(layer, "interpolation", "nearest")
    if interpolation in FILTERED_INTERPOLATIONS:
        x, restore = float_work(graph, node, args[0])
        in_sizes = spatial_sizes(node, 2, layer.data_format == "channels_first")
        out_sizes = [None if size is None else size * factor
                     for size, factor in zip(in_sizes, factors)]
        return restore(channels_first_call(graph, layer, x, rank, lambda x: filtered_resize(
            graph, node, x, in_sizes, out_sizes, interpolation)))
    if interpolation == "bilinear":
        x, restore = float_work(graph, node, args[0])
        y = channels_first_call(graph, layer, x, rank,
                                 lambda x: linear_resize(graph, x, layer.name, scales=scales))
        return restore(y)

    def body(x):
        return graph.node("Resize", [x, "", scales], layer.name, mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    if not hasattr(layer, "data_format"):  # UpSampling1D: always channels last
        x = to_channels_first(graph, args[0], rank, layer.name)
        return as_declared(graph, node, to_channels_last(graph, body(x), rank, layer.name))
    return as_declared(graph, node, channels_first_call(graph, layer, args[0], rank, body))


@converts("Flatten")
def convert_flatten(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    axis = int(context.attribute(node, "axis", 1))
    if not is_tensor(x):
        layer = ops.OnnxFlatten(axis=axis)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    if not -x.ndim <= axis <= x.ndim:
        raise FormatError(f"{context.where(node)}: axis {axis} is out of range for rank {x.ndim}")
    if axis in (1, 1 - x.ndim) and x.ndim >= 2 and None not in x.shape[1:]:
        return [keras_layers.Flatten(name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, ops.OnnxFlatten, [x], axis=axis)]


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
        return [onnx_layer(context, node, ops.OnnxReshape, [x, shape],
                           allowzero=allowzero)]
    shape = [int(dim) for dim in np.asarray(shape).reshape(-1)]
    where = f"{context.where(node)}: "
    if not is_tensor(x):
        x = np.asarray(x)
        return [x.reshape(ops.reshape_target(x.shape, shape, allowzero, where))]
    ops.reshape_target(x.shape, shape, allowzero, where)  # refuse impossible shapes now
    target = _keras_reshape_target(x, shape, allowzero)
    if target is not None:
        return [keras_layers.Reshape(target, name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, ops.OnnxReshape, [x], shape=shape,
                       allowzero=allowzero)]


def _batch_then_constants(x, shape):
    """The constant dims after the first when a run-time target shape is `[x's batch size,
    constants...]` (PyTorch's `x.view(x.size(0), ...)` with a dynamic batch), else None."""
    layer, inputs, constants = producer_of(shape)
    if not isinstance(layer, ops.OnnxConcat) or layer.axis != 0 or not inputs:
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
    if isinstance(layer, ops.OnnxUnsqueeze) and layer.axes in ([0], [-1]):
        value = inputs[0]
        layer, inputs, _ = producer_of(value)
        scalar_expected = True
    else:
        scalar_expected = False
    if not isinstance(layer, ops.OnnxGather) or layer.axis not in (0, -1) \
            or len(inputs) != 1 or not layer.constant_weights or layer.constants[0]["index"] != 1:
        return False
    index = layer.constant_weights[0].value
    if index.shape != (() if scalar_expected else (1,)) or int(index.reshape(-1)[0]) != 0:
        return False
    shape_layer, shape_inputs, _ = producer_of(inputs[0])
    return isinstance(shape_layer, ops.OnnxShape) and shape_layer.start == 0 \
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


ZERO_PADDING_BY_RANK = {1: reshaping.ZeroPadding1D, 2: reshaping.ZeroPadding2D, 3: reshaping.ZeroPadding3D}


CROPPING_BY_RANK = {2: reshaping.Cropping2D, 3: reshaping.Cropping3D}


@converts("Pad")
def convert_pad(context, node) -> list:
    value = context.value(node.input[0])
    rank = len(value.shape)
    if context.opset < 11:
        pads = context.attribute(node, "pads", None)
        if pads is None:
            raise FormatError(f"{context.where(node)}: attribute pads is missing")
        constant_value = float(context.attribute(node, "value", 0.0))
    else:
        pads = context.constant(node, 1)
        constant = context.constant(node, 2, required=False)
        constant_value = 0.0 if constant is None or constant.size == 0 else float(
            constant.reshape(-1)[0])
        axes = context.constant(node, 3, required=False)
        if axes is not None:
            pads = _pads_for_axes(context, node, np.asarray(pads).reshape(-1), axes, rank)
    pads = [int(pad) for pad in np.asarray(pads).reshape(-1)]
    if len(pads) != 2 * rank:
        raise FormatError(f"{context.where(node)}: pads must hold {2 * rank} values for a rank "
                          f"{rank} input, got {pads}")
    mode = context.attribute(node, "mode", "constant")
    if not isinstance(value, SymbolicTensor):
        return [_pad_constant(context, node, value, pads, mode, constant_value)]
    spatial = rank - 2
    if (mode == "constant" and constant_value == 0.0 and min(pads) >= 0 and spatial in ZERO_PADDING_BY_RANK
            and not any(pads[axis] or pads[axis + rank] for axis in (0, 1))):
        widths = [(pads[axis], pads[axis + rank]) for axis in range(2, rank)]
        return [bounded_tensor(context, node, ZERO_PADDING_BY_RANK[spatial](
            widths if spatial > 1 else widths[0], data_format="channels_first",
            name=context.layer_name(node))(value))]
    return [bounded_tensor(context, node, OnnxPad(pads, mode=mode, constant_value=constant_value,
                                            name=context.layer_name(node))(value))]


def _pads_for_axes(context, node, pads, axes, rank: int) -> list:
    axes = [int(axis) + rank if int(axis) < 0 else int(axis) for axis in np.asarray(axes).reshape(-1)]
    if len(pads) != 2 * len(axes) or any(not 0 <= axis < rank for axis in axes):
        raise FormatError(f"{context.where(node)}: pads {list(pads)} do not fit axes {axes}")
    full = [0] * (2 * rank)
    for index, axis in enumerate(axes):
        full[axis], full[axis + rank] = int(pads[index]), int(pads[index + len(axes)])
    return full


def _pad_constant(context, node, value: np.ndarray, pads, mode, constant_value) -> np.ndarray:
    rank = value.ndim
    check_fold_shape(context, node, [max(size + pads[axis] + pads[axis + rank], 0)
                                     for axis, size in enumerate(value.shape)], value.dtype)
    if mode not in OnnxPad.MODES:
        raise UnsupportedError(f"{context.where(node)}: Pad mode {mode!r} is not supported")
    return onnx_pad(value, pads, mode, constant_value)

"""Both ONNX directions for the normalization family (modelio/layers/normalization/): Batch,
Layer, RMS, Unit and Group normalization as ONNX nodes, SpectralNormalization as its wrapped
layer's lowering (inference uses the stored kernel); ONNX's BatchNormalization,
LayerNormalization and InstanceNormalization imported as Keras normalization layers."""

import numpy as np

from ..errors import FormatError, UnsupportedError
from ..graph.tensor import SymbolicTensor
from ..layers import normalization
from ..ops import (
    OnnxLayerNormalization,
)
from .export_support import InnerNode, cast_to, float_input, reduce, refuse_export
from .import_support.layer_calls import set_layer_weights
from .import_support.windows import image_input
from .registry import (
    converts,
    lowering_for,
    lowers,
    lowers_float32,  # these lowerings write float32 constants
)


@lowers_float32(normalization.BatchNormalization)
def batch_normalization(graph, node, args, kwargs):
    """Inference: y = x * scale + shift with scale = gamma / sqrt(var + eps) and
    shift = beta - mean * scale, computed here and broadcast along the layer's axes. A mask
    only matters while training (for the batch moments), so it is not needed here."""
    layer = node.layer
    input_rank = len(node.input_tensors[0].shape)
    axes = normalization.positive_axes(layer, layer.axes, input_rank)
    shape = node.input_tensors[0].shape
    broadcast = [shape[i] if i in axes else 1 for i in range(input_rank)][1:]
    mean = layer.moving_mean.value.astype(np.float64)
    variance = layer.moving_variance.value.astype(np.float64)
    scale = 1.0 / np.sqrt(variance + layer.epsilon)
    if layer.gamma is not None:
        scale = scale * layer.gamma.value.astype(np.float64)
    shift = -mean * scale
    if layer.beta is not None:
        shift = shift + layer.beta.value.astype(np.float64)
    # leading ones dropped: numpy-style broadcasting aligns trailing axes
    while broadcast and broadcast[0] == 1:
        broadcast = broadcast[1:]
    x = float_input(graph, node, args[0])
    y = graph.node("Mul", [x, graph.constant(scale.reshape(broadcast), f"{layer.name}/scale",
                                             "float32")], layer.name)
    return graph.node("Add", [y, graph.constant(shift.reshape(broadcast), f"{layer.name}/shift",
                                                "float32")], layer.name)


@lowers_float32(normalization.LayerNormalization)
def layer_normalization(graph, node, args, kwargs):
    """Keras's formula step by step (any axes, rms_scaling too): biased variance around the mean,
    gamma and beta broadcast as Keras reshapes them."""
    layer, x = node.layer, args[0]
    shape = node.input_tensors[0].shape
    if node.input_tensors[0].dtype != "float32":
        raise UnsupportedError(f"layer '{layer.name}': exporting LayerNormalization of "
                               f"{node.input_tensors[0].dtype} inputs is not supported yet")
    axes = normalization.sorted_axes(layer.axis)
    positive = sorted(normalization.positive_axes(layer, axes, len(shape)))
    hint = layer.name
    trailing = positive == list(range(positive[0], len(shape)))
    if graph.opset >= 17 and not layer.rms_scaling and trailing and None not in shape[positive[0]:]:
        return _layer_normalization_op(graph, layer, x, shape, positive[0])
    mean = reduce(graph, "ReduceMean", x, positive, 1, hint)
    centered = graph.node("Sub", [x, mean], hint)
    variance = reduce(graph, "ReduceMean", graph.node("Mul", [centered, centered], hint), positive,
                       1, hint)
    epsilon = graph.constant(layer.epsilon, f"{hint}/epsilon", "float32")
    inverse = graph.node("Reciprocal", [graph.node("Sqrt", [graph.node("Add", [variance, epsilon],
                                                                       hint)], hint)], hint)
    shape_for_weights = [1 if d is None else d for d in shape]

    def weight(w):
        value = normalization.weight_broadcast(w.value.astype(np.float32), axes,
                                                tuple(shape_for_weights))
        return graph.weight(w, np.ascontiguousarray(value))

    y = graph.node("Mul", [x if layer.rms_scaling else centered, inverse], hint)
    if layer.gamma is not None:
        y = graph.node("Mul", [y, weight(layer.gamma)], hint)
    if layer.beta is not None and not layer.rms_scaling:
        y = graph.node("Add", [y, weight(layer.beta)], hint)
    return y


def _layer_normalization_op(graph, layer, x, shape, first_axis):
    """ONNX's LayerNormalization (opset 17+) over the trailing axes from `first_axis`: the same
    formula as Keras's, in one node; gamma and beta shaped like the normalized axes."""
    normalized = tuple(shape[first_axis:])

    def weight(w, fallback):
        if w is None:
            return graph.constant(np.full(normalized, fallback, np.float32),
                                  f"{layer.name}/{'scale' if fallback else 'bias'}")
        return graph.weight(w, w.value.astype(np.float32).reshape(normalized))

    return graph.node("LayerNormalization", [x, weight(layer.gamma, 1.0), weight(layer.beta, 0.0)],
                      layer.name, axis=first_axis, epsilon=float(layer.epsilon))


@lowers_float32(normalization.RMSNormalization)
def rms_normalization(graph, node, args, kwargs):
    """`x / sqrt(mean(x**2 over the trailing axes) + epsilon) * scale` (scale broadcasts on the
    trailing axes, the only ones the layer accepts)."""
    layer, hint = node.layer, node.layer.name
    x = float_input(graph, node, args[0])
    rank = len(node.input_tensors[0].shape)
    axes = sorted(normalization.positive_axes(
        layer, normalization.sorted_axes(layer.axis), rank))
    mean_square = reduce(graph, "ReduceMean", graph.node("Mul", [x, x], hint), axes, 1, hint)
    epsilon = graph.constant(layer.epsilon, f"{hint}/epsilon", "float32")
    inverse = graph.node("Reciprocal", [graph.node("Sqrt", [graph.node(
        "Add", [mean_square, epsilon], hint)], hint)], hint)
    scale = graph.weight(layer.scale, np.ascontiguousarray(layer.scale.value.astype(np.float32)))
    return graph.node("Mul", [graph.node("Mul", [x, inverse], hint), scale], hint)


@lowers_float32(normalization.UnitNormalization)
def unit_normalization(graph, node, args, kwargs):
    layer, x, hint = node.layer, args[0], node.layer.name
    if node.input_tensors[0].dtype != "float32":
        x = graph.node("Cast", [x], hint, to=1)
    axes = layer.axis if isinstance(layer.axis, list) else [layer.axis]
    rank = len(node.input_tensors[0].shape)
    positive = sorted(normalization.positive_axes(layer, axes, rank))
    square_sum = reduce(graph, "ReduceSumSquare", x, positive, 1, hint)
    if layer.keras2_epsilon:
        floor = graph.constant(1e-12, f"{hint}/epsilon", "float32")
        inverse = graph.node("Reciprocal", [graph.node("Sqrt", [graph.node(
            "Max", [square_sum, floor], hint)], hint)], hint)
    else:
        cap = graph.constant(1e12, f"{hint}/cap", "float32")
        inverse = graph.node("Min", [graph.node("Reciprocal", [graph.node(
            "Sqrt", [square_sum], hint)], hint), cap], hint)
    return graph.node("Mul", [x, inverse], hint)


@lowers_float32(normalization.GroupNormalization)
def group_normalization(graph, node, args, kwargs):
    """Reshape to (..., groups, channels // groups, ...), normalize over all but batch and group
    axes, reshape back; gamma and beta broadcast in the grouped shape."""
    layer, x, hint = node.layer, args[0], node.layer.name
    if kwargs.get("mask") is not None and layer.masked_statistics:
        raise UnsupportedError(f"layer '{hint}': exporting GroupNormalization with a mask "
                               f"(Keras 2 masked statistics) to ONNX is not supported yet")
    if node.input_tensors[0].dtype != "float32":
        raise UnsupportedError(f"layer '{hint}': exporting GroupNormalization of "
                               f"{node.input_tensors[0].dtype} inputs is not supported yet")
    shape = node.input_tensors[0].shape
    rank = len(shape)
    (axis,) = normalization.positive_axes(layer, [layer.axis], rank)
    channels, groups = shape[axis], layer.groups
    after = list(shape[axis + 1:])
    if sum(d is None for d in after) > 1:
        raise UnsupportedError(f"layer '{hint}': exporting GroupNormalization needs at most one "
                               f"unknown size after the channel axis, got shape {tuple(shape)}")
    grouped_shape = [0] * axis + [groups, channels // groups] + [-1 if d is None else d
                                                                 for d in after]
    grouped = graph.node("Reshape", [x, graph.ints(grouped_shape, f"{hint}/grouped_shape")], hint)
    group_axes = [i for i in range(1, rank + 1) if i != axis]
    mean = reduce(graph, "ReduceMean", grouped, group_axes, 1, hint)
    centered = graph.node("Sub", [grouped, mean], hint)
    variance = reduce(graph, "ReduceMean", graph.node("Mul", [centered, centered], hint), group_axes,
                       1, hint)
    epsilon = graph.constant(layer.epsilon, f"{hint}/epsilon", "float32")
    y = graph.node("Mul", [centered, graph.node("Reciprocal", [graph.node(
        "Sqrt", [graph.node("Add", [variance, epsilon], hint)], hint)], hint)], hint)
    broadcast = [groups, channels // groups] + [1] * len(after)
    if layer.gamma is not None:
        gamma = layer.gamma.value.astype(np.float32).reshape(broadcast)
        y = graph.node("Mul", [y, graph.weight(layer.gamma, gamma)], hint)
    if layer.beta is not None:
        beta = layer.beta.value.astype(np.float32).reshape(broadcast)
        y = graph.node("Add", [y, graph.weight(layer.beta, beta)], hint)
    return graph.node("Reshape", [y, graph.node("Shape", [x], hint)], hint)


@converts("BatchNormalization")
def convert_batch_normalization(context, node) -> list:
    if any(name for name in node.output[1:]) or int(context.attribute(node, "training_mode", 0)):
        raise UnsupportedError(f"{context.where(node)}: training-mode BatchNormalization (running "
                               f"statistics outputs) is not supported; export in eval mode")
    if context.opset < 9 and not int(context.attribute(node, "spatial", 1)):
        raise UnsupportedError(f"{context.where(node)}: spatial=0 is not supported")
    x = context.tensor(node, 0)
    if len(x.shape) < 2:
        raise FormatError(f"{context.where(node)}: X must have a channel axis, got shape "
                          f"{tuple(x.shape)}")
    channels = x.shape[1]
    parameters = [context.constant(node, index) for index in range(1, 5)]
    for parameter in parameters:
        if parameter.shape != (channels,):
            raise FormatError(f"{context.where(node)}: scale, B, mean and var must have shape "
                              f"({channels},), got {parameter.shape}")
    scale, offset, mean, variance = parameters
    layer = normalization.BatchNormalization(
        axis=1, epsilon=float(context.attribute(node, "epsilon", 1e-5)),
        momentum=float(context.attribute(node, "momentum", 0.9)), name=context.layer_name(node))
    y = layer(x)
    set_layer_weights(layer, [scale, offset, mean, variance])
    return [y]


@converts("LayerNormalization")
def convert_layer_normalization(context, node) -> list:
    x = context.tensor(node, 0)
    rank = len(x.shape)
    axis = int(context.attribute(node, "axis", -1))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise FormatError(f"{context.where(node)}: axis {axis} is out of range for inputs of "
                          f"shape {tuple(x.shape)}")
    normalized = tuple(x.shape[axis:])
    if any(size is None for size in normalized):
        raise UnsupportedError(f"{context.where(node)}: the normalized axes need known sizes, "
                               f"got {tuple(x.shape)}")
    scale = context.constant(node, 1)
    offset = context.constant(node, 2, required=False)
    try:
        arrays = [np.broadcast_to(array, normalized) for array in (scale, offset)
                  if array is not None]
    except ValueError as exc:
        raise FormatError(f"{context.where(node)}: Scale/B do not broadcast to {normalized}") from exc
    epsilon = float(context.attribute(node, "epsilon", 1e-5))
    statistics = any(name for name in node.output[1:])
    if statistics or axis == 0:
        layer = OnnxLayerNormalization(axis=axis, epsilon=epsilon, center=offset is not None,
                                       return_statistics=statistics, name=context.layer_name(node))
        outputs = layer(x)
        set_layer_weights(layer, arrays)
        return outputs if statistics else [outputs]
    layer = normalization.LayerNormalization(
        axis=list(range(axis, rank)), epsilon=epsilon, center=offset is not None,
        name=context.layer_name(node))
    y = layer(x)
    set_layer_weights(layer, arrays)
    return [y]


@converts("InstanceNormalization")
def convert_instance_normalization(context, node) -> list:
    x = image_input(context, node)
    channels = x.shape[1]
    scale, offset = context.constant(node, 1), context.constant(node, 2)
    if channels is None or scale.shape != (channels,) or offset.shape != (channels,):
        raise FormatError(f"{context.where(node)}: scale and B must have shape (C,) for inputs "
                          f"of shape {tuple(x.shape)}")
    layer = normalization.GroupNormalization(
        groups=channels, axis=1, epsilon=float(context.attribute(node, "epsilon", 1e-5)),
        name=context.layer_name(node))
    y = layer(x)
    set_layer_weights(layer, [scale, offset])
    return [y]


@lowers(normalization.SpectralNormalization)
def spectral_normalization(graph, node, args, kwargs):
    """The wrapped layer's own lowering (Keras's inference runs it on the stored kernel), its
    result cast to the inputs' dtype as Keras does."""
    layer = node.layer
    inner = layer.layer
    lowering = lowering_for(inner)
    if lowering is None:
        refuse_export(layer, f"SpectralNormalization around {type(inner).__name__}")
    inner_output = SymbolicTensor(node.outputs[0].shape, inner.compute_dtype)
    child = InnerNode(inner, input_tensors=node.input_tensors, call_args=node.call_args[:1],
                      outputs=[inner_output])
    result = lowering(graph, child, list(args[:1]), {})
    if not isinstance(result, str):
        refuse_export(layer, f"SpectralNormalization around {type(inner).__name__} with several "
                             f"outputs")
    return cast_to(graph, result, inner.compute_dtype, node.outputs[0].dtype, layer.name)

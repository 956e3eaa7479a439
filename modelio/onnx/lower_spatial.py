"""ONNX lowerings of the spatial layers: convolutions, batch normalization, pooling, padding.

ONNX's Conv and pooling ops work on NCHW tensors, so a channels-last layer is lowered as a
Transpose to channels-first, the op, and a Transpose back; `passes.cancel_transposes` later
removes the pairs that meet between consecutive layers. Padding is always explicit (`pads`),
computed by modelio's own same/causal rules, so it cannot drift from the numpy kernels."""

import numpy as np
import onnx
from onnx import helper

from ..errors import UnsupportedError
from ..kernels import convolution as conv_kernels
from ..kernels import pooling as pool_kernels
from ..layers import conv, normalization, pooling, preprocessing, reshaping
from .activations import lower_activation
from .lower_operations import reduce
from .masks import has_mask, mask_of
from .registry import lowers_float32  # these lowerings write float32 constants


def _to_channels_first(graph, x, rank, hint):
    return graph.node("Transpose", [x], hint, perm=[0, rank + 1, *range(1, rank + 1)])


def _to_channels_last(graph, x, rank, hint):
    return graph.node("Transpose", [x], hint, perm=[0, *range(2, rank + 2), 1])


def _spatial_sizes(node, rank, channels_first):
    shape = node.input_tensors[0].shape
    return list(shape[2:]) if channels_first else list(shape[1:rank + 1])


def _onnx_pads(pairs):
    return [before for before, _ in pairs] + [after for _, after in pairs]


def _conv_pads(layer, sizes):
    """Explicit (before, after) per spatial axis, from modelio's own padding rule."""
    pairs = []
    for size, k, s, d in zip(sizes, layer.kernel_size, layer.strides, layer.dilation_rate):
        if size is None:
            if layer.padding == "same" and s > 1:
                raise UnsupportedError(f"layer '{layer.name}': exporting padding='same' with "
                                       f"strides > 1 needs known spatial sizes")
            size = 1  # the amounts of valid, causal and stride-1 same do not depend on it
        pairs.append(conv_kernels.padding_amounts(size, k, s, d, layer.padding))
    return _onnx_pads(pairs)


def _channels_first_call(graph, layer, x, rank, body):
    """Run `body(x_nchw) -> y_nchw` in the layer's layout."""
    if layer.data_format == "channels_first":
        return body(x)
    return _to_channels_last(graph, body(_to_channels_first(graph, x, rank, layer.name)), rank,
                             layer.name)


def _conv_node(graph, layer, x, weight, bias, pads, group, kernel_shape=None, strides=None,
               dilations=None):
    inputs = [x, weight] + ([bias] if bias is not None else [])
    return graph.node("Conv", inputs, layer.name,
                      kernel_shape=list(kernel_shape if kernel_shape is not None
                                        else layer.kernel_size),
                      strides=list(strides if strides is not None else layer.strides),
                      dilations=list(dilations if dilations is not None else layer.dilation_rate),
                      pads=pads, group=group)


def _float_input(graph, node, x):
    """Integer and bool inputs are cast to float32 as the layers do; other float widths are
    refused (the weights are exported as float32)."""
    dtype = node.input_tensors[0].dtype
    if dtype == "float32":
        return x
    if dtype.startswith("float"):
        raise UnsupportedError(f"layer '{node.layer.name}': exporting {dtype} inputs of "
                               f"{type(node.layer).__name__} to ONNX is not supported yet")
    return graph.node("Cast", [x], node.layer.name, to=1)


def _refuse_masks(node, kwargs):
    if kwargs.get("mask") is not None:
        raise UnsupportedError(f"layer '{node.layer.name}': exporting masks to ONNX is not "
                               f"supported yet")


def _conv_activation(graph, node, y):
    """The layer's activation on the convolution output `y` (in the layer's layout).

    glu halves the last axis; the graph declares modelio's symbolic output shape, so a glu
    convolution is exported only when that shape says the halved width (layers/conv.py's shape
    rule must halve it, as Dense and Activation do) and the last axis holds the channels."""
    layer = node.layer
    if layer.activation_name == "glu":
        if layer.data_format != "channels_last":
            raise UnsupportedError(f"layer '{layer.name}': exporting a channels_first "
                                   f"{type(layer).__name__} with activation 'glu' (which halves "
                                   f"the last spatial axis) to ONNX is not supported")
        channels = getattr(layer, "filters", None)
        if channels is None:  # depthwise: channels * depth_multiplier
            channels = node.input_tensors[0].shape[-1] * layer.depth_multiplier
        declared = node.outputs[0].shape[-1]
        if declared != channels // 2:
            raise UnsupportedError(f"layer '{layer.name}': modelio's symbolic output of "
                                   f"{type(layer).__name__} with activation 'glu' declares "
                                   f"{declared} channels where glu gives {channels // 2}; "
                                   f"exporting it would declare a wrong ONNX output shape")
    return lower_activation(graph, layer.activation_name, y, layer.name, layer.name)


def _as_declared(graph, node, y):
    """`y`, which keeps the input's dtype, cast to the dtype modelio's symbolic output declares
    (Keras's rule: the compute dtype, float32, even where the numpy call keeps an integer
    dtype); the values are the same."""
    declared = np.dtype(node.outputs[0].dtype)
    if np.dtype(node.input_tensors[0].dtype) == declared:
        return y
    return graph.node("Cast", [y], node.layer.name, to=helper.np_dtype_to_tensor_dtype(declared))


@lowers_float32(conv.Conv1D, conv.Conv2D, conv.Conv3D)
def convolution(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.rank
    pads = _conv_pads(layer, _spatial_sizes(node, rank, layer.data_format == "channels_first"))
    kernel = np.transpose(layer.kernel.value, [rank + 1, rank, *range(rank)])
    weight = graph.weight(layer.kernel, kernel, layout="onnx")
    bias = graph.weight(layer.bias) if layer.bias is not None else None
    y = _channels_first_call(graph, layer, _float_input(graph, node, args[0]), rank,
                             lambda x: _conv_node(graph, layer, x, weight, bias, pads, layer.groups))
    return _conv_activation(graph, node, y)


def _depthwise_weight(graph, layer, kernel_weight):
    """(*window, C, M) -> ONNX grouped-conv weight (C*M, 1, *window); output c*M+m."""
    rank = layer.rank
    kernel = kernel_weight.value
    channels, multiplier = kernel.shape[-2:]
    flat = kernel.reshape(*kernel.shape[:rank], channels * multiplier)
    onnx_kernel = np.moveaxis(flat, -1, 0)[:, None]
    return graph.weight(kernel_weight, onnx_kernel, layout="onnx"), channels


@lowers_float32(conv.DepthwiseConv1D, conv.DepthwiseConv2D)
def depthwise_convolution(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.rank
    pads = _conv_pads(layer, _spatial_sizes(node, rank, layer.data_format == "channels_first"))
    weight, channels = _depthwise_weight(graph, layer, layer.kernel)
    bias = graph.weight(layer.bias) if layer.bias is not None else None
    y = _channels_first_call(graph, layer, _float_input(graph, node, args[0]), rank,
                             lambda x: _conv_node(graph, layer, x, weight, bias, pads, channels))
    return _conv_activation(graph, node, y)


@lowers_float32(conv.SeparableConv1D, conv.SeparableConv2D)
def separable_convolution(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.rank
    pads = _conv_pads(layer, _spatial_sizes(node, rank, layer.data_format == "channels_first"))
    depthwise, channels = _depthwise_weight(graph, layer, layer.depthwise_kernel)
    pointwise_kernel = np.transpose(layer.pointwise_kernel.value, [rank + 1, rank, *range(rank)])
    pointwise = graph.weight(layer.pointwise_kernel, pointwise_kernel, layout="onnx")
    bias = graph.weight(layer.bias) if layer.bias is not None else None
    ones = [1] * rank

    def body(x):
        hidden = _conv_node(graph, layer, x, depthwise, None, pads, channels)
        return _conv_node(graph, layer, hidden, pointwise, bias, [0] * (2 * rank), 1, ones, ones, ones)

    y = _channels_first_call(graph, layer, _float_input(graph, node, args[0]), rank, body)
    return _conv_activation(graph, node, y)


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
    x = _float_input(graph, node, args[0])
    y = graph.node("Mul", [x, graph.constant(scale.reshape(broadcast), f"{layer.name}/scale",
                                             "float32")], layer.name)
    return graph.node("Add", [y, graph.constant(shift.reshape(broadcast), f"{layer.name}/shift",
                                                "float32")], layer.name)


@lowers_float32(pooling.MaxPooling1D, pooling.MaxPooling2D, pooling.MaxPooling3D,
        pooling.AveragePooling1D, pooling.AveragePooling2D, pooling.AveragePooling3D)
def pool(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.pool_dimensions
    sizes = _spatial_sizes(node, rank, layer.data_format == "channels_first")
    pairs = []
    for size, window, stride in zip(sizes, layer.pool_size, layer.strides):
        if layer.padding.lower() == "valid":
            pairs.append((0, 0))
        elif size is None:
            raise UnsupportedError(f"layer '{layer.name}': exporting padding='same' pooling "
                                   f"needs known spatial sizes")
        else:
            pairs.append(pool_kernels.same_padding(size, window, stride))
    pads = _onnx_pads(pairs)
    attributes = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides), pads=pads)
    if layer.pool_mode == "max":
        def body(x):
            return graph.node("MaxPool", [x], layer.name, **attributes)
    else:
        def body(x):
            return graph.node("AveragePool", [x], layer.name, count_include_pad=0, **attributes)
    return _channels_first_call(graph, layer, _float_input(graph, node, args[0]), rank, body)


@lowers_float32(pooling.GlobalMaxPooling1D, pooling.GlobalMaxPooling2D, pooling.GlobalMaxPooling3D,
        pooling.GlobalAveragePooling1D, pooling.GlobalAveragePooling2D,
        pooling.GlobalAveragePooling3D)
def global_pool(graph, node, args, kwargs):
    if isinstance(node.layer, pooling.GlobalAveragePooling1D) and has_mask(kwargs):
        return _masked_average_over_steps(graph, node, args, kwargs)
    _refuse_masks(node, kwargs)
    layer = node.layer
    axes = list(pooling.spatial_axes(layer.data_format, layer.pool_dimensions))
    op = "ReduceMax" if layer.pool_mode == "max" else "ReduceMean"
    return reduce(graph, op, _float_input(graph, node, args[0]), axes, int(layer.keepdims),
                   layer.name)


def _masked_average_over_steps(graph, node, args, kwargs):
    """GlobalAveragePooling1D with a (batch, steps) mask: the mean of the kept steps (a sample
    with every step masked gives NaN, as in Keras)."""
    mask = mask_of(graph, node, kwargs)
    layer, hint = node.layer, node.layer.name
    dtype = np.dtype(layer.compute_dtype)
    x = args[0]
    if np.dtype(node.input_tensors[0].dtype) != dtype:
        x = graph.node("Cast", [x], hint, to=helper.np_dtype_to_tensor_dtype(dtype))
    channels_last = layer.data_format == "channels_last"
    steps_axis = 1 if channels_last else 2
    keep = graph.node("Unsqueeze", [mask, graph.ints([2 if channels_last else 1],
                                                     f"{hint}/mask_axis")], hint)
    kept = graph.node("Where", [keep, x, graph.constant(np.zeros((), dtype), f"{hint}/zero")], hint)
    axes = graph.ints([steps_axis], f"{hint}/steps_axis")
    keepdims = int(layer.keepdims)
    total = graph.node("ReduceSum", [kept, axes], hint, keepdims=keepdims)
    count = graph.node("ReduceSum", [graph.node("Cast", [keep], hint,
                                                to=helper.np_dtype_to_tensor_dtype(dtype)), axes],
                       hint, keepdims=keepdims)
    return graph.node("Div", [total, count], hint)


@lowers_float32(reshaping.ZeroPadding1D, reshaping.ZeroPadding2D, reshaping.ZeroPadding3D)
def zero_padding(graph, node, args, kwargs):
    layer = node.layer
    rank = len(layer.padding)
    pads = _onnx_pads([(0, 0), (0, 0), *[tuple(pair) for pair in layer.padding]])
    pads_name = graph.ints(pads, f"{layer.name}/pads")
    return _as_declared(graph, node, _channels_first_call(
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
    return _as_declared(graph, node, _channels_first_call(
        graph, layer, args[0], rank, lambda x: graph.node("Slice", [x, starts, ends, axes],
                                                          layer.name)))


@lowers_float32(reshaping.UpSampling1D, reshaping.UpSampling2D, reshaping.UpSampling3D)
def up_sampling(graph, node, args, kwargs):
    """Nearest: Resize with integer scales, asymmetric floor rounding (exact for integer factors).
    Bilinear (UpSampling2D): half-pixel linear Resize, integer images rounded back as modelio
    does."""
    layer = node.layer
    factors = list(layer.factors())
    rank = len(factors)
    scales = graph.constant([1.0, 1.0, *map(float, factors)], f"{layer.name}/scales", "float32")
    if getattr(layer, "interpolation", "nearest") == "bilinear":
        x, restore = float_work(graph, node, args[0])
        y = _channels_first_call(graph, layer, x, rank,
                                 lambda x: linear_resize(graph, x, layer.name, scales=scales))
        return restore(y)

    def body(x):
        return graph.node("Resize", [x, "", scales], layer.name, mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    if not hasattr(layer, "data_format"):  # UpSampling1D: always channels last
        x = _to_channels_first(graph, args[0], rank, layer.name)
        return _as_declared(graph, node, _to_channels_last(graph, body(x), rank, layer.name))
    return _as_declared(graph, node, _channels_first_call(graph, layer, args[0], rank, body))


# ----- resizing, shared with the preprocessing lowerings ------------------------------------------

def linear_resize(graph, x, hint, sizes=None, scales=None):
    """Half-pixel bilinear Resize of NCHW `x` to spatial `sizes` (H, W) or by `scales` (a
    4-value constant name): modelio's taps, with the coordinate clamped at both edges."""
    attributes = dict(mode="linear", coordinate_transformation_mode="half_pixel")
    if scales is not None:
        return graph.node("Resize", [x, "", scales], hint, **attributes)
    # Full-rank sizes even at opset 18+: onnxruntime rejects Resize's `axes` with `sizes` when
    # it loads the model ("Number of elements of input 'sizes' (0) does not match ...").
    leading = graph.node("Slice", [graph.node("Shape", [x], hint), graph.ints([0], f"{hint}/zero"),
                                   graph.ints([2], f"{hint}/two")], hint)
    full_sizes = graph.node("Concat", [leading, graph.ints(sizes, f"{hint}/sizes")], hint, axis=0)
    return graph.node("Resize", [x, "", "", full_sizes], hint, **attributes)


def float_work(graph, node, x):
    """(float32 `x`, restore) for a layer that resizes in float32 and gives integer images back
    rounded and saturated to their own dtype's range, as `_resize_preserving_dtype` does.

    modelio's symbolic output (like Keras's) says float32 even where the numpy call returns the
    integer dtype; `restore` gives the dtype the graph declares, holding the same values."""
    dtype = node.input_tensors[0].dtype
    if dtype == "float32":
        return x, lambda y: y
    if dtype.startswith("float") or dtype == "bool":
        raise UnsupportedError(f"layer '{node.layer.name}': exporting {dtype} inputs of "
                               f"{type(node.layer).__name__} to ONNX is not supported yet")
    hint = node.layer.name
    info = np.iinfo(np.dtype(dtype))
    declared = np.dtype(node.outputs[0].dtype)

    def restore(y):
        y = graph.node("Clip", [graph.node("Round", [y], hint),
                                graph.constant(float(info.min), f"{hint}/min", "float32"),
                                graph.constant(float(info.max), f"{hint}/max", "float32")], hint)
        if declared == np.float32:
            return y
        return graph.node("Cast", [y], hint, to=helper.np_dtype_to_tensor_dtype(declared))

    return graph.node("Cast", [x], hint, to=onnx.TensorProto.FLOAT), restore


@lowers_float32(preprocessing.Rescaling)
def rescaling(graph, node, args, kwargs):
    layer = node.layer
    x = args[0]
    if node.input_tensors[0].dtype != "float32":
        x = graph.node("Cast", [x], layer.name, to=1)
    y = graph.node("Mul", [x, graph.constant(layer.scale_value, f"{layer.name}/scale", "float32")],
                   layer.name)
    return graph.node("Add", [y, graph.constant(layer.offset_value, f"{layer.name}/offset", "float32")],
                      layer.name)


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
    x = _float_input(graph, node, args[0])
    rank = len(node.input_tensors[0].shape)
    axes = sorted(normalization.positive_axes(
        layer, normalization.sorted_axes(layer.axis), rank))
    mean_square = reduce(graph, "ReduceMean", graph.node("Mul", [x, x], hint), axes, 1, hint)
    epsilon = graph.constant(layer.epsilon, f"{hint}/epsilon", "float32")
    inverse = graph.node("Reciprocal", [graph.node("Sqrt", [graph.node(
        "Add", [mean_square, epsilon], hint)], hint)], hint)
    scale = graph.weight(layer.scale, np.ascontiguousarray(layer.scale.value.astype(np.float32)))
    return graph.node("Mul", [graph.node("Mul", [x, inverse], hint), scale], hint)


@lowers_float32(conv.Conv1DTranspose, conv.Conv2DTranspose, conv.Conv3DTranspose)
def convolution_transpose(graph, node, args, kwargs):
    """ONNX ConvTranspose (same no-flip scatter as modelio's kernel) with Keras's crops as pads;
    a negative crop (zeros appended) becomes `output_padding`."""
    layer, rank = node.layer, node.layer.rank
    crops = [conv_kernels.conv_transpose_crops(k, s, d, layer.padding, pad)
             for k, s, d, pad in zip(layer.kernel_size, layer.strides, layer.dilation_rate,
                                     layer.output_paddings())]
    pads = [start for start, _ in crops] + [max(end, 0) for _, end in crops]
    output_padding = [max(-end, 0) for _, end in crops]
    kernel = np.transpose(layer.kernel.value, [rank + 1, rank, *range(rank)])
    weight = graph.weight(layer.kernel, kernel, layout="onnx")
    inputs = [weight] + ([graph.weight(layer.bias)] if layer.bias is not None else [])

    def body(x):
        return graph.node("ConvTranspose", [x, *inputs], layer.name,
                          kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                          dilations=list(layer.dilation_rate), pads=pads,
                          output_padding=output_padding)

    y = _channels_first_call(graph, layer, _float_input(graph, node, args[0]), rank, body)
    return _conv_activation(graph, node, y)


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

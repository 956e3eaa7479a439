"""Both ONNX directions for the convolution family (modelio/layers/conv/): Conv, DepthwiseConv,
SeparableConv and ConvTranspose layers as ONNX Conv/ConvTranspose nodes (channels-last layers
wrapped in layout Transposes that passes.cancel_transposes removes between layers; padding always
explicit, from modelio's own same/causal rules); ONNX's Conv and ConvTranspose imported as
channels_first Keras layers, or as OnnxConv/OnnxConvTranspose where no Keras layer fits."""

import numpy as np

from ..errors import FormatError, UnsupportedError
from ..kernels import convolution as conv_kernels
from ..layers import conv
from ..ops import (
    OnnxConv,
    OnnxConvTranspose,
)
from .activation_functions import lower_activation
from .export_support import channels_first_call, float_input, onnx_pads, spatial_sizes
from .import_support.constants import bounded_tensor
from .import_support.layer_calls import extra_name, set_layer_weights
from .import_support.sizes import require_dim
from .import_support.windows import (
    explicit_pads,
    image_input,
    ints_attribute,
    keras_padding,
    strides_and_dilations,
)
from .registry import (
    converts,
    lowers_float32,  # these lowerings write float32 constants
)
from .reshaping import CROPPING_BY_RANK, ZERO_PADDING_BY_RANK


def _conv_pads(layer, sizes):
    """Explicit pads (begins then ends) from modelio's own padding rule; "SAME_UPPER" (ONNX's
    auto_pad, TF's same: the extra cell after) for padding='same' with strides on spatial sizes
    known only at run time."""
    pairs = []
    for size, k, s, d in zip(sizes, layer.kernel_size, layer.strides, layer.dilation_rate):
        if size is None:
            if layer.padding == "same" and s > 1:
                return "SAME_UPPER"
            size = 1  # the amounts of valid, causal and stride-1 same do not depend on it
        pairs.append(conv_kernels.padding_amounts(size, k, s, d, layer.padding))
    return onnx_pads(pairs)


def _conv_node(graph, layer, x, weight, bias, pads, group, kernel_shape=None, strides=None,
               dilations=None):
    inputs = [x, weight] + ([bias] if bias is not None else [])
    padding = {"auto_pad": pads} if isinstance(pads, str) else {"pads": pads}
    return graph.node("Conv", inputs, layer.name,
                      kernel_shape=list(kernel_shape if kernel_shape is not None
                                        else layer.kernel_size),
                      strides=list(strides if strides is not None else layer.strides),
                      dilations=list(dilations if dilations is not None else layer.dilation_rate),
                      group=group, **padding)


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


@lowers_float32(conv.Conv1D, conv.Conv2D, conv.Conv3D)
def convolution(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.rank
    pads = _conv_pads(layer, spatial_sizes(node, rank, layer.data_format == "channels_first"))
    kernel = np.transpose(layer.kernel.value, [rank + 1, rank, *range(rank)])
    weight = graph.weight(layer.kernel, kernel, layout="onnx")
    bias = graph.weight(layer.bias) if layer.bias is not None else None
    y = channels_first_call(graph, layer, float_input(graph, node, args[0]), rank,
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
    pads = _conv_pads(layer, spatial_sizes(node, rank, layer.data_format == "channels_first"))
    weight, channels = _depthwise_weight(graph, layer, layer.kernel)
    bias = graph.weight(layer.bias) if layer.bias is not None else None
    y = channels_first_call(graph, layer, float_input(graph, node, args[0]), rank,
                             lambda x: _conv_node(graph, layer, x, weight, bias, pads, channels))
    return _conv_activation(graph, node, y)


@lowers_float32(conv.SeparableConv1D, conv.SeparableConv2D)
def separable_convolution(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.rank
    pads = _conv_pads(layer, spatial_sizes(node, rank, layer.data_format == "channels_first"))
    depthwise, channels = _depthwise_weight(graph, layer, layer.depthwise_kernel)
    pointwise_kernel = np.transpose(layer.pointwise_kernel.value, [rank + 1, rank, *range(rank)])
    pointwise = graph.weight(layer.pointwise_kernel, pointwise_kernel, layout="onnx")
    bias = graph.weight(layer.bias) if layer.bias is not None else None
    ones = [1] * rank

    def body(x):
        hidden = _conv_node(graph, layer, x, depthwise, None, pads, channels)
        return _conv_node(graph, layer, hidden, pointwise, bias, [0] * (2 * rank), 1, ones, ones, ones)

    y = channels_first_call(graph, layer, float_input(graph, node, args[0]), rank, body)
    return _conv_activation(graph, node, y)


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

    y = channels_first_call(graph, layer, float_input(graph, node, args[0]), rank, body)
    return _conv_activation(graph, node, y)


_CONV = {1: conv.Conv1D, 2: conv.Conv2D, 3: conv.Conv3D}


_DEPTHWISE = {1: conv.DepthwiseConv1D, 2: conv.DepthwiseConv2D}


_CONV_TRANSPOSE = {1: conv.Conv1DTranspose, 2: conv.Conv2DTranspose, 3: conv.Conv3DTranspose}


def _bias(context, node, index: int, filters: int):
    bias = context.constant(node, index, required=False)
    if bias is not None and bias.shape != (filters,):
        raise FormatError(f"{context.where(node)}: bias must have shape ({filters},), got "
                          f"{bias.shape}")
    return bias


def _kernel(context, node, rank_of_x: int):
    weights = context.constant(node, 1)
    if weights.ndim != rank_of_x:
        raise FormatError(f"{context.where(node)}: W must have rank {rank_of_x}, got shape "
                          f"{weights.shape}")
    kernel_shape = ints_attribute(context, node, "kernel_shape", rank_of_x - 2, 0)
    if kernel_shape != [0] * (rank_of_x - 2) and kernel_shape != list(weights.shape[2:]):
        raise FormatError(f"{context.where(node)}: kernel_shape {kernel_shape} does not match W's "
                          f"shape {weights.shape}")
    return weights, list(weights.shape[2:])


def _conv_operands(context, node) -> tuple:
    """(x, W, kernel_shape, strides, dilations, group) of an ONNX Conv or ConvTranspose, checked."""
    x = image_input(context, node)
    weights, kernel_shape = _kernel(context, node, len(x.shape))
    strides, dilations = strides_and_dilations(context, node, len(kernel_shape), kernel_shape)
    group = int(context.attribute(node, "group", 1))
    # the layer needs only the channel count, which W gives where the shapes upstream lost it
    channels = weights.shape[0] if node.op_type == "ConvTranspose" else weights.shape[1] * group
    require_dim(x, 1, channels)
    return x, weights, kernel_shape, strides, dilations, group


def _refuse_group(context, node, weights, group: int, x):
    raise FormatError(f"{context.where(node)}: W of shape {weights.shape} with group={group} "
                      f"does not fit inputs of shape {tuple(x.shape)}")


@converts("Conv")
def convert_conv(context, node) -> list:
    x, weights, kernel_shape, strides, dilations, group = _conv_operands(context, node)
    rank = len(kernel_shape)
    filters, channels = weights.shape[0], x.shape[1]
    if group < 1 or filters % group or (channels is not None and channels != weights.shape[1] * group):
        _refuse_group(context, node, weights, group, x)
    bias = _bias(context, node, 2, filters)
    sizes = x.shape[2:]
    pads = explicit_pads(context, node, sizes, kernel_shape, strides, dilations)
    if max(strides) > 1 and max(dilations) > 1:
        if pads == "same":
            raise UnsupportedError(f"{context.where(node)}: SAME padding with strides and "
                                   f"dilations needs known spatial sizes")
        layer = OnnxConv(filters, kernel_shape, strides, pads, dilations, group,
                         use_bias=bias is not None, name=context.layer_name(node))
        y = layer(x)
        set_layer_weights(layer, [weights] + ([bias] if bias is not None else []))
        return [y]
    padding = keras_padding(pads, sizes, kernel_shape, strides, dilations)
    if padding is None:
        x = ZERO_PADDING_BY_RANK[rank](
            [(pads[axis], pads[axis + rank]) for axis in range(rank)] if rank > 1
            else (pads[0], pads[1]),
            data_format="channels_first", name=extra_name(context, node, "pad"))(x)
        padding = "valid"
    common = dict(kernel_size=kernel_shape, strides=strides, padding=padding,
                  data_format="channels_first", dilation_rate=dilations,
                  use_bias=bias is not None, name=context.layer_name(node))
    if x.dtype in ("float16", "float64"):  # ONNX Conv computes in its input's float type
        common["dtype"] = x.dtype
    if group > 1 and group == channels and weights.shape[1] == 1 and rank in _DEPTHWISE:
        multiplier = filters // group
        layer = _DEPTHWISE[rank](depth_multiplier=multiplier, **common)
        # ONNX output channel c * multiplier + j is Keras's kernel[..., c, j].
        kernel = np.moveaxis(weights.reshape(group, multiplier, *kernel_shape), (0, 1),
                             (-2, -1))
    else:
        layer = _CONV[rank](filters=filters, groups=group, **common)
        kernel = np.moveaxis(weights, (0, 1), (-1, -2))
    y = layer(x)
    set_layer_weights(layer, [kernel] + ([bias] if bias is not None else []))
    return [y]


@converts("ConvTranspose")
def convert_conv_transpose(context, node) -> list:
    x, weights, kernel_shape, strides, dilations, group = _conv_operands(context, node)
    rank = len(kernel_shape)
    channels = x.shape[1]
    if group < 1 or weights.shape[0] % group or (channels is not None and channels != weights.shape[0]):
        _refuse_group(context, node, weights, group, x)
    filters = weights.shape[1] * group
    bias = _bias(context, node, 2, filters)
    output_padding = ints_attribute(context, node, "output_padding", rank, 0)
    pads = _transpose_pads(context, node, x.shape[2:], kernel_shape, strides, dilations,
                           output_padding)
    keras_ok = (group == 1 and not (max(strides) > 1 and max(dilations) > 1)
                and all(pad < stride for pad, stride in zip(output_padding, strides))
                and (not any(pads) or (rank in CROPPING_BY_RANK and min(pads) >= 0)))
    if not keras_ok:
        layer = OnnxConvTranspose(filters, kernel_shape, strides, pads, dilations, group,
                                  use_bias=bias is not None, output_padding=output_padding,
                                  name=context.layer_name(node))
        y = bounded_tensor(context, node, layer(x))
        set_layer_weights(layer, [weights] + ([bias] if bias is not None else []))
        return [y]
    layer = _CONV_TRANSPOSE[rank](
        filters=filters, kernel_size=kernel_shape, strides=strides, padding="valid",
        output_padding=output_padding, data_format="channels_first", dilation_rate=dilations,
        use_bias=bias is not None, name=context.layer_name(node))
    y = bounded_tensor(context, node, layer(x))
    set_layer_weights(layer, [np.moveaxis(weights, (0, 1), (-1, -2))]
                 + ([bias] if bias is not None else []))
    if any(pads):
        y = CROPPING_BY_RANK[rank]([(pads[axis], pads[axis + rank]) for axis in range(rank)],
                            data_format="channels_first",
                            name=extra_name(context, node, "crop"))(y)
    return [y]


def _transpose_pads(context, node, sizes, kernel_shape, strides, dilations, output_padding):
    """ConvTranspose's pads (begins then ends), from `pads`, or from `output_shape`/auto_pad as
    the ONNX reference computes them."""
    rank = len(kernel_shape)
    auto_pad = context.attribute(node, "auto_pad", "NOTSET")
    output_shape = context.attribute(node, "output_shape", None)
    explicit = context.attribute(node, "pads", None)
    if explicit is not None and auto_pad in ("NOTSET", "VALID"):
        pads = ints_attribute(context, node, "pads", 2 * rank, 0)
    elif output_shape is None and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * rank)
    else:
        if any(size is None for size in sizes):
            raise UnsupportedError(f"{context.where(node)}: output_shape / auto_pad SAME need "
                                   f"known spatial sizes, the input has {tuple(sizes)}")
        output_shape = ([size * stride for size, stride in zip(sizes, strides)]
                        if output_shape is None else [int(size) for size in output_shape][-rank:])
        begins, ends = [], []
        for axis in range(rank):
            total = (strides[axis] * (sizes[axis] - 1) + output_padding[axis]
                     + (kernel_shape[axis] - 1) * dilations[axis] + 1 - output_shape[axis])
            small, large = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else large)
            ends.append(large if auto_pad == "SAME_UPPER" else small)
        pads = begins + ends
    if min(pads[:rank]) < 0:
        raise UnsupportedError(f"{context.where(node)}: negative leading pads {pads} are not "
                               f"supported")
    return pads

"""ONNX import of the image ops: Conv, ConvTranspose, pooling, normalization, Pad, Resize, LRN.

Keras layers with `data_format="channels_first"` are used whenever their numbers are exactly
ONNX's (ONNX's SAME_UPPER is Keras's "same"; explicit symmetric or asymmetric convolution pads
become a ZeroPadding layer before a "valid" convolution); the modelio layers of
modelio/layers/onnx_spatial.py carry the rest (ceil_mode pooling, strided dilated convolutions,
reflect padding, Resize, LRN). Weights are rearranged from ONNX's layouts to Keras's once, here.
"""

import numpy as np
import onnx

from ..errors import FormatError, ModelioError, UnsupportedError
from ..graph.tensor import SymbolicTensor
from ..kernels.padding import onnx_pad
from ..kernels.pooling import pool_window_count
from ..layers import conv, normalization, pooling, reshaping
from ..ops import (
    OnnxConv,
    OnnxConvTranspose,
    OnnxLayerNormalization,
    OnnxLRN,
    OnnxPad,
    OnnxPool,
    OnnxResize,
)
from .registry import converts

_CONV = {1: conv.Conv1D, 2: conv.Conv2D, 3: conv.Conv3D}
_DEPTHWISE = {1: conv.DepthwiseConv1D, 2: conv.DepthwiseConv2D}
_CONV_TRANSPOSE = {1: conv.Conv1DTranspose, 2: conv.Conv2DTranspose, 3: conv.Conv3DTranspose}
_ZERO_PADDING = {1: reshaping.ZeroPadding1D, 2: reshaping.ZeroPadding2D, 3: reshaping.ZeroPadding3D}
_CROPPING = {2: reshaping.Cropping2D, 3: reshaping.Cropping3D}
_MAX_POOL = {1: pooling.MaxPooling1D, 2: pooling.MaxPooling2D, 3: pooling.MaxPooling3D}
_AVERAGE_POOL = {1: pooling.AveragePooling1D, 2: pooling.AveragePooling2D,
                 3: pooling.AveragePooling3D}
_GLOBAL_AVERAGE = {1: pooling.GlobalAveragePooling1D, 2: pooling.GlobalAveragePooling2D,
                   3: pooling.GlobalAveragePooling3D}
_GLOBAL_MAX = {1: pooling.GlobalMaxPooling1D, 2: pooling.GlobalMaxPooling2D,
               3: pooling.GlobalMaxPooling3D}

MAX_CONSTANT_ELEMENTS = 2**28
MAX_SAMPLE_ELEMENTS = 2**28


# ----- helpers ------------------------------------------------------------------------------------

def _extra_name(context, node, suffix: str) -> str:
    """A unique layer name for a second layer made from `node`."""
    base = f"{node.name or node.output[0]}_{suffix}"
    return context.layer_name(onnx.NodeProto(name=base, op_type=node.op_type))


def _image_input(context, node, what: str = "X") -> SymbolicTensor:
    x = context.tensor(node, 0)
    if len(x.shape) < 3 or len(x.shape) > 5:
        raise UnsupportedError(f"{context.where(node)}: {what} must have rank 3 to 5 (N, C, "
                               f"spatial...), got shape {tuple(x.shape)}")
    return x


def _ints_attribute(context, node, name: str, length: int, default: int) -> list:
    value = context.attribute(node, name, None)
    if value is None:
        return [default] * length
    value = [int(item) for item in value]
    if len(value) != length:
        raise FormatError(f"{context.where(node)}: attribute {name} must have {length} entries, "
                          f"got {value}")
    return value


def _window(context, node, rank: int, kernel_shape) -> tuple:
    """(strides, dilations) of a windowed op, checked."""
    strides = _ints_attribute(context, node, "strides", rank, 1)
    dilations = _ints_attribute(context, node, "dilations", rank, 1)
    if min(strides) < 1 or min(dilations) < 1 or min(kernel_shape) < 1:
        raise FormatError(f"{context.where(node)}: kernel_shape, strides and dilations must be "
                          f"positive, got {list(kernel_shape)}, {strides}, {dilations}")
    return strides, dilations


def _same_pads(sizes, kernel_shape, strides, dilations, lower: bool) -> list | None:
    """ONNX's SAME_UPPER / SAME_LOWER pads (begins then ends) for known spatial `sizes`."""
    if any(size is None for size in sizes):
        return None
    begins, ends = [], []
    for size, kernel, stride, dilation in zip(sizes, kernel_shape, strides, dilations):
        out = -(-size // stride)
        total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(large if lower else small)
        ends.append(small if lower else large)
    return begins + ends


def _explicit_pads(context, node, sizes, kernel_shape, strides, dilations) -> list | str:
    """The pads of a Conv/Pool node as a list, or "same" for SAME_UPPER on unknown sizes."""
    rank = len(kernel_shape)
    auto_pad = context.attribute(node, "auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return [0] * (2 * rank)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(sizes, kernel_shape, strides, dilations, auto_pad == "SAME_LOWER")
        if pads is None:
            if auto_pad == "SAME_LOWER":
                raise UnsupportedError(f"{context.where(node)}: auto_pad SAME_LOWER needs known "
                                       f"spatial sizes, the input has {tuple(sizes)}")
            return "same"
        return pads
    if auto_pad != "NOTSET":
        raise FormatError(f"{context.where(node)}: unknown auto_pad {auto_pad!r}")
    pads = _ints_attribute(context, node, "pads", 2 * rank, 0)
    if min(pads) < 0:
        raise FormatError(f"{context.where(node)}: pads must be >= 0, got {pads}")
    return pads


def _keras_padding(pads, sizes, kernel_shape, strides, dilations) -> str | None:
    """"valid" or "same" when Keras's padding is exactly `pads`, else None."""
    if pads == "same":
        return "same"
    if not any(pads):
        return "valid"
    if pads == _same_pads(sizes, kernel_shape, strides, dilations, lower=False):
        return "same"
    return None


def _bounded(context, node, tensor):
    """`tensor`, refused when one sample would hold more than MAX_SAMPLE_ELEMENTS values (a
    hostile Resize / Pad / ConvTranspose must fail here, not when the model first runs)."""
    size = float(np.prod([dim for dim in tensor.shape[1:] if dim is not None], dtype=np.float64))
    if size > MAX_SAMPLE_ELEMENTS:
        raise FormatError(f"{context.where(node)}: the output of shape {tuple(tensor.shape)} "
                          f"would hold {size:.3g} values per sample (at most "
                          f"{MAX_SAMPLE_ELEMENTS} are imported)")
    return tensor


def _set_weights(layer, arrays) -> None:
    """Give `layer` the arrays (views of the initializers where they only rearrange them: the
    weights are adopted, not copied, so an imported model holds its weights once)."""
    if len(arrays) != len(layer.weights):
        raise FormatError(f"layer '{layer.name}' expects {len(layer.weights)} weight(s), got "
                          f"{len(arrays)}")
    for weight, array in zip(layer.weights, arrays):
        weight.assign(np.asarray(array, dtype=weight.value.dtype), copy=False)


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
    kernel_shape = _ints_attribute(context, node, "kernel_shape", rank_of_x - 2, 0)
    if kernel_shape != [0] * (rank_of_x - 2) and kernel_shape != list(weights.shape[2:]):
        raise FormatError(f"{context.where(node)}: kernel_shape {kernel_shape} does not match W's "
                          f"shape {weights.shape}")
    return weights, list(weights.shape[2:])


# ----- Conv -----------------------------------------------------------------------------------

@converts("Conv")
def convert_conv(context, node) -> list:
    x = _image_input(context, node)
    weights, kernel_shape = _kernel(context, node, len(x.shape))
    rank = len(kernel_shape)
    strides, dilations = _window(context, node, rank, kernel_shape)
    group = int(context.attribute(node, "group", 1))
    filters, channels = weights.shape[0], x.shape[1]
    if group < 1 or filters % group or (channels is not None and channels != weights.shape[1] * group):
        raise FormatError(f"{context.where(node)}: W of shape {weights.shape} with group={group} "
                          f"does not fit inputs of shape {tuple(x.shape)}")
    bias = _bias(context, node, 2, filters)
    sizes = x.shape[2:]
    pads = _explicit_pads(context, node, sizes, kernel_shape, strides, dilations)
    if max(strides) > 1 and max(dilations) > 1:
        if pads == "same":
            raise UnsupportedError(f"{context.where(node)}: SAME padding with strides and "
                                   f"dilations needs known spatial sizes")
        layer = OnnxConv(filters, kernel_shape, strides, pads, dilations, group,
                         use_bias=bias is not None, name=context.layer_name(node))
        y = layer(x)
        _set_weights(layer, [weights] + ([bias] if bias is not None else []))
        return [y]
    padding = _keras_padding(pads, sizes, kernel_shape, strides, dilations)
    if padding is None:
        x = _ZERO_PADDING[rank](
            [(pads[axis], pads[axis + rank]) for axis in range(rank)] if rank > 1
            else (pads[0], pads[1]),
            data_format="channels_first", name=_extra_name(context, node, "pad"))(x)
        padding = "valid"
    common = dict(kernel_size=kernel_shape, strides=strides, padding=padding,
                  data_format="channels_first", dilation_rate=dilations,
                  use_bias=bias is not None, name=context.layer_name(node))
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
    _set_weights(layer, [kernel] + ([bias] if bias is not None else []))
    return [y]


@converts("ConvTranspose")
def convert_conv_transpose(context, node) -> list:
    x = _image_input(context, node)
    weights, kernel_shape = _kernel(context, node, len(x.shape))
    rank = len(kernel_shape)
    strides, dilations = _window(context, node, rank, kernel_shape)
    group = int(context.attribute(node, "group", 1))
    channels = x.shape[1]
    if group < 1 or weights.shape[0] % group or (channels is not None and channels != weights.shape[0]):
        raise FormatError(f"{context.where(node)}: W of shape {weights.shape} with group={group} "
                          f"does not fit inputs of shape {tuple(x.shape)}")
    filters = weights.shape[1] * group
    bias = _bias(context, node, 2, filters)
    output_padding = _ints_attribute(context, node, "output_padding", rank, 0)
    pads = _transpose_pads(context, node, x.shape[2:], kernel_shape, strides, dilations,
                           output_padding)
    keras_ok = (group == 1 and not (max(strides) > 1 and max(dilations) > 1)
                and all(pad < stride for pad, stride in zip(output_padding, strides))
                and (not any(pads) or (rank in _CROPPING and min(pads) >= 0)))
    if not keras_ok:
        layer = OnnxConvTranspose(filters, kernel_shape, strides, pads, dilations, group,
                                  use_bias=bias is not None, output_padding=output_padding,
                                  name=context.layer_name(node))
        y = _bounded(context, node, layer(x))
        _set_weights(layer, [weights] + ([bias] if bias is not None else []))
        return [y]
    layer = _CONV_TRANSPOSE[rank](
        filters=filters, kernel_size=kernel_shape, strides=strides, padding="valid",
        output_padding=output_padding, data_format="channels_first", dilation_rate=dilations,
        use_bias=bias is not None, name=context.layer_name(node))
    y = _bounded(context, node, layer(x))
    _set_weights(layer, [np.moveaxis(weights, (0, 1), (-1, -2))]
                 + ([bias] if bias is not None else []))
    if any(pads):
        y = _CROPPING[rank]([(pads[axis], pads[axis + rank]) for axis in range(rank)],
                            data_format="channels_first",
                            name=_extra_name(context, node, "crop"))(y)
    return [y]


def _transpose_pads(context, node, sizes, kernel_shape, strides, dilations, output_padding):
    """ConvTranspose's pads (begins then ends), from `pads`, or from `output_shape`/auto_pad as
    the ONNX reference computes them."""
    rank = len(kernel_shape)
    auto_pad = context.attribute(node, "auto_pad", "NOTSET")
    output_shape = context.attribute(node, "output_shape", None)
    explicit = context.attribute(node, "pads", None)
    if explicit is not None and auto_pad in ("NOTSET", "VALID"):
        pads = _ints_attribute(context, node, "pads", 2 * rank, 0)
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


# ----- pooling --------------------------------------------------------------------------------

@converts("MaxPool", "AveragePool")
def convert_pool(context, node) -> list:
    x = _image_input(context, node)
    indices = len(node.output) > 1 and bool(node.output[1])
    rank = len(x.shape) - 2
    kernel_shape = context.attribute(node, "kernel_shape", None)
    if kernel_shape is None or len(kernel_shape) != rank:
        raise FormatError(f"{context.where(node)}: kernel_shape must list {rank} sizes, got "
                          f"{kernel_shape}")
    kernel_shape = [int(size) for size in kernel_shape]
    strides, dilations = _window(context, node, rank, kernel_shape)
    storage_order = int(context.attribute(node, "storage_order", 0))
    ceil_mode = bool(context.attribute(node, "ceil_mode", 0))
    count_include_pad = bool(context.attribute(node, "count_include_pad", 0))
    mode = "max" if node.op_type == "MaxPool" else "average"
    sizes = x.shape[2:]
    pads = _explicit_pads(context, node, sizes, kernel_shape, strides, dilations)
    padding = _keras_padding(pads, sizes, kernel_shape, strides, dilations)
    if padding == "same" and mode == "average" and count_include_pad:
        padding = None
    if padding == "same" and pads != "same" and ceil_mode:
        padding = None  # the explicit pads ceil_mode would change are checked below
    if padding == "valid" and ceil_mode and not _ceil_mode_changes_nothing(
            sizes, kernel_shape, strides, dilations):
        padding = None
    integer_max = mode == "max" and np.dtype(x.dtype).kind in "iu"
    if padding is not None and max(dilations) == 1 and not integer_max and not indices:
        layers = _MAX_POOL if mode == "max" else _AVERAGE_POOL
        return [layers[rank](pool_size=kernel_shape, strides=strides, padding=padding,
                             data_format="channels_first", name=context.layer_name(node))(x)]
    if pads == "same":
        raise UnsupportedError(f"{context.where(node)}: auto_pad SAME with these options needs "
                               f"known spatial sizes")
    # Keras pools compute in float; an integer MaxPool keeps its dtype in OnnxPool.
    dtype = {"dtype": x.dtype} if integer_max else {}
    layer = OnnxPool(mode, kernel_shape, strides, pads, dilations, ceil_mode, count_include_pad,
                     return_indices=indices, storage_order=storage_order if indices else 0,
                     name=context.layer_name(node), **dtype)
    outputs = layer(x)
    return outputs if indices else [outputs]


def _ceil_mode_changes_nothing(sizes, kernel_shape, strides, dilations) -> bool:
    """Whether ceil_mode gives the floor output sizes (unpadded windows, known sizes)."""
    return all(size is not None and pool_window_count(size, kernel, stride, dilation, 0, 0, True)
               == pool_window_count(size, kernel, stride, dilation, 0, 0, False)
               for size, kernel, stride, dilation in zip(sizes, kernel_shape, strides, dilations))


@converts("GlobalAveragePool", "GlobalMaxPool")
def convert_global_pool(context, node) -> list:
    x = _image_input(context, node)
    layers = _GLOBAL_AVERAGE if node.op_type == "GlobalAveragePool" else _GLOBAL_MAX
    return [layers[len(x.shape) - 2](data_format="channels_first", keepdims=True,
                                     name=context.layer_name(node))(x)]


# ----- normalization --------------------------------------------------------------------------

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
    _set_weights(layer, [scale, offset, mean, variance])
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
        _set_weights(layer, arrays)
        return outputs if statistics else [outputs]
    layer = normalization.LayerNormalization(
        axis=list(range(axis, rank)), epsilon=epsilon, center=offset is not None,
        name=context.layer_name(node))
    y = layer(x)
    _set_weights(layer, arrays)
    return [y]


@converts("InstanceNormalization")
def convert_instance_normalization(context, node) -> list:
    x = _image_input(context, node)
    channels = x.shape[1]
    scale, offset = context.constant(node, 1), context.constant(node, 2)
    if channels is None or scale.shape != (channels,) or offset.shape != (channels,):
        raise FormatError(f"{context.where(node)}: scale and B must have shape (C,) for inputs "
                          f"of shape {tuple(x.shape)}")
    layer = normalization.GroupNormalization(
        groups=channels, axis=1, epsilon=float(context.attribute(node, "epsilon", 1e-5)),
        name=context.layer_name(node))
    y = layer(x)
    _set_weights(layer, [scale, offset])
    return [y]


@converts("LRN")
def convert_lrn(context, node) -> list:
    x = _image_input(context, node)
    size = context.attribute(node, "size", None)
    if size is None:
        raise FormatError(f"{context.where(node)}: attribute size is missing")
    return [OnnxLRN(int(size), alpha=context.attribute(node, "alpha", 1e-4),
                    beta=context.attribute(node, "beta", 0.75),
                    bias=context.attribute(node, "bias", 1.0), name=context.layer_name(node))(x)]


# ----- Pad ------------------------------------------------------------------------------------

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
    if (mode == "constant" and constant_value == 0.0 and min(pads) >= 0 and spatial in _ZERO_PADDING
            and not any(pads[axis] or pads[axis + rank] for axis in (0, 1))):
        widths = [(pads[axis], pads[axis + rank]) for axis in range(2, rank)]
        return [_bounded(context, node, _ZERO_PADDING[spatial](
            widths if spatial > 1 else widths[0], data_format="channels_first",
            name=context.layer_name(node))(value))]
    return [_bounded(context, node, OnnxPad(pads, mode=mode, constant_value=constant_value,
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
    out_size = float(np.prod([size + pads[axis] + pads[axis + rank]
                              for axis, size in enumerate(value.shape)], dtype=np.float64))
    if out_size > MAX_CONSTANT_ELEMENTS:
        raise FormatError(f"{context.where(node)}: the padded constant would hold "
                          f"{out_size:.3g} elements")
    if mode not in OnnxPad.MODES:
        raise UnsupportedError(f"{context.where(node)}: Pad mode {mode!r} is not supported")
    return onnx_pad(value, pads, mode, constant_value)


# ----- Resize / Upsample ----------------------------------------------------------------------

@converts("Resize", "Upsample")
def convert_resize(context, node) -> list:
    x = context.tensor(node, 0)
    scales, sizes = _resize_targets(context, node, x.shape)
    if node.op_type == "Upsample" or context.opset < 11:
        coordinate_mode, nearest_mode = "asymmetric", "floor"
    else:
        coordinate_mode = context.attribute(node, "coordinate_transformation_mode", "half_pixel")
        nearest_mode = context.attribute(node, "nearest_mode", "round_prefer_floor")
    mode = context.attribute(node, "mode", "nearest")
    if mode not in ("nearest", "linear", "cubic"):
        raise UnsupportedError(f"{context.where(node)}: Resize mode {mode!r} is not supported "
                               f"(nearest, linear, cubic)")
    roi = None
    if coordinate_mode == "tf_crop_and_resize":
        roi = _resize_roi(context, node, len(x.shape))
    upsampling = _upsampling_size(x, scales, sizes, mode, coordinate_mode, nearest_mode)
    if upsampling is not None:
        return [_bounded(context, node, reshaping.UpSampling2D(
            size=upsampling, data_format="channels_first", interpolation="nearest",
            name=context.layer_name(node))(x))]
    try:
        layer = OnnxResize(
            mode, scales=scales, sizes=sizes, coordinate_transformation_mode=coordinate_mode,
            nearest_mode=nearest_mode,
            cubic_coeff_a=float(context.attribute(node, "cubic_coeff_a", -0.75)),
            exclude_outside=bool(context.attribute(node, "exclude_outside", 0)),
            antialias=bool(context.attribute(node, "antialias", 0)), roi=roi,
            extrapolation_value=float(context.attribute(node, "extrapolation_value", 0.0)),
            name=context.layer_name(node))
    except ModelioError as exc:
        raise type(exc)(f"{context.where(node)}: {exc}") from exc
    return [_bounded(context, node, layer(x))]


def _resize_roi(context, node, rank: int) -> list:
    """tf_crop_and_resize's roi over every axis (starts then ends; axes not listed: 0 and 1)."""
    roi = context.constant(node, 1, required=False)
    if roi is None or roi.size == 0:
        raise FormatError(f"{context.where(node)}: tf_crop_and_resize needs the roi input")
    roi = [float(value) for value in roi.reshape(-1)]
    axes = context.attribute(node, "axes", None)
    axes = list(range(rank)) if axes is None else [int(axis) % rank for axis in axes]
    if len(roi) != 2 * len(axes):
        raise FormatError(f"{context.where(node)}: roi must hold {2 * len(axes)} values, got "
                          f"{len(roi)}")
    full = [0.0] * rank + [1.0] * rank
    for index, axis in enumerate(axes):
        full[axis], full[axis + rank] = roi[index], roi[index + len(axes)]
    if (full[0], full[rank]) != (0.0, 1.0):
        raise UnsupportedError(f"{context.where(node)}: cropping the batch axis is not supported")
    return full


def _resize_targets(context, node, shape):
    """(scales, sizes) over every axis: scales drive the coordinates, sizes the output sizes
    (one of them may be None: sizes then follow from scales, scales from sizes)."""
    rank = len(shape)
    if node.op_type == "Upsample" and context.opset < 9:
        scales, sizes = context.attribute(node, "scales", None), None
        if scales is None:
            raise FormatError(f"{context.where(node)}: attribute scales is missing")
        scales = np.asarray(scales, dtype=np.float64)
    elif node.op_type == "Upsample" or context.opset == 10:
        scales, sizes = context.constant(node, 1), None
    else:
        scales = context.constant(node, 2, required=False)
        sizes = context.constant(node, 3, required=False)
        if scales is not None and scales.size == 0:
            scales = None
        if sizes is not None and sizes.size == 0:
            sizes = None
    if (scales is None) == (sizes is None):
        raise FormatError(f"{context.where(node)}: give exactly one of scales and sizes")
    axes = context.attribute(node, "axes", None)
    axes = list(range(rank)) if axes is None else [int(axis) % rank for axis in axes]
    target = (scales if scales is not None else sizes).reshape(-1)
    if len(target) != len(axes):
        raise FormatError(f"{context.where(node)}: scales/sizes must have {len(axes)} entries, "
                          f"got {target.tolist()}")
    if scales is not None:
        full_scales = [1.0] * rank
        for axis, scale in zip(axes, target):
            full_scales[axis] = float(scale)
        if any(not 0 < scale <= 2**14 for scale in full_scales):
            raise FormatError(f"{context.where(node)}: scales must be in (0, 16384], got "
                              f"{full_scales}")
        return full_scales, None
    full_sizes = list(shape)
    for axis, size in zip(axes, target):
        full_sizes[axis] = int(size)
    if any(size is None for size in full_sizes[1:]) or min(full_sizes[1:]) < 1:
        raise UnsupportedError(f"{context.where(node)}: sizes {target.tolist()} on axes {axes} "
                               f"of inputs of shape {tuple(shape)} need known positive sizes")
    if int(np.prod(full_sizes[1:], dtype=np.float64)) > MAX_CONSTANT_ELEMENTS:
        raise FormatError(f"{context.where(node)}: sizes {full_sizes} are too large")
    full_sizes[0] = 1  # the batch keeps its size
    policy = context.attribute(node, "keep_aspect_ratio_policy", "stretch")
    if policy == "stretch":
        return None, full_sizes
    if policy not in ("not_larger", "not_smaller") or any(size is None for size in shape[1:]):
        raise UnsupportedError(f"{context.where(node)}: keep_aspect_ratio_policy {policy!r} "
                               f"needs known sizes and one of stretch, not_larger, not_smaller")
    ratios = [full_sizes[axis] / shape[axis] for axis in axes if axis]
    scale = min(ratios) if policy == "not_larger" else max(ratios)
    full_scales = [scale if axis in axes and axis else 1.0 for axis in range(rank)]
    full_sizes = [1] + [int(scale * shape[axis] + 0.5) if axis in axes else shape[axis]
                        for axis in range(1, rank)]
    return full_scales, full_sizes


def _upsampling_size(x, scales, sizes, mode, coordinate_mode, nearest_mode):
    """UpSampling2D's size when a nearest Resize is exactly its repetition, else None."""
    if mode != "nearest" or len(x.shape) != 4:
        return None
    if sizes is not None:
        if scales is not None or any(size is None for size in x.shape[1:]) or sizes[1] != x.shape[1]:
            return None
        if any(out % size for out, size in zip(sizes[2:], x.shape[2:])):
            return None
        scales = [1.0, 1.0] + [out / size for out, size in zip(sizes[2:], x.shape[2:])]
    if scales[:2] != [1.0, 1.0] or any(scale != int(scale) for scale in scales[2:]):
        return None
    repeats = (coordinate_mode == "asymmetric" and nearest_mode == "floor") or (
        coordinate_mode in ("half_pixel", "pytorch_half_pixel")
        and nearest_mode in ("round_prefer_floor", "round_prefer_ceil"))
    return [int(scale) for scale in scales[2:]] if repeats else None

"""Both ONNX directions for the pooling family (modelio/layers/pooling.py): Max/Average and
Global pooling layers as ONNX pools and reductions; ONNX's MaxPool, AveragePool and Global pools
imported as channels_first Keras pooling layers, or OnnxPool where no Keras layer fits."""

import numpy as np
from onnx import helper

from ..errors import FormatError, UnsupportedError
from ..kernels import pooling as pool_kernels
from ..kernels.pooling import pool_window_count
from ..layers import pooling
from ..ops import (
    OnnxPool,
)
from .export_support import (
    channels_first_call,
    float_input,
    has_mask,
    mask_of,
    onnx_pads,
    reduce,
    refuse_masks,
    spatial_sizes,
    to_channels_first,
    to_channels_last,
)
from .import_support.windows import explicit_pads, image_input, keras_padding, strides_and_dilations
from .registry import (
    converts,
    lowers_float32,  # these lowerings write float32 constants
)


@lowers_float32(pooling.MaxPooling1D, pooling.MaxPooling2D, pooling.MaxPooling3D,
        pooling.AveragePooling1D, pooling.AveragePooling2D, pooling.AveragePooling3D)
def pool(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.pool_dimensions
    sizes = spatial_sizes(node, rank, layer.data_format == "channels_first")
    pairs = []
    for size, window, stride in zip(sizes, layer.pool_size, layer.strides):
        if layer.padding.lower() == "valid":
            pairs.append((0, 0))
        elif size is None:
            pairs = None  # sizes known only at run time: ONNX's SAME_UPPER is TF's same
            break
        else:
            pairs.append(pool_kernels.same_padding(size, window, stride))
    padding = {"pads": onnx_pads(pairs)} if pairs is not None else {"auto_pad": "SAME_UPPER"}
    attributes = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides), **padding)
    if layer.pool_mode == "max":
        def body(x):
            return graph.node("MaxPool", [x], layer.name, **attributes)
    else:
        def body(x):
            return graph.node("AveragePool", [x], layer.name, count_include_pad=0, **attributes)
    return channels_first_call(graph, layer, float_input(graph, node, args[0]), rank, body)


@lowers_float32(pooling.GlobalMaxPooling1D, pooling.GlobalMaxPooling2D, pooling.GlobalMaxPooling3D,
        pooling.GlobalAveragePooling1D, pooling.GlobalAveragePooling2D,
        pooling.GlobalAveragePooling3D)
def global_pool(graph, node, args, kwargs):
    if isinstance(node.layer, pooling.GlobalAveragePooling1D) and has_mask(kwargs):
        return _masked_average_over_steps(graph, node, args, kwargs)
    refuse_masks(node, kwargs)
    layer = node.layer
    axes = list(pooling.spatial_axes(layer.data_format, layer.pool_dimensions))
    op = "ReduceMax" if layer.pool_mode == "max" else "ReduceMean"
    return reduce(graph, op, float_input(graph, node, args[0]), axes, int(layer.keepdims),
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


_MAX_POOL = {1: pooling.MaxPooling1D, 2: pooling.MaxPooling2D, 3: pooling.MaxPooling3D}


_AVERAGE_POOL = {1: pooling.AveragePooling1D, 2: pooling.AveragePooling2D,
                 3: pooling.AveragePooling3D}


_GLOBAL_AVERAGE = {1: pooling.GlobalAveragePooling1D, 2: pooling.GlobalAveragePooling2D,
                   3: pooling.GlobalAveragePooling3D}


_GLOBAL_MAX = {1: pooling.GlobalMaxPooling1D, 2: pooling.GlobalMaxPooling2D,
               3: pooling.GlobalMaxPooling3D}


@converts("MaxPool", "AveragePool")
def convert_pool(context, node) -> list:
    x = image_input(context, node)
    indices = len(node.output) > 1 and bool(node.output[1])
    rank = len(x.shape) - 2
    kernel_shape = context.attribute(node, "kernel_shape", None)
    if kernel_shape is None or len(kernel_shape) != rank:
        raise FormatError(f"{context.where(node)}: kernel_shape must list {rank} sizes, got "
                          f"{kernel_shape}")
    kernel_shape = [int(size) for size in kernel_shape]
    strides, dilations = strides_and_dilations(context, node, rank, kernel_shape)
    storage_order = int(context.attribute(node, "storage_order", 0))
    ceil_mode = bool(context.attribute(node, "ceil_mode", 0))
    count_include_pad = bool(context.attribute(node, "count_include_pad", 0))
    mode = "max" if node.op_type == "MaxPool" else "average"
    sizes = x.shape[2:]
    pads = explicit_pads(context, node, sizes, kernel_shape, strides, dilations)
    padding = keras_padding(pads, sizes, kernel_shape, strides, dilations)
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
    x = image_input(context, node)
    layers = _GLOBAL_AVERAGE if node.op_type == "GlobalAveragePool" else _GLOBAL_MAX
    return [layers[len(x.shape) - 2](data_format="channels_first", keepdims=True,
                                     name=context.layer_name(node))(x)]


@lowers_float32(pooling.AdaptiveAveragePooling1D, pooling.AdaptiveAveragePooling2D,
                pooling.AdaptiveAveragePooling3D, pooling.AdaptiveMaxPooling1D,
                pooling.AdaptiveMaxPooling2D, pooling.AdaptiveMaxPooling3D)
def adaptive_pool(graph, node, args, kwargs):
    layer, rank = node.layer, node.layer.pool_dimensions
    channels_first = layer.data_format == "channels_first"
    sizes = spatial_sizes(node, rank, channels_first)
    if any(size is None for size in sizes):
        raise UnsupportedError(f"layer '{layer.name}' ({type(layer).__name__}): exporting "
                               f"adaptive pooling needs known spatial sizes, got {sizes}")
    return adaptive_pool_nodes(graph, layer.name, float_input(graph, node, args[0]), sizes,
                               layer.output_size, layer.pool_mode, channels_first)


def adaptive_pool_nodes(graph, name: str, x: str, sizes, output_size, mode: str,
                        channels_first: bool) -> str:
    """Adaptive pooling (`mode` "average" or "max") of float32 `x` with known spatial `sizes`:
    one AveragePool/MaxPool when every spatial length divides evenly into its bins (then the
    bins are equal windows); otherwise axis by axis: averages as a MatMul with the (length,
    bins) averaging matrix, maxima as a Gather of each bin's positions and a ReduceMax."""
    rank = len(sizes)
    if all(size % bins == 0 for size, bins in zip(sizes, output_size)):
        windows = [size // bins for size, bins in zip(sizes, output_size)]
        op = "MaxPool" if mode == "max" else "AveragePool"
        if channels_first:
            return graph.node(op, [x], name, kernel_shape=windows, strides=windows)
        pooled = graph.node(op, [to_channels_first(graph, x, rank, name)], name,
                            kernel_shape=windows, strides=windows)
        return to_channels_last(graph, pooled, rank, name)
    axes = range(2, rank + 2) if channels_first else range(1, rank + 1)
    for axis, size, bins in zip(axes, sizes, output_size):
        if mode == "average":
            matrix = graph.constant(pool_kernels.adaptive_average_matrix(size, bins, np.float32),
                                    f"{name}/bins")
            x = _along_axis(graph, name, x, axis, rank + 2, matrix)
        else:
            gathered = graph.node("Gather", [x, graph.constant(pool_kernels.adaptive_max_indices(
                size, bins), f"{name}/bins")], name, axis=axis)
            x = reduce(graph, "ReduceMax", gathered, [axis + 1], False, name)
    return x


def _along_axis(graph, name, x, axis, rank, matrix):
    """`x` times `matrix` along `axis` (moved last for the MatMul, then moved back)."""
    if axis == rank - 1:
        return graph.node("MatMul", [x, matrix], name)
    perm = [a for a in range(rank) if a != axis] + [axis]
    back = [int(i) for i in np.argsort(perm)]
    moved = graph.node("Transpose", [x], name, perm=perm)
    return graph.node("Transpose", [graph.node("MatMul", [moved, matrix], name)],
                      name, perm=back)

"""ONNX lowerings of keras.ops.nn's adaptive pools, transposed and separable convolutions and
unfold / fold (modelio/ops/nn_windows.py). Unfold and fold become a grouped Conv and a grouped
ConvTranspose whose one-hot kernels pick (or put back) each block cell: products with 1 and
sums with 0, so the numbers are exact."""

import numpy as np

from .. import ops
from ..kernels import convolution as conv_kernels
from .export_support import onnx_pads, to_channels_first, to_channels_last
from .op_support import known_size, operand, output_dtype, refuse
from .pooling import adaptive_pool_nodes
from .registry import lowers


def _float32(graph, node, args, index: int = 0) -> str:
    dtype = output_dtype(node)
    if dtype != np.float32:
        refuse(node, f"{dtype} outputs (exported in float32)")
    return operand(graph, node, index, args[index], np.float32)


def _in_layout(graph, node, x, rank, body):
    """`body(x_nchw)` in the op's layout (`rank` spatial axes)."""
    if node.layer.arguments["data_format"] == "channels_first":
        return body(x)
    hint = node.layer.name
    return to_channels_last(graph, body(to_channels_first(graph, x, rank, hint)), rank, hint)


def _shape(node, index: int) -> tuple:
    value = node.call_args[index]
    return tuple(getattr(value, "shape", np.shape(value)))


@lowers(ops.AdaptiveAveragePool, ops.AdaptiveMaxPool)
def adaptive_pool(graph, node, args, kwargs):
    layer = node.layer
    shape = _shape(node, 0)
    axes, output_size = layer.layout(len(shape))
    sizes = [known_size(node, shape[axis], "adaptive pooling") for axis in axes]
    return adaptive_pool_nodes(graph, layer.name, _float32(graph, node, args), sizes, output_size,
                               layer.mode, layer.arguments["data_format"] == "channels_first")


def _window_kernel(graph, node, index, args, rank):
    """Kernel call argument `index` ((*window, a, b)) as ONNX's (b, a, *window)."""
    kernel = operand(graph, node, index, args[index], np.float32)
    return graph.node("Transpose", [kernel], node.layer.name,
                      perm=[rank + 1, rank, *range(rank)])


@lowers(ops.ConvTranspose)
def conv_transpose(graph, node, args, kwargs):
    """ONNX ConvTranspose (the same no-flip scatter as modelio's kernel) with Keras's crops as
    pads; a negative crop (zeros appended) becomes `output_padding`."""
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    shape, kernel_shape = _shape(node, 0), _shape(node, 1)
    strides, dilation, paddings, axes, _ = layer.geometry(shape, kernel_shape)
    rank = len(axes)
    crops = [conv_kernels.conv_transpose_crops(size, stride, rate, layer.arguments["padding"],
                                               pad)
             for size, stride, rate, pad in zip(kernel_shape, strides, dilation, paddings)]
    # (*window, filters, channels) -> (channels, filters, *window): ConvTranspose's layout
    kernel = _window_kernel(graph, node, 1, args, rank)
    attributes = {"kernel_shape": list(kernel_shape[:rank]), "strides": list(strides),
                  "dilations": list(dilation),
                  "pads": [start for start, _ in crops] + [max(end, 0) for _, end in crops],
                  "output_padding": [max(-end, 0) for _, end in crops]}

    def body(value):
        return graph.node("ConvTranspose", [value, kernel], hint, **attributes)
    return _in_layout(graph, node, x, rank, body)


@lowers(ops.SeparableConv)
def separable_conv(graph, node, args, kwargs):
    """A grouped Conv (one group per input channel) then a 1x1 Conv."""
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    shape, depthwise_shape = _shape(node, 0), _shape(node, 1)
    grouped_shape = depthwise_shape[:-2] + (1, depthwise_shape[-2] * depthwise_shape[-1])
    strides, dilation, axes, first = layer.geometry(shape, grouped_shape)
    rank = len(axes)
    channels = known_size(node, shape[1] if first else shape[-1], "separable convolution")
    pairs = [conv_kernels.padding_amounts(known_size(node, shape[axis], "separable convolution"),
                                          depthwise_shape[index], stride, rate,
                                          layer.arguments["padding"])
             for index, (axis, stride, rate) in enumerate(zip(axes, strides, dilation))]
    depthwise = operand(graph, node, 1, args[1], np.float32)
    depthwise = graph.node("Reshape", [depthwise, graph.ints(list(grouped_shape),
                                                             f"{hint}/depthwise")], hint)
    depthwise = graph.node("Transpose", [depthwise], hint, perm=[rank + 1, rank, *range(rank)])
    pointwise = _window_kernel(graph, node, 2, args, rank)

    def body(value):
        hidden = graph.node("Conv", [value, depthwise], hint,
                            kernel_shape=list(depthwise_shape[:rank]), strides=list(strides),
                            dilations=list(dilation), pads=onnx_pads(pairs), group=channels)
        return graph.node("Conv", [hidden, pointwise], hint, kernel_shape=[1] * rank)
    return _in_layout(graph, node, x, rank, body)


def _one_hot_blocks(channels: int, kernel) -> np.ndarray:
    """(channels * kH * kW, 1, kH, kW): row c * kH * kW + j picks kernel cell j."""
    cells = kernel[0] * kernel[1]
    picks = np.eye(cells, dtype=np.float32).reshape(cells, 1, *kernel)
    return np.tile(picks, (channels, 1, 1, 1))


@lowers(ops.Unfold)
def unfold(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    kernel, dilation, padding, stride = layer.pairs()
    channels = known_size(node, _shape(node, 0)[1], "unfold")
    blocks = graph.node("Conv", [x, graph.constant(_one_hot_blocks(channels, kernel),
                                                   f"{hint}/picks")], hint,
                        kernel_shape=list(kernel), strides=list(stride),
                        dilations=list(dilation), pads=[*padding, *padding], group=channels)
    rows = channels * kernel[0] * kernel[1]
    return graph.node("Reshape", [blocks, graph.ints([0, rows, -1], f"{hint}/shape")], hint)


@lowers(ops.Fold)
def fold(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    kernel, dilation, padding, stride = layer.pairs()
    output_size = layer.output_size()
    counts = layer.counts(output_size)
    rows = known_size(node, _shape(node, 0)[1], "fold")
    channels = rows // (kernel[0] * kernel[1])
    grid = graph.node("Reshape", [x, graph.ints([0, rows, *counts], f"{hint}/grid")], hint)
    # Cells of the padded image no block reaches (at the end of an axis) stay zero.
    uncovered = [size + 2 * pad - ((count - 1) * step + rate * (k - 1) + 1)
                 for size, pad, count, step, rate, k in zip(output_size, padding, counts, stride,
                                                            dilation, kernel)]
    ends = [pad - extra for pad, extra in zip(padding, uncovered)]
    return graph.node("ConvTranspose", [grid, graph.constant(
        _one_hot_blocks(channels, kernel), f"{hint}/puts")], hint, kernel_shape=list(kernel),
        strides=list(stride), dilations=list(dilation),
        pads=[*padding, *(max(end, 0) for end in ends)],
        output_padding=[max(-end, 0) for end in ends], group=channels)

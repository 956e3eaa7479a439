"""ONNX lowerings of modelio/ops/image_more.py: RGBToHSV and HSVToRGB as elementwise
compositions over the three channel planes, ExtractPatches as a Conv with an identity kernel (as
Keras computes it), GaussianBlur and SobelEdges (after a reflecting Pad) as depthwise Convs,
SSIM as depthwise valid Convs and means. Float32 images, batched."""

import numpy as np

from .. import ops
from ..kernels import convolution as conv_kernels
from .export_support import onnx_pads, reduce, to_channels_first, to_channels_last
from .op_support import known_size, output_dtype, refuse
from .registry import lowers


def _need_float32(node, index=0):
    if np.dtype(node.call_args[index].dtype) != np.float32:
        refuse(node, f"{node.call_args[index].dtype} images (float32 only)")


def _scalar(graph, value, hint):
    return graph.constant(np.asarray(value, np.float32), f"{hint}/c")


@lowers(ops.RGBToHSV, ops.HSVToRGB)
def color(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    _need_float32(node)
    rank = len(node.call_args[0].shape)
    _, _, channel_axis = ops.image_axes(layer, rank)
    x = args[0]

    def c(value):
        return _scalar(graph, value, hint)

    def op(name, *inputs):
        return graph.node(name, list(inputs), hint)

    red, green, blue = graph.node("Split", [x, graph.ints([1, 1, 1], f"{hint}/split")], hint,
                                  outputs=3, axis=channel_axis)
    if isinstance(layer, ops.RGBToHSV):
        value = op("Max", red, green, blue)
        spread = op("Sub", value, op("Min", red, green, blue))
        positive_value = op("Greater", value, c(0.0))
        positive_spread = op("Greater", spread, c(0.0))
        saturation = op("Where", positive_value,
                        op("Div", spread, op("Where", positive_value, value, c(1.0))), c(0.0))
        norm = op("Div", c(1.0), op("Mul", c(6.0), op("Where", positive_spread, spread,
                                                       c(1.0))))
        hue = op("Where", op("Equal", value, green),
                 op("Add", op("Mul", norm, op("Sub", blue, red)), c(2.0 / 6.0)),
                 op("Add", op("Mul", norm, op("Sub", red, green)), c(4.0 / 6.0)))
        hue = op("Where", op("Equal", value, red), op("Mul", norm, op("Sub", green, blue)), hue)
        wrap = graph.node("Cast", [op("Less", hue, c(0.0))], hint, to=1)  # 1: FLOAT
        hue = op("Add", op("Where", positive_spread, hue, c(0.0)), wrap)
        planes = [hue, saturation, value]
    else:
        hue, saturation, value = red, green, blue
        scaled = op("Mul", hue, c(6.0))
        grey = op("Sub", c(1.0), saturation)
        distances = [
            op("Sub", op("Abs", op("Sub", scaled, c(3.0))), c(1.0)),
            op("Sub", c(2.0), op("Abs", op("Sub", scaled, c(2.0)))),
            op("Sub", c(2.0), op("Abs", op("Sub", scaled, c(4.0)))),
        ]
        planes = [op("Mul", op("Add", grey, op("Mul", saturation, op("Clip", d, c(0.0), c(1.0)))),
                     value) for d in distances]
    return graph.node("Concat", planes, hint, axis=channel_axis)


def _batched_nchw(graph, node, x, rank):
    """x as channels-first (the op's data_format says which it is)."""
    if node.layer.arguments["data_format"] == "channels_first":
        return x
    return to_channels_first(graph, x, rank, node.layer.name)


def _back(graph, node, y, rank):
    if node.layer.arguments["data_format"] == "channels_first":
        return y
    return to_channels_last(graph, y, rank, node.layer.name)


@lowers(ops.ExtractPatches)
def extract_patches(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    _need_float32(node)
    shape = node.call_args[0].shape
    axes, channel_axis, window, strides, dilation = layer.geometry(len(shape))
    if len(shape) != len(window) + 2:
        refuse(node, "unbatched inputs")
    channels = known_size(node, shape[channel_axis], "ExtractPatches")
    depth = int(np.prod(window)) * channels
    if depth > 2048:
        refuse(node, f"patches of {depth} values (the identity kernel would hold {depth}^2 "
                     f"weights)")
    kernel = np.eye(depth, dtype=np.float32).reshape(*window, channels, depth)
    kernel = np.ascontiguousarray(np.moveaxis(kernel, [-1, -2], [0, 1]))
    pairs = [conv_kernels.padding_amounts(known_size(node, shape[axis], "ExtractPatches"), size,
                                          stride, rate, layer.arguments["padding"])
             for axis, size, stride, rate in zip(axes, window, strides, dilation)]
    x = _batched_nchw(graph, node, args[0], len(window))
    y = graph.node("Conv", [x, graph.constant(kernel, f"{hint}/identity")], hint,
                   kernel_shape=list(window), strides=list(strides), dilations=list(dilation),
                   pads=onnx_pads(pairs))
    return _back(graph, node, y, len(window))


def _depthwise(graph, node, x, taps, pads, channels):
    """Channels-first `x` convolved per channel with `taps` (kh, kw, k): output channel
    c * k + j."""
    k = taps.shape[-1]
    kernel = np.tile(np.moveaxis(taps, -1, 0)[:, None], (channels, 1, 1, 1)).astype(np.float32)
    return graph.node("Conv", [x, graph.constant(kernel, f"{node.layer.name}/taps")],
                      node.layer.name, kernel_shape=list(taps.shape[:2]), group=channels,
                      pads=onnx_pads(pads)) if k else x


@lowers(ops.GaussianBlur)
def gaussian_blur(graph, node, args, kwargs):
    layer = node.layer
    _need_float32(node)
    shape = node.call_args[0].shape
    if len(shape) != 4:
        refuse(node, "unbatched images")
    _, _, channel_axis = ops.image_axes(layer, 4)
    channels = known_size(node, shape[channel_axis], "GaussianBlur")
    kernel_size = list(layer.arguments["kernel_size"])
    taps = ops.gaussian_blur_kernel(kernel_size, layer.arguments["sigma"], np.float32)
    pads = [conv_kernels.padding_amounts(1, size, 1, 1, "same") for size in kernel_size]
    x = _batched_nchw(graph, node, args[0], 2)
    return _back(graph, node, _depthwise(graph, node, x, taps[..., None], pads, channels), 2)


@lowers(ops.SobelEdges)
def sobel_edges(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    _need_float32(node)
    shape = node.call_args[0].shape
    _, _, channel_axis = ops.image_axes(layer, 4)
    channels = known_size(node, shape[channel_axis], "SobelEdges")
    x = _batched_nchw(graph, node, args[0], 2)
    padded = graph.node("Pad", [x, graph.ints([0, 0, 1, 1, 0, 0, 1, 1], f"{hint}/pads")], hint,
                        mode="reflect")
    edges = _depthwise(graph, node, padded, ops.sobel_kernel(np.float32), [(0, 0), (0, 0)],
                       channels)
    # (N, C * 2, H, W) -> (N, C, 2, H, W) -> channels-first (N, C, H, W, 2) / (N, H, W, C, 2)
    height, width = (known_size(node, shape[axis], "SobelEdges")
                     for axis in ops.image_axes(layer, 4)[:2])
    split = graph.node("Reshape", [edges, graph.ints([0, channels, 2, height, width],
                                                     f"{hint}/split")], hint)
    perm = [0, 1, 3, 4, 2] if layer.arguments["data_format"] == "channels_first" else \
        [0, 3, 4, 1, 2]
    return graph.node("Transpose", [split], hint, perm=perm)


@lowers(ops.SSIM)
def ssim(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    for index in (0, 1):
        _need_float32(node, index)
    shape = node.call_args[0].shape
    if len(shape) != 4:
        refuse(node, "unbatched images")
    _, _, channel_axis = ops.image_axes(layer, 4)
    channels = known_size(node, shape[channel_axis], "SSIM")
    window = layer.window(np.float32)
    size = window.shape[0]

    def op(name, *inputs):
        return graph.node(name, list(inputs), hint)

    def planes(x):  # (N * C, 1, H, W)
        x = _batched_nchw(graph, node, x, 2)
        return graph.node("Reshape", [x, graph.ints([-1, 1, 0, 0], f"{hint}/planes")], hint)

    kernel = graph.constant(window.reshape(1, 1, size, size), f"{hint}/window")

    def mean(x):
        return graph.node("Conv", [x, kernel], hint, kernel_shape=[size, size])

    first, second = planes(args[0]), planes(args[1])
    c1, c2 = (_scalar(graph, value, hint) for value in layer.constants())
    two = _scalar(graph, 2.0, hint)
    mu1, mu2 = mean(first), mean(second)
    mu1_sq, mu2_sq, mu12 = op("Mul", mu1, mu1), op("Mul", mu2, mu2), op("Mul", mu1, mu2)
    sigma1 = op("Sub", mean(op("Mul", first, first)), mu1_sq)
    sigma2 = op("Sub", mean(op("Mul", second, second)), mu2_sq)
    sigma12 = op("Sub", mean(op("Mul", first, second)), mu12)
    numerator = op("Mul", op("Add", op("Mul", two, mu12), c1),
                   op("Add", op("Mul", two, sigma12), c2))
    denominator = op("Mul", op("Add", op("Add", mu1_sq, mu2_sq), c1),
                     op("Add", op("Add", sigma1, sigma2), c2))
    per_plane = reduce(graph, "ReduceMean", op("Div", numerator, denominator), [1, 2, 3], False,
                       hint)
    per_image = graph.node("Reshape", [per_plane, graph.ints([-1, channels], f"{hint}/images")],
                           hint)
    result = reduce(graph, "ReduceMean", per_image, [1], False, hint)
    if output_dtype(node) != np.float32:
        refuse(node, f"{output_dtype(node)} results")
    return result

"""ONNX lowerings of keras.ops.image's operations (modelio/ops/image_ops.py): Resize as ONNX
Resize (half-pixel coordinates; nearest rounds halves up, PyTorch's "nearest-exact") and
RGBToGrayscale as a weighted channel sum."""

import numpy as np

from .. import ops
from .export_support import need_opset
from .op_support import output_dtype, refuse
from .registry import lowers


@lowers(ops.Resize)
def resize(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    arguments = layer.arguments
    dtype = output_dtype(node)
    if dtype != np.float32:
        refuse(node, f"{dtype} images")
    if arguments["antialias"] or arguments["crop_to_aspect_ratio"] or \
            arguments["pad_to_aspect_ratio"]:
        refuse(node, "antialias, crop_to_aspect_ratio and pad_to_aspect_ratio")
    need_opset(graph, layer, 13, "Resize with sizes")
    shape = node.outputs[0].shape
    if any(size is None for size in shape[1:]):
        refuse(node, "images with unknown channels")
    sizes = graph.node("Concat", [
        graph.node("Slice", [graph.node("Shape", [args[0]], hint), graph.ints([0], f"{hint}/s"),
                             graph.ints([1], f"{hint}/e")], hint),
        graph.ints(list(shape[1:]), f"{hint}/sizes")], hint, axis=0)
    attributes = {"coordinate_transformation_mode": "half_pixel"}
    if arguments["interpolation"] == "nearest":
        attributes.update(mode="nearest", nearest_mode="round_prefer_ceil")
    else:
        attributes.update(mode="linear")
    return graph.node("Resize", [args[0], "", "", sizes], hint, **attributes)


@lowers(ops.RGBToGrayscale)
def rgb_to_grayscale(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    shape = node.call_args[0].shape
    _, _, channel_axis = ops.image_axes(layer, len(shape))
    if shape[channel_axis] == 1:
        return graph.node("Identity", [args[0]], hint)
    if dtype.kind != "f":
        refuse(node, f"{dtype} images")
    weights = np.zeros([3 if axis == channel_axis else 1 for axis in range(len(shape))], dtype)
    weights.reshape(-1)[:] = layer.WEIGHTS
    weighted = graph.node("Mul", [args[0], graph.constant(weights, f"{hint}/weights")], hint)
    return graph.node("ReduceSum", [weighted, graph.ints([channel_axis], f"{hint}/axis")], hint,
                      keepdims=1)


@lowers(ops.CropImages, ops.PadImages)
def frame(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = node.call_args[0].shape
    h_axis, w_axis, _ = ops.image_axes(layer, len(shape))
    (top, bottom), (left, right) = layer.margins(shape)
    if isinstance(layer, ops.PadImages):
        pads = [0] * (2 * len(shape))
        pads[h_axis], pads[w_axis] = top, left
        pads[len(shape) + h_axis], pads[len(shape) + w_axis] = bottom, right
        return graph.node("Pad", [args[0], graph.ints(pads, f"{hint}/pads")], hint,
                          mode="constant")
    ends = [-bottom if bottom else np.iinfo(np.int64).max, -right if right else
            np.iinfo(np.int64).max]
    return graph.node("Slice", [args[0], graph.ints([top, left], f"{hint}/starts"),
                                graph.ints(ends, f"{hint}/ends"),
                                graph.ints([h_axis, w_axis], f"{hint}/axes")], hint)

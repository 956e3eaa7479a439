"""ONNX lowerings of the augmentation family (modelio/layers/augmentation/).

At inference most augmentation layers change no value: they lower to a pass-through (an
Identity, or the Cast to the dtype the graph declares). AutoContrast computes and lowers to
ReduceMin/ReduceMax arithmetic, CLAHE to per-tile OneHot histograms and table lookups (images
of known size). RandomCrop is refused when it would crop (Keras passes the full images while the
model declares the crop size). A Pipeline lowers its layers one after the other. tf-keras's
RandomHeight / RandomWidth pass their images through as well (Identity; the declared height /
width is unknown); a tf-keras RandomCrop is loaded as a Resizing and lowered as one.
"""

from types import SimpleNamespace

import numpy as np
from onnx import TensorProto

from ..errors import UnsupportedError
from ..layers import augmentation
from ..layers.augmentation import histogram
from .export_support import as_declared, onnx_type, reduce
from .registry import lowering_for, lowers, lowers_float32

_PASS_THROUGH = tuple(
    getattr(augmentation, name) for name in augmentation.__all__
    if name not in ("AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "Pipeline",
                    "RandomCrop"))


@lowers(*_PASS_THROUGH)
def pass_through(graph, node, args, kwargs):
    """The images as they come (an Identity), or cast to the declared dtype (uint8 images
    through a layer whose output Keras declares float32)."""
    y = as_declared(graph, node, args[0])
    return y if y != args[0] else graph.node("Identity", [y], node.layer.name)


@lowers(augmentation.RandomCrop)
def random_crop(graph, node, args, kwargs):
    """A pass-through when the crop size is the image size. Otherwise refused: Keras's inference
    returns the full images while the graph declares the crop size, and an ONNX graph cannot
    declare one shape and carry another."""
    declared, given = node.outputs[0].shape, node.input_tensors[0].shape
    if tuple(declared) != tuple(given):
        raise UnsupportedError(f"layer '{node.layer.name}' (RandomCrop): cannot be exported to ONNX: "
                               f"at inference Keras passes the {tuple(given)} images through "
                               f"uncropped while the model declares {tuple(declared)}")
    return pass_through(graph, node, args, kwargs)


@lowers_float32(augmentation.AutoContrast)
def auto_contrast(graph, node, args, kwargs):
    """Per image and channel: (x - min) * 255 / (max - min) over axes 1 and 2, clipped to
    [0, 255], in the layer's value range; a constant channel (NaN on the way) stays as it was."""
    layer, hint = node.layer, node.layer.name
    if len(node.input_tensors[0].shape) != 4:
        raise UnsupportedError(f"layer '{hint}': exporting AutoContrast needs batched images of "
                               f"rank 4, got shape {tuple(node.input_tensors[0].shape)}")
    x = args[0]
    if node.input_tensors[0].dtype != "float32":
        x = graph.node("Cast", [x], hint, to=TensorProto.FLOAT)
    low_value, high_value = (float(value) for value in layer.value_range)

    def constant(value, name):
        return graph.constant(value, f"{hint}/{name}", "float32")

    work = _to_range(graph, x, (low_value, high_value), (0.0, 255.0), hint)
    low = reduce(graph, "ReduceMin", work, [1, 2], True, hint)
    high = reduce(graph, "ReduceMax", work, [1, 2], True, hint)
    scale = graph.node("Div", [constant(255.0, "full"), graph.node("Sub", [high, low], hint)],
                       hint)
    offset = graph.node("Mul", [graph.node("Neg", [low], hint), scale], hint)
    stretched = graph.node("Add", [graph.node("Mul", [work, scale], hint), offset], hint)
    undefined = graph.node("IsNaN", [stretched], hint)
    clipped = graph.node("Clip", [stretched, constant(0.0, "zero"), constant(255.0, "top")], hint)
    result = _to_range(graph, clipped, (0.0, 255.0), (low_value, high_value), hint)
    return graph.node("Where", [undefined, x, result], hint)


@lowers_float32(augmentation.ContrastLimitedAdaptiveHistogramEqualization)
def clahe(graph, node, args, kwargs):
    """CLAHE as the layer computes it (the TensorFlow backend's numbers), for images of known
    size: mirrored padding and table indices are Gathers with constant indices, the per-tile
    histograms a OneHot summed over each tile, the table lookups GatherElements on the pixel
    values, blended with constant weights."""
    layer, hint = node.layer, node.layer.name
    shape = tuple(node.input_tensors[0].shape)
    if len(shape) != 4 or None in shape[1:]:
        raise UnsupportedError(f"layer '{hint}' (ContrastLimitedAdaptiveHistogramEqualization): "
                               f"exporting CLAHE needs batched images of known size, got shape "
                               f"{shape}")
    channels_first = layer.data_format == "channels_first"
    height, width, channels = (shape[2], shape[3], shape[1]) if channels_first else shape[1:]
    grid_h, grid_w = layer.tile_grid_size
    tile_h, tile_w, pad_h, pad_w = histogram.tile_layout(height, width, (grid_h, grid_w))
    full_h, full_w = height + pad_h, width + pad_w

    def constant(value, name, dtype="float32"):
        return graph.constant(np.asarray(value, dtype=dtype), f"{hint}/{name}")

    def gather(x, indices, axis, name):
        return graph.node("Gather", [x, graph.ints(indices, f"{hint}/{name}")], hint, axis=axis)

    x = args[0]
    if node.input_tensors[0].dtype != "float32":
        x = graph.node("Cast", [x], hint, to=TensorProto.FLOAT)
    if channels_first:
        x = graph.node("Transpose", [x], hint, perm=[0, 2, 3, 1])
    low, high = (float(value) for value in layer.value_range)
    x = _to_range(graph, x, (low, high), (0.0, 255.0), hint)
    if pad_h:
        x = gather(x, np.pad(np.arange(height), (0, pad_h), mode="symmetric"), 1, "pad_rows")
    if pad_w:
        x = gather(x, np.pad(np.arange(width), (0, pad_w), mode="symmetric"), 2, "pad_cols")
    pixels = graph.node("Cast", [graph.node("Clip", [x, constant(0.0, "zero"),
                                                     constant(255.0, "top")], hint)],
                        hint, to=TensorProto.INT64)
    tiles = graph.node("Reshape", [pixels, graph.ints([-1, grid_h, tile_h, grid_w, tile_w,
                                                       channels], f"{hint}/tiles")], hint)
    tiles = graph.node("Transpose", [tiles], hint, perm=[0, 1, 3, 5, 2, 4])
    tiles = graph.node("Reshape", [tiles, graph.ints([-1, grid_h, grid_w, channels,
                                                      tile_h * tile_w], f"{hint}/tile_cells")],
                       hint)
    one_hot = graph.node("OneHot", [tiles, graph.ints([256], f"{hint}/depth"),
                                    constant([0.0, 1.0], "on_off")], hint, axis=-1)
    hists = reduce(graph, "ReduceSum", one_hot, [-2], False, hint)
    if layer.clip_limit > 0:
        limit = constant(np.float32(layer.clip_limit * (tile_h * tile_w) / 256.0), "limit")
        clipped = graph.node("Min", [hists, limit], hint)
        excess = reduce(graph, "ReduceSum", graph.node("Sub", [hists, clipped], hint), [-1], True,
                        hint)
        hists = graph.node("Add", [clipped, graph.node("Div", [excess, constant(256.0, "bins")],
                                                       hint)], hint)
    cdf = graph.node("CumSum", [hists, graph.ints(-1, f"{hint}/last_axis")], hint)
    cdf_min = reduce(graph, "ReduceMin", cdf, [-1], True, hint)
    denominator = graph.node("Sub", [constant(float(tile_h * tile_w), "cells"), cdf_min], hint)
    denominator = graph.node("Where", [graph.node("Equal", [denominator, constant(0.0, "none")],
                                                  hint), constant(1.0, "one"), denominator], hint)
    numerator = graph.node("Mul", [graph.node("Sub", [cdf, cdf_min], hint),
                                   constant(255.0, "full")], hint)
    tables = graph.node("Clip", [graph.node("Div", [numerator, denominator], hint),
                                 constant(0.0, "zero"), constant(255.0, "top")], hint)
    tables = gather(tables, [0, *range(grid_h), grid_h - 1], 1, "edge_rows")
    tables = gather(tables, [0, *range(grid_w), grid_w - 1], 2, "edge_cols")
    y0, y1, wy = histogram.blend_positions(full_h, tile_h, grid_h)
    x0, x1, wx = histogram.blend_positions(full_w, tile_w, grid_w)
    cells = graph.node("Unsqueeze", [pixels, graph.ints([-1], f"{hint}/cell_axis")], hint)

    def lookup(rows, cols, name):
        picked = gather(gather(tables, rows, 1, f"{name}_rows"), cols, 2, f"{name}_cols")
        return graph.node("GatherElements", [picked, cells], hint, axis=4)

    def blend(a, b, weight, name):
        weight = weight.reshape((1, -1, 1, 1, 1) if name == "rows" else (1, 1, -1, 1, 1))
        return graph.node("Add", [graph.node("Mul", [a, constant(np.float32(1.0) - weight,
                                                                 f"{name}_keep")], hint),
                                  graph.node("Mul", [b, constant(weight, f"{name}_take")], hint)],
                          hint)

    top = blend(lookup(y0, x0, "nw"), lookup(y0, x1, "ne"), wx, "cols")
    bottom = blend(lookup(y1, x0, "sw"), lookup(y1, x1, "se"), wx, "cols")
    result = blend(top, bottom, wy, "rows")
    result = graph.node("Slice", [result, graph.ints([0, 0], f"{hint}/starts"),
                                  graph.ints([height, width], f"{hint}/ends"),
                                  graph.ints([1, 2], f"{hint}/axes")], hint)
    result = graph.node("Squeeze", [result, graph.ints([4], f"{hint}/cell_axis_out")], hint)
    result = _to_range(graph, result, (0.0, 255.0), (low, high), hint)
    if channels_first:
        result = graph.node("Transpose", [result], hint, perm=[0, 3, 1, 2])
    dtype = node.input_tensors[0].dtype
    if dtype != "float32":  # cast back to the input's dtype (truncating), then as declared
        result = graph.node("Cast", [result], hint, to=onnx_type(dtype))
        result = as_declared(graph, node, result)
    return result


def _to_range(graph, y, source, target, hint):
    """Keras's `_transform_value_range` in float32 (nothing when the ranges are equal)."""
    if source == target:
        return y

    def constant(value, name):
        return graph.constant(value, f"{hint}/{name}", "float32")

    y = graph.node("Div", [graph.node("Sub", [y, constant(source[0], "from_low")], hint),
                           constant(source[1] - source[0], "from_width")], hint)
    return graph.node("Add", [graph.node("Mul", [y, constant(target[1] - target[0], "to_width")],
                                         hint), constant(target[0], "to_low")], hint)


@lowers(augmentation.Pipeline)
def pipeline(graph, node, args, kwargs):
    """Each layer of the pipeline lowered in turn, as if it were its own node."""
    x = args[0]
    for layer, spec_in, spec_out in node.layer.stages(node.input_tensors[0]):
        lower = lowering_for(layer)
        if lower is None:
            raise UnsupportedError(f"layer '{node.layer.name}' (Pipeline): its layer "
                                   f"'{layer.name}' ({type(layer).__name__}) has no ONNX lowering")
        stage = SimpleNamespace(layer=layer, input_tensors=[spec_in], outputs=[spec_out],
                                call_args=(spec_in,), call_kwargs={})
        x = lower(graph, stage, [x], {})
    return x if x != args[0] else graph.node("Identity", [x], node.layer.name)

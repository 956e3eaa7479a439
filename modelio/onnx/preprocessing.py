"""ONNX lowerings of the preprocessing family (modelio/layers/preprocessing.py): Rescaling,
Normalization, Resizing (nearest as an exact Gather, bilinear as Resize, antialiased bilinear,
bicubic, lanczos3/5, area, gaussian and mitchellcubic as a constant weight matrix per axis) and
CenterCrop."""

import numpy as np

from ..errors import UnsupportedError
from ..kernels import resize as resize_kernels
from ..kernels.normalization import BACKEND_EPSILON
from ..kernels.resize_filters import FILTERED_INTERPOLATIONS
from ..layers import preprocessing
from .export_support import (
    channels_first_call,
    filtered_resize,
    float_input,
    float_work,
    linear_resize,
    matrix_resize,
)
from .registry import lowers_float32  # these lowerings write float32 constants


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


def _image_axes(layer, node):
    """(height axis, width axis) of the layer's batched rank-4 input."""
    shape = node.input_tensors[0].shape
    if len(shape) != 4:
        raise UnsupportedError(f"layer '{layer.name}': exporting {type(layer).__name__} needs "
                               f"batched images of rank 4, got shape {tuple(shape)}")
    return (1, 2) if layer.data_format == "channels_last" else (2, 3)


def _known_image_size(layer, node, why: str):
    h_axis, w_axis = _image_axes(layer, node)
    shape = node.input_tensors[0].shape
    if shape[h_axis] is None or shape[w_axis] is None:
        raise UnsupportedError(f"layer '{layer.name}': exporting {type(layer).__name__} with "
                               f"{why} needs known image sizes, got shape {tuple(shape)}")
    return shape[h_axis], shape[w_axis]


def _slice(graph, x, axes, starts, ends, hint):
    return graph.node("Slice", [x, graph.ints(starts, f"{hint}/starts"), graph.ints(ends, f"{hint}/ends"),
                                graph.ints(axes, f"{hint}/axes")], hint)


def _nearest_axis(graph, x, axis, in_size, out_size, hint):
    """Gather the cells modelio's "nearest" reads, in exact integer arithmetic (also when the
    input size is only known at run time)."""
    if in_size == out_size:
        return x
    if in_size is not None:
        indices = graph.ints(resize_kernels.nearest_indices(in_size, out_size), f"{hint}/indices")
    else:
        size = graph.node("Gather", [graph.node("Shape", [x], hint), graph.ints([axis], f"{hint}/axis")],
                          hint)
        odd = graph.ints(2 * np.arange(out_size) + 1, f"{hint}/odd")
        quotient = graph.node("Div", [graph.node("Mul", [odd, size], hint),
                                      graph.ints([2 * out_size], f"{hint}/twice_out")], hint)
        last = graph.node("Sub", [size, graph.ints([1], f"{hint}/one")], hint)
        indices = graph.node("Min", [quotient, last], hint)
    return graph.node("Gather", [x, indices], hint, axis=axis)


def _antialiased_axis_weights(in_size, out_size):
    """(in_size, out_size) float32 matrix whose product resizes one axis as modelio's
    antialiased bilinear kernel does: the widened triangle filter when shrinking, the plain
    linear taps when growing."""
    if out_size < in_size:
        return resize_kernels.antialias_weights(in_size, out_size).astype(np.float32)
    matrix = np.zeros((in_size, out_size), np.float64)
    lower, upper, upper_weight = resize_kernels.linear_taps(in_size, out_size)
    columns = np.arange(out_size)
    np.add.at(matrix, (lower, columns), 1 - upper_weight)
    np.add.at(matrix, (upper, columns), upper_weight)
    return matrix.astype(np.float32)


def resize_image(graph, node, x, height, width, interpolation, antialias=False, crop=False,
                 pad=False, fill_value=0.0):
    """`x` (the layer's layout) resized to (height, width) as `_resize_preserving_dtype` does on
    float inputs, cropped or padded to the target aspect ratio first when asked. The work is done
    channels-first, so the layout Transposes cancel against neighbouring convolutions'."""
    layer, hint = node.layer, node.layer.name
    h_axis, w_axis = _image_axes(layer, node)
    shape = node.input_tensors[0].shape
    in_sizes = [shape[h_axis], shape[w_axis]]
    out_sizes = [height, width]
    steps = []
    if crop or pad:
        in_height, in_width = _known_image_size(layer, node, "an aspect-ratio crop or pad")
        if crop:
            top, left, crop_height, crop_width = resize_kernels.aspect_crop_box(
                in_height, in_width, height, width)
            steps.append(lambda x: _slice(graph, x, [2, 3], [top, left],
                                          [top + crop_height, left + crop_width], hint))
            in_sizes = [crop_height, crop_width]
        else:
            rows, cols = resize_kernels.aspect_pad_box(in_height, in_width, height, width)
            pads = graph.ints([0, 0, rows, cols, 0, 0, rows, cols], f"{hint}/pads")
            fill = graph.constant(fill_value, f"{hint}/fill", "float32")
            steps.append(lambda x: graph.node("Pad", [x, pads, fill], hint))
            in_sizes = [in_height + 2 * rows, in_width + 2 * cols]
    if interpolation == "nearest":
        steps += [lambda x, axis=axis, size=size, out=out: _nearest_axis(graph, x, axis, size, out,
                                                                        hint)
                  for axis, size, out in zip((2, 3), in_sizes, out_sizes)]
    elif interpolation in FILTERED_INTERPOLATIONS:
        steps.append(lambda x: filtered_resize(graph, node, x, in_sizes, out_sizes,
                                               interpolation, antialias))
    elif in_sizes == out_sizes:
        pass
    elif antialias and any(size is None or size > out for size, out in zip(in_sizes, out_sizes)):
        if None in in_sizes:
            raise UnsupportedError(f"layer '{hint}': exporting antialiased resizing needs known "
                                   f"image sizes, got shape {tuple(shape)}")
        steps.append(lambda x: matrix_resize(
            graph, x, [None if size == out else _antialiased_axis_weights(size, out)
                       for size, out in zip(in_sizes, out_sizes)], hint))
    else:
        steps.append(lambda x: linear_resize(graph, x, hint, sizes=out_sizes))
    if not steps:
        return x

    def body(x):
        for step in steps:
            x = step(x)
        return x

    return channels_first_call(graph, layer, x, 2, body)


@lowers_float32(preprocessing.Resizing)
def resizing(graph, node, args, kwargs):
    """Integer images are resized in float32 and rounded back (Keras 3), or kept as float32 when
    the layer came from a Keras 2 config."""
    layer = node.layer
    x, restore = float_work(graph, node, args[0])
    y = resize_image(graph, node, x, layer.height, layer.width, layer.interpolation,
                     antialias=layer.antialias, crop=layer.crop_to_aspect_ratio,
                     pad=layer.pad_to_aspect_ratio, fill_value=layer.fill_value)
    return y if layer.float_outputs else restore(y)


@lowers_float32(preprocessing.CenterCrop)
def center_crop(graph, node, args, kwargs):
    """A centred Slice; an image smaller than the target on either axis is cropped to the target
    aspect ratio and resized bilinearly instead (decided from the known image size)."""
    layer = node.layer
    in_height, in_width = _known_image_size(layer, node, "CenterCrop")
    x = float_input(graph, node, args[0])
    if in_height < layer.height or in_width < layer.width:
        return resize_image(graph, node, x, layer.height, layer.width, "bilinear", crop=True)
    top, left = (in_height - layer.height) // 2, (in_width - layer.width) // 2
    return channels_first_call(graph, layer, x, 2, lambda x: _slice(
        graph, x, [2, 3], [top, left], [top + layer.height, left + layer.width], layer.name))


@lowers_float32(preprocessing.Normalization)
def normalization_layer(graph, node, args, kwargs):
    """`(x - mean) / std` (or `mean + x * std` with invert), std = max(sqrt(variance), 1e-7)
    computed here in float32 exactly as the layer computes it."""
    layer, hint = node.layer, node.layer.name
    mean, variance = layer.statistics(np.float32)
    std = np.maximum(np.sqrt(variance), np.float32(BACKEND_EPSILON))
    mean_name = graph.constant(np.asarray(mean), f"{hint}/mean", "float32")
    std_name = graph.constant(np.asarray(std), f"{hint}/std", "float32")
    x = float_input(graph, node, args[0])
    if layer.invert:
        return graph.node("Add", [mean_name, graph.node("Mul", [x, std_name], hint)], hint)
    return graph.node("Div", [graph.node("Sub", [x, mean_name], hint), std_name], hint)

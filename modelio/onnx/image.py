"""Both ONNX directions for keras.ops's image family (modelio/ops/image.py): OnnxResize back to
Resize, and ONNX's Resize/Upsample imported as UpSampling layers where they match Keras's
semantics, otherwise as OnnxResize."""

import numpy as np

from .. import ops
from ..errors import FormatError, ModelioError, UnsupportedError
from ..graph.tensor import SymbolicTensor
from ..layers import reshaping
from ..ops import (
    OnnxResize,
)
from .export_support import cast_to, need_opset
from .import_support.constants import MAX_FOLDED_ELEMENTS, bounded_tensor
from .registry import converts, lowers


@lowers(ops.OnnxResize)
def onnx_resize(graph, node, args, kwargs):
    layer = node.layer
    needs = {"half_pixel_symmetric": layer.coordinate_transformation_mode == "half_pixel_symmetric",
             "antialias": layer.antialias}
    for feature, used in needs.items():
        minimum = 19 if feature == "half_pixel_symmetric" else 18
        if used:
            need_opset(graph, layer, minimum, feature)
    attributes = {"mode": layer.mode,
                  "coordinate_transformation_mode": layer.coordinate_transformation_mode,
                  "nearest_mode": layer.nearest_mode, "cubic_coeff_a": layer.cubic_coeff_a,
                  "exclude_outside": int(layer.exclude_outside),
                  "extrapolation_value": layer.extrapolation_value}
    if layer.antialias:
        attributes["antialias"] = 1
    roi = "" if layer.roi is None else graph.constant(np.asarray(layer.roi, np.float32),
                                                      f"{layer.name}/roi")
    if layer.runtime_sizes:
        image, sizes = args[0]
        sizes = cast_to(graph, sizes, node.call_args[0][1].dtype, "int64", layer.name)
        return graph.node("Resize", [image, roi, "", sizes], layer.name, **attributes)
    if layer.sizes is None:
        scales = graph.constant(np.asarray(layer.scales, np.float32), f"{layer.name}/scales")
        return graph.node("Resize", [args[0], roi, scales], layer.name, **attributes)
    if layer.scales is not None and any(
            size != int(np.floor(dim * scale)) for size, dim, scale in zip(
                layer.sizes[1:], node.outputs[0].shape[1:], layer.scales[1:])):
        raise UnsupportedError(f"layer '{layer.name}' (OnnxResize): scales that differ from "
                               f"sizes / input sizes have no ONNX Resize form")
    # The batch keeps its run-time size: sizes = concat(shape(x)[:1], fixed sizes).
    shape = graph.node("Shape", [args[0]], layer.name)
    batch = graph.node("Slice", [shape, graph.ints([0], f"{layer.name}/start"),
                                 graph.ints([1], f"{layer.name}/end")], layer.name)
    sizes = graph.node("Concat", [batch, graph.ints(layer.sizes[1:], f"{layer.name}/sizes")],
                       layer.name, axis=0)
    return graph.node("Resize", [args[0], roi, "", sizes], layer.name, **attributes)


@converts("Resize", "Upsample")
def convert_resize(context, node) -> list:
    x = context.tensor(node, 0)
    runtime = _runtime_sizes(context, node)
    if runtime is not None:
        return [runtime]
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
        return [bounded_tensor(context, node, reshaping.UpSampling2D(
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
    return [bounded_tensor(context, node, layer(x))]


def _runtime_sizes(context, node):
    """A Resize to sizes known only at run time (another tensor's size, in detectors) as an
    OnnxResize taking them as a second operand; None for constant sizes or scales, and for
    axes, an aspect ratio policy or tf_crop_and_resize (which need constant sizes)."""
    if node.op_type != "Resize" or context.opset < 11 or len(node.input) < 4:
        return None
    sizes = context.value(node.input[3])
    if not isinstance(sizes, SymbolicTensor):
        return None
    scales = context.value(node.input[2]) if node.input[2] else None
    if scales is not None and (isinstance(scales, SymbolicTensor) or np.size(scales)):
        raise FormatError(f"{context.where(node)}: give exactly one of scales and sizes")
    policy = context.attribute(node, "keep_aspect_ratio_policy", "stretch")
    mode = context.attribute(node, "coordinate_transformation_mode", "half_pixel")
    if context.attribute(node, "axes") is not None or policy != "stretch" \
            or mode == "tf_crop_and_resize":
        return None  # these need the sizes as constants (refused by name below)
    x = context.tensor(node, 0)
    layer = OnnxResize(
        context.attribute(node, "mode", "nearest"), coordinate_transformation_mode=mode,
        nearest_mode=context.attribute(node, "nearest_mode", "round_prefer_floor"),
        cubic_coeff_a=float(context.attribute(node, "cubic_coeff_a", -0.75)),
        exclude_outside=bool(context.attribute(node, "exclude_outside", 0)),
        antialias=bool(context.attribute(node, "antialias", 0)), runtime_sizes=True,
        name=context.layer_name(node))
    return layer([x, sizes])


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
    if int(np.prod(full_sizes[1:], dtype=np.float64)) > MAX_FOLDED_ELEMENTS:
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

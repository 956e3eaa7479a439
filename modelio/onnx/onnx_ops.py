"""Both ONNX directions for OnnxOp (modelio/ops/onnx_ops.py): the layer lowered back to its ONNX
node, and the ONNX ops no Keras layer or composition of Keras operations has exactly imported
as OnnxOp: GatherND, ScatterND, ScatterElements (and the older Scatter), Hardmax,
LpNormalization, MeanVarianceNormalization, Shrink (Keras's hard/soft shrink where the bias
allows), Mish (Keras's mish activation on float32), CumSum/CumProd when exclusive,
ReverseSequence, OneHot, EyeLike, DepthToSpace/SpaceToDepth in CRD mode, LpPool."""

import numpy as np
from onnx import NodeProto

from .. import layers as keras_layers
from .. import ops
from ..errors import FormatError, UnsupportedError
from ..ops.onnx_ops import OnnxOp
from .export_support import need_opset, onnx_layer_operands
from .import_context import ImportContext
from .import_support.constants import fold, is_tensor
from .import_support.layer_calls import keras_float, onnx_layer
from .import_support.node_inputs import inputs_of, numpy_dtype, positive_axis
from .import_support.windows import explicit_pads, strides_and_dilations
from .registry import converts, lowers

_REDUCTION_OPSET = {"none": 11, "add": 16, "mul": 16, "max": 18, "min": 18}


def _export_opset(layer) -> int:
    attributes = layer.attributes
    if layer.op in ("ScatterND", "ScatterElements"):
        return _REDUCTION_OPSET[attributes.get("reduction", "none")]
    if layer.op == "LpPool" and (attributes.get("ceil_mode") or
                                 any(d != 1 for d in attributes.get("dilations", []))):
        return 18
    if layer.op == "SpaceToDepth":
        return 28  # CRD mode
    return {"Mish": 18, "CumProd": 26, "GatherND": 12}.get(layer.op, 11)


@lowers(OnnxOp)
def onnx_op(graph, node, args, kwargs):
    layer = node.layer
    need_opset(graph, layer, _export_opset(layer), f"{layer.op} with these attributes")
    operands = onnx_layer_operands(graph, node, args)
    attributes = layer.onnx_attributes()
    if layer.op == "Hardmax" and layer.attributes.get("coerced"):
        # before opset 13 Hardmax saw a 2-D (outer, inner) matrix: flatten, Hardmax, reshape
        shape = graph.node("Shape", [operands[0]], layer.name)
        flat = graph.node("Flatten", [operands[0]], layer.name, axis=attributes.get("axis", 1))
        hard = graph.node("Hardmax", [flat], layer.name, axis=-1)
        return graph.node("Reshape", [hard, shape], layer.name)
    if layer.op == "LpPool":
        attributes = {key: value for key, value in attributes.items()
                      if key != "dilations" or any(d != 1 for d in value)}
        if not attributes.get("ceil_mode"):
            attributes.pop("ceil_mode", None)
    return graph.node(layer.op, operands, layer.name, **attributes)


def attributes_of(context, node, defaults: dict) -> dict:
    """The node's attributes named in `defaults`, each given or its default (None: left out)."""
    found = {name: context.attribute(node, name, default) for name, default in defaults.items()}
    return {name: value for name, value in found.items() if value is not None}


def onnx_op_value(context: ImportContext, node, op: str, operands: list, fold_shape=None,
                  fold_dtype=None, **attributes):
    """OnnxOp `op` on `operands`, folded when every operand is a constant."""
    if not any(is_tensor(value) for value in operands):
        layer = OnnxOp(op=op, attributes=attributes)
        return fold(context, node, lambda *arrays: layer.compute(list(arrays)), *operands,
                    shape=fold_shape, dtype=fold_dtype)
    return onnx_layer(context, node, OnnxOp, operands, op=op, attributes=attributes)


def _rank(value) -> int:
    return value.ndim if is_tensor(value) else np.ndim(value)


@converts("GatherND")
def convert_gather_nd(context: ImportContext, node: NodeProto) -> list:
    data, indices = inputs_of(context, node, 2, 2)
    batch_dims = int(context.attribute(node, "batch_dims", 0))
    depth = indices.shape[-1] if _rank(indices) else None
    if depth is None or not 1 <= depth + batch_dims <= _rank(data) or batch_dims < 0:
        raise FormatError(f"{context.where(node)}: indices of shape {tuple(np.shape(indices))} "
                          f"do not index data of rank {_rank(data)} (batch_dims {batch_dims})")
    return [onnx_op_value(context, node, "GatherND", [data, indices], batch_dims=batch_dims)]


def _reduction(context, node) -> str:
    reduction = context.attribute(node, "reduction", "none")
    if reduction not in _REDUCTION_OPSET:
        raise UnsupportedError(f"{context.where(node)}: reduction {reduction!r} is not supported")
    return reduction


@converts("ScatterND")
def convert_scatter_nd(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 3, 3)
    reduction = _reduction(context, node)
    return [onnx_op_value(context, node, "ScatterND", values, reduction=reduction)]


@converts("ScatterElements", "Scatter")
def convert_scatter_elements(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 3, 3)
    axis = positive_axis(context, node, int(context.attribute(node, "axis", 0)), _rank(values[0]))
    attributes = {"axis": axis, "reduction": _reduction(context, node)}
    if attributes["reduction"] == "none":
        del attributes["reduction"]
    return [onnx_op_value(context, node, "ScatterElements", values, **attributes)]


@converts("Hardmax")
def convert_hardmax(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    coerced = context.opset < 13
    axis = int(context.attribute(node, "axis", 1 if coerced else -1))
    axis = positive_axis(context, node, axis, max(_rank(x), 1))
    attributes = {"axis": axis, "coerced": 1} if coerced else {"axis": axis}
    return [onnx_op_value(context, node, "Hardmax", [x], **attributes)]


@converts("LpNormalization")
def convert_lp_normalization(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    attributes = attributes_of(context, node, {"axis": -1, "p": 2})
    if attributes["p"] not in (1, 2):
        raise UnsupportedError(f"{context.where(node)}: p={attributes['p']} (ONNX allows 1, 2)")
    positive_axis(context, node, attributes["axis"], _rank(x))
    return [onnx_op_value(context, node, "LpNormalization", [x], **attributes)]


@converts("MeanVarianceNormalization")
def convert_mean_variance_normalization(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    axes = [int(axis) for axis in context.attribute(node, "axes", [0, 2, 3])]
    for axis in axes:
        positive_axis(context, node, axis, _rank(x))
    return [onnx_op_value(context, node, "MeanVarianceNormalization", [x], axes=axes)]


@converts("Shrink")
def convert_shrink(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    lambd, bias = (float(context.attribute(node, name, default))
                   for name, default in (("lambd", 0.5), ("bias", 0.0)))
    if is_tensor(x) and np.dtype(x.dtype).kind == "f" and bias in (0.0, lambd):
        # Keras's hard_shrink (bias 0) and soft_shrink (bias = lambd)
        cls = ops.HardShrink if bias == 0.0 else ops.SoftShrink
        return [cls(threshold=lambd, name=context.layer_name(node))(x)]
    return [onnx_op_value(context, node, "Shrink", [x], lambd=lambd, bias=bias)]


@converts("Mish")
def convert_mish(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    if keras_float(x):  # Keras's mish activation (float32, as a Keras layer computes)
        return [keras_layers.Activation("mish", name=context.layer_name(node))(x)]
    return [onnx_op_value(context, node, "Mish", [x])]


@converts("ReverseSequence")
def convert_reverse_sequence(context: ImportContext, node: NodeProto) -> list:
    x, lengths = inputs_of(context, node, 2, 2)
    attributes = attributes_of(context, node, {"batch_axis": 1, "time_axis": 0})
    if sorted((attributes["batch_axis"], attributes["time_axis"])) != [0, 1] or _rank(x) < 2:
        raise FormatError(f"{context.where(node)}: batch_axis and time_axis must be 0 and 1 "
                          f"(got {attributes['batch_axis']}, {attributes['time_axis']})")
    return [onnx_op_value(context, node, "ReverseSequence", [x, lengths], **attributes)]


@converts("OneHot")
def convert_one_hot(context: ImportContext, node: NodeProto) -> list:
    indices, _, values = inputs_of(context, node, 3, 3)
    depth = int(np.asarray(context.constant(node, 1)).reshape(-1)[0])
    if depth < 1:
        raise FormatError(f"{context.where(node)}: depth must be positive, got {depth}")
    if np.size(values) != 2 and not is_tensor(values):
        raise FormatError(f"{context.where(node)}: values must hold (off, on)")
    axis = int(context.attribute(node, "axis", -1))
    positive_axis(context, node, axis, _rank(indices) + 1)
    depth_array = np.asarray(context.constant(node, 1))
    shape = None if is_tensor(indices) else (*np.shape(indices), depth)
    dtype = None if is_tensor(values) else np.asarray(values).dtype
    return [onnx_op_value(context, node, "OneHot", [indices, depth_array, values],
                          fold_shape=shape, fold_dtype=dtype, axis=axis, depth=depth)]


@converts("EyeLike")
def convert_eye_like(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    if _rank(x) != 2:
        raise FormatError(f"{context.where(node)}: the input must be 2-D")
    attributes = attributes_of(context, node, {"k": 0, "dtype": None})
    if "dtype" in attributes:
        attributes["dtype_name"] = numpy_dtype(context, node, attributes["dtype"])
    return [onnx_op_value(context, node, "EyeLike", [x], **attributes)]


def blocks_crd(context: ImportContext, node, x, blocksize: int):
    """DepthToSpace / SpaceToDepth in CRD mode (DCR is Keras's DepthToSpace / SpaceToDepth)."""
    return onnx_op_value(context, node, node.op_type, [x], blocksize=blocksize, mode="CRD")


def cumulative(context: ImportContext, node, op: str, x, axis, exclusive: int, reverse: int):
    """CumSum/CumProd with exclusive set (plain and reverse scans are Keras's Cumsum)."""
    return onnx_op_value(context, node, op, [x, axis], exclusive=exclusive, reverse=reverse)


@converts("LpPool")
def convert_lp_pool(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    if not is_tensor(x) or x.ndim < 3:
        raise UnsupportedError(f"{context.where(node)}: the input must be a run-time tensor "
                               f"(N, C, spatial...)")
    kernel = context.attribute(node, "kernel_shape")
    if kernel is None or len(kernel) != x.ndim - 2:
        raise FormatError(f"{context.where(node)}: kernel_shape must give {x.ndim - 2} sizes")
    kernel = [int(size) for size in kernel]
    strides, dilations = strides_and_dilations(context, node, x.ndim - 2, kernel)
    sizes = list(x.shape[2:])
    pads = explicit_pads(context, node, sizes, kernel, strides, dilations)
    if isinstance(pads, str):
        raise UnsupportedError(f"{context.where(node)}: auto_pad {pads} on unknown sizes")
    p = int(context.attribute(node, "p", 2))
    ceil_mode = int(context.attribute(node, "ceil_mode", 0))
    return [onnx_layer(context, node, OnnxOp, [x], op="LpPool", attributes={
        "kernel_shape": kernel, "strides": list(strides), "dilations": list(dilations),
        "pads": list(pads), "p": p, "ceil_mode": ceil_mode})]

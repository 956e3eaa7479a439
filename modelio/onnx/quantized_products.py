"""ONNX's integer products imported as ONNX specifies them: QLinearConv, QLinearMatMul,
ConvInteger and MatMulInteger.

Each operand becomes `value - zero_point` held in float32 (constants fold: a quantized weight
becomes a float kernel of integer values), the product is the float Conv or MatMul the importer
already makes (Keras Conv/Dense layers), which is the exact integer sum while partial sums stay
below 2**24 (float32 holds every integer up to there: for int8 x int8 that is at least 1040
products of the largest magnitude, far more for real data). ConvInteger / MatMulInteger Cast the
sum to int32; QLinearConv / QLinearMatMul multiply it by `x_scale * w_scale / y_scale` and
requantize (Round half to even, zero point, Clip, Cast) as onnx.reference does."""

import numpy as np
from onnx import NodeProto, helper

from .. import ops
from ..errors import FormatError, UnsupportedError
from .import_context import ImportContext
from .import_support.constants import is_tensor
from .import_support.node_inputs import inputs_of
from .quantize_linear import (
    INTEGER_RANGES,
    TENSOR_TYPES,
    dtype_of,
    keras_centered,
    keras_quantize,
    parameter_inputs,
    rank_of,
)
from .registry import CONVERTERS, converts


def _integer(context, node, value, what: str) -> str:
    dtype = dtype_of(value)
    if dtype not in TENSOR_TYPES[:-1]:
        raise UnsupportedError(f"{context.where(node)}: {what} of type {dtype} (the op takes "
                               f"8- or 16-bit integers)")
    return dtype


def _zero_point(context, node, value, operand, what: str, axis_from_end: int | None):
    """A zero point broadcastable to `operand`: a scalar, or a vector along the axis
    `axis_from_end` from the end (per output channel / row / column)."""
    if value is None:
        return None
    if dtype_of(value) != dtype_of(operand):
        raise FormatError(f"{context.where(node)}: {what} of type {dtype_of(value)} for an "
                          f"operand of type {dtype_of(operand)}")
    if rank_of(value) == 0 or (not is_tensor(value) and np.size(value) == 1):
        return value if is_tensor(value) else np.asarray(value).reshape(())
    if is_tensor(value) or axis_from_end is None or rank_of(value) != 1:
        raise UnsupportedError(f"{context.where(node)}: {what} of shape "
                               f"{tuple(np.shape(value) if not is_tensor(value) else value.shape)}"
                               f" (only a per-tensor {what} is supported here)")
    return np.asarray(value).reshape((-1,) + (1,) * axis_from_end)


def _call(context, node, op_type: str, operands: list, **attributes):
    """The importer's converter of `op_type` on `operands` (values given synthetic names)."""
    names = []
    for index, value in enumerate(operands):
        name = f"{node.output[0]}/modelio_{op_type.lower()}_{index}"
        context.values[name] = value
        names.append(name)
    synthetic = helper.make_node(op_type, names, [node.output[0]], name=node.name or
                                 node.output[0], **attributes)
    try:
        return CONVERTERS[op_type](context, synthetic)[0]
    finally:
        for name in names:
            context.values.pop(name, None)


def _conv_attributes(context, node) -> dict:
    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _as_float(value):
    return value if is_tensor(value) else np.asarray(value, dtype=np.float32)


@converts("ConvInteger")
def convert_conv_integer(context: ImportContext, node: NodeProto) -> list:
    values = parameter_inputs(context, node, inputs_of(context, node, 2, 4), 2)
    x, w = values[0], context.constant(node, 1)
    x_zero = _zero_point(context, node, values[2] if len(values) > 2 else None, x,
                         "x_zero_point", None)
    w_zero = _zero_point(context, node, values[3] if len(values) > 3 else None, w,
                         "w_zero_point", np.ndim(w) - 1)
    _integer(context, node, x, "x")
    _integer(context, node, w, "w")
    y = _call(context, node, "Conv", [keras_centered(x, x_zero), keras_centered(w, w_zero)],
              **_conv_attributes(context, node))
    return [ops.Cast(dtype="int32")(y)]


@converts("MatMulInteger")
def convert_matmul_integer(context: ImportContext, node: NodeProto) -> list:
    values = parameter_inputs(context, node, inputs_of(context, node, 2, 4), 2)
    a, b = values[0], values[1]
    a_zero = _zero_point(context, node, values[2] if len(values) > 2 else None, a,
                         "a_zero_point", 1)
    b_zero = _zero_point(context, node, values[3] if len(values) > 3 else None, b,
                         "b_zero_point", 0)
    _integer(context, node, a, "A")
    _integer(context, node, b, "B")
    y = _call(context, node, "MatMul", [keras_centered(a, a_zero), keras_centered(b, b_zero)])
    return [ops.Cast(dtype="int32")(y) if is_tensor(y) else np.asarray(y).astype(np.int32)]


def _scale(context, node, value, what: str):
    if is_tensor(value) or dtype_of(value) not in ("float32", "float16"):
        raise UnsupportedError(f"{context.where(node)}: {what} must be a float32 or float16 "
                               f"constant")
    return np.asarray(value)


def _requantize(context, node, y, multiplier, y_zero, channel_axis_from_end: int):
    """QLinear's output: `y * multiplier + y_zero_point`, rounded half to even, clipped, cast
    (onnx.reference's order: the zero point is added before rounding)."""
    dtype = dtype_of(y_zero)
    if dtype not in INTEGER_RANGES or dtype not in TENSOR_TYPES:
        raise UnsupportedError(f"{context.where(node)}: y of type {dtype}")
    if multiplier.size > 1:
        multiplier = multiplier.reshape((-1,) + (1,) * channel_axis_from_end)
    else:
        multiplier = multiplier.reshape(())
    if not is_tensor(y):
        raise UnsupportedError(f"{context.where(node)}: every input is a constant")
    return keras_quantize(y, ("mul", multiplier), y_zero, dtype, round_first=False)


@converts("QLinearMatMul")
def convert_qlinear_matmul(context: ImportContext, node: NodeProto) -> list:
    values = parameter_inputs(context, node, inputs_of(context, node, 8, 8), 1)
    a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero = values
    _integer(context, node, a, "a")
    _integer(context, node, b, "b")
    a_scale, b_scale = _scale(context, node, a_scale, "a_scale"), \
        _scale(context, node, b_scale, "b_scale")
    y_scale = _scale(context, node, y_scale, "y_scale")
    if a_scale.size != 1 or y_scale.size != 1:
        raise UnsupportedError(f"{context.where(node)}: per-row a_scale or y_scale")
    centered = [keras_centered(a, _zero_point(context, node, a_zero, a, "a_zero_point", None)),
                keras_centered(b, _zero_point(context, node, b_zero, b, "b_zero_point", None)
                               if np.size(b_zero) == 1 or is_tensor(b_zero) else
                               np.asarray(b_zero).reshape(-1))]
    y = _call(context, node, "MatMul", centered)
    multiplier = (a_scale.reshape(()) * b_scale / y_scale.reshape(())).astype(np.float32)
    return [_requantize(context, node, y, multiplier.reshape(-1), y_zero, 0)]


@converts("QLinearConv")
def convert_qlinear_conv(context: ImportContext, node: NodeProto) -> list:
    values = parameter_inputs(context, node, inputs_of(context, node, 8, 9), 1)
    x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero = values[:8]
    w = context.constant(node, 3)
    bias = values[8] if len(values) > 8 else None
    _integer(context, node, x, "x")
    _integer(context, node, w, "w")
    x_scale, w_scale = _scale(context, node, x_scale, "x_scale"), \
        _scale(context, node, w_scale, "w_scale")
    y_scale = _scale(context, node, y_scale, "y_scale")
    if x_scale.size != 1 or y_scale.size != 1:
        raise UnsupportedError(f"{context.where(node)}: per-channel x_scale or y_scale")
    operands = [keras_centered(x, _zero_point(context, node, x_zero, x, "x_zero_point", None)),
                keras_centered(w, _zero_point(context, node, w_zero, w, "w_zero_point",
                                              np.ndim(w) - 1))]
    if bias is not None:
        if is_tensor(bias) or dtype_of(bias) != "int32":
            raise UnsupportedError(f"{context.where(node)}: B must be an int32 constant")
        operands.append(_as_float(bias))
    y = _call(context, node, "Conv", operands, **_conv_attributes(context, node))
    multiplier = (x_scale.reshape(()) * w_scale / y_scale.reshape(())).astype(np.float32)
    return [_requantize(context, node, y, multiplier.reshape(-1), y_zero, np.ndim(w) - 2)]

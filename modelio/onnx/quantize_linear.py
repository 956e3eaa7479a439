"""ONNX's quantization ops imported as ONNX specifies them: QuantizeLinear, DequantizeLinear
(per-tensor, per-axis and blocked; every integer type, and int4/uint4/float8 as constants) and
DynamicQuantizeLinear.

Constant inputs fold in numpy (a quantized weight read by a DequantizeLinear becomes a float
constant, so a Conv or MatMul gets float weights); run-time tensors become Keras 3 operations
computing the same rounding: `Divide`, `Round` (half to even), `Add` of the zero point, `Clip` to
the type's range and `Cast`, so a saved .keras loads in stock Keras 3. Run-time int4/uint4 and
float8 tensors are refused by type name: Keras tensors do not hold them.

A QuantizeLinear -> DequantizeLinear pair on an activation (same constant per-tensor scale and
zero point, nothing else reading the integers) becomes `Clip(Round(x / scale), low - zp,
high - zp) * scale`. Export writes these operations as they are (Div, Round, Max, Min, Mul), not
as QDQ nodes: around a float weight onnxruntime (1.32, any optimization level above disabled)
re-quantizes that weight itself, per tensor, and its outputs then move by a quantization step;
the plain arithmetic runs in onnxruntime to the same bits at every level."""

import numpy as np
from onnx import NodeProto, helper

from .. import ops
from ..errors import FormatError, UnsupportedError
from .import_context import ImportContext
from .import_support.constants import fold, is_tensor
from .import_support.node_inputs import inputs_of, positive_axis
from .registry import converts

# The integer ranges ONNX saturates to, by numpy dtype name.
INTEGER_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535),
                  "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1),
                  "uint4": (0, 15), "int4": (-8, 7)}
FLOAT8 = ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz")
# What a run-time (Keras) tensor can hold.
TENSOR_TYPES = ("uint8", "int8", "uint16", "int16", "int32")


def quantized_type(context, node, onnx_type: int) -> str:
    """The numpy dtype name of a quantized ONNX type; other types refused by name."""
    name = helper.tensor_dtype_to_string(int(onnx_type)).removeprefix("TensorProto.")
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(onnx_type))).name
    except (KeyError, TypeError, ValueError):
        dtype = None
    if dtype not in INTEGER_RANGES and dtype not in FLOAT8:
        raise UnsupportedError(f"{context.where(node)}: quantized type {name} is not supported")
    return dtype


def parameter_inputs(context, node, values: list, first: int) -> list:
    """`values` with the node's inputs from index `first` on (scales, zero points) read as
    constants when they are graph inputs: the ONNX backend then binds them
    (ConstantInputNeeded); run-time values made by nodes (DynamicQuantizeLinear's) stay."""
    return [context.constant(node, index) if index >= first and is_tensor(value)
            and node.input[index] in context.graph_inputs else value
            for index, value in enumerate(values)]


def dtype_of(value) -> str:
    return value.dtype if is_tensor(value) else np.asarray(value).dtype.name


def rank_of(value) -> int:
    return value.ndim if is_tensor(value) else np.ndim(value)


def shape_of(value) -> tuple:
    return tuple(value.shape) if is_tensor(value) else np.shape(value)


def _axis(context, node, rank: int) -> int:
    return positive_axis(context, node, int(context.attribute(node, "axis", 1)), max(rank, 1))


def broadcast_parameter(context, node, value, x, what: str):
    """A scale or zero point shaped to broadcast against `x` (ONNX's per-tensor, per-axis and
    blocked layouts, as onnx.reference's reshape_input); None stays None."""
    if value is None:
        return None
    block = int(context.attribute(node, "block_size", 0) or 0)
    if block < 0:
        raise FormatError(f"{context.where(node)}: block_size must be >= 0, got {block}")
    shape, rank = shape_of(value), rank_of(value)
    if rank == 0 or (not block and rank == 1 and shape[0] == 1):
        return value if rank == 0 or is_tensor(value) else np.asarray(value).reshape(())
    if is_tensor(value):
        raise UnsupportedError(f"{context.where(node)}: a run-time {what} of shape {shape} "
                               f"(only a per-tensor run-time {what} is supported)")
    value = np.asarray(value)
    x_shape = shape_of(x)
    axis = _axis(context, node, len(x_shape))
    if not block:
        if rank != 1 or x_shape[axis] not in (None, shape[0]):
            raise FormatError(f"{context.where(node)}: {what} of shape {shape} does not fit "
                              f"axis {axis} of an input of shape {x_shape}")
        dims = [1] * len(x_shape)
        dims[axis] = shape[0]
        return value.reshape(dims)
    if rank != len(x_shape) or x_shape[axis] is None:
        raise FormatError(f"{context.where(node)}: blocked {what} of shape {shape} needs an "
                          f"input of rank {rank} with a known axis {axis}, got {x_shape}")
    size = x_shape[axis]
    if -(-size // block) != shape[axis] or any(
            dim not in (None, own) for index, (dim, own) in enumerate(zip(x_shape, shape))
            if index != axis):
        raise FormatError(f"{context.where(node)}: blocked {what} of shape {shape} does not "
                          f"fit an input of shape {x_shape} with block_size {block}")
    # element i of the axis reads block i // block_size (no repeat: block_size may be huge)
    return np.take(value, np.arange(size) // block, axis=axis)


def _output_type(context, node, zero_point) -> str:
    """QuantizeLinear's output type: the zero point's, else output_dtype, else uint8."""
    attribute = int(context.attribute(node, "output_dtype", 0) or 0)
    if zero_point is not None:
        dtype = dtype_of(zero_point)
        if attribute and quantized_type(context, node, attribute) != dtype:
            raise FormatError(f"{context.where(node)}: output_dtype {attribute} differs from "
                              f"the zero point's type {dtype}")
        if dtype not in INTEGER_RANGES and dtype not in FLOAT8:
            raise UnsupportedError(f"{context.where(node)}: quantized type {dtype} is not "
                                   f"supported")
        return dtype
    return quantized_type(context, node, attribute) if attribute else "uint8"


def quantize_array(x, scale, zero_point, dtype: str, saturate: bool = True):
    """numpy QuantizeLinear (onnx.reference's arithmetic) of arrays already broadcastable."""
    with np.errstate(all="ignore"):
        q = np.asarray(x) / np.asarray(scale)
        if dtype in FLOAT8:
            if saturate:
                limit = float(np.finfo(dtype).max)
                q = np.where(np.isnan(q), q, np.clip(q, -limit, limit))
            return np.asarray(q).astype(dtype)
        low, high = INTEGER_RANGES[dtype]
        q = np.rint(q).astype(np.float64)
        if zero_point is not None:
            q = q + np.asarray(zero_point).astype(np.float64)
        return np.clip(np.nan_to_num(q), low, high).astype(dtype)


def dequantize_array(x, scale, zero_point, dtype: str):
    """numpy DequantizeLinear (onnx.reference's arithmetic) of broadcastable arrays."""
    x = np.asarray(x)
    centered = x.astype(np.float32)
    if zero_point is not None and x.dtype.name not in FLOAT8:
        centered = centered - np.asarray(zero_point).astype(np.float32)
    return (centered * np.asarray(scale)).astype(dtype)


def _parameters(context, node, values):
    """(x, scale, zero point) of a Q/DQ node, scale and zero point broadcastable to x."""
    x, scale = values[0], values[1]
    zero_point = values[2] if len(values) > 2 else None
    if dtype_of(scale) not in ("float32", "float16", "bfloat16"):
        raise UnsupportedError(f"{context.where(node)}: scale of type {dtype_of(scale)}")
    return (x, broadcast_parameter(context, node, scale, x, "scale"),
            broadcast_parameter(context, node, zero_point, x, "zero point"))


def keras_quantize(x, scale, zero_point, dtype: str, round_first: bool = True, rounded=None):
    """Keras operations computing QuantizeLinear of float tensor `x` to integer `dtype`:
    Divide (or Multiply when `scale` is the reciprocal given as ('mul', m)), Round half to
    even, Add the zero point, Clip to the range, Cast."""
    low, high = INTEGER_RANGES[dtype]
    if rounded is not None:
        q = rounded  # Round(Divide(x, scale)), made by the caller
    else:
        q = ops.Multiply()(x, scale[1]) if isinstance(scale, tuple) else ops.Divide()(x, scale)
        q = ops.Round()(q) if round_first else q
    wide = "float64" if dtype == "int32" else "float32"
    if q.dtype != wide:
        q = ops.Cast(dtype=wide)(q)
    if zero_point is not None:
        zero = ops.Cast(dtype=wide)(zero_point) if is_tensor(zero_point) else \
            np.asarray(zero_point).astype(wide)
        if is_tensor(zero) or np.any(zero):
            q = ops.Add()(q, zero)
    if not round_first:
        q = ops.Round()(q)
    q = ops.Clip(x_min=low, x_max=high)(q)
    return ops.Cast(dtype=dtype)(q)


def keras_centered(value, zero_point, dtype: str = "float32"):
    """`value - zero_point` as `dtype` (Cast and Subtract; numpy for constants)."""
    if not is_tensor(value):
        return dequantize_array(value, np.float32(1), zero_point, dtype)
    centered = value if value.dtype == dtype else ops.Cast(dtype=dtype)(value)
    if zero_point is None:
        return centered
    if is_tensor(zero_point):
        return ops.Subtract()(centered, ops.Cast(dtype=dtype)(zero_point))
    zero = np.asarray(zero_point).astype(dtype)
    return ops.Subtract()(centered, zero) if np.any(zero) else centered


def _tensor_type(context, node, dtype: str, what: str) -> None:
    if dtype not in TENSOR_TYPES:
        raise UnsupportedError(f"{context.where(node)}: {what} of type {dtype} is a run-time "
                               f"tensor; modelio holds quantized run-time tensors as "
                               f"{', '.join(TENSOR_TYPES)} only")


@converts("QuantizeLinear")
def convert_quantize_linear(context: ImportContext, node: NodeProto) -> list:
    values = parameter_inputs(context, node, inputs_of(context, node, 2, 3), 1)
    precision = int(context.attribute(node, "precision", 0) or 0)
    x, scale, zero_point = _parameters(context, node, values)
    dtype = _output_type(context, node, values[2] if len(values) > 2 else None)
    saturate = bool(context.attribute(node, "saturate", 1))
    if precision:
        wide = np.dtype(helper.tensor_dtype_to_np_dtype(precision)).name
        if wide not in ("float32", "float16"):
            raise UnsupportedError(f"{context.where(node)}: precision {wide}")
        x = ops.Cast(dtype=wide)(x) if is_tensor(x) and x.dtype != wide else \
            x if is_tensor(x) else np.asarray(x).astype(wide)
        scale = scale if is_tensor(scale) else np.asarray(scale).astype(wide)
    if not is_tensor(x) and not is_tensor(scale) and not is_tensor(zero_point):
        return [fold(context, node, quantize_array, x, scale, zero_point, dtype, saturate,
                     shape=np.shape(x), dtype=np.float64)]
    _tensor_type(context, node, dtype, "the output")
    if not is_tensor(x):
        raise UnsupportedError(f"{context.where(node)}: a constant x with a run-time scale")
    if not is_tensor(scale):
        scale = np.asarray(scale).astype(x.dtype)
    rounded = ops.Round()(ops.Divide()(x, scale))
    q = keras_quantize(x, scale, zero_point, dtype, rounded=rounded)
    if x.dtype == "float32" and not is_tensor(scale) and not is_tensor(zero_point) \
            and np.size(zero_point if zero_point is not None else 0) == 1:
        # what a DequantizeLinear reading only this output needs to fuse the pair
        _pending(context)[id(q)] = (q, rounded, scale, zero_point, dtype)
    return [q]


def _pending(context) -> dict:
    """{id(QuantizeLinear output): (output, rounded x / scale, scale, zero point, type)} of
    one import (the pairs a DequantizeLinear may fuse)."""
    if not hasattr(context, "quantized_outputs"):
        context.quantized_outputs = {}
    return context.quantized_outputs


def _fused_pair(context, node, x, scale, zero_point):
    """DequantizeLinear(QuantizeLinear(v)) with the same constant per-tensor scale and zero
    point, read by nothing else: `Clip(Round(v / scale), low - zp, high - zp) * scale` (the
    same integers: the zero point's addition and subtraction cancel exactly). None otherwise."""
    entry = _pending(context).get(id(x))
    if entry is None or entry[0] is not x or context.uses[node.input[0]] != 1 \
            or node.input[0] in context.graph_outputs or is_tensor(scale) \
            or is_tensor(zero_point):
        return None
    _, rounded, q_scale, q_zero, dtype = entry
    zero = 0 if zero_point is None else int(np.asarray(zero_point).reshape(-1)[0])
    q_zero = 0 if q_zero is None else int(np.asarray(q_zero).reshape(-1)[0])
    if np.size(scale) != 1 or np.size(zero_point if zero_point is not None else 0) != 1 \
            or zero != q_zero or np.asarray(scale, np.float32).reshape(()) != \
            np.asarray(q_scale, np.float32).reshape(()):
        return None
    low, high = INTEGER_RANGES[dtype]
    clipped = ops.Clip(x_min=low - zero, x_max=high - zero)(rounded)
    return ops.Multiply()(clipped, np.asarray(scale, np.float32).reshape(()))


@converts("DequantizeLinear")
def convert_dequantize_linear(context: ImportContext, node: NodeProto) -> list:
    values = parameter_inputs(context, node, inputs_of(context, node, 2, 3), 1)
    x, scale, zero_point = _parameters(context, node, values)
    attribute = int(context.attribute(node, "output_dtype", 0) or 0)
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(attribute)).name if attribute else \
        dtype_of(values[1])
    if dtype not in ("float32", "float16"):
        raise UnsupportedError(f"{context.where(node)}: output type {dtype} is not supported")
    source = dtype_of(x)
    if source not in INTEGER_RANGES and source not in FLOAT8:
        raise UnsupportedError(f"{context.where(node)}: quantized type {source} is not supported")
    if zero_point is not None and source not in FLOAT8 and dtype_of(zero_point) != source:
        raise FormatError(f"{context.where(node)}: zero point of type {dtype_of(zero_point)} "
                          f"for x of type {source}")
    if not any(is_tensor(value) for value in (x, scale, zero_point)):
        return [fold(context, node, dequantize_array, x, scale, zero_point, dtype,
                     shape=np.shape(x), dtype=np.float32)]
    if not is_tensor(x):
        raise UnsupportedError(f"{context.where(node)}: a constant x with a run-time scale")
    _tensor_type(context, node, source, "x")
    fused = _fused_pair(context, node, x, scale, zero_point) if dtype == "float32" else None
    if fused is not None:
        return [fused]
    centered = keras_centered(x, zero_point)
    if not is_tensor(scale):
        scale = np.asarray(scale).astype(np.float32)
    elif scale.dtype != "float32":
        scale = ops.Cast(dtype="float32")(scale)
    y = ops.Multiply()(centered, scale)
    return [y if dtype == "float32" else ops.Cast(dtype=dtype)(y)]


@converts("DynamicQuantizeLinear")
def convert_dynamic_quantize_linear(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    if not is_tensor(x):
        return [fold(context, node, lambda a, i=i: _dynamic_arrays(a)[i], x)
                for i in range(3)]
    if x.dtype != "float32":
        raise UnsupportedError(f"{context.where(node)}: x of type {x.dtype}")
    zero = np.float32(0)
    high = ops.Maximum()(ops.Max(axis=None)(x), zero)
    low = ops.Minimum()(ops.Min(axis=None)(x), zero)
    spread = ops.Subtract()(high, low)
    spread = ops.Where()(ops.Equal()(spread, zero), np.float32(1), spread)
    scale = ops.Divide()(spread, np.float32(255))
    start = ops.Clip(x_min=0, x_max=255)(ops.Subtract()(zero, ops.Divide()(low, scale)))
    zero_point = ops.Round()(start)
    y = ops.Clip(x_min=0, x_max=255)(ops.Add()(ops.Round()(ops.Divide()(x, scale)), zero_point))
    return [ops.Cast(dtype="uint8")(y), scale, ops.Cast(dtype="uint8")(zero_point)]


def _dynamic_arrays(x):
    x = np.asarray(x, dtype=np.float32)
    high = np.float32(max(0, np.max(x))) if x.size else np.float32(0)
    low = np.float32(min(0, np.min(x))) if x.size else np.float32(0)
    scale = np.float32(1.0 if high == low else high - low) / np.float32(255)
    zero_point = np.rint(np.clip(np.float32(0) - low / scale, 0, 255))
    y = np.clip(np.rint(x / scale) + zero_point, 0, 255)
    return y.astype(np.uint8), np.asarray(scale, np.float32), np.asarray(zero_point, np.uint8)


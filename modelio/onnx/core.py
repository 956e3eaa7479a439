"""Both ONNX directions for the core family (modelio/layers/core.py) and keras.ops's core
(modelio/ops/core.py): Dense, Identity, Masking and the Cast/Shape twins as ONNX nodes; ONNX's
Constant, Identity, Dropout, Cast, Shape, Size, Gemm and MatMul imported as Dense or core layers."""

import math

import numpy as np
from onnx import NodeProto, TensorProto, helper

from .. import layers as keras_layers
from .. import ops
from ..errors import FormatError, UnsupportedError
from ..layers import core
from .activation_functions import lower_activation
from .export_support import cast_to, need_opset, onnx_type, reduce
from .import_context import ImportContext
from .import_support.constants import (
    check_fold_shape,
    checked_constant,
    fold,
    is_tensor,
    widest_dtype,
)
from .import_support.layer_calls import call_layer, keras_float, onnx_layer
from .import_support.node_inputs import inputs_of, numpy_dtype
from .import_support.sizes import require_dim
from .quantization import lower_bias, lower_kernel_product
from .registry import converts, lowers


@lowers(core.Dense)
def dense(graph, node, args, kwargs):
    layer = node.layer
    x = args[0]
    inputs = node.input_tensors  # (none when TimeDistributed lowers its inner Dense)
    if inputs and np.dtype(inputs[0].dtype).kind in "iub":  # a lookup's counts, as in numpy
        x = graph.node("Cast", [x], layer.name, to=onnx_type(layer.kernel.value.dtype))
    if layer.quantization.mode is not None or layer.lora.enabled:
        y = lower_kernel_product(graph, layer, x,
                                 lambda a, b: graph.node("MatMul", [a, b], layer.name))
        y = lower_bias(graph, layer, y)
        return lower_activation(graph, layer.activation_name, y, layer.name, layer.name)
    y = graph.node("MatMul", [x, graph.weight(layer.kernel)], layer.name)
    if layer.bias is not None:
        y = graph.node("Add", [y, graph.weight(layer.bias)], layer.name)
    return lower_activation(graph, layer.activation_name, y, layer.name, layer.name)


@lowers(core.InferenceIdentity, core.Identity)
def identity(graph, node, args, kwargs):
    return graph.node("Identity", [args[0]], node.layer.name)


@lowers(core.Masking)
def masking(graph, node, args, kwargs):
    """Zeroes the steps whose features all equal `mask_value` (the mask itself is a separate
    Any(NotEqual) node of the graph)."""
    layer, x = node.layer, args[0]
    dtype = np.dtype(node.input_tensors[0].dtype)
    differs = graph.node("Not", [graph.node("Equal", [x, graph.constant(
        layer.mask_value, f"{layer.name}/mask_value", dtype)], layer.name)], layer.name)
    kept = graph.node("Cast", [differs], layer.name, to=TensorProto.INT32)
    keep = graph.node("Cast", [reduce(graph, "ReduceMax", kept, [-1], True, layer.name)], layer.name,
                      to=TensorProto.BOOL)
    return graph.node("Where", [keep, x, graph.constant(0.0, f"{layer.name}/zero", dtype)],
                      layer.name)


@lowers(ops.Cast)
def cast(graph, node, args, kwargs):
    result = cast_to(graph, args[0], node.input_tensors[0].dtype, node.outputs[0].dtype,
                     node.layer.name)
    return result if result != args[0] else graph.node("Identity", [result], node.layer.name)


@lowers(ops.OnnxCast)
def onnx_cast(graph, node, args, kwargs):
    to = helper.np_dtype_to_tensor_dtype(np.dtype(node.layer.to))
    return graph.node("Cast", [args[0]], node.layer.name, to=to)


@lowers(ops.OnnxShape)
def onnx_shape(graph, node, args, kwargs):
    layer = node.layer
    if layer.start == 0 and layer.end is None:
        return graph.node("Shape", [args[0]], layer.name)
    need_opset(graph, layer, 15, "Shape with start/end")
    attributes = {"start": layer.start}
    if layer.end is not None:
        attributes["end"] = layer.end
    return graph.node("Shape", [args[0]], layer.name, **attributes)


@converts("Constant")
def convert_constant(context: ImportContext, node: NodeProto) -> list:
    for name in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        value = context.attribute(node, name)
        if value is not None:
            dtype = np.float32 if name.startswith("value_float") else np.int64
            array = value if name == "value" else np.asarray(value, dtype=dtype)
            return [checked_constant(context, node, array)]
    present = [attribute.name for attribute in node.attribute]
    raise UnsupportedError(f"{context.where(node)}: needs a value, value_float(s) or "
                           f"value_int(s) attribute, got {present or 'none'}")


@converts("Identity")
def convert_identity(context: ImportContext, node: NodeProto) -> list:
    (value,) = inputs_of(context, node, 1, 1)
    return [value]


@converts("Dropout")
def convert_dropout(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 3)
    x = values[0]
    training = values[2] if len(values) > 2 else None
    if is_tensor(training):
        raise UnsupportedError(f"{context.where(node)}: training_mode is a run-time input; "
                               f"modelio imports inference graphs only (training-mode dropout "
                               f"is random)")
    if training is not None and bool(np.asarray(training).reshape(-1)[0]):
        ratio = values[1] if len(values) > 1 else None
        if ratio is None or is_tensor(ratio) or float(np.asarray(ratio)) != 0.0:
            raise UnsupportedError(f"{context.where(node)}: dropout in training mode is random; "
                                   f"modelio imports inference graphs only")
    outputs = [x]
    if len(node.output) > 1 and node.output[1]:
        outputs.append(_dropout_mask(context, node, x))
    return outputs


def _dropout_mask(context, node, x):
    """The all-true mask of inference-mode Dropout, shaped like `x`."""
    if not is_tensor(x):
        return np.ones(check_fold_shape(context, node, np.shape(x), bool), dtype=bool)
    shape = onnx_layer(context, node, ops.OnnxShape, [x])
    return onnx_layer(context, node, ops.OnnxConstantOfShape, [shape], value=True,
                      to="bool")


@converts("Cast")
def convert_cast(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    to = context.attribute(node, "to")
    if to is None:
        raise FormatError(f"{context.where(node)}: the 'to' attribute is missing")
    return [_cast(context, node, x, numpy_dtype(context, node, to))]


@converts("CastLike")
def convert_cast_like(context: ImportContext, node: NodeProto) -> list:
    x, like = inputs_of(context, node, 2, 2)
    return [_cast(context, node, x, like.dtype if is_tensor(like) else np.asarray(like).dtype.name)]


def _cast(context, node, x, dtype: str):
    """`x` as `dtype`: folded when constant, unchanged when it already is, else an OnnxCast."""
    if not is_tensor(x):
        return fold(context, node, lambda array: np.asarray(array).astype(dtype), x,
                    shape=np.shape(x), dtype=dtype)
    if x.dtype == dtype:
        return x
    return onnx_layer(context, node, ops.OnnxCast, [x], to=dtype)


@converts("Gemm")
def convert_gemm(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 2, 3)
    a, b = values[0], values[1]
    c = values[2] if len(values) > 2 else None
    alpha = float(context.attribute(node, "alpha", 1.0))
    beta = float(context.attribute(node, "beta", 1.0))
    trans_a = int(context.attribute(node, "transA", 0))
    trans_b = int(context.attribute(node, "transB", 0))
    config = {"alpha": alpha, "beta": beta, "trans_a": trans_a, "trans_b": trans_b}
    operands = [a, b] if c is None else [a, b, c]
    if not any(is_tensor(value) for value in operands):
        layer = ops.OnnxGemm(**config)
        rows = np.shape(a)[1 if trans_a else 0] if np.ndim(a) == 2 else 0
        columns = np.shape(b)[0 if trans_b else 1] if np.ndim(b) == 2 else 0
        return [fold(context, node, lambda *arrays: layer.compute(list(arrays)), *operands,
                     shape=(rows, columns), dtype=widest_dtype(operands))]
    dense = _gemm_as_dense(context, node, a, b, c if beta else None, alpha, beta, trans_a,
                           trans_b)
    if dense is not None:
        return [dense]
    return [onnx_layer(context, node, ops.OnnxGemm, operands, **config)]


def _gemm_as_dense(context, node, a, b, c, alpha, beta, trans_a, trans_b):
    if not keras_float(a) or a.ndim != 2 or trans_a or alpha != 1.0 or is_tensor(b) \
            or is_tensor(c) or np.ndim(b) != 2 or beta not in (0.0, 1.0):
        return None
    kernel = np.asarray(b, dtype=np.float32)
    kernel = kernel.T if trans_b else kernel
    units = kernel.shape[1]
    if require_dim(a, 1, kernel.shape[0]).shape[1] != kernel.shape[0] or units == 0:
        return None  # Dense needs its input width, which the kernel gives
    weights = [kernel]
    if c is not None:
        bias = np.asarray(c, dtype=np.float32)
        if bias.shape not in ((units,), (1, units)):
            return None
        weights.append(bias.reshape(units))
    layer = keras_layers.Dense(units, use_bias=c is not None, name=context.layer_name(node))
    return call_layer(layer, a, weights)


@converts("MatMul")
def convert_matmul(context: ImportContext, node: NodeProto) -> list:
    a, b = inputs_of(context, node, 2, 2)
    if not is_tensor(a) and not is_tensor(b):
        return [fold(context, node, np.matmul, a, b, shape=_matmul_shape(context, node, a, b),
                     dtype=widest_dtype([a, b]))]
    if keras_float(a) and a.ndim >= 2 and not is_tensor(b) and np.ndim(b) == 2 \
            and require_dim(a, a.ndim - 1, np.shape(b)[0]).shape[-1] == np.shape(b)[0] \
            and np.shape(b)[1] > 0:
        kernel = np.asarray(b, dtype=np.float32)
        layer = keras_layers.Dense(kernel.shape[1], use_bias=False,
                                   name=context.layer_name(node))
        return [call_layer(layer, a, [kernel])]
    return [onnx_layer(context, node, ops.OnnxMatMul, [a, b])]


def _matmul_shape(context, node, a, b) -> tuple:
    """The shape of matmul(a, b) for constants `a` and `b` (numpy's rules, as ONNX's)."""
    a_shape, b_shape = np.shape(a), np.shape(b)
    if not a_shape or not b_shape:
        raise FormatError(f"{context.where(node)}: MatMul of a scalar")
    rows = a_shape[-2:-1] if len(a_shape) > 1 else ()
    columns = b_shape[-1:] if len(b_shape) > 1 else ()
    try:
        batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError as exc:
        raise FormatError(f"{context.where(node)}: inputs of shapes {a_shape} and {b_shape} "
                          f"do not broadcast") from exc
    return (*batch, *rows, *columns)


@converts("Shape")
def convert_shape(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    start = int(context.attribute(node, "start", 0))
    end = context.attribute(node, "end")
    end = None if end is None else int(end)
    dims = tuple(x.shape if is_tensor(x) else np.shape(x))[start:end]
    if None not in dims and (node.output[0] not in context.graph_outputs or not is_tensor(x)):
        return [np.asarray(dims, dtype=np.int64)]
    return [onnx_layer(context, node, ops.OnnxShape, [x], start=start, end=end)]


@converts("Size")
def convert_size(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    dims = tuple(x.shape if is_tensor(x) else np.shape(x))
    if None in dims:
        raise UnsupportedError(f"{context.where(node)}: the size of {dims} is only known at run "
                               f"time")
    return [np.asarray(math.prod(dims), dtype=np.int64)]

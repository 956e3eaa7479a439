"""Converters for the core ONNX ops: constants, elementwise math, activations, dense algebra
(shape ops and reductions: import_shape.py).

Every converter folds its node to a numpy constant when all inputs are constants (shape
arithmetic disappears this way), builds a Keras layer when one has the op's exact semantics on
float32 tensors without touching the batch axis, and otherwise an Onnx* layer
(modelio/layers/onnx_ops.py) that carries the op as ONNX defines it.
"""


import math

import numpy as np
from onnx import NodeProto

from .. import layers as keras_layers
from .. import ops as onnx_ops
from ..errors import FormatError, UnsupportedError
from .import_context import ImportContext
from .import_support import (
    call_layer,
    check_fold_shape,
    checked_constant,
    fold,
    inputs_of,
    is_tensor,
    keras_float,
    numpy_dtype,
    onnx_layer,
    positive_axis,
    producer_of,
)
from .registry import converts

# ----- constants and pass-through -----

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


@converts("ConstantOfShape")
def convert_constant_of_shape(context: ImportContext, node: NodeProto) -> list:
    (shape,) = inputs_of(context, node, 1, 1)
    value = context.attribute(node, "value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if value.size != 1:
        raise FormatError(f"{context.where(node)}: value must hold one element")
    if is_tensor(shape):
        return [onnx_layer(context, node, onnx_ops.OnnxConstantOfShape, [shape],
                           value=value.item(), to=value.dtype.name)]
    return [np.full(check_fold_shape(context, node, shape), value[0], dtype=value.dtype)]


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
        return np.ones(np.shape(x), dtype=bool)
    shape = onnx_layer(context, node, onnx_ops.OnnxShape, [x])
    return onnx_layer(context, node, onnx_ops.OnnxConstantOfShape, [shape], value=True,
                      to="bool")


# ----- elementwise ops with two or more operands -----

KERAS_MERGES = {"Add": "Add", "Sum": "Add", "Mul": "Multiply", "Sub": "Subtract",
                "Max": "Maximum", "Min": "Minimum", "Mean": "Average"}


@converts(*onnx_ops.ELEMENTWISE_OPS)
def convert_elementwise(context: ImportContext, node: NodeProto) -> list:
    op = node.op_type
    if op in onnx_ops.VARIADIC_OPS:
        values = inputs_of(context, node, 1)
    elif op == "Where":
        values = inputs_of(context, node, 3, 3)
    else:
        values = inputs_of(context, node, 2, 2)
    if context.opset < 7 and op == "PRelu":
        values = [values[0], _legacy_prelu_slope(values[0], values[1])]
    elif context.opset < 7 and len(values) == 2:
        values = [values[0], _legacy_broadcast(context, node, *values)]
    if op == "PRelu":
        return [_convert_prelu(context, node, *values)]
    function = onnx_ops.ELEMENTWISE_OPS[op]
    if not any(is_tensor(value) for value in values):
        return [fold(context, node, function, *values)]
    if len(values) == 1:
        return values
    fused = _dense_with_bias(context, node, values) if op == "Add" else \
        _erf_gelu(context, node, values) if op == "Mul" else None
    if fused is not None:
        return [fused]
    merge = KERAS_MERGES.get(op)
    if merge and all(keras_float(value) and value.shape == values[0].shape for value in values) \
            and (op != "Sub" or len(values) == 2):
        layer = getattr(keras_layers, merge)(name=context.layer_name(node))
        return [layer(list(values))]
    return [onnx_layer(context, node, onnx_ops.OnnxElementwise, values, op=op)]


def _dense_with_bias(context, node, values):
    """MatMul + Add(bias) as one Dense with a bias, when the Add reads a bias-free Dense that
    nothing else reads and the constant is one bias value per unit."""
    for index in (0, 1):
        tensor, bias = values[index], values[1 - index]
        if not is_tensor(tensor) or is_tensor(bias) or context.uses[node.input[index]] != 1:
            continue
        dense = tensor.keras_history.layer if tensor.keras_history else None
        if type(dense) is not keras_layers.Dense or dense.use_bias or len(dense.inbound_nodes) != 1:
            continue
        bias = np.asarray(bias)
        if bias.dtype != np.float32 or bias.size != dense.units or bias.ndim > tensor.ndim or (
                bias.ndim and bias.shape[-1] != dense.units):
            continue
        fused = keras_layers.Dense(dense.units, use_bias=True, name=context.layer_name(node))
        source = dense.inbound_nodes[0].call_args[0]
        return call_layer(fused, source, [dense.kernel.value, bias.reshape(dense.units)])
    return None


# ----- x * 0.5 * (1 + erf(x / sqrt(2))), as PyTorch exports GELU before opset 20 -----

def _erf_gelu(context, node, values):
    """Keras `Activation("gelu")` for the last Mul of an Erf-based GELU whose intermediate
    values nothing else reads; None when `values` are not such a pattern."""
    if len(values) != 2:
        return None
    factors, inner = [], []
    for value in values:
        parts = _mul_parts(value)
        factors.extend(parts if parts is not None else [value])
        inner.extend([value] if parts is not None else [])
    constants = [factor for factor in factors if not is_tensor(factor)]
    tensors = [factor for factor in factors if is_tensor(factor)]
    if len(factors) != 3 or len(constants) != 1 or np.size(constants[0]) != 1 \
            or not math.isclose(float(np.asarray(constants[0]).reshape(-1)[0]), 0.5):
        return None
    for x, one_plus_erf in (tensors, tensors[::-1]):
        chain = _one_plus_erf_chain(context, x, one_plus_erf)
        if chain is not None and keras_float(x) and one_plus_erf.shape == x.shape \
                and all(_used_once(context, value) for value in inner):
            return keras_layers.Activation("gelu", name=context.layer_name(node))(x)
    return None


def _mul_parts(value):
    """The two factors of a product made by a Keras Multiply or an OnnxElementwise Mul."""
    if not is_tensor(value):
        return None
    layer, inputs, constants = producer_of(value)
    if type(layer) is keras_layers.Multiply and len(inputs) == 2:
        return inputs
    if isinstance(layer, onnx_ops.OnnxElementwise) and layer.op == "Mul" \
            and len(inputs) + len(constants) == 2:
        return inputs + constants
    return None


def _elementwise_with_constant(tensor, op):
    """(input tensor, constant) when `tensor` is OnnxElementwise(op)(input, scalar constant)."""
    layer, inputs, constants = producer_of(tensor)
    if isinstance(layer, onnx_ops.OnnxElementwise) and layer.op == op and len(inputs) == 1 \
            and len(constants) == 1 and constants[0].size == 1:
        if op == "Div" and layer.constants[0]["index"] != 1:
            return None
        return inputs[0], float(constants[0].reshape(-1)[0])
    return None


def _one_plus_erf_chain(context, x, value):
    """The tensors of `1 + erf(x / sqrt(2))` (or `x * (1 / sqrt(2))`) when `value` is that."""
    added = _elementwise_with_constant(value, "Add")
    if added is None or not math.isclose(added[1], 1.0):
        return None
    erf = added[0]
    layer, inputs, _ = producer_of(erf)
    if not isinstance(layer, onnx_ops.OnnxUnary) or layer.op != "Erf":
        return None
    scaled = inputs[0]
    divided = _elementwise_with_constant(scaled, "Div")
    multiplied = _elementwise_with_constant(scaled, "Mul")
    if divided is not None and math.isclose(divided[1], math.sqrt(2), rel_tol=1e-6):
        source = divided[0]
    elif multiplied is not None and math.isclose(multiplied[1], 1 / math.sqrt(2), rel_tol=1e-6):
        source = multiplied[0]
    else:
        return None
    if source is not x or not all(_used_once(context, tensor) for tensor in (value, erf, scaled)):
        return None
    return value, erf, scaled


def _used_once(context, tensor) -> bool:
    """Whether the ONNX value holding `tensor` is read by exactly one node and is no output."""
    names = [name for name, value in context.values.items() if value is tensor]
    return len(names) == 1 and context.uses[names[0]] == 1


def _legacy_broadcast(context, node, a, b):
    """Before opset 7, `broadcast=1` with `axis` aligned B's axes with A's from `axis` on;
    reshaping B (a constant) with trailing ones gives numpy the same alignment."""
    axis = context.attribute(node, "axis")
    if not context.attribute(node, "broadcast", 0) or axis is None:
        return b
    if is_tensor(b):
        raise UnsupportedError(f"{context.where(node)}: legacy broadcasting of a run-time "
                               f"operand along axis {axis}")
    rank = a.ndim if is_tensor(a) else np.ndim(a)
    axis = positive_axis(context, node, int(axis), rank)
    b = np.asarray(b)
    return b.reshape(b.shape + (1,) * (rank - axis - b.ndim))


def _legacy_prelu_slope(x, slope):
    """Before opset 7 a 1-D slope of C values applied along the channel axis 1."""
    if is_tensor(slope) or not is_tensor(x) or x.ndim < 3 or np.ndim(slope) != 1 \
            or np.size(slope) == 1:
        return slope
    return np.asarray(slope).reshape((-1,) + (1,) * (x.ndim - 2))


def _convert_prelu(context, node, x, slope):
    if not is_tensor(x) and not is_tensor(slope):
        return fold(context, node, onnx_ops.ELEMENTWISE_OPS["PRelu"], x, slope)
    shared_axes = _prelu_shared_axes(x, slope)
    if shared_axes is None:
        return onnx_layer(context, node, onnx_ops.OnnxElementwise, [x, slope], op="PRelu")
    alpha = np.asarray(slope, dtype=np.float32)
    alpha = alpha.reshape((1,) * (x.ndim - 1 - alpha.ndim) + alpha.shape[-(x.ndim - 1):]
                          if alpha.ndim else (1,) * (x.ndim - 1))
    layer = keras_layers.PReLU(shared_axes=shared_axes or None, name=context.layer_name(node))
    return call_layer(layer, x, [alpha])


def _prelu_shared_axes(x, slope):
    """Keras PReLU's shared_axes for an ONNX slope, or None when PReLU cannot hold it."""
    if not keras_float(x) or is_tensor(slope) or x.ndim < 2:
        return None
    slope = np.asarray(slope)
    if slope.ndim == x.ndim:
        if slope.shape[0] != 1:
            return None
        slope = slope.reshape(slope.shape[1:])
    if slope.ndim > x.ndim - 1:
        return None
    padded = (1,) * (x.ndim - 1 - slope.ndim) + slope.shape
    shared = []
    for axis, (size, dim) in enumerate(zip(padded, x.shape[1:]), start=1):
        if size == 1 and dim != 1:
            shared.append(axis)
        elif size != dim:
            return None
    return shared


# ----- one-operand ops and activations -----

UNARY_KERAS_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
                           "Softplus": "softplus", "Softsign": "softsign", "Exp": "exponential"}
SELU_DEFAULTS = (1.67326319217681884765625, 1.05070102214813232421875)


@converts(*onnx_ops.UNARY_OPS)
def convert_unary(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 3 if node.op_type == "Clip" else 1)
    x = values[0]
    op = node.op_type
    if op == "Clip" and any(is_tensor(value) for value in values[1:]):
        return [_runtime_clip(context, node, values)]
    alpha, beta = _unary_attributes(context, node, values)
    function = onnx_ops.UNARY_OPS[op]
    if not is_tensor(x):
        return [fold(context, node, lambda array: function(np.asarray(array), alpha, beta), x)]
    layer = _keras_activation(context, node, op, alpha, beta) if keras_float(x) else None
    if layer is not None:
        return [layer(x)]
    return [onnx_layer(context, node, onnx_ops.OnnxUnary, [x], op=op, alpha=alpha, beta=beta)]


def _runtime_clip(context, node, values):
    """Clip with run-time bounds: Max with the lower bound, then Min with the upper one."""
    result = values[0]
    for index, op in ((1, "Max"), (2, "Min")):
        bound = values[index] if index < len(values) else None
        if bound is not None:
            result = onnx_layer(context, node, onnx_ops.OnnxElementwise, [result, bound], op=op)
    return result


def _unary_attributes(context, node, values):
    op = node.op_type
    attribute = context.attribute
    if op == "HardSigmoid":
        return float(attribute(node, "alpha", 0.2)), float(attribute(node, "beta", 0.5))
    if op == "Selu":
        return (float(attribute(node, "alpha", SELU_DEFAULTS[0])),
                float(attribute(node, "gamma", SELU_DEFAULTS[1])))
    if op in ("Elu", "ThresholdedRelu"):
        return float(attribute(node, "alpha", 1.0)), None
    if op == "LeakyRelu":
        return float(attribute(node, "alpha", 0.01)), None
    if op == "Gelu":
        approximate = attribute(node, "approximate", "none")
        if approximate not in ("none", "tanh"):
            raise FormatError(f"{context.where(node)}: approximate must be 'none' or 'tanh'")
        return approximate, None
    if op == "Clip":
        return _clip_bounds(context, node, values)
    return None, None


def _clip_bounds(context, node, values):
    if context.opset < 11:
        low, high = context.attribute(node, "min"), context.attribute(node, "max")
        return (None if low is None else float(low)), (None if high is None else float(high))
    bounds = []
    for index in (1, 2):
        bound = values[index] if index < len(values) else None
        if is_tensor(bound):
            raise UnsupportedError(f"{context.where(node)}: Clip bounds must be constants")
        bounds.append(None if bound is None else np.asarray(bound).reshape(-1)[0].item())
    return bounds[0], bounds[1]


def _keras_activation(context, node, op, alpha, beta):
    """The Keras layer computing `op` exactly, or None."""
    name = context.layer_name
    if op in UNARY_KERAS_ACTIVATIONS:
        return keras_layers.Activation(UNARY_KERAS_ACTIVATIONS[op], name=name(node))
    if op == "Gelu" and alpha == "none":
        return keras_layers.Activation("gelu", name=name(node))
    if op == "Selu" and (alpha, beta) == SELU_DEFAULTS:
        return keras_layers.Activation("selu", name=name(node))
    if op == "HardSigmoid" and math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5:
        return keras_layers.Activation("hard_sigmoid", name=name(node))
    if op == "Elu":
        return keras_layers.ELU(alpha=alpha, name=name(node))
    if op == "LeakyRelu" and alpha >= 0:
        return keras_layers.LeakyReLU(negative_slope=alpha, name=name(node))
    if op == "Clip" and alpha == 0 and beta in (6, None):
        return keras_layers.ReLU(max_value=None if beta is None else 6.0, name=name(node))
    return None


@converts("Cast")
def convert_cast(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    to = context.attribute(node, "to")
    if to is None:
        raise FormatError(f"{context.where(node)}: the 'to' attribute is missing")
    dtype = numpy_dtype(context, node, to)
    if not is_tensor(x):
        return [fold(context, node, lambda array: np.asarray(array).astype(dtype), x)]
    if x.dtype == dtype:
        return [x]
    return [onnx_layer(context, node, onnx_ops.OnnxCast, [x], to=dtype)]


@converts("CastLike")
def convert_cast_like(context: ImportContext, node: NodeProto) -> list:
    x, like = inputs_of(context, node, 2, 2)
    dtype = like.dtype if is_tensor(like) else np.asarray(like).dtype.name
    if not is_tensor(x):
        return [fold(context, node, lambda array: np.asarray(array).astype(dtype), x)]
    if x.dtype == dtype:
        return [x]
    return [onnx_layer(context, node, onnx_ops.OnnxCast, [x], to=dtype)]


@converts("Softmax", "LogSoftmax")
def convert_softmax(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    log = node.op_type == "LogSoftmax"
    legacy = context.opset < 13
    axis = int(context.attribute(node, "axis", 1 if legacy else -1))
    rank = x.ndim if is_tensor(x) else np.ndim(x)
    axis = positive_axis(context, node, axis, rank)
    coerce_2d = legacy and axis != rank - 1
    layer_config = {"axis": axis, "log": log, "coerce_2d": coerce_2d}
    if not is_tensor(x):
        layer = onnx_ops.OnnxSoftmax(**layer_config)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    if keras_float(x) and not log and not coerce_2d and axis != 0:
        return [keras_layers.Softmax(axis=axis - rank, name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, onnx_ops.OnnxSoftmax, [x], **layer_config)]


# ----- dense algebra -----

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
        layer = onnx_ops.OnnxGemm(**config)
        return [fold(context, node, lambda *arrays: layer.compute(list(arrays)), *operands)]
    dense = _gemm_as_dense(context, node, a, b, c if beta else None, alpha, beta, trans_a,
                           trans_b)
    if dense is not None:
        return [dense]
    return [onnx_layer(context, node, onnx_ops.OnnxGemm, operands, **config)]


def _gemm_as_dense(context, node, a, b, c, alpha, beta, trans_a, trans_b):
    if not keras_float(a) or a.ndim != 2 or trans_a or alpha != 1.0 or is_tensor(b) \
            or is_tensor(c) or np.ndim(b) != 2 or beta not in (0.0, 1.0):
        return None
    kernel = np.asarray(b, dtype=np.float32)
    kernel = kernel.T if trans_b else kernel
    units = kernel.shape[1]
    if a.shape[1] not in (None, kernel.shape[0]) or units == 0:
        return None
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
        return [fold(context, node, np.matmul, a, b)]
    if keras_float(a) and a.ndim >= 2 and not is_tensor(b) and np.ndim(b) == 2 \
            and a.shape[-1] in (None, np.shape(b)[0]) and np.shape(b)[1] > 0:
        kernel = np.asarray(b, dtype=np.float32)
        layer = keras_layers.Dense(kernel.shape[1], use_bias=False,
                                   name=context.layer_name(node))
        return [call_layer(layer, a, [kernel])]
    return [onnx_layer(context, node, onnx_ops.OnnxMatMul, [a, b])]

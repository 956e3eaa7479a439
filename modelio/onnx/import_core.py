"""Converters for the core ONNX ops: dense algebra, activations, elementwise math, shape ops.

Every converter folds its node to a numpy constant when all inputs are constants (shape
arithmetic disappears this way), builds a Keras layer when one has the op's exact semantics on
float32 tensors without touching the batch axis, and otherwise an Onnx* layer
(modelio/layers/onnx_ops.py) that carries the op as ONNX defines it.
"""

import math

import numpy as np
from onnx import NodeProto, helper

from .. import layers as keras_layers
from ..errors import FormatError, UnsupportedError
from ..graph.layer import weights_follow
from ..graph.tensor import SymbolicTensor
from ..layers import onnx_ops
from .importer import ImportContext, converts

# No constant computed while importing may hold more elements than this.
MAX_FOLDED_ELEMENTS = 2**28


# ----- helpers shared by the converters -----

def is_tensor(value) -> bool:
    return isinstance(value, SymbolicTensor)


def checked_constant(context: ImportContext, node, array) -> np.ndarray:
    """`array` as a numpy array, refused when larger than MAX_FOLDED_ELEMENTS."""
    array = np.asarray(array)
    if array.size > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: a constant of shape {array.shape} is too large "
                          f"(more than {MAX_FOLDED_ELEMENTS} elements)")
    return array


def check_fold_shape(context: ImportContext, node, shape) -> tuple:
    """A shape about to be allocated: non-negative dims, not too many elements."""
    dims = tuple(int(dim) for dim in np.asarray(shape).reshape(-1))
    if any(dim < 0 for dim in dims) or math.prod(dims) > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: refusing to build a constant of shape {dims}")
    return dims


def keras_float(value) -> bool:
    """Whether a Keras layer can take `value` unchanged (a float32 tensor)."""
    return is_tensor(value) and value.dtype == "float32"


def call_layer(layer, inputs, weights=()):
    """Call `layer` on symbolic `inputs` and give it `weights` (arrays in `layer.weights` order)
    without first allocating initial values."""
    with weights_follow():
        output = layer(inputs)
    for weight, array in zip(layer.weights, weights):
        weight.assign(np.asarray(array), copy=False)
    return output


def onnx_layer(context: ImportContext, node, cls, operands: list, **config):
    """Call the Onnx* layer `cls` on `operands` (tensors and numpy constants, in ONNX order):
    the constants become its weights."""
    constants, arrays, tensors = [], [], []
    for index, operand in enumerate(operands):
        if is_tensor(operand):
            tensors.append(operand)
        else:
            array = np.asarray(operand)
            constants.append({"index": index, "shape": list(array.shape),
                              "dtype": array.dtype.name})
            arrays.append(array)
    if not tensors:
        raise FormatError(f"{context.where(node)}: no run-time operand")
    layer = cls(name=context.layer_name(node), constants=constants or None, **config)
    return call_layer(layer, tensors if len(tensors) > 1 else tensors[0], arrays)


def inputs_of(context: ImportContext, node, minimum: int, maximum: int | None = None) -> list:
    """The node's input values (None for omitted ones), after checking how many there are."""
    count = len(node.input)
    if count < minimum or (maximum is not None and count > maximum):
        expected = minimum if maximum == minimum else f"{minimum} to {maximum or 'any'}"
        raise FormatError(f"{context.where(node)}: expected {expected} inputs, got {count}")
    values = [context.value(name) for name in node.input]
    for index in range(minimum):
        if values[index] is None:
            raise FormatError(f"{context.where(node)}: input {index} is missing")
    return values


def ints_input_or_attribute(context: ImportContext, node, index: int, name: str,
                            since_opset: int):
    """A list of ints given as attribute `name` before `since_opset`, as constant input `index`
    from then on (None when absent)."""
    if context.opset < since_opset:
        value = context.attribute(node, name)
        return None if value is None else [int(item) for item in value]
    array = context.constant(node, index, required=False)
    return None if array is None else [int(item) for item in np.asarray(array).reshape(-1)]


def positive_axis(context: ImportContext, node, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise FormatError(f"{context.where(node)}: axis {axis} is out of range for rank {rank}")
    return axis % rank


def numpy_dtype(context: ImportContext, node, onnx_type: int) -> str:
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(onnx_type)))
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedError(f"{context.where(node)}: ONNX type {onnx_type} is not "
                               f"supported") from exc
    if dtype.kind not in "biuf" or dtype.name.startswith(("float8", "bfloat")) or \
            dtype.name in ("int4", "uint4", "float4_e2m1"):
        raise UnsupportedError(f"{context.where(node)}: ONNX type "
                               f"{helper.tensor_dtype_to_string(int(onnx_type))} is not supported")
    return dtype.name


def fold(context: ImportContext, node, function, *arrays):
    """`function(*arrays)` for a node whose inputs are all constants."""
    with np.errstate(all="ignore"):
        return checked_constant(context, node, function(*arrays))


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
        dense = tensor._keras_history.layer if tensor._keras_history else None
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


def _producer(tensor):
    """(layer, its input tensors, its constant weights) of the layer that made `tensor`."""
    history = tensor._keras_history
    if history is None:
        return None, [], []
    layer = history.layer
    call_args = layer.inbound_nodes[history.node_index].call_args
    if not call_args:  # an Input
        return layer, [], []
    call_arg = call_args[0]
    inputs = list(call_arg) if isinstance(call_arg, (list, tuple)) else [call_arg]
    return layer, inputs, [weight.value for weight in layer.weights]


def _mul_parts(value):
    """The two factors of a product made by a Keras Multiply or an OnnxElementwise Mul."""
    if not is_tensor(value):
        return None
    layer, inputs, constants = _producer(value)
    if type(layer) is keras_layers.Multiply and len(inputs) == 2:
        return inputs
    if isinstance(layer, onnx_ops.OnnxElementwise) and layer.op == "Mul" \
            and len(inputs) + len(constants) == 2:
        return inputs + constants
    return None


def _elementwise_with_constant(tensor, op):
    """(input tensor, constant) when `tensor` is OnnxElementwise(op)(input, scalar constant)."""
    layer, inputs, constants = _producer(tensor)
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
    layer, inputs, _ = _producer(erf)
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


# ----- shape ops -----

@converts("Concat")
def convert_concat(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1)
    axis = context.attribute(node, "axis")
    if axis is None:
        raise FormatError(f"{context.where(node)}: the 'axis' attribute is missing")
    rank = np.ndim(values[0]) if not is_tensor(values[0]) else values[0].ndim
    axis = positive_axis(context, node, int(axis), rank)
    if not any(is_tensor(value) for value in values):
        return [fold(context, node, lambda *arrays: np.concatenate(arrays, axis=axis), *values)]
    if len(values) == 1:
        return values
    if axis != 0 and all(keras_float(value) and value.ndim == rank for value in values):
        return [keras_layers.Concatenate(axis=axis, name=context.layer_name(node))(values)]
    return [onnx_layer(context, node, onnx_ops.OnnxConcat, values, axis=axis)]


@converts("Flatten")
def convert_flatten(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    axis = int(context.attribute(node, "axis", 1))
    if not is_tensor(x):
        layer = onnx_ops.OnnxFlatten(axis=axis)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    if not -x.ndim <= axis <= x.ndim:
        raise FormatError(f"{context.where(node)}: axis {axis} is out of range for rank {x.ndim}")
    if axis in (1, 1 - x.ndim) and x.ndim >= 2 and None not in x.shape[1:]:
        return [keras_layers.Flatten(name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, onnx_ops.OnnxFlatten, [x], axis=axis)]


@converts("Reshape")
def convert_reshape(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 2, 2)
    x, shape = values
    allowzero = int(context.attribute(node, "allowzero", 0))
    if is_tensor(shape):
        if not is_tensor(x):
            raise UnsupportedError(f"{context.where(node)}: a constant reshaped to a run-time "
                                   f"shape is not supported")
        rest = _batch_then_constants(x, shape)
        target = _keras_reshape_target(x, [0, *rest], 0) if rest is not None else None
        if target is not None and not (allowzero and 0 in rest):
            return [keras_layers.Reshape(target, name=context.layer_name(node))(x)]
        return [onnx_layer(context, node, onnx_ops.OnnxReshape, [x, shape],
                           allowzero=allowzero)]
    shape = [int(dim) for dim in np.asarray(shape).reshape(-1)]
    where = f"{context.where(node)}: "
    if not is_tensor(x):
        x = np.asarray(x)
        return [x.reshape(onnx_ops.reshape_target(x.shape, shape, allowzero, where))]
    onnx_ops.reshape_target(x.shape, shape, allowzero, where)  # refuse impossible shapes now
    target = _keras_reshape_target(x, shape, allowzero)
    if target is not None:
        return [keras_layers.Reshape(target, name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, onnx_ops.OnnxReshape, [x], shape=shape,
                       allowzero=allowzero)]


def _batch_then_constants(x, shape):
    """The constant dims after the first when a run-time target shape is `[x's batch size,
    constants...]` (PyTorch's `x.view(x.size(0), ...)` with a dynamic batch), else None."""
    layer, inputs, constants = _producer(shape)
    if not isinstance(layer, onnx_ops.OnnxConcat) or layer.axis != 0 or not inputs:
        return None
    operands = layer._merge(inputs, constants)
    if not is_tensor(operands[0]) or any(is_tensor(operand) for operand in operands[1:]):
        return None
    if not _is_batch_size_of(operands[0], x):
        return None
    return [int(dim) for operand in operands[1:] for dim in np.asarray(operand).reshape(-1)]


def _is_batch_size_of(value, x) -> bool:
    """Whether `value` is the vector [x.shape[0]] computed by Shape -> Gather(0) (-> Unsqueeze)."""
    layer, inputs, _ = _producer(value)
    if isinstance(layer, onnx_ops.OnnxUnsqueeze) and layer.axes in ([0], [-1]):
        value = inputs[0]
        layer, inputs, _ = _producer(value)
        scalar_expected = True
    else:
        scalar_expected = False
    if not isinstance(layer, onnx_ops.OnnxGather) or layer.axis not in (0, -1) \
            or len(inputs) != 1 or not layer._weights or layer.constants[0]["index"] != 1:
        return False
    index = layer._weights[0].value
    if index.shape != (() if scalar_expected else (1,)) or int(index.reshape(-1)[0]) != 0:
        return False
    shape_layer, shape_inputs, _ = _producer(inputs[0])
    return isinstance(shape_layer, onnx_ops.OnnxShape) and shape_layer.start == 0 \
        and shape_inputs[0] is x


def _keras_reshape_target(x, shape, allowzero):
    """Keras Reshape's target_shape when the ONNX Reshape keeps the batch axis, else None."""
    if not keras_float(x) or not shape:
        return None
    copies = [axis for axis, dim in enumerate(shape) if dim == 0 and not allowzero]
    rest = [x.shape[axis] if axis in copies else dim for axis, dim in enumerate(shape)][1:]
    if None in rest or 0 in rest or sum(dim == -1 for dim in rest) > 1:
        return None
    sample_size = None if None in x.shape[1:] else math.prod(x.shape[1:])
    keeps_batch = 0 in copies or (x.shape[0] is not None and shape[0] == x.shape[0]) or (
        shape[0] == -1 and -1 not in rest and sample_size == math.prod(rest))  # x.view(-1, n)
    return rest if keeps_batch else None


@converts("Transpose")
def convert_transpose(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    rank = x.ndim if is_tensor(x) else np.ndim(x)
    perm = context.attribute(node, "perm")
    perm = list(range(rank))[::-1] if perm is None else [int(axis) for axis in perm]
    if sorted(perm) != list(range(rank)):
        raise FormatError(f"{context.where(node)}: perm {perm} is not a permutation of the "
                          f"{rank} axes")
    if not is_tensor(x):
        return [np.transpose(x, perm)]
    if perm == list(range(rank)):
        return [x]
    if keras_float(x) and perm[0] == 0:
        return [keras_layers.Permute(perm[1:], name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, onnx_ops.OnnxTranspose, [x], perm=perm)]


@converts("Squeeze", "Unsqueeze")
def convert_squeeze(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    squeeze = node.op_type == "Squeeze"
    cls = onnx_ops.OnnxSqueeze if squeeze else onnx_ops.OnnxUnsqueeze
    if context.opset >= 13 and len(values) > 1 and is_tensor(values[1]):
        if not is_tensor(x):
            raise UnsupportedError(f"{context.where(node)}: run-time axes on a constant")
        return [onnx_layer(context, node, cls, [x, values[1]])]
    axes = ints_input_or_attribute(context, node, 1, "axes", 13)
    if axes is None and not squeeze:
        raise FormatError(f"{context.where(node)}: Unsqueeze needs axes")
    if not is_tensor(x):
        layer = cls(axes=axes)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    probe = cls(axes=axes)
    with probe._shape_errors(x.shape):
        output_shape = probe.compute_output_shape(x.shape)
    rank = len(output_shape) if not squeeze else x.ndim
    touched = [axis % rank for axis in axes] if axes is not None else None
    if keras_float(x) and touched is not None and 0 not in touched and len(output_shape) > 1 \
            and all(dim is not None and dim > 0 for dim in output_shape[1:]):
        return [keras_layers.Reshape(list(output_shape[1:]), name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, cls, [x], axes=axes)]


@converts("Shape")
def convert_shape(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    start = int(context.attribute(node, "start", 0))
    end = context.attribute(node, "end")
    end = None if end is None else int(end)
    dims = tuple(x.shape if is_tensor(x) else np.shape(x))[start:end]
    if None not in dims and (node.output[0] not in context.graph_outputs or not is_tensor(x)):
        return [np.asarray(dims, dtype=np.int64)]
    return [onnx_layer(context, node, onnx_ops.OnnxShape, [x], start=start, end=end)]


@converts("Size")
def convert_size(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    dims = tuple(x.shape if is_tensor(x) else np.shape(x))
    if None in dims:
        raise UnsupportedError(f"{context.where(node)}: the size of {dims} is only known at run "
                               f"time")
    return [np.asarray(math.prod(dims), dtype=np.int64)]


@converts("Gather")
def convert_gather(context: ImportContext, node: NodeProto) -> list:
    data, indices = inputs_of(context, node, 2, 2)
    axis = int(context.attribute(node, "axis", 0))
    if not is_tensor(data) and not is_tensor(indices):
        layer = onnx_ops.OnnxGather(axis=axis)
        return [fold(context, node, lambda *arrays: layer.compute(list(arrays)), data, indices)]
    if not is_tensor(data) and np.ndim(data) == 2 and axis in (0, -2) \
            and np.asarray(data).dtype == np.float32 and data.shape[0] > 0 and data.shape[1] > 0:
        table = np.asarray(data)
        layer = keras_layers.Embedding(table.shape[0], table.shape[1],
                                       name=context.layer_name(node))
        return [call_layer(layer, indices, [table])]
    return [onnx_layer(context, node, onnx_ops.OnnxGather, [data, indices], axis=axis)]


@converts("Slice")
def convert_slice(context: ImportContext, node: NodeProto) -> list:
    if context.opset < 10:
        (x,) = inputs_of(context, node, 1, 1)
        starts, ends = context.attribute(node, "starts"), context.attribute(node, "ends")
        axes, steps = context.attribute(node, "axes"), None
        if starts is None or ends is None:
            raise FormatError(f"{context.where(node)}: starts and ends are required")
    else:
        values = inputs_of(context, node, 3, 5)
        x = values[0]
        if any(is_tensor(value) for value in values[1:]):
            return [_runtime_slice(context, node, values)]
        starts, ends, axes, steps = (
            None if index >= len(values) or values[index] is None
            else context.constant(node, index) for index in (1, 2, 3, 4))
    starts, ends, axes, steps = ([int(item) for item in np.asarray(value).reshape(-1)]
                                 if value is not None else None
                                 for value in (starts, ends, axes, steps))
    layer = onnx_ops.OnnxSlice(starts=starts, ends=ends, axes=axes, steps=steps,
                               name=context.layer_name(node))
    if not is_tensor(x):
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    return [layer(x)]


def _runtime_slice(context, node, values):
    """Slice whose starts/ends/axes/steps are (partly) run-time tensors: all become operands."""
    x, starts = values[0], values[1]
    if not is_tensor(x):
        raise UnsupportedError(f"{context.where(node)}: run-time slicing of a constant")
    count = starts.shape[0] if is_tensor(starts) else np.size(starts)
    if count is None:
        raise UnsupportedError(f"{context.where(node)}: starts of unknown length")
    operands = list(values[1:5]) + [None] * (5 - len(values))
    if operands[2] is None:
        operands[2] = np.arange(count, dtype=np.int64)
    if operands[3] is None:
        operands[3] = np.ones(count, dtype=np.int64)
    return onnx_layer(context, node, onnx_ops.OnnxSlice, [x, *operands])


@converts("Range")
def convert_range(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 3, 3)
    if any(is_tensor(value) for value in values):
        return [onnx_layer(context, node, onnx_ops.OnnxRange, values)]
    start, limit, delta = values
    start, limit, delta = (np.asarray(value).reshape(()) for value in (start, limit, delta))
    if delta == 0:
        raise FormatError(f"{context.where(node)}: delta is 0")
    count = max(int(np.ceil((limit - start) / delta)), 0)
    if count > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: a range of {count} elements is too large")
    dtype = np.result_type(start, limit, delta)
    return [(start + np.arange(count, dtype=dtype) * delta).astype(dtype)]


@converts("Expand")
def convert_expand(context: ImportContext, node: NodeProto) -> list:
    x, shape = inputs_of(context, node, 2, 2)
    if is_tensor(shape):
        if not is_tensor(x):
            raise UnsupportedError(f"{context.where(node)}: a constant expanded to a run-time "
                                   f"shape is not supported")
        return [onnx_layer(context, node, onnx_ops.OnnxExpand, [x, shape])]
    dims = check_fold_shape(context, node, shape)
    if not is_tensor(x):
        target = check_fold_shape(context, node, np.broadcast_shapes(np.shape(x), dims))
        return [np.broadcast_to(np.asarray(x), target).copy()]
    return [onnx_layer(context, node, onnx_ops.OnnxExpand, [x], shape=list(dims))]


@converts("Split")
def convert_split(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    axis = int(context.attribute(node, "axis", 0))
    rank = x.ndim if is_tensor(x) else np.ndim(x)
    axis = positive_axis(context, node, axis, rank)
    size = x.shape[axis] if is_tensor(x) else np.shape(x)[axis]
    count = len(node.output)
    if context.opset < 13:
        sizes = context.attribute(node, "split")
        if sizes is None and len(values) > 1 and values[1] is not None:
            sizes = context.constant(node, 1)
    else:
        sizes = context.constant(node, 1, required=False)
    if sizes is not None:
        sizes = [int(item) for item in np.asarray(sizes).reshape(-1)]
    elif size is None:
        raise UnsupportedError(f"{context.where(node)}: an even split of an axis whose size is "
                               f"only known at run time")
    else:
        count = int(context.attribute(node, "num_outputs", count))
        part = -(-size // count)
        sizes = [min(part, size - part * index) for index in range(count)]
    if len(sizes) != len(node.output) or any(item < 0 for item in sizes) or (
            size is not None and sum(sizes) != size):
        raise FormatError(f"{context.where(node)}: split sizes {sizes} do not cut the axis of "
                          f"size {size} into {len(node.output)} parts")
    outputs, start = [], 0
    for part in sizes:
        config = {"starts": [start], "ends": [start + part], "axes": [axis], "steps": None}
        if is_tensor(x):
            layer = onnx_ops.OnnxSlice(name=context.layer_name(node), **config)
            outputs.append(layer(x))
        else:
            outputs.append(np.asarray(x)[onnx_ops.onnx_slices(np.shape(x), **config)])
        start += part
    return outputs


REDUCE_OPS = {"ReduceMean": 18, "ReduceSum": 13, "ReduceMax": 18, "ReduceMin": 18,
              "ReduceProd": 18, "ReduceL1": 18, "ReduceL2": 18, "ReduceSumSquare": 18,
              "ReduceLogSum": 18, "ReduceLogSumExp": 18}


@converts(*REDUCE_OPS)
def convert_reduce(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    config = {"op": node.op_type,
              "keepdims": int(context.attribute(node, "keepdims", 1)),
              "noop_with_empty_axes": int(context.attribute(node, "noop_with_empty_axes", 0))}
    runtime_axes = context.opset >= REDUCE_OPS[node.op_type] and len(values) > 1 \
        and is_tensor(values[1])
    if runtime_axes and is_tensor(x):
        return [onnx_layer(context, node, onnx_ops.OnnxReduce, [x, values[1]], **config)]
    if runtime_axes:
        raise UnsupportedError(f"{context.where(node)}: run-time axes on a constant")
    config["axes"] = ints_input_or_attribute(context, node, 1, "axes", REDUCE_OPS[node.op_type])
    if not is_tensor(x):
        layer = onnx_ops.OnnxReduce(**config)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    return [onnx_layer(context, node, onnx_ops.OnnxReduce, [x], **config)]

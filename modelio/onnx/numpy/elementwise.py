"""Both ONNX directions for keras.ops.numpy's elementwise operations (modelio/ops/numpy/
elementwise.py): comparisons, logic and arithmetic ops and the OnnxElementwise/OnnxUnary twins
as ONNX nodes; ONNX's elementwise ops imported as Keras merges, Dense bias, gelu, PReLU or
OnnxElementwise."""

import math

import numpy as np
from onnx import NodeProto, TensorProto

from ... import layers as keras_layers
from ... import ops
from ...errors import UnsupportedError
from ...graph.tensor import SymbolicTensor
from ..export_support import cast_to, need_opset, onnx_layer_operands
from ..import_context import ImportContext
from ..import_support.constants import broadcast_result, fold, is_tensor
from ..import_support.layer_calls import call_layer, keras_float, onnx_layer, producer_of
from ..import_support.node_inputs import inputs_of, positive_axis
from ..registry import converts, lowers

_COMPARISONS = {ops.Equal: "Equal", ops.Greater: "Greater",
                ops.GreaterEqual: "GreaterOrEqual", ops.Less: "Less",
                ops.LessEqual: "LessOrEqual"}


_ARITHMETIC = {ops.Add: "Add", ops.Subtract: "Sub", ops.Multiply: "Mul",
               ops.Maximum: "Max", ops.Minimum: "Min"}


# numpy on bool arrays: + and maximum are a logical or, * and minimum a logical and.
_BOOL_ARITHMETIC = {"Add": "Or", "Max": "Or", "Mul": "And", "Min": "And"}


def _operand_dtype(symbolic, value):
    return np.dtype(symbolic.dtype) if isinstance(symbolic, SymbolicTensor) else value


def _common_dtype(node) -> np.dtype:
    """The dtype numpy computes a binary operation in (Python scalars are weakly typed)."""
    symbolic = node.call_args
    operands = [_operand_dtype(item, item) for item in symbolic]
    tensors = [item for item in operands if isinstance(item, np.dtype)]
    others = [item for item in operands if not isinstance(item, np.dtype)]
    if not tensors:
        raise UnsupportedError(f"operation '{node.layer.name}': no tensor operand to export")
    return np.result_type(*tensors, *others)


def _operands(graph, node, args, dtype) -> list[str]:
    """Both operands as ONNX names of `dtype` (constants become initializers)."""
    names = []
    for symbolic, value in zip(node.call_args, args):
        if isinstance(symbolic, SymbolicTensor):
            names.append(cast_to(graph, value, symbolic.dtype, dtype, node.layer.name))
        else:
            names.append(graph.constant(np.asarray(value, dtype=dtype), f"{node.layer.name}/constant"))
    return names


@lowers(ops.NotEqual, *_COMPARISONS)
def comparison(graph, node, args, kwargs):
    layer = node.layer
    dtype = _common_dtype(node)
    first, second = _operands(graph, node, args, dtype)
    if isinstance(layer, ops.NotEqual):
        return graph.node("Not", [graph.node("Equal", [first, second], layer.name)], layer.name)
    if dtype == np.bool_ and type(layer) is not ops.Equal:
        first, second = (graph.node("Cast", [name], layer.name, to=TensorProto.INT32)
                         for name in (first, second))
    return graph.node(_COMPARISONS[type(layer)], [first, second], layer.name)


@lowers(ops.LogicalAnd, ops.LogicalOr)
def logical_binary(graph, node, args, kwargs):
    first, second = _operands(graph, node, args, np.bool_)
    op = "And" if isinstance(node.layer, ops.LogicalAnd) else "Or"
    return graph.node(op, [first, second], node.layer.name)


@lowers(ops.LogicalNot)
def logical_not(graph, node, args, kwargs):
    x = cast_to(graph, args[0], node.input_tensors[0].dtype, np.bool_, node.layer.name)
    return graph.node("Not", [x], node.layer.name)


@lowers(*_ARITHMETIC)
def arithmetic(graph, node, args, kwargs):
    layer = node.layer
    dtype = np.dtype(node.outputs[0].dtype)
    op = _ARITHMETIC[type(layer)]
    if dtype == np.bool_:
        if op not in _BOOL_ARITHMETIC:
            raise UnsupportedError(f"operation '{layer.name}': {type(layer).__name__} of bool "
                                   f"tensors has no ONNX export")
        op = _BOOL_ARITHMETIC[op]
    return graph.node(op, _operands(graph, node, args, dtype), layer.name)


@lowers(ops.OnnxElementwise)
def onnx_elementwise(graph, node, args, kwargs):
    return graph.node(node.layer.op, onnx_layer_operands(graph, node, args), node.layer.name)


UNARY_ATTRIBUTES = {"HardSigmoid": ("alpha", "beta"), "Selu": ("alpha", "gamma"),
                    "Elu": ("alpha", None), "LeakyRelu": ("alpha", None),
                    "ThresholdedRelu": ("alpha", None)}


@lowers(ops.OnnxUnary)
def onnx_unary(graph, node, args, kwargs):
    layer, x = node.layer, args[0]
    dtype = node.input_tensors[0].dtype
    if layer.op == "Clip":
        bounds = [graph.constant(value, f"{layer.name}/{what}", dtype) if value is not None
                  else "" for what, value in (("min", layer.alpha), ("max", layer.beta))]
        while bounds and bounds[-1] == "":
            bounds.pop()
        return graph.node("Clip", [x, *bounds], layer.name)
    if layer.op == "Gelu":
        need_opset(graph, layer, 20, "Gelu")
        return graph.node("Gelu", [x], layer.name, approximate=layer.alpha)
    names = UNARY_ATTRIBUTES.get(layer.op, (None, None))
    attributes = {name: float(value) for name, value in zip(names, (layer.alpha, layer.beta))
                  if name is not None and value is not None}
    return graph.node(layer.op, [x], layer.name, **attributes)


KERAS_MERGES = {"Add": "Add", "Sum": "Add", "Mul": "Multiply", "Sub": "Subtract",
                "Max": "Maximum", "Min": "Minimum", "Mean": "Average"}


@converts(*ops.ELEMENTWISE_OPS)
def convert_elementwise(context: ImportContext, node: NodeProto) -> list:
    op = node.op_type
    if op in ops.VARIADIC_OPS:
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
    function = ops.ELEMENTWISE_OPS[op]
    if not any(is_tensor(value) for value in values):
        shape, dtype = broadcast_result(context, node, values)
        return [fold(context, node, function, *values, shape=shape, dtype=dtype)]
    if len(values) == 1:
        return values
    fused = _dense_with_bias(context, node, values) if op == "Add" else \
        _erf_gelu(context, node, values) if op == "Mul" else None
    if fused is not None:
        return [fused]
    merge = KERAS_MERGES.get(op)
    # Keras merge layers take a batch axis: rank-0 operands go to OnnxElementwise.
    if merge and values[0].shape and all(keras_float(value) and value.shape == values[0].shape
                                         for value in values) and (op != "Sub" or len(values) == 2):
        layer = getattr(keras_layers, merge)(name=context.layer_name(node))
        return [layer(list(values))]
    return [onnx_layer(context, node, ops.OnnxElementwise, values, op=op)]


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
    if isinstance(layer, ops.OnnxElementwise) and layer.op == "Mul" \
            and len(inputs) + len(constants) == 2:
        return inputs + constants
    return None


def _elementwise_with_constant(tensor, op):
    """(input tensor, constant) when `tensor` is OnnxElementwise(op)(input, scalar constant)."""
    layer, inputs, constants = producer_of(tensor)
    if isinstance(layer, ops.OnnxElementwise) and layer.op == op and len(inputs) == 1 \
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
    if not isinstance(layer, ops.OnnxUnary) or layer.op != "Erf":
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
        shape, dtype = broadcast_result(context, node, [x, slope])
        return fold(context, node, ops.ELEMENTWISE_OPS["PRelu"], x, slope, shape=shape,
                    dtype=dtype)
    shared_axes = _prelu_shared_axes(x, slope)
    if shared_axes is None:
        return onnx_layer(context, node, ops.OnnxElementwise, [x, slope], op="PRelu")
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

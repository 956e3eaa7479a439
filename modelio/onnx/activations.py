"""Both ONNX directions for the activations family (modelio/layers/activations.py): Activation,
ReLU, LeakyReLU, ELU, PReLU and Softmax as ONNX nodes; ONNX's unary activations, Softmax and
LogSoftmax imported as Keras activation layers where their semantics match, otherwise OnnxUnary /
OnnxSoftmax. (The activation functions themselves: activation_functions.py.)"""

import math

import numpy as np
from onnx import NodeProto

from .. import layers as keras_layers
from .. import ops
from ..errors import FormatError, UnsupportedError
from ..layers import activations as activation_layers
from .activation_functions import lower_activation
from .export_support import bool_mask
from .import_context import ImportContext
from .import_support.constants import fold, is_tensor
from .import_support.layer_calls import keras_float, onnx_layer
from .import_support.node_inputs import inputs_of, positive_axis
from .registry import converts, lowers


@lowers(activation_layers.Activation)
def activation(graph, node, args, kwargs):
    layer = node.layer
    return lower_activation(graph, layer.activation_name, args[0], layer.name, layer.name)


@lowers(activation_layers.ReLU)
def relu(graph, node, args, kwargs):
    """Keras 3's ReLU, step by step: threshold, cap, then the negative slope."""
    layer, x, hint = node.layer, args[0], node.layer.name

    def scalar(value, what):
        return graph.constant(value, f"{hint}/{what}", "float32")

    if layer.negative_slope and layer.max_value is None and layer.threshold == 0:
        return graph.node("LeakyRelu", [x], hint, alpha=float(layer.negative_slope))
    negative_part = None
    if layer.negative_slope:
        shifted = graph.node("Neg", [x], hint)
        if layer.threshold:
            shifted = graph.node("Add", [shifted, scalar(layer.threshold, "threshold")], hint)
        negative_part = graph.node("Relu", [shifted], hint)
    if layer.threshold:
        keep = graph.node("Cast", [graph.node("Greater", [x, scalar(layer.threshold, "threshold")], hint)],
                          hint, to=1)
        y = graph.node("Mul", [x, keep], hint)
    else:
        y = graph.node("Relu", [x], hint)
    if layer.max_value is not None:
        y = graph.node("Clip", [y, scalar(0.0, "zero"), scalar(layer.max_value, "max_value")], hint)
    if negative_part is not None:
        y = graph.node("Sub", [y, graph.node("Mul", [negative_part, scalar(layer.negative_slope, "slope")],
                                             hint)], hint)
    return y


@lowers(activation_layers.LeakyReLU)
def leaky_relu(graph, node, args, kwargs):
    return graph.node("LeakyRelu", [args[0]], node.layer.name, alpha=float(node.layer.negative_slope))


@lowers(activation_layers.ELU)
def elu(graph, node, args, kwargs):
    return graph.node("Elu", [args[0]], node.layer.name, alpha=float(node.layer.alpha))


@lowers(activation_layers.PReLU)
def prelu(graph, node, args, kwargs):
    return graph.node("PRelu", [args[0], graph.weight(node.layer.alpha)], node.layer.name)


@lowers(activation_layers.Softmax)
def softmax(graph, node, args, kwargs):
    """Softmax over the layer's axes; with a mask, masked inputs become Keras's large negative
    value before and masked outputs zero after (a float mask counts as kept above 0.5)."""
    layer, x = node.layer, args[0]
    mask = kwargs.get("mask")
    dtype = np.dtype(node.input_tensors[0].dtype)
    if mask is not None:
        mask = bool_mask(graph, mask, node.call_kwargs["mask"], layer.name)
        large_negative = graph.constant(-3e4 if dtype == np.float16 else -1e9,
                                        f"{layer.name}/large_negative", dtype)
        x = graph.node("Where", [mask, x, large_negative], layer.name)
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if len(axes) == 1:
        y = graph.node("Softmax", [x], layer.name, axis=int(axes[0]))
    else:
        axes_name = graph.ints(axes, f"{layer.name}/axes")
        peak = graph.node("ReduceMax", [x], layer.name, axes=list(axes), keepdims=1) \
            if graph.opset < 18 else graph.node("ReduceMax", [x, axes_name], layer.name, keepdims=1)
        exp = graph.node("Exp", [graph.node("Sub", [x, peak], layer.name)], layer.name)
        total = graph.node("ReduceSum", [exp, axes_name], layer.name, keepdims=1)
        y = graph.node("Div", [exp, total], layer.name)
    if mask is not None:
        y = graph.node("Where", [mask, y, graph.constant(0.0, f"{layer.name}/zero", dtype)],
                       layer.name)
    return y


UNARY_KERAS_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
                           "Softplus": "softplus", "Softsign": "softsign", "Exp": "exponential"}


SELU_DEFAULTS = (1.67326319217681884765625, 1.05070102214813232421875)


@converts(*ops.UNARY_OPS)
def convert_unary(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 3 if node.op_type == "Clip" else 1)
    x = values[0]
    op = node.op_type
    if op == "Clip" and any(is_tensor(value) for value in values[1:]):
        return [_runtime_clip(context, node, values)]
    alpha, beta = _unary_attributes(context, node, values)
    function = ops.UNARY_OPS[op]
    if not is_tensor(x):
        return [fold(context, node, lambda array: function(np.asarray(array), alpha, beta), x)]
    layer = _keras_activation(context, node, op, alpha, beta) if keras_float(x) else None
    if layer is not None:
        return [layer(x)]
    return [onnx_layer(context, node, ops.OnnxUnary, [x], op=op, alpha=alpha, beta=beta)]


def _runtime_clip(context, node, values):
    """Clip with run-time bounds: Max with the lower bound, then Min with the upper one."""
    result = values[0]
    for index, op in ((1, "Max"), (2, "Min")):
        bound = values[index] if index < len(values) else None
        if bound is not None:
            result = onnx_layer(context, node, ops.OnnxElementwise, [result, bound], op=op)
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
        layer = ops.OnnxSoftmax(**layer_config)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    if keras_float(x) and not log and not coerce_2d and axis != 0:
        return [keras_layers.Softmax(axis=axis - rank, name=context.layer_name(node))(x)]
    return [onnx_layer(context, node, ops.OnnxSoftmax, [x], **layer_config)]

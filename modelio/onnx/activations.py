"""Keras activation functions as ONNX nodes."""

import math

import numpy as np
from onnx import NodeProto, numpy_helper

from .. import layers as keras_layers
from .. import ops
from ..errors import FormatError, UnsupportedError
from ..layers import activations as activation_layers
from .builder import OnnxGraph
from .core import _bool_mask
from .import_context import ImportContext
from .import_support import (
    fold,
    inputs_of,
    is_tensor,
    keras_float,
    onnx_layer,
    positive_axis,
)
from .registry import converts, lowers


def _gelu(graph: OnnxGraph, x: str, hint: str) -> str:
    if graph.opset >= 20:
        return graph.node("Gelu", [x], hint, approximate="none")
    scaled = graph.node("Mul", [x, graph.constant(1 / math.sqrt(2), f"{hint}/inv_sqrt2", "float32")], hint)
    one_plus = graph.node("Add", [graph.node("Erf", [scaled], hint), graph.constant(1.0, f"{hint}/one", "float32")], hint)
    half_x = graph.node("Mul", [x, graph.constant(0.5, f"{hint}/half", "float32")], hint)
    return graph.node("Mul", [half_x, one_plus], hint)


def _times_sigmoid(graph, x, hint):
    return graph.node("Mul", [x, graph.node("Sigmoid", [x], hint)], hint)


def _hard_silu(graph, x, hint):
    if graph.opset >= 14:
        return graph.node("HardSwish", [x], hint)
    return graph.node("Mul", [x, graph.node("HardSigmoid", [x], hint, alpha=1 / 6, beta=0.5)], hint)


def _relu6(graph, x, hint):
    return graph.node("Clip", [x, graph.constant(0.0, f"{hint}/zero", "float32"),
                               graph.constant(6.0, f"{hint}/six", "float32")], hint)


def _mish(graph, x, hint):
    return graph.node("Mul", [x, graph.node("Tanh", [graph.node("Softplus", [x], hint)], hint)], hint)


def _scalar(graph, value, hint):
    return graph.constant(value, hint, "float32")


def _squareplus(graph, x, hint):
    root = graph.node("Sqrt", [graph.node("Add", [graph.node("Mul", [x, x], hint),
                                                  _scalar(graph, 4.0, f"{hint}/b")], hint)], hint)
    return graph.node("Mul", [graph.node("Add", [x, root], hint), _scalar(graph, 0.5, f"{hint}/half")], hint)


def _sparse_plus(graph, x, hint):
    one = _scalar(graph, 1.0, f"{hint}/one")
    middle = graph.node("Mul", [graph.node("Mul", [graph.node("Add", [x, one], hint)] * 2, hint),
                                _scalar(graph, 0.25, f"{hint}/quarter")], hint)
    upper = graph.node("Where", [graph.node("GreaterOrEqual", [x, one], hint), x, middle], hint)
    lower = graph.node("LessOrEqual", [x, _scalar(graph, -1.0, f"{hint}/minus_one")], hint)
    return graph.node("Where", [lower, _scalar(graph, 0.0, f"{hint}/zero"), upper], hint)


def _clip(graph, x, low, high, hint):
    return graph.node("Clip", [x, _scalar(graph, low, f"{hint}/low"), _scalar(graph, high, f"{hint}/high")], hint)


def _last_size(graph, x, hint):
    """The size of `x`'s last axis as a 1-element int64 tensor (known at run time)."""
    return graph.node("Gather", [graph.node("Shape", [x], hint), graph.ints([-1], f"{hint}/last")],
                      hint)


def _glu(graph, x, hint):
    """`a * sigmoid(b)` for the halves `a, b` of the last axis (its size is even: the layers
    check it when they are called)."""
    if graph.opset >= 18:
        first, second = graph.node("Split", [x], hint, outputs=2, axis=-1, num_outputs=2)
    else:
        half = graph.node("Div", [_last_size(graph, x, hint), graph.ints([2], f"{hint}/two")], hint)
        last_axis = graph.ints([-1], f"{hint}/axis")
        first = graph.node("Slice", [x, graph.ints([0], f"{hint}/start"), half, last_axis], hint)
        second = graph.node("Slice", [x, half, graph.ints([np.iinfo(np.int64).max], f"{hint}/end"),
                                      last_axis], hint)
    return graph.node("Mul", [first, graph.node("Sigmoid", [second], hint)], hint)


def _sparsemax(graph, x, hint):
    """modelio's sparsemax on the last axis: sort descending (TopK), the support test on the
    running sums, tau = (sum of the running sums in the support - 1) / support size (Keras's
    formula, kept exactly), then `max(x - tau, 0)`."""
    last_axis = graph.ints([-1], f"{hint}/axis")
    sorted_desc = graph.node("TopK", [x, _last_size(graph, x, hint)], hint, outputs=2, axis=-1,
                             largest=1, sorted=1)[0]
    running = graph.node("CumSum", [sorted_desc, last_axis], hint)
    ones = graph.node("ConstantOfShape", [graph.node("Shape", [x], hint)], hint,
                      value=numpy_helper.from_array(np.ones(1, np.float32)))
    rank = graph.node("CumSum", [ones, last_axis], hint)
    one = _scalar(graph, 1.0, f"{hint}/one")
    threshold = graph.node("Div", [graph.node("Sub", [running, one], hint), rank], hint)
    in_support = graph.node("Greater", [graph.node("Sub", [sorted_desc, threshold], hint),
                                        _scalar(graph, 0.0, f"{hint}/zero")], hint)
    support_size = graph.node("ReduceSum", [graph.node("Cast", [in_support], hint, to=1), last_axis],
                              hint, keepdims=1)
    support_sum = graph.node("ReduceSum", [graph.node(
        "Where", [in_support, running, _scalar(graph, 0.0, f"{hint}/zero")], hint), last_axis],
        hint, keepdims=1)
    tau = graph.node("Div", [graph.node("Sub", [support_sum, one], hint), support_size], hint)
    return graph.node("Relu", [graph.node("Sub", [x, tau], hint)], hint)


ACTIVATIONS = {
    "linear": lambda graph, x, hint: x,
    "relu": lambda graph, x, hint: graph.node("Relu", [x], hint),
    "relu6": _relu6,
    "sigmoid": lambda graph, x, hint: graph.node("Sigmoid", [x], hint),
    "tanh": lambda graph, x, hint: graph.node("Tanh", [x], hint),
    "softmax": lambda graph, x, hint: graph.node("Softmax", [x], hint, axis=-1),
    "log_softmax": lambda graph, x, hint: graph.node("LogSoftmax", [x], hint, axis=-1),
    "elu": lambda graph, x, hint: graph.node("Elu", [x], hint, alpha=1.0),
    "selu": lambda graph, x, hint: graph.node("Selu", [x], hint),
    "softplus": lambda graph, x, hint: graph.node("Softplus", [x], hint),
    "softsign": lambda graph, x, hint: graph.node("Softsign", [x], hint),
    "silu": _times_sigmoid,
    "swish": _times_sigmoid,
    "gelu": _gelu,
    "hard_sigmoid": lambda graph, x, hint: graph.node("HardSigmoid", [x], hint, alpha=1 / 6, beta=0.5),
    "modelio>hard_sigmoid_keras2": lambda graph, x, hint: graph.node("HardSigmoid", [x], hint,
                                                                     alpha=0.2, beta=0.5),
    "hard_silu": _hard_silu,
    "hard_swish": _hard_silu,
    "exponential": lambda graph, x, hint: graph.node("Exp", [x], hint),
    "mish": _mish,
    "leaky_relu": lambda graph, x, hint: graph.node("LeakyRelu", [x], hint, alpha=0.2),
    "celu": lambda graph, x, hint: graph.node("Celu", [x], hint, alpha=1.0),
    "hard_tanh": lambda graph, x, hint: _clip(graph, x, -1.0, 1.0, hint),
    "log_sigmoid": lambda graph, x, hint: graph.node(
        "Neg", [graph.node("Softplus", [graph.node("Neg", [x], hint)], hint)], hint),
    "tanh_shrink": lambda graph, x, hint: graph.node("Sub", [x, graph.node("Tanh", [x], hint)], hint),
    "soft_shrink": lambda graph, x, hint: graph.node("Shrink", [x], hint, lambd=0.5, bias=0.5),
    "hard_shrink": lambda graph, x, hint: graph.node("Shrink", [x], hint, lambd=0.5, bias=0.0),
    "squareplus": _squareplus,
    "sparse_plus": _sparse_plus,
    "glu": _glu,
    "sparsemax": _sparsemax,
    "sparse_sigmoid": lambda graph, x, hint: _clip(graph, graph.node(
        "Mul", [graph.node("Add", [x, _scalar(graph, 1.0, f"{hint}/one")], hint),
                _scalar(graph, 0.5, f"{hint}/half")], hint), 0.0, 1.0, hint),
}


def lower_activation(graph: OnnxGraph, name: str, x: str, hint: str, layer_name: str) -> str:
    """ONNX nodes computing the Keras activation `name` on `x`."""
    function = ACTIVATIONS.get(name)
    if function is None:
        raise UnsupportedError(f"layer '{layer_name}': activation '{name}' has no ONNX export yet")
    return function(graph, x, f"{hint}/{name}")


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
        mask = _bool_mask(graph, mask, node.call_kwargs["mask"], layer.name)
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

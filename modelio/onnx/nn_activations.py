"""ONNX lowerings of keras.ops.nn's activations and axis functions
(modelio/ops/nn_activations.py), through activation_functions.py where Keras's activation of
the same name has one."""

import math

import numpy as np
from onnx import TensorProto

from .. import ops
from .activation_functions import lower_activation
from .op_support import operand, output_dtype, refuse, scalar
from .registry import lowers


def _x(graph, node, args):
    dtype = output_dtype(node)
    if dtype != np.float32:
        refuse(node, f"{dtype} inputs (activations export in float32)")
    return operand(graph, node, 0, args[0], dtype), dtype


@lowers(*ops.NN_ACTIVATIONS.values())
def activation(graph, node, args, kwargs):
    x, _ = _x(graph, node, args)
    layer = node.layer
    return lower_activation(graph, type(layer).activation, x, layer.name, layer.name)


@lowers(ops.Gelu)
def gelu(graph, node, args, kwargs):
    x, dtype = _x(graph, node, args)
    hint = node.layer.name
    if not node.layer.arguments["approximate"]:
        return lower_activation(graph, "gelu", x, hint, hint)
    cube = graph.node("Mul", [x, graph.node("Mul", [x, x], hint)], hint)
    inner = graph.node("Mul", [scalar(graph, math.sqrt(2 / math.pi), dtype, hint), graph.node(
        "Add", [x, graph.node("Mul", [scalar(graph, 0.044715, dtype, hint), cube], hint)], hint)],
        hint)
    half = graph.node("Mul", [x, scalar(graph, 0.5, dtype, hint)], hint)
    return graph.node("Mul", [half, graph.node("Add", [scalar(graph, 1, dtype, hint), graph.node(
        "Tanh", [inner], hint)], hint)], hint)


@lowers(ops.Elu)
def elu(graph, node, args, kwargs):
    x, _ = _x(graph, node, args)
    return graph.node("Elu", [x], node.layer.name, alpha=float(node.layer.arguments["alpha"]))


@lowers(ops.Celu)
def celu(graph, node, args, kwargs):
    x, _ = _x(graph, node, args)
    return graph.node("Celu", [x], node.layer.name, alpha=float(node.layer.arguments["alpha"]))


@lowers(ops.LeakyRelu)
def leaky_relu(graph, node, args, kwargs):
    x, _ = _x(graph, node, args)
    return graph.node("LeakyRelu", [x], node.layer.name,
                      alpha=float(node.layer.arguments["negative_slope"]))


@lowers(ops.Squareplus)
def squareplus(graph, node, args, kwargs):
    x, dtype = _x(graph, node, args)
    hint = node.layer.name
    root = graph.node("Sqrt", [graph.node("Add", [graph.node("Mul", [x, x], hint), scalar(
        graph, node.layer.arguments["b"], dtype, hint)], hint)], hint)
    return graph.node("Mul", [graph.node("Add", [x, root], hint), scalar(graph, 0.5, dtype, hint)],
                      hint)


@lowers(ops.SoftShrink, ops.HardShrink)
def shrink(graph, node, args, kwargs):
    x, _ = _x(graph, node, args)
    threshold = float(node.layer.arguments["threshold"])
    bias = threshold if isinstance(node.layer, ops.SoftShrink) else 0.0
    return graph.node("Shrink", [x], node.layer.name, lambd=threshold, bias=bias)


@lowers(ops.Threshold)
def threshold(graph, node, args, kwargs):
    x, dtype = _x(graph, node, args)
    hint, arguments = node.layer.name, node.layer.arguments
    above = graph.node("Greater", [x, scalar(graph, arguments["threshold"], dtype, hint)], hint)
    return graph.node("Where", [above, x, scalar(graph, arguments["default_value"], dtype, hint)],
                      hint)


@lowers(ops.Softmax, ops.LogSoftmax)
def softmax(graph, node, args, kwargs):
    x, _ = _x(graph, node, args)
    layer = node.layer
    axis = layer.axis(len(node.call_args[0].shape))
    op = "Softmax" if isinstance(layer, ops.Softmax) else "LogSoftmax"
    if graph.opset < 13 and axis != len(node.call_args[0].shape) - 1:
        refuse(node, f"{op} over a middle axis below opset 13")
    return graph.node(op, [x], layer.name, axis=axis)


@lowers(ops.Glu)
def glu(graph, node, args, kwargs):
    x, _ = _x(graph, node, args)
    layer, hint = node.layer, node.layer.name
    shape = node.call_args[0].shape
    axis = layer.axis(len(shape))
    if shape[axis] is None:
        refuse(node, "an axis of unknown size")
    half = shape[axis] // 2
    first = graph.node("Slice", [x, graph.ints([0], f"{hint}/s"), graph.ints([half], f"{hint}/e"),
                                 graph.ints([axis], f"{hint}/a")], hint)
    second = graph.node("Slice", [x, graph.ints([half], f"{hint}/s"),
                                  graph.ints([2 * half], f"{hint}/e"),
                                  graph.ints([axis], f"{hint}/a")], hint)
    return graph.node("Mul", [first, graph.node("Sigmoid", [second], hint)], hint)


@lowers(ops.Normalize)
def normalize(graph, node, args, kwargs):
    x, dtype = _x(graph, node, args)
    layer, hint = node.layer, node.layer.name
    axis = layer.axis(len(node.call_args[0].shape))
    axes = graph.ints([axis], f"{hint}/axes")
    order = layer.arguments["order"]
    if order == 2:
        total = graph.node("ReduceSum", [graph.node("Mul", [x, x], hint), axes], hint, keepdims=1)
        inverse = graph.node("Reciprocal", [graph.node("Sqrt", [total], hint)], hint)
        return graph.node("Mul", [x, graph.node("Min", [inverse, scalar(
            graph, 1 / layer.epsilon, dtype, hint)], hint)], hint)
    powered = graph.node("Pow", [graph.node("Abs", [x], hint), scalar(graph, order, dtype, hint)],
                         hint)
    norm = graph.node("Pow", [graph.node("ReduceSum", [powered, axes], hint, keepdims=1),
                              scalar(graph, 1 / order, dtype, hint)], hint)
    return graph.node("Div", [x, graph.node("Max", [norm, scalar(graph, layer.epsilon, dtype,
                                                                   hint)], hint)], hint)


@lowers(ops.OneHot)
def one_hot(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    classes = layer.arguments["num_classes"]
    dtype = output_dtype(node)
    indices = operand(graph, node, 0, args[0], np.int64)
    # out-of-range values (negative ones included) give zeros, as in Keras
    hot = graph.node("Equal", [graph.node("Unsqueeze", [indices, graph.ints([-1], f"{hint}/last")],
                                          hint),
                               graph.ints(list(range(classes)), f"{hint}/classes")], hint)
    rank = len(node.outputs[0].shape)
    axis = layer.arguments["axis"] % rank
    if axis != rank - 1:
        perm = [*range(axis), rank - 1, *range(axis, rank - 1)]
        hot = graph.node("Transpose", [hot], hint, perm=perm)
    return graph.node("Cast", [hot], hint, to=int(TensorProto.FLOAT) if dtype == np.float32
                      else _onnx_type(dtype))


def _onnx_type(dtype):
    from .export_support import onnx_type
    return onnx_type(dtype)

"""Keras activation functions as ONNX nodes."""

import math

from ..errors import UnsupportedError
from .graph import OnnxGraph


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
    "sparse_sigmoid": lambda graph, x, hint: _clip(graph, graph.node(
        "Mul", [graph.node("Add", [x, _scalar(graph, 1.0, f"{hint}/one")], hint),
                _scalar(graph, 0.5, f"{hint}/half")], hint), 0.0, 1.0, hint),
}
# glu halves the last axis while Dense/Activation declare the full width (as Keras does), so an
# exported graph would declare a wrong output shape: refused until the shape rules account for it.


def lower_activation(graph: OnnxGraph, name: str, x: str, hint: str, layer_name: str) -> str:
    """ONNX nodes computing the Keras activation `name` on `x`."""
    function = ACTIVATIONS.get(name)
    if function is None:
        raise UnsupportedError(f"layer '{layer_name}': activation '{name}' has no ONNX export yet")
    return function(graph, x, f"{hint}/{name}")

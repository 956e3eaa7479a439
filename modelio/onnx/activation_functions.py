"""Keras activation functions as ONNX nodes (`lower_activation`), for every layer with an
`activation` argument; mirrors modelio/kernels/activations.py."""

import math

import numpy as np
from onnx import numpy_helper

from ..errors import UnsupportedError
from ..graph.custom_objects import CustomActivation
from ..graph.functional import Functional
from .builder import OnnxGraph
from .registry import lowering_for


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
    """ONNX nodes computing the Keras activation `name` on `x` (a custom activation: the nodes
    of its traced graph, see modelio/graph/custom_objects.py)."""
    if isinstance(name, CustomActivation):
        return _lower_custom(graph, name, x, layer_name)
    function = ACTIVATIONS.get(name)
    if function is None:
        raise UnsupportedError(f"layer '{layer_name}': activation '{name}' has no ONNX export yet")
    return function(graph, x, f"{hint}/{name}")


def _lower_custom(graph: OnnxGraph, activation: CustomActivation, x: str, layer_name: str) -> str:
    """Lower the graph a custom activation was traced into, node by node, its input bound to
    `x`: the exporter sees the modelio layers and ops the user's function called."""
    # traced when the layer was called; a layer that never traces it (an RNN cell's
    # activation is only called at run time) gets it traced on a rank-2 input of unknown width
    traced = activation.traced_graphs() or [activation.graph_for((None, None))]

    def lower_node(node, args, kwargs):
        if isinstance(node.layer, Functional):
            raise UnsupportedError(f"layer '{layer_name}': custom activation '{activation}' "
                                   f"calls a model; build it from layers and ops")
        lowering = lowering_for(node.layer)
        if lowering is None:
            raise UnsupportedError(f"layer '{layer_name}': custom activation '{activation}' "
                                   f"uses {type(node.layer).__name__}, which has no ONNX export")
        return lowering(graph, node, args, kwargs)

    return traced[0].run_graph([x], lower_node)[0]

"""ONNX lowerings of keras.ops.numpy's two-operand operations, `where` and `clip`
(modelio/ops/numpy/binary.py)."""

import math

import numpy as np

from ... import ops
from ..op_support import operand, output_dtype, refuse, scalar
from ..registry import lowers


def _pair(graph, node, args, dtype):
    return [operand(graph, node, index, args[index], dtype) for index in (0, 1)]


def _mod(graph, a, b, hint, dtype):
    if dtype.kind != "f":
        return graph.node("Mod", [a, b], hint, fmod=0)
    floor = graph.node("Floor", [graph.node("Div", [a, b], hint)], hint)
    return graph.node("Sub", [a, graph.node("Mul", [floor, b], hint)], hint)


def _floor_divide(graph, a, b, hint, dtype):
    if dtype.kind != "f":
        remainder = graph.node("Mod", [a, b], hint, fmod=0)
        return graph.node("Div", [graph.node("Sub", [a, remainder], hint), b], hint)
    return graph.node("Floor", [graph.node("Div", [a, b], hint)], hint)


def _fmod(graph, a, b, hint, dtype):
    return graph.node("Mod", [a, b], hint, fmod=1)


def _arctan2(graph, y, x, hint, dtype):
    zero, pi = scalar(graph, 0, dtype, hint), scalar(graph, math.pi, dtype, hint)
    half_pi = scalar(graph, math.pi / 2, dtype, hint)
    base = graph.node("Atan", [graph.node("Div", [y, x], hint)], hint)
    y_negative = graph.node("Less", [y, zero], hint)
    shifted = graph.node("Where", [y_negative, graph.node("Sub", [base, pi], hint),
                                   graph.node("Add", [base, pi], hint)], hint)
    on_axis = graph.node("Where", [graph.node("Greater", [y, zero], hint), half_pi, graph.node(
        "Where", [y_negative, graph.node("Neg", [half_pi], hint), zero], hint)], hint)
    return graph.node("Where", [graph.node("Greater", [x, zero], hint), base, graph.node(
        "Where", [graph.node("Less", [x, zero], hint), shifted, on_axis], hint)], hint)


def _hypot(graph, a, b, hint, dtype):
    return graph.node("Sqrt", [graph.node("Add", [graph.node("Mul", [a, a], hint),
                                                  graph.node("Mul", [b, b], hint)], hint)], hint)


def _logaddexp(graph, a, b, hint, dtype):
    peak = graph.node("Max", [a, b], hint)
    gap = graph.node("Neg", [graph.node("Abs", [graph.node("Sub", [a, b], hint)], hint)], hint)
    return graph.node("Add", [peak, graph.node("Log", [graph.node("Add", [
        scalar(graph, 1, dtype, hint), graph.node("Exp", [gap], hint)], hint)], hint)], hint)


def _heaviside(graph, a, b, hint, dtype):
    zero, one = scalar(graph, 0, dtype, hint), scalar(graph, 1, dtype, hint)
    return graph.node("Where", [graph.node("Less", [a, zero], hint), zero, graph.node(
        "Where", [graph.node("Greater", [a, zero], hint), one, b], hint)], hint)


def _divide_no_nan(graph, a, b, hint, dtype):
    zero, one = scalar(graph, 0, dtype, hint), scalar(graph, 1, dtype, hint)
    is_zero = graph.node("Equal", [b, zero], hint)
    safe = graph.node("Where", [is_zero, one, b], hint)
    return graph.node("Where", [is_zero, zero, graph.node("Div", [a, safe], hint)], hint)


def _nan_skipping(op_type):
    def lower(graph, a, b, hint, dtype):
        both = graph.node(op_type, [a, b], hint)
        if dtype.kind != "f":
            return both
        return graph.node("Where", [graph.node("IsNaN", [a], hint), b, graph.node(
            "Where", [graph.node("IsNaN", [b], hint), a, both], hint)], hint)
    return lower


def _simple(op_type):
    def lower(graph, a, b, hint, dtype):
        return graph.node(op_type, [a, b], hint)
    return lower


_LOWERINGS = {
    "Divide": _simple("Div"), "TrueDivide": _simple("Div"), "Power": _simple("Pow"),
    "Mod": _mod, "FloorDivide": _floor_divide, "Fmod": _fmod, "Arctan2": _arctan2,
    "Hypot": _hypot, "Logaddexp": _logaddexp, "Heaviside": _heaviside,
    "DivideNoNan": _divide_no_nan, "Fmax": _nan_skipping("Max"), "Fmin": _nan_skipping("Min"),
    "LogicalXor": _simple("Xor"),
}


@lowers(*ops.BINARY_OPERATIONS.values())
def binary(graph, node, args, kwargs):
    layer = node.layer
    dtype = np.dtype(np.bool_) if type(layer).result == "bool" else output_dtype(node)
    if dtype.kind != "f" and type(layer).__name__ in ("Divide", "TrueDivide", "Arctan2"):
        refuse(node, f"{dtype} operands")
    a, b = _pair(graph, node, args, dtype)
    return _LOWERINGS[type(layer).__name__](graph, a, b, layer.name, dtype)


@lowers(ops.Where)
def where(graph, node, args, kwargs):
    layer, dtype = node.layer, output_dtype(node)
    if len(args) != 3 or args[1] is None or args[2] is None:
        refuse(node, "where with one argument")
    condition = operand(graph, node, 0, args[0], np.bool_)
    return graph.node("Where", [condition, operand(graph, node, 1, args[1], dtype),
                                operand(graph, node, 2, args[2], dtype)], layer.name)


@lowers(ops.Clip)
def clip(graph, node, args, kwargs):
    layer, dtype = node.layer, output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    low, high = layer.arguments["x_min"], layer.arguments["x_max"]
    hint = layer.name
    if low is not None:
        x = graph.node("Max", [x, scalar(graph, low, dtype, hint)], hint)
    if high is not None:
        x = graph.node("Min", [x, scalar(graph, high, dtype, hint)], hint)
    return x if low is not None or high is not None else graph.node("Identity", [x], hint)

"""ONNX lowerings of keras.ops.numpy's one-operand operations (modelio/ops/numpy/unary.py)."""

import math

import numpy as np

from ... import ops
from ..op_support import input_dtype, operand, output_dtype, scalar
from ..registry import lowers


def _chain(*op_types):
    def lower(graph, x, hint, dtype):
        for op_type in op_types:
            x = graph.node(op_type, [x], hint)
        return x
    return lower


def _times(factor):
    def lower(graph, x, hint, dtype):
        return graph.node("Mul", [x, scalar(graph, factor, dtype, hint)], hint)
    return lower


def _plus_then(op_type, offset):
    def lower(graph, x, hint, dtype):
        return graph.node(op_type, [graph.node("Add", [x, scalar(graph, offset, dtype, hint)],
                                               hint)], hint)
    return lower


def _log_base(base):
    def lower(graph, x, hint, dtype):
        return graph.node("Div", [graph.node("Log", [x], hint),
                                  scalar(graph, math.log(base), dtype, hint)], hint)
    return lower


def _exp2(graph, x, hint, dtype):
    return graph.node("Pow", [scalar(graph, 2.0, dtype, hint), x], hint)


def _expm1(graph, x, hint, dtype):
    return graph.node("Sub", [graph.node("Exp", [x], hint), scalar(graph, 1, dtype, hint)], hint)


def _square(graph, x, hint, dtype):
    return graph.node("Mul", [x, x], hint)


def _trunc(graph, x, hint, dtype):
    if dtype.kind != "f":
        return x
    return graph.node("Mul", [graph.node("Sign", [x], hint),
                              graph.node("Floor", [graph.node("Abs", [x], hint)], hint)], hint)


def _cbrt(graph, x, hint, dtype):
    root = graph.node("Pow", [graph.node("Abs", [x], hint), scalar(graph, 1 / 3, dtype, hint)],
                      hint)
    return graph.node("Mul", [graph.node("Sign", [x], hint), root], hint)


def _signbit(graph, x, hint, dtype):
    zero = scalar(graph, 0, dtype, hint)
    negative = graph.node("Less", [x, zero], hint)
    if dtype.kind != "f":
        return negative
    negative_zero = graph.node("Less", [graph.node("Reciprocal", [x], hint), zero], hint)
    return graph.node("Or", [negative, negative_zero], hint)


def _isfinite(graph, x, hint, dtype):
    return graph.node("Not", [graph.node("Or", [graph.node("IsNaN", [x], hint),
                                                graph.node("IsInf", [x], hint)], hint)], hint)


def _erfc(graph, x, hint, dtype):
    return graph.node("Sub", [scalar(graph, 1, dtype, hint), graph.node("Erf", [x], hint)], hint)


def _identity(graph, x, hint, dtype):
    return graph.node("Identity", [x], hint)


def _sign(graph, x, hint, dtype):
    return graph.node("Sign", [x], hint)


# class name -> lowering(graph, x, hint, dtype) of `x` already in the output's dtype
_LOWERINGS = {
    "Abs": _chain("Abs"), "Absolute": _chain("Abs"), "Fabs": _chain("Abs"),
    "Negative": _chain("Neg"), "Square": _square, "Sign": _sign, "Copy": _identity,
    "StopGradient": _identity, "Trunc": _trunc, "Floor": _chain("Floor"),
    "Ceil": _chain("Ceil"), "Exp": _chain("Exp"), "Exp2": _exp2, "Expm1": _expm1,
    "Log": _chain("Log"), "Log2": _log_base(2), "Log10": _log_base(10),
    "Log1p": _plus_then("Log", 1.0), "Sqrt": _chain("Sqrt"), "Reciprocal": _chain("Reciprocal"),
    "Cbrt": _cbrt, "Sin": _chain("Sin"), "Cos": _chain("Cos"), "Tan": _chain("Tan"),
    "Sinh": _chain("Sinh"), "Cosh": _chain("Cosh"), "Tanh": _chain("Tanh"),
    "Arcsin": _chain("Asin"), "Arccos": _chain("Acos"), "Arctan": _chain("Atan"),
    "Arcsinh": _chain("Asinh"), "Arccosh": _chain("Acosh"), "Arctanh": _chain("Atanh"),
    "Deg2rad": _times(math.pi / 180), "Rad2deg": _times(180 / math.pi), "Signbit": _signbit,
    "Isnan": _chain("IsNaN"), "Isinf": _chain("IsInf"), "Isfinite": _isfinite,
    "Erf": _chain("Erf"), "Erfc": _erfc, "Rsqrt": _chain("Sqrt", "Reciprocal"),
}


@lowers(*ops.UNARY_OPERATIONS.values())
def unary(graph, node, args, kwargs):
    layer = node.layer
    result = type(layer).result
    dtype = input_dtype(node) if result == "bool" else output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    return _LOWERINGS[type(layer).__name__](graph, x, layer.name, np.dtype(dtype))


@lowers(ops.Round)
def round_(graph, node, args, kwargs):
    layer, dtype = node.layer, output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    if dtype.kind != "f":
        return graph.node("Identity", [x], layer.name)
    decimals = layer.arguments["decimals"]
    if decimals == 0:
        return graph.node("Round", [x], layer.name)
    factor = scalar(graph, 10.0 ** decimals, dtype, layer.name)
    return graph.node("Div", [graph.node("Round", [graph.node("Mul", [x, factor], layer.name)],
                                         layer.name), factor], layer.name)


@lowers(ops.NanToNum)
def nan_to_num(graph, node, args, kwargs):
    layer, dtype = node.layer, output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    if dtype.kind != "f":
        return graph.node("Identity", [x], layer.name)
    hint = layer.name
    nan, posinf, neginf = layer.replacements(dtype)
    x = graph.node("Where", [graph.node("IsNaN", [x], hint), scalar(graph, nan, dtype, hint), x],
                   hint)
    x = graph.node("Where", [graph.node("IsInf", [x], hint, detect_negative=0),
                             scalar(graph, posinf, dtype, hint), x], hint)
    return graph.node("Where", [graph.node("IsInf", [x], hint, detect_positive=0),
                                scalar(graph, neginf, dtype, hint), x], hint)

"""ONNX lowerings of the operations of modelio/ops/numpy/values.py: AllClose, Angle, Imag,
Nextafter, I0 (numpy's Chebyshev series in float64), View (BitCast, opset 26, with byte shifts
for other item sizes), Array, EmptyLike, Ndim, Size and Full."""

import math

import numpy as np
from onnx import TensorProto, numpy_helper

from ... import ops
from ...kernels.special import I0_LARGE, I0_SMALL
from ..export_support import cast_to, need_opset, onnx_type, reduce
from ..op_support import input_dtype, operand, output_dtype, refuse, scalar
from ..registry import lowers


def _all(graph, condition, hint):
    as_int = graph.node("Cast", [condition], hint, to=TensorProto.INT32)
    return graph.node("Cast", [reduce(graph, "ReduceMin", as_int, None, False, hint)], hint,
                      to=TensorProto.BOOL)


@lowers(ops.AllClose)
def allclose(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = np.dtype(ops.result_dtype(*node.call_args[:2]))
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    equal = graph.node("Equal", [a, b], hint)
    if dtype.kind != "f":
        return _all(graph, equal, hint)
    gap = graph.node("Abs", [graph.node("Sub", [a, b], hint)], hint)
    bound = graph.node("Add", [scalar(graph, layer.arguments["atol"], dtype, hint), graph.node(
        "Abs", [graph.node("Mul", [scalar(graph, layer.arguments["rtol"], dtype, hint), b],
                           hint)], hint)], hint)
    within = graph.node("And", [graph.node("Not", [graph.node("IsInf", [gap], hint)], hint),
                                graph.node("LessOrEqual", [gap, bound], hint)], hint)
    close = graph.node("Or", [equal, within], hint)
    if layer.arguments["equal_nan"]:
        close = graph.node("Or", [close, graph.node("And", [graph.node("IsNaN", [a], hint),
                                                            graph.node("IsNaN", [b], hint)],
                                                    hint)], hint)
    return _all(graph, close, hint)


@lowers(ops.Angle)
def angle(graph, node, args, kwargs):
    hint, dtype = node.layer.name, output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    negative = graph.node("Less", [x, scalar(graph, 0, dtype, hint)], hint)
    result = graph.node("Where", [negative, scalar(graph, math.pi, dtype, hint),
                                  scalar(graph, 0, dtype, hint)], hint)
    return graph.node("Where", [graph.node("IsNaN", [x], hint), x, result], hint)


def _filled(graph, node, source, value):
    dtype = output_dtype(node)
    fill = numpy_helper.from_array(np.full((1,), value, dtype=dtype), "value")
    return graph.node("ConstantOfShape", [graph.node("Shape", [source], node.layer.name)],
                      node.layer.name, value=fill)


@lowers(ops.Imag, ops.EmptyLike)
def zeros_of_shape(graph, node, args, kwargs):
    return _filled(graph, node, args[0], 0)


@lowers(ops.Nextafter)
def nextafter(graph, node, args, kwargs):
    """Keras steps one float64 ulp and rounds back to a narrower float: x1 itself, x2 where
    they are equal, NaN where either is, a zero signed toward x2 from zero."""
    hint, dtype = node.layer.name, output_dtype(node)
    kinds = [np.dtype(getattr(item, "dtype", "float32")).kind for item in node.call_args[:2]]
    if dtype == np.float64 or any(kind != "f" for kind in kinds):
        refuse(node, "float64 or integer operands (ONNX has no float64 bit stepping)")
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    zero = scalar(graph, 0, dtype, hint)
    signed_zero = graph.node("Mul", [graph.node("Sign", [graph.node("Sub", [b, a], hint)], hint),
                                     zero], hint)
    result = graph.node("Where", [graph.node("Equal", [a, zero], hint), signed_zero, a], hint)
    result = graph.node("Where", [graph.node("Equal", [a, b], hint), b, result], hint)
    either_nan = graph.node("Or", [graph.node("IsNaN", [a], hint),
                                   graph.node("IsNaN", [b], hint)], hint)
    return graph.node("Where", [either_nan, scalar(graph, np.nan, dtype, hint), result], hint)


def _chebyshev(graph, t, coefficients, hint):
    """Clenshaw's sum of the Chebyshev series `coefficients` at `t` (float64), as numpy's."""
    b0 = scalar(graph, coefficients[0], np.float64, hint)
    b1 = b2 = scalar(graph, 0.0, np.float64, hint)
    for value in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = graph.node("Add", [graph.node("Sub", [graph.node("Mul", [t, b1], hint), b2], hint),
                                scalar(graph, value, np.float64, hint)], hint)
    return graph.node("Mul", [graph.node("Sub", [b0, b2], hint),
                              scalar(graph, 0.5, np.float64, hint)], hint)


@lowers(ops.I0)
def i0(graph, node, args, kwargs):
    hint = node.layer.name
    x = graph.node("Abs", [operand(graph, node, 0, args[0], np.float64)], hint)

    def number(value):
        return scalar(graph, value, np.float64, hint)

    small = graph.node("LessOrEqual", [x, number(8.0)], hint)
    near = _chebyshev(graph, graph.node("Sub", [graph.node("Div", [x, number(2.0)], hint),
                                                number(2.0)], hint), I0_SMALL, hint)
    safe = graph.node("Where", [small, number(8.0), x], hint)
    far = _chebyshev(graph, graph.node("Sub", [graph.node("Div", [number(32.0), safe], hint),
                                               number(2.0)], hint), I0_LARGE, hint)
    far = graph.node("Div", [far, graph.node("Sqrt", [safe], hint)], hint)
    result = graph.node("Mul", [graph.node("Exp", [x], hint),
                                graph.node("Where", [small, near, far], hint)], hint)
    return cast_to(graph, result, np.float64, output_dtype(node), hint)


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


@lowers(ops.View)
def view(graph, node, args, kwargs):
    """BitCast between equal item sizes; otherwise through unsigned integers whose bytes are
    shifted apart or together (little endian, as numpy and torch on x86)."""
    layer, hint = node.layer, node.layer.name
    source, target = input_dtype(node), output_dtype(node)
    if source == target:
        return graph.node("Identity", [args[0]], hint)
    need_opset(graph, layer, 26, "reinterpreting bits (BitCast)")
    old, new = source.itemsize, target.itemsize
    if np.dtype(np.bool_) in (source, target) and old == new:  # no BitCast of bool in ORT
        return graph.node("Cast", [args[0]], hint, to=onnx_type(target))
    if old == new:
        return graph.node("BitCast", [args[0]], hint, to=onnx_type(target))
    x = args[0]
    if source != _UNSIGNED[old]:
        x = graph.node("BitCast", [x], hint, to=onnx_type(_UNSIGNED[old]))
    rank = len(node.call_args[0].shape)
    if old > new:
        ratio = old // new
        parts = []
        for index in range(ratio):
            shifted = graph.node("BitShift", [x, scalar(graph, 8 * new * index, _UNSIGNED[old],
                                                        hint)], hint, direction="RIGHT")
            masked = graph.node("BitwiseAnd", [shifted, scalar(
                graph, (1 << (8 * new)) - 1, _UNSIGNED[old], hint)], hint)
            part = graph.node("Cast", [masked], hint, to=onnx_type(_UNSIGNED[new]))
            parts.append(graph.node("Unsqueeze", [part, graph.ints([rank], f"{hint}/axis")],
                                    hint))
        joined = graph.node("Concat", parts, hint, axis=rank)
        shape = [0] * (rank - 1) + [-1]
    else:
        ratio = new // old
        split = graph.node("Reshape", [x, graph.ints([0] * (rank - 1) + [-1, ratio],
                                                     f"{hint}/groups")], hint)
        wide = graph.node("Cast", [split], hint, to=onnx_type(_UNSIGNED[new]))
        joined = None
        for index in range(ratio):
            part = graph.node("Gather", [wide, graph.constant(np.asarray(index, np.int64),
                                                              f"{hint}/index")], hint, axis=rank)
            part = graph.node("BitShift", [part, scalar(graph, 8 * old * index, _UNSIGNED[new],
                                                        hint)], hint, direction="LEFT")
            joined = part if joined is None else graph.node("BitwiseOr", [joined, part], hint)
        shape = None
    if shape is not None:
        joined = graph.node("Reshape", [joined, graph.ints(shape, f"{hint}/shape")], hint)
    if target != _UNSIGNED[new]:
        joined = graph.node("BitCast", [joined], hint, to=onnx_type(target))
    return joined


@lowers(ops.Array)
def array(graph, node, args, kwargs):
    return cast_to(graph, graph.node("Identity", [args[0]], node.layer.name), input_dtype(node),
                   output_dtype(node), node.layer.name)


@lowers(ops.Ndim)
def ndim(graph, node, args, kwargs):
    hint = node.layer.name
    return graph.node("Identity", [graph.constant(
        np.asarray(len(node.call_args[0].shape), np.int64), f"{hint}/rank")], hint)


@lowers(ops.Size)
def size(graph, node, args, kwargs):
    hint = node.layer.name
    return reduce(graph, "ReduceProd", graph.node("Shape", [args[0]], hint), None, False, hint)


@lowers(ops.Full)
def full(graph, node, args, kwargs):
    hint, dtype = node.layer.name, output_dtype(node)
    fill = operand(graph, node, 0, args[0], dtype)
    return graph.node("Expand", [fill, graph.ints(node.layer.arguments["shape"],
                                                  f"{hint}/shape")], hint)

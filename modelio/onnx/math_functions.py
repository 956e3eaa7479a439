"""ONNX lowerings of the keras.ops.math operations of modelio/ops/math_functions.py: CDist as
differences, squares, a sum and a root; Erfinv as Giles's approximation refined by a Newton step
on ONNX Erf; ExtractSequences as a Gather of the frames' positions; the segment reductions as
ScatterND with a reduction (opset 16; max and min 18) into a row per segment and one spare row
that catches the dropped ids."""

import numpy as np
from onnx import TensorProto, helper

from .. import ops
from ..kernels.special import ERFINV_CENTRAL, ERFINV_SPLIT, ERFINV_TAIL, TWO_OVER_SQRT_PI
from .export_support import cast_to, need_opset, reduce
from .op_support import known_size, operand, output_dtype, scalar
from .registry import lowers

# float32 Newton steps lose to cancellation in erf(x) - y near |y| = 1 (ONNX Runtime has no
# float64 Erf); up to this |y| a step sharpens Giles's approximation, beyond it would blur it
ERFINV_NEWTON_LIMIT = 0.5


@lowers(ops.CDist)
def cdist(graph, node, args, kwargs):
    hint, dtype = node.layer.name, output_dtype(node)
    x = graph.node("Unsqueeze", [operand(graph, node, 0, args[0], dtype),
                                 graph.ints([-2], f"{hint}/axis")], hint)
    y = graph.node("Unsqueeze", [operand(graph, node, 1, args[1], dtype),
                                 graph.ints([-3], f"{hint}/axis")], hint)
    difference = graph.node("Sub", [x, y], hint)
    squares = graph.node("Mul", [difference, difference], hint)
    return graph.node("Sqrt", [reduce(graph, "ReduceSum", squares, [-1], False, hint)], hint)


def _polynomial(graph, coefficients, t, hint, dtype):
    value = scalar(graph, coefficients[0], dtype, hint)
    for coefficient in coefficients[1:]:
        value = graph.node("Add", [graph.node("Mul", [value, t], hint),
                                   scalar(graph, coefficient, dtype, hint)], hint)
    return value


@lowers(ops.Erfinv)
def erfinv(graph, node, args, kwargs):
    """Giles's approximation in float64 (as modelio/kernels/special.py starts), then a float32
    Newton step x -= (erf(x) - y) / (2/sqrt(pi) exp(-x^2)) for |y| <= 0.5; +-1 give +-inf,
    |y| > 1 NaN (the logarithm of a negative number)."""
    hint, dtype = node.layer.name, output_dtype(node)
    y = operand(graph, node, 0, args[0], dtype)
    wide = cast_to(graph, y, dtype, np.float64, hint)
    one = scalar(graph, 1.0, np.float64, hint)
    w = graph.node("Neg", [graph.node("Log", [graph.node("Mul", [
        graph.node("Sub", [one, wide], hint), graph.node("Add", [one, wide], hint)], hint)],
        hint)], hint)
    central = _polynomial(graph, ERFINV_CENTRAL, graph.node(
        "Sub", [w, scalar(graph, 2.5, np.float64, hint)], hint), hint, np.float64)
    tail = _polynomial(graph, ERFINV_TAIL, graph.node(
        "Sub", [graph.node("Sqrt", [w], hint), scalar(graph, 3.0, np.float64, hint)], hint),
        hint, np.float64)
    in_central = graph.node("Less", [w, scalar(graph, ERFINV_SPLIT, np.float64, hint)], hint)
    x = graph.node("Mul", [graph.node("Where", [in_central, central, tail], hint), wide], hint)
    at_one = graph.node("Equal", [graph.node("Abs", [wide], hint), one], hint)
    x = graph.node("Where", [at_one, graph.node("Mul", [wide, scalar(
        graph, np.inf, np.float64, hint)], hint), x], hint)
    x = cast_to(graph, x, np.float64, np.float32, hint)
    y32 = cast_to(graph, y, dtype, np.float32, hint)
    residual = graph.node("Sub", [graph.node("Erf", [x], hint), y32], hint)
    slope = graph.node("Mul", [scalar(graph, TWO_OVER_SQRT_PI, np.float32, hint), graph.node(
        "Exp", [graph.node("Neg", [graph.node("Mul", [x, x], hint)], hint)], hint)], hint)
    stepped = graph.node("Sub", [x, graph.node("Div", [residual, slope], hint)], hint)
    near_zero = graph.node("LessOrEqual", [graph.node("Abs", [y32], hint), scalar(
        graph, ERFINV_NEWTON_LIMIT, np.float32, hint)], hint)
    x = graph.node("Where", [near_zero, stepped, x], hint)
    return cast_to(graph, x, np.float32, dtype, hint)


@lowers(ops.ExtractSequences)
def extract_sequences(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    size = known_size(node, node.call_args[0].shape[-1], "the framed axis")
    length, stride = layer.arguments["sequence_length"], layer.arguments["sequence_stride"]
    starts = np.arange(layer.frames(size)) * stride
    positions = starts[:, None] + np.arange(length)[None, :]
    axis = len(node.call_args[0].shape) - 1
    return graph.node("Gather", [args[0], graph.ints(positions, f"{hint}/positions")], hint,
                      axis=axis)


_SCATTER_REDUCTION = {"SegmentSum": ("add", 16), "SegmentProd": ("mul", 16),
                      "SegmentMax": ("max", 18), "SegmentMin": ("min", 18)}


@lowers(*ops.SEGMENT_REDUCTIONS)
def segment_reduction(graph, node, args, kwargs):
    """Rows scattered with a reduction into num_segments + 1 rows filled with the empty
    segment's value (float32, as Keras's torch backend computes); ids outside
    [0, num_segments) go to the last row, which is dropped."""
    layer, hint = node.layer, node.layer.name
    reduction, opset = _SCATTER_REDUCTION[type(layer).__name__]
    need_opset(graph, layer, opset, f"ScatterND with reduction '{reduction}'")
    count = layer.arguments["num_segments"]
    data = operand(graph, node, 0, args[0], np.float32)
    ids = operand(graph, node, 1, args[1], np.int64)
    spare = graph.ints(count, f"{hint}/spare")
    outside = graph.node("Or", [graph.node("Less", [ids, graph.ints(0, f"{hint}/zero")], hint),
                                graph.node("GreaterOrEqual", [ids, spare], hint)], hint)
    ids = graph.node("Where", [outside, spare, ids], hint)
    rows = graph.node("Concat", [graph.ints([count + 1], f"{hint}/rows"), graph.node(
        "Shape", [data], hint, start=1)], hint, axis=0)
    filled = graph.node("ConstantOfShape", [rows], hint,
                        value=helper.make_tensor("value", TensorProto.FLOAT, [1], [layer.empty]))
    result = graph.node("ScatterND", [filled, graph.node("Unsqueeze", [
        ids, graph.ints([-1], f"{hint}/axis")], hint), data], hint, reduction=reduction)
    result = graph.node("Slice", [result, graph.ints([0], f"{hint}/start"),
                                  graph.ints([count], f"{hint}/end"),
                                  graph.ints([0], f"{hint}/axes")], hint)
    return cast_to(graph, result, np.float32, output_dtype(node), hint)


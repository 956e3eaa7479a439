"""ONNX lowerings of the operations of modelio/ops/numpy/more.py (Gcd and Lcm are refused:
ONNX has no greatest common divisor)."""

import numpy as np
from onnx import TensorProto, helper

from ... import ops
from ..export_support import need_opset, onnx_type, reduce
from ..op_support import known_size, operand, output_dtype, refuse, scalar
from ..registry import lowers
from . import binary
from .statistics import _axes


@lowers(ops.Real, ops.Conj, ops.Conjugate)
def real(graph, node, args, kwargs):
    return graph.node("Identity", [args[0]], node.layer.name)


@lowers(ops.Isreal)
def isreal(graph, node, args, kwargs):
    hint = node.layer.name
    return graph.node("Expand", [graph.constant(np.asarray(True), f"{hint}/true"),
                                 graph.node("Shape", [args[0]], hint)], hint)


@lowers(ops.BitwiseNot, ops.BitwiseInvert)
def bitwise_not(graph, node, args, kwargs):
    dtype, hint = output_dtype(node), node.layer.name
    if dtype == np.bool_:
        return graph.node("Not", [args[0]], hint)
    if dtype.kind == "i":  # two's complement: ~x == -1 - x
        return graph.node("Sub", [scalar(graph, -1, dtype, hint), args[0]], hint)
    need_opset(graph, node.layer, 18, "BitwiseNot")
    return graph.node("BitwiseNot", [args[0]], hint)


def _shift(graph, node, a, b, hint, dtype, left: bool):
    if dtype.kind == "u":  # ONNX's BitShift (opset 11) shifts unsigned integers
        return graph.node("BitShift", [a, b], hint, direction="LEFT" if left else "RIGHT")
    # signed: a * 2**b or floor(a / 2**b), in int64 (Pow has no int8/int16 kernels), wrapped
    # back to the dtype as numpy's shifts wrap; a count outside [0, bits) shifts every bit out
    # (0, or -1 for a negative number shifted right), as numpy and ONNX's BitShift do
    wide = np.dtype(np.int64)
    if dtype != wide:
        a, b = (graph.node("Cast", [name], hint, to=TensorProto.INT64) for name in (a, b))
    zero = scalar(graph, 0, wide, hint)
    outside = graph.node("Or", [graph.node("Less", [b, zero], hint), graph.node(
        "GreaterOrEqual", [b, scalar(graph, 8 * dtype.itemsize, wide, hint)], hint)], hint)
    b = graph.node("Where", [outside, zero, b], hint)
    power = graph.node("Pow", [scalar(graph, 2, wide, hint), b], hint)
    result = graph.node("Mul", [a, power], hint) if left else \
        binary._floor_divide(graph, a, power, hint, wide)
    spilled = zero if left else graph.node("Where", [graph.node("Less", [a, zero], hint),
                                                     scalar(graph, -1, wide, hint), zero], hint)
    result = graph.node("Where", [outside, spilled, result], hint)
    if dtype == wide:
        return result
    return graph.node("Cast", [result], hint, to=helper.np_dtype_to_tensor_dtype(dtype))


@lowers(ops.Gcd, ops.Lcm, *ops.BITWISE_OPERATIONS.values(), ops.Ldexp)
def integer_binary(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    name = type(layer).__name__
    if name in ("Gcd", "Lcm"):
        refuse(node, "ONNX has no greatest common divisor")
    dtype = output_dtype(node)
    if name == "Ldexp":
        x = operand(graph, node, 0, args[0], dtype)
        exponent = operand(graph, node, 1, args[1], dtype)
        return graph.node("Mul", [x, graph.node("Pow", [scalar(graph, 2.0, dtype, hint),
                                                        exponent], hint)], hint)
    if dtype.kind not in "iu":
        refuse(node, f"{dtype} operands")
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    if "Shift" in name:
        return _shift(graph, node, a, b, hint, dtype, "Left" in name)
    need_opset(graph, layer, 18, name)
    return graph.node(name, [a, b], hint)


@lowers(ops.Nanprod, ops.Nanvar, ops.Nanstd)
def nan_statistics(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    axes, keep = _axes(node), layer.arguments["keepdims"]
    nan = graph.node("IsNaN", [x], hint)
    if isinstance(layer, ops.Nanprod):
        return reduce(graph, "ReduceProd", graph.node("Where", [nan, scalar(graph, 1, dtype, hint),
                                                                x], hint), axes, keep, hint)
    zero = scalar(graph, 0, dtype, hint)
    kept = graph.node("Cast", [graph.node("Not", [nan], hint)], hint, to=onnx_type(dtype))
    zeroed = graph.node("Where", [nan, zero, x], hint)
    count = reduce(graph, "ReduceSum", kept, axes, True, hint)
    mean = graph.node("Div", [reduce(graph, "ReduceSum", zeroed, axes, True, hint), count], hint)
    gap = graph.node("Mul", [graph.node("Sub", [zeroed, mean], hint), kept], hint)
    variance = graph.node("Div", [
        reduce(graph, "ReduceSum", graph.node("Mul", [gap, gap], hint), axes, keep, hint),
        reduce(graph, "ReduceSum", kept, axes, keep, hint)], hint)
    return graph.node("Sqrt", [variance], hint) if isinstance(layer, ops.Nanstd) else variance


@lowers(ops.Nancumsum)
def nancumsum(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    if dtype.kind == "f":
        x = graph.node("Where", [graph.node("IsNaN", [x], hint), scalar(graph, 0, dtype, hint),
                                 x], hint)
    axis = layer.arguments["axis"]
    if axis is None:
        x, axis = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint), 0
    return graph.node("CumSum", [x, graph.constant(np.asarray(axis, np.int64), f"{hint}/axis")],
                      hint)


@lowers(ops.Kron)
def kron(graph, node, args, kwargs):
    hint = node.layer.name
    dtype = output_dtype(node)
    a_shape, b_shape = (tuple(getattr(item, "shape", np.shape(item))) for item in
                        node.call_args[:2])
    rank = max(len(a_shape), len(b_shape))
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    if len(a_shape) != len(b_shape):
        refuse(node, "operands of different ranks")
    # a: (a0, 1, a1, 1, ...), b: (1, b0, 1, b1, ...); their product merges pairwise
    a = graph.node("Unsqueeze", [a, graph.ints([2 * i + 1 for i in range(rank)], f"{hint}/a")],
                   hint)
    b = graph.node("Unsqueeze", [b, graph.ints([2 * i for i in range(rank)], f"{hint}/b")], hint)
    target = [-1 if dim is None else dim for dim in node.outputs[0].shape]
    if target.count(-1) > 1:
        refuse(node, "several unknown sizes")
    return graph.node("Reshape", [graph.node("Mul", [a, b], hint),
                                  graph.ints(target, f"{hint}/shape")], hint)


@lowers(ops.Diag)
def diag(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = node.call_args[0].shape
    k = layer.arguments["k"]
    if len(shape) == 1:
        size = known_size(node, shape[0], "diag")
        out = size + abs(k)
        rows, columns = np.meshgrid(np.arange(out), np.arange(out), indexing="ij")
        on = (columns - rows) == k
        index = np.where(on, np.minimum(rows, columns), 0)
        picked = graph.node("Gather", [args[0], graph.ints(index, f"{hint}/index")], hint, axis=0)
        return graph.node("Where", [graph.constant(on, f"{hint}/on"), picked,
                                    scalar(graph, 0, output_dtype(node), hint)], hint)
    rows = known_size(node, shape[0], "diag")
    columns = known_size(node, shape[1], "diag")
    length = node.outputs[0].shape[0]
    start_row, start_column = max(-k, 0), max(k, 0)
    positions = [(start_row + i) * columns + start_column + i for i in range(length)]
    flat = graph.node("Reshape", [args[0], graph.ints([rows * columns], f"{hint}/flat")], hint)
    return graph.node("Gather", [flat, graph.ints(positions, f"{hint}/positions")], hint, axis=0)


@lowers(ops.Diff)
def diff(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    axis = layer.arguments["axis"] % len(node.call_args[0].shape)
    x = args[0]
    big = np.iinfo(np.int64).max
    for _ in range(layer.arguments["n"]):
        upper = graph.node("Slice", [x, graph.ints([1], f"{hint}/s"), graph.ints([big], f"{hint}/e"),
                                     graph.ints([axis], f"{hint}/a")], hint)
        lower = graph.node("Slice", [x, graph.ints([0], f"{hint}/s"), graph.ints([-1], f"{hint}/e"),
                                     graph.ints([axis], f"{hint}/a")], hint)
        x = graph.node("Sub", [upper, lower], hint)
    return x if layer.arguments["n"] else graph.node("Identity", [x], hint)


@lowers(ops.IsIn)
def isin(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = np.result_type(*(np.dtype(getattr(item, "dtype", np.asarray(item).dtype))
                             for item in node.call_args[:2]))
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    flat = graph.node("Reshape", [b, graph.ints([-1], f"{hint}/flat")], hint)
    equal = graph.node("Equal", [graph.node("Unsqueeze", [a, graph.ints([-1], f"{hint}/l")],
                                            hint), flat], hint)
    found = reduce(graph, "ReduceMax", graph.node("Cast", [equal], hint, to=TensorProto.INT32),
                   [len(node.call_args[0].shape)], False, hint)
    found = graph.node("Cast", [found], hint, to=TensorProto.BOOL)
    return graph.node("Not", [found], hint) if layer.arguments["invert"] else found


@lowers(ops.Quantile, ops.Percentile)
def quantile(graph, node, args, kwargs):
    """Sorted by TopK along the one axis, then numpy's linear interpolation between the two
    neighbouring order statistics (positions known when the graph is built)."""
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    q_value = node.call_args[1]
    if not isinstance(q_value, (int, float)) or isinstance(q_value, bool):
        refuse(node, "q given as a tensor or a vector")
    shape = node.call_args[0].shape
    x = operand(graph, node, 0, args[0], dtype)
    axis = layer._axis(len(shape))
    if axis is None:
        x, axis = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint), 0
        size = known_size(node, None if None in shape else int(np.prod(shape)), "quantile")
        if layer.arguments["keepdims"]:
            refuse(node, "keepdims over every axis")
    elif len(axis) != 1:
        refuse(node, "a quantile over several axes")
    else:
        axis = axis[0]
        size = known_size(node, shape[axis], "quantile")
    position = float(layer._q(q_value)) * (size - 1)
    low, high = int(np.floor(position)), int(np.ceil(position))
    ordered, _ = graph.node("TopK", [x, graph.ints([size], f"{hint}/k")], hint, outputs=2,
                            axis=axis, largest=0, sorted=1)
    keep = bool(layer.arguments["keepdims"])

    def pick(index):
        picked = graph.node("Gather", [ordered, graph.ints([index], f"{hint}/i")], hint,
                            axis=axis)
        return picked if keep else graph.node("Squeeze", [picked, graph.ints(
            [axis], f"{hint}/axis")], hint)

    below = pick(low)
    if high == low:
        return below
    weight = scalar(graph, position - low, dtype, hint)
    return graph.node("Add", [below, graph.node("Mul", [graph.node("Sub", [pick(high), below],
                                                                   hint), weight], hint)], hint)


@lowers(ops.Nanargmax, ops.Nanargmin)
def nan_arg(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = np.dtype(node.call_args[0].dtype)
    x = args[0]
    axis, keep = layer.arguments["axis"], int(layer.arguments["keepdims"])
    rank = len(node.call_args[0].shape)
    op = "ArgMax" if layer.largest else "ArgMin"
    nan = None
    if dtype.kind == "f":
        nan = graph.node("IsNaN", [x], hint)
        x = graph.node("Where", [nan, scalar(graph, -np.inf if layer.largest else np.inf, dtype,
                                                 hint), x], hint)
    if axis is None:
        x = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint)
        index = graph.node(op, [x], hint, axis=0, keepdims=0)
        if keep:
            index = graph.node("Reshape", [index, graph.ints([1] * rank, f"{hint}/ones")], hint)
        reduce_axes = None
    else:
        index = graph.node(op, [x], hint, axis=axis % rank, keepdims=keep)
        reduce_axes = [axis % rank]
    index = graph.node("Cast", [index], hint, to=TensorProto.INT32)
    if nan is None:
        return index
    all_nan = reduce(graph, "ReduceMin", graph.node("Cast", [nan], hint, to=TensorProto.INT32),
                     reduce_axes, bool(keep), hint)
    return graph.node("Where", [graph.node("Cast", [all_nan], hint, to=TensorProto.BOOL),
                                scalar(graph, -1, np.int32, hint), index], hint)

"""ONNX lowerings of the operations of modelio/ops/numpy/extras.py."""

import math

import numpy as np
from onnx import TensorProto

from ... import ops
from ..export_support import cast_to, onnx_type, reduce
from ..op_support import input_dtype, known_size, operand, output_dtype, refuse, scalar
from ..registry import lowers
from . import binary, unary

_END = np.iinfo(np.int64).max


def _logaddexp2(graph, a, b, hint, dtype):
    ln2 = scalar(graph, math.log(2), dtype, hint)
    as_e = [graph.node("Mul", [value, ln2], hint) for value in (a, b)]
    return graph.node("Div", [binary._logaddexp(graph, *as_e, hint, dtype), ln2], hint)


def _sinc(graph, x, hint, dtype):
    scaled = graph.node("Mul", [x, scalar(graph, math.pi, dtype, hint)], hint)
    zero = graph.node("Equal", [x, scalar(graph, 0, dtype, hint)], hint)
    safe = graph.node("Where", [zero, scalar(graph, 1, dtype, hint), scaled], hint)
    ratio = graph.node("Div", [graph.node("Sin", [safe], hint), safe], hint)
    return graph.node("Where", [zero, scalar(graph, 1, dtype, hint), ratio], hint)


def _infinity(positive: int):
    def lower(graph, x, hint, dtype):
        return graph.node("IsInf", [x], hint, detect_positive=positive,
                          detect_negative=1 - positive)
    return lower


binary._LOWERINGS["Logaddexp2"] = _logaddexp2
unary._LOWERINGS.update({"Sinc": _sinc, "Isneginf": _infinity(0), "Isposinf": _infinity(1)})
lowers(ops.Logaddexp2)(binary.binary)
lowers(ops.Sinc, ops.Isneginf, ops.Isposinf)(unary.unary)


@lowers(*ops.NAN_REDUCTIONS.values())
def nan_reduction(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    name = type(layer).__name__
    axes = layer.axes(len(node.call_args[0].shape))
    axes = None if axes is None else list(axes)
    keep = layer.arguments["keepdims"]
    if dtype.kind != "f":
        op = {"Nansum": "ReduceSum", "Nanmean": "ReduceMean", "Nanmax": "ReduceMax",
              "Nanmin": "ReduceMin"}[name]
        return reduce(graph, op, x, axes, keep, hint)
    nan = graph.node("IsNaN", [x], hint)
    if name in ("Nansum", "Nanmean"):
        zeroed = graph.node("Where", [nan, scalar(graph, 0, dtype, hint), x], hint)
        total = reduce(graph, "ReduceSum", zeroed, axes, keep, hint)
        if name == "Nansum":
            return total
        count = reduce(graph, "ReduceSum", graph.node("Cast", [graph.node("Not", [nan], hint)],
                                                      hint, to=onnx_type(dtype)), axes, keep, hint)
        return graph.node("Div", [total, count], hint)
    fill = -np.inf if name == "Nanmax" else np.inf
    filled = graph.node("Where", [nan, scalar(graph, fill, dtype, hint), x], hint)
    result = reduce(graph, "ReduceMax" if name == "Nanmax" else "ReduceMin", filled, axes, keep,
                    hint)
    all_nan = reduce(graph, "ReduceMin", graph.node("Cast", [nan], hint, to=TensorProto.INT32),
                     axes, keep, hint)
    return graph.node("Where", [graph.node("Cast", [all_nan], hint, to=TensorProto.BOOL),
                                scalar(graph, np.nan, dtype, hint), result], hint)


@lowers(ops.Isclose)
def isclose(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = np.result_type(*(np.dtype(getattr(item, "dtype", np.float32))
                             for item in node.call_args[:2]))
    if dtype.kind != "f":
        refuse(node, f"{dtype} operands")
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    rtol = args[2] if len(args) > 2 else kwargs.get("rtol", 1e-5)
    atol = args[3] if len(args) > 3 else kwargs.get("atol", 1e-8)
    gap = graph.node("Abs", [graph.node("Sub", [a, b], hint)], hint)
    bound = graph.node("Add", [scalar(graph, atol, dtype, hint), graph.node("Mul", [
        scalar(graph, rtol, dtype, hint), graph.node("Abs", [b], hint)], hint)], hint)
    close = graph.node("LessOrEqual", [gap, bound], hint)
    equal = graph.node("Equal", [a, b], hint)  # equal infinities
    close = graph.node("Or", [close, equal], hint)
    if layer.arguments["equal_nan"]:
        both = graph.node("And", [graph.node("IsNaN", [a], hint), graph.node("IsNaN", [b], hint)],
                          hint)
        close = graph.node("Or", [close, both], hint)
    return close


@lowers(ops.Average)
def average(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    axis = layer.arguments["axis"]
    return reduce(graph, "ReduceMean", x, None if axis is None else [axis], False, hint)


def _flip(graph, x, axes, hint):
    count = len(axes)
    return graph.node("Slice", [x, graph.ints([-1] * count, f"{hint}/starts"),
                                graph.ints([-_END] * count, f"{hint}/ends"),
                                graph.ints(axes, f"{hint}/axes"),
                                graph.ints([-1] * count, f"{hint}/steps")], hint)


@lowers(ops.Fliplr, ops.Flipud)
def flip_lr_ud(graph, node, args, kwargs):
    return _flip(graph, args[0], [1 if isinstance(node.layer, ops.Fliplr) else 0],
                 node.layer.name)


@lowers(ops.Rot90)
def rot90(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    rank = len(node.call_args[0].shape)
    first, second = layer.plane(rank)
    k = layer.arguments["k"] % 4
    perm = list(range(rank))
    perm[first], perm[second] = second, first
    x = args[0]
    if k == 0:
        return graph.node("Identity", [x], hint)
    if k == 2:
        return _flip(graph, x, [first, second], hint)
    if k == 1:  # numpy: flip the second axis, then swap
        return graph.node("Transpose", [_flip(graph, x, [second], hint)], hint, perm=perm)
    return _flip(graph, graph.node("Transpose", [x], hint, perm=perm), [second], hint)


@lowers(ops.Dstack)
def dstack(graph, node, args, kwargs):
    tensors = node.call_args[0]
    if len({tensor.dtype for tensor in tensors}) > 1:
        refuse(node, "operands of different dtypes")
    return graph.node("Concat", list(args[0]), node.layer.name, axis=2)


@lowers(ops.Trace)
def trace(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = node.call_args[0].shape
    first, second = layer.plane(len(shape))
    rows = known_size(node, shape[first], "trace")
    columns = known_size(node, shape[second], "trace")
    offset = layer.arguments["offset"]
    mask = np.eye(rows, columns, offset, dtype=output_dtype(node))
    expanded = [1] * len(shape)
    expanded[first], expanded[second] = rows, columns
    dtype = output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    masked = graph.node("Mul", [x, graph.constant(mask.reshape(expanded), f"{hint}/mask")], hint)
    return reduce(graph, "ReduceSum", masked, [first, second], False, hint)


@lowers(ops.Select)
def select(graph, node, args, kwargs):
    hint = node.layer.name
    dtype = output_dtype(node)
    conditions, choices = node.call_args[0], node.call_args[1]
    default = args[2] if len(args) > 2 else kwargs.get("default", 0)
    if not isinstance(default, (bool, int, float)):
        refuse(node, "a tensor default")
    result = scalar(graph, default, dtype, hint)

    def as_name(symbolic, value, to):
        if hasattr(symbolic, "dtype") and hasattr(symbolic, "shape") and isinstance(value, str):
            return cast_to(graph, value, symbolic.dtype, to, hint)
        return graph.constant(np.asarray(value, to), f"{hint}/constant")

    for condition, choice, c_value, v_value in reversed(list(zip(conditions, choices, args[0],
                                                                 args[1]))):
        result = graph.node("Where", [as_name(condition, c_value, np.bool_),
                                      as_name(choice, v_value, dtype), result], hint)
    return result


@lowers(ops.Inner)
def inner(graph, node, args, kwargs):
    dtype = output_dtype(node)
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    rank_a = len(node.call_args[0].shape)
    rank_b = len(getattr(node.call_args[1], "shape", ()))
    letters = "abcdefghijklmnopqrstuvwxy"
    first = letters[:rank_a - 1] + "z"
    second = letters[rank_a - 1:rank_a + rank_b - 2] + "z"
    return graph.node("Einsum", [a, b], node.layer.name,
                      equation=f"{first},{second}->{first[:-1]}{second[:-1]}")


@lowers(ops.Vdot)
def vdot(graph, node, args, kwargs):
    hint = node.layer.name
    dtype = output_dtype(node)
    a, b = (graph.node("Reshape", [operand(graph, node, index, args[index], dtype),
                                   graph.ints([-1], f"{hint}/flat")], hint) for index in (0, 1))
    return reduce(graph, "ReduceSum", graph.node("Mul", [a, b], hint), None, False, hint)


@lowers(ops.FullLike)
def full_like(graph, node, args, kwargs):
    hint = node.layer.name
    fill = args[1] if len(args) > 1 else kwargs.get("fill_value")
    if not isinstance(fill, (bool, int, float)):
        refuse(node, "a tensor fill value")
    return graph.node("Expand", [scalar(graph, fill, output_dtype(node), hint),
                                 graph.node("Shape", [args[0]], hint)], hint)


@lowers(ops.Append)
def append(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    axis = layer.arguments["axis"]
    if axis is None:
        a, b = (graph.node("Reshape", [item, graph.ints([-1], f"{hint}/flat")], hint)
                for item in (a, b))
        axis = 0
    return graph.node("Concat", [a, b], hint, axis=axis)


@lowers(ops.SaturateCast)
def saturate_cast(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    source = input_dtype(node)
    bounds = layer.bounds(source)
    x = args[0]
    if bounds is not None:
        x = graph.node("Clip", [x, scalar(graph, bounds[0], source, hint),
                                scalar(graph, bounds[1], source, hint)], hint)
    return graph.node("Cast", [x], hint, to=onnx_type(layer.arguments["dtype"]))


@lowers(ops.ConvertToTensor)
def convert_to_tensor(graph, node, args, kwargs):
    return cast_to(graph, graph.node("Identity", [args[0]], node.layer.name), input_dtype(node),
                   output_dtype(node), node.layer.name)


@lowers(ops.InTopK)
def in_top_k(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    predictions = operand(graph, node, 1, args[1], np.float32)
    targets = operand(graph, node, 0, args[0], np.int64)
    picked = graph.node("GatherElements", [predictions, graph.node(
        "Unsqueeze", [targets, graph.ints([1], f"{hint}/axis")], hint)], hint, axis=1)
    larger = graph.node("Cast", [graph.node("Greater", [predictions, picked], hint)], hint,
                        to=TensorProto.INT32)
    count = reduce(graph, "ReduceSum", larger, [1], False, hint)
    return graph.node("Less", [count, scalar(graph, layer.arguments["k"], np.int32, hint)], hint)

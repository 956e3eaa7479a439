"""ONNX lowerings of the operations of modelio/ops/numpy/spacing.py: Linspace, Logspace and
Geomspace (start + steps * (stop - start), the steps a constant), Digitize and SearchSorted
(counts of the sorted values below each value), Histogram (torch's edges, counts by
comparison)."""

import math

import numpy as np
from onnx import TensorProto

from ... import ops
from ..export_support import cast_to, reduce
from ..op_support import operand, output_dtype, scalar
from ..registry import lowers


def _spaced(graph, node, args, dtype, transform=None):
    """Keras's torch backend's linspace of the tensors start and stop: without the end point,
    stop pulled in by one step (in the operands' dtype); then start + steps * (stop - start) in
    `dtype`. `transform` (Geomspace's log10) applies to start and stop, cast to `dtype`."""
    layer, hint = node.layer, node.layer.name
    num = layer.arguments["num"]
    source = np.dtype(ops.result_dtype(*node.call_args[:2]))
    start, stop = (operand(graph, node, index, args[index], source) for index in (0, 1))
    if transform is not None:
        start, stop = (transform(cast_to(graph, value, source, dtype, hint))
                       for value in (start, stop))
        source = dtype
    if not layer.arguments["endpoint"]:
        width = graph.node("Sub", [stop, start], hint)
        stop = graph.node("Sub", [stop, graph.node("Div", [width, scalar(graph, num, source,
                                                                         hint)], hint)], hint)
    start, stop = (cast_to(graph, value, source, dtype, hint) for value in (start, stop))
    with np.errstate(all="ignore"):
        steps = np.arange(num, dtype=dtype) / np.asarray(num - 1, dtype)
    rank = len(node.outputs[0].shape) - 1
    steps = graph.constant(steps.reshape((num,) + (1,) * rank), f"{hint}/steps")
    axis = graph.ints([0], f"{hint}/axis")
    width = graph.node("Sub", [stop, start], hint)
    return graph.node("Add", [graph.node("Unsqueeze", [start, axis], hint), graph.node(
        "Mul", [steps, graph.node("Unsqueeze", [width, axis], hint)], hint)], hint)


@lowers(ops.Linspace)
def linspace(graph, node, args, kwargs):
    return _spaced(graph, node, args, output_dtype(node))


@lowers(ops.Logspace)
def logspace(graph, node, args, kwargs):
    hint, dtype = node.layer.name, output_dtype(node)
    exponents = _spaced(graph, node, args, dtype)
    return graph.node("Pow", [scalar(graph, node.layer.arguments["base"], dtype, hint),
                              exponents], hint)


@lowers(ops.Geomspace)
def geomspace(graph, node, args, kwargs):
    hint, dtype = node.layer.name, output_dtype(node)
    source = np.dtype(ops.result_dtype(*node.call_args[:2]))
    start = cast_to(graph, operand(graph, node, 0, args[0], source), source, dtype, hint)

    def log10(value):
        return graph.node("Div", [graph.node("Log", [graph.node("Abs", [value], hint)], hint),
                                  scalar(graph, math.log(10), dtype, hint)], hint)

    exponents = _spaced(graph, node, args, dtype, log10)
    powers = graph.node("Pow", [scalar(graph, 10, dtype, hint), exponents], hint)
    sign = graph.node("Unsqueeze", [graph.node("Sign", [start], hint),
                                    graph.ints([0], f"{hint}/axis")], hint)
    return graph.node("Mul", [powers, sign], hint)


def _count_below(graph, node, sequence, values, dtype, inclusive: bool):
    """How many of `sequence` (a vector) are < (<= when `inclusive`) each of `values`; NaN
    values: all of them."""
    hint = node.layer.name
    column = graph.node("Unsqueeze", [values, graph.ints([-1], f"{hint}/axis")], hint)
    below = graph.node("LessOrEqual" if inclusive else "Less", [sequence, column], hint)
    rank = len(node.outputs[0].shape)
    count = reduce(graph, "ReduceSum", graph.node("Cast", [below], hint, to=TensorProto.INT32),
                   [rank], False, hint)
    if dtype.kind != "f":
        return count
    length = graph.node("Cast", [graph.node("Shape", [sequence], hint)], hint,
                        to=TensorProto.INT32)
    return graph.node("Where", [graph.node("IsNaN", [values], hint),
                                graph.node("Squeeze", [length], hint), count], hint)


def _common(node, first: int, second: int) -> np.dtype:
    dtypes = [np.dtype(getattr(node.call_args[index], "dtype", None)
                       or np.asarray(node.call_args[index]).dtype) for index in (first, second)]
    dtypes = [np.dtype(np.uint8) if dtype == np.bool_ else dtype for dtype in dtypes]
    return np.result_type(*dtypes)


@lowers(ops.Digitize)
def digitize(graph, node, args, kwargs):
    dtype = _common(node, 0, 1)
    values, bins = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    return _count_below(graph, node, bins, values, dtype, inclusive=True)


@lowers(ops.SearchSorted)
def searchsorted(graph, node, args, kwargs):
    dtype = _common(node, 0, 1)
    sequence, values = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    return _count_below(graph, node, sequence, values, dtype,
                        inclusive=node.layer.arguments["side"] == "right")


@lowers(ops.Histogram)
def histogram(graph, node, args, kwargs):
    layer, hint, dtype = node.layer, node.layer.name, output_dtype(node)
    bins = layer.arguments["bins"]
    x = args[0]
    if layer.arguments["range"] is None:
        low = reduce(graph, "ReduceMin", x, None, False, hint)
        high = reduce(graph, "ReduceMax", x, None, False, hint)
    else:
        low, high = (scalar(graph, value, dtype, hint) for value in layer.arguments["range"])
    same = graph.node("Equal", [low, high], hint)
    half = scalar(graph, 0.5, dtype, hint)
    low = graph.node("Where", [same, graph.node("Sub", [low, half], hint), low], hint)
    high = graph.node("Where", [same, graph.node("Add", [high, half], hint), high], hint)
    # torch's linspace: up from low for the first half of the edges, down from high after
    step = graph.node("Div", [graph.node("Sub", [high, low], hint),
                              scalar(graph, bins, dtype, hint)], hint)
    index = np.arange(bins + 1)
    up = graph.node("Add", [low, graph.node("Mul", [step, graph.constant(
        index.astype(dtype), f"{hint}/up")], hint)], hint)
    down = graph.node("Sub", [high, graph.node("Mul", [step, graph.constant(
        (bins - index).astype(dtype), f"{hint}/down")], hint)], hint)
    edges = graph.node("Where", [graph.constant(index < (bins + 1) // 2, f"{hint}/half"), up,
                                 down], hint)
    column = graph.node("Unsqueeze", [x, graph.ints([1], f"{hint}/axis")], hint)
    at_or_above = graph.node("Cast", [graph.node("LessOrEqual", [edges, column], hint)], hint,
                             to=TensorProto.INT64)
    position = graph.node("Sub", [reduce(graph, "ReduceSum", at_or_above, [1], False, hint),
                                  scalar(graph, 1, np.int64, hint)], hint)
    position = graph.node("Where", [graph.node("Equal", [x, high], hint),
                                    scalar(graph, bins - 1, np.int64, hint), position], hint)
    inside = graph.node("And", [graph.node("GreaterOrEqual", [x, low], hint),
                                graph.node("LessOrEqual", [x, high], hint)], hint)
    position = graph.node("Where", [inside, position, scalar(graph, -1, np.int64, hint)], hint)
    hits = graph.node("Equal", [graph.node("Unsqueeze", [position, graph.ints(
        [1], f"{hint}/axis")], hint), graph.constant(np.arange(bins, dtype=np.int64)[None],
                                                      f"{hint}/bins")], hint)
    counts = reduce(graph, "ReduceSum", graph.node("Cast", [hits], hint, to=TensorProto.INT64),
                    [0], False, hint)
    return [cast_to(graph, counts, np.int64, dtype, hint), edges]

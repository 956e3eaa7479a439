"""ONNX lowerings of the operations of modelio/ops/numpy/nan_quantiles.py: Nancumprod (the
running product as a product over a triangular mask) and Nanquantile, Nanpercentile and
Nanmedian (NaNs sorted last by TopK as infinities, the ranks from each row's count of
numbers; sizes may be known only when the graph runs)."""

import numpy as np
from onnx import TensorProto

from ... import ops
from ..export_support import cast_to, onnx_type, reduce
from ..op_support import input_dtype, output_dtype, scalar
from ..registry import lowers


def _to_last(graph, x, axis, rank, hint):
    if axis == rank - 1:
        return x, None
    perm = [item for item in range(rank) if item != axis] + [axis]
    return graph.node("Transpose", [x], hint, perm=perm), perm


@lowers(ops.Nancumprod)
def nancumprod(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype, source = output_dtype(node), input_dtype(node)
    x = args[0]
    if source.kind == "f":  # torch's nan_to_num: NaN -> 1, infinities -> the finite extremes
        info = np.finfo(source)
        x = graph.node("Where", [graph.node("IsNaN", [x], hint), scalar(graph, 1, source, hint),
                                 x], hint)
        x = graph.node("Clip", [x, scalar(graph, info.min, source, hint),
                                scalar(graph, info.max, source, hint)], hint)
    work = np.dtype(np.float32) if dtype == np.float16 else dtype
    x = cast_to(graph, x, source, work, hint)
    shape = node.call_args[0].shape
    axis = layer.arguments["axis"]
    if axis is None:
        x = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint)
        rank, axis = 1, 0
    else:
        rank = len(shape)
        axis %= rank
    x, perm = _to_last(graph, x, axis, rank, hint)
    rows = graph.node("Unsqueeze", [x, graph.ints([-2], f"{hint}/axis")], hint)
    size = graph.node("Gather", [graph.node("Shape", [x], hint), graph.constant(
        np.asarray(-1, np.int64), f"{hint}/last")], hint)
    index = graph.node("Range", [graph.constant(np.asarray(0, np.int64), f"{hint}/zero"), size,
                                 graph.constant(np.asarray(1, np.int64), f"{hint}/one")], hint)
    lower = graph.node("LessOrEqual", [  # [i, j]: j <= i
        graph.node("Unsqueeze", [index, graph.ints([0], f"{hint}/axis")], hint),
        graph.node("Unsqueeze", [index, graph.ints([1], f"{hint}/axis")], hint)], hint)
    masked = graph.node("Where", [lower, rows, scalar(graph, 1, work, hint)], hint)
    result = reduce(graph, "ReduceProd", masked, [-1], False, hint)
    if perm is not None:
        result = graph.node("Transpose", [result], hint, perm=list(np.argsort(perm)))
    return cast_to(graph, result, work, dtype, hint)


def _quantile_row(graph, node, ordered, count, q, dtype):
    """torch's nanquantile of the rows of `ordered` (sorted, NaNs last as +inf) at `q`."""
    hint, method = node.layer.name, node.layer.arguments.get("method", "linear")
    ranks = graph.node("Mul", [scalar(graph, q, dtype, hint), graph.node(
        "Sub", [count, scalar(graph, 1, dtype, hint)], hint)], hint)
    ranks = graph.node("Max", [ranks, scalar(graph, 0, dtype, hint)], hint)
    rounding = {"lower": "Floor", "higher": "Ceil", "nearest": "Round"}.get(method)
    if rounding:
        ranks = graph.node(rounding, [ranks], hint)
    low_rank = graph.node("Floor", [ranks], hint)

    def pick(rank):  # ranks stay below each row's count of numbers
        index = graph.node("Cast", [rank], hint, to=TensorProto.INT64)
        return graph.node("GatherElements", [ordered, index], hint, axis=-1)

    below = pick(low_rank)
    if method in ("linear", "midpoint"):
        above = pick(graph.node("Ceil", [ranks], hint))
        weight = scalar(graph, 0.5, dtype, hint) if method == "midpoint" else \
            graph.node("Sub", [ranks, low_rank], hint)
        gap = graph.node("Sub", [above, below], hint)
        rising = graph.node("Add", [below, graph.node("Mul", [weight, gap], hint)], hint)
        falling = graph.node("Sub", [above, graph.node("Mul", [gap, graph.node(
            "Sub", [scalar(graph, 1, dtype, hint), weight], hint)], hint)], hint)
        below = graph.node("Where", [graph.node("Less", [weight, scalar(graph, 0.5, dtype,
                                                                        hint)], hint),
                                     rising, falling], hint)
    empty = graph.node("Equal", [count, scalar(graph, 0, dtype, hint)], hint)
    result = graph.node("Where", [empty, scalar(graph, np.nan, dtype, hint), below], hint)
    return graph.node("Squeeze", [result, graph.ints([-1], f"{hint}/axis")], hint)


@lowers(ops.Nanquantile, ops.Nanpercentile, ops.Nanmedian)
def nan_quantile(graph, node, args, kwargs):
    layer, hint, dtype = node.layer, node.layer.name, output_dtype(node)
    shape = tuple(node.call_args[0].shape)
    rank = len(shape)
    if isinstance(layer, ops.Nanmedian):
        quantiles = np.asarray(0.5, np.float32)
    else:
        q = args[1] if len(args) > 1 else kwargs.get("q")
        quantiles = layer.quantiles(node.call_args[1] if len(node.call_args) > 1 else q)
    compute = np.dtype(np.float64) if input_dtype(node) == np.float64 else np.dtype(np.float32)
    quantiles = quantiles.astype(compute)
    x = cast_to(graph, args[0], input_dtype(node), compute, hint)
    axes = layer.axes(rank)
    if axes is None:
        rows = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint)
    else:
        others = [axis for axis in range(rank) if axis not in axes]
        if others + axes != list(range(rank)):
            x = graph.node("Transpose", [x], hint, perm=others + axes)
        rows = graph.node("Reshape", [x, graph.ints([0] * len(others) + [-1],
                                                    f"{hint}/rows")], hint)
    nan = graph.node("IsNaN", [rows], hint)
    filled = graph.node("Where", [nan, scalar(graph, np.inf, compute, hint), rows], hint)
    size = graph.node("Slice", [graph.node("Shape", [rows], hint), graph.ints([-1], f"{hint}/s"),
                                graph.ints([np.iinfo(np.int64).max], f"{hint}/e")], hint)
    ordered, _ = graph.node("TopK", [filled, size], hint, outputs=2, axis=-1, largest=0,
                            sorted=1)
    count = reduce(graph, "ReduceSum", graph.node("Cast", [graph.node("Not", [nan], hint)], hint,
                                                  to=onnx_type(compute)), [-1], True, hint)
    results = [_quantile_row(graph, node, ordered, count, float(q), compute)
               for q in quantiles.reshape(-1)]
    if quantiles.ndim:
        results = [graph.node("Unsqueeze", [item, graph.ints([0], f"{hint}/axis")], hint)
                   for item in results]
        result = graph.node("Concat", results, hint, axis=0)
    else:
        result = results[0]
    if layer.arguments["keepdims"]:
        lead = 1 if quantiles.ndim else 0
        kept = [lead + axis for axis in (range(rank) if axes is None else axes)]
        result = graph.node("Unsqueeze", [result, graph.ints(kept, f"{hint}/kept")], hint)
    if compute != dtype:
        result = cast_to(graph, result, compute, dtype, hint)
    return result

"""ONNX lowerings of keras.ops.numpy's statistics and scans (modelio/ops/numpy/statistics.py)."""

import numpy as np
from onnx import TensorProto

from ... import ops
from ..export_support import cast_to, reduce
from ..op_support import input_dtype, known_size, operand, output_dtype, refuse, scalar
from ..registry import lowers


def _axes(node):
    axes = node.layer.axes(len(node.call_args[0].shape))
    return None if axes is None else list(axes)


def _keep(node):
    return node.layer.arguments.get("keepdims", False)


def _x(graph, node, args, dtype):
    return operand(graph, node, 0, args[0], dtype)


def _moments(graph, node, x, dtype):
    hint = node.layer.name
    mean = reduce(graph, "ReduceMean", x, _axes(node), True, hint)
    centred = graph.node("Sub", [x, mean], hint)
    return reduce(graph, "ReduceMean", graph.node("Mul", [centred, centred], hint), _axes(node),
                  _keep(node), hint)


@lowers(ops.Var, ops.Std)
def variance(graph, node, args, kwargs):
    dtype = output_dtype(node)
    result = _moments(graph, node, _x(graph, node, args, dtype), dtype)
    return graph.node("Sqrt", [result], node.layer.name) if isinstance(node.layer, ops.Std) \
        else result


_SIMPLE = {ops.Prod: "ReduceProd", ops.Amax: "ReduceMax", ops.Amin: "ReduceMin",
           ops.Logsumexp: "ReduceLogSumExp"}


@lowers(*_SIMPLE)
def simple(graph, node, args, kwargs):
    dtype = output_dtype(node)
    work = np.dtype(np.int32) if dtype == np.bool_ else dtype
    x = _x(graph, node, args, work)
    reduced = reduce(graph, _SIMPLE[type(node.layer)], x, _axes(node), _keep(node),
                     node.layer.name)
    return cast_to(graph, reduced, work, dtype, node.layer.name)


@lowers(ops.Ptp)
def ptp(graph, node, args, kwargs):
    dtype, hint = output_dtype(node), node.layer.name
    x = _x(graph, node, args, dtype)
    return graph.node("Sub", [reduce(graph, "ReduceMax", x, _axes(node), _keep(node), hint),
                              reduce(graph, "ReduceMin", x, _axes(node), _keep(node), hint)],
                      hint)


@lowers(ops.Argmax, ops.Argmin)
def arg_extreme(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = args[0]
    if input_dtype(node) == np.bool_:
        x = graph.node("Cast", [x], hint, to=TensorProto.INT32)
    op = "ArgMax" if isinstance(layer, ops.Argmax) else "ArgMin"
    rank = len(node.call_args[0].shape)
    if layer.arguments["axis"] is None:
        flat = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint)
        index = graph.node(op, [flat], hint, axis=0, keepdims=0)
        if layer.arguments["keepdims"]:
            index = graph.node("Reshape", [index, graph.ints([1] * rank, f"{hint}/ones")], hint)
    else:
        index = graph.node(op, [x], hint, axis=layer.arguments["axis"] % rank,
                           keepdims=int(layer.arguments["keepdims"]), select_last_index=0)
    return graph.node("Cast", [index], hint, to=TensorProto.INT32)


@lowers(ops.CountNonzero)
def count_nonzero(graph, node, args, kwargs):
    hint, dtype = node.layer.name, input_dtype(node)
    nonzero = graph.node("Not", [graph.node("Equal", [args[0], scalar(graph, 0, dtype, hint)],
                                            hint)], hint)
    as_int = graph.node("Cast", [nonzero], hint, to=TensorProto.INT32)
    return reduce(graph, "ReduceSum", as_int, _axes(node), False, hint)


@lowers(ops.Median)
def median(graph, node, args, kwargs):
    """The mean of the middle one or two of the values sorted by TopK along the one axis."""
    layer, dtype, hint = node.layer, output_dtype(node), node.layer.name
    axes = _axes(node)
    shape = node.call_args[0].shape
    if axes is None or len(axes) != 1:
        refuse(node, "a median over several axes")
    axis = axes[0]
    size = known_size(node, shape[axis], "the median axis")
    x = _x(graph, node, args, dtype)
    ordered, _ = graph.node("TopK", [x, graph.ints([size], f"{hint}/k")], hint, outputs=2,
                            axis=axis, largest=0, sorted=1)
    middle = sorted({(size - 1) // 2, size // 2})
    picked = graph.node("Gather", [ordered, graph.ints(middle, f"{hint}/middle")], hint, axis=axis)
    return reduce(graph, "ReduceMean", picked, [axis], layer.arguments["keepdims"], hint)


@lowers(ops.Cumsum)
def cumsum(graph, node, args, kwargs):
    return _scan(graph, node, args, "CumSum")


def _scan(graph, node, args, op):
    layer, dtype, hint = node.layer, output_dtype(node), node.layer.name
    x = operand(graph, node, 0, args[0], dtype)
    axis = layer.arguments["axis"]
    if axis is None:
        x, axis = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint), 0
    return graph.node(op, [x, graph.constant(np.asarray(axis, np.int64), f"{hint}/axis")], hint)


@lowers(ops.Cumprod)
def cumprod(graph, node, args, kwargs):
    if graph.opset < 26:
        refuse(node, f"ONNX has no cumulative product before opset 26 (CumProd): the export "
                     f"needs opset 26 or newer, exporting to {graph.opset}")
    return _scan(graph, node, args, "CumProd")



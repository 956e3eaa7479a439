"""ONNX lowerings of keras.ops.core's scattering operations (modelio/ops/scatter.py), all as
ScatterND: Scatter adds into zeros (reduction "add", opset 16), ScatterUpdate writes or reduces
("add"/"mul": opset 16, "max"/"min": opset 18), SliceUpdate writes at the grid of positions its
start indices (constants or tensors) and the updates' shape give. Negative indices are made
positive first (ScatterND's own support for them varies by runtime). Repeated indices without a
reduction: ONNX leaves the outcome open; onnxruntime writes in order, the last update winning,
as numpy and Keras's torch backend do (tests/ops/test_ops_math_core.py checks it)."""

import numpy as np
from onnx import numpy_helper

from .. import ops
from ..graph.tensor import SymbolicTensor
from .export_support import cast_to, need_opset
from .op_support import operand, output_dtype, refuse
from .registry import lowers

_OPSET = {"add": 16, "mul": 16, "max": 18, "min": 18}


def _positive(graph, indices, sizes, hint):
    """`indices` (..., k) int64 with negative entries counted from the end of `sizes` (k,)."""
    negative = graph.node("Less", [indices, graph.ints(0, f"{hint}/zero")], hint)
    return graph.node("Where", [negative, graph.node("Add", [indices, sizes], hint), indices],
                      hint)


def _index_length(node, index: int) -> int:
    argument = node.call_args[index]
    length = (argument.shape if isinstance(argument, SymbolicTensor) else np.shape(argument))[-1]
    if length is None:
        refuse(node, "index tuples of unknown length")
    return int(length)


@lowers(ops.Scatter)
def scatter(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    need_opset(graph, layer, 16, "ScatterND with reduction 'add'")
    shape, dtype = list(layer.arguments["shape"]), output_dtype(node)
    length = _index_length(node, 0)
    indices = graph.node("Reshape", [operand(graph, node, 0, args[0], np.int64),
                                     graph.ints([-1, length], f"{hint}/tuples")], hint)
    indices = _positive(graph, indices, graph.ints(shape[:length], f"{hint}/sizes"), hint)
    values = graph.node("Reshape", [operand(graph, node, 1, args[1], dtype),
                                    graph.ints([-1, *shape[length:]], f"{hint}/values")], hint)
    zeros = graph.node("ConstantOfShape", [graph.ints(shape, f"{hint}/shape")], hint,
                       value=numpy_helper.from_array(np.zeros(1, dtype=dtype), "value"))
    return graph.node("ScatterND", [zeros, indices, values], hint, reduction="add")


@lowers(ops.ScatterUpdate)
def scatter_update(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    reduction = layer.arguments["reduction"]
    if reduction is not None:
        need_opset(graph, layer, _OPSET[reduction], f"ScatterND with reduction '{reduction}'")
    dtype = output_dtype(node)
    length = _index_length(node, 1)
    inputs = args[0]
    shape = graph.node("Shape", [inputs], hint)
    indices = operand(graph, node, 1, args[1], np.int64)
    sizes = graph.node("Slice", [shape, graph.ints([0], f"{hint}/start"),
                                 graph.ints([length], f"{hint}/end")], hint)
    indices = _positive(graph, indices, sizes, hint)
    target = graph.node("Concat", [graph.node("Shape", [indices], hint, start=0, end=1),
                                   graph.node("Shape", [inputs], hint, start=length)], hint,
                        axis=0)
    updates = graph.node("Expand", [operand(graph, node, 2, args[2], dtype), target], hint)
    attributes = {} if reduction is None else {"reduction": reduction}
    return graph.node("ScatterND", [inputs, indices, updates], hint, **attributes)


def _starts(graph, node, value, rank: int, hint: str) -> list[str]:
    """One int64 scalar ONNX name per start index (list items or a vector's entries)."""
    symbolic = node.call_args[1]
    if isinstance(symbolic, (list, tuple)):
        return [cast_to(graph, item, sym.dtype, np.int64, hint)
                if isinstance(sym, SymbolicTensor) else graph.ints(int(sym), f"{hint}/start")
                for item, sym in zip(value, symbolic)]
    vector = operand(graph, node, 1, value, np.int64)
    return [graph.node("Gather", [vector, graph.ints(axis, f"{hint}/axis")], hint, axis=0)
            for axis in range(rank)]


@lowers(ops.SliceUpdate)
def slice_update(graph, node, args, kwargs):
    """ScatterND of the updates at positions start[d] + arange(updates.shape[d]) along each
    axis d, built at run time (the updates' batch size is known only then)."""
    hint, dtype = node.layer.name, output_dtype(node)
    rank = len(node.call_args[0].shape)
    starts = _starts(graph, node, args[1], rank, hint)
    updates = operand(graph, node, 2, args[2], dtype)
    shape = graph.node("Shape", [updates], hint)
    one, zero = graph.ints(1, f"{hint}/one"), graph.ints(0, f"{hint}/zero")
    grids = []
    for axis, start in enumerate(starts):
        size = graph.node("Gather", [shape, graph.ints(axis, f"{hint}/axis")], hint, axis=0)
        positions = graph.node("Add", [graph.node("Range", [zero, size, one], hint), start],
                               hint)
        layout = [1] * rank
        layout[axis] = -1
        positions = graph.node("Reshape", [positions, graph.ints(layout, f"{hint}/layout")],
                               hint)
        grids.append(graph.node("Unsqueeze", [graph.node("Expand", [positions, shape], hint),
                                              graph.ints([-1], f"{hint}/last")], hint))
    indices = graph.node("Concat", grids, hint, axis=-1)
    return graph.node("ScatterND", [args[0], indices, updates], hint)

"""ONNX lowerings of keras.ops' sorting operations (modelio/ops/numpy/sorting.py): Sort and
Argsort as a full TopK (ascending), TopK as TopK with int32 indices."""

import math

from onnx import TensorProto

from ... import ops
from ..op_support import known_size
from ..registry import lowers


def _sorted(graph, node, args, largest: int):
    layer, hint = node.layer, node.layer.name
    shape = tuple(node.call_args[0].shape)
    x = args[0]
    axis = layer.arguments.get("axis", -1)
    if axis is None:
        size = known_size(node, None if None in shape else int(math.prod(shape)),
                          "sorting")
        x, axis = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint), 0
    else:
        axis %= len(shape)
        size = known_size(node, shape[axis], "sorting")
    k = layer.arguments.get("k", size)
    return graph.node("TopK", [x, graph.ints([k], f"{hint}/k")], hint, outputs=2, axis=axis,
                      largest=largest, sorted=1)


@lowers(ops.Sort)
def sort(graph, node, args, kwargs):
    return _sorted(graph, node, args, 0)[0]


@lowers(ops.Argsort)
def argsort(graph, node, args, kwargs):
    indices = _sorted(graph, node, args, 0)[1]
    return graph.node("Cast", [indices], node.layer.name, to=TensorProto.INT32)


@lowers(ops.TopK)
def top_k(graph, node, args, kwargs):
    values, indices = _sorted(graph, node, args, 1)
    return [values, graph.node("Cast", [indices], node.layer.name, to=TensorProto.INT32)]

"""ONNX lowerings of keras.ops.linalg's operations (modelio/ops/linalg.py): Det as ONNX Det,
Norm as reductions; the inverses, solvers and factorizations are refused (ONNX has none)."""

import numpy as np

from .. import ops
from .export_support import reduce
from .op_support import operand, output_dtype, refuse
from .registry import lowers


@lowers(ops.Det)
def det(graph, node, args, kwargs):
    return graph.node("Det", [operand(graph, node, 0, args[0], output_dtype(node))],
                      node.layer.name)


@lowers(ops.Inv, ops.CholeskyInverse)
def inv(graph, node, args, kwargs):
    refuse(node, "ONNX has no matrix inverse")


@lowers(ops.Solve, ops.SolveTriangular, ops.Cholesky, ops.Pinv, ops.MatrixRank, ops.Logdet,
        ops.Slogdet)
def factorization(graph, node, args, kwargs):
    refuse(node, "ONNX has no matrix factorizations or solvers")


@lowers(ops.Norm)
def norm(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    dtype = output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    axes = layer.axes(len(node.call_args[0].shape))
    order, keep = layer.arguments["ord"], layer.arguments["keepdims"]
    if len(axes) == 2 or order in (None, 2, 2.0):
        return reduce(graph, "ReduceL2", x, axes, keep, hint)
    if order == 1:
        return reduce(graph, "ReduceL1", x, axes, keep, hint)
    if order == np.inf:
        return reduce(graph, "ReduceMax", graph.node("Abs", [x], hint), axes, keep, hint)
    if order == -np.inf:
        return reduce(graph, "ReduceMin", graph.node("Abs", [x], hint), axes, keep, hint)
    refuse(node, f"vector norms of order {order}")

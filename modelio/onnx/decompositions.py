"""ONNX lowerings of modelio/ops/decompositions.py. LuFactor unrolls the elimination with
partial pivoting over its min(M, N) columns (static matrix sizes, any batch): per column an
ArgMax picks the pivot row, a GatherElements swaps it in, and masked products update the rest.
A singular matrix gives inf/NaN there (ONNX cannot raise), where modelio and Keras refuse it.
Qr unrolls LAPACK's Householder QR (geqrf's reflectors as dlarfg chooses them, so R's diagonal
signs are LAPACK's) and accumulates Q from them (orgqr). Lstsq and SVD are refused, as
keras.ops.linalg's solvers are (modelio/onnx/linalg.py): the least-squares rank cut-off needs
singular values, and ONNX has no singular value decomposition."""

import numpy as np
from onnx import TensorProto

from .. import ops
from .op_support import known_size, operand, output_dtype, refuse, scalar
from .registry import lowers


@lowers(ops.Lstsq, ops.SVD)
def factorization(graph, node, args, kwargs):
    refuse(node, "ONNX has no matrix factorizations or solvers")


@lowers(ops.LuFactor)
def lu_factor(graph, node, args, kwargs):
    hint, dtype = node.layer.name, output_dtype(node)
    shape = node.call_args[0].shape
    rows = known_size(node, shape[-2], "the matrix rows")
    columns = known_size(node, shape[-1], "the matrix columns")
    work = operand(graph, node, 0, args[0], dtype)
    row_ids = np.arange(rows)
    row_range = graph.ints(row_ids, f"{hint}/rows")
    full_shape = graph.node("Shape", [work], hint)
    pivots = []
    for step in range(min(rows, columns)):
        at = graph.ints(step, f"{hint}/step")
        column = graph.node("Abs", [graph.node("Gather", [work, at], hint, axis=-1)], hint)
        candidates = graph.node("Where", [graph.constant(row_ids < step, f"{hint}/done"),
                                          scalar(graph, -1.0, dtype, hint), column], hint)
        pivot_row = graph.node("ArgMax", [candidates], hint, axis=-1, keepdims=1)
        pivots.append(pivot_row)
        order = graph.node("Where", [
            graph.node("Equal", [row_range, at], hint), pivot_row,
            graph.node("Where", [graph.node("Equal", [row_range, pivot_row], hint), at,
                                 row_range], hint)], hint)
        order = graph.node("Expand", [graph.node("Unsqueeze", [
            order, graph.ints([-1], f"{hint}/last")], hint), full_shape], hint)
        work = graph.node("GatherElements", [work, order], hint, axis=-2)
        pivot_line = graph.node("Gather", [work, at], hint, axis=-2)
        pivot = graph.node("Gather", [pivot_line, graph.ints([step], f"{hint}/at")], hint,
                           axis=-1)
        below = graph.constant(row_ids > step, f"{hint}/below")
        multipliers = graph.node("Where", [below, graph.node("Div", [
            graph.node("Gather", [work, at], hint, axis=-1), pivot], hint),
            scalar(graph, 0.0, dtype, hint)], hint)
        right = graph.node("Where", [graph.constant(np.arange(columns) > step, f"{hint}/right"),
                                     pivot_line, scalar(graph, 0.0, dtype, hint)], hint)
        multipliers = graph.node("Unsqueeze", [multipliers, graph.ints([-1], f"{hint}/last")],
                                 hint)
        work = graph.node("Sub", [work, graph.node("Mul", [multipliers, graph.node(
            "Unsqueeze", [right, graph.ints([-2], f"{hint}/row")], hint)], hint)], hint)
        below_pivot = (row_ids[:, None] > step) & (np.arange(columns)[None, :] == step)
        work = graph.node("Where", [graph.constant(below_pivot, f"{hint}/multipliers"),
                                    multipliers, work], hint)
    pivots = graph.node("Concat", pivots, hint, axis=-1) if len(pivots) > 1 else pivots[0]
    return [graph.node("Identity", [work], hint),
            graph.node("Cast", [pivots], hint, to=TensorProto.INT32)]


def _masked(graph, mask, value, hint, dtype):
    return graph.node("Where", [graph.constant(mask, f"{hint}/mask"), value,
                                scalar(graph, 0.0, dtype, hint)], hint)


@lowers(ops.Qr)
def qr(graph, node, args, kwargs):
    """Per column j: the reflector H = I - tau v v^T with v[j] = 1 that maps the column's
    entries from row j down to (beta, 0, ...), beta = -sign(a_jj) * their norm (tau = 0, H = I,
    when the entries below a_jj are all zero); A <- H A, Q <- Q H."""
    layer, hint, dtype = node.layer, node.layer.name, output_dtype(node)
    shape = node.call_args[0].shape
    rows = known_size(node, shape[-2], "the matrix rows")
    columns = known_size(node, shape[-1], "the matrix columns")
    work = operand(graph, node, 0, args[0], dtype)
    row_ids = np.arange(rows)
    zero, one = scalar(graph, 0.0, dtype, hint), scalar(graph, 1.0, dtype, hint)
    q = graph.constant(np.eye(rows, dtype=dtype), f"{hint}/identity")
    last, row_axis = graph.ints([-1], f"{hint}/last"), graph.ints([-2], f"{hint}/row")
    for step in range(min(rows, columns)):
        at = graph.ints(step, f"{hint}/step")
        column = graph.node("Gather", [work, at], hint, axis=-1)
        alpha = graph.node("Gather", [column, graph.ints([step], f"{hint}/at")], hint, axis=-1)
        below = _masked(graph, row_ids > step, column, hint, dtype)
        rest = graph.node("Sqrt", [graph.node("ReduceSum", [graph.node("Mul", [below, below],
                                                                        hint), last], hint,
                                              keepdims=1)], hint)
        norm = graph.node("Sqrt", [graph.node("Add", [graph.node("Mul", [alpha, alpha], hint),
                                                      graph.node("Mul", [rest, rest], hint)],
                                              hint)], hint)
        negative = graph.node("Less", [alpha, zero], hint)
        beta = graph.node("Where", [negative, norm, graph.node("Neg", [norm], hint)], hint)
        flat = graph.node("Equal", [rest, zero], hint)
        tau = graph.node("Where", [flat, zero, graph.node("Div", [
            graph.node("Sub", [beta, alpha], hint), beta], hint)], hint)
        scale = graph.node("Where", [flat, one, graph.node("Sub", [alpha, beta], hint)], hint)
        v = graph.node("Add", [graph.node("Div", [below, scale], hint), graph.constant(
            (row_ids == step).astype(dtype), f"{hint}/unit")], hint)
        tau_v = graph.node("Mul", [tau, v], hint)
        # A <- A - (tau v) (v^T A);  Q <- Q - (Q v) (tau v)^T
        v_a = graph.node("MatMul", [graph.node("Unsqueeze", [v, row_axis], hint), work], hint)
        work = graph.node("Sub", [work, graph.node("Mul", [graph.node(
            "Unsqueeze", [tau_v, last], hint), v_a], hint)], hint)
        q_v = graph.node("MatMul", [q, graph.node("Unsqueeze", [v, last], hint)], hint)
        q = graph.node("Sub", [q, graph.node("Mul", [q_v, graph.node(
            "Unsqueeze", [tau_v, row_axis], hint)], hint)], hint)
    inner = min(rows, columns) if layer.arguments["mode"] == "reduced" else rows
    upper = np.triu(np.ones((rows, columns), dtype=bool))
    r = _masked(graph, upper, work, hint, dtype)
    if inner < rows:
        q = graph.node("Slice", [q, graph.ints([0], f"{hint}/start"),
                                 graph.ints([inner], f"{hint}/end"), last], hint)
        r = graph.node("Slice", [r, graph.ints([0], f"{hint}/start"),
                                 graph.ints([inner], f"{hint}/end"), row_axis], hint)
    return [graph.node("Identity", [q], hint), graph.node("Identity", [r], hint)]

"""ONNX lowerings of keras.ops.numpy's linear algebra (modelio/ops/numpy/linear.py): Matmul,
Einsum, Dot, Tensordot and Outer, and the OnnxMatMul / OnnxGemm twins. (ONNX's MatMul and Gemm
import in core.py, as Dense where they can.)"""

import string

import numpy as np

from ... import ops
from ..export_support import lowers_as, need_opset
from ..op_support import operand, output_dtype, refuse
from ..registry import lowers

lowers_as(ops.OnnxMatMul, "MatMul")
lowers_as(ops.OnnxGemm, "Gemm", alpha="alpha", beta="beta", transA="trans_a", transB="trans_b")


def _operands(graph, node, args):
    dtype = output_dtype(node)
    if dtype.kind not in "fi":
        refuse(node, f"{dtype} operands")
    return [operand(graph, node, index, value, dtype) for index, value in enumerate(args)]


@lowers(ops.Matmul)
def matmul(graph, node, args, kwargs):
    return graph.node("MatMul", _operands(graph, node, args), node.layer.name)


def _einsum(graph, node, args, equation):
    need_opset(graph, node.layer, 12, "Einsum")
    return graph.node("Einsum", _operands(graph, node, args), node.layer.name,
                      equation=equation)


@lowers(ops.Einsum)
def einsum(graph, node, args, kwargs):
    parts, output = ops.einsum_parts(node.layer, node.layer.arguments["subscripts"], len(args))
    return _einsum(graph, node, args, f"{','.join(parts)}->{output}")


def _rank(node, index):
    value = node.call_args[index]
    return len(getattr(value, "shape", np.shape(value)))


@lowers(ops.Dot)
def dot(graph, node, args, kwargs):
    a, b = _rank(node, 0), _rank(node, 1)
    if a == 0 or b == 0:
        return graph.node("Mul", _operands(graph, node, args), node.layer.name)
    letters = string.ascii_lowercase
    first = letters[:a]
    second = letters[a:a + b - 1]
    inner = first[-1]
    second = second + inner if b == 1 else second[:-1] + inner + second[-1]
    output = first[:-1] + (second[:-2] + second[-1] if b > 1 else "")
    return _einsum(graph, node, args, f"{first},{second}->{output}")


@lowers(ops.Tensordot)
def tensordot(graph, node, args, kwargs):
    a, b = _rank(node, 0), _rank(node, 1)
    summed_a, summed_b = ops.tensordot_axes(node.layer, node.layer.arguments["axes"], a, b)
    letters = iter(string.ascii_lowercase)
    first = [next(letters) for _ in range(a)]
    second = [next(letters) for _ in range(b)]
    for axis_a, axis_b in zip(summed_a, summed_b):
        second[axis_b] = first[axis_a]
    output = [letter for axis, letter in enumerate(first) if axis not in summed_a] + \
        [letter for axis, letter in enumerate(second) if axis not in summed_b]
    return _einsum(graph, node, args, f"{''.join(first)},{''.join(second)}->{''.join(output)}")


@lowers(ops.Outer)
def outer(graph, node, args, kwargs):
    hint = node.layer.name
    a, b = _operands(graph, node, args)
    column = graph.node("Reshape", [a, graph.ints([-1, 1], f"{hint}/column")], hint)
    row = graph.node("Reshape", [b, graph.ints([1, -1], f"{hint}/row")], hint)
    return graph.node("Mul", [column, row], hint)

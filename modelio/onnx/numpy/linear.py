"""ONNX lowerings of keras.ops.numpy's linear algebra twins (modelio/ops/numpy/linear.py):
OnnxMatMul and OnnxGemm. (ONNX's MatMul and Gemm import in core.py, as Dense where they can.)"""

from ... import ops
from ..export_support import onnx_layer_operands
from ..registry import lowers


@lowers(ops.OnnxMatMul)
def onnx_matmul(graph, node, args, kwargs):
    return graph.node("MatMul", onnx_layer_operands(graph, node, args), node.layer.name)


@lowers(ops.OnnxGemm)
def onnx_gemm(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("Gemm", onnx_layer_operands(graph, node, args), layer.name, alpha=layer.alpha,
                      beta=layer.beta, transA=layer.trans_a, transB=layer.trans_b)

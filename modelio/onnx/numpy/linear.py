"""ONNX lowerings of keras.ops.numpy's linear algebra twins (modelio/ops/numpy/linear.py):
OnnxMatMul and OnnxGemm. (ONNX's MatMul and Gemm import in core.py, as Dense where they can.)"""

from ... import ops
from ..export_support import lowers_as

lowers_as(ops.OnnxMatMul, "MatMul")
lowers_as(ops.OnnxGemm, "Gemm", alpha="alpha", beta="beta", transA="trans_a", transB="trans_b")

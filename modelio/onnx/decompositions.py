"""ONNX lowerings of modelio/ops/decompositions.py: refused, as for keras.ops.linalg's solvers
(modelio/onnx/linalg.py) — ONNX has no least-squares solver, no matrix factorization and no
singular value decomposition."""

from .. import ops
from .op_support import refuse
from .registry import lowers


@lowers(ops.Lstsq, ops.LuFactor, ops.Qr, ops.SVD)
def factorization(graph, node, args, kwargs):
    refuse(node, "ONNX has no matrix factorizations or solvers")

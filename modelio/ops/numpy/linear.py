"""Matrix products: the ONNX twins of `keras.ops.numpy.matmul` (ONNX MatMul) and of ONNX Gemm
(`alpha * A @ B + beta * C`, optionally transposed).
"""

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.operation import broadcast_shapes
from ..onnx_layer import (
    OnnxLayer,
)

__all__ = [
    "OnnxGemm", "OnnxMatMul",
]


def _matmul_shape(a, b, where):
    if len(a) == 0 or len(b) == 0:
        raise ConfigError(f"{where}MatMul needs operands of rank >= 1, got {a} and {b}")
    a2 = (1, *a) if len(a) == 1 else tuple(a)
    b2 = (*b, 1) if len(b) == 1 else tuple(b)
    if None not in (a2[-1], b2[-2]) and a2[-1] != b2[-2]:
        raise ConfigError(f"{where}MatMul of shapes {a} and {b}: inner dimensions differ")
    batch = broadcast_shapes(a2[:-2], b2[:-2], where=where)
    shape = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(b) == 1:
        shape = shape[:-1]
    return shape


@register_layer()
class OnnxMatMul(OnnxLayer):
    """ONNX MatMul (numpy matmul) of two operands, one of which may be a constant."""

    def compute_output_shape(self, input_shape):
        a, b = self.operand_shapes(input_shape)
        return _matmul_shape(a, b, f"layer '{self.name}': ")

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        return np.matmul(operands[0], operands[1])


@register_layer()
class OnnxGemm(OnnxLayer):
    """ONNX Gemm: `alpha * A' @ B' + beta * C` with A' = A.T when `trans_a`, B' likewise."""

    def __init__(self, alpha=1.0, beta=1.0, trans_a=0, trans_b=0, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        self.alpha, self.beta = float(alpha), float(beta)
        self.trans_a, self.trans_b = int(trans_a), int(trans_b)

    def compute_output_shape(self, input_shape):
        shapes = self.operand_shapes(input_shape)
        a, b = shapes[0], shapes[1]
        if len(a) != 2 or len(b) != 2:
            raise ConfigError(f"layer '{self.name}' (OnnxGemm): A and B must be 2-D, got {a}, {b}")
        rows = a[1] if self.trans_a else a[0]
        columns = b[0] if self.trans_b else b[1]
        return (rows, columns)

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        a, b = operands[0], operands[1]
        a = a.T if self.trans_a else a
        b = b.T if self.trans_b else b
        result = np.asarray(self.alpha, a.dtype) * (a @ b)
        if len(operands) > 2 and operands[2] is not None and self.beta != 0:
            result = result + np.asarray(self.beta, a.dtype) * operands[2]
        return result.astype(a.dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "trans_a": self.trans_a, "trans_b": self.trans_b}

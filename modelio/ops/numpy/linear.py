"""Matrix products: `keras.ops.numpy`'s `Matmul`, `Einsum`, `Dot`, `Tensordot` and `Outer`,
and the ONNX twins of `keras.ops.numpy.matmul` (ONNX MatMul) and of ONNX Gemm
(`alpha * A @ B + beta * C`, optionally transposed).
"""

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import REQUIRED, KerasOp, spec_of
from ..onnx_layer import (
    OnnxLayer,
)

__all__ = [
    "Dot", "Einsum", "Matmul", "OnnxGemm", "OnnxMatMul", "Outer", "Tensordot",
    "einsum_parts", "tensordot_axes",
]


def _product_dtype(x1, x2) -> str:
    return np.result_type(np.dtype(spec_of(x1)[1]), np.dtype(spec_of(x2)[1])).name


@register_operation
class Matmul(KerasOp):
    """numpy's matmul of two tensors (batch axes broadcast)."""

    def call(self, x1, x2):
        return np.matmul(x1, x2).astype(_product_dtype(x1, x2), copy=False)

    def output_spec(self, x1, x2):
        return _matmul_shape(spec_of(x1)[0], spec_of(x2)[0], f"{self.label}: "), \
            _product_dtype(x1, x2)


@register_operation
class Dot(KerasOp):
    """numpy's dot: sum over the last axis of x1 and the second-to-last of x2 (the last, for
    a vector)."""

    def call(self, x1, x2):
        return np.asarray(np.dot(x1, x2)).astype(_product_dtype(x1, x2), copy=False)

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        if not a or not b:
            return broadcast_shapes(a, b), _product_dtype(x1, x2)
        inner = -1 if len(b) == 1 else -2
        if None not in (a[-1], b[inner]) and a[-1] != b[inner]:
            self.fail(f"shapes {a} and {b}: the summed axes differ")
        rest = tuple(b[:inner]) + (tuple(b[inner + 1:]) if len(b) > 1 else ())
        return tuple(a[:-1]) + rest, _product_dtype(x1, x2)


def einsum_parts(op, subscripts: str, count: int):
    """(operand subscripts, output subscripts) of an einsum equation without `...`."""
    if not isinstance(subscripts, str) or "." in subscripts:
        op.fail(f"subscripts must be an equation without '...', got {subscripts!r}")
    spec = subscripts.replace(" ", "")
    inputs, _, output = spec.partition("->")
    parts = inputs.split(",")
    if len(parts) != count or not all(part.isalpha() for part in parts):
        op.fail(f"subscripts {subscripts!r} do not fit {count} operands")
    if "->" not in spec:
        letters = "".join(parts)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if not (output.isalpha() or output == "") or len(set(output)) != len(output) or \
            not set(output) <= set("".join(parts)):
        op.fail(f"bad output subscripts in {subscripts!r}")
    return parts, output


@register_operation
class Einsum(KerasOp):
    """numpy's einsum of the operands by `subscripts` (no `...`)."""

    ARGUMENTS = {"subscripts": REQUIRED}

    def check(self):
        if not isinstance(self.arguments["subscripts"], str):
            self.fail(f"subscripts must be a string, got {self.arguments['subscripts']!r}")

    def call(self, *operands):
        einsum_parts(self, self.arguments["subscripts"], len(operands))
        dtype = np.result_type(*[x.dtype for x in operands]).name
        return np.asarray(np.einsum(self.arguments["subscripts"], *operands)).astype(dtype)

    def output_spec(self, *operands):
        parts, output = einsum_parts(self, self.arguments["subscripts"], len(operands))
        sizes = {}
        for part, operand in zip(parts, operands):
            shape = spec_of(operand)[0]
            if len(part) != len(shape):
                self.fail(f"subscripts {part!r} do not fit an operand of shape {shape}")
            for letter, dim in zip(part, shape):
                if dim is not None and sizes.get(letter) not in (None, 1, dim) and dim != 1:
                    self.fail(f"label {letter!r} has sizes {sizes[letter]} and {dim}")
                if dim is not None and (sizes.get(letter) in (None, 1)):
                    sizes[letter] = dim
                else:
                    sizes.setdefault(letter, None)
        dtype = np.result_type(*[np.dtype(spec_of(x)[1]) for x in operands]).name
        return tuple(sizes.get(letter) for letter in output), dtype


def tensordot_axes(op, axes, rank1: int, rank2: int):
    """(summed axes of x1, summed axes of x2) of numpy's tensordot `axes`, from 0."""
    if isinstance(axes, int) and not isinstance(axes, bool):
        return list(range(rank1 - axes, rank1)), list(range(axes))
    if isinstance(axes, list) and len(axes) == 2:
        first, second = ([item] if isinstance(item, int) else list(item) for item in axes)
        if len(first) == len(second):
            return [a % rank1 for a in first], [b % rank2 for b in second]
    op.fail(f"axes must be a count or two lists of axes, got {axes!r}")


@register_operation
class Tensordot(KerasOp):
    """numpy's tensordot of x1 and x2 over `axes`."""

    ARGUMENTS = {"axes": 2}

    def call(self, x1, x2):
        first, second = tensordot_axes(self, self.arguments["axes"], x1.ndim, x2.ndim)
        return np.tensordot(x1, x2, axes=(first, second)).astype(_product_dtype(x1, x2))

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        first, second = tensordot_axes(self, self.arguments["axes"], len(a), len(b))
        shape = tuple(d for i, d in enumerate(a) if i not in first) + \
            tuple(d for i, d in enumerate(b) if i not in second)
        return shape, _product_dtype(x1, x2)


@register_operation
class Outer(KerasOp):
    """The outer product of the flattened x1 and x2."""

    def call(self, x1, x2):
        return np.outer(x1, x2).astype(_product_dtype(x1, x2))

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        size = [None if None in shape else int(np.prod(shape)) for shape in (a, b)]
        return tuple(size), _product_dtype(x1, x2)


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

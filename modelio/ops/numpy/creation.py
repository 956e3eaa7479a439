"""Operations that make new tensors, as `keras.ops.numpy` has them (`zeros_like`, `ones_like`), and
the ONNX twins of `arange` (ONNX Range) and `full` (ONNX ConstantOfShape), whose sizes are known
only at run time.
"""

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.dtypes import standardize_dtype
from ...graph.operation import Operation, spec_of
from ...graph.registry import register_operation
from ...kernels.ranges import range_length, range_values
from ..onnx_layer import OnnxLayer

__all__ = [
    "OnesLike", "OnnxConstantOfShape", "OnnxRange", "ZerosLike", "ones_like", "zeros_like",
]


class _Like(Operation):
    fill = 0

    def __init__(self, dtype=None, name=None):
        super().__init__(name=name)
        self.target_dtype = None if dtype is None else standardize_dtype(dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.target_dtype}

    def call(self, x):
        return np.full(x.shape, type(self).fill, dtype=self.target_dtype or x.dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return shape, self.target_dtype or dtype


@register_operation
class ZerosLike(_Like):
    """Zeros of the input's shape (and `dtype`, or the input's)."""

    fill = 0


@register_operation
class OnesLike(_Like):
    """Ones of the input's shape (and `dtype`, or the input's)."""

    fill = 1


def zeros_like(x, dtype=None):
    """Zeros of `x`'s shape, in `dtype` or `x`'s (a ZerosLike node on symbolic tensors)."""
    return ZerosLike(dtype=dtype)(x)


def ones_like(x, dtype=None):
    """Ones of `x`'s shape, in `dtype` or `x`'s (a OnesLike node on symbolic tensors)."""
    return OnesLike(dtype=dtype)(x)


@register_layer()
class OnnxRange(OnnxLayer):
    """ONNX Range of run-time scalars start, limit and delta."""

    def compute_output_shape(self, input_shape):
        return (None,)

    def compute(self, operands):
        start, limit, delta = (np.asarray(value).reshape(()) for value in operands)
        if delta == 0:
            raise ConfigError(f"layer '{self.name}' (OnnxRange): delta is 0")
        self.check_result_size([range_length(start, limit, delta)],
                               np.result_type(start, limit, delta))
        return range_values(start, limit, delta)

    def output_dtype(self, dtypes):
        return np.result_type(*dtypes).name


@register_layer()
class OnnxConstantOfShape(OnnxLayer):
    """ONNX ConstantOfShape: a tensor of the shape given by the input vector, filled with `value`
    (a number) in `to` (a numpy dtype name)."""

    def __init__(self, value=0.0, to="float32", **kwargs):
        super().__init__(**kwargs)
        self.value = value
        self.to = np.dtype(to).name

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1 or input_shape[0] is None:
            raise ConfigError(f"layer '{self.name}': the shape input must be a vector of known "
                              f"length, got {input_shape}")
        return (None,) * input_shape[0]

    def compute(self, operands):
        shape = [int(dim) for dim in np.asarray(operands[0]).reshape(-1)]
        self.check_result_size(shape, self.to)
        return np.full(shape, self.value, dtype=self.to)

    def output_dtype(self, dtypes):
        return self.to

    def get_config(self) -> dict:
        return {**super().get_config(), "value": self.value, "to": self.to}

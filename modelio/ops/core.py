"""Core operations, as `keras.ops.core` has them: `cast`, and the ONNX twins of `cast` (ONNX Cast)
and `shape` (ONNX Shape, the shape as a run-time int64 tensor).
"""

import numpy as np

from ..errors import ConfigError
from ..graph import register_layer
from ..graph.dtypes import standardize_dtype
from ..graph.operation import Operation, spec_of
from ..graph.registry import register_operation
from .onnx_layer import (
    OnnxLayer,
)

__all__ = [
    "Cast", "OnnxCast", "OnnxShape", "cast",
]


@register_operation
class Cast(Operation):
    """Converts to `dtype`."""

    _keras_module = "keras.src.ops.core"

    def __init__(self, dtype, name=None):
        super().__init__(name=name)
        self.target_dtype = standardize_dtype(dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.target_dtype}

    def call(self, x):
        return x.astype(self.target_dtype)

    def output_spec(self, x):
        return spec_of(x)[0], self.target_dtype


def cast(x, dtype):
    """`x` converted to `dtype` (a Cast node on symbolic tensors)."""
    return Cast(dtype=dtype)(x)


@register_layer()
class OnnxCast(OnnxLayer):
    """ONNX Cast: the input converted to `dtype` (a numpy dtype name)."""

    def __init__(self, to, **kwargs):
        super().__init__(**kwargs)
        try:
            self.to = np.dtype(to).name
        except TypeError as exc:
            raise ConfigError(f"layer '{self.name}' (OnnxCast): unknown dtype {to!r}") from exc

    def compute(self, operands):
        with np.errstate(all="ignore"):
            return np.asarray(operands[0]).astype(self.to)

    def output_dtype(self, dtypes):
        return self.to

    def get_config(self) -> dict:
        return {**super().get_config(), "to": self.to}


@register_layer()
class OnnxShape(OnnxLayer):
    """ONNX Shape: the input's shape (dims `start` to `end`) as an int64 vector, at run time."""

    def __init__(self, start=0, end=None, **kwargs):
        super().__init__(**kwargs)
        self.start = int(start)
        self.end = None if end is None else int(end)

    def compute_output_shape(self, input_shape):
        return (len(range(len(input_shape))[self.start:self.end]),)

    def compute(self, operands):
        return np.asarray(operands[0].shape[self.start:self.end], dtype=np.int64)

    def output_dtype(self, dtypes):
        return "int64"

    def get_config(self) -> dict:
        return {**super().get_config(), "start": self.start, "end": self.end}

"""OnnxOp: one ONNX op whose exact semantics no Keras layer or composition of Keras operations
has (the list is onnx_kernels.KERNELS), computed by a numpy kernel and exported back as the
same ONNX node. `attributes` holds the node's ONNX attributes (JSON values), plus a few keys
the importer derives (`INTERNAL_ATTRIBUTES`: not written back as ONNX attributes)."""

import numpy as np

from ..errors import ConfigError
from ..graph import register_layer
from .onnx_kernels import KERNELS
from .onnx_layer import OnnxLayer

__all__ = ["OnnxOp"]

# derived by the importer: Hardmax before opset 13 (2-D coercion), EyeLike's numpy dtype,
# OneHot's constant depth (for the output shape)
INTERNAL_ATTRIBUTES = ("coerced", "dtype_name", "depth")


def _json_value(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, (int, float, str))
                                                 and not isinstance(item, bool) for item in value):
        return list(value)
    raise TypeError(f"{value!r} is not a number, a string or a list of them")


@register_layer()
class OnnxOp(OnnxLayer):
    """The ONNX op `op` (a key of onnx_kernels.KERNELS) with its `attributes`."""

    def __init__(self, op, attributes=None, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        if op not in KERNELS:
            raise ConfigError(f"layer '{self.name}' (OnnxOp): unknown op {op!r}; expected one of "
                              f"{', '.join(sorted(KERNELS))}")
        if not isinstance(attributes or {}, dict):
            raise ConfigError(f"layer '{self.name}' (OnnxOp): attributes must be a dict")
        try:
            self.attributes = {str(key): _json_value(value)
                               for key, value in (attributes or {}).items()}
        except TypeError as exc:
            raise ConfigError(f"layer '{self.name}' (OnnxOp {op}): bad attribute: {exc}") from exc
        self.op = op

    def compute_output_shape(self, input_shape):
        shapes = self.operand_shapes(input_shape)
        try:
            return tuple(KERNELS[self.op][1](shapes, self.attributes))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"layer '{self.name}' (OnnxOp {self.op}): operands of shapes "
                              f"{shapes}: {exc}") from exc

    def output_dtype(self, dtypes):
        if self.op == "OneHot":
            return np.dtype(dtypes[2]).name
        if self.op == "EyeLike" and self.attributes.get("dtype_name"):
            return np.dtype(self.attributes["dtype_name"]).name
        return np.dtype(dtypes[0]).name

    def compute(self, operands):
        with np.errstate(all="ignore"):
            result = KERNELS[self.op][0]([np.asarray(operand) for operand in operands],
                                         self.attributes)
        return np.asarray(result, dtype=self.output_dtype([np.asarray(item).dtype
                                                           for item in operands]))

    def onnx_attributes(self) -> dict:
        """The attributes written on the exported ONNX node."""
        return {key: value for key, value in self.attributes.items()
                if key not in INTERNAL_ATTRIBUTES}

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "attributes": dict(self.attributes)}

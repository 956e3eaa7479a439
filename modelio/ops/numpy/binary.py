"""Two-operand elementwise operations of `keras.ops.numpy` beyond elementwise.py's (division,
power, modulo, arctan2, hypot, logaddexp, heaviside, fmax/fmin, logical xor), and `where` and
`clip`, table-driven: each its own registered class named as Keras serializes it, config `name`
only (`Clip`: `x_min`, `x_max`). Operands broadcast as numpy does; a Python number next to a
tensor takes the tensor's dtype (Keras's weak typing)."""

import numpy as np

from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import KerasOp, float_dtype, spec_of

__all__ = ["BINARY_OPERATIONS", "Clip", "Where", "result_dtype"]


def result_dtype(*operands) -> str:
    """The dtype Keras gives an elementwise result of `operands` (tensors, arrays, Python
    numbers): tensors' dtypes promote (integers next to floats take the float dtype), Python
    numbers are weak (a float next to integer tensors gives float32)."""
    tensors = [np.dtype(spec_of(item)[1]) for item in operands
               if not isinstance(item, (bool, int, float)) and item is not None]
    scalars = [item for item in operands if isinstance(item, (bool, int, float))]
    if not tensors:
        return np.result_type(*scalars).name
    floats = [dtype for dtype in tensors if dtype.kind == "f"]
    # Keras's lattice: integers next to floats take the float dtype (numpy would widen)
    dtype = np.result_type(*floats) if floats else np.result_type(*tensors)
    if any(isinstance(item, float) for item in scalars) and dtype.kind in "biu":
        return "float32"
    if any(isinstance(item, int) and not isinstance(item, bool) for item in scalars) \
            and dtype.kind == "b":
        return "int32"
    return dtype.name


def _divide_no_nan(x1, x2):
    with np.errstate(all="ignore"):
        return np.where(x2 == 0, 0, np.true_divide(x1, np.where(x2 == 0, 1, x2)))


def _logaddexp(x1, x2):
    return np.logaddexp(x1, x2)


# class name -> (numpy function, result: "same" | "float" | "bool")
_TABLE = {
    "Divide": (np.true_divide, "float"), "TrueDivide": (np.true_divide, "float"),
    "Power": (np.power, "same"), "Mod": (np.mod, "same"),
    "FloorDivide": (np.floor_divide, "same"), "Fmod": (np.fmod, "same"),
    "Arctan2": (np.arctan2, "float"), "Hypot": (np.hypot, "float"),
    "Logaddexp": (_logaddexp, "float"), "Heaviside": (np.heaviside, "same"),
    "DivideNoNan": (_divide_no_nan, "float"), "Fmax": (np.fmax, "same"),
    "Fmin": (np.fmin, "same"), "LogicalXor": (np.logical_xor, "bool"),
}


class _BinaryOp(KerasOp):
    function = None
    result = "same"

    def call(self, x1, x2):
        dtype = self.output_spec(x1, x2)[1]
        with np.errstate(all="ignore"):
            return np.asarray(type(self).function(x1, x2)).astype(dtype, copy=False)

    def output_spec(self, x1, x2):
        shape = broadcast_shapes(spec_of(x1)[0], spec_of(x2)[0], where=f"{self.label}: ")
        if self.result == "bool":
            return shape, "bool"
        dtype = result_dtype(x1, x2)
        return shape, float_dtype(dtype) if self.result == "float" else dtype


def _make(name: str, function, result: str) -> type:
    cls = type(name, (_BinaryOp,), {
        "function": staticmethod(function), "result": result,
        "__doc__": f"`keras.ops.numpy` elementwise `{name}` of two tensors (broadcast).",
        "__module__": __name__})
    return register_operation(cls)


BINARY_OPERATIONS = {name: _make(name, *entry) for name, entry in _TABLE.items()}
globals().update(BINARY_OPERATIONS)
__all__ += list(BINARY_OPERATIONS)


@register_operation
class Where(KerasOp):
    """`x1` where `condition` holds, else `x2` (all three broadcast)."""

    def call(self, condition, x1=None, x2=None):
        if x1 is None or x2 is None:
            self.fail("where with one argument (nonzero indices) is not supported")
        dtype = self.output_spec(condition, x1, x2)[1]
        return np.where(np.asarray(condition).astype(bool), x1, x2).astype(dtype, copy=False)

    def output_spec(self, condition, x1=None, x2=None):
        if x1 is None or x2 is None:
            self.fail("where with one argument (nonzero indices) is not supported")
        shape = broadcast_shapes(spec_of(condition)[0], spec_of(x1)[0], spec_of(x2)[0],
                                 where=f"{self.label}: ")
        return shape, result_dtype(x1, x2)


@register_operation
class Clip(KerasOp):
    """`x` limited to [`x_min`, `x_max`]."""

    ARGUMENTS = {"x_min": None, "x_max": None}

    def check(self):
        self.check_number("x_min", allow_none=True)
        self.check_number("x_max", allow_none=True)

    def call(self, x):
        dtype = self.output_spec(x)[1]
        low, high = self.arguments["x_min"], self.arguments["x_max"]
        if low is not None:
            x = np.maximum(x, np.asarray(low).astype(dtype))
        if high is not None:
            x = np.minimum(x, np.asarray(high).astype(dtype))
        return np.asarray(x).astype(dtype, copy=False)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return shape, "int32" if dtype == "bool" else dtype

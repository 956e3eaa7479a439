"""Elementwise operations, as `keras.ops.numpy` has them: comparisons, logic and arithmetic of
two tensors (numpy broadcasting), and their ONNX twins: `OnnxElementwise` (ONNX's binary and
variadic ops) and `OnnxUnary` (ONNX's one-operand math and activations).

The lower-case functions (`not_equal(x1, x2)`, ...) work on symbolic tensors (adding a node) and
on arrays (computing), as `keras.ops` spells them.
"""

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.operation import Operation, broadcast_shapes, spec_of
from ...graph.registry import register_operation
from ...kernels import activations as kernels
from ..onnx_layer import OnnxLayer

__all__ = [
    "ELEMENTWISE_OPS", "UNARY_OPS", "VARIADIC_OPS", "Add", "Equal", "Greater", "GreaterEqual",
    "Less", "LessEqual", "LogicalAnd", "LogicalNot", "LogicalOr", "Maximum", "Minimum", "Multiply",
    "NotEqual", "OnnxElementwise", "OnnxUnary", "Subtract", "logical_and", "logical_or",
    "not_equal",
]


class _Binary(Operation):
    function = None
    result_is_bool = False

    def _eager_call(self, args: tuple, kwargs: dict):
        # Python numbers stay weakly typed (x + 1.5 keeps x's float32), as in Keras
        return self.call(*(value if isinstance(value, (bool, int, float)) else np.asarray(value)
                           for value in args))

    def call(self, x1, x2):
        return type(self).function(x1, x2)

    def output_spec(self, x1, x2):
        (shape1, dtype1), (shape2, dtype2) = spec_of(x1), spec_of(x2)
        if self.result_is_bool:
            dtype = "bool"
        else:
            scalar = x2 if not hasattr(x2, "shape") else x1 if not hasattr(x1, "shape") else None
            dtype = np.result_type(np.dtype(dtype1) if hasattr(x1, "shape") else scalar,
                                   np.dtype(dtype2) if hasattr(x2, "shape") else scalar).name
        return broadcast_shapes(shape1, shape2), dtype


def _binary(name: str, function, result_is_bool: bool = False) -> type:
    cls = type(name, (_Binary,), {"function": staticmethod(function),
                                  "result_is_bool": result_is_bool,
                                  "__doc__": f"Elementwise `{function.__name__}` of two tensors."})
    return register_operation(cls)


NotEqual = _binary("NotEqual", np.not_equal, True)
Equal = _binary("Equal", np.equal, True)
Greater = _binary("Greater", np.greater, True)
GreaterEqual = _binary("GreaterEqual", np.greater_equal, True)
Less = _binary("Less", np.less, True)
LessEqual = _binary("LessEqual", np.less_equal, True)
LogicalAnd = _binary("LogicalAnd", np.logical_and, True)
LogicalOr = _binary("LogicalOr", np.logical_or, True)
Add = _binary("Add", np.add)
Subtract = _binary("Subtract", np.subtract)
Multiply = _binary("Multiply", np.multiply)
Maximum = _binary("Maximum", np.maximum)
Minimum = _binary("Minimum", np.minimum)


@register_operation
class LogicalNot(Operation):
    """Elementwise logical not."""

    def call(self, x):
        return np.logical_not(x)

    def output_spec(self, x):
        return spec_of(x)[0], "bool"


def not_equal(x1, x2):
    """`x1 != x2` elementwise (a NotEqual node on symbolic tensors)."""
    return NotEqual()(x1, x2)


def logical_or(x1, x2):
    """`x1 or x2` elementwise (a LogicalOr node on symbolic tensors)."""
    return LogicalOr()(x1, x2)


def logical_and(x1, x2):
    """`x1 and x2` elementwise (a LogicalAnd node on symbolic tensors)."""
    return LogicalAnd()(x1, x2)


def _onnx_div(a, b):
    if np.issubdtype(np.result_type(a, b), np.integer):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.trunc(np.true_divide(a, b)).astype(np.result_type(a, b))
    return np.divide(a, b)


def _onnx_pow(a, b):
    a = np.asarray(a)
    with np.errstate(all="ignore"):
        return np.power(a, np.asarray(b).astype(a.dtype) if a.dtype.kind == "f" else b).astype(a.dtype)


def _reduce(function):
    def apply(*operands):
        result = operands[0]
        for operand in operands[1:]:
            result = function(result, operand)
        return result
    return apply


def _mean(*operands):
    return _reduce(np.add)(*operands) / np.asarray(len(operands), dtype=np.result_type(*operands))


def _prelu(x, slope):
    return np.where(x < 0, x * slope, x).astype(x.dtype)


# ONNX op -> numpy function of the operands (numpy broadcasting is ONNX's multidirectional one).
ELEMENTWISE_OPS = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _onnx_div, "Pow": _onnx_pow,
    "Max": _reduce(np.maximum), "Min": _reduce(np.minimum), "Sum": _reduce(np.add), "Mean": _mean,
    "Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
    "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
    "Xor": np.logical_xor, "Where": np.where, "PRelu": _prelu,
}
VARIADIC_OPS = {"Max", "Min", "Sum", "Mean"}


@register_layer()
class OnnxElementwise(OnnxLayer):
    """An ONNX elementwise op over 2 or more operands with numpy broadcasting: `op` is one of
    Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Equal, Less, Greater, LessOrEqual,
    GreaterOrEqual, And, Or, Xor, Where, PRelu."""

    def __init__(self, op, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        if op not in ELEMENTWISE_OPS:
            raise ConfigError(f"layer '{self.name}' (OnnxElementwise): unknown op {op!r}; expected "
                              f"one of {', '.join(ELEMENTWISE_OPS)}")
        self.op = op

    def compute_output_shape(self, input_shape):
        shapes = self.operand_shapes(input_shape)
        return broadcast_shapes(*shapes, where=f"layer '{self.name}' ({self.op}): ")

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(ELEMENTWISE_OPS[self.op](*operands))

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op}


def _hard_sigmoid(x, alpha, beta):
    return np.clip(alpha * x + beta, 0, 1).astype(x.dtype)


def _selu(x, alpha, gamma):
    with np.errstate(over="ignore"):
        return (gamma * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))).astype(x.dtype)


def _elu(x, alpha, _):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def _leaky_relu(x, alpha, _):
    return np.where(x < 0, alpha * x, x).astype(x.dtype)


def _thresholded_relu(x, alpha, _):
    return np.where(x > alpha, x, 0).astype(x.dtype)


def _clip(x, low, high):
    if low is not None:
        x = np.maximum(x, np.asarray(low).astype(x.dtype))
    if high is not None:
        x = np.minimum(x, np.asarray(high).astype(x.dtype))
    return x


def _as_x(function):
    def apply(x, *_):
        return np.asarray(function(x)).astype(np.asarray(x).dtype, copy=False)
    return apply


def _softsign(x):
    return x / (1 + np.abs(x))


def _reciprocal(x):
    with np.errstate(divide="ignore"):
        return 1 / x


# op -> function(x, alpha, beta); alpha/beta are the op's attributes (None when it has none).
UNARY_OPS = {
    "Relu": _as_x(lambda x: np.maximum(x, 0)), "Sigmoid": _as_x(kernels.sigmoid),
    "Tanh": _as_x(np.tanh), "Exp": _as_x(np.exp), "Log": _as_x(np.log), "Sqrt": _as_x(np.sqrt),
    "Abs": _as_x(np.abs), "Neg": _as_x(np.negative), "Reciprocal": _as_x(_reciprocal),
    "Floor": _as_x(np.floor), "Ceil": _as_x(np.ceil), "Sign": _as_x(np.sign),
    "Round": _as_x(np.round), "Erf": _as_x(kernels.erf), "Softplus": _as_x(kernels.softplus),
    "Softsign": _as_x(_softsign), "Sin": _as_x(np.sin), "Cos": _as_x(np.cos),
    "Not": lambda x, *_: np.logical_not(x), "IsNaN": lambda x, *_: np.isnan(x),
    "Gelu": lambda x, approximate, _: kernels.gelu(x, approximate == "tanh").astype(x.dtype),
    "HardSigmoid": _hard_sigmoid, "Selu": _selu, "Elu": _elu, "LeakyRelu": _leaky_relu,
    "ThresholdedRelu": _thresholded_relu, "Clip": _clip,
}


@register_layer()
class OnnxUnary(OnnxLayer):
    """An ONNX one-operand op: `op` with its attributes `alpha` and `beta` (HardSigmoid's alpha
    and beta, Selu's alpha and gamma, Clip's min and max, Gelu's approximate as alpha...)."""

    def __init__(self, op, alpha=None, beta=None, **kwargs):
        super().__init__(**kwargs)
        if op not in UNARY_OPS:
            raise ConfigError(f"layer '{self.name}' (OnnxUnary): unknown op {op!r}")
        for name, value in (("alpha", alpha), ("beta", beta)):
            if value is not None and not isinstance(value, (int, float, str)):
                raise ConfigError(f"layer '{self.name}' (OnnxUnary): {name} must be a number, "
                                  f"got {value!r}")
        self.op, self.alpha, self.beta = op, alpha, beta

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        with np.errstate(all="ignore"):
            return np.asarray(UNARY_OPS[self.op](operands[0], self.alpha, self.beta))

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "alpha": self.alpha, "beta": self.beta}

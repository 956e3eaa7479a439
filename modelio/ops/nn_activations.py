"""`keras.ops.nn`'s elementwise activations and axis functions as Keras 3 graphs record them
(`Relu`, `Gelu`, `Softmax`, `LogSoftmax`, `Glu`, `Normalize`, `OneHot`, ...), each its own
registered class with Keras's config, computed with modelio.kernels.activations."""

import numpy as np

from ..graph.registry import register_operation
from ..kernels import activations as kernels
from .base import REQUIRED, KerasOp, float_dtype, normalize_axis, spec_of

__all__ = ["NN_ACTIVATIONS", "Celu", "Elu", "Gelu", "Glu", "HardShrink", "LeakyRelu",
           "LogSoftmax", "Normalize", "OneHot", "SoftShrink", "Softmax", "Squareplus",
           "Threshold"]


class _Activation(KerasOp):
    _keras_module = "keras.src.ops.nn"
    function = None
    activation = None  # the Keras activation name of the same function, where one exists

    def call(self, x):
        dtype = self.output_spec(x)[1]
        with np.errstate(all="ignore"):
            return np.asarray(self.compute(x.astype(dtype, copy=False))).astype(dtype,
                                                                               copy=False)

    def compute(self, x):
        return type(self).function(x)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return shape, float_dtype(dtype)


# class name -> Keras activation name (modelio.kernels.activations.KERAS3_ACTIVATIONS)
_TABLE = {"Relu": "relu", "Relu6": "relu6", "Sigmoid": "sigmoid", "Softplus": "softplus",
          "Softsign": "softsign", "Silu": "silu", "Selu": "selu", "HardSigmoid": "hard_sigmoid",
          "HardSilu": "hard_silu", "LogSigmoid": "log_sigmoid", "HardTanh": "hard_tanh",
          "TanhShrink": "tanh_shrink", "SparsePlus": "sparse_plus",
          "SparseSigmoid": "sparse_sigmoid"}


def _make(name: str, activation: str) -> type:
    cls = type(name, (_Activation,), {
        "function": staticmethod(kernels.KERAS3_ACTIVATIONS[activation]),
        "activation": activation, "__module__": __name__,
        "__doc__": f"`keras.ops.nn` activation `{activation}`."})
    return register_operation(cls)


NN_ACTIVATIONS = {name: _make(name, activation) for name, activation in _TABLE.items()}
globals().update(NN_ACTIVATIONS)
__all__ += list(NN_ACTIVATIONS)


@register_operation
class Gelu(_Activation):
    """Gaussian error linear unit, tanh-approximated when `approximate`."""

    ARGUMENTS = {"approximate": True}

    def check(self):
        if not isinstance(self.arguments["approximate"], bool):
            self.fail("approximate must be true or false")

    def compute(self, x):
        return kernels.gelu(x, self.arguments["approximate"])


class _Alpha(_Activation):
    ARGUMENTS = {"alpha": 1.0}

    def check(self):
        self.check_number("alpha")


@register_operation
class Elu(_Alpha):
    """`x` for x > 0, `alpha * (exp(x) - 1)` otherwise."""

    def compute(self, x):
        return kernels.elu(x, self.arguments["alpha"])


@register_operation
class Celu(_Alpha):
    """`max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""

    def check(self):
        super().check()
        if self.arguments["alpha"] == 0:
            self.fail("alpha must not be 0")

    def compute(self, x):
        return kernels.celu(x, self.arguments["alpha"])


@register_operation
class LeakyRelu(_Activation):
    """`x` for x >= 0, `negative_slope * x` otherwise."""

    ARGUMENTS = {"negative_slope": 0.2}

    def check(self):
        self.check_number("negative_slope")

    def compute(self, x):
        return kernels.leaky_relu(x, self.arguments["negative_slope"])


@register_operation
class Squareplus(_Activation):
    """`(x + sqrt(x**2 + b)) / 2`."""

    ARGUMENTS = {"b": 4}

    def check(self):
        self.check_number("b")
        if self.arguments["b"] < 0:
            self.fail("b must be >= 0")

    def compute(self, x):
        return kernels.squareplus(x, self.arguments["b"])


class _Shrink(_Activation):
    ARGUMENTS = {"threshold": 0.5}

    def check(self):
        self.check_number("threshold")


@register_operation
class SoftShrink(_Shrink):
    """`x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0."""

    def compute(self, x):
        t = np.asarray(self.arguments["threshold"], x.dtype)
        return np.where(x > t, x - t, np.where(x < -t, x + t, 0))


@register_operation
class HardShrink(_Shrink):
    """`x` where `|x| > threshold`, else 0."""

    def compute(self, x):
        return np.where(np.abs(x) > self.arguments["threshold"], x, 0)


@register_operation
class Threshold(_Activation):
    """`x` where `x > threshold`, else `default_value`."""

    ARGUMENTS = {"threshold": REQUIRED, "default_value": REQUIRED}

    def check(self):
        self.check_number("threshold")
        self.check_number("default_value")

    def compute(self, x):
        return np.where(x > self.arguments["threshold"], x,
                        np.asarray(self.arguments["default_value"], x.dtype))


class _AxisActivation(_Activation):
    ARGUMENTS = {"axis": -1}

    def check(self):
        self.check_int("axis")

    def axis(self, rank):
        return normalize_axis(self, self.arguments["axis"], rank)


@register_operation
class Softmax(_AxisActivation):
    """`exp(x) / sum(exp(x))` along `axis`."""

    def compute(self, x):
        axis = self.axis(x.ndim)
        shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return shifted / np.sum(shifted, axis=axis, keepdims=True)


@register_operation
class LogSoftmax(_AxisActivation):
    """`x - logsumexp(x)` along `axis`."""

    def compute(self, x):
        axis = self.axis(x.ndim)
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@register_operation
class Glu(_AxisActivation):
    """`a * sigmoid(b)` for the two halves `a`, `b` of `axis`."""

    def compute(self, x):
        first, second = np.split(x, 2, axis=self.axis(x.ndim))
        return first * kernels.sigmoid(second)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axis = self.axis(len(shape))
        if shape[axis] is not None and shape[axis] % 2:
            self.fail(f"axis {axis} has an odd size ({shape[axis]})")
        size = None if shape[axis] is None else shape[axis] // 2
        return tuple(shape[:axis]) + (size,) + tuple(shape[axis + 1:]), float_dtype(dtype)


@register_operation
class Normalize(_AxisActivation):
    """`x` divided by its `order`-norm along `axis` (at least `epsilon`, default 1e-7; the
    L2 case as `x * min(rsqrt(sum(x**2)), 1 / epsilon)`)."""

    ARGUMENTS = {"axis": -1, "order": 2, "epsilon": None}

    def check(self):
        super().check()
        self.check_int("order", minimum=1)
        self.check_number("epsilon", allow_none=True)

    @property
    def epsilon(self) -> float:
        return 1e-7 if self.arguments["epsilon"] is None else self.arguments["epsilon"]

    def compute(self, x):
        axis, order = self.axis(x.ndim), self.arguments["order"]
        if order == 2:
            inverse = 1 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
            return x * np.minimum(inverse, np.asarray(1 / self.epsilon, x.dtype))
        norm = np.sum(np.abs(x) ** order, axis=axis, keepdims=True) ** (1 / order)
        return x / np.maximum(norm, np.asarray(self.epsilon, x.dtype))


@register_operation
class OneHot(KerasOp):
    """One-hot vectors of `num_classes` for integer `x`, inserted at `axis` (out-of-range
    values give zeros)."""

    _keras_module = "keras.src.ops.nn"
    ARGUMENTS = {"num_classes": REQUIRED, "axis": -1, "dtype": None, "sparse": False}

    def check(self):
        self.check_int("num_classes", minimum=1)
        self.check_int("axis")
        if self.arguments["sparse"]:
            self.fail("sparse one-hot tensors are not supported")
        dtype = self.arguments["dtype"]
        if dtype is not None:
            try:
                np.dtype(dtype)
            except TypeError:
                self.fail(f"unknown dtype {dtype!r}")

    def call(self, x):
        classes = np.arange(self.arguments["num_classes"])
        hot = np.asarray(x)[..., None] == classes
        axis = normalize_axis(self, self.arguments["axis"], hot.ndim)
        return np.moveaxis(hot, -1, axis).astype(self.output_spec(x)[1])

    def output_spec(self, x):
        shape, _ = spec_of(x)
        axis = normalize_axis(self, self.arguments["axis"], len(shape) + 1)
        shape = list(shape)
        shape.insert(axis, self.arguments["num_classes"])
        return tuple(shape), self.arguments["dtype"] or "float32"

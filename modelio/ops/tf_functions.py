"""tf-keras's `TFOpLambda` and `SlicingOpLambda`, translated into Keras 3 operations.

When a tf.keras functional model calls a TensorFlow function on Keras tensors (`x + 3.0`,
`tf.nn.relu6(x)`, `x[:, 1:]`), tf-keras records a `TFOpLambda` (or, for `__getitem__`, a
`SlicingOpLambda`) layer whose config holds the function's *name*, e.g. `"math.multiply"`, and whose
inbound node holds the first argument and the remaining arguments by keyword. No code travels.

modelio maps a fixed allowlist of those names onto the Keras 3 operations of its ops catalogue:
calling a `TFOpLambda` applies the operations its function stands for and returns their output, so
the rebuilt model holds only Keras 3 operations (and writes back as a file Keras 3 loads). A name
outside the allowlist, or an argument the translation does not know, is refused by name.
"""

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from ..graph.registry import OPERATION_CLASSES
from ..graph.tree import flatten

__all__ = ["SlicingOpLambda", "TFOpLambda", "TF_FUNCTIONS"]


class TFFunction:
    """How one TensorFlow function becomes Keras 3 operations.

    `parameters` are the function's own parameter names, in order (the first is the tensor tf-keras
    passes positionally); `translate(op, arguments)` builds the result from the bound arguments,
    where `op(class_name, *call_args, **constructor_arguments)` applies one Keras 3 operation."""

    def __init__(self, parameters: tuple, translate, defaults: dict | None = None):
        self.parameters = parameters
        self.translate = translate
        self.defaults = defaults or {}


def _binary(class_name: str) -> TFFunction:
    return TFFunction(("x", "y"), lambda op, a: op(class_name, a["x"], a["y"]))


def _unary(class_name: str, parameter: str = "x") -> TFFunction:
    return TFFunction((parameter,), lambda op, a: op(class_name, a[parameter]))


def _reduction(class_name: str) -> TFFunction:
    return TFFunction(
        ("input_tensor", "axis", "keepdims"),
        lambda op, a: op(class_name, a["input_tensor"], axis=_axis(a["axis"]),
                         keepdims=bool(a["keepdims"])),
        {"axis": None, "keepdims": False})


def _axis(axis):
    return list(axis) if isinstance(axis, (list, tuple)) else axis


def _transpose(op, a):
    if a["conjugate"]:
        raise UnsupportedError("tf.transpose with conjugate=True is not supported")
    return op("Transpose", a["a"], axes=_axis(a["perm"]))


def _matmul(op, a):
    for flag in ("transpose_a", "transpose_b", "adjoint_a", "adjoint_b", "a_is_sparse",
                 "b_is_sparse"):
        if a[flag]:
            raise UnsupportedError(f"tf.linalg.matmul with {flag}=True is not supported")
    if a["output_type"] is not None:
        raise UnsupportedError("tf.linalg.matmul with an output_type is not supported")
    return op("Matmul", a["a"], a["b"])


def _leaky_relu(op, a):
    return op("LeakyRelu", a["features"], negative_slope=float(a["alpha"]))


_MATMUL_FLAGS = {"transpose_a": False, "transpose_b": False, "adjoint_a": False,
                 "adjoint_b": False, "a_is_sparse": False, "b_is_sparse": False,
                 "output_type": None}

# TensorFlow function name (as tf-keras records it, without "tf.") -> its translation.
TF_FUNCTIONS: dict[str, TFFunction] = {
    "__operators__.add": _binary("Add"),
    "math.add": _binary("Add"),
    "math.subtract": _binary("Subtract"),
    "math.multiply": _binary("Multiply"),
    "math.truediv": _binary("TrueDivide"),
    "math.divide": _binary("Divide"),
    "math.maximum": _binary("Maximum"),
    "math.minimum": _binary("Minimum"),
    "math.pow": _binary("Power"),
    "math.squared_difference": TFFunction(
        ("x", "y"), lambda op, a: op("Square", op("Subtract", a["x"], a["y"]))),
    "math.negative": _unary("Negative"),
    "math.abs": _unary("Absolute"),
    "math.sqrt": _unary("Sqrt"),
    "math.rsqrt": _unary("Rsqrt"),
    "math.square": _unary("Square"),
    "math.exp": _unary("Exp"),
    "math.log": _unary("Log"),
    "math.tanh": _unary("Tanh"),
    "math.sigmoid": _unary("Sigmoid"),
    "math.erf": _unary("Erf"),
    "math.floor": _unary("Floor"),
    "math.ceil": _unary("Ceil"),
    "math.round": _unary("Round"),
    "math.sign": _unary("Sign"),
    "math.reduce_mean": _reduction("Mean"),
    "math.reduce_sum": _reduction("Sum"),
    "math.reduce_max": _reduction("Max"),
    "math.reduce_min": _reduction("Min"),
    "math.reduce_prod": _reduction("Prod"),
    "nn.relu": _unary("Relu", "features"),
    "nn.relu6": _unary("Relu6", "features"),
    "nn.elu": _unary("Elu", "features"),
    "nn.selu": _unary("Selu", "features"),
    "nn.softplus": _unary("Softplus", "features"),
    "math.softplus": _unary("Softplus", "features"),
    "nn.silu": _unary("Silu", "features"),
    "nn.swish": _unary("Silu", "features"),
    "nn.sigmoid": _unary("Sigmoid"),
    "nn.tanh": _unary("Tanh"),
    "nn.leaky_relu": TFFunction(("features", "alpha"), _leaky_relu, {"alpha": 0.2}),
    "nn.gelu": TFFunction(("features", "approximate"),
                          lambda op, a: op("Gelu", a["features"],
                                           approximate=bool(a["approximate"])),
                          {"approximate": False}),
    "nn.softmax": TFFunction(("logits", "axis"),
                             lambda op, a: op("Softmax", a["logits"],
                                              axis=-1 if a["axis"] is None else a["axis"]),
                             {"axis": None}),
    "reshape": TFFunction(("tensor", "shape"),
                          lambda op, a: op("Reshape", a["tensor"], newshape=_static(a["shape"]))),
    "transpose": TFFunction(("a", "perm", "conjugate"), _transpose,
                            {"perm": None, "conjugate": False}),
    "compat.v1.transpose": TFFunction(("a", "perm", "conjugate"), _transpose,
                                      {"perm": None, "conjugate": False}),
    "concat": TFFunction(("values", "axis"),
                         lambda op, a: op("Concatenate", list(a["values"]), axis=a["axis"])),
    "stack": TFFunction(("values", "axis"),
                        lambda op, a: op("Stack", list(a["values"]), axis=a["axis"]),
                        {"axis": 0}),
    "expand_dims": TFFunction(("input", "axis"),
                              lambda op, a: op("ExpandDims", a["input"], axis=a["axis"])),
    "compat.v1.squeeze": TFFunction(("input", "axis"),
                                    lambda op, a: op("Squeeze", a["input"], axis=_axis(a["axis"])),
                                    {"axis": None}),
    "squeeze": TFFunction(("input", "axis"),
                          lambda op, a: op("Squeeze", a["input"], axis=_axis(a["axis"])),
                          {"axis": None}),
    "cast": TFFunction(("x", "dtype"), lambda op, a: op("Cast", a["x"], dtype=a["dtype"])),
    "clip_by_value": TFFunction(
        ("t", "clip_value_min", "clip_value_max"),
        lambda op, a: op("Clip", a["t"], x_min=a["clip_value_min"], x_max=a["clip_value_max"])),
    "linalg.matmul": TFFunction(("a", "b", *_MATMUL_FLAGS), _matmul, dict(_MATMUL_FLAGS)),
    "__operators__.getitem": TFFunction(
        ("tensor", "slice_spec"), lambda op, a: op("GetItem", a["tensor"], _slice_key(a["slice_spec"]))),
}


def _static(value):
    """A shape/axis argument given as a constant (a tensor here would make it data-dependent)."""
    if any(hasattr(item, "shape") for item in flatten(value)):
        raise UnsupportedError("an argument computed from a tensor is not supported here")
    return list(value) if isinstance(value, tuple) else value


def _slice_key(spec):
    """tf-keras's serialized slice spec -> a Python indexing key (slices, ints, None, Ellipsis)."""
    items = spec if isinstance(spec, list) else [spec]
    key = []
    for item in items:
        if isinstance(item, dict) and item.get("class_name") == "__ellipsis__":
            key.append(Ellipsis)
        elif isinstance(item, dict) and set(item) == {"start", "stop", "step"}:
            bounds = [item[part] for part in ("start", "stop", "step")]
            if not all(bound is None or _is_int(bound) for bound in bounds):
                raise UnsupportedError(f"slice bounds must be constant integers, got {item!r}")
            key.append(slice(*bounds))
        elif item is None or _is_int(item):
            key.append(item)
        else:
            raise UnsupportedError(f"slice spec item {item!r} is not supported")
    return tuple(key) if isinstance(spec, list) else key[0]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class _ForwardedCall:
    """What a translated call leaves in the TFOpLambda's `_inbound_nodes`: the tensors its
    operations produced, so later references `[layer, node_index, tensor_index]` find them."""

    __slots__ = ("outputs",)

    def __init__(self, outputs):
        self.outputs = flatten(outputs)


@register_layer()
class TFOpLambda(Layer):
    """A TensorFlow function call recorded by tf-keras, e.g. `{"function": "math.multiply"}`.

    It never becomes a node of the model: calling it applies the Keras 3 operations the function
    maps to (see `TF_FUNCTIONS`), named after this layer."""

    def __init__(self, function, name=None, trainable=True, dtype=None, **kwargs):
        super().__init__(name=name, trainable=trainable, dtype=dtype, **kwargs)
        if not isinstance(function, str) or function not in TF_FUNCTIONS:
            raise UnsupportedError(
                f"layer '{self.name}' ({type(self).__name__}): TensorFlow function "
                f"'tf.{function}' is not one modelio translates into Keras 3 operations")
        self.function = function
        self.built = True

    def get_config(self) -> dict:
        return {**super().get_config(), "function": self.function}

    def __call__(self, *args, **kwargs):
        arguments = self._bind(args, kwargs)
        operations = []

        def op(class_name, *call_args, **constructor_arguments):
            cls = OPERATION_CLASSES.get(class_name)
            if cls is None:
                raise UnsupportedError(
                    f"layer '{self.name}': 'tf.{self.function}' maps to the Keras 3 operation "
                    f"'{class_name}', which modelio does not compute yet")
            name = self.name if not operations else f"{self.name}_{len(operations)}"
            operation = cls(name=name, **constructor_arguments)
            operations.append(operation)
            return operation(*call_args)

        try:
            outputs = TF_FUNCTIONS[self.function].translate(op, arguments)
        except UnsupportedError as exc:
            if f"'{self.name}'" in str(exc):
                raise
            raise UnsupportedError(f"layer '{self.name}' ('tf.{self.function}'): {exc}") from exc
        self._inbound_nodes.append(_ForwardedCall(outputs))
        return outputs

    def _bind(self, args: tuple, kwargs: dict) -> dict:
        """The function's arguments by parameter name, from tf-keras's node (first argument
        positional, the rest by keyword; `name` is TensorFlow's op name and is dropped)."""
        spec = TF_FUNCTIONS[self.function]
        if len(args) > len(spec.parameters):
            raise ConfigError(f"layer '{self.name}' ('tf.{self.function}'): takes at most "
                              f"{len(spec.parameters)} arguments, got {len(args)}")
        arguments = dict(spec.defaults)
        arguments.update(zip(spec.parameters, args))
        for key, value in kwargs.items():
            if key == "name":
                continue
            if key not in spec.parameters:
                raise ConfigError(f"layer '{self.name}' ('tf.{self.function}'): unknown "
                                  f"argument '{key}'")
            arguments[key] = value
        missing = [name for name in spec.parameters if name not in arguments]
        if missing:
            raise ConfigError(f"layer '{self.name}' ('tf.{self.function}'): missing argument(s) "
                              f"{', '.join(missing)}")
        return arguments


@register_layer()
class SlicingOpLambda(TFOpLambda):
    """tf-keras's record of `tensor[...]` (`{"function": "__operators__.getitem"}`), translated
    into Keras 3's `GetItem` operation."""

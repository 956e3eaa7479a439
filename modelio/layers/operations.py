"""Keras 3 operations that appear in functional graphs, one small class each (numpy kernels).

These are what Keras records for mask computations (NotEqual, Any, LogicalOr, ExpandDims,
ZerosLike, Concatenate) and for common arithmetic on symbolic tensors. The lower-case functions
(`not_equal(x, y)`, ...) work on symbolic tensors (adding a node) and on arrays (computing).
"""

import numpy as np

from ..errors import ConfigError
from ..graph.dtypes import standardize_dtype
from ..graph.operation import Operation, broadcast_shapes, spec_of
from ..graph.registry import register_operation


def _reduced_shape(shape: tuple, axis, keepdims: bool) -> tuple:
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    axes = {a % len(shape) for a in (axis if isinstance(axis, (list, tuple)) else [axis])}
    if keepdims:
        return tuple(1 if i in axes else dim for i, dim in enumerate(shape))
    return tuple(dim for i, dim in enumerate(shape) if i not in axes)


def _check_axis(operation, axis, allow_none=True):
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    if (axis is None and allow_none) or all(
            isinstance(item, int) and not isinstance(item, bool) for item in items):
        return axis
    raise ConfigError(f"operation '{operation.name}' ({type(operation).__name__}): axis must be "
                      f"an integer{' or null' if allow_none else ''}, got {axis!r}")


class _Binary(Operation):
    function = None
    result_is_bool = False

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


class _Reduction(Operation):
    _config_arguments = ("axis", "keepdims")
    function = None

    def __init__(self, axis=None, keepdims=False, name=None):
        super().__init__(name=name)
        self.axis = list(axis) if isinstance(axis, tuple) else _check_axis(self, axis)
        self.keepdims = bool(keepdims)

    def call(self, x):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return type(self).function(x, axis=axis, keepdims=self.keepdims)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return _reduced_shape(shape, self.axis, self.keepdims), self._dtype(dtype)

    def _dtype(self, dtype):
        return dtype


def _reduction(name: str, function, result_dtype: str | None = None) -> type:
    members = {"function": staticmethod(function), "__doc__": f"`{function.__name__}` over axes."}
    if result_dtype:
        members["_dtype"] = lambda self, dtype: result_dtype
    return register_operation(type(name, (_Reduction,), members))


Any = _reduction("Any", np.any, "bool")
All = _reduction("All", np.all, "bool")
Sum = _reduction("Sum", np.sum)
Mean = _reduction("Mean", np.mean)
Max = _reduction("Max", np.max)
Min = _reduction("Min", np.min)


@register_operation
class ExpandDims(Operation):
    """Inserts a size-1 axis at `axis`."""

    _config_arguments = ("axis",)

    def __init__(self, axis, name=None):
        super().__init__(name=name)
        self.axis = _check_axis(self, axis, allow_none=False)

    def call(self, x):
        return np.expand_dims(x, self.axis)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axis = self.axis if self.axis >= 0 else self.axis + len(shape) + 1
        return shape[:axis] + (1,) + shape[axis:], dtype


@register_operation
class Squeeze(Operation):
    """Removes size-1 axes (all of them, or `axis`)."""

    _config_arguments = ("axis",)

    def __init__(self, axis=None, name=None):
        super().__init__(name=name)
        self.axis = _check_axis(self, axis)

    def call(self, x):
        return np.squeeze(x, axis=self.axis)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if self.axis is None:
            return tuple(dim for dim in shape if dim != 1), dtype
        return _reduced_shape(shape, self.axis, False), dtype


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


class _Joining(Operation):
    _config_arguments = ("axis",)

    def __init__(self, axis=0, name=None):
        super().__init__(name=name)
        self.axis = _check_axis(self, axis, allow_none=False)

    def _eager_call(self, args: tuple, kwargs: dict):
        return self.call([np.asarray(value) for value in args[0]], **kwargs)


@register_operation
class Concatenate(_Joining):
    """Joins a list of tensors along `axis`."""

    def call(self, xs):
        return np.concatenate(xs, axis=self.axis)

    def output_spec(self, xs):
        specs = [spec_of(x) for x in xs]
        shape = list(specs[0][0])
        axis = self.axis % len(shape)
        sizes = [spec[0][axis] for spec in specs]
        shape[axis] = None if None in sizes else sum(sizes)
        return tuple(shape), np.result_type(*[spec[1] for spec in specs]).name


@register_operation
class Stack(_Joining):
    """Stacks a list of same-shaped tensors along a new `axis`."""

    def call(self, xs):
        return np.stack(xs, axis=self.axis)

    def output_spec(self, xs):
        shape, dtype = spec_of(xs[0])
        axis = self.axis if self.axis >= 0 else self.axis + len(shape) + 1
        return shape[:axis] + (len(xs),) + shape[axis:], dtype


# ----- functional forms, as `keras.ops` spells them ------------------------------------------------

def not_equal(x1, x2):
    return NotEqual()(x1, x2)


def logical_or(x1, x2):
    return LogicalOr()(x1, x2)


def logical_and(x1, x2):
    return LogicalAnd()(x1, x2)


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return Any(axis=axis, keepdims=keepdims)(x)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return All(axis=axis, keepdims=keepdims)(x)


def expand_dims(x, axis):
    return ExpandDims(axis=axis)(x)


def zeros_like(x, dtype=None):
    return ZerosLike(dtype=dtype)(x)


def ones_like(x, dtype=None):
    return OnesLike(dtype=dtype)(x)


def concatenate(xs, axis=0):
    return Concatenate(axis=axis)(list(xs))


def cast(x, dtype):
    return Cast(dtype=dtype)(x)

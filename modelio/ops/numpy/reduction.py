"""Reductions, as `keras.ops.numpy` has them (`any`, `all`, `sum`, `mean`, `max`, `min` over
axes), and their ONNX twin `OnnxReduce` (every ONNX Reduce* op, axes fixed or given at run time).
"""

import builtins

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.operation import Operation, spec_of
from ...graph.registry import register_operation
from ..onnx_layer import OnnxAxesLayer, positive_axis

__all__ = [
    "REDUCTIONS", "All", "Any", "Max", "Mean", "Min", "OnnxReduce", "Sum", "all", "any",
    "check_axis", "reduced_shape",
]


def reduced_shape(shape: tuple, axis, keepdims: bool) -> tuple:
    """The shape left of `shape` after a reduction over `axis` (an int, a list of ints, or None
    for every axis), the reduced axes kept with size 1 when `keepdims`."""
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    axes = {a % len(shape) for a in (axis if isinstance(axis, (list, tuple)) else [axis])}
    if keepdims:
        return tuple(1 if i in axes else dim for i, dim in enumerate(shape))
    return tuple(dim for i, dim in enumerate(shape) if i not in axes)


def check_axis(operation, axis, allow_none: bool = True):
    """`axis` (an int or a list of ints; None too with `allow_none`) unchanged, or a ConfigError
    naming `operation`."""
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    # builtins.all: this module's `all` is keras.ops.all
    if (axis is None and allow_none) or builtins.all(
            isinstance(item, int) and not isinstance(item, bool) for item in items):
        return axis
    raise ConfigError(f"operation '{operation.name}' ({type(operation).__name__}): axis must be "
                      f"an integer{' or null' if allow_none else ''}, got {axis!r}")


class _Reduction(Operation):
    _config_arguments = ("axis", "keepdims")
    function = None

    def __init__(self, axis=None, keepdims=False, name=None):
        super().__init__(name=name)
        self.axis = list(axis) if isinstance(axis, tuple) else check_axis(self, axis)
        self.keepdims = bool(keepdims)

    def call(self, x):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return type(self).function(x, axis=axis, keepdims=self.keepdims)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axes = [] if self.axis is None else self.axis if isinstance(self.axis, list) else [
            self.axis]
        if builtins.any(not -len(shape) <= axis < len(shape) for axis in axes):
            raise ConfigError(f"operation '{self.name}' ({type(self).__name__}): axis "
                              f"{self.axis} is out of range for rank {len(shape)}")
        return reduced_shape(shape, self.axis, self.keepdims), self._dtype(dtype)

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


class _Extreme(_Reduction):
    """Max / Min, with Keras's `initial` (a number folded into every reduction, or None)."""

    _config_arguments = ("axis", "keepdims", "initial")

    def __init__(self, axis=None, keepdims=False, initial=None, name=None):
        super().__init__(axis=axis, keepdims=keepdims, name=name)
        if initial is not None and (isinstance(initial, bool)
                                    or not isinstance(initial, (int, float))):
            raise ConfigError(f"operation '{self.name}' ({type(self).__name__}): initial must "
                              f"be a number or null, got {initial!r}")
        self.initial = initial

    def call(self, x):
        result = super().call(x)
        if self.initial is None:
            return result
        bound = np.maximum if type(self).function is np.max else np.minimum
        return bound(result, np.asarray(self.initial).astype(result.dtype))


Max = register_operation(type("Max", (_Extreme,), {"function": staticmethod(np.max),
                                                    "__doc__": "`max` over axes."}))
Min = register_operation(type("Min", (_Extreme,), {"function": staticmethod(np.min),
                                                    "__doc__": "`min` over axes."}))


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether any element over `axis` (None: all axes) is true (an Any node on symbolic
    tensors)."""
    return Any(axis=axis, keepdims=keepdims)(x)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether every element over `axis` (None: all axes) is true (an All node on symbolic
    tensors)."""
    return All(axis=axis, keepdims=keepdims)(x)


REDUCTIONS = {
    "ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min,
    "ReduceProd": np.prod,
    "ReduceL1": lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
    "ReduceL2": lambda x, axis, keepdims: np.sqrt(np.sum(np.square(x), axis=axis,
                                                         keepdims=keepdims)),
    "ReduceSumSquare": lambda x, axis, keepdims: np.sum(np.square(x), axis=axis,
                                                        keepdims=keepdims),
    "ReduceLogSum": lambda x, axis, keepdims: np.log(np.sum(x, axis=axis, keepdims=keepdims)),
    "ReduceLogSumExp": lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis,
                                                               keepdims=keepdims)),
}


@register_layer()
class OnnxReduce(OnnxAxesLayer):
    """ONNX Reduce* over `axes` (None: every axis, or none at all with `noop_with_empty_axes`)."""

    def __init__(self, op, axes=None, keepdims=1, noop_with_empty_axes=0, **kwargs):
        super().__init__(axes=axes, **kwargs)
        if op not in REDUCTIONS:
            raise ConfigError(f"layer '{self.name}' (OnnxReduce): unknown op {op!r}")
        self.op = op
        self.keepdims = int(keepdims)
        self.noop_with_empty_axes = int(noop_with_empty_axes)

    def _axes(self, rank, axes):
        if not axes:
            return None if not self.noop_with_empty_axes else ()
        return tuple(sorted({positive_axis(axis, rank, self.name) for axis in axes}))

    def compute_output_shape(self, input_shape):
        runtime = self.runtime_axes_count(input_shape)
        if runtime is not None:
            x_shape, count = runtime
            if self.keepdims or (count == 0 and self.noop_with_empty_axes):
                return (None,) * len(x_shape)
            return (None,) * (len(x_shape) - count) if count else ()
        axes = self._axes(len(input_shape), self.axes)
        if axes == ():
            return tuple(input_shape)
        axes = range(len(input_shape)) if axes is None else axes
        if self.keepdims:
            return tuple(1 if axis in axes else dim for axis, dim in enumerate(input_shape))
        return tuple(dim for axis, dim in enumerate(input_shape) if axis not in axes)

    def compute(self, operands):
        x = operands[0]
        runtime = self.runtime_axes(operands)
        axes = self._axes(x.ndim, self.axes if runtime is None else runtime)
        if axes == ():
            return x
        if x.size == 0 and self.op in ("ReduceMax", "ReduceMin"):
            fill = _empty_extreme(x.dtype, self.op == "ReduceMax")
            kept = np.sum(x, axis=axes, keepdims=bool(self.keepdims))
            return np.full(kept.shape, fill, dtype=x.dtype)
        with np.errstate(all="ignore"):
            result = REDUCTIONS[self.op](x, axis=axes, keepdims=bool(self.keepdims))
        return np.asarray(result).astype(x.dtype, copy=False)

    def output_dtype(self, dtypes):
        return np.dtype(dtypes[0]).name

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "keepdims": self.keepdims,
                "noop_with_empty_axes": self.noop_with_empty_axes}


def _empty_extreme(dtype, maximum: bool):
    """What ReduceMax (`maximum`) or ReduceMin gives over no elements: the identity element."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return not maximum
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min if maximum else info.max
    return -np.inf if maximum else np.inf

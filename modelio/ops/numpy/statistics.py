"""Reductions and scans of `keras.ops.numpy` beyond reduction.py's (`prod`, `std`, `var`,
`amax`, `amin`, `argmax`, `argmin`, `median`, `ptp`, `count_nonzero`, `cumsum`, `cumprod`) and
`keras.ops.math.logsumexp`, each its own registered class with Keras's config."""

import numpy as np

from ...graph.registry import register_operation
from ..base import KerasOp, axis_list, float_dtype, normalize_axis, spec_of
from .reduction import reduced_shape

__all__ = ["Amax", "Amin", "Argmax", "Argmin", "CountNonzero", "Cumprod", "Cumsum",
           "Logsumexp", "Median", "Prod", "Ptp", "Std", "Var"]


class _AxisReduction(KerasOp):
    ARGUMENTS = {"axis": None, "keepdims": False}
    result = "same"  # "same" | "float" | "int32"

    def check(self):
        self.check_axes("axis")
        if not isinstance(self.arguments["keepdims"], bool):
            self.fail(f"keepdims must be true or false, got {self.arguments['keepdims']!r}")

    def axes(self, rank: int):
        """The reduced axes as a tuple (None: every axis)."""
        axis = self.arguments["axis"]
        return None if axis is None else tuple(axis_list(self, axis, rank))

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axes = self.axes(len(shape))
        shape = reduced_shape(shape, None if axes is None else list(axes),
                              self.arguments["keepdims"])
        if self.result == "int32":
            return shape, "int32"
        return shape, float_dtype(dtype) if self.result == "float" else dtype

    def call(self, x):
        dtype = self.output_spec(x)[1]
        with np.errstate(all="ignore"):
            value = self.reduce(x if self.result != "float" else x.astype(dtype),
                                axis=self.axes(x.ndim), keepdims=self.arguments["keepdims"])
        return np.asarray(value).astype(dtype, copy=False)


def _make(name, reduce, result="same", family="numpy", arguments=None):
    members = {"reduce": staticmethod(reduce), "result": result, "__module__": __name__,
               "_keras_module": f"keras.src.ops.{family}",
               "__doc__": f"`keras.ops.{family}` reduction `{name}` over `axis`."}
    if arguments is not None:
        members["ARGUMENTS"] = arguments
    return register_operation(type(name, (_AxisReduction,), members))


def _logsumexp(x, axis, keepdims):
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)
    total = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return total if keepdims else np.squeeze(total, axis=axis)


Prod = _make("Prod", np.prod, arguments={"axis": None, "keepdims": False, "dtype": None})
Std = _make("Std", np.std, "float")
Var = _make("Var", np.var, "float")
Amax = _make("Amax", np.max)
Amin = _make("Amin", np.min)
Median = _make("Median", np.median, "float")
Ptp = _make("Ptp", np.ptp)
Logsumexp = _make("Logsumexp", _logsumexp, "float", family="math")


def _prod_check(self):
    _AxisReduction.check(self)
    if self.arguments["dtype"] is not None:
        self.fail("only dtype=None is supported")


Prod.check = _prod_check


class _ArgReduction(_AxisReduction):
    result = "int32"
    function = None

    def check(self):
        super().check()
        self.check_int("axis", allow_none=True)

    def reduce(self, x, axis, keepdims):
        axes = axis
        if axes is None:
            index = type(self).function(x.reshape(-1))
            return np.reshape(index, (1,) * x.ndim) if keepdims else index
        return type(self).function(x, axis=axes[0], keepdims=keepdims)


@register_operation
class Argmax(_ArgReduction):
    """Index (int32) of the largest value along `axis` (None: of the flattened tensor)."""

    function = staticmethod(np.argmax)


@register_operation
class Argmin(_ArgReduction):
    """Index (int32) of the smallest value along `axis` (None: of the flattened tensor)."""

    function = staticmethod(np.argmin)


@register_operation
class CountNonzero(_AxisReduction):
    """How many values along `axis` are not zero (int32)."""

    ARGUMENTS = {"axis": None}
    result = "int32"

    def axes(self, rank):
        return super().axes(rank)

    def output_spec(self, x):
        shape, _ = spec_of(x)
        axes = self.axes(len(shape))
        return reduced_shape(shape, None if axes is None else list(axes), False), "int32"

    def call(self, x):
        return np.asarray(np.count_nonzero(x, axis=self.axes(x.ndim))).astype("int32")

    def check(self):
        self.check_axes("axis")


class _Scan(KerasOp):
    ARGUMENTS = {"axis": None, "dtype": None}
    function = None

    def check(self):
        self.check_int("axis", allow_none=True)
        if self.arguments["dtype"] is not None:
            self.fail("only dtype=None is supported")

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if self.arguments["axis"] is None:
            shape = (None if None in shape else int(np.prod(shape)),)
        else:
            normalize_axis(self, self.arguments["axis"], len(shape))
        return shape, "int32" if dtype == "bool" else dtype

    def call(self, x):
        dtype = self.output_spec(x)[1]
        axis = self.arguments["axis"]
        values = x.reshape(-1) if axis is None else x
        return type(self).function(values, axis=0 if axis is None else axis).astype(dtype)


@register_operation
class Cumsum(_Scan):
    """Running sums along `axis` (None: of the flattened tensor)."""

    function = staticmethod(np.cumsum)


@register_operation
class Cumprod(_Scan):
    """Running products along `axis` (None: of the flattened tensor)."""

    function = staticmethod(np.cumprod)

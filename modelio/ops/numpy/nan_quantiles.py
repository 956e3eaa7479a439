"""NaN-skipping `keras.ops.numpy` statistics as Keras 3 graphs record them: `Nancumprod`,
`Nanmedian`, `Nanquantile` and `Nanpercentile`, with the arithmetic of Keras's torch backend
(modelio/kernels/quantiles.py); each a registered class with Keras's config."""

import math

import numpy as np

from ...graph.registry import register_operation
from ...kernels.quantiles import METHODS, nan_quantile
from ..base import KerasOp, axis_list, spec_of
from .reduction import reduced_shape
from .values import check_dtype_argument

__all__ = ["Nancumprod", "Nanmedian", "Nanpercentile", "Nanquantile"]


@register_operation
class Nancumprod(KerasOp):
    """Running products along `axis` (None: of the flattened tensor), NaNs counted as one and
    infinities as the largest finite values (torch's nan_to_num)."""

    ARGUMENTS = {"axis": None, "dtype": None}

    def check(self):
        self.check_int("axis", allow_none=True)
        check_dtype_argument(self)

    def call(self, x):
        dtype = self.output_spec(x)[1]
        values = np.nan_to_num(np.asarray(x), nan=1.0)
        axis = self.arguments["axis"]
        if axis is None:
            values, axis = values.reshape(-1), 0
        work = "float32" if dtype == "float16" else dtype
        return np.cumprod(values.astype(work), axis=axis).astype(dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if self.arguments["axis"] is None:
            shape = (None if None in shape else math.prod(shape),)
        else:
            axis_list(self, self.arguments["axis"], len(shape))
        dtype = self.arguments["dtype"] or dtype
        return tuple(shape), "int32" if dtype == "bool" else dtype


def _float(dtype: str) -> str:
    return dtype if np.dtype(dtype).kind == "f" else "float32"


class _NanQuantile(KerasOp):
    ARGUMENTS = {"axis": None, "method": "linear", "keepdims": False}
    scale = 1.0

    def check(self):
        self.check_axes("axis")
        self.check_choice("method", METHODS)
        if not isinstance(self.arguments["keepdims"], bool):
            self.fail(f"keepdims must be true or false, got {self.arguments['keepdims']!r}")

    def quantiles(self, q) -> np.ndarray:
        if hasattr(q, "shape") and not isinstance(q, np.ndarray):
            self.fail("q must be a number or a list of numbers, not a tensor")
        try:
            values = np.asarray(q, np.float32)
        except (TypeError, ValueError):
            self.fail(f"q must be a number or a list of numbers, got {q!r}")
        values = values / np.float32(self.scale)
        if values.ndim > 1 or not np.all((values >= 0) & (values <= 1)):
            self.fail(f"q must be a number or a vector within range, got {q!r}")
        return values

    def axes(self, rank: int):
        axis = self.arguments["axis"]
        return None if axis is None else axis_list(self, axis, rank)

    def call(self, x, q):
        return self.compute(x, q)

    def output_spec(self, x, q):
        return self.spec(x, q)

    def compute(self, x, q):
        dtype = self.spec(x, q)[1]
        values = np.asarray(x)
        compute = "float64" if values.dtype == np.float64 else "float32"
        values = values.astype(compute)
        quantiles = self.quantiles(q).astype(compute)
        axes = self.axes(values.ndim)
        if axes is None:
            rows = values.reshape(-1)
        else:
            others = [axis for axis in range(values.ndim) if axis not in axes]
            rows = np.transpose(values, others + axes).reshape(
                [values.shape[axis] for axis in others] + [-1])
        result = nan_quantile(rows, quantiles, self.arguments["method"])
        if self.arguments["keepdims"]:
            lead = 1 if quantiles.ndim else 0
            for axis in (range(values.ndim) if axes is None else axes):
                result = np.expand_dims(result, axis + lead if axes is not None else -1)
        return result.astype(dtype)

    def spec(self, x, q):
        shape, dtype = spec_of(x)
        quantiles = self.quantiles(q)
        axes = self.axes(len(shape))
        out = reduced_shape(shape, axes, self.arguments["keepdims"])
        return tuple(quantiles.shape) + tuple(out), _float(dtype)


@register_operation
class Nanquantile(_NanQuantile):
    """The `q`-th quantiles (a call argument: a number or a list, 0..1) along `axis`, NaNs
    skipped, interpolated as `method` says."""


@register_operation
class Nanpercentile(_NanQuantile):
    """The `q`-th percentiles (a call argument: a number or a list, 0..100) along `axis`, NaNs
    skipped, interpolated as `method` says."""

    scale = 100.0


@register_operation
class Nanmedian(_NanQuantile):
    """The median along `axis`, NaNs skipped."""

    ARGUMENTS = {"axis": None, "keepdims": False}

    def check(self):
        self.arguments["method"] = "linear"
        super().check()

    def get_config(self):
        config = super().get_config()
        config.pop("method")
        return config

    def call(self, x):
        return self.compute(x, 0.5)

    def output_spec(self, x):
        return self.spec(x, 0.5)

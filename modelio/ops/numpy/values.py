"""`keras.ops.numpy` operations on values and dtypes as Keras 3 graphs record them: `AllClose`,
`Angle` and `Imag` of real tensors, `Nextafter`, `I0`, `View` (the bits reinterpreted), `Array`,
`EmptyLike`, `Full`, and `Ndim` / `Size` (the rank and element count as int64 scalars, as Keras's
torch backend returns them); each a registered class with Keras's config."""

import math

import numpy as np

from ...errors import ModelioError
from ...graph.dtypes import standardize_dtype
from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import REQUIRED, KerasOp, spec_of
from ..onnx_layer import MAX_RUNTIME_BYTES
from .binary import result_dtype

__all__ = ["AllClose", "Angle", "Array", "EmptyLike", "Full", "I0", "Imag", "Ndim", "Nextafter",
           "Size", "View", "check_dtype_argument", "isclose_values", "limit_result"]


def check_dtype_argument(op: KerasOp, key: str = "dtype") -> None:
    """Standardize the dtype argument `key` (None stays None), failing with the op's name."""
    value = op.arguments[key]
    if value is None:
        return
    try:
        op.arguments[key] = standardize_dtype(value)
    except ModelioError as exc:
        op.fail(f"{key}: {exc}")


def limit_result(op: KerasOp, shape, dtype) -> None:
    """Refuse, before allocating it, a result of `shape` and `dtype` above MAX_RUNTIME_BYTES."""
    size = math.prod(int(dim) for dim in shape) * np.dtype(dtype).itemsize
    if size > MAX_RUNTIME_BYTES:
        op.fail(f"refusing to build a result of shape {tuple(shape)} ({size} bytes; at most "
                f"{MAX_RUNTIME_BYTES} are computed)")


def isclose_values(x1, x2, rtol, atol, equal_nan):
    """torch's isclose: equal values (infinities too), NaN pairs with `equal_nan`, or a finite
    gap within `atol + |rtol * x2|`."""
    with np.errstate(all="ignore"):
        gap = np.abs(x1 - x2)
        close = (x1 == x2) | (np.isfinite(gap) & (gap <= atol + np.abs(rtol * x2)))
    if equal_nan:
        close |= np.isnan(x1) & np.isnan(x2)
    return close


@register_operation
class AllClose(KerasOp):
    """Whether every element of x1 is close to x2's (`|x1 - x2| <= atol + rtol * |x2|`, NaNs
    equal with `equal_nan`; integers: exactly equal) — one bool for the whole batch."""

    ARGUMENTS = {"rtol": 1e-5, "atol": 1e-8, "equal_nan": False}

    def check(self):
        self.check_number("rtol")
        self.check_number("atol")
        if not isinstance(self.arguments["equal_nan"], bool):
            self.fail(f"equal_nan must be true or false, got {self.arguments['equal_nan']!r}")

    def call(self, x1, x2):
        dtype = result_dtype(x1, x2)
        a, b = np.asarray(x1).astype(dtype), np.asarray(x2).astype(dtype)
        if np.dtype(dtype).kind != "f":
            return np.asarray(np.all(a == b))
        rtol, atol = (np.asarray(self.arguments[key], dtype) for key in ("rtol", "atol"))
        return np.asarray(np.all(isclose_values(a, b, rtol, atol, self.arguments["equal_nan"])))

    def output_spec(self, x1, x2):
        broadcast_shapes(spec_of(x1)[0], spec_of(x2)[0], where=f"{self.label}: ")
        return (), "bool"


def _float_of(dtype: str) -> str:
    """Keras's float result dtype of a real input: floats keep theirs, the rest float32."""
    return dtype if np.dtype(dtype).kind == "f" else "float32"


@register_operation
class Angle(KerasOp):
    """The complex argument of real values: pi below zero, 0 otherwise (-0.0 too), NaN for NaN."""

    def call(self, x):
        dtype = self.output_spec(x)[1]
        values = np.asarray(x).astype(dtype)
        angle = np.where(values < 0, np.asarray(math.pi, dtype), np.asarray(0, dtype))
        return np.where(np.isnan(values), values, angle).astype(dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return shape, _float_of(dtype)


@register_operation
class Imag(KerasOp):
    """The imaginary part of real values: zeros of x's shape and dtype (Keras's TensorFlow and
    numpy backends; its torch backend fails on real tensors)."""

    def call(self, x):
        return np.zeros_like(x)

    def output_spec(self, x):
        return spec_of(x)


@register_operation
class Nextafter(KerasOp):
    """The float64 number after x1 toward x2, in the float result dtype (so float32 values mostly
    stay themselves, as Keras computes it)."""

    def call(self, x1, x2):
        dtype = self.output_spec(x1, x2)[1]
        return np.nextafter(np.asarray(x1, np.float64), np.asarray(x2, np.float64)).astype(dtype)

    def output_spec(self, x1, x2):
        shape = broadcast_shapes(spec_of(x1)[0], spec_of(x2)[0], where=f"{self.label}: ")
        return shape, _float_of(result_dtype(x1, x2))


@register_operation
class I0(KerasOp):
    """The modified Bessel function of the first kind, order 0."""

    def call(self, x):
        dtype = self.output_spec(x)[1]
        return np.i0(np.asarray(x, np.float64)).astype(dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if dtype in ("int64", "float64"):
            return shape, "float64"
        return shape, dtype if dtype in ("float16", "bfloat16") else "float32"


@register_operation
class View(KerasOp):
    """x's bytes read as `dtype`; a different item size rescales the last axis."""

    ARGUMENTS = {"dtype": None}

    def check(self):
        check_dtype_argument(self)
        if self.arguments["dtype"] in ("bfloat16", "string"):
            self.fail(f"viewing as {self.arguments['dtype']} is not supported")

    def call(self, x):
        dtype = self.output_spec(x)[1]
        return np.ascontiguousarray(x).view(dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        target = self.arguments["dtype"] or dtype
        old, new = np.dtype(dtype).itemsize, np.dtype(target).itemsize
        if old == new:
            return shape, target
        if not shape:
            self.fail("a scalar cannot be viewed as a dtype of another item size")
        last = shape[-1]
        if last is not None:
            if (last * old) % new:
                self.fail(f"the last axis ({last} x {old} bytes) does not divide into "
                          f"{target} items")
            last = last * old // new
        return tuple(shape[:-1]) + (last,), target


@register_operation
class Array(KerasOp):
    """x itself, converted to `dtype` when given."""

    ARGUMENTS = {"dtype": None}

    def check(self):
        check_dtype_argument(self)

    def call(self, x):
        return np.array(x, dtype=self.output_spec(x)[1])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return shape, self.arguments["dtype"] or dtype


@register_operation
class EmptyLike(Array):
    """A tensor of x's shape and `dtype` (or x's) whose contents are unspecified; modelio's
    are zeros."""

    def call(self, x):
        return np.zeros(np.shape(x), dtype=self.output_spec(x)[1])


@register_operation
class Ndim(KerasOp):
    """x's rank (its batch axis counted) as an int64 scalar."""

    def call(self, x):
        return np.asarray(np.ndim(x), np.int64)

    def output_spec(self, x):
        return (), "int64"


@register_operation
class Size(KerasOp):
    """How many elements x has (its batch axis counted) as an int64 scalar."""

    def call(self, x):
        return np.asarray(np.size(x), np.int64)

    def output_spec(self, x):
        return (), "int64"


@register_operation
class Full(KerasOp):
    """A tensor of `shape` filled with the call's fill value (`dtype`, or the fill's float
    dtype); a fill tensor fills the trailing axes, repeated over the leading ones."""

    ARGUMENTS = {"shape": REQUIRED, "dtype": None}

    def check(self):
        shape = self.arguments["shape"]
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = self.arguments["shape"] = [shape]
        if not isinstance(shape, list) or not all(
                isinstance(size, int) and not isinstance(size, bool) and size >= 0
                for size in shape):
            self.fail(f"shape must be a list of sizes >= 0, got {shape!r}")
        check_dtype_argument(self)
        limit_result(self, shape, self.arguments["dtype"] or "float32")

    def call(self, fill_value):
        dtype = self.output_spec(fill_value)[1]
        fill = np.asarray(fill_value).astype(dtype)
        shape = tuple(self.arguments["shape"])
        lead = len(shape) - fill.ndim
        return np.tile(fill, shape[:lead] + (1,) * fill.ndim)

    def output_spec(self, fill_value):
        fill_shape, fill_dtype = spec_of(fill_value)
        dtype = self.arguments["dtype"]
        if dtype is None:
            if fill_dtype != "float32":
                self.fail(f"a {fill_dtype} fill without dtype: Keras's backends disagree on "
                          "the result dtype; give dtype")
            dtype = "float32"
        shape = tuple(self.arguments["shape"])
        if fill_shape and tuple(fill_shape) != shape[len(shape) - len(fill_shape):]:
            self.fail(f"a fill of shape {tuple(fill_shape)} must match the trailing axes of "
                      f"{shape}")
        return shape, dtype

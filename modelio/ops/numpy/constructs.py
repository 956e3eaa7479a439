"""`keras.ops.numpy` operations that build vectors and matrices from their inputs, as Keras 3
graphs record them: `Cross`, `Diagflat`, `Vander`, `Meshgrid`, `UnravelIndex`, `Trapezoid`,
`Corrcoef` and `Correlate`; each a registered class with Keras's config. Where Keras's torch
backend squeezes or reshapes beyond what its symbolic shape says (Corrcoef, Correlate), the
results are what Keras computes."""

import math
import warnings

import numpy as np

from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import REQUIRED, KerasOp, normalize_axis, spec_of
from .binary import result_dtype
from .values import limit_result

__all__ = ["Corrcoef", "Correlate", "Cross", "Diagflat", "Meshgrid", "Trapezoid",
           "UnravelIndex", "Vander"]


def _size(shape):
    return None if None in shape else math.prod(shape)


@register_operation
class Cross(KerasOp):
    """The cross product of 3-vectors along `axisa` of x1 and `axisb` of x2 (`axis` sets all
    three), the results along `axisc` — numpy's and Keras's TensorFlow backend's meaning. (Keras's
    torch backend refuses the axis arguments, and with the defaults takes torch's deprecated
    choice, the first axis of size 3: the same unless an earlier axis, even the batch, has 3.)"""

    ARGUMENTS = {"axisa": -1, "axisb": -1, "axisc": -1, "axis": None}

    def check(self):
        for key in ("axisa", "axisb", "axisc"):
            self.check_int(key)
        self.check_int("axis", allow_none=True)

    def axes(self):
        if self.arguments["axis"] is not None:
            return (self.arguments["axis"],) * 3
        return tuple(self.arguments[key] for key in ("axisa", "axisb", "axisc"))

    def call(self, x1, x2):
        dtype = self.output_spec(x1, x2)[1]
        axisa, axisb, axisc = self.axes()
        a = np.moveaxis(np.asarray(x1).astype(dtype), axisa, -1)
        b = np.moveaxis(np.asarray(x2).astype(dtype), axisb, -1)
        a0, a1, a2 = (a[..., index] for index in range(3))
        b0, b1, b2 = (b[..., index] for index in range(3))
        result = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
        return np.moveaxis(result, -1, axisc).astype(dtype)

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        axisa, axisb, axisc = self.axes()
        a, b = list(a), list(b)
        sizes = [a.pop(normalize_axis(self, axisa, len(a))),
                 b.pop(normalize_axis(self, axisb, len(b)))]
        if any(size not in (3, None) for size in sizes):
            self.fail(f"needs vectors of 3 elements, got {sizes[0]} and {sizes[1]} (Keras's "
                      "backends disagree on 2-vectors)")
        shape = list(broadcast_shapes(a, b, where=f"{self.label}: "))
        shape.insert(normalize_axis(self, axisc, len(shape) + 1), 3)
        return tuple(shape), result_dtype(x1, x2)


@register_operation
class Diagflat(KerasOp):
    """The flattened input (batch axis included) on diagonal `k` of a square matrix."""

    ARGUMENTS = {"k": 0}

    def check(self):
        self.check_int("k")

    def call(self, x):
        side = np.size(x) + abs(self.arguments["k"])
        limit_result(self, (side, side), np.asarray(x).dtype)
        return np.diagflat(x, self.arguments["k"])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        size = _size(shape)
        side = None if size is None else size + abs(self.arguments["k"])
        return (side, side), dtype


@register_operation
class Vander(KerasOp):
    """The Vandermonde matrix of a vector: its powers `N - 1` down to 0 (up with
    `increasing`)."""

    ARGUMENTS = {"N": None, "increasing": False}

    def check(self):
        self.check_int("N", allow_none=True, minimum=0)
        if not isinstance(self.arguments["increasing"], bool):
            self.fail(f"increasing must be true or false, got {self.arguments['increasing']!r}")

    def call(self, x):
        limit_result(self, (len(x), self.output_spec(x)[0][1]), x.dtype)
        return np.vander(x, self.arguments["N"], self.arguments["increasing"]).astype(x.dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if len(shape) != 1:
            self.fail(f"needs a vector, got shape {tuple(shape)}")
        count = shape[0] if self.arguments["N"] is None else self.arguments["N"]
        return (shape[0], count), dtype


@register_operation
class Meshgrid(KerasOp):
    """Coordinate grids of vectors: `indexing` "ij" (matrix) or "xy" (the first two axes
    swapped)."""

    ARGUMENTS = {"indexing": "xy"}

    def check(self):
        self.check_choice("indexing", ("xy", "ij"))

    def call(self, *x):
        shape, dtype = self.output_spec(*x)[0]
        limit_result(self, (len(x), *shape), dtype)
        return [grid.copy() for grid in np.meshgrid(*x, indexing=self.arguments["indexing"])]

    def output_spec(self, *x):
        if not x:
            self.fail("needs at least one vector")
        specs = [spec_of(item) for item in x]
        if any(len(shape) > 1 for shape, _ in specs):
            self.fail("needs vectors or scalars")
        if len({dtype for _, dtype in specs}) > 1:
            self.fail("needs vectors of one dtype")
        sizes = [shape[0] if shape else 1 for shape, _ in specs]
        if self.arguments["indexing"] == "xy" and len(sizes) > 1:
            sizes[0], sizes[1] = sizes[1], sizes[0]
        return [(tuple(sizes), dtype) for _, dtype in specs]


@register_operation
class UnravelIndex(KerasOp):
    """The coordinates of flat indices in an array of `shape`, one tensor per axis (each index
    taken modulo its axis, as Keras's torch backend does)."""

    ARGUMENTS = {"shape": REQUIRED}

    def check(self):
        shape = self.arguments["shape"]
        if not isinstance(shape, list) or not shape or not all(
                isinstance(size, int) and not isinstance(size, bool) and size > 0
                for size in shape):
            self.fail(f"shape must be a list of sizes > 0, got {shape!r}")

    def call(self, indices):
        dtype = self.output_spec(indices)[0][1]
        rest = np.asarray(indices).astype(np.int64)
        coordinates = []
        for size in reversed(self.arguments["shape"]):
            coordinates.append(np.mod(rest, size).astype(dtype))
            rest = np.floor_divide(rest, size)
        return coordinates[::-1]

    def output_spec(self, indices):
        shape, dtype = spec_of(indices)
        if np.dtype(dtype).kind not in "iu":
            self.fail(f"needs integer indices, got {dtype}")
        return [(tuple(shape), dtype) for _ in self.arguments["shape"]]


@register_operation
class Trapezoid(KerasOp):
    """The integral along `axis` by the trapezoidal rule: samples `dx` apart, or at the points
    `x` (a list of numbers)."""

    ARGUMENTS = {"x": None, "dx": 1.0, "axis": -1}

    def check(self):
        points = self.arguments["x"]
        if points is not None and (not isinstance(points, list) or not all(
                isinstance(item, (int, float)) and not isinstance(item, bool)
                for item in points)):
            self.fail(f"x must be null or a list of numbers, got {points!r}")
        self.check_number("dx")
        self.check_int("axis")

    def call(self, y):
        dtype = self.output_spec(y)[1]
        axis = normalize_axis(self, self.arguments["axis"], np.ndim(y))
        values = np.asarray(y).astype(dtype)
        points = self.arguments["x"]
        spacing = np.asarray(self.arguments["dx"], dtype) if points is None else \
            np.diff(np.asarray(points, dtype))
        if points is not None and len(points) != values.shape[axis]:
            self.fail(f"x has {len(points)} points for an axis of {values.shape[axis]}")
        values = np.moveaxis(values, axis, -1)
        return np.sum(spacing * (values[..., 1:] + values[..., :-1]) / 2, axis=-1).astype(dtype)

    def output_spec(self, y):
        shape, dtype = spec_of(y)
        if not shape:
            self.fail("needs a tensor of rank >= 1")
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        points = self.arguments["x"]
        if points is not None and shape[axis] is not None and len(points) != shape[axis]:
            self.fail(f"x has {len(points)} points for an axis of {shape[axis]}")
        return tuple(size for index, size in enumerate(shape) if index != axis), \
            "float32" if dtype == "bool" else _float(dtype)


def _float(dtype: str) -> str:
    return dtype if np.dtype(dtype).kind == "f" else "float32"


@register_operation
class Corrcoef(KerasOp):
    """The Pearson correlation coefficients of the rows of a matrix (its batch axis is the first
    row axis): a (rows, rows) matrix; a vector gives a scalar."""

    def call(self, x):
        dtype = self.output_spec(x)[1]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant rows give NaN
            result = np.corrcoef(np.asarray(x, np.float64))
        return np.clip(result, -1, 1).astype(dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if len(shape) not in (1, 2):
            self.fail(f"needs a vector or a matrix, got shape {tuple(shape)}")
        if dtype == "int64":
            dtype = "float64"
        return ((shape[0], shape[0]) if len(shape) == 2 else ()), _float(dtype)


@register_operation
class Correlate(KerasOp):
    """The cross-correlation of two vectors, `mode` "valid", "same" (x1's length) or "full"; a
    result of one element is a scalar (Keras's torch backend squeezes it)."""

    ARGUMENTS = {"mode": "valid"}

    def check(self):
        self.check_choice("mode", ("valid", "same", "full"))

    def window(self, first: int, second: int) -> tuple[int, int]:
        """(start, length) of the result within the full correlation."""
        full = first + second - 1
        length = {"valid": max(first, second) - min(first, second) + 1, "same": first,
                  "full": full}[self.arguments["mode"]]
        return (full - length) // 2, length

    def call(self, x1, x2):
        dtype = self.output_spec(x1, x2)[1]
        a, v = np.asarray(x1, dtype), np.asarray(x2, dtype)
        full = np.convolve(a, v[::-1])
        start, length = self.window(len(a), len(v))
        result = full[start:start + length]
        return (result.reshape(()) if length == 1 else result).astype(dtype)

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        if len(a) != 1 or len(b) != 1:
            self.fail(f"needs two vectors, got shapes {tuple(a)} and {tuple(b)}")
        dtype = result_dtype(x1, x2)
        dtype = "float64" if dtype == "int64" else \
            dtype if dtype in ("bfloat16", "float16", "float64") else "float32"
        if None in (a[0], b[0]):
            return (None,), dtype
        length = self.window(a[0], b[0])[1]
        return ((length,) if length != 1 else ()), dtype

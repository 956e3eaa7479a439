"""`keras.ops.numpy` operations about evenly spaced values and bins, as Keras 3 graphs record
them: `Linspace`, `Logspace`, `Geomspace` (of tensor end points), `Digitize`, `SearchSorted`
and `Histogram`; each a registered class with Keras's config and the arithmetic of Keras's
torch backend."""

import numpy as np

from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import KerasOp, spec_of
from .binary import result_dtype
from .values import check_dtype_argument, limit_result

__all__ = ["Digitize", "Geomspace", "Histogram", "Linspace", "Logspace", "SearchSorted",
           "torch_linspace"]


def torch_linspace(start, stop, num: int, dtype) -> np.ndarray:
    """`num` values from `start` to `stop` (scalars) as torch's linspace computes them in
    `dtype`: the first half up from start, the second half down from stop."""
    start, stop = np.asarray(start, dtype), np.asarray(stop, dtype)
    if num == 1:
        return start.reshape(1)
    step = (stop - start) / np.asarray(num - 1, dtype)
    index = np.arange(num)
    up = start + step * index.astype(dtype)
    down = stop - step * (num - 1 - index).astype(dtype)
    return np.where(index < num // 2, up, down).astype(dtype)


class _Spaced(KerasOp):
    """Values between tensor end points, along a new axis 0."""

    ARGUMENTS = {"num": 50, "endpoint": True, "dtype": None, "axis": 0}

    def check(self):
        self.check_int("num", minimum=0)
        if not isinstance(self.arguments["endpoint"], bool):
            self.fail(f"endpoint must be true or false, got {self.arguments['endpoint']!r}")
        check_dtype_argument(self)
        dtype = self.arguments["dtype"]
        if dtype is not None and np.dtype(dtype).kind != "f":
            self.fail(f"dtype {dtype}: Keras's torch backend computes floats whatever it says")
        self.check_int("axis")
        if self.arguments["axis"] != 0:
            self.fail("only axis 0 is supported (Keras's torch backend refuses others)")

    def output_spec(self, start, stop):
        for value in (start, stop):
            if isinstance(value, (bool, int, float)):
                self.fail("needs tensor start and stop (Keras's torch backend computes Python "
                          "numbers otherwise)")
            if np.dtype(spec_of(value)[1]).kind != "f":
                self.fail("needs float start and stop")
        shape = broadcast_shapes(spec_of(start)[0], spec_of(stop)[0], where=f"{self.label}: ")
        dtype = self.arguments["dtype"] or result_dtype(start, stop)
        return (self.arguments["num"], *shape), dtype if np.dtype(dtype).kind == "f" \
            else "float32"

    def line(self, start, stop, dtype):
        """Keras's torch backend's linspace of tensors: start + i / (num - 1) * (stop - start)
        (NaN for num 1 with the end point), stop pulled in by one step without it."""
        num = self.arguments["num"]
        start, stop = np.asarray(start), np.asarray(stop)
        limit_result(self, (num, *np.broadcast_shapes(start.shape, stop.shape)), dtype)
        with np.errstate(all="ignore"):
            if not self.arguments["endpoint"]:
                stop = stop - (stop - start) / num
            start, stop = start.astype(dtype), stop.astype(dtype)
            steps = np.arange(num, dtype=dtype) / np.asarray(num - 1, dtype)
            steps = steps.reshape((num,) + (1,) * max(start.ndim, stop.ndim))
            return (start[None] + steps * (stop - start)[None]).astype(dtype)


@register_operation
class Linspace(_Spaced):
    """`num` evenly spaced values from start to stop (tensors), stop included with
    `endpoint`."""

    ARGUMENTS = {"num": 50, "endpoint": True, "retstep": False, "dtype": None, "axis": 0}

    def check(self):
        super().check()
        if self.arguments["retstep"] is not False:
            self.fail("retstep is not supported (Keras's graph output would be None)")

    def call(self, start, stop):
        return self.line(start, stop, self.output_spec(start, stop)[1])


@register_operation
class Logspace(_Spaced):
    """`base` to the powers of `num` evenly spaced exponents from start to stop (tensors)."""

    ARGUMENTS = {"num": 50, "endpoint": True, "base": 10, "dtype": None, "axis": 0}

    def check(self):
        super().check()
        self.check_number("base")

    def call(self, start, stop):
        dtype = self.output_spec(start, stop)[1]
        with np.errstate(all="ignore"):
            return np.power(np.asarray(self.arguments["base"], dtype),
                            self.line(start, stop, dtype)).astype(dtype)


@register_operation
class Geomspace(_Spaced):
    """`num` values from start to stop (tensors) evenly spaced on a log scale, signed as
    start."""

    def call(self, start, stop):
        dtype = self.output_spec(start, stop)[1]
        start, stop = np.asarray(start).astype(dtype), np.asarray(stop).astype(dtype)
        with np.errstate(all="ignore"):
            exponents = self.line(np.log10(np.abs(start)), np.log10(np.abs(stop)), dtype)
            return (np.power(np.asarray(10, dtype), exponents) * np.sign(start)).astype(dtype)


def _float_input(op, x):
    if np.dtype(spec_of(x)[1]).kind == "c":
        op.fail("complex tensors are not supported")


@register_operation
class Digitize(KerasOp):
    """For each element of x, how many of the increasing `bins` are <= it (int32; NaN: all)."""

    def call(self, x, bins):
        self.output_spec(x, bins)
        values = np.asarray(x)
        if values.dtype == np.bool_:
            values = values.astype(np.uint8)
        return np.searchsorted(np.asarray(bins), values, side="right").astype(np.int32)

    def output_spec(self, x, bins):
        _float_input(self, x)
        if len(spec_of(bins)[0]) != 1:
            self.fail(f"bins must be a vector, got shape {tuple(spec_of(bins)[0])}")
        return spec_of(x)[0], "int32"


@register_operation
class SearchSorted(KerasOp):
    """Where each value would go in the increasing vector `sorted_sequence` to keep it sorted
    (`side` "left": before equal elements, "right": after them), as int32."""

    ARGUMENTS = {"side": "left"}

    def check(self):
        self.check_choice("side", ("left", "right"))

    def call(self, sorted_sequence, values):
        self.output_spec(sorted_sequence, values)
        return np.searchsorted(np.asarray(sorted_sequence), np.asarray(values),
                               side=self.arguments["side"]).astype(np.int32)

    def output_spec(self, sorted_sequence, values):
        if len(spec_of(sorted_sequence)[0]) != 1:
            self.fail("sorted_sequence must be a vector")
        _float_input(self, values)
        return spec_of(values)[0], "int32"


@register_operation
class Histogram(KerasOp):
    """Counts of a vector's values in `bins` equal bins over `range` (default: the values'
    minimum to maximum, widened by 0.5 each way when they are equal), and the bins' edges; the
    last bin includes its right edge, values outside are not counted. Keras 3.15.1's Histogram
    node calls a backend function no backend has (`backend.math.histogram`); modelio computes
    what `keras.ops.histogram` gives (torch's histogram)."""

    ARGUMENTS = {"bins": 10, "range": None}

    def check(self):
        self.check_int("bins", minimum=1)
        bounds = self.arguments["range"]
        if bounds is not None and (not isinstance(bounds, list) or len(bounds) != 2 or not all(
                isinstance(item, (int, float)) and not isinstance(item, bool)
                for item in bounds) or bounds[1] < bounds[0]):
            self.fail(f"range must be null or [low, high] with low <= high, got {bounds!r}")

    def call(self, x):
        dtype = self.output_spec(x)[0][1]
        values = np.asarray(x).astype(dtype)
        bins = self.arguments["bins"]
        limit_result(self, (bins + 1,), dtype)
        if self.arguments["range"] is None:
            if values.size == 0 or not np.all(np.isfinite(values)):
                self.fail("the values' range is not finite (give range)")
            low, high = values.min(), values.max()
        else:
            low, high = (np.asarray(item, dtype) for item in self.arguments["range"])
        if low == high:
            low, high = low - np.asarray(0.5, dtype), high + np.asarray(0.5, dtype)
        edges = torch_linspace(low, high, bins + 1, dtype)
        index = np.searchsorted(edges, values, side="right") - 1
        index = np.where(values == edges[-1], bins - 1, index)
        inside = (values >= edges[0]) & (values <= edges[-1])
        counts = np.bincount(index[inside], minlength=bins)[:bins]
        return [counts.astype(dtype), edges]

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if len(shape) != 1:
            self.fail(f"needs a vector, got shape {tuple(shape)}")
        if np.dtype(dtype).kind != "f":
            self.fail(f"needs float values, got {dtype} (torch's histogram refuses others)")
        bins = self.arguments["bins"]
        return [((bins,), dtype), ((bins + 1,), dtype)]

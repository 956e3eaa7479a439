"""More of `keras.ops.math` as Keras 3 graphs record them: `CDist` (pairwise Euclidean
distances), `Erfinv` (the inverse error function), `ExtractSequences` (frames of the last axis)
and the segment reductions `SegmentSum`, `SegmentMax`, `SegmentMin`, `SegmentProd`; each a
registered class with Keras's config.

The segment reductions reduce the rows of `data` (its first axis, in a functional model the
batch) into `num_segments` rows by `segment_ids`, as Keras's torch backend does: in float32,
rows whose id is negative or not below `num_segments` dropped, empty segments 0 (sum), 1
(prod), -inf (max) or +inf (min), the result cast back to the data's dtype. Without
`num_segments` the number of rows is the largest id + 1, known only from the data: refused.
"""

import numpy as np

from ..errors import UnsupportedError
from ..graph.operation import broadcast_shapes
from ..graph.registry import register_operation
from ..kernels.special import erfinv
from .base import REQUIRED, KerasOp, float_dtype, spec_of
from .numpy.binary import result_dtype
from .numpy.unary import _make as _unary

__all__ = ["CDist", "Erfinv", "ExtractSequences", "SEGMENT_REDUCTIONS", "SegmentMax",
           "SegmentMin", "SegmentProd", "SegmentSum"]

Erfinv = _unary("Erfinv", "math", erfinv, "float")
Erfinv.__doc__ = ("`keras.ops.erfinv`: x with erf(x) = y elementwise; +-inf at +-1, NaN "
                  "beyond.")


@register_operation
class CDist(KerasOp):
    """Euclidean distances between the rows of `x` (..., m, d) and of `y` (..., n, d):
    (..., m, n), the leading axes broadcast."""

    _keras_module = "keras.src.ops.math"

    def call(self, x, y):
        dtype = self.output_spec(x, y)[1]
        if x.shape[-1] != y.shape[-1]:
            self.fail(f"the last axes differ: {x.shape} and {y.shape}")
        x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
        difference = x[..., :, None, :] - y[..., None, :, :]
        return np.sqrt(np.sum(difference * difference, axis=-1)).astype(dtype, copy=False)

    def output_spec(self, x, y):
        x_shape, y_shape = spec_of(x)[0], spec_of(y)[0]
        if len(x_shape) < 2 or len(y_shape) < 2:
            self.fail(f"needs inputs of rank 2 or more, got {tuple(x_shape)} and "
                      f"{tuple(y_shape)}")
        if None not in (x_shape[-1], y_shape[-1]) and x_shape[-1] != y_shape[-1]:
            self.fail(f"the last axes differ: {tuple(x_shape)} and {tuple(y_shape)}")
        batch = broadcast_shapes(tuple(x_shape[:-2]), tuple(y_shape[:-2]),
                                 where=f"{self.label}: ")
        return tuple(batch) + (x_shape[-2], y_shape[-2]), float_dtype(result_dtype(x, y))


@register_operation
class ExtractSequences(KerasOp):
    """Frames of the last axis: windows of `sequence_length` every `sequence_stride` steps,
    (..., N) -> (..., 1 + (N - sequence_length) // sequence_stride, sequence_length)."""

    _keras_module = "keras.src.ops.math"
    ARGUMENTS = {"sequence_length": REQUIRED, "sequence_stride": REQUIRED}

    def check(self):
        self.check_int("sequence_length", minimum=1)
        self.check_int("sequence_stride", minimum=1)

    def frames(self, size):
        if size is None:
            return None
        count = 1 + (size - self.arguments["sequence_length"]) // self.arguments[
            "sequence_stride"]
        if count < 1:
            self.fail(f"sequence_length {self.arguments['sequence_length']} is longer than "
                      f"the last axis ({size})")
        return count

    def call(self, x):
        self.output_spec(x)
        windows = np.lib.stride_tricks.sliding_window_view(
            x, self.arguments["sequence_length"], axis=-1)
        return np.array(windows[..., ::self.arguments["sequence_stride"], :])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if not shape:
            self.fail("needs an input of rank 1 or more")
        return tuple(shape[:-1]) + (self.frames(shape[-1]),
                                    self.arguments["sequence_length"]), dtype


class _SegmentReduction(KerasOp):
    _keras_module = "keras.src.ops.math"
    ARGUMENTS = {"num_segments": None, "sorted": False}
    reduction = None  # the numpy ufunc
    empty = 0.0  # what an empty segment holds

    def check(self):
        if self.arguments["num_segments"] is None:
            raise UnsupportedError(
                f"{self.label}: needs num_segments; without it the number of output rows is "
                f"the largest segment id + 1, a shape known only from the data")
        self.check_int("num_segments", minimum=0)
        if not isinstance(self.arguments["sorted"], bool):
            self.fail(f"sorted must be true or false, got {self.arguments['sorted']!r}")

    def call(self, data, segment_ids):
        self.output_spec(data, segment_ids)
        count = self.arguments["num_segments"]
        ids = np.asarray(segment_ids).astype(np.int64)
        if ids.shape[0] != data.shape[0]:
            self.fail(f"{ids.shape[0]} segment ids for {data.shape[0]} rows of data")
        kept = (ids >= 0) & (ids < count)
        result = np.full((count,) + data.shape[1:], self.empty, dtype=np.float32)
        type(self).reduction.at(result, ids[kept], data[kept].astype(np.float32))
        with np.errstate(invalid="ignore"):  # an empty segment's +-inf as an integer
            return result.astype(data.dtype)

    def output_spec(self, data, segment_ids):
        (shape, dtype), (id_shape, id_dtype) = spec_of(data), spec_of(segment_ids)
        if len(id_shape) != 1:
            self.fail(f"segment_ids must be a vector, got shape {tuple(id_shape)}")
        if np.dtype(id_dtype).kind not in "iu":
            self.fail(f"segment_ids must be integers, got {id_dtype}")
        if not shape:
            self.fail("data must have rank 1 or more")
        if None not in (shape[0], id_shape[0]) and shape[0] != id_shape[0]:
            self.fail(f"{id_shape[0]} segment ids for {shape[0]} rows of data")
        return (self.arguments["num_segments"],) + tuple(shape[1:]), dtype


def _segment(name: str, reduction, empty: float, what: str) -> type:
    cls = type(name, (_SegmentReduction,), {
        "reduction": reduction, "empty": empty, "__module__": __name__,
        "__doc__": f"The {what} of the rows of `data` with each segment id, `num_segments` "
                   f"rows (see the module docstring)."})
    return register_operation(cls)


SegmentSum = _segment("SegmentSum", np.add, 0.0, "sum")
SegmentProd = _segment("SegmentProd", np.multiply, 1.0, "product")
SegmentMax = _segment("SegmentMax", np.maximum, -np.inf, "maximum")
SegmentMin = _segment("SegmentMin", np.minimum, np.inf, "minimum")
SEGMENT_REDUCTIONS = (SegmentSum, SegmentProd, SegmentMax, SegmentMin)

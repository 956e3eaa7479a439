"""More of `keras.ops.numpy` (and `keras.ops.core`'s `saturate_cast` / `convert_to_tensor`,
`keras.ops.math`'s `in_top_k`) as Keras 3 graphs record them: `Logaddexp2`, `Isclose`,
`Average`, `Fliplr`, `Flipud`, `Rot90`, `Dstack`, `Hsplit`, `Vsplit`, `Trace`, the NaN-skipping
reductions, `Select`, `Inner`, `Vdot`, `Sinc`, `Isneginf`, `Isposinf`, `FullLike`, `Append`,
`SaturateCast`, `ConvertToTensor`, `InTopK`; each a registered class with Keras's config."""

import numpy as np

from ...graph.dtypes import standardize_dtype
from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import REQUIRED, KerasOp, float_dtype, normalize_axis, spec_of
from .arrange import DiagonalPlane, Split, _SameShape, _Stacking
from .binary import _make as _binary
from .binary import result_dtype
from .reduction import reduced_shape
from .statistics import _AxisReduction
from .statistics import _make as _reduction
from .unary import _make as _unary

__all__ = ["Append", "Average", "ConvertToTensor", "Dstack", "Fliplr", "Flipud", "FullLike",
           "Hsplit", "InTopK", "Inner", "Isclose", "Isneginf", "Isposinf", "Logaddexp2",
           "NAN_REDUCTIONS", "Nanmax", "Nanmean", "Nanmin", "Nansum", "Rot90", "SaturateCast",
           "Select", "Sinc", "Trace", "Vdot", "Vsplit"]


def _logaddexp2(x1, x2):
    return np.logaddexp2(x1, x2)


Logaddexp2 = _binary("Logaddexp2", _logaddexp2, "float")
Sinc = _unary("Sinc", "numpy", np.sinc, "float")
Isneginf = _unary("Isneginf", "numpy", np.isneginf, "bool")
Isposinf = _unary("Isposinf", "numpy", np.isposinf, "bool")
Nansum = _reduction("Nansum", np.nansum)
Nanmean = _reduction("Nanmean", np.nanmean, "float")
Nanmax = _reduction("Nanmax", np.nanmax)
Nanmin = _reduction("Nanmin", np.nanmin)
NAN_REDUCTIONS = {"Nansum": Nansum, "Nanmean": Nanmean, "Nanmax": Nanmax, "Nanmin": Nanmin}


@register_operation
class Isclose(KerasOp):
    """`|x1 - x2| <= atol + rtol * |x2|` (call arguments rtol, atol), NaNs equal with
    `equal_nan`."""

    ARGUMENTS = {"equal_nan": False}

    def call(self, x1, x2, rtol=1e-5, atol=1e-8):
        return np.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=self.arguments["equal_nan"])

    def output_spec(self, x1, x2, rtol=1e-5, atol=1e-8):
        for value, key in ((rtol, "rtol"), (atol, "atol")):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self.fail(f"{key} must be a number, got {value!r}")
        return broadcast_shapes(spec_of(x1)[0], spec_of(x2)[0], where=f"{self.label}: "), "bool"


@register_operation
class Average(_AxisReduction):
    """The mean over `axis` (weighted means are refused)."""

    ARGUMENTS = {"axis": None}
    result = "float"

    def check(self):
        self.check_int("axis", allow_none=True)

    def call(self, x, weights=None):
        if weights is not None:
            self.fail("weighted averages are not supported")
        return np.mean(x.astype(self.output_spec(x)[1]), axis=self.arguments["axis"])

    def output_spec(self, x, weights=None):
        if weights is not None:
            self.fail("weighted averages are not supported")
        shape, dtype = spec_of(x)
        axis = self.arguments["axis"]
        if axis is not None:
            normalize_axis(self, axis, len(shape))
        return reduced_shape(shape, axis, False), float_dtype(dtype)


@register_operation
class Fliplr(_SameShape):
    """`x` reversed along axis 1."""

    def call(self, x):
        return np.flip(x, 1)


@register_operation
class Flipud(_SameShape):
    """`x` reversed along axis 0 (the batch axis)."""

    def call(self, x):
        return np.flip(x, 0)


@register_operation
class Rot90(KerasOp):
    """`x` rotated by 90 degrees `k` times in the plane `axes`."""

    ARGUMENTS = {"k": 1, "axes": [0, 1]}

    def check(self):
        self.check_int("k")
        axes = self.arguments["axes"]
        if not isinstance(axes, list) or len(axes) != 2 or not all(
                isinstance(item, int) and not isinstance(item, bool) for item in axes):
            self.fail(f"axes must be two axes, got {axes!r}")

    def plane(self, rank):
        first, second = (normalize_axis(self, axis, rank) for axis in self.arguments["axes"])
        if first == second:
            self.fail("the two axes must differ")
        return first, second

    def call(self, array):
        return np.rot90(array, self.arguments["k"], self.plane(array.ndim)).copy()

    def output_spec(self, array):
        shape, dtype = spec_of(array)
        first, second = self.plane(len(shape))
        out = list(shape)
        if self.arguments["k"] % 2:
            out[first], out[second] = shape[second], shape[first]
        return tuple(out), dtype


@register_operation
class Dstack(_Stacking):
    """Tensors of rank 3 or more joined along axis 2."""

    def axis(self, rank):
        if rank < 3:
            self.fail("dstack of tensors below rank 3 is not supported")
        return 2


@register_operation
class Hsplit(Split):
    """`x` split along axis 1 (axis 0 for vectors)."""

    ARGUMENTS = {"indices_or_sections": REQUIRED}
    SPLIT_AXIS = 1  # fixed by the function; not in Keras's config

    def check(self):
        self.arguments["axis"] = self.SPLIT_AXIS
        super().check()

    def get_config(self):
        config = super().get_config()
        config.pop("axis")
        return config


@register_operation
class Vsplit(Hsplit):
    """`x` split along axis 0 (the batch axis)."""

    def check(self):
        self.arguments["axis"] = 0
        Split.check(self)


@register_operation
class Trace(DiagonalPlane):
    """The sum of diagonal `offset` of the plane (`axis1`, `axis2`)."""

    def call(self, x):
        dtype = self.output_spec(x)[1]
        first, second = self.plane(x.ndim)
        return np.trace(x, self.arguments["offset"], first, second).astype(dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        first, second = self.plane(len(shape))
        return tuple(d for a, d in enumerate(shape) if a not in (first, second)), \
            "int32" if dtype == "bool" else dtype


@register_operation
class Select(KerasOp):
    """The first of `choicelist` whose condition in `condlist` holds, else `default`."""

    def _eager_call(self, args, kwargs):
        conditions, choices = ([np.asarray(item) for item in group] for group in args[:2])
        rest = [value if isinstance(value, (bool, int, float)) else np.asarray(value)
                for value in args[2:]]
        return self.call(conditions, choices, *rest, **kwargs)

    def call(self, condlist, choicelist, default=0):
        dtype = self.output_spec(condlist, choicelist, default)[1]
        return np.select([np.asarray(c).astype(bool) for c in condlist], choicelist,
                         default).astype(dtype)

    def output_spec(self, condlist, choicelist, default=0):
        if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)) \
                or len(condlist) != len(choicelist) or not condlist:
            self.fail("condlist and choicelist must be lists of the same length")
        shape = broadcast_shapes(*[spec_of(item)[0] for item in [*condlist, *choicelist,
                                                                 default]],
                                 where=f"{self.label}: ")
        return shape, result_dtype(*choicelist, default)


@register_operation
class Inner(KerasOp):
    """The sum over the last axes of x1 and x2 (numpy's inner)."""

    def call(self, x1, x2):
        return np.asarray(np.inner(x1, x2)).astype(result_dtype(x1, x2))

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        if a and b and None not in (a[-1], b[-1]) and a[-1] != b[-1]:
            self.fail(f"shapes {a} and {b}: the last axes differ")
        return tuple(a[:-1]) + tuple(b[:-1]), result_dtype(x1, x2)


@register_operation
class Vdot(KerasOp):
    """The dot product of the flattened x1 and x2 (a scalar)."""

    def call(self, x1, x2):
        return np.asarray(np.vdot(x1, x2)).astype(result_dtype(x1, x2))

    def output_spec(self, x1, x2):
        return (), result_dtype(x1, x2)


@register_operation
class FullLike(KerasOp):
    """A tensor of `x`'s shape filled with `fill_value` (in `dtype`, or x's)."""

    ARGUMENTS = {"dtype": None}

    def check(self):
        if self.arguments["dtype"] is not None:
            self.arguments["dtype"] = standardize_dtype(self.arguments["dtype"])

    def call(self, x, fill_value):
        dtype = self.output_spec(x, fill_value)[1]
        return np.broadcast_to(np.asarray(fill_value, dtype), x.shape).copy()

    def output_spec(self, x, fill_value):
        shape, dtype = spec_of(x)
        return shape, self.arguments["dtype"] or dtype


@register_operation
class Append(KerasOp):
    """`x2` joined to `x1` along `axis` (None: both flattened)."""

    ARGUMENTS = {"axis": None}

    def check(self):
        self.check_int("axis", allow_none=True)

    def call(self, x1, x2):
        return np.append(x1, x2, axis=self.arguments["axis"]).astype(result_dtype(x1, x2))

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        if self.arguments["axis"] is None:
            sizes = [None if None in shape else int(np.prod(shape)) for shape in (a, b)]
            return (None if None in sizes else sum(sizes),), result_dtype(x1, x2)
        axis = normalize_axis(self, self.arguments["axis"], len(a))
        out = list(a)
        out[axis] = None if None in (a[axis], b[axis]) else a[axis] + b[axis]
        return tuple(out), result_dtype(x1, x2)


@register_operation
class SaturateCast(KerasOp):
    """`x` clipped to the range of `dtype`, then converted to it."""

    _keras_module = "keras.src.ops.core"
    ARGUMENTS = {"dtype": REQUIRED}

    def check(self):
        self.arguments["dtype"] = standardize_dtype(self.arguments["dtype"])

    def bounds(self, source):
        target = np.dtype(self.arguments["dtype"])
        if target.kind not in "iu":
            return None
        info = np.iinfo(target)
        low, high = info.min, info.max
        if np.dtype(source).kind == "f":
            # the largest float of the source dtype not above the integer bound
            high = np.nextafter(np.asarray(high, source), np.asarray(0, source)) \
                if np.asarray(high, source) > high else np.asarray(high, source)
            low = np.asarray(low, source)
        return low, high

    def call(self, x):
        bounds = self.bounds(x.dtype)
        if bounds is not None:
            x = np.clip(x, *bounds)
        return x.astype(self.arguments["dtype"])

    def output_spec(self, x):
        return spec_of(x)[0], self.arguments["dtype"]


@register_operation
class ConvertToTensor(KerasOp):
    """`x` itself (converted to `dtype` when given)."""

    _keras_module = "keras.src.ops.core"
    ARGUMENTS = {"dtype": None, "sparse": None, "ragged": None}

    def check(self):
        if self.arguments["dtype"] is not None:
            self.arguments["dtype"] = standardize_dtype(self.arguments["dtype"])
        if self.arguments["sparse"] or self.arguments["ragged"]:
            self.fail("sparse and ragged tensors are not supported")

    def call(self, x):
        return np.array(x, dtype=self.arguments["dtype"] or x.dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return shape, self.arguments["dtype"] or dtype


@register_operation
class InTopK(KerasOp):
    """Whether each target's prediction is among the `k` largest of its row (ties count in)."""

    _keras_module = "keras.src.ops.math"
    ARGUMENTS = {"k": REQUIRED}

    def check(self):
        self.check_int("k", minimum=1)

    def call(self, targets, predictions):
        rows = np.arange(predictions.shape[0])
        target_values = predictions[rows, np.asarray(targets).astype(np.int64)]
        larger = np.sum(predictions > target_values[:, None], axis=-1)
        return larger < self.arguments["k"]

    def output_spec(self, targets, predictions):
        shape = spec_of(targets)[0]
        if len(shape) != 1 or len(spec_of(predictions)[0]) != 2:
            self.fail("expects targets (batch,) and predictions (batch, classes)")
        return tuple(shape), "bool"

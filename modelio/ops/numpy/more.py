"""Still more of `keras.ops.numpy` as Keras 3 graphs record them: NaN-skipping statistics
(`Nanstd`, `Nanvar`, `Nanprod`, `Nancumsum`), integer and bitwise arithmetic (`Gcd`, `Lcm`,
`Bitwise*`, shifts), `Ldexp`, the complex-number views of real tensors (`Real`, `Conj`, `Conjugate`,
`Isreal`; `Imag` is in values.py), `Kron`, `Diag`, `Diff`, `IsIn`, `Dsplit`, `Quantile` and `Percentile`;
each a registered class with Keras's config."""

import numpy as np

from ...graph.registry import register_operation
from ..base import KerasOp, float_dtype, normalize_axis, spec_of
from .binary import _make as _binary
from .binary import result_dtype
from .extras import Hsplit
from .reduction import reduced_shape
from .statistics import _make as _reduction
from .statistics import _Scan
from .unary import _make as _unary

__all__ = ["BITWISE_OPERATIONS", "Diag", "Diff", "Dsplit", "IsIn", "Kron", "Nanargmax",
           "Nanargmin", "Nancumsum",
           "Nanprod", "Nanstd", "Nanvar", "Percentile", "Quantile"]


Real = _unary("Real", "numpy", np.real, "same")
Conj = _unary("Conj", "numpy", np.conj, "same")
Conjugate = _unary("Conjugate", "numpy", np.conjugate, "same")
Isreal = _unary("Isreal", "numpy", np.isreal, "bool")
BitwiseNot = _unary("BitwiseNot", "numpy", np.invert, "same")
BitwiseInvert = _unary("BitwiseInvert", "numpy", np.invert, "same")
Nanstd = _reduction("Nanstd", np.nanstd, "float")
Nanvar = _reduction("Nanvar", np.nanvar, "float")
Nanprod = _reduction("Nanprod", np.nanprod)


def _ldexp(x1, x2):
    return np.ldexp(x1, np.asarray(x2).astype(np.int32))


Ldexp = _binary("Ldexp", _ldexp, "float")
Gcd = _binary("Gcd", np.gcd, "same")
Lcm = _binary("Lcm", np.lcm, "same")
BITWISE_OPERATIONS = {
    "BitwiseAnd": _binary("BitwiseAnd", np.bitwise_and, "same"),
    "BitwiseOr": _binary("BitwiseOr", np.bitwise_or, "same"),
    "BitwiseXor": _binary("BitwiseXor", np.bitwise_xor, "same"),
    "BitwiseLeftShift": _binary("BitwiseLeftShift", np.left_shift, "same"),
    "BitwiseRightShift": _binary("BitwiseRightShift", np.right_shift, "same"),
    "LeftShift": _binary("LeftShift", np.left_shift, "same"),
    "RightShift": _binary("RightShift", np.right_shift, "same"),
}
globals().update(BITWISE_OPERATIONS)
__all__ += ["BitwiseInvert", "BitwiseNot", "Conj", "Conjugate", "Gcd", "Isreal", "Lcm",
            "Ldexp", "Real", *BITWISE_OPERATIONS]


def _nancumsum(x, axis):
    return np.nancumsum(x, axis=axis)


@register_operation
class Nancumsum(_Scan):
    """Running sums along `axis`, NaNs counted as zero."""

    function = staticmethod(_nancumsum)


@register_operation
class Kron(KerasOp):
    """The Kronecker product of x1 and x2 (numpy's kron)."""

    def call(self, x1, x2):
        return np.kron(x1, x2).astype(result_dtype(x1, x2))

    def output_spec(self, x1, x2):
        a, b = spec_of(x1)[0], spec_of(x2)[0]
        rank = max(len(a), len(b))
        a = (1,) * (rank - len(a)) + tuple(a)
        b = (1,) * (rank - len(b)) + tuple(b)
        return tuple(None if None in (i, j) else i * j for i, j in zip(a, b)), \
            result_dtype(x1, x2)


@register_operation
class Diag(KerasOp):
    """A vector's diagonal matrix (diagonal `k`), or a matrix's diagonal `k` as a vector."""

    ARGUMENTS = {"k": 0}

    def check(self):
        self.check_int("k")

    def call(self, x):
        if x.ndim not in (1, 2):
            self.fail(f"expects a vector or a matrix, got shape {x.shape}")
        return np.diag(x, self.arguments["k"]).copy()

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        k = self.arguments["k"]
        if len(shape) == 1:
            size = None if shape[0] is None else shape[0] + abs(k)
            return (size, size), dtype
        if len(shape) == 2:
            rows, columns = shape
            if rows is None or columns is None:
                return (None,), dtype
            return (max(0, min(rows + min(k, 0), columns - max(k, 0))),), dtype
        self.fail(f"expects a vector or a matrix, got shape {shape}")


@register_operation
class Diff(KerasOp):
    """The `n`-th differences along `axis`."""

    ARGUMENTS = {"n": 1, "axis": -1}

    def check(self):
        self.check_int("n", minimum=0)
        self.check_int("axis")

    def call(self, a):
        return np.diff(a, self.arguments["n"], axis=self.arguments["axis"])

    def output_spec(self, a):
        shape, dtype = spec_of(a)
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        out = list(shape)
        if out[axis] is not None:
            out[axis] = max(out[axis] - self.arguments["n"], 0)
        return tuple(out), dtype


@register_operation
class IsIn(KerasOp):
    """Whether each element of x1 occurs in x2 (`invert`: does not)."""

    ARGUMENTS = {"assume_unique": False, "invert": False}

    def call(self, x1, x2):
        return np.isin(x1, x2, invert=self.arguments["invert"])

    def output_spec(self, x1, x2):
        return spec_of(x1)[0], "bool"


@register_operation
class Dsplit(Hsplit):
    """`x` split along axis 2."""

    SPLIT_AXIS = 2


@register_operation
class Quantile(KerasOp):
    """The `q`-th quantile (a call argument, 0..1) along `axis`, linear interpolation."""

    ARGUMENTS = {"axis": None, "method": "linear", "keepdims": False}
    scale = 1.0

    def check(self):
        self.check_axes("axis")
        self.check_choice("method", ("linear",))

    def _q(self, q):
        values = np.asarray(q, np.float64) / self.scale
        if values.ndim > 1 or np.any((values < 0) | (values > 1)):
            self.fail(f"q must be a number or a vector within range, got {q!r}")
        return values

    def _axis(self, rank):
        axis = self.arguments["axis"]
        return None if axis is None else tuple(
            normalize_axis(self, item, rank) for item in (axis if isinstance(axis, list)
                                                          else [axis]))

    def call(self, x, q):
        dtype = float_dtype(x.dtype.name)
        result = np.quantile(x.astype(dtype), self._q(q), axis=self._axis(x.ndim),
                             keepdims=self.arguments["keepdims"], method="linear")
        return np.asarray(result).astype(dtype)

    def output_spec(self, x, q):
        shape, dtype = spec_of(x)
        values = self._q(q) if not hasattr(q, "shape") or isinstance(q, np.ndarray) else None
        axis = self._axis(len(shape))
        out = reduced_shape(shape, None if axis is None else list(axis),
                            self.arguments["keepdims"])
        lead = () if values is None or values.ndim == 0 else (values.shape[0],)
        return lead + tuple(out), float_dtype(dtype)


@register_operation
class Percentile(Quantile):
    """The `q`-th percentile (a call argument, 0..100) along `axis`, linear interpolation."""

    scale = 100.0


class _NanArg(KerasOp):
    ARGUMENTS = {"axis": None, "keepdims": False}
    largest = True

    def check(self):
        self.check_int("axis", allow_none=True)

    def call(self, x):
        axis, keep = self.arguments["axis"], self.arguments["keepdims"]
        function = np.argmax if self.largest else np.argmin
        if x.dtype.kind != "f":
            clean, all_nan = x, None
        else:
            nan = np.isnan(x)
            clean = np.where(nan, -np.inf if self.largest else np.inf, x)
            all_nan = np.all(nan, axis=axis, keepdims=keep)
        if axis is None:
            index = np.asarray(function(clean.reshape(-1)))
            index = index.reshape((1,) * x.ndim) if keep else index
        else:
            index = function(clean, axis=axis, keepdims=keep)
        if all_nan is not None:
            index = np.where(all_nan, -1, index)
        return np.asarray(index).astype(np.int32)

    def output_spec(self, x):
        shape, _ = spec_of(x)
        axis = self.arguments["axis"]
        if axis is not None:
            normalize_axis(self, axis, len(shape))
        return reduced_shape(shape, axis, self.arguments["keepdims"]), "int32"


@register_operation
class Nanargmax(_NanArg):
    """The index (int32) of the largest non-NaN value along `axis` (-1 where all are NaN)."""


@register_operation
class Nanargmin(_NanArg):
    """The index (int32) of the smallest non-NaN value along `axis` (-1 where all are NaN)."""

    largest = False

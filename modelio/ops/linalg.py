"""`keras.ops.linalg`'s operations as Keras 3 graphs record them: `Det`, `Inv`, `Norm` (vector
norms of order None/2, 1, inf, -inf, 0 and other numbers; the Frobenius norm of matrices),
`Solve`, `SolveTriangular`, `Cholesky`, `CholeskyInverse`, `Pinv`, `MatrixRank`, and
`keras.ops.math.logdet` / `keras.ops.numpy.slogdet`; each a registered class with Keras's
config. Only Det and Norm have ONNX lowerings (ONNX has no factorizations or solvers)."""

import numpy as np

from ..graph.registry import register_operation
from .base import KerasOp, axis_list, float_dtype, spec_of
from .numpy.reduction import reduced_shape

__all__ = ["Cholesky", "CholeskyInverse", "Det", "Inv", "Logdet", "MatrixRank", "Norm", "Pinv",
           "Slogdet", "Solve", "SolveTriangular"]


class _Matrices(KerasOp):
    _keras_module = "keras.src.ops.linalg"

    def square(self, shape):
        if len(shape) < 2 or (None not in shape[-2:] and shape[-1] != shape[-2]):
            self.fail(f"expects square matrices in the last two axes, got {tuple(shape)}")


@register_operation
class Det(_Matrices):
    """The determinant of each square matrix of the last two axes."""

    def call(self, x):
        return np.linalg.det(x).astype(self.output_spec(x)[1])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        self.square(shape)
        return tuple(shape[:-2]), float_dtype(dtype)


@register_operation
class Inv(_Matrices):
    """The inverse of each square matrix of the last two axes."""

    def call(self, x):
        try:
            return np.linalg.inv(x).astype(self.output_spec(x)[1])
        except np.linalg.LinAlgError as exc:
            self.fail(f"a matrix is singular ({exc})")

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        self.square(shape)
        return tuple(shape), float_dtype(dtype)


@register_operation
class Norm(KerasOp):
    """Vector norms of order `ord` over one `axis` (None with a vector: all of it); the
    Frobenius norm ("fro", or None) over two axes."""

    _keras_module = "keras.src.ops.linalg"
    ARGUMENTS = {"ord": None, "axis": None, "keepdims": False}

    def check(self):
        self.check_axes("axis")
        order, axis = self.arguments["ord"], self.arguments["axis"]
        two_axes = isinstance(axis, list) and len(axis) == 2
        if two_axes and order not in (None, "fro"):
            self.fail(f"matrix norms other than 'fro' are not supported, got ord={order!r}")
        if isinstance(axis, list) and len(axis) > 2:
            self.fail(f"axis may name 1 or 2 axes, got {axis}")
        if not two_axes and not (order is None or (isinstance(order, (int, float))
                                                   and not isinstance(order, bool))):
            self.fail(f"vector norms take a number or null as ord, got {order!r}")
        if not isinstance(self.arguments["keepdims"], bool):
            self.fail("keepdims must be true or false")

    def axes(self, rank):
        axis = self.arguments["axis"]
        if axis is None:
            if rank > 2:
                self.fail("axis=None needs a vector or a matrix")
            return list(range(rank))
        return axis_list(self, axis, rank)

    def call(self, x):
        dtype = self.output_spec(x)[1]
        axes, order = self.axes(x.ndim), self.arguments["ord"]
        work = np.abs(x.astype(dtype, copy=False))
        keep = self.arguments["keepdims"]
        if len(axes) == 2 or order in (None, 2, 2.0):
            result = np.sqrt(np.sum(np.square(work), axis=tuple(axes), keepdims=keep))
        elif order == np.inf:
            result = np.max(work, axis=axes[0], keepdims=keep)
        elif order == -np.inf:
            result = np.min(work, axis=axes[0], keepdims=keep)
        elif order == 0:
            result = np.sum(work != 0, axis=axes[0], keepdims=keep)
        else:
            result = np.sum(work ** order, axis=axes[0], keepdims=keep) ** (1.0 / order)
        return np.asarray(result).astype(dtype)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return reduced_shape(shape, self.axes(len(shape)), self.arguments["keepdims"]), \
            float_dtype(dtype)


class _Solver(_Matrices):
    def output_spec(self, a, b):
        a_shape, dtype = spec_of(a)
        self.square(a_shape)
        return tuple(spec_of(b)[0]), float_dtype(dtype)


@register_operation
class Solve(_Solver):
    """`x` with `a @ x = b`."""

    def call(self, a, b):
        try:
            if b.ndim == a.ndim - 1:
                return np.linalg.solve(a, b[..., None])[..., 0].astype(self.output_spec(a, b)[1])
            return np.linalg.solve(a, b).astype(self.output_spec(a, b)[1])
        except np.linalg.LinAlgError as exc:
            self.fail(f"a matrix is singular ({exc})")


@register_operation
class SolveTriangular(_Solver):
    """`x` with `a @ x = b`, `a` triangular (its `lower` or upper triangle read)."""

    ARGUMENTS = {"lower": False}

    def call(self, a, b):
        a = np.tril(a) if self.arguments["lower"] else np.triu(a)
        return Solve.call(self, a, b)


@register_operation
class Cholesky(_Matrices):
    """The lower (or, with `upper`, upper) Cholesky factor, reading only that triangle."""

    ARGUMENTS = {"upper": False}

    def call(self, x):
        if self.arguments["upper"]:  # only the upper triangle is read
            upper = np.triu(x)
            x = upper + np.swapaxes(np.triu(x, 1), -1, -2)
        try:
            lower = np.linalg.cholesky(x)
        except np.linalg.LinAlgError as exc:
            self.fail(f"a matrix is not positive definite ({exc})")
        factor = np.swapaxes(lower, -1, -2) if self.arguments["upper"] else lower
        return factor.astype(self.output_spec(x)[1])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        self.square(shape)
        return tuple(shape), float_dtype(dtype)


@register_operation
class CholeskyInverse(Cholesky):
    """The inverse of `L L^T` (or `U^T U` with `upper`) from its Cholesky factor."""

    def call(self, x):
        factor = np.triu(x) if self.arguments["upper"] else np.tril(x)
        product = np.swapaxes(factor, -1, -2) @ factor if self.arguments["upper"] else \
            factor @ np.swapaxes(factor, -1, -2)
        return Inv.call(self, product)


@register_operation
class Pinv(Cholesky):
    """The Moore-Penrose pseudo-inverse (singular values below `rcond` times the largest
    dropped)."""

    ARGUMENTS = {"rcond": None}

    def call(self, x):
        rcond = self.arguments["rcond"]
        result = np.linalg.pinv(x) if rcond is None else np.linalg.pinv(x, rcond=rcond)
        return result.astype(self.output_spec(x)[1])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return tuple(shape[:-2]) + (shape[-1], shape[-2]), float_dtype(dtype)


@register_operation
class MatrixRank(_Matrices):
    """The number of singular values above `tol` (None: numpy's default), int32."""

    ARGUMENTS = {"tol": None}

    def call(self, x):
        return np.asarray(np.linalg.matrix_rank(x, tol=self.arguments["tol"])).astype(np.int32)

    def output_spec(self, x):
        return tuple(spec_of(x)[0][:-2]), "int32"


@register_operation
class Logdet(_Matrices):
    """`log(det(x))` of each square matrix (NaN for negative determinants)."""

    _keras_module = "keras.src.ops.math"

    def call(self, x):
        sign, logabs = np.linalg.slogdet(x)
        with np.errstate(invalid="ignore"):
            return np.where(sign > 0, logabs, np.where(sign == 0, -np.inf, np.nan)).astype(
                self.output_spec(x)[1])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        self.square(shape)
        return tuple(shape[:-2]), float_dtype(dtype)


@register_operation
class Slogdet(Logdet):
    """`[sign, log|det|]` of each square matrix."""

    _keras_module = "keras.src.ops.numpy"

    def call(self, x):
        sign, logabs = np.linalg.slogdet(x)
        dtype = float_dtype(x.dtype.name)
        return [sign.astype(dtype), logabs.astype(dtype)]

    def output_spec(self, x):
        spec = super().output_spec(x)
        return [spec, spec]

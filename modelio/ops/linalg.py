"""`keras.ops.linalg`'s operations as Keras 3 graphs record them: `Det`, `Inv` and `Norm`
(vector norms of order None/2, 1, inf, -inf, 0 and other numbers; the Frobenius norm of
matrices), each a registered class with Keras's config."""

import numpy as np

from ..graph.registry import register_operation
from .base import KerasOp, axis_list, float_dtype, spec_of
from .numpy.reduction import reduced_shape

__all__ = ["Det", "Inv", "Norm"]


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
